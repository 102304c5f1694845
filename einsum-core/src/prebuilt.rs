//! The instances this crate prebuilds for each element type: which calls
//! and kernels a user's crate links instead of compiling again.
//!
//! Code generic over the element type is compiled in the crate that names
//! the type; a non-generic instance, here. So for each element type this
//! module picks, by what it costs this crate's build against what it
//! saves each caller's, one of five tiers (see [`prebuild!`]). The
//! figures behind the choice are `benches/build_cost.py`'s:
//! - f32, f64 and i32 (`per_isa`): a crate's first call of one of them
//!   costs its release build about 0.2 s, and 100 varied calls about 4 s,
//!   because the call and every kernel are linked from here, each kernel
//!   in a build per instruction set (the loop nest in AVX2 and the
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
//! - The other integers (`as_twin`) run as the prebuilt integer of their
//!   width, in place: wrapping sums and products are the same bits.
//! - u8, u16, `Complex<f32>` and i128 (`at_call_site`), and i8 and i16 as
//!   their twins: compiled where called, in the same baseline build they
//!   would have here. A crate's first call of u8 or `Complex<f32>` costs
//!   its release build about 0.75 s (a rebuild of 0.84 s against 0.07 s
//!   without the call and 0.17 s with a first f64 call instead; a build
//!   of the small table alone for these types saves nothing measurable);
//!   prebuilt here, the three cost every build of this crate about 6 s of
//!   CPU, u8 alone 3 s.
//!
//! This crate's own release build (wall / CPU, 2 cores, medians of three or
//! more): with u8, u16 and `Complex<f32>` in the baseline tier and the nest
//! built for AVX-512 as well, 13.2 s / 23.6 s; without that nest build
//! 11.6 s / 20.8 s; with the three types compiled where called too 8.0 s /
//! 14.0 s (9.6 s / 17.0 s with u8 kept). A fresh binary crate's clean
//! release build depending on the facade, against one depending on
//! ndarray and gemm alone (`build_cost.py`, part d): 1.70×, 1.50× with u8
//! kept, 1.41× as chosen. With nothing built per instruction set:
//! 9.0 s / 15.8 s, at the price of the AVX2 and AVX-512 builds of the
//! nest, window, skinny and blocked kernels; the window kernel's builds for
//! f32 and f64 cost about 2.1 s of CPU.

use num_complex::Complex;

use crate::axes::Axis;
use crate::desc::{Call, Dest};
use crate::element::{Pod, Prebuilt};
use crate::error::EinsumError;
use crate::limits::MANY_OPERANDS;
use crate::operand::RawOperand;

/// Checks, when compiled, that `T` and `U` have one size and alignment.
#[inline(always)]
fn assert_twins<T, U>() {
    const {
        assert!(core::mem::size_of::<T>() == core::mem::size_of::<U>());
        assert!(core::mem::align_of::<T>() == core::mem::align_of::<U>());
    }
}

/// Runs `f` on a call's operands and destination of `T` seen as `U`: the
/// same memory, read and written in place.
///
/// # Safety
/// `f` computes each `U` result from `U` operands with the bits that `T`'s
/// arithmetic gives from `T` operands. (One size and alignment is checked
/// when compiled; that every bit pattern is valid in both is `Pod`'s
/// contract.)
#[inline(always)]
unsafe fn as_twin<'a, T: Pod, U: Pod, R>(
    ops: &[RawOperand<'a, T>],
    dest: Dest<'_, T>,
    f: impl for<'d> FnOnce(&[RawOperand<'a, U>], Dest<'d, U>) -> R,
) -> R {
    assert_twins::<T, U>();
    assert!(
        ops.len() <= MANY_OPERANDS,
        "einsum: a twin call of at most MANY_OPERANDS"
    );
    // SAFETY (each cast): one size and alignment (asserted), and any bits
    // valid in both (`Pod`).
    let mut twins = [unsafe { ops[0].cast::<U>() }; MANY_OPERANDS];
    for (t, op) in twins.iter_mut().zip(ops) {
        *t = unsafe { op.cast::<U>() };
    }
    let ops = &twins[..ops.len()];
    match dest {
        Dest::New(alloc) => {
            let mut twin = |shape: &[usize], strides: &mut [isize]| {
                alloc(shape, strides).map(|p| p.cast::<U>())
            };
            f(ops, Dest::New(&mut twin))
        }
        Dest::Into {
            ptr,
            shape,
            strides,
        } => f(
            ops,
            Dest::Into {
                ptr: ptr.cast::<U>(),
                shape,
                strides,
            },
        ),
    }
}

