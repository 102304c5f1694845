//! How the loop nests go over their points: the axes ordered and merged
//! ([`arrange`]), picked by mask ([`mask`]), visited one point at a time
//! ([`walk`], [`walk_masked`]) or split over the pool ([`split`]), and the
//! nest with an empty axis ([`write_empty`]).

use super::pool::{for_each_task, pool_threads, SendPtr};
use crate::axes::Axis;
use crate::element::Scalar;
use crate::limits::MAX_AXES;
use crate::trace::{mark, KernelPath};
use crate::tuning;

/// Reorders and merges the loop axes of one call in place, for the kernel,
/// and returns how many are left: axes of length 1 go, the rest are ordered
/// from the largest strides (outermost) to the smallest (innermost), and an
/// axis merges into the one inside it when, for every operand and the
/// output, one step of the outer axis is a whole run of the inner one.
/// Last, a sum of at most [`SHORT_SUM`] terms innermost trades places with
/// a contiguous output axis of [`LONG_RUN`] or more just outside it.
pub(super) fn arrange<const K: usize>(axes: &mut [Axis<K>]) -> usize {
    let mut n = 0;
    for r in 0..axes.len() {
        if axes[r].size != 1 {
            axes[n] = axes[r];
            n += 1;
        }
    }
    let axes = &mut axes[..n];
    // Stable insertion sort, so ties keep the expression's order. Between
    // axes of equal strides the longer one goes inside: a 3×3 window's
    // offset steps by 1 just like the image row it slides along, and the
    // row is the run worth vectorizing.
    fn weight<const K: usize>(a: &Axis<K>) -> (usize, core::cmp::Reverse<usize>) {
        let w = a.strides.iter().fold(a.out.unsigned_abs(), |w, s| {
            w.saturating_add(s.unsigned_abs())
        });
        (w, core::cmp::Reverse(a.size))
    }
    for i in 1..axes.len() {
        let mut j = i;
        while j > 0 && weight(&axes[j - 1]) < weight(&axes[j]) {
            axes.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut w = 0;
    for r in 0..axes.len() {
        let inner = axes[r];
        if w > 0 {
            let outer = &mut axes[w - 1];
            let isize_len = inner.size as isize;
            let fits = outer.summed == inner.summed
                && outer.out == inner.out.wrapping_mul(isize_len)
                && (0..K).all(|k| outer.strides[k] == inner.strides[k].wrapping_mul(isize_len));
            if fits {
                if let Some(size) = outer.size.checked_mul(inner.size) {
                    *outer = Axis { size, ..inner };
                    continue;
                }
            }
        }
        axes[w] = inner;
        w += 1;
    }
    // A short sum innermost under a long output run (`"ik,nk->in"` with
    // K = 2, B transposed): the run goes inside instead, so the nest adds
    // whole rows of the output rather than summing two elements per output.
    if w >= 2 {
        let (inner, next) = (axes[w - 1], axes[w - 2]);
        if inner.summed
            && inner.size <= SHORT_SUM
            && !next.summed
            && next.out.unsigned_abs() == 1
            && next.size >= LONG_RUN
        {
            axes.swap(w - 1, w - 2);
        }
    }
    w
}

/// The longest summed axis [`arrange`] moves out of the innermost place.
const SHORT_SUM: usize = 4;

/// The shortest contiguous output axis [`arrange`] moves inside a short sum.
const LONG_RUN: usize = 16;

/// The mask of the axes that `keep` picks (bit `i` for `axes[i]`; at most
/// 64 axes).
pub(super) fn mask<const K: usize>(
    axes: &[Axis<K>],
    keep: impl Fn(usize, &Axis<K>) -> bool,
) -> u64 {
    debug_assert!(axes.len() <= 64);
    axes.iter()
        .enumerate()
        .filter(|&(i, a)| keep(i, a))
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// Visits every point of the nest `axes` (outermost first), calling `f` with
/// each operand's and the output's address there.
///
/// # Safety
/// Addresses are computed with wrapping arithmetic and never dereferenced
/// here; `f` may dereference them only if every point of the nest is a valid
/// element of each operand (and of the output).
#[inline(always)]
pub(super) unsafe fn walk<T, const K: usize, F>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    f: &mut F,
) where
    F: FnMut([*const T; K], *mut T),
{
    // SAFETY: every axis is stepped along, as the caller's promise covers.
    unsafe { walk_masked(axes, u64::MAX, ptrs, out, f) }
}

/// As [`walk`], over the axes whose bit is set in `mask` (bit 0 for
/// `axes[0]`); the others stay at index zero.
///
/// An odometer, not a recursion, so that it inlines whole into the
/// instruction-set builds of [`serial`] and `f` runs with their registers.
///
/// # Safety
/// As [`walk`], for the points of the picked axes.
#[inline(always)]
pub(super) unsafe fn walk_masked<T, const K: usize, F>(
    axes: &[Axis<K>],
    mask: u64,
    ptrs: [*const T; K],
    out: *mut T,
    f: &mut F,
) where
    F: FnMut([*const T; K], *mut T),
{
    debug_assert!(axes.len() <= MAX_AXES);
    let picked = |d: usize| (mask >> d) & 1 == 1;
    // Unpicked axes at the end are never stepped along.
    let mut n = axes.len();
    while n > 0 && !picked(n - 1) {
        n -= 1;
    }
    // No axis: one point, as one step of an axis of length 1, so that `f`
    // has one call site, which the compiler inlines.
    let unit = Axis::<K>::EMPTY;
    let (last, outer) = axes[..n].split_last().unwrap_or((&unit, &[]));
    if (0..n).any(|d| picked(d) && axes[d].size == 0) {
        return; // no point at all
    }
    let step = |p: &mut [*const T; K], o: &mut *mut T, a: &Axis<K>, times: isize| {
        for (p, &stride) in p.iter_mut().zip(&a.strides) {
            *p = p.wrapping_offset(stride.wrapping_mul(times));
        }
        *o = o.wrapping_offset(a.out.wrapping_mul(times));
    };
    let mut index = [0usize; MAX_AXES];
    let (mut p, mut o) = (ptrs, out);
    loop {
        let (mut q, mut r) = (p, o);
        for _ in 0..last.size {
            f(q, r);
            step(&mut q, &mut r, last, 1);
        }
        // The next point of the outer picked axes, innermost first.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            if !picked(d) {
                continue;
            }
            let a = &outer[d];
            index[d] += 1;
            if index[d] < a.size {
                step(&mut p, &mut o, a, 1);
                break;
            }
            // Back to the start of this axis; carry to the next one out.
            step(&mut p, &mut o, a, 1 - a.size as isize);
            index[d] = 0;
        }
    }
}

