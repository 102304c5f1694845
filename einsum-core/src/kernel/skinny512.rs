//! The skinny GEMM (at most 16 columns of C, rows of B and C contiguous) for
//! `f32` and `f64` on AVX-512, written with its intrinsics.
//!
//! Each row of B is one or two vectors read straight from B under a lane
//! mask, so B is neither copied nor padded, and C is written from the
//! registers under the same mask. Up to 12 rows of C stay in registers for
//! the whole K (the last 9 to 12 rows of C as one block).
//!
//! Masked loads and stores touch only the lanes their mask enables (the
//! lanes beyond `n` are never read or written, not even as a fault), which
//! is what lets the rows run to exactly `n` elements. Miri cannot run these
//! intrinsics: under Miri the portable build of the kernel (in `gemm`) runs
//! instead, and the native tests compare this one with plain loops.

use core::any::TypeId;
use core::arch::x86_64::*;

use super::matrix::Dim;

/// Whether this kernel has a build for `T` (`f32` or `f64`).
pub(super) fn has<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>() || t == TypeId::of::<f64>()
}

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) for `T` = `f32`
/// or `f64`, at most 16 columns.
///
/// # Safety
/// The CPU has AVX-512 F; `T` is `f32` or `f64` ([`has`]); every (m, n, k)
/// index addresses valid elements of A and B for reads and of C for writes
/// (C overlapping neither), distinct (m, n) distinct elements, `dn.b ==
/// dn.c == 1` and `dn.size <= 16`.
pub(super) unsafe fn gemm<T: 'static>(
    dims: [Dim; 3],
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) {
    debug_assert!(has::<T>() && dims[1].size <= 16);
    if TypeId::of::<T>() == TypeId::of::<f64>() {
        // SAFETY: `T` is `f64`, so the casts keep the addresses' types; the
        // rest is the caller's promise.
        unsafe { f64x8::gemm(dims, c.cast(), a.cast(), b.cast(), accumulate) }
    } else {
        // SAFETY: `T` is `f32` (caller), as above.
        unsafe { f32x16::gemm(dims, c.cast(), a.cast(), b.cast(), accumulate) }
    }
}

