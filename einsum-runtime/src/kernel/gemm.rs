//! Two-operand contractions as batched GEMM, through the `gemm` crate:
//!
//! `C[b, m, n] ← Σ_k A[b, m, k] · B[b, k, n]`
//!
//! Each loop axis is classified by which of A, B and the output step along
//! it (a zero stride means an operand does not depend on the axis, which is
//! also how a broadcast operand is read):
//! - **M**: A and C, not B; **N**: B and C, not A; **K**: A and B, summed;
//! - **batch**: in C, and in both operands or neither.
//!
//! Within each group the axes that step through memory as one (for M in A
//! and C, for N in B and C, for K in A and B) are merged into the GEMM's
//! dimension; the others are looped over outside, so a strided, transposed or
//! windowed operand is read in place and no whole operand is copied. The
//! `gemm` crate packs cache-sized blocks itself.
//!
//! Labels summed in one operand only, or a summed axis no operand steps
//! along, are not GEMM-shaped: those expressions stay in the loop nest.

use core::any::TypeId;

use num_complex::Complex;
use rayon::prelude::*;

use super::SendPtr;
use crate::resolve::Axis;
use crate::scalar::Scalar;
use crate::tuning;

/// Whether `gemm` has a kernel for `T`.
fn supported<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>()
        || t == TypeId::of::<f64>()
        || t == TypeId::of::<Complex<f32>>()
        || t == TypeId::of::<Complex<f64>>()
}

/// One GEMM dimension: its length and the strides of A, B and C along it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dim {
    size: usize,
    a: isize,
    b: isize,
    c: isize,
}

impl Dim {
    const UNIT: Dim = Dim {
        size: 1,
        a: 0,
        b: 0,
        c: 0,
    };

    /// The axis of a two-operand call (A is operand 0, B operand 1).
    fn of<const K: usize>(axis: &Axis<K>) -> Dim {
        Dim {
            size: axis.size,
            a: axis.strides[0],
            b: axis.strides[K - 1],
            c: axis.out,
        }
    }
}

/// The most loop axes a contraction may have to take the GEMM path (more
/// stay in the loop nest); small, so the tables below are cheap to set up.
pub(crate) const MAX_GEMM_AXES: usize = 16;

