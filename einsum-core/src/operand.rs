//! A call's operands as every layer below the call site sees them: a
//! type-erased strided view read in place ([`RawOperand`]), and the check
//! that every operand has the first one's element type ([`SameElem`]).

use core::marker::PhantomData;

/// A type-erased read-only strided operand: the first element's address, the
/// shape and the strides (in elements) of elements borrowed for `'a`.
///
/// It is only made from a live array, view or slice, so every index within
/// `shape` addresses an element of it.
#[derive(Clone, Copy)]
pub struct RawOperand<'a, T> {
    ptr: *const T,
    layout: Layout<'a>,
    _marker: PhantomData<&'a T>,
}

#[derive(Clone, Copy)]
enum Layout<'a> {
    /// An array's own shape and strides.
    Strided {
        shape: &'a [usize],
        strides: &'a [isize],
    },
    /// A slice: one axis of unit stride, kept inline.
    Slice { len: [usize; 1], stride: [isize; 1] },
}

impl<'a, T> RawOperand<'a, T> {
    /// Borrows the elements at `ptr` with this shape and these strides (in
    /// elements).
    ///
    /// # Safety
    /// For `'a`, every index within `shape` addresses, through `strides`
    /// from `ptr`, an initialized element valid for reads that nothing
    /// writes: a live array or view, as `ArrayRef`'s pointer, shape and
    /// strides are.
    #[inline]
    pub unsafe fn from_parts(ptr: *const T, shape: &'a [usize], strides: &'a [isize]) -> Self {
        RawOperand {
            ptr,
            layout: Layout::Strided { shape, strides },
            _marker: PhantomData,
        }
    }

    /// Borrows `slice` as a 1-d operand.
    #[inline]
    pub fn from_slice(slice: &'a [T]) -> Self {
        RawOperand {
            ptr: slice.as_ptr(),
            layout: Layout::Slice {
                len: [slice.len()],
                stride: [1],
            },
            _marker: PhantomData,
        }
    }

    /// The address of the element at index zero.
    #[inline]
    pub fn ptr(&self) -> *const T {
        self.ptr
    }

    /// The lengths of the axes.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        match &self.layout {
            Layout::Strided { shape, .. } => shape,
            Layout::Slice { len, .. } => len,
        }
    }

    /// The strides of the axes, in elements.
    #[inline]
    pub fn strides(&self) -> &[isize] {
        match &self.layout {
            Layout::Strided { strides, .. } => strides,
            Layout::Slice { stride, .. } => stride,
        }
    }

    /// The same operand with its element type erased, for the call layer,
    /// which reads shapes and strides and hands the pointer to the kernels
    /// of `T` ([`Kernels`](crate::element::Kernels)).
    #[inline]
    pub(crate) fn erase(self) -> RawOperand<'a, ()> {
        RawOperand {
            ptr: self.ptr.cast(),
            layout: self.layout,
            _marker: PhantomData,
        }
    }

    /// The same elements, seen as `U`, which is `T` itself.
    fn same<U>(self) -> RawOperand<'a, U>
    where
        T: SameElem<U>,
    {
        // SAFETY: `U` is `T`.
        unsafe { self.cast() }
    }

    /// The same elements, seen as `U`.
    ///
    /// # Safety
    /// `U` has `T`'s size and alignment, and every `T` is a valid `U`.
    pub(crate) unsafe fn cast<U>(self) -> RawOperand<'a, U> {
        RawOperand {
            ptr: self.ptr.cast(),
            layout: self.layout,
            _marker: PhantomData,
        }
    }
}

// SAFETY of Send/Sync: a RawOperand is a shared borrow of `T` data in
// disguise (it is only made from `&'a ArrayRef<T, _>` or `&'a [T]`), so it
// may cross threads exactly when `&T` may.
unsafe impl<T: Sync> Send for RawOperand<'_, T> {}
// SAFETY: as above, it only reads through the pointer, like `&T`.
unsafe impl<T: Sync> Sync for RawOperand<'_, T> {}

/// Ties an operand's element type to the first operand's, so that a
/// mismatch is reported once, at the operand that differs.
#[diagnostic::on_unimplemented(
    message = "this operand's elements are `{Self}`, but operand 0's are `{T}`",
    label = "elements of type `{Self}`, where `{T}` is expected",
    note = "all operands and the output of an einsum have one element type"
)]
pub trait SameElem<T>: sealed::Same<T> {
    /// The operand, unchanged, as an operand of `T`.
    fn same_operand(op: RawOperand<'_, Self>) -> RawOperand<'_, T>
    where
        Self: Sized;
}

mod sealed {
    pub trait Same<T> {}
    impl<T> Same<T> for T {}
}

impl<T> SameElem<T> for T {
    #[inline(always)]
    fn same_operand(op: RawOperand<'_, T>) -> RawOperand<'_, T> {
        op.same()
    }
}

/// A marker of `op`'s element type, for [`SameElem`] checks.
#[inline(always)]
pub fn elem_of<T>(_op: &RawOperand<'_, T>) -> PhantomData<T> {
    PhantomData
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_is_one_axis_of_unit_stride() {
        let v = [1.0, 2.0, 3.0];
        let r = RawOperand::from_slice(&v);
        assert_eq!(
            (r.shape(), r.strides(), r.ptr()),
            (&[3][..], &[1][..], v.as_ptr())
        );
        let x = [5i64; 12];
        // SAFETY: every index within 3×2 at strides (4, 1) is inside `x`.
        let r = unsafe { RawOperand::from_parts(x.as_ptr(), &[3, 2], &[4, 1]) };
        assert_eq!((r.shape(), r.strides()), (&[3, 2][..], &[4, 1][..]));
    }
}
