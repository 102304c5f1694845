//! Operand adapters: everything an einsum operand may be, seen as a strided
//! view read in place.

use core::marker::PhantomData;

use einsum_core::RawOperand;
use ndarray::{ArrayBase, ArrayRef, Data, DataMut, Dimension, Ix1};

/// A value that can be an einsum operand: it lends its elements, shape and
/// strides in place, without copying or allocating.
///
/// Implemented for arrays and views of any storage and strides
/// ([`ArrayBase`] with `S: Data`, [`ArrayRef`]), for slices, arrays and
/// vectors (as 1-d operands), and for shared and mutable references to any of
/// these.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an einsum operand",
    label = "not an array, a view, a slice or a Vec",
    note = "operands are `&ArrayBase<S, D>`, `ArrayView`, `ArrayViewMut`, `Array` by value, `&[T]`, `&[T; N]` or `&Vec<T>`"
)]
pub trait Operand {
    /// The element type.
    type Elem;
    /// The dimension type, which gives the rank when it is static.
    type Dim: Dimension;
    /// The operand's elements, borrowed in place.
    fn einsum_operand(&self) -> RawOperand<'_, Self::Elem>;
}

impl<A, S, D> Operand for ArrayBase<S, D>
where
    S: Data<Elem = A>,
    D: Dimension,
{
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, A> {
        from_array(self)
    }
}

impl<A, D: Dimension> Operand for ArrayRef<A, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, A> {
        from_array(self)
    }
}

impl<A> Operand for [A] {
    type Elem = A;
    type Dim = Ix1;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, A> {
        RawOperand::from_slice(self)
    }
}

impl<A, const N: usize> Operand for [A; N] {
    type Elem = A;
    type Dim = Ix1;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, A> {
        RawOperand::from_slice(self)
    }
}

impl<A> Operand for Vec<A> {
    type Elem = A;
    type Dim = Ix1;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, A> {
        RawOperand::from_slice(self)
    }
}

impl<O: Operand + ?Sized> Operand for &O {
    type Elem = O::Elem;
    type Dim = O::Dim;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, O::Elem> {
        (**self).einsum_operand()
    }
}

impl<O: Operand + ?Sized> Operand for &mut O {
    type Elem = O::Elem;
    type Dim = O::Dim;
    #[inline]
    fn einsum_operand(&self) -> RawOperand<'_, O::Elem> {
        (**self).einsum_operand()
    }
}

/// A value that can receive an einsum's result in place: `&mut` an array or a
/// mutable view, of any strides.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive an einsum result",
    label = "expected `&mut` an array or a mutable view",
    note = "the output of `einsum_into!` is `&mut ArrayBase<S, D>` with `S: DataMut`, such as `&mut Array2<f64>` or `&mut ArrayViewMut2<f64>`",
    note = "windows from `windows2_mut`, `windows_nhwc_mut` or `sliding_window_view_mut` are added into: write `beta = 1.0` (`beta = 1` for integers)"
)]
pub trait OutputOperand<'a> {
    /// The element type.
    type Elem;
    /// The dimension type.
    type Dim: Dimension;
    /// The output's elements, borrowed uniquely and in place.
    fn einsum_output(self) -> &'a mut ArrayRef<Self::Elem, Self::Dim>;
}

impl<'a, A, S, D> OutputOperand<'a> for &'a mut ArrayBase<S, D>
where
    S: DataMut<Elem = A>,
    D: Dimension,
{
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_output(self) -> &'a mut ArrayRef<A, D> {
        self
    }
}

impl<'a, A, D: Dimension> OutputOperand<'a> for &'a mut ArrayRef<A, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_output(self) -> &'a mut ArrayRef<A, D> {
        self
    }
}

/// Windows over an array, to add an einsum's result into: the destination
/// of `einsum_into!` with `beta = 1.0` that scatter-adds, each element of
/// the window view added into the element of the array it views, so that
/// overlapping windows add up (numpy: `np.add.at` through `as_strided`
/// windows). Made by `windows2_mut`, `windows_nhwc_mut` and
/// `sliding_window_view_mut`, with the shape and axis order of their
/// read-only counterparts.
///
/// Not an `ArrayViewMut`: its elements overlap, which a mutable view must
/// not. It can only be an einsum's destination, by value or `&mut`.
pub struct WindowsMut<'a, A, D> {
    ptr: *mut A,
    shape: Vec<usize>,
    strides: Vec<isize>,
    life: PhantomData<(&'a mut A, D)>,
}