/// Merges the innermost run of `dims` that steps through memory as one in
/// both strides `key` picks. Sorts `dims` in place, largest strides first,
/// and returns the merged run and how many dimensions at the front it left
/// out (those are looped over).
fn merge_inner(dims: &mut [Dim], key: fn(&Dim) -> (isize, isize)) -> (Dim, usize) {
    if dims.is_empty() {
        return (Dim::UNIT, 0);
    }
    // Largest strides outermost (stable insertion sort).
    let weight = |d: &Dim| {
        let (x, y) = key(d);
        (x.unsigned_abs(), y.unsigned_abs())
    };
    for i in 1..dims.len() {
        let mut j = i;
        while j > 0 && weight(&dims[j - 1]) < weight(&dims[j]) {
            dims.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut run = dims[dims.len() - 1];
    let mut first = dims.len() - 1;
    while first > 0 {
        let outer = dims[first - 1];
        let (ox, oy) = key(&outer);
        let (rx, ry) = key(&run);
        let len = run.size as isize;
        let fits = ox == rx.wrapping_mul(len) && oy == ry.wrapping_mul(len);
        match (fits, run.size.checked_mul(outer.size)) {
            (true, Some(size)) => {
                run.size = size;
                first -= 1;
            }
            _ => break,
        }
    }
    (run, first)
}

/// The classes of a GEMM's loop axes, in the order [`try_contract`] lays
/// them out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Batch,
    M,
    N,
    K,
}

/// Computes the contraction with `gemm` if it is GEMM-shaped, supported for
/// `T` and large enough; returns whether it did.
///
/// # Safety
/// As [`super::nest::contract`]: every index within the axes' sizes addresses
/// a valid element of each operand for reads (`a` for operand 0, `b` for
/// operand 1) and of the output for writes, distinct output indices are
/// distinct elements, and the output overlaps no operand.
pub(crate) unsafe fn try_contract<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    a: *const T,
    b: *const T,
    c: *mut T,
) -> bool {
    // Element types `gemm` lacks (integers) take the blocked kernel below,
    // and so does everything under Miri, which cannot run `gemm`'s SIMD
    // code: the plumbing around the kernel is the same.
    let native = supported::<T>() && !cfg!(miri);
    if K != 2 || axes.len() > MAX_GEMM_AXES {
        return false;
    }
    let limits = tuning::current();
    let work = axes
        .iter()
        .try_fold(1usize, |w, ax| w.checked_mul(ax.size))
        .unwrap_or(usize::MAX);
    if work < limits.gemm_min_work {
        return false;
    }
    let class = |ax: &Axis<K>| {
        let d = Dim::of(ax);
        match (d.a != 0, d.b != 0, !ax.summed) {
            (true, false, true) => Some(Class::M),
            (false, true, true) => Some(Class::N),
            (true, true, false) => Some(Class::K),
            (true, true, true) | (false, false, true) => Some(Class::Batch),
            // Summed in one operand only, or in none: not a GEMM.
            _ => None,
        }
    };
    if axes.iter().any(|ax| ax.size > 1 && class(ax).is_none()) {
        return false;
    }
    // One table, grouped by class: batch, M, N, K.
    let mut dims = [Dim::UNIT; MAX_GEMM_AXES];
    let mut ends = [0usize; 4];
    let mut len = 0;
    for (g, want) in [Class::Batch, Class::M, Class::N, Class::K]
        .into_iter()
        .enumerate()
    {
        for ax in axes
            .iter()
            .filter(|ax| ax.size > 1 && class(ax) == Some(want))
        {
            dims[len] = Dim::of(ax);
            len += 1;
        }
        ends[g] = len;
    }
    let (batch, rest) = dims[..len].split_at_mut(ends[0]);
    let (m, rest) = rest.split_at_mut(ends[1] - ends[0]);
    let (n, k) = rest.split_at_mut(ends[2] - ends[1]);
    let (dm, m_left) = merge_inner(m, |d| (d.a, d.c));
    let (dn, n_left) = merge_inner(n, |d| (d.b, d.c));
    let (dk, k_left) = merge_inner(k, |d| (d.a, d.b));
    // A GEMM with a tiny inner dimension is a memory-bound loop in disguise,
    // better left to the nest (dot products, outer products, scaling).
    if dk.size < limits.gemm_min_len || dm.size.max(dn.size) < limits.gemm_min_len {
        return false;
    }
    // The blocked kernel reads rows of B and writes rows of C as slices.
    if !native && (dn.b != 1 || dn.c != 1) {
        return false;
    }
    // The looped dimensions: batch, and the parts of M and N that did not
    // merge, outside the GEMM; the part of K that did not merge, as K blocks.
    let mut loops = [Dim::UNIT; MAX_GEMM_AXES];
    let mut nl = 0;
    for d in batch.iter().chain(&m[..m_left]).chain(&n[..n_left]) {
        loops[nl] = *d;
        nl += 1;
    }
    let n_outer = nl;
    for d in &k[..k_left] {
        loops[nl] = *d;
        nl += 1;
    }
    let (outer, k_outer) = loops[..nl].split_at(n_outer);

    let points: usize = outer.iter().map(|d| d.size).product();
    let kpoints: usize = k_outer.iter().map(|d| d.size).product();
    let threads = super::pool_threads();
    let parallel = threads > 1 && work >= limits.parallel_min_work;
    // Spread independent GEMMs over the pool when there are enough of them;
    // otherwise let `gemm` split each one.
    let per_call = if parallel && points < 2 * threads {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let (a, b, c) = (SendPtr(a), SendPtr(b), SendPtr(c));
    let run = |point: usize| {
        let (mut pa, mut pb, mut pc) = (a.get(), b.get(), c.get());
        let mut rem = point;
        for d in outer.iter().rev() {
            let i = (rem % d.size) as isize;
            rem /= d.size;
            pa = pa.wrapping_offset(i * d.a);
            pb = pb.wrapping_offset(i * d.b);
            pc = pc.wrapping_offset(i * d.c);
        }
        for kp in 0..kpoints {
            let (mut qa, mut qb) = (pa, pb);
            let mut rem = kp;
            for d in k_outer.iter().rev() {
                let i = (rem % d.size) as isize;
                rem /= d.size;
                qa = qa.wrapping_offset(i * d.a);
                qb = qb.wrapping_offset(i * d.b);
            }
            if !native {
                // SAFETY: as below; rows of B and C are contiguous (checked).
                unsafe { blocked(dm, dn, dk, pc, qa, qb, kp > 0) };
                continue;
            }
            // SAFETY: every (m, n, k) index of this call is a point of the
            // caller's nest, so the addresses are valid (caller); the first
            // K block overwrites C, the others add to it.
            unsafe {
                gemm::gemm(
                    dm.size,
                    dn.size,
                    dk.size,
                    pc,
                    dn.c,
                    dm.c,
                    kp > 0,
                    qa,
                    dk.a,
                    dm.a,
                    qb,
                    dn.b,
                    dk.b,
                    T::one(),
                    T::one(),
                    false,
                    false,
                    false,
                    per_call,
                );
            }
        }
    };
    if parallel && points >= 2 * threads {
        (0..points).into_par_iter().for_each(run);
    } else {
        (0..points).for_each(run);
    }
    true
}

multiversion! {
/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) for element
/// types `gemm` lacks, with rows of B and C contiguous.
///
/// LOOP 2: split n into panels of `COLS` columns; LOOP 1: four rows of C at
/// a time (then one); inside, each row of B, read once from cache, feeds the
/// four rows, and the column loop runs over slices, so it vectorizes.
///
/// # Safety
/// Every (m, n, k) index addresses valid elements of A and B for reads and of
/// C for writes (C overlapping neither), distinct (m, n) distinct elements,
/// and `dn.b == dn.c == 1`.
unsafe fn blocked<T: Scalar>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) => blocked_body;
}

