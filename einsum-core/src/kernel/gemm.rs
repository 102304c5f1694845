//! Two-operand contractions read as GEMM ([`Matrix`]): which GEMM kernel
//! takes one (the `gemm` crate, the window kernel, the skinny kernels, the
//! blocked kernel for types `gemm` lacks), and the loop over the points
//! and K blocks around it.

use core::any::TypeId;

use super::isa::BASELINE;
use super::matrix::{Dim, Matrix};
use super::pack::{pack, KOrder, PACK_MAX_LEN, PACK_MIN_ROWS};
use super::pool::{for_each_task, pool_threads, SendPtr};
use super::scratch::with_scratch;
use super::skinny::SKINNY_N;
#[cfg(all(target_arch = "x86_64", not(miri)))]
use super::skinny512;
use super::window::WindowGemm;
use super::{blocked, dots, skinny};
use crate::axes::Axis;
use crate::element::Scalar;
use crate::trace::{mark, KernelPath};
use crate::tuning;

/// The fewest rows of A for which a product wider than [`SKINNY_N`] and
/// below `gemm`'s work runs in the skinny kernel's panels at any width
/// (`benches/sweep.rs`, one core: 4×8·8×64 with B transposed, 2.2 µs in
/// the nest against 0.81 µs in panels; 13×24·24×64, 4.2 µs against 1.1 µs).
const PANELS_MIN_ROWS: usize = 4;

/// The widest B over which fewer rows than [`PANELS_MIN_ROWS`] still run
/// in panels, with rows of B contiguous and K of [`PANELS_MIN_K_FEW_ROWS`]
/// or more: 1×24·24×64 took 0.62× the nest's time in panels, 1×24·24×512
/// 2.4× (the nest streams a row of B per element of A).
const PANELS_MAX_N_FEW_ROWS: usize = 64;

/// See [`PANELS_MAX_N_FEW_ROWS`]: from 16, 1×K·K×64 ran in 0.6–0.7× the
/// nest's time; at K = 2, 1×2·2×512 took 0.74 µs in panels against
/// 0.39 µs in the nest.
const PANELS_MIN_K_FEW_ROWS: usize = 16;

/// Whether a product wider than [`SKINNY_N`] below `gemm`'s work pays for
/// the skinny kernel's panels over the loop nest. Never at K = 1: an outer
/// product, which the nest writes a row at a time (13×1·1×512: 0.98 µs
/// against 3.5 µs in panels).
fn panels_pay(dm: Dim, dn: Dim, dk: Dim) -> bool {
    dk.size >= 2
        && (dm.size >= PANELS_MIN_ROWS
            || (dn.b == 1 && dn.size <= PANELS_MAX_N_FEW_ROWS && dk.size >= PANELS_MIN_K_FEW_ROWS))
}

/// The longest K for which the skinny kernel copies a B whose rows are not
/// contiguous when A's are, at `gemm`'s work or more: longer, the copy
/// costs more than the loop nest's dot products along K
/// (`benches/sweep.rs`: 4×1024·1024×8 with B transposed took 12.7 µs
/// copied against 1.3 µs in the nest; at K = 2 to 24 the copy halved the
/// time or better). With A transposed too, the nest's dot products are
/// strided, and below `gemm`'s work the copy pays at any K (13×144·144×16,
/// both transposed: 2.1 µs against 18.5 µs).
const GATHER_MAX_K: usize = 64;

/// As [`GATHER_MAX_K`], below `gemm`'s work, where the alternative is the
/// nest's dot products, for [`GATHER_MIN_OUTPUTS`] outputs or more per
/// point: 13×144·144×16 with B transposed took 0.35× their time copied,
/// 4×144·144×3 1.4×, 4×1024·1024×16 9×.
const GATHER_MAX_K_SMALL: usize = 256;

/// See [`GATHER_MAX_K_SMALL`]: 4×64·64×8 (32 outputs) took 0.68× the
/// nest's time copied.
const GATHER_MIN_OUTPUTS: usize = 32;

/// Whether the skinny kernel pays for copying a B whose rows are not
/// contiguous, when A's are (over `skinny_gather_min_rows` rows or more).
fn gather_pays(dm: Dim, dn: Dim, dk: Dim, shared_work: bool) -> bool {
    dk.size < GATHER_MAX_K
        || (!shared_work && dk.size < GATHER_MAX_K_SMALL && dm.size * dn.size >= GATHER_MIN_OUTPUTS)
}

/// The rows of A, and the shortest K, of a product with B transposed that
/// runs in the skinny kernel's panels from `gemm`'s work
/// ([`few_rows_transposed`]).
const FEW_ROWS_MIN: usize = 8;
/// See [`FEW_ROWS_MIN`].
const FEW_ROWS_MAX: usize = 16;
/// See [`FEW_ROWS_MIN`].
const FEW_ROWS_MIN_K: usize = 512;

/// Whether K steps by one element through both A and B: K in rows of A
/// and of B (B transposed), the layout of dot products.
fn k_in_rows(dk: Dim) -> bool {
    dk.a == 1 && dk.b == 1
}

/// A wide product (over 64 columns: fewer go to [`row_chunks_pay`]) over a
/// few rows of A along a long K, with B transposed:
/// `gemm` is slowest there (8×1024·1024×512 in 1.04 ms, ndarray's `dot`
/// 0.29 ms); the skinny kernel's panels over a copy of each 16 columns of
/// B take 0.5–0.7× `gemm`'s time (at K = 144 the same; with 4 rows or 16
/// columns or fewer, longer).
fn few_rows_transposed(dm: Dim, dn: Dim, dk: Dim) -> bool {
    (FEW_ROWS_MIN..=FEW_ROWS_MAX).contains(&dm.size)
        && dn.size > SKINNY_N
        && dk.size >= FEW_ROWS_MIN_K
        && k_in_rows(dk)
}

