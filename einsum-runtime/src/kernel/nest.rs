//! The general strided loop nest: `out[o] ← Σ_s Π_k in_k[o, s]` over any
//! number of operands, axes and strides.
//!
//! The loop order is chosen from the strides at run time, as ndarray's `Zip`
//! does: axes of length 1 are dropped, the axis with the smallest strides
//! goes innermost, and neighbouring axes that step through every operand as
//! one longer axis are merged. Then one of three shapes of nest runs:
//! - **map** (no summed axis): `out[o] ← Π_k in_k[o]`, each output element
//!   written once;
//! - **reduce** (the innermost axis is summed): output axes outside, summed
//!   axes inside, the sum kept in a register and written once;
//! - **accumulate** (the innermost axis is an output axis, with summed axes
//!   too): the output is zeroed, then `out[o] += Π_k in_k[o, s]` with the
//!   output's unit-stride axis innermost, so the inner loop vectorizes.

use super::inner::{self, product};
use super::isa::BASELINE;
#[cfg(all(target_arch = "x86_64", not(miri)))]
use super::many::serial_exact;
use super::pool::{for_each_task, pool_threads, SendPtr};
use super::transpose;
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
    w
}

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

/// An axis of `rest` that, with the inner axis, makes a transposition: one
/// of the two is the output's contiguous axis but steps through an input far
/// apart, the other the inputs' contiguous axis but the output's far one.
/// [`transpose::store_tiled`] does such a plane tile by tile.
fn transposing_axis<const K: usize>(rest: &[Axis<K>], inner: &Axis<K>) -> Option<usize> {
    let tile = tuning::current().transpose_min_len;
    let out_fast = |a: &Axis<K>| {
        a.out.unsigned_abs() == 1 && a.strides.iter().any(|s| s.unsigned_abs() >= tile)
    };
    let in_fast = |a: &Axis<K>| {
        a.out.unsigned_abs() >= tile && a.strides.iter().all(|s| s.unsigned_abs() <= 1)
    };
    if inner.size < tile || !(out_fast(inner) || in_fast(inner)) {
        return None;
    }
    let inner_out_fast = out_fast(inner);
    rest.iter().position(|a| {
        a.size >= tile
            && if inner_out_fast {
                in_fast(a)
            } else {
                out_fast(a)
            }
    })
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

/// Runs the loop nest over axes already ordered by [`arrange`]: split
/// along its outermost output axis over the pool when the work is large
/// (distinct chunks write distinct output elements, and only read the
/// operands), else on this thread.
///
/// # Safety
/// As [`super::dispatch`].
pub(super) unsafe fn contract_nest<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
) {
    // SAFETY: the caller's promise, for each part of the nest.
    unsafe {
        split(axes, ptrs, out, &|axes, ptrs, out| {
            serial_here(axes, ptrs, out)
        })
    }
}

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
    // write distinct output elements, and only read the operands.
    let split = axes.iter().position(|a| !a.summed && a.size >= 2);
    if let (true, Some(s)) = (threads > 1 && work >= limits.parallel_min_work, split) {
        let axis = axes[s];
        let chunks = (threads * 4).min(axis.size);
        let (p, o) = (SendPtr(ptrs), SendPtr(out));
        mark(KernelPath::NestSplit);
        for_each_task(chunks, &|c| {
            let (start, end) = (axis.size * c / chunks, axis.size * (c + 1) / chunks);
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

/// [`serial`] in each instruction-set build for the element types whose
/// kernels this crate builds so (`Prebuilt::PER_ISA`), else in the
/// baseline build alone: for the other element types three builds of the
/// loop nest would be most of the code their calls add to a build, this
/// crate's or a caller's.
///
/// # Safety
/// As [`super::dispatch`].
#[inline(always)]
unsafe fn serial_here<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
) {
    if const { T::PER_ISA } {
        // SAFETY: the caller's promise.
        unsafe { serial(axes, ptrs, out) }
    } else {
        // SAFETY: the caller's promise.
        unsafe { serial_body::<T, K, BASELINE>(axes, ptrs, out) }
    }
}

multiversion! {
/// The loop nest on this thread, over axes already ordered by [`arrange`].
///
/// The same body is built for AVX-512 and AVX2 and picked at run time (the
/// baseline build serves other machines and Miri), so the innermost runs
/// vectorize with the widest registers the machine has.
///
/// # Safety
/// As [`super::dispatch`].
unsafe fn serial<T: Scalar; const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
) => serial_body, x86_64 baseline serial_exact;
}

/// The body of [`serial`], inlined into each instruction-set build.
///
/// # Safety
/// As [`super::dispatch`].
#[inline(always)]
unsafe fn serial_body<T: Scalar, const K: usize, const B: u8>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
) {
    let Some((inner, rest)) = axes.split_last() else {
        // No axis of length above 1: one product.
        // SAFETY: index zero of each operand and of the output (caller).
        unsafe { out.write(product(ptrs)) };
        return;
    };
    if inner.summed {
        // Reduce: output axes outside, summed axes inside, the innermost
        // summed axis one run.
        let last = axes.len() - 1;
        let outputs = mask(axes, |_, a| !a.summed);
        let summed = mask(axes, |i, a| a.summed && i != last);
        // SAFETY: every (output, summed) point is a point of the caller's
        // nest, so each address is valid (caller).
        unsafe {
            walk_masked(axes, outputs, ptrs, out, &mut |p, o: *mut T| {
                let acc = if summed == 0 {
                    inner::sum(p, inner)
                } else {
                    let mut acc = T::zero();
                    walk_masked(axes, summed, p, o, &mut |q, _| {
                        acc = acc.add(inner::sum(q, inner))
                    });
                    acc
                };
                o.write(acc);
            });
        }
    } else if rest.iter().all(|a| !a.summed) {
        // Map: every point is an output element, written once.
        if let Some(x) = transposing_axis(rest, inner) {
            // A transposition: tile the output's and the inputs' fast axes
            // so both stay in cache.
            let outer = mask(rest, |i, _| i != x);
            let x = &rest[x];
            // On the thread that runs this part of the nest.
            mark(KernelPath::Tiles);
            // SAFETY: as above (caller): the tiles cover the same points.
            unsafe {
                walk_masked(rest, outer, ptrs, out, &mut |p, o| {
                    transpose::store_tiled(p, o, inner, x)
                })
            };
            return;
        }
        // SAFETY: as above (caller).
        unsafe {
            walk(rest, ptrs, out, &mut |p, o| {
                inner::store::<T, K, false>(p, o, inner)
            })
        };
    } else {
        // Accumulate: zero, then add with the output's inner axis inside.
        // The zeros go a run along that axis at a time.
        let outputs = mask(rest, |_, a| !a.summed);
        // SAFETY: as above (caller); the output is zeroed before it is read.
        unsafe {
            walk_masked(rest, outputs, ptrs, out, &mut |_, o: *mut T| {
                inner::zero(o, inner)
            });
        }
        // A sum over outer axes into a contiguous run (`ijk->k`): four
        // steps of the summed axis per pass over the output run, so the run
        // is loaded and stored a quarter as often.
        if let (1, Some((next, outer))) = (K, rest.split_last()) {
            if next.summed && inner.strides[0] == 1 && inner.out == 1 {
                // SAFETY: as above (caller): the same points, in groups.
                unsafe {
                    walk(outer, ptrs, out, &mut |p, o| {
                        inner::add_rows(p[0], next.strides[0], next.size, o, inner.size)
                    });
                }
                return;
            }
        }
        // SAFETY: as above (caller).
        unsafe {
            walk(rest, ptrs, out, &mut |p, o| {
                inner::store::<T, K, true>(p, o, inner)
            });
        }
    }
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
