//! The window kernel: a GEMM whose rows of A are a few elements apart and
//! overlap, as a convolution's windows are, with a few output columns.

use super::isa;
use super::matrix::{Dim, Matrix, MAX_GEMM_AXES};
use super::pool::{for_each_task, pool_threads, SendPtr};
use super::scratch::with_scratch;
#[cfg(all(target_arch = "x86_64", not(miri)))]
use super::window512;
use crate::element::Scalar;
use crate::trace::{mark, KernelPath};
#[cfg(all(target_arch = "x86_64", not(miri)))]
use core::any::TypeId;

/// Rows of C the window kernel computes at a time (two AVX-512 vectors of
/// f64).
const WINDOW_ROWS: usize = 16;
/// The widest N the window kernel takes.
const WINDOW_MAX_N: usize = 8;
// The AVX-512 build writes C's rows of up to `WINDOW_MAX_N` columns.
#[cfg(all(target_arch = "x86_64", not(miri)))]
const _: () = assert!(WINDOW_MAX_N <= window512::MAX_STEP);
/// The largest row step of A (in elements) the window kernel takes.
const WINDOW_MAX_STEP: isize = 16;
/// Elements of the window kernel's phase buffer (64 KiB of f64).
const WINDOW_PHASES: usize = 8192;
/// Elements of the window kernel's copy of B.
const WINDOW_B: usize = 2048;
/// The most K blocks whose phases the window kernel keeps.
const WINDOW_MAX_SLOTS: usize = 64;

/// A task's phase buffer (the thread's scratch memory), with the K blocks it
/// holds: each slot's first A address and row count, or `None`.
struct Phases<'a, T> {
    buf: &'a mut [T],
    tags: [Option<(usize, usize)>; WINDOW_MAX_SLOTS],
    /// The next slot to reuse.
    next: usize,
    /// Where each K offset starts in `buf` (`window_point`'s table), kept
    /// here so that it is zeroed once per task rather than per chunk.
    start: [u32; WINDOW_B],
}

/// The window kernel's plan for one call: `C[m, n] ← Σ_k A[m, k] · B[k, n]`
/// at every outer point, where A's rows are `step` elements apart (`step`
/// small), each K block of A is a contiguous run, and N is at most
/// [`WINDOW_MAX_N`].
///
/// Row `m` of a K block reads `A[base + step · m + kk]` for `kk < run`. Split
/// into `step` phases, `P[p][t] = A[base + step · t + p]`, that is
/// `P[kk % step][m + kk / step]`: for a fixed `kk`, consecutive rows are
/// consecutive elements of one phase. So each K step is one contiguous load
/// of 16 rows and one multiply-add per column of B, and the phases, built
/// once per point and K block, are about as many elements as the rows of A
/// they cover (a convolution's windows overlap, so that is less than the
/// rows × K a packed copy would take).
pub(super) struct WindowGemm<T> {
    outer: [Dim; MAX_GEMM_AXES],
    n_outer: usize,
    /// Offset of each K block's first element in A, from a point's first.
    a_base: [isize; WINDOW_MAX_SLOTS],
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
    /// Rows per chunk of the phase buffer (a multiple of WINDOW_ROWS).
    chunk: usize,
    /// Elements of one K block's phases (for a whole chunk), and how many
    /// fit in the buffer: at least `kpoints`, twice that when they fit, so
    /// that the next point finds the blocks it shares with this one (a
    /// convolution's window rows overlap) already built.
    slot: usize,
    slots: usize,
    /// B as a contiguous `K × N` (row `kp · run + kk`).
    b: [T; WINDOW_B],
    a: SendPtr<*const T>,
    c: SendPtr<*mut T>,
}

// SAFETY: a `WindowGemm` only carries the call's read-only operand pointers and
// its output pointer across the pool threads of one call, which write
// disjoint output points (as `SendPtr`).
unsafe impl<T: Sync> Sync for WindowGemm<T> {}

