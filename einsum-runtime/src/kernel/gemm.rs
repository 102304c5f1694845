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

use crate::trace::{mark, Path};
use num_complex::Complex;

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

/// Whether `T` is `f32` or `f64`.
fn is_real_float<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>() || t == TypeId::of::<f64>()
}

/// The most columns the skinny kernel takes.
const SKINNY_N: usize = 16;

/// One GEMM dimension: its length and the strides of A, B and C along it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dim {
    pub(super) size: usize,
    pub(super) a: isize,
    pub(super) b: isize,
    pub(super) c: isize,
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
    // A narrow N (a few output channels) over rows of A a few elements
    // apart, with a contiguous K run: a convolution over windows. `gemm`
    // would make many tiny calls with most of its registers idle; the narrow
    // kernel below does the whole K of 16 rows at a time instead.
    // Built for f32 and f64 only: its instances (a build per N and
    // instruction set) are most of this crate's code.
    macro_rules! narrow_for {
        ($($t:ty)*) => {$(
            if TypeId::of::<T>() == TypeId::of::<$t>() {
                if let Some(ctx) = Narrow::<$t>::new(outer, k_outer, dm, dn, dk, a.cast(), b.cast(), c.cast()) {
                    // SAFETY: `T` is `$t`, so the casts keep the addresses'
                    // types; the caller's promise, for the same points.
                    unsafe { ctx.run(parallel && points >= 2 * threads) };
                    return true;
                }
            }
        )*};
    }
    // (Only instantiated for the types built for each instruction set,
    // among them f32 and f64: instantiating it for another type would
    // compile both builds of the narrow kernel for nothing.)
    if const { T::SIMD } {
        narrow_for!(f32 f64);
    }
    // A few output columns (N ≤ 16) along rows of B and C: `gemm` packs
    // and pads for wide panels, this kernel keeps a few rows of C in
    // registers for the whole K instead (a chain's skinny products).
    let skinny = is_real_float::<T>() && dn.size <= SKINNY_N && dn.b == 1 && dn.c == 1;
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    let skinny512 = skinny && super::isa() == super::Isa::Avx512 && super::skinny512::has::<T>();
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let skinny512 = false;
    mark(match (skinny512, skinny, native) {
        (true, _, _) => Path::Skinny512,
        (_, true, _) => Path::Skinny,
        (_, _, false) => Path::Blocked,
        _ => Path::Gemm,
    });
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
            // (f32 and f64 only, which are built for each instruction set:
            // `const`, so that no other type instantiates the skinny
            // kernels.)
            if const { T::SIMD } && skinny {
                #[cfg(all(target_arch = "x86_64", not(miri)))]
                if skinny512 {
                    // SAFETY: as below; the CPU has AVX-512 (`isa`), `T`
                    // is `f32` or `f64`, and rows of B and C are contiguous
                    // along N (checked), at most SKINNY_N long.
                    unsafe { super::skinny512::gemm([dm, dn, dk], pc, qa, qb, kp > 0) };
                    continue;
                }
                // The padded copy of B in this thread's scratch, taken here,
                // outside the kernel's builds.
                let padded = if dn.size <= 8 { 8 } else { SKINNY_N };
                super::with_scratch::<T, _>(dk.size * padded, |packed| {
                    // SAFETY: as below; rows of B and C are contiguous along
                    // N (checked), at most SKINNY_N long.
                    unsafe { skinny_gemm([dm, dn, dk], pc, qa, qb, kp > 0, packed) };
                });
                continue;
            }
            if !native {
                // SAFETY: as below; rows of B and C are contiguous (checked).
                // Each instruction-set build for the types built so
                // (`Sealed::SIMD`), the baseline one for the others, as the
                // nest's.
                unsafe {
                    if const { T::SIMD } {
                        blocked(dm, dn, dk, pc, qa, qb, kp > 0)
                    } else {
                        blocked_body::<T, 0>(dm, dn, dk, pc, qa, qb, kp > 0, super::Build::<0>)
                    }
                };
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
        mark(Path::GemmSplit);
        super::for_each_task(points, &run);
    } else {
        (0..points).for_each(run);
    }
    true
}

