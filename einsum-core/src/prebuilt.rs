//! The kernels this crate prebuilds for each element type: which of them a
//! user's crate links instead of compiling again.
//!
//! Code generic over the element type is compiled in the crate that names
//! the type; a non-generic instance, here. The call layer above the
//! kernels (shape checks, the order, pairwise steps, allocation) reads
//! operands with their element type erased, so it is built here once for
//! every type, for one operand, two, and three to `MANY_OPERANDS`, and
//! reaches a type's kernels through [`Kernels`](crate::element::Kernels).
//! (Built per type instead, this crate's release build took 8.8 s / 15.5 s
//! wall / CPU, against 7.9–8.4 s / 14.0–14.6 s; a crate's first call of u8
//! added 0.96 s to its rebuild, against 0.70–0.78 s.)
//!
//! For the kernels, this module picks for each element type, by what they
//! cost this crate's build against what they save each caller's, one of
//! five tiers (see [`prebuild!`]). The figures behind the choice are
//! `benches/build_cost.py`'s and a one-call crate's rebuild (2 cores,
//! medians of three or more):
//! - f32, f64 and i32 (`per_isa`): a crate's first call of one of them
//!   costs its release build about 0.12 s, and 100 varied calls about 4 s,
//!   because the call layer and every kernel are linked from here, each
//!   kernel in a build per instruction set (the loop nest in AVX2 and the
//!   baseline, the others in AVX-512 too). i32's nest builds cost this
//!   crate's build less than its run-to-run spread (under 1 s of CPU), and
//!   the baseline has no 32-bit vector multiply: a 17³ product of u32 took
//!   2.4 µs there against 1.25 µs.
//! - i64 (`gemm_per_isa`): the same, but for the loop nest, built in the
//!   baseline alone (about 1–3 s of CPU per instruction set otherwise; no
//!   64-bit vector multiply below AVX-512); its matrix products (the
//!   blocked kernel) keep a build per instruction set.
//! - `Complex<f64>` (`baseline`): prebuilt in the baseline build alone (its
//!   products go to `gemm`, which has its own builds).
//! - The other integers (`as_twin`) run on the kernels of the prebuilt
//!   integer of their width, in place: wrapping sums and products are the
//!   same bits.
//! - u8, u16, `Complex<f32>` and i128 (`at_call_site`), and i8, i16 and
//!   u128 as their twins: kernels compiled where called, in the same
//!   baseline build they would have here. A crate's first call of u8, u16
//!   or `Complex<f32>` costs its release build 0.7–0.8 s (a rebuild of
//!   0.78–0.85 s against 0.07 s without the call), of i128 0.65 s; the
//!   loop nest is most of it (0.63 s for u8 with the matrix-product
//!   kernels left out). Prebuilt here, u8, u16 and `Complex<f32>` cost this
//!   crate's build 2.1 s / 4 s more (10.3 s / 18.3 s), i128 1.4 s / 2.5 s
//!   (9.3 s / 16.5 s), and they put this crate last on a fresh build's
//!   critical path: a fresh binary crate's clean release build depending on
//!   the facade, against one depending on ndarray and gemm alone
//!   (`build_cost.py`, part d), took 1.49× with the three prebuilt, at the
//!   1.5× limit, where as chosen it stays under 1.41×.
//!
//! Other choices, measured the same way: with u8, u16 and `Complex<f32>` in the
//! baseline tier and the nest built for AVX-512 as well, 13.2 s / 23.6 s;
//! without that nest build 11.6 s / 20.8 s. With nothing built per
//! instruction set: 9.0 s / 15.8 s, at the price of the AVX2 and AVX-512
//! builds of the nest, window, skinny and blocked kernels; the window
//! kernel's builds for f32 and f64 cost about 2.1 s of CPU.

use num_complex::Complex;

use crate::axes::Axis;
use crate::desc::Product;
use crate::element::Prebuilt;
use crate::limits::MANY_OPERANDS;