/// The most rows of A, and the shortest K, of a product below `gemm`'s
/// work with K in rows of both A and B that goes to `gemm`
/// ([`small_transposed_in_gemm`]); over more than [`SMALL_BT_ROWS`] rows,
/// only with at most [`SMALL_BT_MAX_N`] columns.
const SMALL_BT_MAX_ROWS: usize = 32;
/// See [`SMALL_BT_MAX_ROWS`].
const SMALL_BT_ROWS: usize = 16;
/// See [`SMALL_BT_MAX_ROWS`].
const SMALL_BT_MAX_N: usize = 5;
/// See [`SMALL_BT_MAX_ROWS`].
const SMALL_BT_MIN_K: usize = 64;

/// A small product over a few rows of A with K in rows of both A and B
/// (B transposed): `gemm` reads both in place faster than the skinny
/// kernel over a copy of B or than dot products (4×64·64×64 in 1.1 µs
/// against 2.1 µs copied, 16×144·144×5 0.8 µs against 1.7 µs,
/// 4×144·144×5 0.42 µs against 0.56 µs as dot products); over more rows
/// or a shorter K the copy pays (100×64·64×3: 3.0 µs in `gemm` against
/// 2.2 µs, 13×16·16×64 1.3 µs against 1.2 µs), and so it does over 32
/// rows and 8 columns or more (`benches/sweep.rs`: 32×64·64×12 at 1.13×
/// the fastest alternative's time in `gemm`, 0.93× copied). One row is a
/// matrix-vector product, as fast in dot products.
fn small_transposed_in_gemm(dm: Dim, dn: Dim, dk: Dim) -> bool {
    (2..=SMALL_BT_MAX_ROWS).contains(&dm.size)
        && (dm.size <= SMALL_BT_ROWS || dn.size <= SMALL_BT_MAX_N)
        && dk.size >= SMALL_BT_MIN_K
        && k_in_rows(dk)
}

/// The most rows of A, the shortest K and the fewest elements of B of a
/// product that runs as dot products at any work ([`few_rows_dots`]).
const DOTS_FEW_ROWS_MAX: usize = 8;
/// See [`DOTS_FEW_ROWS_MAX`].
const DOTS_FEW_ROWS_MIN_K: usize = 512;
/// See [`DOTS_FEW_ROWS_MAX`].
const DOTS_FEW_ROWS_MIN_B: usize = 256 * 1024;

/// A few rows of A along a long K against a large transposed B, K in rows
/// of both: dot products go over B once, in place, in 0.45–0.7× `gemm`'s
/// time (4×1024·1024×512 in 0.23 ms against 0.51 ms, 8×1024·1024×512
/// 0.46 ms against 0.65 ms). With B smaller `gemm` is faster
/// (4×1024·1024×64: 10 µs against 24 µs), and so it is over 16 rows.
fn few_rows_dots(dm: Dim, dn: Dim, dk: Dim) -> bool {
    dm.size <= DOTS_FEW_ROWS_MAX
        && dk.size >= DOTS_FEW_ROWS_MIN_K
        && dn.size.saturating_mul(dk.size) >= DOTS_FEW_ROWS_MIN_B
        && k_in_rows(dk)
}

/// Multiply-adds from which one product shared by the pool's threads runs
/// in `gemm`'s own threads; below, its output is cut into one part per
/// thread ([`PART_ALIGN`] apart), each a single-threaded `gemm` call. Two
/// threads against one, f64: 64×784·784×128 with B transposed 0.72–0.82×
/// in `gemm`'s threads, 1.56× in parts; 128×784·784×128 0.71× against
/// 1.55×; 100×1000·1000×100 0.98× against 1.42×; 16×8192·8192×256 0.64×
/// against 1.50×; 512³ 1.99× against 2.01×, 1.76× against 1.68× with B
/// transposed.
const GEMM_OWN_THREADS_WORK: usize = 512 * 512 * 512;
/// The rows or columns of C each part of [`GEMM_OWN_THREADS_WORK`] starts
/// at a multiple of, so that the parts keep `gemm`'s whole register tiles.
const PART_ALIGN: usize = 8;

/// The rows of A and C in each `gemm` call of a product in row chunks
/// ([`row_chunks_pay`]).
const GEMM_CHUNK_ROWS: usize = 4;
/// The most rows of A, the shortest K and the widest N of a product in
/// row chunks ([`row_chunks_pay`]).
const CHUNK_MAX_ROWS: usize = 256;
/// See [`CHUNK_MAX_ROWS`].
const CHUNK_MIN_K: usize = 512;
/// See [`CHUNK_MAX_ROWS`].
const CHUNK_MAX_N: usize = 64;

/// A product with K in rows of both A and B (B transposed) along a long K
/// and 17 to 64 columns: `gemm` runs four rows of A near the FMA peak
/// (4×1024·1024×64 in 11 µs), but more rows far slower (8×1024·1024×64
/// in 292 µs), so calls over four rows at a time take 0.25–0.5× the time
/// of one call or of the skinny kernel's panels (16×1024·1024×64: 39 µs
/// against 158 µs, 100×1024·1024×64 268 µs against 519 µs). Over more rows
/// one call packs well enough; at K = 144 or over 512 columns the chunks
/// are slower, and over 16 columns or fewer they gain or lose by the
/// column count (`benches/sweep.rs`, K = 1024: 100 rows by 3 columns at
/// 0.5× one call's time, by 8 at 1.25×).
fn row_chunks_pay(dm: Dim, dn: Dim, dk: Dim) -> bool {
    (GEMM_CHUNK_ROWS + 1..=CHUNK_MAX_ROWS).contains(&dm.size)
        && dk.size >= CHUNK_MIN_K
        && (SKINNY_N + 1..=CHUNK_MAX_N).contains(&dn.size)
        && k_in_rows(dk)
}

