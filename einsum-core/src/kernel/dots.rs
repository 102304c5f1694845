//! Dot products: `C[m, n] ← Σ_k A[m, k] · B[k, n]` where K steps by one
//! element through both A and B (`"ik,jk->ij"`, a matrix times a vector),
//! for products too small to pay for a GEMM's packing.
//!
//! One row of A against four rows of Bᵀ at a time: each of the four sums
//! keeps its own lanes of partial sums, so the additions of one never wait
//! on another's, and each chunk of A is loaded once for all four.

use super::isa;
use super::matrix::Dim;
use crate::element::Scalar;

/// Sums computed together: one row of A against this many rows of Bᵀ.
const TILE: usize = 4;

/// Partial sums per dot product: two AVX2 vectors of `f64`, one of `f32`.
const LANES: usize = 8;

multiversion! {
/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) with
/// `dk.a == dk.b == 1`, C at any strides.
///
/// # Safety
/// Every (m, n, k) index addresses valid elements of A and B for reads and
/// of C for reads and writes (C overlapping neither), distinct (m, n)
/// distinct elements, and `dk.a == dk.b == 1`.
pub(super) unsafe fn dots<T: Scalar>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) => dots_body, widest avx2;
}

/// The body of [`dots`], inlined into each instruction-set build.
///
/// # Safety
/// As [`dots`].
#[inline(always)]
unsafe fn dots_body<T: Scalar, const B: u8>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) {
    assert!(dk.a == 1 && dk.b == 1, "dot products along K in rows");
    // Cᵀ = Bᵀ·Aᵀ: the tile runs along the longer of M and N, so that a
    // matrix times a vector (N = 1) fills it too.
    let (dm, dn, a, b) = if dn.size < TILE && dm.size > dn.size {
        let swap = |d: Dim| Dim {
            a: d.b,
            b: d.a,
            ..d
        };
        (swap(dn), swap(dm), b, a)
    } else {
        (dm, dn, a, b)
    };
    let k = dk.size;
    let write = |o: *mut T, v: T| {
        // SAFETY: an element of C, valid for reads and writes (caller).
        unsafe { o.write(if accumulate { (*o).add(v) } else { v }) }
    };
    for i in 0..dm.size {
        let i = i as isize;
        let row = a.wrapping_offset(i * dm.a);
        let out = c.wrapping_offset(i * dm.c);
        let col = |j: usize| b.wrapping_offset(j as isize * dn.b);
        let mut j = 0;
        while j + TILE <= dn.size {
            // SAFETY: row i of A and columns j to j + TILE of B, `k`
            // consecutive valid elements each (`dk.a == dk.b == 1`).
            let sums =
                unsafe { dot_tile::<T, B, TILE>(row, core::array::from_fn(|t| col(j + t)), k) };
            for (t, v) in sums.into_iter().enumerate() {
                write(out.wrapping_offset((j + t) as isize * dn.c), v);
            }
            j += TILE;
        }
        while j < dn.size {
            // SAFETY: as above, for column j.
            let [v] = unsafe { dot_tile::<T, B, 1>(row, [col(j)], k) };
            write(out.wrapping_offset(j as isize * dn.c), v);
            j += 1;
        }
    }
}

/// `[Σ_{i < n} x[i] · ys[t][i]]` for each `t`.
///
/// # Safety
/// `x` and each of `ys` address `n` consecutive valid elements.
#[inline(always)]
unsafe fn dot_tile<T: Scalar, const B: u8, const S: usize>(
    x: *const T,
    ys: [*const T; S],
    n: usize,
) -> [T; S] {
    let madd = |s: T, x: T, y: T| {
        if isa::fuses(B) {
            s.fused_add(x, y)
        } else {
            s.add(x.mul(y))
        }
    };
    // A chunk of `LANES` elements from `i` on, as one (vector) load.
    // SAFETY (at each use): `i + LANES <= n`.
    let chunk = |p: *const T, i: usize| unsafe { p.add(i).cast::<[T; LANES]>().read_unaligned() };
    let whole = n - n % LANES;
    let mut acc = Lanes([[T::zero(); LANES]; S]);
    let mut i = 0;
    while i < whole {
        let xs = chunk(x, i);
        for (acc, &y) in acc.0.iter_mut().zip(&ys) {
            let ys = chunk(y, i);
            for l in 0..LANES {
                acc[l] = madd(acc[l], xs[l], ys[l]);
            }
        }
        i += LANES;
    }
    let mut tails = [T::zero(); S];
    for (tail, &y) in tails.iter_mut().zip(&ys) {
        for i in whole..n {
            // SAFETY: `i < n`.
            *tail = madd(*tail, unsafe { *x.add(i) }, unsafe { *y.add(i) });
        }
    }
    reduce(&acc, tails)
}

