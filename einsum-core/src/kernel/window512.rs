//! The window kernel's data movement for `f64` on AVX-512, written with its
//! intrinsics: the phases of A built from `S` vectors loaded straight from
//! A, and a block of C's rows written from the accumulators.
//!
//! Lane `i` of phase `p` is element `p + S · i` of the `8 · S` loaded, so it
//! sits in the vector pair `(p + S · i) / 16` at position `(p + S · i) % 16`:
//! one two-table permute per pair, under the mask of the lanes that pair
//! holds, builds each phase. C's rows, `N` elements each and contiguous, are
//! the same movement backwards. The compiler, left to the portable loops,
//! moves the elements one or two at a time. Miri cannot run these
//! intrinsics: it runs the portable loops, and the native tests compare the
//! two.

use core::arch::x86_64::*;

/// The widest step this kernel takes.
pub(super) const MAX_STEP: usize = 8;

/// `out[p · len + t] = base[S · t + p]` for `p < S`, `t < groups`.
///
/// # Safety
/// The CPU has AVX-512 F; `2 <= S <= MAX_STEP`; `groups` is a multiple of
/// 8; `base[..S · groups]` is valid for reads; `out` holds
/// `(S - 1) · len + groups` elements or more.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn deinterleave<const S: usize>(
    out: &mut [f64],
    base: *const f64,
    len: usize,
    groups: usize,
) {
    debug_assert!((2..=MAX_STEP).contains(&S) && groups.is_multiple_of(8));
    assert!(
        groups == 0 || (S - 1) * len + groups <= out.len(),
        "einsum: the phases fit their block"
    );
    // Each phase's permute indices, and the lanes each vector pair fills.
    let pairs = S.div_ceil(2);
    let mut index = [_mm512_setzero_si512(); S];
    let mut masks = [[0 as __mmask8; MAX_STEP / 2]; S];
    for p in 0..S {
        let mut lanes = [0i64; 8];
        for (i, lane) in lanes.iter_mut().enumerate() {
            let e = p + S * i;
            *lane = (e % 16) as i64;
            masks[p][e / 16] |= 1 << i;
        }
        // SAFETY: eight `i64` read from an array of eight.
        index[p] = unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) };
    }
    let out = out.as_mut_ptr();
    for t0 in (0..groups).step_by(8) {
        let from = base.wrapping_add(S * t0);
        let mut v = [_mm512_setzero_pd(); MAX_STEP + 1];
        for (q, v) in v[..S].iter_mut().enumerate() {
            // SAFETY: elements `S · t0 + 8q ..+ 8` of A, below
            // `S · (t0 + 8) <= S · groups` (caller).
            *v = unsafe { _mm512_loadu_pd(from.add(8 * q)) };
        }
        for p in 0..S {
            let mut run = _mm512_setzero_pd();
            for q in 0..pairs {
                let got = _mm512_permutex2var_pd(v[2 * q], index[p], v[2 * q + 1]);
                run = _mm512_mask_mov_pd(run, masks[p][q], got);
            }
            // SAFETY: `p · len + t0 + 8 <= (S - 1) · len + groups <=
            // out.len()`, checked above.
            unsafe { _mm512_storeu_pd(out.add(p * len + t0), run) };
        }
    }
}

/// One permute of [`write_rows`]: lanes `mask` of an output vector from
/// half `half` of the column pair `pair`, at positions `index`.
#[derive(Clone, Copy)]
struct Move {
    half: usize,
    pair: usize,
    index: [i64; 8],
    mask: u8,
}

/// The permutes of each of [`write_rows`]'s `2N` output vectors, worked out
/// when the kernel is compiled.
struct RowMoves {
    moves: [[Move; 8]; 2 * MAX_STEP],
    count: [usize; 2 * MAX_STEP],
}

