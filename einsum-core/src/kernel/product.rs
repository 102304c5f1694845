//! A (batched) matrix product read from the expression at the call site,
//! run straight in `gemm`: work too large for the call site's loops and
//! too small for the run-time path's planning (a few hundred nanoseconds)
//! to pay.
//!
//! The parts are the call site's: `C[b, m, n] ← Σ_k A[b, m, k] · B[b, k, n]`
//! with at most one label each, their sizes and every operand's strides
//! along them given as they are.

use super::gemm::{contract_matrix, gemm_strided};
use super::matrix::{Dim, Matrix};
use crate::desc::Product;
use crate::element::Scalar;
use crate::trace::{mark, KernelPath};
use crate::tuning;

/// The parts of a product, in this order in every array below.
pub const BATCH: usize = 0;
/// See [`BATCH`].
pub const M: usize = 1;
/// See [`BATCH`].
pub const K: usize = 2;
/// See [`BATCH`].
pub const N: usize = 3;

/// Whether a product of `work` multiply-adds into `outputs` elements of C
/// over `batch` batch indices, over `T`, runs here: a type `gemm` has (any
/// type under Miri, which runs the plain loop below instead), work up to
/// [`Thresholds::product_max_work`](crate::support::Thresholds), and, for
/// work the call site's loops take, a lower cost here than theirs.
#[inline]
pub fn product_pays<T: Scalar>(work: usize, outputs: usize, batch: usize) -> bool {
    let t = tuning::current();
    (T::IN_GEMM || cfg!(miri))
        && work <= t.product_max_work
        && (work > t.small_max_work || loops_cost(work, outputs) > own_cost(batch))
}

/// The call site's loops' time for a product, in picoseconds.
fn loops_cost(work: usize, outputs: usize) -> usize {
    let c = tuning::COSTS;
    outputs
        .saturating_mul(c.loops_per_output)
        .saturating_add(work.saturating_mul(c.loops_per_madd))
}

/// This path's time before the multiply-adds, in picoseconds.
fn own_cost(batch: usize) -> usize {
    let c = tuning::COSTS;
    batch
        .saturating_mul(c.product_per_call)
        .saturating_add(c.product_once)
}

/// The product `p` on the calling thread: the run-time path's GEMM
/// kernels, or one `gemm` call per batch index.
///
/// # Safety
/// Every size is at least 1; `T` is one of `gemm`'s types, or this is
/// Miri (as [`product_pays`] checks). For every index
/// `(b, m, k, n)` within `sizes`, `a` offset by `b·sa[BATCH] + m·sa[M] +
/// k·sa[K]` is an element valid for reads, `b` offset by `b·sb[BATCH] +
/// k·sb[K] + n·sb[N]` too, and `c` offset by `b·sc[BATCH] + m·sc[M] +
/// n·sc[N]` an element valid for writes, distinct `(b, m, n)` distinct
/// elements of C, C overlapping neither A nor B.
pub(crate) unsafe fn product<T: Scalar>(p: Product<T>) {
    let Product {
        sizes,
        a,
        sa,
        b,
        sb,
        c,
        sc,
    } = p;
    mark(KernelPath::Product);
    let dim = |p: usize, a: isize, b: isize, c: isize| Dim {
        size: sizes[p],
        a,
        b,
        c,
    };
    let (db, dm, dk, dn) = (
        dim(BATCH, sa[BATCH], sb[BATCH], sc[BATCH]),
        dim(M, sa[M], 0, sc[M]),
        dim(K, sa[K], sb[K], 0),
        dim(N, 0, sb[N], sc[N]),
    );
    let matrix = Matrix::of_parts(db, dm, dn, dk);
    let work = sizes.iter().product();
    // The run-time path's choice among its GEMM kernels for these sizes
    // (the skinny and dot-product kernels beat `gemm` on many small
    // products); where it has none, `gemm`, not the loop nest.
    // Except for a matrix times a vector, and a few rows of A with a long
    // K in rows against B strided along N: there `gemm` beats both the
    // skinny kernel (B copied first) and dot products (4×24·24×3 with B
    // transposed: 0.19 µs against 0.06 µs; over the sweep's products with
    // N = 1, 56–65 against 160 slower than the best other way by more
    // than 1.25×); from 8 rows on, the copy pays.
    let (dm, dn, dk) = (matrix.m, matrix.n, matrix.k);
    let theirs =
        dn.size > 1 && !(dm.size < FEW_ROWS && dn.b != 1 && dk.a == 1 && dk.size >= LONG_K);
    // SAFETY: the caller's promise, for the same points.
    if theirs && unsafe { contract_matrix(&matrix, a, b, c, work, false) } {
        return;
    }
    for t in 0..db.size as isize {
        let (a, b, c) = (
            a.wrapping_offset(t * db.a),
            b.wrapping_offset(t * db.b),
            c.wrapping_offset(t * db.c),
        );
        if cfg!(miri) {
            // SAFETY: the caller's promise for batch index `t`.
            unsafe { plain(dm, dn, dk, a, b, c) }
        } else {
            // SAFETY: the caller's promise for batch index `t`; `T` is one
            // of `gemm`'s types outside Miri.
            unsafe { gemm_one(dm, dn, dk, a, b, c) }
        }
    }
}

