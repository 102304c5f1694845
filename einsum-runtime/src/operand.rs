//! Operand adapters: everything an einsum operand may be, seen as a strided
//! view read in place.

use core::marker::PhantomData;
use ndarray::{ArrayBase, ArrayRef, ArrayView, ArrayViewMut, Data, DataMut, Dimension, Ix1};

/// A value that can be an einsum operand: it lends a read-only strided view of
/// its elements without copying them.
///
/// Implemented for arrays and views of any storage and strides
/// ([`ArrayBase`] with `S: Data`, [`ArrayRef`]), for slices and vectors (as
/// 1-d operands), and for shared and mutable references to any of these.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an einsum operand",
    label = "not an array, a view, a slice or a Vec",
    note = "operands are `&ArrayBase<S, D>`, `ArrayView`, `ArrayViewMut`, `Array` by value, `&[T]` or `&Vec<T>`"
)]
pub trait Operand {
    /// The element type.
    type Elem;
    /// The dimension type, which gives the rank when it is static.
    type Dim: Dimension;
    /// A view of the operand's elements, in place.
    fn einsum_view(&self) -> ArrayView<'_, Self::Elem, Self::Dim>;
}

impl<A, S, D> Operand for ArrayBase<S, D>
where
    S: Data<Elem = A>,
    D: Dimension,
{
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_view(&self) -> ArrayView<'_, A, D> {
        self.view()
    }
}

impl<A, D: Dimension> Operand for ArrayRef<A, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_view(&self) -> ArrayView<'_, A, D> {
        self.view()
    }
}

impl<A> Operand for [A] {
    type Elem = A;
    type Dim = Ix1;
    #[inline]
    fn einsum_view(&self) -> ArrayView<'_, A, Ix1> {
        ArrayView::from(self)
    }
}

impl<A> Operand for Vec<A> {
    type Elem = A;
    type Dim = Ix1;
    #[inline]
    fn einsum_view(&self) -> ArrayView<'_, A, Ix1> {
        ArrayView::from(self.as_slice())
    }
}

impl<O: Operand + ?Sized> Operand for &O {
    type Elem = O::Elem;
    type Dim = O::Dim;
    #[inline]
    fn einsum_view(&self) -> ArrayView<'_, O::Elem, O::Dim> {
        (**self).einsum_view()
    }
}

impl<O: Operand + ?Sized> Operand for &mut O {
    type Elem = O::Elem;
    type Dim = O::Dim;
    #[inline]
    fn einsum_view(&self) -> ArrayView<'_, O::Elem, O::Dim> {
        (**self).einsum_view()
    }
}

/// A value that can receive an einsum's result in place: `&mut` an array or a
/// mutable view (any strides), or a mutable view by value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive an einsum result",
    label = "expected `&mut` an array or a mutable view",
    note = "the output of `einsum_into!` is `&mut ArrayBase<S, D>` with `S: DataMut`, or an `ArrayViewMut`"
)]
pub trait OutputOperand<'a> {
    /// The element type.
    type Elem;
    /// The dimension type.
    type Dim: Dimension;
    /// A mutable view of the output's elements, in place.
    fn einsum_view_mut(self) -> ArrayViewMut<'a, Self::Elem, Self::Dim>;
}

impl<'a, A, S, D> OutputOperand<'a> for &'a mut ArrayBase<S, D>
where
    S: DataMut<Elem = A>,
    D: Dimension,
{
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_view_mut(self) -> ArrayViewMut<'a, A, D> {
        self.view_mut()
    }
}

impl<'a, A, D: Dimension> OutputOperand<'a> for &'a mut ArrayRef<A, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_view_mut(self) -> ArrayViewMut<'a, A, D> {
        self.view_mut()
    }
}

/// A type-erased read-only strided operand: the first element's address, the
/// shape and the strides (in elements) of a view that outlives `'a`.
///
/// It can only be made from a live [`ArrayView`], so every index within
/// `shape` addresses an element of that view.
#[derive(Clone, Copy)]
pub struct RawOperand<'a, T> {
    ptr: *const T,
    shape: &'a [usize],
    strides: &'a [isize],
    _marker: PhantomData<&'a T>,
}

impl<'a, T> RawOperand<'a, T> {
    /// Borrows `view`'s address, shape and strides.
    #[inline]
    pub fn new<D: Dimension>(view: &'a ArrayView<'_, T, D>) -> Self {
        RawOperand {
            ptr: view.as_ptr(),
            shape: view.shape(),
            strides: view.strides(),
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
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    /// The strides of the axes, in elements.
    #[inline]
    pub fn strides(&self) -> &'a [isize] {
        self.strides
    }
}

// SAFETY of Send/Sync: a RawOperand is a shared borrow of `T` data in
// disguise (it is only made from an `ArrayView<'a, T, _>`), so it may cross
// threads exactly when `&T` may.
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
pub trait SameElem<T> {
    /// The view, unchanged, as a view of `T`.
    fn same_view<D: Dimension>(v: ArrayView<'_, Self, D>) -> ArrayView<'_, T, D>
    where
        Self: Sized;
}

impl<T> SameElem<T> for T {
    #[inline(always)]
    fn same_view<D: Dimension>(v: ArrayView<'_, T, D>) -> ArrayView<'_, T, D> {
        v
    }
}

/// A marker of `view`'s element type, for [`SameElem`] checks.
#[inline(always)]
pub fn elem_of<T, D>(_view: &ArrayView<'_, T, D>) -> PhantomData<T> {
    PhantomData
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr2, s, Array2};

    fn rank_of<O: Operand>(o: O) -> (Vec<usize>, Vec<isize>) {
        let v = o.einsum_view();
        (v.shape().to_vec(), v.strides().to_vec())
    }

    #[test]
    fn every_operand_kind_lends_a_view_in_place() {
        let a: Array2<f64> = arr2(&[[1., 2., 3.], [4., 5., 6.]]);
        assert_eq!(rank_of(&a), (vec![2, 3], vec![3, 1]));
        assert_eq!(rank_of(a.t()), (vec![3, 2], vec![1, 3]));
        assert_eq!(rank_of(a.slice(s![.., ..;-2])), (vec![2, 2], vec![3, -2]));
        let v = vec![1.0, 2.0];
        assert_eq!(rank_of(&v), (vec![2], vec![1]));
        assert_eq!(rank_of(&v[..1]), (vec![1], vec![1]));
        let mut m = a.clone();
        assert_eq!(rank_of(&mut m), (vec![2, 3], vec![3, 1]));
        let r: &ArrayRef<f64, _> = &a;
        assert_eq!(rank_of(r), (vec![2, 3], vec![3, 1]));
        let view = a.view();
        let raw = RawOperand::new(&view);
        assert_eq!(raw.ptr(), a.as_ptr());
    }
}