/// [`RowMoves`] for rows of `n` columns. Output vector w, lane l is element
/// e = 8w + l: row e / n and column e % n, that is lane (e / n) % 8 of half
/// (e / n) / 8 of column e % n; one permute for each column pair and half
/// that holds any of its lanes (at most 2 · 4).
const fn row_moves(n: usize) -> RowMoves {
    let none = Move {
        half: 0,
        pair: 0,
        index: [0; 8],
        mask: 0,
    };
    let mut t = RowMoves {
        moves: [[none; 8]; 2 * MAX_STEP],
        count: [0; 2 * MAX_STEP],
    };
    let mut w = 0;
    while w < 2 * n {
        let mut half = 0;
        while half < 2 {
            let mut pair = 0;
            while pair < n.div_ceil(2) {
                let mut m = Move { half, pair, ..none };
                let mut l = 0;
                while l < 8 {
                    let (r, j) = ((8 * w + l) / n, (8 * w + l) % n);
                    if r / 8 == half && j / 2 == pair {
                        m.index[l] = ((r % 8) + 8 * (j % 2)) as i64;
                        m.mask |= 1 << l;
                    }
                    l += 1;
                }
                if m.mask != 0 {
                    t.moves[w][t.count[w]] = m;
                    t.count[w] += 1;
                }
                pair += 1;
            }
            half += 1;
        }
        w += 1;
    }
    t
}

/// [`row_moves`] of `N`, a constant of each build of [`write_rows`].
struct Rows<const N: usize>;

impl<const N: usize> Rows<N> {
    const MOVES: RowMoves = row_moves(N);
}

/// `out[r · N + j] = acc[j][r]` for `r < 16`, `j < N`: sixteen rows of C
/// of `N` contiguous elements, one after another.
///
/// # Safety
/// The CPU has AVX-512 F; `1 <= N <= MAX_STEP`; `out[..16 · N]` is valid
/// for writes.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn write_rows<const N: usize>(acc: &[[f64; 16]; N], out: *mut f64) {
    let mut v = [[_mm512_setzero_pd(); 2]; MAX_STEP + 1];
    for (j, v) in v[..N].iter_mut().enumerate() {
        // SAFETY: 16 elements, read from an array of 16.
        *v = unsafe {
            [
                _mm512_loadu_pd(acc[j].as_ptr()),
                _mm512_loadu_pd(acc[j].as_ptr().add(8)),
            ]
        };
    }
    let table = &Rows::<N>::MOVES;
    for w in 0..2 * N {
        let mut run = _mm512_setzero_pd();
        for m in &table.moves[w][..table.count[w]] {
            // SAFETY: eight `i64` read from an array of eight.
            let index = unsafe { _mm512_loadu_si512(m.index.as_ptr().cast()) };
            let got =
                _mm512_permutex2var_pd(v[2 * m.pair][m.half], index, v[2 * m.pair + 1][m.half]);
            run = _mm512_mask_mov_pd(run, m.mask, got);
        }
        // SAFETY: elements `8w ..8w + 8` of `out[..16 · N]` (caller).
        unsafe { _mm512_storeu_pd(out.add(8 * w), run) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_match_a_plain_loop() {
        if !is_x86_feature_detected!("avx512f") {
            return;
        }
        fn check<const S: usize>() {
            let step = S;
            for groups in [0, 8, 16, 40] {
                let len = groups + 3;
                let a: Vec<f64> = (0..step * groups).map(|x| x as f64 * 0.5 - 7.0).collect();
                let mut out = vec![f64::NAN; step * len];
                // SAFETY: AVX-512 F (checked); `a` holds `step · groups`
                // elements and `out` `step · len`.
                unsafe { deinterleave::<S>(&mut out, a.as_ptr(), len, groups) };
                for p in 0..step {
                    for t in 0..len {
                        let got = out[p * len + t];
                        if t < groups {
                            assert_eq!(got, a[step * t + p], "step {step} phase {p} at {t}");
                        } else {
                            assert!(got.is_nan(), "step {step} wrote past its groups");
                        }
                    }
                }
            }
        }
        check::<2>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<6>();
        check::<7>();
        check::<8>();
    }

    #[test]
    fn rows_match_a_plain_loop() {
        if !is_x86_feature_detected!("avx512f") {
            return;
        }
        fn check<const N: usize>() {
            let acc: [[f64; 16]; N] =
                core::array::from_fn(|j| core::array::from_fn(|r| (r * 10 + j) as f64));
            let mut out = vec![f64::NAN; 16 * N + 3];
            // SAFETY: AVX-512 F (checked); `out` holds 16 · N elements.
            unsafe { write_rows::<N>(&acc, out.as_mut_ptr()) };
            for r in 0..16 {
                for j in 0..N {
                    assert_eq!(out[r * N + j], acc[j][r], "N {N} row {r} column {j}");
                }
            }
            assert!(
                out[16 * N..].iter().all(|x| x.is_nan()),
                "N {N} wrote past its rows"
            );
        }
        check::<1>();
        check::<2>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<6>();
        check::<7>();
        check::<8>();
    }
}