/// Rows of C the narrow kernel computes at a time (two AVX-512 vectors of
/// f64).
const NARROW_ROWS: usize = 16;
/// The widest N the narrow kernel takes.
const NARROW_MAX_N: usize = 8;
/// The largest row step of A (in elements) the narrow kernel takes.
const NARROW_MAX_STEP: isize = 16;
/// Elements of the narrow kernel's phase buffer (64 KiB of f64).
const NARROW_PHASES: usize = 8192;
/// Elements of the narrow kernel's copy of B.
const NARROW_B: usize = 2048;
/// The most K blocks whose phases the narrow kernel keeps.
const NARROW_MAX_SLOTS: usize = 64;

/// A task's phase buffer (the thread's scratch memory), with the K blocks it
/// holds: each slot's first A address and row count, or `None`.
struct Phases<'a, T> {
    buf: &'a mut [T],
    tags: [Option<(usize, usize)>; NARROW_MAX_SLOTS],
    /// The next slot to reuse.
    next: usize,
}

/// The narrow kernel's plan for one call: `C[m, n] ← Σ_k A[m, k] · B[k, n]`
/// at every outer point, where A's rows are `step` elements apart (`step`
/// small), each K block of A is a contiguous run, and N is at most
/// [`NARROW_MAX_N`].
///
/// Row `m` of a K block reads `A[base + step · m + kk]` for `kk < run`. Split
/// into `step` phases, `P[p][t] = A[base + step · t + p]`, that is
/// `P[kk % step][m + kk / step]`: for a fixed `kk`, consecutive rows are
/// consecutive elements of one phase. So each K step is one contiguous load
/// of 16 rows and one multiply-add per column of B, and the phases, built
/// once per point and K block, are about as many elements as the rows of A
/// they cover (a convolution's windows overlap, so that is less than the
/// rows × K a packed copy would take).
struct Narrow<T> {
    outer: [Dim; MAX_GEMM_AXES],
    n_outer: usize,
    /// Offset of each K block's first element in A, from a point's first.
    a_base: [isize; NARROW_MAX_SLOTS],
    kpoints: usize,
    /// The contiguous K run.
    run: usize,
    /// A's row step.
    step: usize,
    m: usize,
    /// C's row step.
    cm: isize,
    n: usize,
    /// C's column step.
    cn: isize,
    /// Rows per chunk of the phase buffer (a multiple of NARROW_ROWS).
    chunk: usize,
    /// Elements of one K block's phases (for a whole chunk), and how many
    /// fit in the buffer: at least `kpoints`, twice that when they fit, so
    /// that the next point finds the blocks it shares with this one (a
    /// convolution's window rows overlap) already built.
    slot: usize,
    slots: usize,
    /// B as a contiguous `K × N` (row `kp · run + kk`).
    b: [T; NARROW_B],
    a: SendPtr<*const T>,
    c: SendPtr<*mut T>,
}

// SAFETY: a `Narrow` only carries the call's read-only operand pointers and
// its output pointer across the pool threads of one call, which write
// disjoint output points (as `SendPtr`).
unsafe impl<T: Sync> Sync for Narrow<T> {}