/// [`product`], through the instance prebuilt for `T` where there is one
/// (the kernels it chooses among are most of this crate's code: compiled
/// again in each caller's crate, they would cost its build seconds).
///
/// # Safety
/// As [`product`].
#[inline]
pub unsafe fn run_product<T: Scalar>(p: Product<T>) {
    // SAFETY: the caller's promise; the pointers address `T`s.
    unsafe { T::product(p.cast()) }
}

/// The shortest K in rows of A, and the most rows, for which a product
/// with B strided along N goes to `gemm` rather than the run-time path's
/// kernels: with K of 8 or less the skinny kernel was up to 4× faster
/// (1000×2·2×16, 1000×8·8×3), and with 8 rows or more up to 2.8×
/// (13×16·16×16); over the sweep's such products, a bound of 8 rows made
/// 12 slower than the best other way by more than 1.25×, 4 rows 36, 16
/// rows 8 but a 7% longer total time (`benches/sweep.rs`).
const LONG_K: usize = 16;
/// See [`LONG_K`].
const FEW_ROWS: usize = 8;

/// The product of one batch index in one `gemm` call, on this thread.
///
/// A matrix with a side of one element is given, along that side, the
/// stride of a whole run of the other side, as a row or a column of a
/// contiguous matrix has: with that side's stride 1 (or 0), `gemm` takes
/// a path many times slower (1×1·1×512: 1.1 µs against 0.19 µs; eight
/// 100×1·1×1: 1.7 µs against 0.31 µs).
///
/// # Safety
/// As [`product`], for one batch index; `T` is one of `gemm`'s types.
unsafe fn gemm_one<T: Scalar>(dm: Dim, dn: Dim, dk: Dim, a: *const T, b: *const T, c: *mut T) {
    let sides = |rows: usize, rs: isize, cols: usize, cs: isize| match (rows, cols) {
        (1, 1) => (1, 1),
        (1, _) => (cs.wrapping_mul(cols as isize), cs),
        (_, 1) => (rs, rs.wrapping_mul(rows as isize)),
        _ => (rs, cs),
    };
    let (c_rs, c_cs) = sides(dm.size, dm.c, dn.size, dn.c);
    let (a_rs, a_cs) = sides(dm.size, dm.a, dk.size, dk.a);
    let (b_rs, b_cs) = sides(dk.size, dk.b, dn.size, dn.b);
    // SAFETY: the caller's promise; the strides of a side of one element
    // are never stepped along.
    unsafe {
        gemm_strided(
            [dm.size, dn.size, dk.size],
            (c, c_rs, c_cs),
            (a, a_rs, a_cs),
            (b, b_rs, b_cs),
            (T::one(), T::zero()),
            gemm::Parallelism::None,
        )
    }
}

/// The product of one batch index in three loops, for Miri, which cannot
/// run `gemm`'s SIMD code.
///
/// # Safety
/// As [`product`], for one batch index.
unsafe fn plain<T: Scalar>(dm: Dim, dn: Dim, dk: Dim, a: *const T, b: *const T, c: *mut T) {
    for i in 0..dm.size as isize {
        for j in 0..dn.size as isize {
            let mut acc = T::zero();
            for l in 0..dk.size as isize {
                // SAFETY: (i, l) and (l, j) are within the sizes: the
                // caller's promise.
                let (x, y) = unsafe {
                    (
                        *a.wrapping_offset(i * dm.a + l * dk.a),
                        *b.wrapping_offset(l * dk.b + j * dn.b),
                    )
                };
                acc = acc.add(x.mul(y));
            }
            // SAFETY: (i, j) is within the sizes: the caller's promise.
            unsafe { c.wrapping_offset(i * dm.c + j * dn.c).write(acc) };
        }
    }
}
