//! The element types an einsum can compute in: their arithmetic
//! ([`Scalar`]), what their bits guarantee ([`Pod`](sealed::Pod)), and
//! which of their kernels are prebuilt in this crate ([`Prebuilt`]),
//! declared here and implemented in `prebuilt`, and how the call layer
//! reaches them with the type erased ([`Kernels`]).

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
    Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static + sealed::Pod + sealed::Prebuilt
{
    /// The additive identity.
    fn zero() -> Self;
    /// The multiplicative identity.
    fn one() -> Self;
    /// `self + rhs`, wrapping for integers.
    fn add(self, rhs: Self) -> Self;
    /// `self * rhs`, wrapping for integers.
    fn mul(self, rhs: Self) -> Self;
    /// Whether this is `f32` or `f64`, the types of the skinny and window
    /// kernels: a constant, so that no other type instantiates them.
    #[doc(hidden)]
    const REAL_FLOAT: bool = false;
    /// Whether the `gemm` crate has a kernel for this type (real and
    /// complex floats): a constant, so that no other type instantiates its
    /// generic entry.
    #[doc(hidden)]
    const IN_GEMM: bool = false;
    /// `self + a * b`: for `f32` and `f64` one fused multiply-add (rounded
    /// once, as GEMM kernels compute), for the others `add(mul)`. Only for
    /// code built with FMA instructions: elsewhere a fused multiply-add is a
    /// slow library call.
    #[doc(hidden)]
    fn fused_add(self, a: Self, b: Self) -> Self {
        self.add(a.mul(b))
    }
}

/// The element types with an order, which `reduce = max` and `reduce =
/// min` take: the primitive integers, `f32` and `f64` (not complex
/// numbers).
#[diagnostic::on_unimplemented(
    message = "`reduce = max` and `reduce = min` need ordered elements, and `{Self}` has no order",
    note = "they take f32, f64 and the primitive integer types; complex numbers have no order"
)]
pub trait Ordered: Scalar {
    /// The least value (minus infinity for floats), where a max starts.
    fn lowest() -> Self;
    /// The greatest value (infinity for floats), where a min starts.
    fn highest() -> Self;
    /// The larger of the two; NaN if either is NaN, as numpy's `max`.
    fn max_of(self, other: Self) -> Self;
    /// The smaller of the two; NaN if either is NaN, as numpy's `min`.
    fn min_of(self, other: Self) -> Self;
}

macro_rules! ordered_int {
    ($($t:ty)*) => {$(
        impl Ordered for $t {
            #[inline(always)]
            fn lowest() -> Self { <$t>::MIN }
            #[inline(always)]
            fn highest() -> Self { <$t>::MAX }
            #[inline(always)]
            fn max_of(self, other: Self) -> Self { Ord::max(self, other) }
            #[inline(always)]
            fn min_of(self, other: Self) -> Self { Ord::min(self, other) }
        }
    )*};
}

ordered_int!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

macro_rules! ordered_float {
    ($($t:ty)*) => {$(
        impl Ordered for $t {
            #[inline(always)]
            fn lowest() -> Self { <$t>::NEG_INFINITY }
            #[inline(always)]
            fn highest() -> Self { <$t>::INFINITY }
            // (`other` wins when larger or NaN; a NaN kept stays: no value
            // compares above it.)
            #[inline(always)]
            fn max_of(self, other: Self) -> Self {
                if other > self || other.is_nan() { other } else { self }
            }
            #[inline(always)]
            fn min_of(self, other: Self) -> Self {
                if other < self || other.is_nan() { other } else { self }
            }
        }
    )*};
}

ordered_float!(f32 f64);

pub(crate) use sealed::{AddProduct, AddTile, Kernels, Many, Prebuilt, Scaled};

mod sealed {
    use crate::axes::Axis;
    use crate::desc::{Product, Scale, WindowProduct};
    use crate::limits::MANY_OPERANDS;

    /// A kernel entry of one or two operands with the element type erased: as
    /// [`kernel::dispatch`](crate::kernel::dispatch), the pointers addressing
    /// elements of the type whose [`Kernels`] it came from, the result
    /// added into the output when the last argument is true.
    pub type Dispatch<const K: usize> = unsafe fn(&mut [Axis<K>], [*const (); K], *mut (), bool);

    /// The loop nest of three or more operands (room for `K`, of which the
    /// `usize` are the call's) with the element type erased: as
    /// [`kernel::contract_many`](crate::kernel::contract_many), the pointers
    /// addressing elements of the type it was made for.
    pub type Many<const K: usize> = unsafe fn(&mut [Axis<K>], [*const (); K], usize, *mut (), bool);

    /// The kernel of a call with options, `alpha`, `beta` or `reduce`
    /// (room for `K` operands, of which the `usize` are the call's), with
    /// the element type erased: `kernel::contract_scaled`, or
    /// `kernel::contract_extreme` for a max or min.
    pub type Scaled<const K: usize> =
        unsafe fn(&mut [Axis<K>], [*const (); K], usize, *mut (), Scale);

    /// `kernel::add_tile` with the element type erased: a tile of results,
    /// contiguous, added into a window view.
    pub type AddTile = unsafe fn(&[usize], &[isize], *mut (), *const ());