impl<T: Scalar> WindowGemm<T> {
    /// The plan, if the window kernel takes this GEMM.
    pub(super) fn new(matrix: &Matrix, a: *const T, b: *const T, c: *mut T) -> Option<Self> {
        let (outer, k_outer) = (matrix.outer(), matrix.k_outer());
        let (dm, dn, dk) = (matrix.m, matrix.n, matrix.k);
        let kpoints: usize = k_outer.iter().map(|d| d.size).product();
        let k = kpoints.checked_mul(dk.size)?;
        // Rows of A that overlap (windows): packed once, each element of A
        // serves several rows. Rows apart from each other are a plain
        // matrix, which `gemm` and the skinny kernel run faster.
        let fits = dk.a == 1
            && (1..=WINDOW_MAX_STEP).contains(&dm.a)
            && (dm.a as usize) < dk.size
            && dn.size <= WINDOW_MAX_N
            && k.checked_mul(dn.size)? <= WINDOW_B
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
            (WINDOW_PHASES / (slots * step)).saturating_sub(extra) / WINDOW_ROWS * WINDOW_ROWS
        };
        let want = dm.size.next_multiple_of(WINDOW_ROWS);
        let slots = if rows_for(2 * kpoints) >= want.min(4 * WINDOW_ROWS) {
            2 * kpoints
        } else {
            kpoints
        };
        let rows = rows_for(slots).min(want);
        // `kpoints <= slots`: every K block has a slot and a base.
        if rows == 0 || slots > WINDOW_MAX_SLOTS {
            return None;
        }
        let mut plan = WindowGemm {
            outer: [Dim::UNIT; MAX_GEMM_AXES],
            n_outer: outer.len(),
            a_base: [0; WINDOW_MAX_SLOTS],
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
            b: [T::zero(); WINDOW_B],
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
                    // valid for reads by `gemm::try_contract`'s promise.
                    plan.b[(kp * dk.size + kk) * dn.size + j] = unsafe { *b.wrapping_offset(at) };
                }
            }
        }
        Some(plan)
    }

    /// Where outer point `point` starts in A and in C (computed with
    /// wrapping steps: the point after the last is only prefetched).
    fn point_start(&self, point: usize) -> (*const T, *mut T) {
        let (mut pa, mut pc) = (self.a.get(), self.c.get());
        let mut rem = point;
        for d in self.outer[..self.n_outer].iter().rev() {
            let i = (rem % d.size) as isize;
            rem /= d.size;
            pa = pa.wrapping_offset(i.wrapping_mul(d.a));
            pc = pc.wrapping_offset(i.wrapping_mul(d.c));
        }
        (pa, pc)
    }

    /// Computes every outer point, spread over the pool when `parallel`.
    ///
    /// # Safety
    /// As `gemm::try_contract`, for the call this plan was made from.
    pub(super) unsafe fn compute(&self, parallel: bool) {
        let points: usize = self.outer[..self.n_outer].iter().map(|d| d.size).product();
        let one = |phases: &mut Phases<'_, T>, point: usize| {
            // SAFETY: a point of this call (caller); the buffer is this
            // task's own.
            unsafe { window_point(self, phases, point) }
        };
        // Consecutive points share window rows: each task takes a run of
        // them, with one phase buffer (its thread's scratch) whose blocks
        // carry over from point to point.
        let tasks = if parallel { 4 * pool_threads() } else { 1 }.min(points);
        let task = |t: usize| {
            with_scratch::<T, _>(WINDOW_PHASES, |buf| {
                let mut phases = Phases {
                    buf,
                    tags: [None; WINDOW_MAX_SLOTS],
                    next: 0,
                    start: [0; WINDOW_B],
                };
                for p in points * t / tasks..points * (t + 1) / tasks {
                    one(&mut phases, p);
                }
            })
        };
        mark(KernelPath::Window);
        if tasks > 1 {
            mark(KernelPath::WindowSplit);
            for_each_task(tasks, &task);
        } else {
            (0..tasks).for_each(task);
        }
    }
}

