//! The element types an einsum can compute in.

use num_complex::Complex;

/// An element type of einsum operands and results.
///
/// Implemented for `f32`, `f64`, every primitive integer type, and
/// [`Complex<f32>`](num_complex::Complex) and `Complex<f64>`. No conjugation is
/// ever implied for complex numbers.
///
/// Sums and products are those of `T` itself: floats accumulate in `T`, and
/// integers wrap on overflow exactly as `wrapping_add` and `wrapping_mul` do
/// (what release-mode arithmetic does), so a result never depends on the build
/// profile or on the order the kernel chose.
///
/// The trait is sealed: its methods may grow as kernels do.
///
/// It is the bound to write for code generic over the element type:
///
/// ```
/// use einsum::{einsum, Scalar};
/// use einsum::ndarray::{array, Array2};
/// use einsum::num_complex::Complex;
///
/// fn trace<T: Scalar>(a: &Array2<T>) -> T {
///     einsum!("ii", a)
/// }
///
/// assert_eq!(trace(&array![[1, 2], [3, 4]]), 5);
/// assert_eq!(trace(&array![[250u8, 0], [0, 10]]), 4); // 260 wraps
/// let i = Complex::new(0.0, 1.0);
/// assert_eq!(trace(&array![[i, i], [i, i]]), Complex::new(0.0, 2.0));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an element type that einsum supports",
    note = "einsum computes in f32, f64, the primitive integer types, Complex<f32> and Complex<f64>"
)]
pub trait Scalar:
    Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static + sealed::Sealed
{
    /// The additive identity.
    fn zero() -> Self;
    /// The multiplicative identity.
    fn one() -> Self;
    /// `self + rhs`, wrapping for integers.
    fn add(self, rhs: Self) -> Self;
    /// `self * rhs`, wrapping for integers.
    fn mul(self, rhs: Self) -> Self;
    /// `self + a * b`: for `f32` and `f64` one fused multiply-add (rounded
    /// once, as GEMM kernels compute), for the others `add(mul)`. Only for
    /// code built with FMA instructions: elsewhere a fused multiply-add is a
    /// slow library call.
    #[doc(hidden)]
    fn fused_add(self, a: Self, b: Self) -> Self {
        self.add(a.mul(b))
    }
}

mod sealed {
    use crate::entry::{Call, Dest};
    use crate::error::EinsumError;
    use crate::operand::RawOperand;
    use crate::resolve::Axis;