/// Elements the chunks of a split innermost axis start at a multiple of: a
/// 64-byte cache line of f64.
const LINE_ELEMENTS: usize = 8;

/// Runs `serial` over the nest `axes`, ordered by [`arrange`]: on parts of
/// it spread over the pool when the work is large, else on this thread.
///
/// # Safety
/// As [`super::dispatch`], and `serial` is sound on any part of a nest the
/// caller's promise covers.
pub(super) unsafe fn split<T: Scalar, const K: usize, F>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    serial: &F,
) where
    F: Fn(&[Axis<K>], [*const T; K], *mut T) + Sync,
{
    let limits = tuning::current();
    let threads = pool_threads();
    let work = axes.iter().fold(1usize, |w, a| w.saturating_mul(a.size));
    // Large work is split along its outermost output axis: distinct chunks
    // write distinct output elements, and only read the operands. Not a sum
    // into one run (`ijk->k`, `ij->j`): each thread would read a piece of
    // every row, and two threads took 1.6–1.8× one thread's time (200³
    // `ijk->k`: 5.5–6.4 ms against 3.5 ms).
    let split = axes
        .iter()
        .position(|a| !a.summed && a.size >= 2)
        .filter(|&s| s + 1 < axes.len() || !axes[..s].iter().any(|a| a.summed && a.size >= 2));
    if let (true, Some(s)) = (threads > 1 && work >= limits.parallel_min_work, split) {
        let axis = axes[s];
        // The innermost axis (a map over one run, as in `i,i->i`): one chunk
        // per thread, each starting a multiple of eight elements in, so that
        // on an output aligned to a cache line no two threads write one
        // line. Otherwise four chunks per thread, to even out their times.
        let (chunks, align) = if s + 1 == axes.len() {
            (threads.min(axis.size), LINE_ELEMENTS)
        } else {
            ((threads * 4).min(axis.size), 1)
        };
        let bound = |c: usize| {
            (axis.size * c / chunks)
                .next_multiple_of(align)
                .min(axis.size)
        };
        let (p, o) = (SendPtr(ptrs), SendPtr(out));
        mark(KernelPath::NestSplit);
        for_each_task(chunks, &|c| {
            let (start, end) = (bound(c), bound(c + 1));
            if start == end {
                return;
            }
            let mut sub = [Axis::<K>::EMPTY; MAX_AXES];
            sub[..axes.len()].copy_from_slice(axes);
            sub[s].size = end - start;
            let at = start as isize;
            let mut ptrs = p.get();
            for (p, &stride) in ptrs.iter_mut().zip(&axis.strides) {
                *p = p.wrapping_offset(stride.wrapping_mul(at));
            }
            let out = o.get().wrapping_offset(axis.out.wrapping_mul(at));
            // The chunk's points are points of this call's nest (caller),
            // and no other chunk writes its output elements.
            serial(&sub[..axes.len()], ptrs, out);
        });
        return;
    }
    mark(KernelPath::Nest);
    serial(axes, ptrs, out)
}