impl<T: Scalar> Narrow<T> {
    /// The plan, if the narrow kernel takes this GEMM.
    #[allow(clippy::too_many_arguments, reason = "the classified GEMM, unpacked")]
    fn new(
        outer: &[Dim],
        k_outer: &[Dim],
        dm: Dim,
        dn: Dim,
        dk: Dim,
        a: *const T,
        b: *const T,
        c: *mut T,
    ) -> Option<Self> {
        let kpoints: usize = k_outer.iter().map(|d| d.size).product();
        let k = kpoints.checked_mul(dk.size)?;
        let fits = dk.a == 1
            && (1..=NARROW_MAX_STEP).contains(&dm.a)
            && dn.size <= NARROW_MAX_N
            && k.checked_mul(dn.size)? <= NARROW_B
            // B is read once for all points: it may not step along them.
            && outer.iter().all(|d| d.b == 0)
            && outer.len() <= MAX_GEMM_AXES;
        if !fits {
            return None;
        }
        let step = dm.a as usize;
        // Phase length per K block for `chunk` rows: chunk + run / step.
        let extra = dk.size.div_ceil(step);
        let rows_for = |slots: usize| {
            (NARROW_PHASES / (slots * step)).saturating_sub(extra) / NARROW_ROWS * NARROW_ROWS
        };
        let want = dm.size.next_multiple_of(NARROW_ROWS);
        let slots = if rows_for(2 * kpoints) >= want.min(4 * NARROW_ROWS) {
            2 * kpoints
        } else {
            kpoints
        };
        let rows = rows_for(slots).min(want);
        // `kpoints <= slots`: every K block has a slot and a base.
        if rows == 0 || slots > NARROW_MAX_SLOTS {
            return None;
        }
        let mut plan = Narrow {
            outer: [Dim::UNIT; MAX_GEMM_AXES],
            n_outer: outer.len(),
            a_base: [0; NARROW_MAX_SLOTS],
            kpoints,
            run: dk.size,
            step,
            m: dm.size,
            cm: dm.c,
            n: dn.size,
            cn: dn.c,
            chunk: rows,
            slot: step * (rows + extra),
            slots,
            b: [T::zero(); NARROW_B],
            a: SendPtr(a),
            c: SendPtr(c),
        };
        plan.outer[..outer.len()].copy_from_slice(outer);
        for kp in 0..kpoints {
            let (mut off_a, mut off_b, mut rem) = (0isize, 0isize, kp);
            for d in k_outer.iter().rev() {
                let i = (rem % d.size) as isize;
                rem /= d.size;
                off_a = off_a.wrapping_add(i.wrapping_mul(d.a));
                off_b = off_b.wrapping_add(i.wrapping_mul(d.b));
            }
            plan.a_base[kp] = off_a;
            for kk in 0..dk.size {
                let row = off_b.wrapping_add((kk as isize).wrapping_mul(dk.b));
                for j in 0..dn.size {
                    let at = row.wrapping_add((j as isize).wrapping_mul(dn.b));
                    // SAFETY: B[k, j] for a K index and a column of this
                    // call, the same at every outer point (checked above);
                    // valid for reads by `try_contract`'s promise.
                    plan.b[(kp * dk.size + kk) * dn.size + j] = unsafe { *b.wrapping_offset(at) };
                }
            }
        }
        Some(plan)
    }

    /// Computes every outer point, spread over the pool when `parallel`.
    ///
    /// # Safety
    /// As [`try_contract`], for the call this plan was made from.
    unsafe fn run(&self, parallel: bool) {
        let points: usize = self.outer[..self.n_outer].iter().map(|d| d.size).product();
        let one = |phases: &mut Phases<'_, T>, point: usize| {
            // SAFETY: a point of this call (caller); the buffer is this
            // task's own.
            unsafe {
                match self.n {
                    1 => narrow_point::<T, 1>(self, phases, point),
                    2 => narrow_point::<T, 2>(self, phases, point),
                    3 => narrow_point::<T, 3>(self, phases, point),
                    4 => narrow_point::<T, 4>(self, phases, point),
                    5 => narrow_point::<T, 5>(self, phases, point),
                    6 => narrow_point::<T, 6>(self, phases, point),
                    7 => narrow_point::<T, 7>(self, phases, point),
                    _ => narrow_point::<T, 8>(self, phases, point),
                }
            }
        };
        // Consecutive points share window rows: each task takes a run of
        // them, with one phase buffer (its thread's scratch) whose blocks
        // carry over from point to point.
        let tasks = if parallel {
            4 * super::pool_threads()
        } else {
            1
        }
        .min(points);
        let task = |t: usize| {
            super::with_scratch::<T, _>(NARROW_PHASES, |buf| {
                let mut phases = Phases {
                    buf,
                    tags: [None; NARROW_MAX_SLOTS],
                    next: 0,
                };
                for p in points * t / tasks..points * (t + 1) / tasks {
                    one(&mut phases, p);
                }
            })
        };
        mark(Path::Narrow);
        if tasks > 1 {
            mark(Path::NarrowSplit);
            super::for_each_task(tasks, &task);
        } else {
            (0..tasks).for_each(task);
        }
    }
}