/// Whether a product with A strided along K and B with K in rows pays for
/// copying A into rows first: over at most [`CHUNK_MAX_ROWS`] rows along
/// K of [`CHUNK_MIN_K`] or more and over 16 columns, where K in rows of
/// both runs in `gemm` four rows at a time, as dot products or in the
/// skinny kernel's panels; `gemm` reads such an A in place 2.5–10× slower
/// (4×1024·1024×64 in 120 µs against 11 µs, the copy of 4096 elements
/// included, in rows).
fn copy_a_pays(dm: Dim, dn: Dim, dk: Dim) -> bool {
    dk.a != 1
        && dk.b == 1
        && dm.size <= CHUNK_MAX_ROWS
        && dk.size >= CHUNK_MIN_K
        && dn.size > SKINNY_N
}

/// Whether `T` is `f32` or `f64`.
fn is_real_float<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>() || t == TypeId::of::<f64>()
}

/// Computes the contraction with `gemm` if it is GEMM-shaped, supported for
/// `T` and large enough (added into the output when `add`); returns
/// whether it did.
///
/// # Safety
/// As [`super::dispatch`]: every index within the axes' sizes addresses
/// a valid element of each operand for reads (`a` for operand 0, `b` for
/// operand 1) and of the output for writes, distinct output indices are
/// distinct elements, and the output overlaps no operand.
pub(super) unsafe fn try_contract<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    a: *const T,
    b: *const T,
    c: *mut T,
    add: bool,
) -> bool {
    let limits = tuning::current();
    let work = axes
        .iter()
        .try_fold(1usize, |w, ax| w.checked_mul(ax.size))
        .unwrap_or(usize::MAX);
    // Large enough for `gemm` or the blocked kernel; for the skinny kernel.
    let shared_work = work >= limits.gemm_min_work;
    let small = is_real_float::<T>() && work >= limits.skinny_min_work;
    // (Before the GEMM is read off the axes: most small calls stop here.)
    if !shared_work && !small {
        return false;
    }
    let mut matrix = Matrix::EMPTY;
    if !matrix.read(axes) {
        return false;
    }
    let (dm, dn, dk) = (matrix.m, matrix.n, matrix.k);
    let native = T::IN_GEMM && !cfg!(miri);
    // A transposed A (strided along K) against B with K in rows, over a
    // few rows of A along a long K: A copied into rows first, so that the
    // kernels for K in rows of both take the product.
    if native && matrix.k_outer().is_empty() && copy_a_pays(dm, dn, dk) {
        let points: usize = matrix.outer().iter().map(|d| d.size).product();
        // (Each point's product alone large enough for `gemm`.)
        let point_work = work / points.max(1);
        if point_work >= limits.gemm_min_work {
            // SAFETY: the caller's promise, over the same points.
            return unsafe { with_a_in_rows(&matrix, a, b, c, point_work, add) };
        }
    }
    // SAFETY: the caller's promise, over the same points.
    unsafe { contract_matrix(&matrix, a, b, c, work, add) }
}

/// [`contract_matrix`] for each outer point of `matrix` (no K blocks) over
/// a copy of that point's A in rows, each point's product of
/// `point_work` multiply-adds, one after another. Returns whether the
/// kernels took the product: they decide alike for every point (the same
/// dimensions, work and thresholds), so the first point decides, before
/// any other is written.
///
/// # Safety
/// As [`try_contract`], over the points of `matrix` from `a`, `b` and `c`;
/// `matrix` has no K blocks.
unsafe fn with_a_in_rows<T: Scalar>(
    matrix: &Matrix,
    a: *const T,
    b: *const T,
    c: *mut T,
    point_work: usize,
    add: bool,
) -> bool {
    let (dm, dk) = (matrix.m, matrix.k);
    let (m, k) = (dm.size, dk.size);
    let outer = matrix.outer();
    let points: usize = outer.iter().map(|d| d.size).product();
    // One point's GEMM, its A in rows of the block.
    let mut rows = matrix.one_point();
    rows.m.a = k as isize;
    rows.k.a = 1;
    let run = |point: usize| {
        let (oa, ob, oc) = point_offsets(outer, point);
        with_scratch::<T, _>(m * k, |block| {
            // SAFETY: every (i, kk) of this point is a point of the
            // caller's nest, whose every A element is valid for reads.
            unsafe { rows_of_a(block, a.wrapping_offset(oa), dm, dk) };
            // SAFETY: A is the block, M rows of K elements, which outlives
            // the call; B and C at this point's offsets, as the caller
            // promised.
            unsafe {
                contract_matrix(
                    &rows,
                    block.as_ptr(),
                    b.wrapping_offset(ob),
                    c.wrapping_offset(oc),
                    point_work,
                    add,
                )
            }
        })
    };
    if !run(0) {
        return false;
    }
    mark(KernelPath::CopiedA);
    for p in 1..points {
        // (On this thread, whose thresholds decided the first point.)
        assert!(run(p), "einsum: every point of a GEMM in the same kernel");
    }
    true
}

/// Where outer point `point` of `dims` (the last dimension fastest) starts
/// in A, B and C, as offsets in elements.
pub(super) fn point_offsets(dims: &[Dim], point: usize) -> (isize, isize, isize) {
    let (mut oa, mut ob, mut oc) = (0isize, 0isize, 0isize);
    let mut rem = point;
    for d in dims.iter().rev() {
        let i = (rem % d.size) as isize;
        rem /= d.size;
        oa = oa.wrapping_add(i.wrapping_mul(d.a));
        ob = ob.wrapping_add(i.wrapping_mul(d.b));
        oc = oc.wrapping_add(i.wrapping_mul(d.c));
    }
    (oa, ob, oc)
}