/// The rows of A the next outer point reads, asked of the memory one cache
/// line per K step of this point. The next point's new window rows would
/// otherwise come from memory while it builds their phases: the hardware's
/// prefetcher stops at each page, and the rows of a batch of images are
/// megabytes. One line per step keeps the requests from queueing.
#[derive(Clone, Copy)]
struct Ahead<T> {
    /// The next point's first element of A.
    next: *const T,
    /// Elements of A each K block's rows span.
    span: usize,
    /// The K block and element of the next request.
    kp: usize,
    at: usize,
}

impl<T: Scalar> Ahead<T> {
    /// The requests for the point after `point`.
    fn new(plan: &WindowGemm<T>, point: usize) -> Self {
        Ahead {
            next: plan.point_start(point + 1).0,
            span: plan.step * (plan.m - 1) + plan.run,
            kp: 0,
            at: 0,
        }
    }

    /// Asks for the next cache line, if any is left.
    #[inline(always)]
    fn line(&mut self, plan: &WindowGemm<T>) {
        if self.kp == plan.kpoints {
            return;
        }
        let at = self
            .next
            .wrapping_offset(plan.a_base[self.kp])
            .wrapping_add(self.at);
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        // SAFETY: SSE, which the intrinsic needs, is in every x86-64 CPU; a
        // prefetch reads nothing the program sees and faults on no address
        // (`at` may be past A's end after the last point).
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at.cast())
        };
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        let _ = at;
        self.at += (64 / core::mem::size_of::<T>()).max(1);
        if self.at >= self.span {
            (self.kp, self.at) = (self.kp + 1, 0);
        }
    }
}

/// One outer point of a [`WindowGemm`] plan: the phases' bookkeeping here,
/// in one build, and the arithmetic in [`window_rows`], built per column
/// count and instruction set.
///
/// # Safety
/// As [`WindowGemm::compute`], for this point.
unsafe fn window_point<T: Scalar>(plan: &WindowGemm<T>, phases: &mut Phases<'_, T>, point: usize) {
    let (pa, pc) = plan.point_start(point);
    let (step, run, kpoints) = (plan.step, plan.run, plan.kpoints);
    let mut ahead = Ahead::new(plan, point);
    for m0 in (0..plan.m).step_by(plan.chunk) {
        let rows = plan.chunk.min(plan.m - m0);
        let blocks = rows.div_ceil(WINDOW_ROWS);
        let len = blocks * WINDOW_ROWS + run.div_ceil(step);
        // The phases of each K block: P[kp][p][t] = A[row m0 + t, p] read
        // as `base + step · (m0 + t) + p`, where that is an element of a
        // valid row and run (t - kk / step < rows for some kk ≡ p); zero
        // elsewhere (the rows past the last, never stored).
        // Each K block's slot: kept from an earlier point when it read the
        // same rows of A (same first address, same row count), else built
        // in a slot this point does not use.
        // `kpoints <= slots <= WINDOW_MAX_SLOTS` (`WindowGemm::new`).
        let mut slot_of = [0usize; WINDOW_MAX_SLOTS];
        let mut pinned = [false; WINDOW_MAX_SLOTS];
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
            unsafe { deinterleave_block(block, base, step, rows, run, len) };
        }
        // Where K offset kk of K block kp starts in the phases, for the
        // block of rows at 0: phase kk % step, element kk / step, of the
        // block's slot. One table for the chunk, so that the loop below, one
        // pass over every K offset, divides nothing; counted up here, since
        // two divisions per entry cost more than the table's use.
        let ks = kpoints * run;
        let table = phases.start[..ks].chunks_exact_mut(run);
        for (entries, &slot) in table.zip(&slot_of[..kpoints]) {
            let (mut phase, mut at) = (0, slot * plan.slot);
            for s in entries {
                // At most `slots · slot <= WINDOW_PHASES` (`WindowGemm::new`).
                *s = (at + phase * len) as u32;
                phase += 1;
                if phase == step {
                    (phase, at) = (0, at + 1);
                }
            }
        }
        let pc = pc.wrapping_offset((m0 as isize).wrapping_mul(plan.cm));
        let (buf, start) = (&*phases.buf, &phases.start[..ks]);
        // SAFETY (each arm): rows `m0..m0 + rows` of this point, whose
        // phases `start` locates in `buf` (caller); `N` is the plan's
        // column count.
        unsafe {
            match plan.n {
                1 => window_rows::<T, 1>(plan, buf, start, pc, rows, &mut ahead),
                2 => window_rows::<T, 2>(plan, buf, start, pc, rows, &mut ahead),
                3 => window_rows::<T, 3>(plan, buf, start, pc, rows, &mut ahead),
                4 => window_rows::<T, 4>(plan, buf, start, pc, rows, &mut ahead),
                5 => window_rows::<T, 5>(plan, buf, start, pc, rows, &mut ahead),
                6 => window_rows::<T, 6>(plan, buf, start, pc, rows, &mut ahead),
                7 => window_rows::<T, 7>(plan, buf, start, pc, rows, &mut ahead),
                _ => window_rows::<T, 8>(plan, buf, start, pc, rows, &mut ahead),
            }
        }
    }
}