multiversion! {
/// One outer point of a [`Narrow`] plan, `N` columns.
///
/// # Safety
/// As [`Narrow::run`], for this point; `N` is the plan's column count.
unsafe fn narrow_point<T: Scalar; const N: usize>(
    plan: &Narrow<T>,
    phases: &mut Phases<'_, T>,
    point: usize,
) => narrow_point_body;
}

/// The body of [`narrow_point`], inlined into each instruction-set build.
///
/// # Safety
/// As [`narrow_point`].
#[inline(always)]
unsafe fn narrow_point_body<T: Scalar, const N: usize, const B: u8>(
    plan: &Narrow<T>,
    phases: &mut Phases<'_, T>,
    point: usize,
    _build: super::Build<B>,
) {
    let (mut pa, mut pc) = (plan.a.get(), plan.c.get());
    let mut rem = point;
    for d in plan.outer[..plan.n_outer].iter().rev() {
        let i = (rem % d.size) as isize;
        rem /= d.size;
        pa = pa.wrapping_offset(i * d.a);
        pc = pc.wrapping_offset(i * d.c);
    }
    let (step, run, kpoints) = (plan.step, plan.run, plan.kpoints);
    for m0 in (0..plan.m).step_by(plan.chunk) {
        let rows = plan.chunk.min(plan.m - m0);
        let blocks = rows.div_ceil(NARROW_ROWS);
        let len = blocks * NARROW_ROWS + run.div_ceil(step);
        // The phases of each K block: P[kp][p][t] = A[row m0 + t, p] read
        // as `base + step · (m0 + t) + p`, where that is an element of a
        // valid row and run (t - kk / step < rows for some kk ≡ p); zero
        // elsewhere (the rows past the last, never stored).
        // Each K block's slot: kept from an earlier point when it read the
        // same rows of A (same first address, same row count), else built
        // in a slot this point does not use.
        // `kpoints <= slots <= NARROW_MAX_SLOTS` (`Narrow::new`).
        let mut slot_of = [0usize; NARROW_MAX_SLOTS];
        let mut pinned = [false; NARROW_MAX_SLOTS];
        for (slot, &off) in slot_of[..kpoints].iter_mut().zip(&plan.a_base) {
            let base = pa
                .wrapping_offset(off)
                .wrapping_offset((m0 as isize).wrapping_mul(step as isize));
            let tag = Some((base as usize, rows));
            if let Some(hit) = (0..plan.slots).find(|&i| phases.tags[i] == tag && !pinned[i]) {
                *slot = hit;
                pinned[hit] = true;
                continue;
            }
            let mut victim = phases.next;
            while pinned[victim] {
                victim = (victim + 1) % plan.slots;
            }
            phases.next = (victim + 1) % plan.slots;
            phases.tags[victim] = tag;
            pinned[victim] = true;
            *slot = victim;
            let block = &mut phases.buf[victim * plan.slot..][..step * len];
            // SAFETY: the phases' valid elements, as `deinterleave` says.
            unsafe {
                match step {
                    1 => deinterleave::<T, 1>(block, base, rows, run, len),
                    2 => deinterleave::<T, 2>(block, base, rows, run, len),
                    3 => deinterleave::<T, 3>(block, base, rows, run, len),
                    4 => deinterleave::<T, 4>(block, base, rows, run, len),
                    6 => deinterleave::<T, 6>(block, base, rows, run, len),
                    8 => deinterleave::<T, 8>(block, base, rows, run, len),
                    // Other steps, one element at a time.
                    _ => deinterleave_from(block, base, step, rows, run, len, 0),
                }
            }
        }
        // Where K offset kk of K block kp starts in the phases, for the
        // block of rows at 0: phase kk % step, element kk / step, of the
        // block's slot. One table for the chunk, so that the loop below, one
        // pass over every K offset, divides nothing.
        let ks = kpoints * run;
        let mut start = [0u32; NARROW_B];
        for (kb, s) in start[..ks].iter_mut().enumerate() {
            let (kp, kk) = (kb / run, kb % run);
            // At most `slots · slot <= NARROW_PHASES` (`Narrow::new`).
            *s = (slot_of[kp] * plan.slot + (kk % step) * len + kk / step) as u32;
        }
        for blk in 0..blocks {
            let r0 = blk * NARROW_ROWS;
            let mut acc = [[T::zero(); NARROW_ROWS]; N];
            for (kb, &s) in start[..ks].iter().enumerate() {
                {
                    let at = s as usize + r0;
                    let v: &[T; NARROW_ROWS] = phases.buf[at..at + NARROW_ROWS]
                        .try_into()
                        .expect("16 rows");
                    let bk = &plan.b[kb * N..][..N];
                    for (acc, &bv) in acc.iter_mut().zip(bk) {
                        for (x, &a) in acc.iter_mut().zip(v) {
                            // Fused in the builds with FMA (as `gemm`'s
                            // kernels are); the baseline has none.
                            *x = if B > 0 {
                                x.fused_add(a, bv)
                            } else {
                                x.add(a.mul(bv))
                            };
                        }
                    }
                }
            }
            for r in 0..NARROW_ROWS.min(rows - r0) {
                let row = pc.wrapping_offset(((m0 + r0 + r) as isize).wrapping_mul(plan.cm));
                for (j, acc) in acc.iter().enumerate() {
                    // SAFETY: C[m, j] of this point, a valid row and column,
                    // written by no other point (caller).
                    unsafe {
                        row.wrapping_offset((j as isize).wrapping_mul(plan.cn))
                            .write(acc[r])
                    };
                }
            }
        }
    }
}