/// Copies the `dm.size` × `dk.size` matrix at `a` (strides `dm.a` and
/// `dk.a`) into `block`, row by row.
///
/// # Safety
/// Every element of that matrix is valid for reads; `block` holds
/// `dm.size · dk.size` elements.
unsafe fn rows_of_a<T: Copy>(block: &mut [T], a: *const T, dm: Dim, dk: Dim) {
    assert_eq!(block.len(), dm.size * dk.size, "einsum: a block for A");
    if dk.size == 0 {
        return;
    }
    for (i, row) in block.chunks_exact_mut(dk.size).enumerate() {
        let from = a.wrapping_offset((i as isize).wrapping_mul(dm.a));
        let mut at = 0isize;
        for x in row {
            // SAFETY: element (i, kk) of the matrix (caller).
            *x = unsafe { *from.wrapping_offset(at) };
            at = at.wrapping_add(dk.a);
        }
    }
}

/// [`try_contract`] over the contraction read as GEMM, of `work`
/// multiply-adds, added into C when `add`.
///
/// # Safety
/// As [`try_contract`], over the points of `matrix` from `a`, `b` and `c`.
pub(super) unsafe fn contract_matrix<T: Scalar>(
    matrix: &Matrix,
    a: *const T,
    b: *const T,
    c: *mut T,
    work: usize,
    add: bool,
) -> bool {
    // Element types `gemm` lacks (integers) take the blocked kernel below,
    // and so does everything under Miri, which cannot run `gemm`'s SIMD
    // code: the plumbing around the kernel is the same.
    let native = T::IN_GEMM && !cfg!(miri);
    let limits = tuning::current();
    let shared_work = work >= limits.gemm_min_work;
    let (dm, dn, dk) = (matrix.m, matrix.n, matrix.k);
    // A GEMM with a tiny inner dimension is a memory-bound loop in disguise,
    // better left to the nest (dot products, outer products, scaling).
    let long_enough = |min_len: usize| dk.size >= min_len && dm.size.max(dn.size) >= min_len;
    let min_len = if native {
        limits.gemm_min_len
    } else {
        limits.blocked_min_len
    };
    let shared = shared_work && long_enough(min_len);
    let (outer, k_outer) = (matrix.outer(), matrix.k_outer());

    let points: usize = outer.iter().map(|d| d.size).product();
    let kpoints: usize = k_outer.iter().map(|d| d.size).product();
    let threads = pool_threads();
    let parallel = threads > 1 && work >= limits.parallel_min_work;
    // Independent GEMMs over the pool when there are enough of them;
    // otherwise each one's output in parts over the pool, or, when large,
    // split by `gemm`'s own threads.
    let split = parallel && points >= 2 * threads;
    let shared_call = parallel && !split;
    let parts = if shared_call && work < GEMM_OWN_THREADS_WORK {
        threads
    } else {
        1
    };
    let per_call = if shared_call && parts == 1 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // A narrow N (a few output channels) over rows of A a few elements
    // apart, with a contiguous K run: a convolution over windows. `gemm`
    // would make many tiny calls with most of its registers idle; the
    // window kernel does the whole K of 16 rows at a time instead.
    // Built for f32 and f64 only: its instances (a build per N and
    // instruction set) are most of this crate's code.
    macro_rules! window_for {
        ($($t:ty)*) => {$(
            if TypeId::of::<T>() == TypeId::of::<$t>() {
                if let Some(plan) = WindowGemm::<$t>::new(&matrix, a.cast(), b.cast(), c.cast()) {
                    // SAFETY: `T` is `$t`, so the casts keep the addresses'
                    // types; the caller's promise, for the same points.
                    unsafe { plan.compute(split) };
                    return true;
                }
            }
        )*};
    }
    // (`const`, so that no other type instantiates the window kernel's
    // builds.)
    // (It overwrites its output: not when adding.)
    if const { T::GEMM_PER_ISA && T::REAL_FLOAT }
        && !add
        && shared_work
        && long_enough(limits.window_min_len)
    {
        window_for!(f32 f64);
    }
    // A few output columns (N ≤ 16) along rows of C: `gemm` packs and
    // pads for wide panels, this kernel keeps a few rows of C in registers
    // for the whole K instead (a chain's skinny products). Below `gemm`'s
    // work, wider products too, 16 columns at a time. B along N in place,
    // or copied first (a transposed B) when A has rows enough, and K is
    // short enough or A strided along K too, to pay for the copy. (Not one
    // column: a matrix-vector product is faster in `gemm`, or under its
    // threshold in the nest.) With neither A along K nor B along N in rows,
    // the nest's every loop is strided, and panels pay from as few rows as
    // the copy (13×16·16×64, both transposed: 1.2 µs against 8.3 µs).
    let a_strided = dk.a != 1;
    let gather_rows = dm.size >= limits.skinny_gather_min_rows;
    let small_strided = !shared_work && a_strided && gather_rows;
    // K in rows of both A and B: a small product over a few rows in
    // `gemm`, a large B against a few rows of A as dot products.
    let small_bt = native && !shared_work && small_transposed_in_gemm(dm, dn, dk);
    let long_dots = is_real_float::<T>() && few_rows_dots(dm, dn, dk);
    // Long K in rows of both operands over a few dozen rows and 17 to 64
    // columns: `gemm` four rows at a time.
    let row_chunks = native && shared && row_chunks_pay(dm, dn, dk);
    // One thread's work: split, `gemm`'s threads share it.
    let few_rows_bt =
        shared_work && !parallel && !long_dots && !row_chunks && few_rows_transposed(dm, dn, dk);
    let skinny = !small_bt
        && !long_dots
        && is_real_float::<T>()
        && dn.size >= 2
        && (dn.size <= SKINNY_N
            || (!shared_work && panels_pay(dm, dn, dk))
            || (small_strided && dn.b != 1)
            || few_rows_bt)
        && dn.c == 1
        && (dn.b == 1
            || (gather_rows && gather_pays(dm, dn, dk, shared_work))
            || small_strided
            || few_rows_bt);
    // Otherwise, K in rows of both A and B below `gemm`'s work: dot
    // products, read in place, a row of A against four rows of Bᵀ at a
    // time (a matrix times a vector, too). The skinny kernel comes first:
    // dot products took 1.5× its time on 13×16·16×5 with B transposed.
    let dots = long_dots
        || (!skinny
            && !small_bt
            && is_real_float::<T>()
            && work < limits.dots_max_work
            && k_in_rows(dk)
            && dk.size >= limits.dots_min_k);
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    let skinny512 = skinny && super::isa::isa() == super::isa::Isa::Avx512 && skinny512::has::<T>();
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let skinny512 = false;
    // Neither window, skinny nor dots: `gemm` or the blocked kernel, if the
    // product is large enough for them. The blocked kernel reads rows of B
    // and writes rows of C as slices.
    if !dots && !skinny && !small_bt && (!shared || (!native && (dn.b != 1 || dn.c != 1))) {
        return false;
    }
    // A short K of B strided along N: `gemm` reads such a B at about half
    // its speed on rows (1000×2·2×512 with B transposed: 209 µs against
    // 97 µs); each point's is copied into rows, K·N elements for M·N
    // outputs, M at least `PACK_MIN_ROWS`.
    let short_strided_b = native && dn.b != 1 && dn.size > 1 && dk.size <= SHORT_K;
    let how = How {
        row_chunks,
        dots,
        skinny,
        skinny512,
        b_in_rows: short_strided_b && dm.size >= PACK_MIN_ROWS && !dots && !skinny,
        add,
        // (Calls over four rows are too small to share.)
        per_call: if row_chunks {
            gemm::Parallelism::None
        } else {
            per_call
        },
        parts: if row_chunks { 1 } else { parts },
        split,
    };
    mark(match (dots, skinny512, skinny, native) {
        (true, ..) => KernelPath::Dots,
        (_, true, _, _) => KernelPath::Skinny512,
        (_, _, true, _) => KernelPath::Skinny,
        (_, _, _, false) => KernelPath::Blocked,
        _ => KernelPath::Gemm,
    });
    // K steps through A as one run but not through B, over rows enough to
    // pay for a copy of B that B's every point shares: the copy, with K in
    // A's order, then one GEMM over the whole K.
    let packed = (!dots
        && !skinny
        && kpoints > 1
        && dm.size >= PACK_MIN_ROWS
        && outer.iter().all(|d| d.b == 0))
    .then(|| KOrder::of(matrix))
    .flatten()
    .filter(|order| order.k.size.saturating_mul(dn.size) <= PACK_MAX_LEN);
    let Some(order) = packed else {
        // SAFETY: the caller's promise, for the same operands.
        unsafe { run_points(matrix, a, b, c, dn, dk, k_outer, &how) };
        return true;
    };
    mark(KernelPath::PackedB);
    with_scratch::<T, _>(order.k.size * dn.size, |block| {
        // SAFETY: every B[k, n] of the caller's nest is valid for reads;
        // `block` holds K · N elements.
        unsafe { pack(block, &order, b, dn) };
        let n = dn.size as isize;
        let (dn, dk) = (Dim { b: 1, ..dn }, Dim { b: n, ..order.k });
        // SAFETY: as above, with B the block: K rows of N elements, in the
        // order of A's K; `block` outlives the call, which only reads it.
        unsafe { run_points(matrix, a, block.as_ptr(), c, dn, dk, &[], &how) };
    });
    true
}