impl<'a, A, D: Dimension> WindowsMut<'a, A, D> {
    /// A window view at `ptr` of this shape and strides.
    ///
    /// # Safety
    /// Every index within the shape addresses an element valid for reads
    /// and writes, borrowed uniquely for `'a` (several indices may address
    /// one element). `shape` has `D`'s rank when `D` has a fixed one.
    pub(crate) unsafe fn from_parts(ptr: *mut A, shape: Vec<usize>, strides: Vec<isize>) -> Self {
        WindowsMut {
            ptr,
            shape,
            strides,
            life: PhantomData,
        }
    }

    /// The window view's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The same windows, borrowed for a shorter time.
    pub fn reborrow(&mut self) -> WindowsMut<'_, A, D> {
        WindowsMut {
            ptr: self.ptr,
            shape: self.shape.clone(),
            strides: self.strides.clone(),
            life: PhantomData,
        }
    }

    /// The first element, the shape and the strides, for the run-time
    /// path.
    pub(crate) fn parts(&mut self) -> (*mut A, &[usize], &[isize]) {
        (self.ptr, &self.shape, &self.strides)
    }
}

/// Where a call with `alpha` or `beta` puts its result: an array it
/// blends into, or windows it adds into.
pub enum Blended<'a, A, D> {
    /// `&mut` an array or a mutable view.
    Array(&'a mut ArrayRef<A, D>),
    /// Windows over an array ([`WindowsMut`]).
    Windows(WindowsMut<'a, A, D>),
}

/// A value that can receive, in place, the result of a call with `alpha`
/// or `beta`: what [`OutputOperand`] takes, and [`WindowsMut`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot receive an einsum result",
    label = "expected `&mut` an array, a mutable view, or windows from `windows2_mut`, `windows_nhwc_mut` or `sliding_window_view_mut`",
    note = "the output of `einsum_into!` is `&mut ArrayBase<S, D>` with `S: DataMut`, such as `&mut Array2<f64>`, or, with `beta = 1.0`, a `WindowsMut`"
)]
pub trait BlendOutput<'a> {
    /// The element type.
    type Elem;
    /// The dimension type.
    type Dim: Dimension;
    /// The destination, borrowed uniquely and in place.
    fn einsum_blended(self) -> Blended<'a, Self::Elem, Self::Dim>;
}

impl<'a, O: OutputOperand<'a>> BlendOutput<'a> for O {
    type Elem = O::Elem;
    type Dim = O::Dim;
    #[inline]
    fn einsum_blended(self) -> Blended<'a, O::Elem, O::Dim> {
        Blended::Array(self.einsum_output())
    }
}

impl<'a, A, D: Dimension> BlendOutput<'a> for WindowsMut<'a, A, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_blended(self) -> Blended<'a, A, D> {
        Blended::Windows(self)
    }
}

impl<'a, 'b, A, D: Dimension> BlendOutput<'a> for &'a mut WindowsMut<'b, A, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn einsum_blended(self) -> Blended<'a, A, D> {
        Blended::Windows(self.reborrow())
    }
}

/// Borrows `array`'s elements, shape and strides.
#[inline]
pub fn from_array<T, D: Dimension>(array: &ArrayRef<T, D>) -> RawOperand<'_, T> {
    // SAFETY: an array's own pointer, shape and strides address its
    // elements, borrowed (shared) for the lifetime of the reference.
    unsafe { RawOperand::from_parts(array.as_ptr(), array.shape(), array.strides()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr2, s, Array2};

    fn layout_of<O: Operand>(o: O) -> (Vec<usize>, Vec<isize>) {
        let r = o.einsum_operand();
        (r.shape().to_vec(), r.strides().to_vec())
    }

    #[test]
    fn every_operand_kind_lends_its_elements_in_place() {
        let a: Array2<f64> = arr2(&[[1., 2., 3.], [4., 5., 6.]]);
        assert_eq!(layout_of(&a), (vec![2, 3], vec![3, 1]));
        assert_eq!(layout_of(a.t()), (vec![3, 2], vec![1, 3]));
        assert_eq!(layout_of(a.slice(s![.., ..;-2])), (vec![2, 2], vec![3, -2]));
        let v = vec![1.0, 2.0];
        assert_eq!(layout_of(&v), (vec![2], vec![1]));
        assert_eq!(layout_of(&v[..1]), (vec![1], vec![1]));
        assert_eq!(layout_of([1, 2, 3]), (vec![3], vec![1]));
        let mut m = a.clone();
        assert_eq!(layout_of(&mut m), (vec![2, 3], vec![3, 1]));
        let r: &ArrayRef<f64, _> = &a;
        assert_eq!(layout_of(r), (vec![2, 3], vec![3, 1]));
        assert_eq!(a.einsum_operand().ptr(), a.as_ptr());
        assert_eq!(v.einsum_operand().ptr(), v.as_ptr());
    }
}