/// The `S` phases of a K block, `block[p · len + t] = base[S · t + p]`,
/// where that is an element some valid row reads (`t < reach(p)`, below),
/// and zero up to `len`.
///
/// # Safety
/// `base[S · r + kk]` must be valid for reads for every `r < rows`,
/// `kk < run`; `block` holds `S · len` elements, `len >= rows + run / S`.
#[inline(always)]
unsafe fn deinterleave<T: Scalar, const S: usize>(
    block: &mut [T],
    base: *const T,
    rows: usize,
    run: usize,
    len: usize,
) {
    // Phase p is read up to t = rows - 1 + (run - 1 - p) / S. Elements of
    // whole groups t < rows + (run - S) / S are valid in every phase: read
    // them S at a time from one contiguous run of A, as the compiler likes.
    let whole = if run >= S { rows + (run - S) / S } else { 0 };
    let (phases, _) = block.split_at_mut(S * len);
    // Eight groups at a time: 8·S contiguous elements in, one run of eight
    // out per phase, which the compiler does with vector shuffles.
    let eights = whole / 8 * 8;
    for t0 in (0..eights).step_by(8) {
        // SAFETY: 8·S consecutive elements from S · t0, all in whole groups
        // (t0 + 7 < whole) (caller); `[[T; S]; 8]` has `T`'s alignment.
        let groups: [[T; S]; 8] = unsafe { base.wrapping_add(S * t0).cast::<[[T; S]; 8]>().read() };
        for p in 0..S {
            let run: [T; 8] = groups.map(|g| g[p]);
            phases[p * len + t0..][..8].copy_from_slice(&run);
        }
    }
    for t in eights..whole {
        // SAFETY: S consecutive elements from S · t, each at an offset
        // S · r + kk with r < rows, kk < run (t ≤ rows - 1 + (run - S) / S)
        // (caller).
        let group: [T; S] = unsafe { base.wrapping_add(S * t).cast::<[T; S]>().read() };
        for (p, &x) in group.iter().enumerate() {
            phases[p * len + t] = x;
        }
    }
    // SAFETY: the same block and elements (caller), from `whole` on.
    unsafe { deinterleave_from(phases, base, S, rows, run, len, whole) };
}