/// Implements [`Prebuilt`] for each element type, in one of five
/// ways:
/// - `per_isa`: the common types. Calls of one operand, of two, and of
///   three to [`MANY_OPERANDS`] (one instance), and every kernel, built
///   here, each kernel for each instruction set.
/// - `gemm_per_isa`: the same, but for the loop nest, built in the
///   baseline alone.
/// - `baseline`: the same calls and kernels, built here in the baseline
///   build alone, which costs this crate's build little and a caller's
///   nothing.
/// - `as_twin`: an integer type computed as the built one of the same width
///   (`u32` as `i32`): wrapping sums and products are the same bits for
///   both, so the same code serves both, read and written in place.
/// - `at_call_site`: compiled where first called (`#[inline]`), for the rarest
///   types, whose kernels would only lengthen this crate's build.
///
/// Calls of more than [`MANY_OPERANDS`] are compiled where they are made,
/// for every type.
macro_rules! prebuild {
    (@evaluate $k:tt, $call:ident, $ops:expr, $dest:ident, $large:ident) => {
        // SAFETY (both): the caller's promise.
        if $large {
            unsafe {
                crate::call::evaluate::<Self, { $k }, { crate::limits::MAX_AXES }>($call, $ops, $dest)
            }
        } else {
            unsafe {
                crate::call::evaluate::<Self, { $k }, { crate::limits::SMALL_TABLE }>(
                    $call, $ops, $dest,
                )
            }
        }
    };
    (@impl $t:ty, $prebuilt:literal, $nest:literal, $gemm:literal $(, #[$m:meta])?) => {
        impl Prebuilt for $t {
            const PREBUILT: bool = $prebuilt;
            const NEST_PER_ISA: bool = $nest;
            const GEMM_PER_ISA: bool = $gemm;
            $(#[$m])?
            unsafe fn evaluate1(
                call: Call<'_>,
                ops: [RawOperand<'_, Self>; 1],
                dest: Dest<'_, Self>,
                large: bool,
            ) -> Result<(), EinsumError> {
                prebuild!(@evaluate 1, call, &ops, dest, large)
            }
            $(#[$m])?
            unsafe fn evaluate2(
                call: Call<'_>,
                ops: [RawOperand<'_, Self>; 2],
                dest: Dest<'_, Self>,
                large: bool,
            ) -> Result<(), EinsumError> {
                prebuild!(@evaluate 2, call, &ops, dest, large)
            }
            $(#[$m])?
            unsafe fn evaluate_many(
                call: Call<'_>,
                ops: &[RawOperand<'_, Self>],
                dest: Dest<'_, Self>,
                large: bool,
            ) -> Result<(), EinsumError> {
                assert!(
                    (3..=MANY_OPERANDS).contains(&ops.len()),
                    "einsum: three to MANY_OPERANDS operands"
                );
                prebuild!(@evaluate MANY_OPERANDS, call, ops, dest, large)
            }
            $(#[$m])?
            unsafe fn dispatch1(axes: &mut [Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
                // SAFETY: the caller's promise.
                unsafe { crate::kernel::dispatch(axes, ptrs, out) }
            }
            $(#[$m])?
            unsafe fn dispatch2(axes: &mut [Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
                // SAFETY: the caller's promise.
                unsafe { crate::kernel::dispatch(axes, ptrs, out) }
            }
        }
    };
    (@twin $t:ty => $u:ty) => {
        // SAFETY (each `as_twin`): `Self` and the twin are integers of one
        // width, whose wrapping sums and products are the same bits; the
        // caller's promise, for the same memory.
        impl Prebuilt for $t {
            const PREBUILT: bool = <$u as Prebuilt>::PREBUILT;
            const NEST_PER_ISA: bool = <$u as Prebuilt>::NEST_PER_ISA;
            const GEMM_PER_ISA: bool = <$u as Prebuilt>::GEMM_PER_ISA;
            #[inline]
            unsafe fn evaluate1(
                call: Call<'_>,
                ops: [RawOperand<'_, Self>; 1],
                dest: Dest<'_, Self>,
                large: bool,
            ) -> Result<(), EinsumError> {
                unsafe {
                    as_twin::<Self, $u, _>(&ops, dest, |ops, dest| {
                        <$u as Prebuilt>::evaluate1(call, [ops[0]], dest, large)
                    })
                }
            }
            #[inline]
            unsafe fn evaluate2(
                call: Call<'_>,
                ops: [RawOperand<'_, Self>; 2],
                dest: Dest<'_, Self>,
                large: bool,
            ) -> Result<(), EinsumError> {
                unsafe {
                    as_twin::<Self, $u, _>(&ops, dest, |ops, dest| {
                        <$u as Prebuilt>::evaluate2(call, [ops[0], ops[1]], dest, large)
                    })
                }
            }
            #[inline]
            unsafe fn evaluate_many(
                call: Call<'_>,
                ops: &[RawOperand<'_, Self>],
                dest: Dest<'_, Self>,
                large: bool,
            ) -> Result<(), EinsumError> {
                unsafe {
                    as_twin::<Self, $u, _>(ops, dest, |ops, dest| {
                        <$u as Prebuilt>::evaluate_many(call, ops, dest, large)
                    })
                }
            }
            #[inline]
            unsafe fn dispatch1(axes: &mut [Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
                assert_twins::<Self, $u>();
                // SAFETY: as in `evaluate1`: the same bits, the same memory.
                unsafe { <$u as Prebuilt>::dispatch1(axes, [ptrs[0].cast()], out.cast()) }
            }
            #[inline]
            unsafe fn dispatch2(axes: &mut [Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
                assert_twins::<Self, $u>();
                // SAFETY: as in `evaluate1`: the same bits, the same memory.
                unsafe {
                    <$u as Prebuilt>::dispatch2(axes, [ptrs[0].cast(), ptrs[1].cast()], out.cast())
                }
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