/// When an axis is empty, writes what the contraction is and returns
/// `true`: nothing when the output is empty, else zeros (a sum over an
/// empty range), or nothing when adding into the output (`add`). Returns
/// `false`, having written nothing, otherwise.
///
/// # Safety
/// As [`super::contract`].
pub(super) unsafe fn write_empty<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    add: bool,
) -> bool {
    assert!(K >= 1, "an einsum has at least one operand");
    assert!(axes.len() <= MAX_AXES, "einsum: at most MAX_AXES loop axes");
    if axes.iter().all(|a| a.size != 0) {
        return false;
    }
    if !add && axes.iter().all(|a| a.size != 0 || a.summed) {
        let outputs = mask(axes, |_, a| !a.summed);
        // SAFETY: the output points are valid for writes (caller).
        unsafe {
            walk_masked(axes, outputs, ptrs, out, &mut |_, o: *mut T| {
                o.write(T::zero())
            })
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;

    #[test]
    fn contiguous_axes_merge_and_smallest_stride_goes_inside() {
        // A (4, 3) C-order copy given in Fortran order: merges into one axis.
        let mut axes = [axis(3, [1], 1), axis(4, [3], 3)];
        let n = arrange(&mut axes);
        assert_eq!(&axes[..n], &[axis(12, [1], 1)]);
        // A transposed copy cannot merge; the axis with the smaller strides in
        // all (1 + 3 against 4 + 1) goes inside, and the length-1 axis goes.
        let mut axes = [axis(4, [1], 3), axis(3, [4], 1), axis(1, [7], 0)];
        let n = arrange(&mut axes);
        assert_eq!(&axes[..n], &[axis(3, [4], 1), axis(4, [1], 3)]);
    }

    #[test]
    fn of_equal_strides_the_longer_axis_goes_inside() {
        // A 3×3 window over an image row: the offset `j` and the position
        // `y` both step by 1 in the image; `y` (1022 long) goes inside.
        let y = axis(1022, [1, 0], 1);
        let j = axis(3, [1, 1], 0);
        for mut axes in [[y, j], [j, y]] {
            let n = arrange(&mut axes);
            assert_eq!(&axes[..n], &[j, y]);
        }
    }

    #[test]
    fn a_short_sum_goes_outside_a_long_output_run() {
        // "ik,nk->in" with K = 2 and B (N, K) row-major: k has the smallest
        // strides, but n, 512 long and contiguous in the output, goes inside.
        let i = axis(13, [2, 0], 512);
        let n_ax = axis(512, [0, 2], 1);
        let k = axis(2, [1, 1], 0);
        let mut axes = [i, k, n_ax];
        let n = arrange(&mut axes);
        assert_eq!(&axes[..n], &[i, k, n_ax]);
        // K = 5 is long enough to stay inside.
        let k5 = axis(5, [1, 1], 0);
        let (i5, n5) = (axis(13, [5, 0], 512), axis(512, [0, 5], 1));
        let mut axes = [i5, n5, k5];
        let n = arrange(&mut axes);
        assert_eq!(&axes[..n], &[i5, n5, k5]);
    }

    #[test]
    fn masks_pick_axes_by_position() {
        let axes = [axis(2, [1], 0), axis(3, [2], 1), axis(4, [6], 3)];
        assert_eq!(mask(&axes, |_, a| a.summed), 0b001);
        assert_eq!(mask(&axes, |i, _| i != 1), 0b101);
        // Walk the output axes only: the summed axis stays at index 0.
        let x = [0i64; 24];
        let mut seen = Vec::new();
        // SAFETY: nothing is dereferenced.
        unsafe {
            walk_masked(
                &axes,
                0b110,
                [x.as_ptr()],
                core::ptr::null_mut(),
                &mut |p, o| seen.push((p[0].offset_from(x.as_ptr()), o as isize / 8)),
            )
        };
        // Axis 1 outside, axis 2 inside, in the order given.
        let want: Vec<(isize, isize)> = (0..3)
            .flat_map(|b| (0..4).map(move |c| (2 * b + 6 * c, b + 3 * c)))
            .collect();
        assert_eq!(seen, want);
    }
}