/// The phases' elements from `t = from` on, one at a time: read where some
/// valid row reads them, zero elsewhere.
///
/// # Safety
/// As [`deinterleave`], with `S = step`.
#[inline(always)]
unsafe fn deinterleave_from<T: Scalar>(
    block: &mut [T],
    base: *const T,
    step: usize,
    rows: usize,
    run: usize,
    len: usize,
    from: usize,
) {
    for p in 0..step {
        // Phase p is read up to t = rows - 1 + (run - 1 - p) / step.
        let reach = if p < run {
            rows + (run - 1 - p) / step
        } else {
            0
        };
        for t in from..len {
            block[p * len + t] = if t < reach {
                // SAFETY: t = r + j, r < rows, p + step · j < run (caller).
                unsafe { *base.wrapping_add(step * t + p) }
            } else {
                T::zero()
            };
        }
    }
}

/// Where row `i` (along M) of C and of A start.
#[inline(always)]
fn row_start<T>(dm: Dim, c: *mut T, a: *const T, i: usize) -> (*mut T, *const T) {
    let i = i as isize;
    (
        c.wrapping_offset(i.wrapping_mul(dm.c)),
        a.wrapping_offset(i.wrapping_mul(dm.a)),
    )
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
        let row = |i: usize| row_start(dm, c.wrapping_add(j0), a, i);
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

multiversion! {
/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) for at most
/// [`SKINNY_N`] columns, with rows of B and C contiguous.
///
/// B is copied once into rows padded to 8 or 16 elements (the padding's
/// values are never read into C); then 4 rows of C stay in registers over
/// the whole K, each step
/// a row of B against one element of A per row, fused multiply-adds where
/// the build has them.
///
/// # Safety
/// As [`blocked`] for `dims` = `[dm, dn, dk]`, with `dn.size <= SKINNY_N`.
unsafe fn skinny_gemm<T: Scalar>(
    dims: [Dim; 3],
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    packed: &mut [T],
) => skinny_body;
}

/// The body of [`skinny_gemm`], inlined into each instruction-set build.
///
/// # Safety
/// As [`skinny_gemm`].
#[inline(always)]
unsafe fn skinny_body<T: Scalar, const B: u8>(
    dims: [Dim; 3],
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    packed: &mut [T],
    _build: super::Build<B>,
) {
    let [dm, dn, dk] = dims;
    // SAFETY: the caller's promise, passed on with the padded width.
    unsafe {
        if dn.size <= 8 {
            skinny_padded::<T, B, 8>(dm, dn, dk, c, a, b, accumulate, packed)
        } else {
            skinny_padded::<T, B, 16>(dm, dn, dk, c, a, b, accumulate, packed)
        }
    }
}

/// [`skinny_body`] with rows of B padded to `P` elements, copied into
/// `packed` (`k · P` elements).
///
/// # Safety
/// As [`skinny_gemm`], with `dn.size <= P`.
#[allow(clippy::too_many_arguments, reason = "those of `skinny_gemm`")]
#[inline(always)]
unsafe fn skinny_padded<T: Scalar, const B: u8, const P: usize>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    packed: &mut [T],
) {
    let (m, n, k) = (dm.size, dn.size, dk.size);
    debug_assert!(n <= P && dn.b == 1 && dn.c == 1);
    let packed = &mut packed[..k * P];
    {
        for (kk, row) in packed.chunks_exact_mut(P).enumerate() {
            // SAFETY: row kk of B, `n` contiguous elements (caller).
            let src = unsafe {
                core::slice::from_raw_parts(b.wrapping_offset((kk as isize).wrapping_mul(dk.b)), n)
            };
            // Fixed-size moves, not library calls for ten elements. The
            // padding keeps whatever the scratch held: the sums it feeds are
            // never stored.
            copy_short(&mut row[..n], src);
        }
        let rows = |i: usize| row_start(dm, c, a, i);
        let mut i = 0;
        // Four rows at a time, then two and one. (AVX-512 CPUs run
        // `skinny512` instead.)
        while i + 4 <= m {
            let r: [(*mut T, *const T); 4] = core::array::from_fn(|j| rows(i + j));
            // SAFETY: four distinct rows of C (caller).
            unsafe { skinny_rows::<T, B, P, 4>(r, dk.a, packed, n, accumulate) };
            i += 4;
        }
        if i + 2 <= m {
            let r: [(*mut T, *const T); 2] = core::array::from_fn(|j| rows(i + j));
            // SAFETY: two distinct rows of C (caller).
            unsafe { skinny_rows::<T, B, P, 2>(r, dk.a, packed, n, accumulate) };
            i += 2;
        }
        if i < m {
            // SAFETY: one row of C (caller).
            unsafe { skinny_rows::<T, B, P, 1>([rows(i)], dk.a, packed, n, accumulate) };
        }
    }
}