/// The body of [`blocked`], inlined into each instruction-set build.
///
/// # Safety
/// As [`blocked`].
#[allow(
    clippy::too_many_arguments,
    reason = "those of `blocked`, and the build marker"
)]
#[inline(always)]
unsafe fn blocked_body<T: Scalar, const B: u8>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    _build: super::Build<B>,
) {
    /// Columns of a panel: four rows of 256 i64 are 8 KiB of C, within L1.
    const COLS: usize = 256;
    debug_assert!(dn.b == 1 && dn.c == 1);
    let (m, n) = (dm.size, dn.size);
    for j0 in (0..n).step_by(COLS) {
        let w = COLS.min(n - j0);
        let row = |i: usize| -> (*mut T, *const T) {
            let i = i as isize;
            (
                c.wrapping_offset(i.wrapping_mul(dm.c)).wrapping_add(j0),
                a.wrapping_offset(i.wrapping_mul(dm.a)),
            )
        };
        let b = b.wrapping_add(j0);
        let mut i = 0;
        while i + 4 <= m {
            let rows: [(*mut T, *const T); 4] = core::array::from_fn(|r| row(i + r));
            // SAFETY: four distinct rows of C (distinct m), each `w`
            // contiguous elements (caller).
            unsafe { panel(rows, b, dk, w, accumulate) };
            i += 4;
        }
        while i < m {
            // SAFETY: as above, one row.
            unsafe { panel([row(i)], b, dk, w, accumulate) };
            i += 1;
        }
    }
}

/// `R` rows of C (each `w` long) against `dk.size` rows of B.
///
/// # Safety
/// As [`blocked`], for these rows: `rows[r].0` is `w` valid elements of C
/// for writes, disjoint from each other and from A and B; `rows[r].1`
/// addresses A's row, stepping `dk.a` per k; `b` is `w` valid elements per
/// k, stepping `dk.b`.
#[inline(always)]
unsafe fn panel<T: Scalar, const R: usize>(
    rows: [(*mut T, *const T); R],
    b: *const T,
    dk: Dim,
    w: usize,
    accumulate: bool,
) {
    // SAFETY: the rows are disjoint runs of `w` elements of C (caller).
    let mut c: [&mut [T]; R] = rows.map(|(c, _)| unsafe { core::slice::from_raw_parts_mut(c, w) });
    if !accumulate {
        for row in c.iter_mut() {
            row.fill(T::zero());
        }
    }
    for kk in 0..dk.size as isize {
        // SAFETY: row kk of B, `w` elements (caller).
        let brow =
            unsafe { core::slice::from_raw_parts(b.wrapping_offset(kk.wrapping_mul(dk.b)), w) };
        // SAFETY: A[m, kk] for each row's m (caller).
        let av: [T; R] = rows.map(|(_, a)| unsafe { *a.wrapping_offset(kk.wrapping_mul(dk.a)) });
        for (r, row) in c.iter_mut().enumerate() {
            let x = av[r];
            for (cj, &bj) in row.iter_mut().zip(brow) {
                *cj = cj.add(x.mul(bj));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_innermost_run() {
        // M axes of A (strides 4, 1 → i, j with j inner) and C (strides 4, 1
        // for a (3, 4) block): mergeable when C's outer stride is 4·1.
        let i = Dim {
            size: 3,
            a: 4,
            b: 0,
            c: 4,
        };
        let j = Dim {
            size: 4,
            a: 1,
            b: 0,
            c: 1,
        };
        let mut m = [j, i];
        let (d, left) = merge_inner(&mut m, |d| (d.a, d.c));
        assert_eq!((d.size, left), (12, 0));
        // Not mergeable in C: the outer axis is looped.
        let mut m = [Dim { c: 5, ..i }, j];
        let (d, left) = merge_inner(&mut m, |d| (d.a, d.c));
        assert_eq!((d.size, left), (4, 1));
        assert_eq!(m[0], Dim { c: 5, ..i });
    }
}
