//! The instances this crate prebuilds for each element type: which calls
//! and kernels a user's crate links instead of compiling again.
//!
//! Code generic over the element type is compiled in the crate that names
//! the type; a non-generic instance, here. So for each element type this
//! module picks, by what it costs this crate's build against what it
//! saves each caller's, one of four tiers (see [`prebuild!`]). The
//! figures behind the choice are `benches/build_cost.py`'s:
//! - f32, f64, `Complex<f64>`, i32 and i64 (`per_isa`): a crate's first
//!   call of one of them costs its release build about 0.2 s, and 100
//!   varied calls about 4 s, because the call and every kernel are linked
//!   from here, each kernel in an AVX-512, an AVX2 and a baseline build.
//! - u8, u16 and `Complex<f32>` (`baseline`): prebuilt for one and two
//!   operands in the baseline build alone; prebuilding them per
//!   instruction set (as for `Complex<f32>`) nearly doubled this crate's
//!   own release build, to save a caller about 0.9 s.
//! - The other integers (`as_twin`) run as the prebuilt integer of their
//!   width, in place: wrapping sums and products are the same bits.
//! - i128 (`at_call_site`): compiled where called; its kernels would only
//!   lengthen every build of this crate.

use num_complex::Complex;

use crate::desc::Dest;
use crate::element::{Pod, Prebuilt};
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
unsafe fn as_twin<'a, T: Pod, U: Pod, const K: usize, R>(
    ops: [RawOperand<'a, T>; K],
    dest: Dest<'_, T>,
    f: impl for<'d> FnOnce([RawOperand<'a, U>; K], Dest<'d, U>) -> R,
) -> R {
    assert_twins::<T, U>();
    // SAFETY: one size and alignment (asserted), and any bits valid in
    // both (`Pod`).
    let ops = ops.map(|op| unsafe { op.cast::<U>() });
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

/// Implements [`Prebuilt`] for each element type, in one of four
/// ways:
/// - `per_isa`: the common types. Calls of up to six operands, and every
///   kernel, built here, for each instruction set.
/// - `baseline`: calls of one and two operands, and the kernels, built here in
///   the baseline build alone, which costs this crate's build little and a
///   caller's nothing. Calls of more operands are compiled in the caller's
///   crate, and still link the kernels built here.
/// - `as_twin`: an integer type computed as the built one of the same width
///   (`u32` as `i32`): wrapping sums and products are the same bits for
///   both, so the same code serves both, read and written in place.
/// - `at_call_site`: compiled where first called (`#[inline]`), for the rarest
///   types, whose kernels would only lengthen this crate's build.
macro_rules! prebuild {
    // One `evaluate` method's signature around `$body`, which names the
    // arguments by the identifiers given (macro hygiene: a body sees only
    // the names written where it is).
    (@method $name:ident $k:literal [$(#[$m:meta])?]
        ($call:ident, $ops:ident, $dest:ident, $large:ident) $body:block) => {
        $(#[$m])?
        unsafe fn $name(
            $call: crate::desc::Call<'_>,
            $ops: [crate::operand::RawOperand<'_, Self>; $k],
            $dest: crate::desc::Dest<'_, Self>,
            $large: bool,
        ) -> Result<(), crate::error::EinsumError> $body
    };
    (@evaluate $name:ident $k:literal $(#[$m:meta])?) => {
        prebuild!(@method $name $k [$(#[$m])?] (call, ops, dest, large) {
            // SAFETY (both): the caller's promise.
            if large {
                unsafe {
                    crate::call::evaluate::<Self, $k, { crate::limits::MAX_AXES }>(
                        call, ops, dest,
                    )
                }
            } else {
                unsafe {
                    crate::call::evaluate::<Self, $k, { crate::limits::SMALL_TABLE }>(
                        call, ops, dest,
                    )
                }
            }
        });
    };
    (@dispatch $(#[$m:meta])?) => {
        $(#[$m])?
        unsafe fn dispatch1(axes: &mut [crate::axes::Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
            // SAFETY: the caller's promise.
            unsafe { crate::kernel::dispatch(axes, ptrs, out) }
        }
        $(#[$m])?
        unsafe fn dispatch2(axes: &mut [crate::axes::Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
            // SAFETY: the caller's promise.
            unsafe { crate::kernel::dispatch(axes, ptrs, out) }
        }
    };
    (@impl $t:ty, $per_isa:literal, [$($b:ident $bk:literal),*], [$($l:ident $lk:literal),*] $(, #[$m:meta])?) => {
        impl Prebuilt for $t {
            // The methods built here are the first ones, `evaluate1` on.
            const OPERANDS: usize = <[usize]>::len(&[$($bk),*]);
            const PER_ISA: bool = $per_isa;
            $(prebuild!(@evaluate $b $bk);)*
            $(prebuild!(@evaluate $l $lk #[inline]);)*
            prebuild!(@dispatch $(#[$m])?);
        }
    };
    (@twin_evaluate $name:ident $k:literal $u:ty) => {
        prebuild!(@method $name $k [#[inline]] (call, ops, dest, large) {
            // SAFETY: `Self` and the twin are integers of one width, whose
            // wrapping sums and products are the same bits; the caller's
            // promise, for the same memory.
            unsafe {
                as_twin::<Self, $u, $k, _>(ops, dest, |ops, dest| {
                    <$u as Prebuilt>::$name(call, ops, dest, large)
                })
            }
        });
    };
    (@twin $t:ty => $u:ty) => {
        impl Prebuilt for $t {
            const OPERANDS: usize = <$u as Prebuilt>::OPERANDS;
            const PER_ISA: bool = false;
            prebuild!(@twin_evaluate evaluate1 1 $u);
            prebuild!(@twin_evaluate evaluate2 2 $u);
            prebuild!(@twin_evaluate evaluate3 3 $u);
            prebuild!(@twin_evaluate evaluate4 4 $u);
            prebuild!(@twin_evaluate evaluate5 5 $u);
            prebuild!(@twin_evaluate evaluate6 6 $u);
            #[inline]
            unsafe fn dispatch1(axes: &mut [crate::axes::Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
                assert_twins::<Self, $u>();
                // SAFETY: as in `evaluate1`: the same bits, the same memory.
                unsafe { <$u as Prebuilt>::dispatch1(axes, [ptrs[0].cast()], out.cast()) }
            }
            #[inline]
            unsafe fn dispatch2(axes: &mut [crate::axes::Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
                assert_twins::<Self, $u>();
                // SAFETY: as in `evaluate1`: the same bits, the same memory.
                unsafe {
                    <$u as Prebuilt>::dispatch2(axes, [ptrs[0].cast(), ptrs[1].cast()], out.cast())
                }
            }
        }
    };
    (per_isa: $($s:ty),*; baseline: $($b:ty),*; as_twin: $($t:ty => $u:ty),*; at_call_site: $($l:ty),*) => {
        $(prebuild!(@impl $s, true, [evaluate1 1, evaluate2 2, evaluate3 3, evaluate4 4, evaluate5 5, evaluate6 6], []);)*
        $(prebuild!(@impl $b, false, [evaluate1 1, evaluate2 2], [evaluate3 3, evaluate4 4, evaluate5 5, evaluate6 6]);)*
        $(prebuild!(@twin $t => $u);)*
        $(prebuild!(@impl $l, false, [], [evaluate1 1, evaluate2 2, evaluate3 3, evaluate4 4, evaluate5 5, evaluate6 6], #[inline]);)*
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
    per_isa: f32, f64, Complex<f64>, i32, i64;
    baseline: u8, u16, Complex<f32>;
    as_twin: i8 => u8, i16 => u16, u32 => i32, u64 => i64, usize => WordTwin, isize => WordTwin,
        u128 => i128;
    at_call_site: i128
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_prebuilt_by_type() {
        fn tier<T: Prebuilt>() -> (usize, bool) {
            (T::OPERANDS, T::PER_ISA)
        }
        assert_eq!(tier::<f64>(), (6, true));
        assert_eq!(tier::<Complex<f64>>(), (6, true));
        assert_eq!(tier::<u8>(), (2, false));
        assert_eq!(tier::<Complex<f32>>(), (2, false));
        // Twins: as many as the type they are computed as.
        assert_eq!(tier::<u32>(), (6, false));
        assert_eq!(tier::<i16>(), (2, false));
        assert_eq!(tier::<u128>(), (0, false));
        assert_eq!(tier::<i128>(), (0, false));
    }
}