/// `s`, the stride of a dimension of `size` elements, as `gemm` should see
/// it: a dimension of one element is given stride 1 (as ndarray gives it)
/// in place of 0, which `gemm` reads as a layout it has no fast path for.
/// Eight 10000×2·2×1 products: 208 µs with 0, 25–40 µs with 1. (The
/// call site's products below 32³ give it a whole run of the other side
/// instead, `product::gemm_one`; here that was up to 2× faster on some
/// matrix-vector products and up to 1.4× slower on others, e.g.
/// 10000×64·64×1.)
fn gemm_stride(size: usize, s: isize) -> isize {
    if size == 1 {
        1
    } else {
        s
    }
}

/// Which GEMM kernel [`try_contract`] chose, and how it uses the pool.
struct How {
    /// `gemm` called on [`GEMM_CHUNK_ROWS`] rows of A and C at a time.
    row_chunks: bool,
    /// The dot-product kernel (f32 and f64, K in rows of A and B).
    dots: bool,
    /// The skinny kernels (f32 and f64, rows of C contiguous).
    skinny: bool,
    /// Their AVX-512 build (only where the CPU has AVX-512).
    skinny512: bool,
    /// Each point's B, a short K strided along N, copied into rows before
    /// its `gemm` call.
    b_in_rows: bool,
    /// Each `gemm` call's own threads.
    per_call: gemm::Parallelism,
    /// Each `gemm` call's output cut into this many parts, run as tasks of
    /// the pool, one thread each.
    parts: usize,
    /// The outer points spread over the pool.
    split: bool,
    /// C added to (`+=`), not overwritten, from the first K block on.
    add: bool,
}