/// The kernel for one element type: `$t` in vectors `$v` of `$lanes` lanes
/// under masks `$mask`.
macro_rules! build {
    ($name:ident, $t:ty, $v:ty, $lanes:literal, $mask:ty,
     $zero:ident, $set1:ident, $load:ident, $store:ident, $fmadd:ident, $add:ident) => {
        mod $name {
            use super::*;

            /// The lane masks of the first `n` elements of `V` vectors.
            #[inline(always)]
            fn masks<const V: usize>(n: usize) -> [$mask; V] {
                core::array::from_fn(|v| {
                    let lanes = n.saturating_sub(v * $lanes).min($lanes);
                    ((1u32 << lanes) - 1) as $mask
                })
            }

            /// As [`super::gemm`], for this element type.
            ///
            /// # Safety
            /// As [`super::gemm`].
            #[target_feature(enable = "avx512f")]
            pub(super) unsafe fn gemm(
                dims: [Dim; 3],
                c: *mut $t,
                a: *const $t,
                b: *const $t,
                accumulate: bool,
            ) {
                // SAFETY: the caller's promise; one vector holds the row
                // when `n` fits its lanes.
                unsafe {
                    if dims[1].size <= $lanes {
                        blocks::<1>(dims, c, a, b, accumulate)
                    } else {
                        blocks::<2>(dims, c, a, b, accumulate)
                    }
                }
            }

            /// Every row of C, in blocks of 8 (the last 1 to 12 as one).
            ///
            /// # Safety
            /// As [`super::gemm`], with `dn.size <= V * $lanes`.
            #[target_feature(enable = "avx512f")]
            #[inline]
            unsafe fn blocks<const V: usize>(
                dims: [Dim; 3],
                c: *mut $t,
                a: *const $t,
                b: *const $t,
                accumulate: bool,
            ) {
                let [dm, dn, dk] = dims;
                let mask = masks::<V>(dn.size);
                let m = dm.size;
                let mut i = 0;
                while i < m {
                    let left = m - i;
                    let take = if left <= 12 { left } else { 8 };
                    let at = i as isize;
                    let (c, a) = (
                        c.wrapping_offset(at.wrapping_mul(dm.c)),
                        a.wrapping_offset(at.wrapping_mul(dm.a)),
                    );
                    // SAFETY: rows i .. i + take of C are rows of the
                    // caller's C, distinct rows distinct elements; A's
                    // rows and B as the caller's.
                    unsafe {
                        match take {
                            1 => rows::<V, 1>(dm, dk, c, a, b, mask, accumulate),
                            2 => rows::<V, 2>(dm, dk, c, a, b, mask, accumulate),
                            3 => rows::<V, 3>(dm, dk, c, a, b, mask, accumulate),
                            4 => rows::<V, 4>(dm, dk, c, a, b, mask, accumulate),
                            5 => rows::<V, 5>(dm, dk, c, a, b, mask, accumulate),
                            6 => rows::<V, 6>(dm, dk, c, a, b, mask, accumulate),
                            7 => rows::<V, 7>(dm, dk, c, a, b, mask, accumulate),
                            8 => rows::<V, 8>(dm, dk, c, a, b, mask, accumulate),
                            9 => rows::<V, 9>(dm, dk, c, a, b, mask, accumulate),
                            10 => rows::<V, 10>(dm, dk, c, a, b, mask, accumulate),
                            11 => rows::<V, 11>(dm, dk, c, a, b, mask, accumulate),
                            12 => rows::<V, 12>(dm, dk, c, a, b, mask, accumulate),
                            _ => unreachable!("a block has 1 to 12 rows"),
                        }
                    }
                    i += take;
                }
            }

            /// `R` rows of C from `c` (and of A from `a`), the sums in
            /// registers over the whole K.
            ///
            /// # Safety
            /// Row `r < R` of C is `n` valid elements at `c + r·dm.c` for
            /// writes, the rows disjoint from each other and from A and B;
            /// A[r, k] is valid at `a + r·dm.a + k·dk.a` and row k of B has
            /// `n` valid elements at `b + k·dk.b`, `n` the lanes `mask`
            /// enables.
            #[target_feature(enable = "avx512f")]
            #[inline]
            #[allow(clippy::too_many_arguments, reason = "the block's place and shape")]
            unsafe fn rows<const V: usize, const R: usize>(
                dm: Dim,
                dk: Dim,
                c: *mut $t,
                a: *const $t,
                b: *const $t,
                mask: [$mask; V],
                accumulate: bool,
            ) {
                let crow = |r: usize| c.wrapping_offset((r as isize).wrapping_mul(dm.c));
                let arow = |r: usize| a.wrapping_offset((r as isize).wrapping_mul(dm.a));
                let mut acc = [[$zero(); V]; R];
                if accumulate {
                    for (r, acc) in acc.iter_mut().enumerate() {
                        for (v, s) in acc.iter_mut().enumerate() {
                            // SAFETY: the enabled lanes are elements of row
                            // r of C (caller); the others are not read.
                            *s = unsafe { $load(mask[v], crow(r).wrapping_add(v * $lanes)) };
                        }
                    }
                }
                // With few sums, a second set for odd k, so that each
                // fused multiply-add does not wait on the one before.
                let mut odd = [[$zero(); V]; R];
                let step = |acc: &mut [[$v; V]; R], kk: usize| {
                    let kk = kk as isize;
                    let brow = b.wrapping_offset(kk.wrapping_mul(dk.b));
                    let mut bv = [$zero(); V];
                    for (v, bv) in bv.iter_mut().enumerate() {
                        // SAFETY: the enabled lanes are elements of row kk of
                        // B (caller); the others are not read.
                        *bv = unsafe { $load(mask[v], brow.wrapping_add(v * $lanes)) };
                    }
                    for (r, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: A[r, kk] (caller).
                        let x =
                            $set1(unsafe { arow(r).wrapping_offset(kk.wrapping_mul(dk.a)).read() });
                        for (s, &y) in acc.iter_mut().zip(&bv) {
                            *s = $fmadd(x, y, *s);
                        }
                    }
                };
                let k = dk.size;
                if R * V < 8 {
                    let mut kk = 0;
                    while kk + 2 <= k {
                        step(&mut acc, kk);
                        step(&mut odd, kk + 1);
                        kk += 2;
                    }
                    if kk < k {
                        step(&mut acc, kk);
                    }
                    for (acc, odd) in acc.iter_mut().zip(&odd) {
                        for (s, &o) in acc.iter_mut().zip(odd) {
                            *s = $add(*s, o);
                        }
                    }
                } else {
                    for kk in 0..k {
                        step(&mut acc, kk);
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    for (v, &s) in acc.iter().enumerate() {
                        // SAFETY: the enabled lanes are elements of row r of
                        // C (caller); the others are not written.
                        unsafe { $store(crow(r).wrapping_add(v * $lanes), mask[v], s) };
                    }
                }
            }
        }
    };
}

build!(
    f64x8,
    f64,
    __m512d,
    8,
    __mmask8,
    _mm512_setzero_pd,
    _mm512_set1_pd,
    _mm512_maskz_loadu_pd,
    _mm512_mask_storeu_pd,
    _mm512_fmadd_pd,
    _mm512_add_pd
);
build!(
    f32x16,
    f32,
    __m512,
    16,
    __mmask16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_maskz_loadu_ps,
    _mm512_mask_storeu_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the kernel on one shape, with A's rows `ra` apart (K along
    /// `ka`), B's rows `rb` apart and C's `rc` apart, and checks every
    /// element of C's buffer: the sums against plain loops, and the
    /// elements between and after the rows unchanged.
    fn check<T>(m: usize, n: usize, k: usize, accumulate: bool, to: fn(f64) -> T, eps: f64)
    where
        T: 'static + Copy + Into<f64>,
    {
        let (ka, ra) = (3, 3 * k.max(1) + 1);
        let (rb, rc) = (n + 5, n + 3);
        let a: Vec<T> = (0..m * ra + 1)
            .map(|i| to(((i * 7) % 11) as f64 - 5.0))
            .collect();
        let b: Vec<T> = (0..k * rb + 1)
            .map(|i| to(((i * 5) % 13) as f64 * 0.5))
            .collect();
        let sentinel = to(-999.0);
        let mut c: Vec<T> = (0..m * rc + 8)
            .map(|i| if i % rc < n { to(i as f64) } else { sentinel })
            .collect();
        let before = c.clone();
        let dims = [
            Dim {
                size: m,
                a: ra as isize,
                b: 0,
                c: rc as isize,
            },
            Dim {
                size: n,
                a: 0,
                b: 1,
                c: 1,
            },
            Dim {
                size: k,
                a: ka as isize,
                b: rb as isize,
                c: 0,
            },
        ];
        // SAFETY: AVX-512 F is present (checked by the test); every index is inside the buffers
        // above (row r of A ends at r·ra + (k-1)·ka < (r+1)·ra).
        unsafe { gemm(dims, c.as_mut_ptr(), a.as_ptr(), b.as_ptr(), accumulate) };
        for (i, (&got, &was)) in c.iter().zip(&before).enumerate() {
            let (r, j) = (i / rc, i % rc);
            if r >= m || j >= n {
                assert_eq!(got.into(), was.into(), "element {i} outside C changed");
                continue;
            }
            let mut want = if accumulate { was.into() } else { 0.0 };
            for kk in 0..k {
                want += a[r * ra + kk * ka].into() * b[kk * rb + j].into();
            }
            let got: f64 = got.into();
            assert!(
                (got - want).abs() <= eps * (1.0 + want.abs()),
                "C[{r}, {j}] = {got}, want {want} (m {m}, n {n}, k {k})"
            );
        }
    }

    #[test]
    fn every_width_and_block_matches_plain_loops() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("SKIPPED: this CPU has no AVX-512 F, so the kernel never runs on it");
            return;
        }
        for n in 1..=16 {
            for m in [1, 2, 3, 7, 8, 9, 12, 13, 20, 21, 29] {
                for k in [0, 1, 2, 3, 10, 17] {
                    for accumulate in [false, true] {
                        check::<f64>(m, n, k, accumulate, |x| x, 1e-12);
                        check::<f32>(m, n, k, accumulate, |x| x as f32, 1e-5);
                    }
                }
            }
        }
    }
}
