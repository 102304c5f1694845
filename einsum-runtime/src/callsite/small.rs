//! Checked accessors for the small-work path the macro emits.
//!
//! For an expression without `...`, the macro writes the whole loop nest at
//! the call site, one loop per label with the output's labels outside, so a
//! small contraction (a 4×4 matmul) costs what a hand-written loop costs:
//! no plan, no tables. The loops read and write through [`Small`] and
//! [`SmallOut`], whose shapes were compared with the label sizes up front,
//! and which exist only for shapes with no empty axis. Their accessors keep
//! every index inside that shape by clamping it to the last position: the
//! loops never pass an index past the end (their bounds are the very
//! sizes), and a clamp, unlike a branch to a panic, does not keep the
//! compiler from unrolling and vectorizing the loops when it fails to prove
//! that. Debug builds assert instead. So the emitted code is safe Rust, and
//! compiles in crates that forbid `unsafe`.

use core::marker::PhantomData;

use ndarray::{Array, ArrayRef, Dimension};

use crate::element::Scalar;
use crate::operand::RawOperand;
use crate::tuning;

/// Whether work of these label sizes is small enough for the emitted loops
/// (their product, the number of multiply-adds, is at most
/// [`Thresholds::small_max_work`](crate::Thresholds)).
#[inline]
pub fn small_enough<const L: usize>(sizes: [usize; L]) -> bool {
    // Saturating, so an overflow stays too large, and an empty axis makes no
    // work at all. No early exit: a branch here would split the emitted
    // loops' paths and keep the compiler from seeing their bounds.
    let work = sizes.iter().fold(1usize, |w, &s| w.saturating_mul(s));
    work <= tuning::current().small_max_work
}

/// `Σ_r index[r] · strides[r]`, with each `index[r]` clamped to
/// `shape[r] - 1` so that the offset addresses an element of the shape.
///
/// `shape` has no zero length (the constructors refuse one).
#[inline(always)]
pub(crate) fn clamped_offset<const R: usize>(
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
    pub(crate) ptr: *const T,
    pub(crate) shape: [usize; R],
    pub(crate) strides: [isize; R],
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
    /// A new array of `shape`, in standard order, filled with zeros, if no
    /// length is zero (and the allocator gives the memory).
    #[inline(always)]
    pub fn new(shape: [usize; R]) -> Option<Self> {
        if shape.contains(&0) {
            return None;
        }
        // (Made out of line, once for each element and dimension type.)
        let mut array = crate::alloc::zeroed::<T, D>(&shape)?;
        let ptr = array.as_mut_ptr();
        // Row-major strides, worked out here so that the compiler knows
        // them (the innermost is 1), and checked against the array's own.
        let mut strides = [1isize; R];
        for r in (1..R).rev() {
            strides[r - 1] = strides[r].wrapping_mul(shape[r] as isize);
        }
        assert!(
            array.strides() == strides,
            "einsum: a new array is in standard order"
        );
        Some(SmallOut {
            target: Target::Owned(array),
            ptr,
            shape,
            strides,
        })
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
    /// The caller's output, if it has exactly `shape` and no length is zero.
    #[inline(always)]
    pub fn borrow(out: &'a mut ArrayRef<T, D>, shape: [usize; R]) -> Option<Self> {
        if out.shape() != shape || shape.contains(&0) {
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

    /// Writes `value` at `index` (each index clamped to its axis).
    ///
    /// # Panics
    /// In debug builds, when `index` is outside the shape.
    #[inline(always)]
    pub fn set(&mut self, index: [usize; R], value: T) {
        let offset = clamped_offset(index, &self.shape, &self.strides);
        // SAFETY: the clamped index is within the shape, which has no empty
        // axis (checked in `new` and `borrow`), of an array this value holds
        // uniquely (owned, or borrowed `&mut` for 'a), so the element is
        // valid for writes.
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
        assert!(raw.shape_of::<3>().is_none());
        assert_eq!(raw.shape_of::<2>(), Some([3, 2]));
        assert!(raw.small([3, 3]).is_none());
        let small = raw.small([3, 2]).unwrap();
        assert_eq!(small.get([2, 1]), 6);
        let mut out = SmallOut::<i32, Ix2, 2>::new([2, 2]).unwrap();
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
    fn empty_shapes_are_refused() {
        let a = Array2::<i32>::zeros((2, 0));
        let raw = RawOperand::from_array(&a);
        assert_eq!(raw.shape_of::<2>(), Some([2, 0]));
        assert!(raw.small([2, 0]).is_none());
        assert!(SmallOut::<i32, Ix2, 2>::new([0, 3]).is_none());
        let mut b = Array2::<i32>::zeros((0, 3));
        assert!(SmallOut::<i32, Ix2, 2>::borrow(&mut b, [0, 3]).is_none());
    }

    /// Debug builds catch an index past the end.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "index out of bounds")]
    fn indices_are_checked_in_debug_builds() {
        let a = arr2(&[[1, 2], [3, 4]]);
        let raw = RawOperand::from_array(&a);
        raw.small([2, 2]).unwrap().get([0, 2]);
    }

    /// Release builds clamp it: never a read or write outside the array.
    #[test]
    #[cfg(not(debug_assertions))]
    fn indices_are_clamped_in_release_builds() {
        let a = arr2(&[[1, 2], [3, 4]]);
        let raw = RawOperand::from_array(&a);
        assert_eq!(raw.small([2, 2]).unwrap().get([0, 7]), 2);
        assert_eq!(raw.small([2, 2]).unwrap().get([9, 9]), 4);
        let mut out = Array2::<i32>::zeros((2, 2));
        SmallOut::<i32, Ix2, 2>::borrow(&mut out, [2, 2])
            .unwrap()
            .set([5, 0], 1);
        assert_eq!(out, arr2(&[[0, 0], [1, 0]]));
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
