//! Checked accessors for the small-work path the macro emits.
//!
//! For an expression without `...`, the macro writes the whole loop nest at
//! the call site, one loop per label with the output's labels outside, so a
//! small contraction (a 4×4 matmul) costs what a hand-written loop costs:
//! no plan, no tables. The loops read and write through [`Small`] and
//! [`SmallOut`], whose shapes were compared with the label sizes up front;
//! their accessors check every index against that shape, a check the
//! compiler removes because the loop bounds are those very sizes. So the
//! emitted code is safe Rust, and compiles in crates that forbid `unsafe`.

use core::marker::PhantomData;

use ndarray::{Array, ArrayRef, Dimension};

use crate::operand::RawOperand;
use crate::scalar::Scalar;
use crate::tuning;

/// Whether work of these label sizes is small enough for the emitted loops
/// (their product, the number of multiply-adds, is at most
/// [`Thresholds::small_max_work`](crate::Thresholds)).
#[inline]
pub fn small_enough<const L: usize>(sizes: [usize; L]) -> bool {
    let limit = tuning::current().small_max_work;
    let mut work = 1usize;
    for s in sizes {
        match work.checked_mul(s) {
            Some(w) if w <= limit => work = w,
            // An empty axis makes no work at all.
            _ => return sizes.contains(&0),
        }
    }
    true
}

/// `Σ_r index[r] · strides[r]`, after checking `index[r] < shape[r]`.
///
/// # Panics
/// When `index` is outside the shape.
#[inline(always)]
fn checked_offset<const R: usize>(
    index: [usize; R],
    shape: &[usize; R],
    strides: &[isize; R],
) -> isize {
    let mut offset = 0isize;
    for ((&i, &n), &s) in index.iter().zip(shape).zip(strides) {
        if i >= n {
            out_of_bounds();
        }
        offset = offset.wrapping_add((i as isize).wrapping_mul(s));
    }
    offset
}

#[cold]
#[inline(never)]
fn out_of_bounds() -> ! {
    panic!("einsum: index out of bounds")
}

/// A read-only operand of exactly `R` axes, read at checked indices.
#[derive(Clone, Copy)]
pub struct Small<'a, T, const R: usize> {
    ptr: *const T,
    shape: [usize; R],
    strides: [isize; R],
    _marker: PhantomData<&'a T>,
}

impl<'a, T: Scalar> RawOperand<'a, T> {
    /// The operand as [`Small`], if it has `R` axes.
    #[inline(always)]
    pub fn small<const R: usize>(&self) -> Option<Small<'a, T, R>> {
        Some(Small {
            ptr: self.ptr(),
            shape: self.shape().try_into().ok()?,
            strides: self.strides().try_into().ok()?,
            _marker: PhantomData,
        })
    }
}

impl<T: Scalar, const R: usize> Small<'_, T, R> {
    /// The operand's lengths.
    #[inline(always)]
    pub fn shape(&self) -> [usize; R] {
        self.shape
    }

    /// The element at `index`.
    ///
    /// # Panics
    /// When `index` is outside the shape.
    #[inline(always)]
    pub fn get(&self, index: [usize; R]) -> T {
        let offset = checked_offset(index, &self.shape, &self.strides);
        // SAFETY: the index is within the shape (checked above) of a live
        // view whose strides these are, so the element is valid.
        unsafe { *self.ptr.wrapping_offset(offset) }
    }
}

/// The output of the emitted loops: a new array, or the caller's, of exactly
/// `R` axes, written at checked indices.
pub struct SmallOut<'a, T, D: Dimension, const R: usize> {
    target: Target<'a, T, D>,
    ptr: *mut T,
    shape: [usize; R],
    strides: [isize; R],
}

enum Target<'a, T, D: Dimension> {
    Owned(Array<T, D>),
    Borrowed(PhantomData<&'a mut ArrayRef<T, D>>),
}

impl<T: Scalar, D: Dimension, const R: usize> SmallOut<'static, T, D, R> {
    /// A new array of `shape`, in standard order, filled with zeros.
    #[inline(always)]
    pub fn new(shape: [usize; R]) -> Self {
        let mut dim = D::zeros(R);
        dim.slice_mut().copy_from_slice(&shape);
        let mut array = Array::from_elem(dim, T::zero());
        let ptr = array.as_mut_ptr();
        let strides = array.strides().try_into().expect("R axes");
        SmallOut {
            target: Target::Owned(array),
            ptr,
            shape,
            strides,
        }
    }

    /// The new array.
    #[inline(always)]
    pub fn finish(self) -> Array<T, D> {
        match self.target {
            Target::Owned(array) => array,
            Target::Borrowed(_) => unreachable!("made by SmallOut::new"),
        }
    }
}

impl<'a, T: Scalar, D: Dimension, const R: usize> SmallOut<'a, T, D, R> {
    /// The caller's output, if it has exactly `shape`.
    #[inline(always)]
    pub fn borrow(out: &'a mut ArrayRef<T, D>, shape: [usize; R]) -> Option<Self> {
        if out.shape() != shape {
            return None;
        }
        let strides = out.strides().try_into().ok()?;
        Some(SmallOut {
            target: Target::Borrowed(PhantomData),
            ptr: out.as_mut_ptr(),
            shape,
            strides,
        })
    }

    /// Writes `value` at `index`.
    ///
    /// # Panics
    /// When `index` is outside the shape.
    #[inline(always)]
    pub fn set(&mut self, index: [usize; R], value: T) {
        let offset = checked_offset(index, &self.shape, &self.strides);
        // SAFETY: the index is within the shape (checked above) of an array
        // this value holds uniquely (owned, or borrowed `&mut` for 'a), so
        // the element is valid for writes.
        unsafe { self.ptr.wrapping_offset(offset).write(value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr2, s, Array2, Ix2};

    #[test]
    fn reads_and_writes_through_strides() {
        let a = arr2(&[[1, 2, 3], [4, 5, 6]]);
        let t = a.t();
        let raw = RawOperand::from_array(&t);
        assert!(raw.small::<3>().is_none());
        let small = raw.small::<2>().unwrap();
        assert_eq!(small.shape(), [3, 2]);
        assert_eq!(small.get([2, 1]), 6);
        let mut out = SmallOut::<i32, Ix2, 2>::new([2, 2]);
        out.set([1, 0], 7);
        assert_eq!(out.finish(), arr2(&[[0, 0], [7, 0]]));
        let mut big = Array2::<i32>::zeros((4, 4));
        let mut view = big.slice_mut(s![..;2, ..;-2]);
        assert!(SmallOut::<i32, Ix2, 2>::borrow(&mut view, [2, 3]).is_none());
        let mut out = SmallOut::<i32, Ix2, 2>::borrow(&mut view, [2, 2]).unwrap();
        out.set([1, 1], 9);
        assert_eq!(big[[2, 1]], 9);
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn indices_are_checked() {
        let a = arr2(&[[1, 2], [3, 4]]);
        let raw = RawOperand::from_array(&a);
        raw.small::<2>().unwrap().get([0, 2]);
    }

    #[test]
    fn small_enough_counts_the_work() {
        let limit = tuning::Thresholds::DEFAULT.small_max_work;
        assert!(small_enough([4, 4, 4]));
        assert!(!small_enough([limit, 2]));
        assert!(small_enough([0, usize::MAX, usize::MAX]));
        assert!(small_enough::<0>([]));
    }
}