/// The GEMMs of a contraction: one per outer point of `matrix` and K block
/// of `k_outer`, with `dn` and `dk` as given (B's strides may be those of a
/// copy), in the kernel `how` says.
///
/// # Safety
/// As [`try_contract`], for B and its strides as given; `how` as
/// `try_contract` sets it; rows of B and C contiguous for types `gemm`
/// lacks.
#[allow(clippy::too_many_arguments)]
unsafe fn run_points<T: Scalar>(
    matrix: &Matrix,
    a: *const T,
    b: *const T,
    c: *mut T,
    dn: Dim,
    dk: Dim,
    k_outer: &[Dim],
    how: &How,
) {
    let native = T::IN_GEMM && !cfg!(miri);
    let (dm, outer) = (matrix.m, matrix.outer());
    let points: usize = outer.iter().map(|d| d.size).product();
    let kpoints: usize = k_outer.iter().map(|d| d.size).product();
    let (a, b, c) = (SendPtr(a), SendPtr(b), SendPtr(c));
    let run = |point: usize| {
        let (oa, ob, oc) = point_offsets(outer, point);
        let (pa, pb, pc) = (
            a.get().wrapping_offset(oa),
            b.get().wrapping_offset(ob),
            c.get().wrapping_offset(oc),
        );
        for kp in 0..kpoints {
            let (ka, kb, _) = point_offsets(k_outer, kp);
            let (qa, qb) = (pa.wrapping_offset(ka), pb.wrapping_offset(kb));
            // (f32 and f64 only: `const`, so that no other type
            // instantiates the dot-product and skinny kernels.)
            if const { T::GEMM_PER_ISA && T::REAL_FLOAT } && how.dots {
                // SAFETY: as below; K steps by one through A and B
                // (checked).
                unsafe { dots::dots(dm, dn, dk, pc, qa, qb, kp > 0 || how.add) };
                continue;
            }
            if const { T::GEMM_PER_ISA && T::REAL_FLOAT } && how.skinny {
                // SAFETY: as below; rows of C are contiguous along N
                // (checked), and AVX-512 only where `isa` found it.
                unsafe {
                    skinny_panels([dm, dn, dk], pc, qa, qb, kp > 0 || how.add, how.skinny512)
                };
                continue;
            }
            if !native {
                // SAFETY: as below; rows of B and C are contiguous (checked).
                // Each instruction-set build for the types built so
                // (`Prebuilt::GEMM_PER_ISA`), the baseline one for the others.
                unsafe {
                    if const { T::GEMM_PER_ISA } {
                        blocked::blocked(dm, dn, dk, pc, qa, qb, kp > 0 || how.add)
                    } else {
                        blocked::blocked_body::<T, BASELINE>(
                            dm,
                            dn,
                            dk,
                            pc,
                            qa,
                            qb,
                            kp > 0 || how.add,
                        )
                    }
                };
                continue;
            }
            // (`const`, so that the types `gemm` lacks do not instantiate
            // its generic entry, most of their kernels' build.)
            if const { !T::IN_GEMM } {
                continue;
            }
            let accumulate = kp > 0 || how.add;
            if how.parts > 1 {
                // SAFETY: this call's operands and C (caller).
                let done = unsafe {
                    if k_parts_pay(dm, dn, dk) {
                        gemm_k_parts(how.parts, dm, dn, dk, pc, qa, qb, accumulate);
                        true
                    } else {
                        gemm_output_parts(how.parts, dm, dn, dk, pc, qa, qb, accumulate)
                    }
                };
                if done {
                    mark(KernelPath::GemmSplit);
                    continue;
                }
            }
            if how.b_in_rows && dn.b != 1 && kpoints == 1 {
                // SAFETY: this call's operands and C (caller).
                unsafe { gemm_b_in_rows(dm, dn, dk, pc, qa, qb, accumulate, how.per_call) };
                continue;
            }
            let rows = if how.row_chunks {
                GEMM_CHUNK_ROWS
            } else {
                dm.size
            };
            for r in (0..dm.size).step_by(rows.max(1)) {
                let m = rows.min(dm.size - r);
                let at = r as isize;
                let (qa, pc) = (qa.wrapping_offset(at * dm.a), pc.wrapping_offset(at * dm.c));
                // SAFETY: rows `r..r + m` of this call, within the caller's
                // nest.
                unsafe {
                    gemm_call(
                        Dim { size: m, ..dm },
                        dn,
                        dk,
                        pc,
                        qa,
                        qb,
                        accumulate,
                        how.per_call,
                    )
                };
            }
        }
    };
    if how.split {
        mark(KernelPath::GemmSplit);
        for_each_task(points, &run);
    } else {
        (0..points).for_each(run);
    }
}

