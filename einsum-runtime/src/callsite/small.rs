//! Checked accessors for the small-work path the macro emits.
//!
//! For an expression without `...`, the macro writes the whole loop nest at
//! the call site, one loop per label with the output's labels outside, so a
//! small contraction (a 4×4 matmul) costs what a hand-written loop costs:
//! no plan, no tables. The loops read through `einsum_core`'s `Small` and write through
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

use einsum_core::support::{clamped_offset, thresholds};
use einsum_core::Scalar;

use crate::operand::Blended;

/// Whether work of these label sizes is small enough for the emitted loops
/// (their product, the number of multiply-adds, is at most
/// [`Thresholds::small_max_work`](crate::Thresholds)).
#[inline]
pub fn small_enough<const L: usize>(sizes: [usize; L]) -> bool {
    // Saturating, so an overflow stays too large, and an empty axis makes no
    // work at all. No early exit: a branch here would split the emitted
    // loops' paths and keep the compiler from seeing their bounds.
    let work = sizes.iter().fold(1usize, |w, &s| w.saturating_mul(s));
    work <= thresholds().small_max_work
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

    /// The caller's output of a call with `alpha` or `beta`, if it is an
    /// array (windows are left to the run-time path) of exactly `shape` with
    /// no length zero.
    #[inline(always)]
    pub fn blended(out: &'a mut Blended<'_, T, D>, shape: [usize; R]) -> Option<Self> {
        match out {
            Blended::Array(out) => Self::borrow(out, shape),
            Blended::Windows(_) => None,
        }
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

    /// Writes `alpha · value + beta · old` at `index` (each index clamped
    /// to its axis), `old` the element there, not read when `beta` is zero.
    ///
    /// # Panics
    /// In debug builds, when `index` is outside the shape.
    #[inline(always)]
    pub fn blend(&mut self, index: [usize; R], value: T, alpha: T, beta: T) {
        let offset = clamped_offset(index, &self.shape, &self.strides);
        let at = self.ptr.wrapping_offset(offset);
        // SAFETY: as in `set`; an element of an array is initialized, so
        // valid for reads too.
        unsafe {
            if beta == T::zero() {
                at.write(alpha.mul(value))
            } else {
                at.write(alpha.mul(value).add(beta.mul(at.read())))
            }
        }
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
        let raw = crate::operand::from_array(&t);
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
        let raw = crate::operand::from_array(&a);
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
        let raw = crate::operand::from_array(&a);
        raw.small([2, 2]).unwrap().get([0, 2]);
    }

    /// Release builds clamp it: never a read or write outside the array.
    #[test]
    #[cfg(not(debug_assertions))]
    fn indices_are_clamped_in_release_builds() {
        let a = arr2(&[[1, 2], [3, 4]]);
        let raw = crate::operand::from_array(&a);
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
        let limit = einsum_core::support::Thresholds::DEFAULT.small_max_work;
        assert!(small_enough([4, 4, 4]));
        assert!(!small_enough([limit, 2]));
        assert!(small_enough([0, usize::MAX, usize::MAX]));
        assert!(small_enough::<0>([]));
    }
}