/// The partial sums of [`dot_tile`], aligned to a cache line: they go
/// through memory to [`reduce`], and a vector store that straddles two
/// lines is not forwarded to the loads after it, which then wait for the
/// store to reach the cache (1000×24·24×1: 11 µs against 5 µs, by where the
/// caller's stack happened to put the sums).
#[repr(C, align(64))]
struct Lanes<T, const S: usize>([[T; LANES]; S]);

/// Each row's lanes pairwise, in a balanced tree, plus its tail. Out of
/// line: inlined, the compiler interleaves these sums with the loop above
/// and spills its accumulators (13×64·64×16: 12 ns an output against 7).
#[inline(never)]
fn reduce<T: Scalar, const S: usize>(acc: &Lanes<T, S>, tails: [T; S]) -> [T; S] {
    core::array::from_fn(|s| {
        let mut acc = acc.0[s];
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for l in 0..width {
                acc[l] = acc[l].add(acc[l + width]);
            }
        }
        acc[0].add(tails[s])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(size: usize, a: isize, b: isize, c: isize) -> Dim {
        Dim { size, a, b, c }
    }

    /// Each (M, N, K) against a plain triple loop, C written at strides
    /// that leave gaps, which stay untouched: tiles and their remainders,
    /// N below the tile (where C is transposed), tails of K.
    #[test]
    fn dots_match_a_plain_loop() {
        for (m, n, k) in [
            (1, 1, 1),
            (3, 9, 2),
            (5, 4, 8),
            (2, 1, 19),
            (7, 3, 17),
            (1, 6, 33),
        ] {
            let a: Vec<f64> = (0..m * k).map(|v| ((v * 7) % 11) as f64 - 5.0).collect();
            // B[k, n] at column n, row k: element n·k_len + k (Bᵀ row-major).
            let b: Vec<f64> = (0..n * k).map(|v| ((v * 5) % 13) as f64 - 6.0).collect();
            for accumulate in [false, true] {
                // C at rows of 2n + 1, every second element.
                let pitch = 2 * n + 1;
                let mut c = vec![1.5f64; m * pitch];
                let (dm, dn, dk) = (
                    dim(m, k as isize, 0, pitch as isize),
                    dim(n, 0, k as isize, 2),
                    dim(k, 1, 1, 0),
                );
                // SAFETY: every (i, j, l) < (m, n, k) addresses a[i·k + l],
                // b[j·k + l] and c[i·pitch + 2j], all in bounds.
                unsafe {
                    dots(
                        dm,
                        dn,
                        dk,
                        c.as_mut_ptr(),
                        a.as_ptr(),
                        b.as_ptr(),
                        accumulate,
                    )
                };
                for i in 0..m {
                    for (j, got) in c[i * pitch..(i + 1) * pitch].iter().enumerate() {
                        let want = if j % 2 == 1 || j / 2 >= n {
                            1.5
                        } else {
                            let jj = j / 2;
                            let dot: f64 = (0..k).map(|l| a[i * k + l] * b[jj * k + l]).sum();
                            if accumulate {
                                1.5 + dot
                            } else {
                                dot
                            }
                        };
                        assert_eq!(*got, want, "{m}×{k}·{k}×{n}, C[{i}, {j}]");
                    }
                }
            }
        }
    }
}
