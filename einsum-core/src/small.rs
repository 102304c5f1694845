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
    let term = |r: usize| {
        let (i, n) = (index[r], shape[r]);
        debug_assert!(i < n, "einsum: index out of bounds");
        (i.min(n - 1) as isize).wrapping_mul(strides[r])
    };
    // The terms written out rather than a loop over `r`: the compiler
    // unrolls such a loop only after its passes that prove `i < n` inside
    // the emitted `for i in 0..n` and drop the clamp, so the clamps stayed.
    match R {
        1 => term(0),
        2 => term(0).wrapping_add(term(1)),
        3 => term(0).wrapping_add(term(1)).wrapping_add(term(2)),
        4 => (term(0).wrapping_add(term(1))).wrapping_add(term(2).wrapping_add(term(3))),
        _ => (0..R).fold(0isize, |offset, r| offset.wrapping_add(term(r))),
    }
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

#[cfg(test)]
mod tests {
    use super::clamped_offset;

    /// Every rank's written-out arm against the plain sum, indices inside
    /// the shape and past it.
    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "debug builds assert on the indices past the shape"
    )]
    fn offsets_clamp_each_index_at_every_rank() {
        fn check<const R: usize>() {
            let shape: [usize; R] = core::array::from_fn(|r| r + 2);
            let strides: [isize; R] = core::array::from_fn(|r| [7, -3, 1, 11, 5, -2][r]);
            for seed in 0..50usize {
                let index: [usize; R] = core::array::from_fn(|r| (seed * (r + 3) + r) % (r + 5));
                let plain: isize = (0..R)
                    .map(|r| index[r].min(shape[r] - 1) as isize * strides[r])
                    .sum();
                assert_eq!(clamped_offset(index, &shape, &strides), plain, "{index:?}");
            }
        }
        check::<1>();
        check::<2>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<6>();
    }
}
