//! Row kernels: what the macro emits for expressions with fixed sizes.
//!
//! When labels are bound to sizes (`; i = 3, j = 3`), the macro writes the
//! expression's own kernel at the call site, one output row at a time: the
//! last output label runs innermost, over rows of unit stride, and the bound
//! labels that are summed are unrolled into straight-line multiply-adds per
//! output element (`out[x][y] = Σ k[i][j] · w[x][y][i][j]` as nine of them).
//! This module holds what that kernel stands on:
//!
//! - [`Lines`], an operand whose axis `A` has unit stride, read one row of
//!   that axis at a time as a slice;
//! - [`RowsOut`], the output, written one row at a time;
//! - [`RowKernel`], the trait the emitted kernel implements, and
//!   [`run_rows_new`] and [`run_rows_into`], which build it for this CPU's
//!   widest instruction set (the emitted code is generic over the build, so
//!   each build inlines its own copy) and spread large work over the rayon
//!   pool, split along the output's first axis.
//!
//! All of it is safe to call: rows are slices whose bounds are checked where
//! they are made, indices are clamped as [`Small`]'s are, and a shape or
//! stride that does not fit gives `None`, so that the call site falls back to
//! the run-time kernels, which report any error.

use core::marker::PhantomData;

use ndarray::{Array, ArrayRef, Dimension};

use crate::alloc;
use einsum_core::support::{
    clamped_offset, for_each_task, mark, pool_threads, thresholds, KernelPath,
};
use einsum_core::Scalar;

/// Whether output rows of `len` elements are long enough for a row kernel
/// (checked at the call site before the kernel is set up).
#[inline]
pub fn rows_fit(len: usize) -> bool {
    len >= thresholds().rows_min_len
}

/// `acc + a · b`: one fused multiply-add in the builds with FMA
/// instructions (`B > 0`), a multiply and an add in the baseline.
#[inline(always)]
pub fn madd<const B: u8, T: Scalar>(acc: T, a: T, b: T) -> T {
    if B > 0 {
        acc.fused_add(a, b)
    } else {
        acc.add(a.mul(b))
    }
}

/// The output of a [`RowKernel`]: a part of the result of `R` axes whose
/// last axis has unit stride, rows `first..` of its first axis.
pub struct RowsOut<'a, T, const R: usize> {
    ptr: *mut T,
    shape: [usize; R],
    strides: [isize; R],
    first: usize,
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T: Scalar, const R: usize> RowsOut<'a, T, R> {
    /// `out`, whose first axis starts at row `first` of the result, if it has
    /// `R > 0` axes, none empty, and its last of unit stride (or length 1).
    fn new<D: Dimension>(out: &'a mut ArrayRef<T, D>, first: usize) -> Option<Self> {
        let shape: [usize; R] = out.shape().try_into().ok()?;
        let strides: [isize; R] = out.strides().try_into().ok()?;
        let last = R.checked_sub(1)?;
        if shape.contains(&0) || (strides[last] != 1 && shape[last] != 1) {
            return None;
        }
        Some(RowsOut {
            ptr: out.as_mut_ptr(),
            shape,
            strides,
            first,
            _marker: PhantomData,
        })
    }

    /// The row at `index` (its last entry ignored, its first counted from
    /// row 0 of the whole result), its first `n` elements.
    ///
    /// # Panics
    /// If the row is shorter than `n`; the emitted kernels ask for exactly
    /// the row's length.
    #[inline(always)]
    fn row(&mut self, mut index: [usize; R], n: usize) -> &mut [T] {
        index[0] = index[0].wrapping_sub(self.first);
        index[R - 1] = 0;
        let offset = clamped_offset(index, &self.shape, &self.strides);
        // SAFETY: the clamped index is within the shape, which has no empty
        // axis (checked in `new`), so the offset addresses the first element
        // of a row, whose `shape[R - 1]` elements follow it at unit stride
        // (checked in `new`); they are distinct elements of an array
        // borrowed uniquely for 'a, and the slice borrows `self` uniquely.
        let row = unsafe {
            core::slice::from_raw_parts_mut(self.ptr.wrapping_offset(offset), self.shape[R - 1])
        };
        &mut row[..n]
    }

    /// Sets the first `n` elements of the row at `index` to `f(y)`, `y` in
    /// `0..n`.
    #[inline(always)]
    pub fn set_row(&mut self, index: [usize; R], n: usize, mut f: impl FnMut(usize) -> T) {
        for (y, x) in self.row(index, n).iter_mut().enumerate() {
            *x = f(y);
        }
    }
}