/// `R` rows of C against the packed rows of B, the sums in registers.
///
/// # Safety
/// `rows[r].0` addresses `n` valid elements of C for writes, disjoint from
/// each other and from A; `rows[r].1` addresses A's row, an element per
/// packed row of B at steps of `ka`.
#[inline(always)]
unsafe fn skinny_rows<T: Scalar, const B: u8, const P: usize, const R: usize>(
    rows: [(*mut T, *const T); R],
    ka: isize,
    packed: &[T],
    n: usize,
    accumulate: bool,
) {
    // SAFETY: `n` elements of each row of C (caller); the rows are
    // disjoint.
    let mut c: [&mut [T]; R] = rows.map(|(c, _)| unsafe { core::slice::from_raw_parts_mut(c, n) });
    let mut acc = [[T::zero(); P]; R];
    if accumulate {
        for (acc, c) in acc.iter_mut().zip(&c) {
            copy_short(&mut acc[..n], c);
        }
    }
    let mut pa = rows.map(|(_, a)| a);
    let step = |acc: &mut [[T; P]; R], pa: &mut [*const T; R], brow: &[T]| {
        let brow: &[T; P] = brow.try_into().expect("a padded row");
        for (acc, pa) in acc.iter_mut().zip(pa.iter_mut()) {
            // SAFETY: A[m, kk] for this row's m (caller).
            let x = unsafe { pa.read() };
            *pa = pa.wrapping_offset(ka);
            for (s, &y) in acc.iter_mut().zip(brow) {
                *s = if B > 0 {
                    s.fused_add(x, y)
                } else {
                    s.add(x.mul(y))
                };
            }
        }
    };
    if R <= 2 {
        // Few rows: a second set of sums for odd k, so that the additions
        // of one row do not wait on each other.
        let mut odd = [[T::zero(); P]; R];
        let mut pairs = packed.chunks_exact(2 * P);
        for two in &mut pairs {
            step(&mut acc, &mut pa, &two[..P]);
            step(&mut odd, &mut pa, &two[P..]);
        }
        for brow in pairs.remainder().chunks_exact(P) {
            step(&mut acc, &mut pa, brow);
        }
        for (acc, odd) in acc.iter_mut().zip(&odd) {
            for (s, &o) in acc.iter_mut().zip(odd) {
                *s = s.add(o);
            }
        }
    } else {
        for brow in packed.chunks_exact(P) {
            step(&mut acc, &mut pa, brow);
        }
    }
    for (acc, c) in acc.iter().zip(c.iter_mut()) {
        copy_short(c, &acc[..n]);
    }
}

/// `dst ← src` for runs of at most 16 elements, as two fixed-size copies
/// that may overlap (so the compiler emits a few vector moves, not a call
/// to `memcpy` for a length it does not know).
#[inline(always)]
fn copy_short<T: Copy>(dst: &mut [T], src: &[T]) {
    #[inline(always)]
    fn two<T: Copy, const W: usize>(dst: &mut [T], src: &[T]) {
        let n = dst.len();
        for at in [0, n - W] {
            let d: &mut [T; W] = (&mut dst[at..at + W]).try_into().expect("W elements");
            *d = src[at..at + W].try_into().expect("W elements");
        }
    }
    let n = dst.len();
    debug_assert!(n == src.len() && n <= 16);
    match n {
        8.. => two::<T, 8>(dst, src),
        4..=7 => two::<T, 4>(dst, src),
        2..=3 => two::<T, 2>(dst, src),
        1 => dst[0] = src[0],
        _ => {}
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