/// The longest K for which a B strided along N is copied into rows before
/// its `gemm` call.
const SHORT_K: usize = 4;

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) in one
/// `gemm` call on a copy of B in rows, in this thread's scratch memory.
///
/// # Safety
/// As [`gemm_call`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_b_in_rows<T: Scalar>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    mark(KernelPath::PackedB);
    let (nk, nn) = (dk.size, dn.size);
    with_scratch::<T, _>(nk * nn, |block| {
        for (k, row) in block.chunks_exact_mut(nn).enumerate() {
            let run = b.wrapping_offset((k as isize).wrapping_mul(dk.b));
            for (n, x) in row.iter_mut().enumerate() {
                // SAFETY: B[k, n] with k < K and n < N (caller).
                *x = unsafe { *run.wrapping_offset((n as isize).wrapping_mul(dn.b)) };
            }
        }
        let (dn, dk) = (
            Dim { b: 1, ..dn },
            Dim {
                b: nn as isize,
                ..dk
            },
        );
        // SAFETY: as the caller's, with B the block: K rows of N elements,
        // which outlives the call, which only reads it.
        unsafe { gemm_call(dm, dn, dk, c, a, block.as_ptr(), accumulate, par) };
    });
}

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) as up to
/// `parts` single-threaded `gemm` calls over parts of C along the longer of
/// M and N, [`PART_ALIGN`] apart, run as tasks of the pool; false, having
/// done nothing, when that length is under two parts.
///
/// # Safety
/// As [`gemm_call`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_output_parts<T: Scalar>(
    parts: usize,
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) -> bool {
    let along_m = dm.size >= dn.size;
    let len = if along_m { dm.size } else { dn.size };
    if len < 2 * PART_ALIGN {
        return false;
    }
    let part = len.div_ceil(parts).next_multiple_of(PART_ALIGN);
    let (a, b, c) = (SendPtr(a), SendPtr(b), SendPtr(c));
    for_each_task(len.div_ceil(part), &|t| {
        let (from, size) = (t * part, part.min(len - t * part));
        let at = from as isize;
        let (dm, dn, a, b, c) = if along_m {
            (
                Dim { size, ..dm },
                dn,
                a.get().wrapping_offset(at * dm.a),
                b.get(),
                c.get().wrapping_offset(at * dm.c),
            )
        } else {
            (
                dm,
                Dim { size, ..dn },
                a.get(),
                b.get().wrapping_offset(at * dn.b),
                c.get().wrapping_offset(at * dn.c),
            )
        };
        // SAFETY: rows (or columns) `from..from + size` of this product
        // (caller); distinct parts write distinct elements of C.
        unsafe { gemm_call(dm, dn, dk, c, a, b, accumulate, gemm::Parallelism::None) };
    });
    true
}

/// Whether a product shared by the pool is cut along K rather than along
/// its output: too few rows of C to cut along M (under two parts of
/// [`PART_ALIGN`]), and B's rows along N, which parts along N would read a
/// piece of each. Two threads against one, f64, B row-major:
/// 1×2000·2000×2000 1.29–1.99× along K, 0.89–1.24× along N;
/// 1×4000·4000×1000 1.88–2.10× against 0.77–1.00×; 12×3000·3000×500
/// 1.67–1.74× against 1.17–1.22×.
fn k_parts_pay(dm: Dim, dn: Dim, dk: Dim) -> bool {
    dm.size < 2 * PART_ALIGN
        && dk.size >= 2 * PART_ALIGN
        && dn.b.unsigned_abs() < dk.b.unsigned_abs()
        && (1..=K_PARTS_MAX_OUTPUT).contains(&dm.size.saturating_mul(dn.size))
}

/// The most elements of C a product cut along K may have: each part but
/// the first writes a copy of C into scratch memory, added into C at the
/// end.
const K_PARTS_MAX_OUTPUT: usize = 1 << 16;

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) as `parts`
/// single-threaded `gemm` calls over consecutive K blocks, run as tasks of
/// the pool: the first into C, the others into this thread's scratch
/// memory, then added into C in a fixed order (the same sums for the same
/// number of parts).
///
/// # Safety
/// As [`gemm_call`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_k_parts<T: Scalar>(
    parts: usize,
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) {
    let block = dk.size.div_ceil(parts);
    let count = dk.size.div_ceil(block);
    let len = dm.size * dn.size;
    with_scratch::<T, _>((count - 1) * len, |scratch| {
        let (a, b, c, s) = (
            SendPtr(a),
            SendPtr(b),
            SendPtr(c),
            SendPtr(scratch.as_mut_ptr()),
        );
        for_each_task(count, &|t| {
            let from = t * block;
            let dk = Dim {
                size: block.min(dk.size - from),
                ..dk
            };
            let at = from as isize;
            let (a, b) = (
                a.get().wrapping_offset(at * dk.a),
                b.get().wrapping_offset(at * dk.b),
            );
            if t == 0 {
                // SAFETY: K block 0 of this product into C (caller).
                unsafe {
                    gemm_call(
                        dm,
                        dn,
                        dk,
                        c.get(),
                        a,
                        b,
                        accumulate,
                        gemm::Parallelism::None,
                    )
                };
            } else {
                // Block t into its own M×N rows of the scratch memory.
                let (sm, sn) = (
                    Dim {
                        c: dn.size as isize,
                        ..dm
                    },
                    Dim { c: 1, ..dn },
                );
                let out = s.get().wrapping_add((t - 1) * len);
                // SAFETY: K block t of this product (caller) into elements
                // `(t - 1) · len ..t · len` of the scratch memory, which
                // holds `(count - 1) · len`; distinct tasks write distinct
                // blocks.
                unsafe { gemm_call(sm, sn, dk, out, a, b, false, gemm::Parallelism::None) };
            }
        });
        for part in scratch.chunks_exact(len) {
            for (i, row) in part.chunks_exact(dn.size).enumerate() {
                for (j, &x) in row.iter().enumerate() {
                    let at = (i as isize * dm.c).wrapping_add(j as isize * dn.c);
                    // SAFETY: element (i, j) of C (caller), written by no
                    // task any more.
                    unsafe {
                        let o = c.get().wrapping_offset(at);
                        o.write(o.read().add(x));
                    }
                }
            }
        }
    });
}

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`: a product's
/// first K block overwrites C, the others add to it) in one `gemm` call,
/// with `gemm`'s threads as `par` says.
///
/// # Safety
/// Every (m, n, k) index addresses valid elements of A and B for reads and
/// of C for writes, C overlapping neither, distinct (m, n) distinct
/// elements; `T` is one of `gemm`'s types.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) unsafe fn gemm_call<T: Scalar>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    let beta = if accumulate { T::one() } else { T::zero() };
    // SAFETY: the caller's promise.
    unsafe { gemm_call_scaled(dm, dn, dk, c, a, b, (T::one(), beta), par) }
}

/// As [`gemm_call`], computing `C ← alpha·A·B + beta·C` for `(alpha,
/// beta)`: C is not read when `beta` is zero.
///
/// # Safety
/// As [`gemm_call`].
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) unsafe fn gemm_call_scaled<T: Scalar>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    scale: (T, T),
    par: gemm::Parallelism,
) {
    let strides = |d: Dim, s: isize| gemm_stride(d.size, s);
    // SAFETY: the caller's promise.
    unsafe {
        gemm_strided(
            [dm.size, dn.size, dk.size],
            (c, strides(dm, dm.c), strides(dn, dn.c)),
            (a, strides(dm, dm.a), strides(dk, dk.a)),
            (b, strides(dk, dk.b), strides(dn, dn.b)),
            scale,
            par,
        )
    }
}