    /// `kernel::add_product` with the element type erased: a matrix product
    /// added into a window view (A, B, the windows, `alpha`).
    pub type AddProduct = unsafe fn(&WindowProduct<'_>, *const (), *const (), *mut (), *const ());

    /// What the call layer needs of an element type: its size and those of
    /// its kernels a call runs, behind pointers that take its elements as
    /// `*const ()`. So one build of the call layer (checks, order, pairwise
    /// steps) serves every element type, and only the kernels are compiled
    /// per type.
    #[derive(Clone, Copy)]
    pub struct Kernels {
        /// The element's size in bytes.
        pub size: usize,
        /// `kernel::dispatch` for one operand.
        pub one: Option<Dispatch<1>>,
        /// `kernel::dispatch` for two operands.
        pub two: Option<Dispatch<2>>,
        /// `kernel::contract_many` with room for [`MANY_OPERANDS`].
        pub many: Option<Many<MANY_OPERANDS>>,
        /// The kernels of a call with options ([`Scaled`]) for one
        /// operand, two, and room for [`MANY_OPERANDS`]: present for such a
        /// call alone, compiled where it is (`entry`).
        pub scaled: Option<(Scaled<1>, Scaled<2>, Scaled<MANY_OPERANDS>)>,
        /// The kernels adding into a window view: present with `scaled`,
        /// for a call whose destination may be one.
        pub windows: Option<(AddTile, AddProduct)>,
    }

    impl Kernels {
        /// `T`'s kernels that a call of `count` operands runs: the dispatch
        /// of its count, or from three operands on all three (pairwise
        /// steps of one and two operands, and the nest). The others are
        /// left out, so that a crate that compiles `T`'s kernels itself
        /// compiles only those its calls can run.
        pub const fn of<T: Prebuilt>(count: usize) -> Kernels {
            Kernels {
                size: core::mem::size_of::<T>(),
                one: if count == 2 { None } else { Some(T::dispatch1) },
                two: if count == 1 { None } else { Some(T::dispatch2) },
                many: if count >= 3 { Some(T::many) } else { None },
                scaled: None,
                windows: None,
            }
        }
    }

    /// Plain old data, as bytemuck's `Pod` and `Zeroable` say it: what the
    /// kernels assume of an element's bits when they read scratch memory,
    /// reinterpret one integer type as another of its width, or take
    /// zeroed memory for zeros.
    ///
    /// # Safety
    /// An implementor guarantees that
    /// - every bit pattern of `size_of::<Self>()` bytes is a valid value, and
    ///   the type has no padding bytes;
    /// - all-zero bytes are the value [`Scalar::zero`](super::Scalar::zero);
    /// - its alignment is at most 16 (a `u128`'s).
    pub unsafe trait Pod: Copy + 'static {}

    /// Which of an element type's kernels this crate prebuilds: the kernel
    /// dispatch of one and two operands (every pairwise step among them)
    /// and the loop nest of three to `MANY_OPERANDS`, with the element type
    /// erased ([`Kernels`]). Non-generic instances are compiled where they
    /// are defined, so a crate calling `einsum!` links these instead of
    /// compiling them again. Implemented in `prebuilt`, which says what is
    /// prebuilt for which type and why; outside this crate the trait cannot
    /// be named, which also seals [`Scalar`](super::Scalar).
    pub trait Prebuilt: Sized {
        /// Whether the kernels of `Self` are built in this crate (else where
        /// they are called).
        const PREBUILT: bool;
        /// Whether the loop nest of `Self`, compiled in this crate or a
        /// caller's, is built for each instruction set, or in the baseline
        /// build alone.
        const NEST_PER_ISA: bool;
        /// As `NEST_PER_ISA`, for the GEMM-class kernels this crate has
        /// (the window, skinny and blocked kernels).
        const GEMM_PER_ISA: bool;
        /// `kernel::dispatch` for one operand, over elements of `Self`.
        ///
        /// # Safety
        /// As `kernel::dispatch`, the pointers addressing `Self`s.
        unsafe fn dispatch1(axes: &mut [Axis<1>], ptrs: [*const (); 1], out: *mut (), add: bool);
        /// `kernel::dispatch` for two operands, over elements of `Self`.
        ///
        /// # Safety
        /// As `kernel::dispatch`, the pointers addressing `Self`s.
        unsafe fn dispatch2(axes: &mut [Axis<2>], ptrs: [*const (); 2], out: *mut (), add: bool);
        /// `kernel::contract_many` with room for `MANY_OPERANDS`, over
        /// elements of `Self`.
        ///
        /// # Safety
        /// As `kernel::contract_many`, the pointers addressing `Self`s.
        unsafe fn many(
            axes: &mut [Axis<MANY_OPERANDS>],
            ptrs: [*const (); MANY_OPERANDS],
            count: usize,
            out: *mut (),
            add: bool,
        );
        /// `kernel::product::product` over elements of `Self`.
        ///
        /// # Safety
        /// As `kernel::product::product`, the pointers addressing `Self`s.
        unsafe fn product(p: Product<()>);
    }
}

// SAFETY: the primitive integers, `f32` and `f64` have no padding, every
// bit pattern is a value (a float's NaNs included), zero bytes are 0 (0.0
// for floats), and none is aligned to more than 16.
macro_rules! pod {
    ($($t:ty)*) => {$(unsafe impl sealed::Pod for $t {})*};
}
pod!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64);
// SAFETY: `Complex<T>` is `#[repr(C)]` of two `T`s: no padding between
// equal fields, every pair of floats a value, zero bytes 0 + 0i.
unsafe impl sealed::Pod for Complex<f32> {}
// SAFETY: as for `Complex<f32>`.
unsafe impl sealed::Pod for Complex<f64> {}

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
            const REAL_FLOAT: bool = true;
            const IN_GEMM: bool = true;
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
            const IN_GEMM: bool = true;
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