multiversion! {
/// The `rows` rows of C from `pc` (a chunk of one point), `N` columns, from
/// the phases in `buf`: K offset `kb` of row block 0 at `buf[start[kb]]`.
///
/// # Safety
/// `pc` is row 0 of the chunk in C, whose `rows` rows and `N` columns (the
/// plan's) are valid for writes and written by no other thread;
/// `start[kb] + rows.next_multiple_of(WINDOW_ROWS) <= buf.len()`, checked.
unsafe fn window_rows<T: Scalar; const N: usize>(
    plan: &WindowGemm<T>,
    buf: &[T],
    start: &[u32],
    pc: *mut T,
    rows: usize,
    ahead: &mut Ahead<T>,
) => window_rows_body, x86_64 baseline window_rows_portable;
}

/// The body of [`window_rows`], inlined into each instruction-set build.
///
/// # Safety
/// As [`window_rows`].
#[inline(always)]
unsafe fn window_rows_body<T: Scalar, const N: usize, const B: u8>(
    plan: &WindowGemm<T>,
    buf: &[T],
    start: &[u32],
    pc: *mut T,
    rows: usize,
    ahead: &mut Ahead<T>,
) {
    // A copy in registers: through the reference, each step stored it back.
    let mut next = *ahead;
    let blocks = rows.div_ceil(WINDOW_ROWS);
    // Every read below checked here, once: a check inside the loop would
    // keep the accumulators in memory (stored back at every K step, for the
    // panic's sake) instead of in registers.
    let padded = blocks * WINDOW_ROWS;
    assert!(
        start.iter().all(|&s| s as usize + padded <= buf.len()) && start.len() * N <= WINDOW_B,
        "einsum: the window kernel's phases cover its rows"
    );
    for blk in 0..blocks {
        let r0 = blk * WINDOW_ROWS;
        let mut acc = [[T::zero(); WINDOW_ROWS]; N];
        for (kb, &s) in start.iter().enumerate() {
            next.line(plan);
            // SAFETY: `s + r0 + WINDOW_ROWS <= s + padded <= buf.len()` and
            // `kb · N + N <= start.len() · N <= WINDOW_B`, both checked
            // above; arrays of `T` have `T`'s alignment.
            let (v, bk) = unsafe {
                (
                    buf.as_ptr()
                        .add(s as usize + r0)
                        .cast::<[T; WINDOW_ROWS]>()
                        .read(),
                    plan.b.as_ptr().add(kb * N).cast::<[T; N]>().read(),
                )
            };
            for (acc, &bv) in acc.iter_mut().zip(&bk) {
                for (x, &a) in acc.iter_mut().zip(&v) {
                    // Fused in the builds with FMA (as `gemm`'s kernels
                    // are); the baseline has none.
                    *x = if isa::fuses(B) {
                        x.fused_add(a, bv)
                    } else {
                        x.add(a.mul(bv))
                    };
                }
            }
        }
        let whole = rows - r0 >= WINDOW_ROWS;
        // SAFETY: rows r0..r0 + 16 of this point when `whole` (caller).
        if whole
            && unsafe {
                rows_by_intrinsics::<T, N, B>(
                    plan,
                    &acc,
                    pc.wrapping_offset((r0 as isize).wrapping_mul(plan.cm)),
                )
            }
        {
            continue;
        }
        for r in 0..WINDOW_ROWS.min(rows - r0) {
            let row = pc.wrapping_offset(((r0 + r) as isize).wrapping_mul(plan.cm));
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
    *ahead = next;
}

/// Sixteen rows of C from `pc` written from `acc` with [`window512`], for
/// `f64` in the AVX-512 build when C's rows are its `N` columns one after
/// another; false, having written nothing, otherwise.
///
/// # Safety
/// Rows `0..16` at `pc` and the plan's `N` columns are valid for writes and
/// written by no other thread.
#[inline(always)]
unsafe fn rows_by_intrinsics<T: Scalar, const N: usize, const B: u8>(
    plan: &WindowGemm<T>,
    acc: &[[T; WINDOW_ROWS]; N],
    pc: *mut T,
) -> bool {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if B == isa::AVX512
        && plan.cn == 1
        && plan.cm == N as isize
        && TypeId::of::<T>() == TypeId::of::<f64>()
    {
        // SAFETY: `T` is `f64`, so the casts keep the types; the AVX-512
        // build runs only on CPUs that have it (`isa`); with unit column
        // steps and rows `N` apart, the 16 rows are the `16 · N` elements
        // from `pc` (caller); `N <= WINDOW_MAX_N = window512::MAX_STEP`.
        unsafe {
            let acc = &*(acc as *const [[T; WINDOW_ROWS]; N]).cast::<[[f64; WINDOW_ROWS]; N]>();
            window512::write_rows::<N>(acc, pc.cast());
        }
        return true;
    }
    let _ = (plan, acc, pc);
    false
}

/// [`window_rows`] on an x86-64 CPU without AVX2: one build for every
/// column count (`N` read at run time), instead of a baseline build per
/// count.
///
/// # Safety
/// As [`window_rows`].
#[cfg(all(target_arch = "x86_64", not(miri)))]
unsafe fn window_rows_portable<T: Scalar, const N: usize>(
    plan: &WindowGemm<T>,
    buf: &[T],
    start: &[u32],
    pc: *mut T,
    rows: usize,
    _ahead: &mut Ahead<T>,
) {
    // SAFETY: the caller's promise; `N` is the plan's column count.
    unsafe { window_rows_any(plan, buf, start, pc, rows, N) }
}

/// [`window_rows_body`]'s baseline arithmetic for `n <= WINDOW_MAX_N`
/// columns given at run time.
///
/// # Safety
/// As [`window_rows`], with `n` for `N`.
#[cfg_attr(any(miri, not(target_arch = "x86_64")), allow(dead_code))]
#[inline(never)]
unsafe fn window_rows_any<T: Scalar>(
    plan: &WindowGemm<T>,
    buf: &[T],
    start: &[u32],
    pc: *mut T,
    rows: usize,
    n: usize,
) {
    assert!(n <= WINDOW_MAX_N, "einsum: at most WINDOW_MAX_N columns");
    for r0 in (0..rows).step_by(WINDOW_ROWS) {
        let mut acc = [[T::zero(); WINDOW_ROWS]; WINDOW_MAX_N];
        for (kb, &s) in start.iter().enumerate() {
            let at = s as usize + r0;
            let v = &buf[at..at + WINDOW_ROWS];
            for (acc, &bv) in acc[..n].iter_mut().zip(&plan.b[kb * n..][..n]) {
                for (x, &a) in acc.iter_mut().zip(v) {
                    *x = x.add(a.mul(bv));
                }
            }
        }
        for r in 0..WINDOW_ROWS.min(rows - r0) {
            let row = pc.wrapping_offset(((r0 + r) as isize).wrapping_mul(plan.cm));
            for (j, acc) in acc[..n].iter().enumerate() {
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

multiversion! {
/// The phases of one K block: [`deinterleave`] for the usual steps, one
/// element at a time for others. Out of line, one build per instruction
/// set: inlined, each step's copy would be compiled again in every column
/// count's build of [`window_rows`].
///
/// # Safety
/// As [`deinterleave`], with `S = step`.
unsafe fn deinterleave_block<T: Scalar>(
    block: &mut [T],
    base: *const T,
    step: usize,
    rows: usize,
    run: usize,
    len: usize,
) => deinterleave_block_body, x86_64 baseline deinterleave_block_portable;
}

/// The body of [`deinterleave_block`], inlined into each instruction-set
/// build.
///
/// # Safety
/// As [`deinterleave_block`].
#[inline(always)]
unsafe fn deinterleave_block_body<T: Scalar, const B: u8>(
    block: &mut [T],
    base: *const T,
    step: usize,
    rows: usize,
    run: usize,
    len: usize,
) {
    // SAFETY (each arm): the caller's promise, with `S = step`.
    unsafe {
        match step {
            1 => deinterleave::<T, 1, B>(block, base, rows, run, len),
            2 => deinterleave::<T, 2, B>(block, base, rows, run, len),
            3 => deinterleave::<T, 3, B>(block, base, rows, run, len),
            4 => deinterleave::<T, 4, B>(block, base, rows, run, len),
            6 => deinterleave::<T, 6, B>(block, base, rows, run, len),
            8 => deinterleave::<T, 8, B>(block, base, rows, run, len),
            _ => deinterleave_from(block, base, step, rows, run, len, 0),
        }
    }
}

/// [`deinterleave_block`] on an x86-64 CPU without AVX2: every step one
/// element at a time, instead of a baseline build per step.
///
/// # Safety
/// As [`deinterleave_block`].
#[cfg(all(target_arch = "x86_64", not(miri)))]
unsafe fn deinterleave_block_portable<T: Scalar>(
    block: &mut [T],
    base: *const T,
    step: usize,
    rows: usize,
    run: usize,
    len: usize,
) {
    // SAFETY: the caller's promise.
    unsafe { deinterleave_from(block, base, step, rows, run, len, 0) }
}

/// The `S` phases of a K block, `block[p · len + t] = base[S · t + p]`,
/// where that is an element some valid row reads (`t < reach(p)`, below),
/// and zero up to `len`.
///
/// # Safety
/// `base[S · r + kk]` must be valid for reads for every `r < rows`,
/// `kk < run`; `block` holds `S · len` elements, `len >= rows + run / S`.
#[inline(always)]
unsafe fn deinterleave<T: Scalar, const S: usize, const B: u8>(
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
    // SAFETY: the groups below `eights` are whole (caller).
    let done = unsafe { eights_by_intrinsics::<T, S, B>(phases, base, len, eights) };
    for t0 in (0..eights).step_by(8).filter(|_| !done) {
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

/// Groups `0..eights` of [`deinterleave`] for `f64` in the AVX-512 build,
/// with [`window512`]; false, having done nothing, for other types, steps
/// and builds.
///
/// # Safety
/// As [`deinterleave`], and the groups below `eights` are whole.
#[inline(always)]
unsafe fn eights_by_intrinsics<T: Scalar, const S: usize, const B: u8>(
    phases: &mut [T],
    base: *const T,
    len: usize,
    eights: usize,
) -> bool {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if B == isa::AVX512
        && (2..=window512::MAX_STEP).contains(&S)
        && TypeId::of::<T>() == TypeId::of::<f64>()
    {
        // SAFETY: `T` is `f64`, so the casts keep the types; the AVX-512
        // build runs only on CPUs that have it (`isa`); the groups below
        // `eights` are valid for reads (caller), and `phases` holds
        // `S · len >= (S - 1) · len + eights` elements (`eights <= len`).
        unsafe {
            let phases = core::slice::from_raw_parts_mut(phases.as_mut_ptr().cast(), phases.len());
            window512::deinterleave::<S>(phases, base.cast(), len, eights);
        }
        return true;
    }
    let _ = (phases, base, len, eights);
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan for `n` columns of B = `b` (K × n, row-major), writing C rows
    /// `cm` apart; only the fields the row kernels read are set.
    fn plan(b: &[f64], n: usize, cm: isize) -> WindowGemm<f64> {
        let mut plan = WindowGemm {
            outer: [Dim::UNIT; MAX_GEMM_AXES],
            n_outer: 0,
            a_base: [0; WINDOW_MAX_SLOTS],
            kpoints: 1,
            run: b.len() / n,
            step: 1,
            m: 0,
            cm,
            n,
            cn: 1,
            chunk: WINDOW_ROWS,
            slot: 0,
            slots: 1,
            b: [0.0; WINDOW_B],
            a: SendPtr(core::ptr::null()),
            c: SendPtr(core::ptr::null_mut()),
        };
        plan.b[..b.len()].copy_from_slice(b);
        plan
    }

    #[test]
    fn rows_for_any_column_count_match_a_plain_loop() {
        let (ks, rows) = (5, 21);
        let buf: Vec<f64> = (0..64).map(|i| (i * 7 % 11) as f64 - 5.0).collect();
        let start: Vec<u32> = (0..ks as u32).map(|kb| 3 * kb + 1).collect();
        for n in 1..=WINDOW_MAX_N {
            let b: Vec<f64> = (0..ks * n).map(|i| (i % 5) as f64 - 2.0).collect();
            let p = plan(&b, n, n as isize);
            let mut want = vec![0.0; rows * n];
            for r in 0..rows {
                for j in 0..n {
                    want[r * n + j] = (0..ks)
                        .map(|kb| buf[start[kb] as usize + r] * b[kb * n + j])
                        .sum();
                }
            }
            let mut got = vec![f64::NAN; rows * n];
            // SAFETY: `rows` rows of `n` columns, `n` apart, in `got`; every
            // start plus the rows rounded up to WINDOW_ROWS is within `buf`.
            unsafe { window_rows_any(&p, &buf, &start, got.as_mut_ptr(), rows, n) };
            assert_eq!(got, want, "n = {n}");
        }
    }

    #[test]
    fn deinterleave_of_every_step_matches_its_definition() {
        let a: Vec<f64> = (0..400).map(|i| i as f64 + 0.5).collect();
        for step in [1, 2, 3, 4, 5, 6, 8, 11] {
            for (rows, run) in [(1usize, 1usize), (9, 3), (20, 17), (3, 24)] {
                let len = rows + run.div_ceil(step);
                // Element p · len + t: A[step · t + p] where some row r < rows
                // reads it (t = r + j, p + step · j < run), else zero.
                let mut want = vec![0.0; step * len];
                for r in 0..rows {
                    for kk in 0..run {
                        want[(kk % step) * len + r + kk / step] = a[step * r + kk];
                    }
                }
                let mut got = vec![f64::NAN; step * len];
                // SAFETY: A[step · r + kk] for r < rows, kk < run is within
                // `a`; `got` holds step · len elements.
                unsafe {
                    deinterleave_block_body::<f64, { isa::BASELINE }>(
                        &mut got,
                        a.as_ptr(),
                        step,
                        rows,
                        run,
                        len,
                    )
                };
                assert_eq!(got, want, "step {step}, rows {rows}, run {run}");
                let mut slow = vec![f64::NAN; step * len];
                // SAFETY: as above.
                unsafe { deinterleave_from(&mut slow, a.as_ptr(), step, rows, run, len, 0) };
                assert_eq!(
                    slow, want,
                    "one at a time: step {step}, rows {rows}, run {run}"
                );
            }
        }
    }
}