/// `gemm`'s `C ← alpha·A·B + beta·C` for sizes `[m, n, k]`, `(alpha,
/// beta)` and each matrix as (first element, row stride, column stride); C
/// is not read when `beta` is zero.
///
/// # Safety
/// As [`gemm_call`], for these strides.
#[inline]
pub(super) unsafe fn gemm_strided<T: Scalar>(
    [m, n, k]: [usize; 3],
    (c, c_rs, c_cs): (*mut T, isize, isize),
    (a, a_rs, a_cs): (*const T, isize, isize),
    (b, b_rs, b_cs): (*const T, isize, isize),
    (alpha, beta): (T, T),
    par: gemm::Parallelism,
) {
    let read_c = beta != T::zero();
    // SAFETY: the caller's promise.
    unsafe {
        // (`gemm` names the factors the other way round: its `alpha`
        // scales C, its `beta` the product.)
        gemm::gemm(
            m,
            n,
            k,
            c,
            c_cs,
            c_rs,
            read_c,
            a,
            a_cs,
            a_rs,
            b,
            b_cs,
            b_rs,
            if read_c { beta } else { T::one() },
            alpha,
            false,
            false,
            false,
            par,
        )
    }
}

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) in the
/// skinny kernels, [`SKINNY_N`] columns of C at a time: AVX-512's
/// (`skinny512`) when `avx512`, else the portable one.
///
/// # Safety
/// Every (m, n, k) index addresses valid elements of A and B for reads and
/// of C for writes (C overlapping neither), distinct (m, n) distinct
/// elements, and `dn.c == 1`; `T` is `f32` or `f64`; `avx512` only when
/// the CPU has AVX-512 (F, DQ, VL and BW).
#[cfg_attr(any(miri, not(target_arch = "x86_64")), allow(unused_variables))]
unsafe fn skinny_panels<T: Scalar>(
    [dm, dn, dk]: [Dim; 3],
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    avx512: bool,
) {
    for j0 in (0..dn.size).step_by(SKINNY_N) {
        let dn = Dim {
            size: SKINNY_N.min(dn.size - j0),
            ..dn
        };
        let j0 = j0 as isize;
        let (c, b) = (
            c.wrapping_offset(j0),
            b.wrapping_offset(j0.wrapping_mul(dn.b)),
        );
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if avx512 && dn.b == 1 {
            // SAFETY: columns `j0..` of the caller's C and B (their
            // promise), rows of both contiguous along N, at most SKINNY_N
            // long; the CPU has AVX-512 (caller) and `T` is `f32` or `f64`.
            unsafe { skinny512::gemm([dm, dn, dk], c, a, b, accumulate) };
            continue;
        }
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if avx512 {
            // B's rows are not contiguous: copied into rows of N.
            with_scratch::<T, _>(dk.size * dn.size, |rows| {
                // SAFETY: B of these columns, valid for reads (caller);
                // `rows` holds its `dk.size · dn.size` elements.
                unsafe { skinny::copy_rows(rows, dn.size, b, dk, dn) };
                let n = dn.size as isize;
                let (dk, dn) = (Dim { b: n, ..dk }, Dim { b: 1, ..dn });
                // SAFETY: as above, with B the copy: `dk.size` rows of
                // `dn.size` elements, `dn.size` apart.
                unsafe { skinny512::gemm([dm, dn, dk], c, a, rows.as_ptr(), accumulate) };
            });
            continue;
        }
        // The padded copy of B in this thread's scratch, taken here,
        // outside the kernel's builds.
        let padded = if dn.size <= 8 { 8 } else { SKINNY_N };
        with_scratch::<T, _>(dk.size * padded, |packed| {
            // SAFETY: columns `j0..` of the caller's C and B (their
            // promise), rows of C contiguous, at most SKINNY_N columns.
            unsafe { skinny::skinny_gemm([dm, dn, dk], c, a, b, accumulate, packed) };
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_reads_any_strides() {
        // A 3×4 matrix stored transposed: A[i, k] at 3k + i.
        let at: Vec<i64> = (0..12).collect();
        let dm = Dim {
            size: 3,
            a: 1,
            b: 0,
            c: 0,
        };
        let dk = Dim {
            size: 4,
            a: 3,
            b: 0,
            c: 0,
        };
        let mut block = [-1i64; 12];
        // SAFETY: every 3k + i with i < 3, k < 4 is inside `at`.
        unsafe { rows_of_a(&mut block, at.as_ptr(), dm, dk) };
        let want: Vec<i64> = (0..3)
            .flat_map(|i| (0..4).map(move |k| 3 * k + i))
            .collect();
        assert_eq!(block.to_vec(), want);
    }
}
