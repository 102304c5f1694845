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
    use crate::entry::Dest;
    use crate::error::EinsumError;
    use crate::operand::RawOperand;
    use crate::path::PlanCache;
    use crate::resolve::Axis;
    use crate::spec::Spec;

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
                spec: &Spec,
                ops: [RawOperand<'_, Self>; $k],
                fixed: &[(u8, usize)],
                cache: Option<&PlanCache>,
                dest: Dest<'_, Self>,
                wide: bool,
            ) -> Result<(), EinsumError>;
        )*};
    }

    /// A whole call (checks, planning, pairwise steps, every kernel) of up
    /// to six operands, and the kernels of one and two operands (every
    /// pairwise step among them), built in this crate for the common
    /// element types, so that a crate calling `einsum!` links them instead
    /// of compiling them again (non-generic functions are compiled where
    /// they are defined). Outside this crate the trait cannot be named,
    /// which also seals [`Scalar`](super::Scalar).
    pub trait Sealed: Sized {
        /// Whether the `run` methods below are built in this crate.
        const BUILT: bool;
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

/// Implements [`sealed::Sealed`] for each type: its kernels, built here for
/// `built`, and where first called (`#[inline]`) for `lazy`, the types few
/// programs use, whose kernels would only lengthen this crate's build.
macro_rules! sealed_kernels {
    (@run $name:ident, $k:literal, $($inline:meta)?) => {
        $(#[$inline])?
        unsafe fn $name(
            spec: &crate::spec::Spec,
            ops: [crate::operand::RawOperand<'_, Self>; $k],
            fixed: &[(u8, usize)],
            cache: Option<&crate::path::PlanCache>,
            dest: crate::entry::Dest<'_, Self>,
            wide: bool,
        ) -> Result<(), crate::error::EinsumError> {
            // SAFETY (both): the caller's promise.
            if wide {
                unsafe {
                    crate::entry::run_here::<Self, $k, { crate::resolve::MAX_AXES }>(
                        spec, ops, fixed, cache, dest,
                    )
                }
            } else {
                unsafe {
                    crate::entry::run_here::<Self, $k, { crate::entry::NARROW_AXES }>(
                        spec, ops, fixed, cache, dest,
                    )
                }
            }
        }
    };
    (@one $t:ty, $built:literal, $($inline:meta)?) => {
        impl sealed::Sealed for $t {
            const BUILT: bool = $built;
            sealed_kernels!(@run run1, 1, $($inline)?);
            sealed_kernels!(@run run2, 2, $($inline)?);
            sealed_kernels!(@run run3, 3, $($inline)?);
            sealed_kernels!(@run run4, 4, $($inline)?);
            sealed_kernels!(@run run5, 5, $($inline)?);
            sealed_kernels!(@run run6, 6, $($inline)?);
            $(#[$inline])?
            unsafe fn contract1(axes: &mut [crate::resolve::Axis<1>], ptrs: [*const Self; 1], out: *mut Self) {
                // SAFETY: the caller's promise.
                unsafe { crate::kernel::contract_here(axes, ptrs, out) }
            }
            $(#[$inline])?
            unsafe fn contract2(axes: &mut [crate::resolve::Axis<2>], ptrs: [*const Self; 2], out: *mut Self) {
                // SAFETY: the caller's promise.
                unsafe { crate::kernel::contract_here(axes, ptrs, out) }
            }
        }
    };
    (built: $($b:ty),*; lazy: $($l:ty),*) => {
        $(sealed_kernels!(@one $b, true,);)*
        $(sealed_kernels!(@one $l, false, inline);)*
    };
}

sealed_kernels!(
    built: f32, f64, Complex<f64>, i32, i64;
    lazy: i8, i16, i128, isize, u8, u16, u32, u64, u128, usize, Complex<f32>
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