/// Implements [`Prebuilt`] for each element type, in one of five
/// ways:
/// - `per_isa`: the common types. The dispatch of one and of two operands
///   and the nest of three to [`MANY_OPERANDS`], built here, each kernel
///   for each instruction set.
/// - `gemm_per_isa`: the same, but for the loop nest, built in the
///   baseline alone.
/// - `baseline`: the same kernels, built here in the baseline build alone,
///   which costs this crate's build little and a caller's nothing.
/// - `as_twin`: an integer type computed as the built one of the same width
///   (`u32` as `i32`): wrapping sums and products are the same bits for
///   both, so the same kernels serve both, read and written in place.
/// - `at_call_site`: compiled where first called (`#[inline]`), for the rarest
///   types, whose kernels would only lengthen this crate's build.
///
/// The call layer above the kernels is built once, for every type
/// ([`Kernels`](crate::element::Kernels)).
macro_rules! prebuild {
    (@impl $t:ty, $prebuilt:literal, $nest:literal, $gemm:literal $(, #[$m:meta])?) => {
        impl Prebuilt for $t {
            const PREBUILT: bool = $prebuilt;
            const NEST_PER_ISA: bool = $nest;
            const GEMM_PER_ISA: bool = $gemm;
            $(#[$m])?
            unsafe fn dispatch1(
                axes: &mut [Axis<1>],
                ptrs: [*const (); 1],
                out: *mut (),
                add: bool,
            ) {
                // SAFETY: the caller's promise: the pointers address `Self`s.
                unsafe {
                    crate::kernel::dispatch::<Self, 1>(axes, [ptrs[0].cast()], out.cast(), add)
                }
            }
            $(#[$m])?
            unsafe fn dispatch2(
                axes: &mut [Axis<2>],
                ptrs: [*const (); 2],
                out: *mut (),
                add: bool,
            ) {
                // SAFETY: as in `dispatch1`.
                unsafe {
                    crate::kernel::dispatch::<Self, 2>(
                        axes,
                        [ptrs[0].cast(), ptrs[1].cast()],
                        out.cast(),
                        add,
                    )
                }
            }
            $(#[$m])?
            unsafe fn many(
                axes: &mut [Axis<MANY_OPERANDS>],
                ptrs: [*const (); MANY_OPERANDS],
                count: usize,
                out: *mut (),
                add: bool,
            ) {
                // SAFETY: as in `dispatch1`.
                unsafe {
                    crate::kernel::contract_many_erased::<Self, MANY_OPERANDS>(
                        axes, ptrs, count, out, add,
                    )
                }
            }
            $(#[$m])?
            unsafe fn product(p: Product<()>) {
                // SAFETY: as in `dispatch1`.
                unsafe { crate::kernel::product::product::<Self>(p.cast()) }
            }
        }
    };
    (@twin $t:ty => $u:ty) => {
        const _: () = {
            assert!(core::mem::size_of::<$t>() == core::mem::size_of::<$u>());
            assert!(core::mem::align_of::<$t>() == core::mem::align_of::<$u>());
        };
        // The twin's kernels, on the same memory: `Self` and the twin are
        // integers of one size and alignment (asserted above), any bits are
        // valid in both (`Pod`), and their wrapping sums and products are
        // the same bits.
        impl Prebuilt for $t {
            const PREBUILT: bool = <$u as Prebuilt>::PREBUILT;
            const NEST_PER_ISA: bool = <$u as Prebuilt>::NEST_PER_ISA;
            const GEMM_PER_ISA: bool = <$u as Prebuilt>::GEMM_PER_ISA;
            #[inline]
            unsafe fn dispatch1(
                axes: &mut [Axis<1>],
                ptrs: [*const (); 1],
                out: *mut (),
                add: bool,
            ) {
                // SAFETY: the caller's promise, read as the twin (above).
                unsafe { <$u as Prebuilt>::dispatch1(axes, ptrs, out, add) }
            }
            #[inline]
            unsafe fn dispatch2(
                axes: &mut [Axis<2>],
                ptrs: [*const (); 2],
                out: *mut (),
                add: bool,
            ) {
                // SAFETY: as in `dispatch1`.
                unsafe { <$u as Prebuilt>::dispatch2(axes, ptrs, out, add) }
            }
            #[inline]
            unsafe fn many(
                axes: &mut [Axis<MANY_OPERANDS>],
                ptrs: [*const (); MANY_OPERANDS],
                count: usize,
                out: *mut (),
                add: bool,
            ) {
                // SAFETY: as in `dispatch1`.
                unsafe { <$u as Prebuilt>::many(axes, ptrs, count, out, add) }
            }
            #[inline]
            unsafe fn product(p: Product<()>) {
                // SAFETY: as in `dispatch1`.
                unsafe { <$u as Prebuilt>::product(p) }
            }
        }
    };
    (
        per_isa: $($s:ty),*;
        gemm_per_isa: $($g:ty),*;
        baseline: $($b:ty),*;
        as_twin: $($t:ty => $u:ty),*;
        at_call_site: $($l:ty),*
    ) => {
        $(prebuild!(@impl $s, true, true, true);)*
        $(prebuild!(@impl $g, true, false, true);)*
        $(prebuild!(@impl $b, true, false, false);)*
        $(prebuild!(@twin $t => $u);)*
        $(prebuild!(@impl $l, false, false, false, #[inline]);)*
    };
}

/// The prebuilt integer type of `usize`'s and `isize`'s width.
#[cfg(target_pointer_width = "64")]
type WordTwin = i64;
/// The prebuilt integer type of `usize`'s and `isize`'s width.
#[cfg(target_pointer_width = "32")]
type WordTwin = i32;
/// The prebuilt integer type of `usize`'s and `isize`'s width.
#[cfg(target_pointer_width = "16")]
type WordTwin = u16;

prebuild!(
    per_isa: f32, f64, i32;
    gemm_per_isa: i64;
    baseline: Complex<f64>;
    as_twin: i8 => u8, i16 => u16, u32 => i32, u64 => i64, usize => WordTwin, isize => WordTwin,
        u128 => i128;
    at_call_site: i128, u8, u16, Complex<f32>
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_prebuilt_by_type() {
        fn tier<T: Prebuilt>() -> (bool, bool, bool) {
            (T::PREBUILT, T::NEST_PER_ISA, T::GEMM_PER_ISA)
        }
        assert_eq!(tier::<f64>(), (true, true, true));
        assert_eq!(tier::<f32>(), (true, true, true));
        assert_eq!(tier::<i32>(), (true, true, true));
        assert_eq!(tier::<i64>(), (true, false, true));
        assert_eq!(tier::<Complex<f64>>(), (true, false, false));
        assert_eq!(tier::<u8>(), (false, false, false));
        assert_eq!(tier::<Complex<f32>>(), (false, false, false));
        // Twins: built as the type they are computed as.
        assert_eq!(tier::<u32>(), (true, true, true));
        assert_eq!(tier::<u64>(), (true, false, true));
        assert_eq!(tier::<i16>(), (false, false, false));
        assert_eq!(tier::<u128>(), (false, false, false));
        assert_eq!(tier::<i128>(), (false, false, false));
    }
}
