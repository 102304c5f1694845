//! What one call is, as every layer below the call site sees it: the
//! expression, its bound sizes and order cache ([`Call`]), and where its
//! result goes ([`Dest`]); or, for a matrix product the call site read,
//! its parts ([`Product`]).

use crate::order::OrderCache;
use crate::spec::Spec;

/// Allocates a call's result: given the output's shape, the first element's
/// address, with the strides written into the second argument (one per
/// axis), or `None` when the memory is refused.
pub type Alloc<'a, T> = dyn FnMut(&[usize], &mut [isize]) -> Option<*mut T> + 'a;

/// Where a call's result goes.
pub enum Dest<'a, T> {
    /// A new array: called once, with the output's shape, after every
    /// check; gives the first element's address and writes the strides
    /// (one per output axis) into its second argument, or gives `None` when
    /// the memory is refused. The address and strides must address a
    /// distinct element valid for writes for every index within the shape.
    New(&'a mut Alloc<'a, T>),
    /// An existing output of this shape and these strides, whose first
    /// element is at `ptr`: distinct elements, valid for writes, not
    /// overlapping any operand.
    Into {
        /// The first element.
        ptr: *mut T,
        /// The output's shape.
        shape: &'a [usize],
        /// The output's strides.
        strides: &'a [isize],
    },
    /// Windows over an existing array, added into (`beta` one): as
    /// [`Dest::Into`], but one element may be addressed from several
    /// indices (windows that overlap). Each is valid for reads and writes,
    /// and overlaps no operand.
    Windows {
        /// The first element.
        ptr: *mut T,
        /// The window view's shape.
        shape: &'a [usize],
        /// The window view's strides.
        strides: &'a [isize],
    },
}

/// What a call site gives besides its operands and its output: its
/// constant [`Spec`], the sizes bound with `; label = size`, its plan
/// cache, and the `alpha` and `beta` it was written with.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The expression.
    pub spec: &'a Spec,
    /// The sizes bound with `; label = size`, by label id.
    pub fixed: &'a [(u8, usize)],
    /// The call site's order cache (calls of three or more operands).
    pub cache: Option<&'a OrderCache>,
    /// `out ← alpha·result + beta·out`, when the call has `alpha` or
    /// `beta`; `None` is `out ← result`.
    pub scale: Option<Scale>,
}

/// The factors of `out ← alpha·result + beta·out`, and the reduction of
/// the result, with the element type erased: the addresses of two elements of the call's type, valid for
/// reads for the whole call. A `beta` equal to zero means `out` is never
/// read (BLAS's convention: a NaN there does not propagate).
#[derive(Clone, Copy)]
pub struct Scale {
    /// `alpha`.
    pub alpha: *const (),
    /// `beta`.
    pub beta: *const (),
    /// How the summed labels are reduced.
    pub reduce: Reduce,
}

/// How a call reduces its summed labels: each output element's products
/// summed (einsum), or their largest or smallest (`reduce = max`, `reduce
/// = min`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// The sum.
    Sum,
    /// The largest.
    Max,
    /// The smallest.
    Min,
}

// SAFETY: the two addresses are only read, for the call, whose tasks end
// before it returns; the element types are all `Sync`.
unsafe impl Send for Scale {}
// SAFETY: as above.
unsafe impl Sync for Scale {}

/// A two-operand contraction added into windows, read as a matrix product
/// whose rows, sums and columns are each any number of axes:
/// `W[rows, cols] += alpha · Σ_sums A[rows, sums] · B[sums, cols]`. Each
/// axis is its size and its strides in the two arrays it indexes.
#[derive(Clone, Copy)]
pub struct WindowProduct<'a> {
    /// The rows' axes: size, stride in the windows, stride in A.
    pub rows: &'a [(usize, isize, isize)],
    /// The summed axes: size, stride in A, stride in B.
    pub sums: &'a [(usize, isize, isize)],
    /// The columns' axes: size, stride in the windows, stride in B.
    pub cols: &'a [(usize, isize, isize)],
    /// The row axis whose indices go over the pool, when they address
    /// disjoint elements of the windows and the work is worth it.
    pub split: Option<usize>,
}

/// A (batched) matrix product `C[b, m, n] ← Σ_k A[b, m, k] · B[b, k, n]`
/// as the call site read it: the sizes of its parts, batch, M, K and N in
/// that order, and each array's first element and strides along them
/// (any value along a part it lacks: that stride is not stepped along).
#[derive(Clone, Copy)]
pub struct Product<T> {
    /// The sizes of batch, M, K and N.
    pub sizes: [usize; 4],
    /// A's first element and strides.
    pub a: *const T,
    /// See [`Product::a`].
    pub sa: [isize; 4],
    /// B's first element and strides.
    pub b: *const T,
    /// See [`Product::a`].
    pub sb: [isize; 4],
    /// C's first element and strides.
    pub c: *mut T,
    /// See [`Product::a`].
    pub sc: [isize; 4],
}

impl<T> Product<T> {
    /// The same product over elements of type `U` at the same addresses.
    pub fn cast<U>(self) -> Product<U> {
        Product {
            sizes: self.sizes,
            a: self.a.cast(),
            sa: self.sa,
            b: self.b.cast(),
            sb: self.sb,
            c: self.c.cast(),
            sc: self.sc,
        }
    }
}
