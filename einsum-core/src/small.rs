//! Operands as the loops the macro writes at the call site read them:
//! [`Small`], an operand of a known rank whose indices are clamped to its
//! shape, and [`Lines`], one read a whole axis at a time (the checks and the output are in `einsum-runtime`).

use core::marker::PhantomData;

use crate::element::Scalar;
use crate::operand::RawOperand;

/// `Σ_r index[r] · strides[r]`, with each `index[r]` clamped to
/// `shape[r] - 1` so that the offset addresses an element of the shape.
///
/// `shape` has no zero length (the constructors refuse one).
#[inline(always)]
pub fn clamped_offset<const R: usize>(
    index: [usize; R],
    shape: &[usize; R],
    strides: &[isize; R],
) -> isize {
    let mut offset = 0isize;
    for ((&i, &n), &s) in index.iter().zip(shape).zip(strides) {
        debug_assert!(i < n, "einsum: index out of bounds");
        let i = i.min(n - 1);
        offset = offset.wrapping_add((i as isize).wrapping_mul(s));
    }
    offset
}

/// A read-only operand of exactly `R` axes, read at checked indices.
#[derive(Clone, Copy)]
pub struct Small<'a, T, const R: usize> {
    #[doc(hidden)]
    pub ptr: *const T,
    #[doc(hidden)]
    pub shape: [usize; R],
    #[doc(hidden)]
    pub strides: [isize; R],
    _marker: PhantomData<&'a T>,
}

// SAFETY: a `Small` reads elements of a view borrowed shared for 'a, as an
// `&'a [T]` does, and never writes; `Scalar` types are `Sync`, so it may be
// shared with and sent to other threads as such a reference may.
unsafe impl<T: Scalar, const R: usize> Sync for Small<'_, T, R> {}
// SAFETY: as above.
unsafe impl<T: Scalar, const R: usize> Send for Small<'_, T, R> {}

impl<'a, T: Scalar> RawOperand<'a, T> {
    /// The operand's lengths, if it has `R` axes.
    #[inline(always)]
    pub fn shape_of<const R: usize>(&self) -> Option<[usize; R]> {
        self.shape().try_into().ok()
    }

    /// The operand as [`Small`], if its lengths are exactly `shape` and
    /// none is zero.
    ///
    /// The accessor keeps the values given here, which are the emitted
    /// loops' own bounds, so the compiler sees every index check pass and
    /// removes it.
    #[inline(always)]
    pub fn small<const R: usize>(&self, shape: [usize; R]) -> Option<Small<'a, T, R>> {
        if self.shape() != shape || shape.contains(&0) {
            return None;
        }
        Some(Small {
            ptr: self.ptr(),
            shape,
            strides: self.strides().try_into().ok()?,
            _marker: PhantomData,
        })
    }
}

impl<T: Scalar, const R: usize> Small<'_, T, R> {
    /// The element at `index` (each index clamped to its axis).
    ///
    /// # Panics
    /// In debug builds, when `index` is outside the shape.
    #[inline(always)]
    pub fn get(&self, index: [usize; R]) -> T {
        let offset = clamped_offset(index, &self.shape, &self.strides);
        // SAFETY: the clamped index is within the shape, which has no empty
        // axis (checked in `small`), of a live view whose strides these are,
        // so the element is valid.
        unsafe { *self.ptr.wrapping_offset(offset) }
    }
}

/// An operand of `R` axes whose axis `A` has unit stride (or length 1), read
/// as slices along `A`.
#[derive(Clone, Copy)]
pub struct Lines<'a, T, const R: usize, const A: usize> {
    small: Small<'a, T, R>,
}

impl<'a, T: Scalar, const R: usize> Small<'a, T, R> {
    /// The operand read along axis `A`, if that axis has unit stride or a
    /// single element.
    #[inline(always)]
    pub fn lines<const A: usize>(self) -> Option<Lines<'a, T, R, A>> {
        let fits = A < R && (self.strides[A] == 1 || self.shape[A] == 1);
        fits.then_some(Lines { small: self })
    }
}

impl<'a, T: Scalar, const R: usize, const A: usize> Lines<'a, T, R, A> {
    /// The whole axis `A` at `index` (whose entry for `A` is ignored; the
    /// others are clamped to their axes, as [`Small::get`] does).
    #[inline(always)]
    pub fn line(&self, mut index: [usize; R]) -> &'a [T] {
        let s = &self.small;
        index[A] = 0;
        let offset = clamped_offset(index, &s.shape, &s.strides);
        // SAFETY: the clamped index is within the shape, which has no empty
        // axis (checked in `Small::small`), so the offset addresses an
        // element of the operand, the first of its axis `A`; `lines` checked
        // that this axis has unit stride (or one element), so the next
        // `shape[A] - 1` elements in memory are the rest of the axis, all
        // elements of a view borrowed shared for 'a, which nothing writes
        // while it lives.
        unsafe { core::slice::from_raw_parts(s.ptr.wrapping_offset(offset), s.shape[A]) }
    }
}