    /// Declares `entry::run_here` for each operand count: `$name` runs
    /// `$k` operands.
    macro_rules! run_methods {
        ($($name:ident $k:literal $count:literal),*) => {$(
            #[doc = concat!("`entry::run_here` for ", $count, " operand(s), with room for")]
            /// `entry::NARROW_AXES` loop axes, or `MAX_AXES` when `wide`.
            ///
            /// # Safety
            /// As `entry::run_here`.
            unsafe fn $name(
                call: Call<'_>,
                ops: [RawOperand<'_, Self>; $k],
                dest: Dest<'_, Self>,
                wide: bool,
            ) -> Result<(), EinsumError>;
        )*};
    }

    /// A whole call (checks, planning, pairwise steps, every kernel) and
    /// the kernels of one and two operands (every pairwise step among
    /// them), built in this crate for most element types, so that a crate
    /// calling `einsum!` links them instead of compiling them again
    /// (non-generic functions are compiled where they are defined). Outside
    /// this crate the trait cannot be named, which also seals
    /// [`Scalar`](super::Scalar).
    pub trait Sealed: Sized {
        /// Calls of up to this many operands run in the `run` methods
        /// below; calls of more, in `entry::run_here` compiled by the
        /// caller.
        const RUNS: usize;
        /// Whether the kernels of `Self` that a caller's crate or this one
        /// compiles are built for each instruction set, or in the baseline
        /// build alone.
        const SIMD: bool;
        run_methods! {
            run1 1 "one",
            run2 2 "two",
            run3 3 "three",
            run4 4 "four",
            run5 5 "five",
            run6 6 "six"
        }
        /// `kernel::contract` for one operand.
        ///
        /// # Safety
        /// As `kernel::contract`.
        unsafe fn contract1(axes: &mut [Axis<1>], ptrs: [*const Self; 1], out: *mut Self);
        /// `kernel::contract` for two operands.
        ///
        /// # Safety
        /// As `kernel::contract`.
        unsafe fn contract2(axes: &mut [Axis<2>], ptrs: [*const Self; 2], out: *mut Self);
    }
}

/// Implements [`sealed::Sealed`] for each element type, in one of four
/// ways:
/// - `simd`: the common types. Calls of up to six operands, and every
///   kernel, built here, for each instruction set.
/// - `base`: calls of one and two operands, and the kernels, built here in
///   the baseline build alone, which costs this crate's build little and a
///   caller's nothing. Calls of more operands are compiled in the caller's
///   crate, and still link the kernels built here.
/// - `twin`: an integer type computed as the built one of the same width
///   (`u32` as `i32`): wrapping sums and products are the same bits for
///   both, so the same code serves both, read and written in place.
/// - `lazy`: compiled where first called (`#[inline]`), for the rarest
///   types, whose kernels would only lengthen this crate's build.
macro_rules! sealed_kernels {
    // One `run` method's signature around `$body`, which names the
    // arguments by the identifiers given (macro hygiene: a body sees only
    // the names written where it is).
    (@method $name:ident $k:literal [$(#[$m:meta])?]
        ($call:ident, $ops:ident, $dest:ident, $wide:ident) $body:block) => {
        $(#[$m])?
        unsafe fn $name(
            $call: crate::entry::Call<'_>,
            $ops: [crate::operand::RawOperand<'_, Self>; $k],
            $dest: crate::entry::Dest<'_, Self>,
            $wide: bool,
        ) -> Result<(), crate::error::EinsumError> $body
    };
    (@run $name:ident $k:literal $(#[$m:meta])?) => {
        sealed_kernels!(@method $name $k [$(#[$m])?] (call, ops, dest, wide) {
            // SAFETY (both): the caller's promise.
            if wide {
                unsafe {
                    crate::entry::run_here::<Self, $k, { crate::resolve::MAX_AXES }>(
                        call, ops, dest,
                    )
                }
            } else {
                unsafe {
                    crate::entry::run_here::<Self, $k, { crate::entry::NARROW_AXES }>(
                        call, ops, dest,
                    )
                }
            }
        });
    };
    (@contract $(#[$m:meta])?) => {
        $(#[$m])?
        unsafe fn contract1(axes: &mut [crate::resolve::Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
            // SAFETY: the caller's promise.
            unsafe { crate::kernel::contract_here(axes, ptrs, out) }
        }
        $(#[$m])?
        unsafe fn contract2(axes: &mut [crate::resolve::Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
            // SAFETY: the caller's promise.
            unsafe { crate::kernel::contract_here(axes, ptrs, out) }
        }
    };
    (@impl $t:ty, $simd:literal, [$($b:ident $bk:literal),*], [$($l:ident $lk:literal),*] $(, #[$m:meta])?) => {
        impl sealed::Sealed for $t {
            // The methods built here are the first ones, `run1` on.
            const RUNS: usize = <[usize]>::len(&[$($bk),*]);
            const SIMD: bool = $simd;
            $(sealed_kernels!(@run $b $bk);)*
            $(sealed_kernels!(@run $l $lk #[inline]);)*
            sealed_kernels!(@contract $(#[$m])?);
        }
    };
    (@twin_run $name:ident $k:literal $u:ty) => {
        sealed_kernels!(@method $name $k [#[inline]] (call, ops, dest, wide) {
            // SAFETY: `Self` and the twin are integers of one width, whose
            // wrapping sums and products are the same bits; the caller's
            // promise, for the same memory.
            unsafe {
                crate::entry::as_twin::<Self, $u, $k, _>(ops, dest, |ops, dest| {
                    <$u as sealed::Sealed>::$name(call, ops, dest, wide)
                })
            }
        });
    };
    (@twin $t:ty => $u:ty) => {
        impl sealed::Sealed for $t {
            const RUNS: usize = <$u as sealed::Sealed>::RUNS;
            const SIMD: bool = false;
            sealed_kernels!(@twin_run run1 1 $u);
            sealed_kernels!(@twin_run run2 2 $u);
            sealed_kernels!(@twin_run run3 3 $u);
            sealed_kernels!(@twin_run run4 4 $u);
            sealed_kernels!(@twin_run run5 5 $u);
            sealed_kernels!(@twin_run run6 6 $u);
            #[inline]
            unsafe fn contract1(axes: &mut [crate::resolve::Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
                crate::entry::assert_twins::<Self, $u>();
                // SAFETY: as in `run1`: the same bits, the same memory.
                unsafe { <$u as sealed::Sealed>::contract1(axes, [ptrs[0].cast()], out.cast()) }
            }
            #[inline]
            unsafe fn contract2(axes: &mut [crate::resolve::Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
                crate::entry::assert_twins::<Self, $u>();
                // SAFETY: as in `run1`: the same bits, the same memory.
                unsafe {
                    <$u as sealed::Sealed>::contract2(axes, [ptrs[0].cast(), ptrs[1].cast()], out.cast())
                }
            }
        }
    };
    (simd: $($s:ty),*; base: $($b:ty),*; twin: $($t:ty => $u:ty),*; lazy: $($l:ty),*) => {
        $(sealed_kernels!(@impl $s, true, [run1 1, run2 2, run3 3, run4 4, run5 5, run6 6], []);)*
        $(sealed_kernels!(@impl $b, false, [run1 1, run2 2], [run3 3, run4 4, run5 5, run6 6]);)*
        $(sealed_kernels!(@twin $t => $u);)*
        $(sealed_kernels!(@impl $l, false, [], [run1 1, run2 2, run3 3, run4 4, run5 5, run6 6], #[inline]);)*
    };
}

/// The built integer type of `usize`'s and `isize`'s width.
#[cfg(target_pointer_width = "64")]
type WordTwin = i64;
/// The built integer type of `usize`'s and `isize`'s width.
#[cfg(target_pointer_width = "32")]
type WordTwin = i32;
/// The built integer type of `usize`'s and `isize`'s width.
#[cfg(target_pointer_width = "16")]
type WordTwin = u16;

sealed_kernels!(
    simd: f32, f64, Complex<f64>, i32, i64;
    base: u8, u16, Complex<f32>;
    twin: i8 => u8, i16 => u16, u32 => i32, u64 => i64, usize => WordTwin, isize => WordTwin,
        u128 => i128;
    lazy: i128
);

macro_rules! int_scalar {
    ($($t:ty)*) => {$(
        impl Scalar for $t {
            #[inline(always)]
            fn zero() -> Self { 0 }
            #[inline(always)]
            fn one() -> Self { 1 }
            #[inline(always)]
            fn add(self, rhs: Self) -> Self { self.wrapping_add(rhs) }
            #[inline(always)]
            fn mul(self, rhs: Self) -> Self { self.wrapping_mul(rhs) }
        }
    )*};
}

int_scalar!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

macro_rules! float_scalar {
    ($($t:ty)*) => {$(
        impl Scalar for $t {
            #[inline(always)]
            fn zero() -> Self { 0.0 }
            #[inline(always)]
            fn one() -> Self { 1.0 }
            #[inline(always)]
            fn add(self, rhs: Self) -> Self { self + rhs }
            #[inline(always)]
            fn mul(self, rhs: Self) -> Self { self * rhs }
            #[inline(always)]
            fn fused_add(self, a: Self, b: Self) -> Self { a.mul_add(b, self) }
        }

        impl Scalar for Complex<$t> {
            #[inline(always)]
            fn zero() -> Self { Complex::new(0.0, 0.0) }
            #[inline(always)]
            fn one() -> Self { Complex::new(1.0, 0.0) }
            #[inline(always)]
            fn add(self, rhs: Self) -> Self { self + rhs }
            #[inline(always)]
            fn mul(self, rhs: Self) -> Self { self * rhs }
        }
    )*};
}

float_scalar!(f32 f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_built_here_by_type() {
        use sealed::Sealed;
        fn runs<T: Sealed>() -> (usize, bool) {
            (T::RUNS, T::SIMD)
        }
        assert_eq!(runs::<f64>(), (6, true));
        assert_eq!(runs::<Complex<f64>>(), (6, true));
        assert_eq!(runs::<u8>(), (2, false));
        assert_eq!(runs::<Complex<f32>>(), (2, false));
        // Twins: as many as the type they are computed as.
        assert_eq!(runs::<u32>(), (6, false));
        assert_eq!(runs::<i16>(), (2, false));
        assert_eq!(runs::<u128>(), (0, false));
        assert_eq!(runs::<i128>(), (0, false));
    }

    #[test]
    fn integers_wrap() {
        assert_eq!(Scalar::add(i8::MAX, 1), i8::MIN);
        assert_eq!(Scalar::mul(200u8, 2), 144);
    }

    #[test]
    fn fused_add_is_a_multiply_add() {
        assert_eq!(Scalar::fused_add(250u8, 3, 2), 0); // 256 wraps
        let i = Complex::new(0.0f64, 1.0);
        assert_eq!(Scalar::fused_add(i, i, i), Complex::new(-1.0, 1.0));
    }

    /// Miri perturbs `mul_add`'s last bits on purpose (it does not model the
    /// single rounding), so the float cases run natively only.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn fused_add_rounds_once_for_floats() {
        assert_eq!(Scalar::fused_add(1.5f64, 2.0, 3.0), 7.5);
        assert_eq!(Scalar::fused_add(1.0f32, -2.0, 4.0), -7.0);
        // (1 + 2^-30)² - 1 keeps the 2^-60 a separate multiply would lose.
        let x = 1.0 + 2f64.powi(-30);
        assert_eq!(
            Scalar::fused_add(-1.0, x, x),
            2f64.powi(-29) + 2f64.powi(-60)
        );
    }

    #[test]
    fn complex_is_not_conjugated() {
        let i = Complex::new(0.0f64, 1.0);
        assert_eq!(Scalar::mul(i, i), Complex::new(-1.0, 0.0));
    }
}