/// A kernel the macro wrote for one expression with fixed sizes.
pub trait RowKernel<T: Scalar, const R: usize>: Sync {
    /// Writes every output element whose first index is in `lo..hi` (the
    /// whole output when `R` is 1, with `lo..hi` = `0..1`), built for
    /// instruction set `B` (see [`madd`]).
    fn rows<const B: u8>(&self, out: &mut RowsOut<'_, T, R>, lo: usize, hi: usize);
}

#[inline(always)]
unsafe fn rows_body<T: Scalar, K: RowKernel<T, R>, const R: usize, const B: u8>(
    kernel: &K,
    out: &mut RowsOut<'_, T, R>,
    lo: usize,
    hi: usize,
) {
    kernel.rows::<B>(out, lo, hi);
}

einsum_core::multiversion! {
    /// Runs the kernel's build for this CPU.
    ///
    /// # Safety
    /// None beyond the signature: `rows` is safe.
    unsafe fn rows_built<T: Scalar, K: RowKernel<T, R>; const R: usize>(
        kernel: &K,
        out: &mut RowsOut<'_, T, R>,
        lo: usize,
        hi: usize,
    ) => rows_body;
}

impl<T, const R: usize> RowsOut<'_, T, R> {
    /// Rows `lo..hi` of the first axis (of this whole output, `first` 0),
    /// as an output of their own.
    ///
    /// # Safety
    /// `lo < hi <= shape[0]`, and no other output of these rows (a part or
    /// `self`) is written while the part lives.
    unsafe fn part(&self, lo: usize, hi: usize) -> RowsOut<'_, T, R> {
        debug_assert!(self.first == 0 && lo < hi && hi <= self.shape[0]);
        let mut shape = self.shape;
        shape[0] = hi - lo;
        RowsOut {
            // In bounds: `lo` is a row of this output.
            ptr: self
                .ptr
                .wrapping_offset((lo as isize).wrapping_mul(self.strides[0])),
            shape,
            strides: self.strides,
            first: lo,
            _marker: PhantomData,
        }
    }
}

/// The whole output, shared by the tasks of one call, each of which writes
/// its own rows through [`RowsOut::part`].
struct Shared<'a, T, const R: usize>(RowsOut<'a, T, R>);

// SAFETY: the tasks only make disjoint parts of the output (distinct row
// ranges of its first axis, whose elements are distinct) and write `T`s,
// which are `Send`.
unsafe impl<T: Send, const R: usize> Sync for Shared<'_, T, R> {}

/// Runs `kernel` into `out`: on one thread, or split along the first axis
/// into parts for the pool when the work (the product of the label sizes)
/// is large enough.
fn write_rows<T: Scalar, D: Dimension, K: RowKernel<T, R>, const R: usize, const L: usize>(
    kernel: &K,
    out: &mut ArrayRef<T, D>,
    sizes: [usize; L],
) -> Option<()> {
    // Checked here, before any part is written: an output that does not fit
    // is left untouched for the run-time kernels.
    let mut whole = RowsOut::<T, R>::new(out, 0)?;
    let t = thresholds();
    let work = sizes.iter().fold(1usize, |w, &s| w.saturating_mul(s));
    let threads = pool_threads();
    // A one-axis output is one row: never split.
    let rows = if R > 1 { whole.shape[0] } else { 1 };
    let tasks = if R > 1 && threads > 1 && work >= t.parallel_min_work {
        (4 * threads).min(rows)
    } else {
        1
    };
    mark(KernelPath::Rows);
    if tasks <= 1 {
        // SAFETY: `rows_built` has no safety requirement of its own.
        unsafe { rows_built(kernel, &mut whole, 0, rows) };
        return Some(());
    }
    mark(KernelPath::RowsSplit);
    let shared = &Shared(whole);
    // One build of the split for every call site: the call site's kernel
    // is reached through a reference.
    for_each_task(tasks, &|task| {
        let (lo, hi) = (rows * task / tasks, rows * (task + 1) / tasks);
        if lo < hi {
            // SAFETY: `lo < hi <= rows`; the tasks' row ranges are
            // disjoint, and `whole` is only read while they run.
            let mut part = unsafe { shared.0.part(lo, hi) };
            // SAFETY: `rows_built` has no safety requirement of its own.
            unsafe { rows_built(kernel, &mut part, lo, hi) };
        }
    });
    Some(())
}

/// Runs `kernel` into a new array of `shape` (of dimension type `D`), or
/// `None` if its size overflows `isize` or the allocator refuses it (the
/// run-time path then reports it).
#[inline(never)]
pub fn run_rows_new<T: Scalar, D: Dimension, K: RowKernel<T, R>, const R: usize, const L: usize>(
    kernel: &K,
    shape: [usize; R],
    sizes: [usize; L],
) -> Option<Array<T, D>> {
    // Zeros (fresh pages from the allocator) rather than uninitialized
    // memory: whether the emitted loops write every element is the macro's
    // business, not something this function can check.
    let mut out = alloc::zeroed::<T, D>(&shape)?;
    write_rows(kernel, &mut out, sizes)?;
    Some(out)
}

/// Runs `kernel` into the caller's `out`, or returns `None`, with `out`
/// untouched, if `out` is not of `shape` or its last axis is not of unit
/// stride.
#[inline(never)]
pub fn run_rows_into<
    T: Scalar,
    D: Dimension,
    K: RowKernel<T, R>,
    const R: usize,
    const L: usize,
>(
    kernel: &K,
    out: &mut ArrayRef<T, D>,
    shape: [usize; R],
    sizes: [usize; L],
) -> Option<()> {
    if out.shape() != shape {
        return None;
    }
    write_rows(kernel, out, sizes)
}
