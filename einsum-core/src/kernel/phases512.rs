//! The window kernel's phases for `f64` on AVX-512, written with its
//! intrinsics: `S` runs of every `S`-th element, eight of each at a time,
//! from `S` vectors loaded straight from A.
//!
//! Lane `i` of phase `p` is element `p + S · i` of the `8 · S` loaded, so it
//! sits in the vector pair `(p + S · i) / 16` at position `(p + S · i) % 16`:
//! one two-table permute per pair, under the mask of the lanes that pair
//! holds, builds each phase. The compiler, left to the portable loop, moves
//! the elements one or two at a time. Miri cannot run these intrinsics: it
//! runs the portable loop, and the native tests compare the two.

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
}
