//! `reduce = max` and `reduce = min`: each output element the largest (or
//! smallest) over the summed labels of the product of the operands,
//! scaled by `alpha` and blended into the output by `beta`.
//!
//! One loop nest: output elements outside (split over the pool as the
//! plain nest is), every point of the summed labels inside, the extreme
//! kept in a register and blended once; a one-operand run of unit stride
//! (max-pooling's window rows) in a loop of its own, which the compiler
//! vectorizes. Compiled where such a call is, for its element type.

use super::inner;
use super::walk::{arrange, mask, split, walk_masked};
use crate::axes::Axis;
use crate::desc::{Reduce, Scale};
use crate::element::Ordered;

/// [`contract_extreme`] over elements of `T` with the type erased: the
/// entry the call layer runs for a call with `reduce`
/// ([`Scaled`](crate::element::Scaled)).
///
/// # Safety
/// As [`contract_extreme`], the pointers (and `scale`'s) addressing `T`s.
pub(crate) unsafe fn contract_extreme_erased<T: Ordered, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const (); K],
    count: usize,
    out: *mut (),
    scale: Scale,
) {
    // SAFETY: the caller's promise: `scale` addresses two `T`s; the
    // pointers address `T`s.
    unsafe {
        let (alpha, beta) = (
            scale.alpha.cast::<T>().read(),
            scale.beta.cast::<T>().read(),
        );
        contract_extreme(
            axes,
            ptrs.map(<*const ()>::cast::<T>),
            count,
            out.cast::<T>(),
            scale.reduce == Reduce::Min,
            (alpha, beta),
        )
    }
}

/// `out[o] ← alpha · ext_s Π_{k < count} in_k[o, s] + beta · out[o]`, `ext`
/// the max (the min when `min`), over `axes`, not reading `out` when
/// `beta` is zero.
///
/// # Safety
/// As [`super::contract`] for the first `count` operands, `out` also valid
/// for reads when `beta` is not zero; no summed axis is empty unless the
/// output is (the call layer refuses such a call).
pub(crate) unsafe fn contract_extreme<T: Ordered, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const T; K],
    count: usize,
    out: *mut T,
    min: bool,
    (alpha, beta): (T, T),
) {
    assert!((1..=K).contains(&count), "einsum: operands within the room");
    if axes.iter().any(|a| a.size == 0) {
        assert!(
            axes.iter().any(|a| a.size == 0 && !a.summed),
            "einsum: a max or min over an empty range"
        );
        return;
    }
    let n = arrange(axes);
    let axes = &axes[..n];
    // SAFETY: the caller's promise, over the same points reordered; each
    // chunk of the split is a part of them, with its own output elements.
    unsafe {
        split(axes, ptrs, out, &|axes, ptrs, out| {
            if min {
                serial::<T, K, true>(axes, ptrs, count, out, (alpha, beta))
            } else {
                serial::<T, K, false>(axes, ptrs, count, out, (alpha, beta))
            }
        })
    }
}

/// The extreme of `a` and `b`: the min when `MIN`, else the max.
#[inline(always)]
fn pick<T: Ordered, const MIN: bool>(a: T, b: T) -> T {
    if MIN {
        a.min_of(b)
    } else {
        a.max_of(b)
    }
}

/// Output elements the nest keeps in a buffer at a time.
const CHUNK: usize = 64;

/// The longest innermost output axis kept whole in the buffer beside the
/// chunked one.
const WIDE_MAX: usize = 16;

/// The nest on this thread, over axes ordered by [`arrange`]: with the
/// innermost axis summed, each output element's extreme in a register;
/// with it an output axis, the extremes of a chunk of the longest output
/// axis (times the innermost one when it is short) in a buffer, every
/// summed point stepping along the chunk (one loop per point), then
/// blended into the output.
///
/// # Safety
/// As [`contract_extreme`], over axes ordered by [`arrange`].
unsafe fn serial<T: Ordered, const K: usize, const MIN: bool>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    count: usize,
    out: *mut T,
    (alpha, beta): (T, T),
) {
    let start = if MIN { T::highest() } else { T::lowest() };
    let blend = |o: *mut T, acc: T| {
        let v = alpha.mul(acc);
        // SAFETY: an output element (caller), read only when `beta` is not
        // zero, as the caller allows.
        unsafe {
            if beta == T::zero() {
                o.write(v)
            } else {
                o.write(v.add(beta.mul(o.read())))
            }
        }
    };
    let last = axes.len().wrapping_sub(1);
    // With the innermost axis an output one: when it is short (a few
    // channels) and another output axis is left, it goes whole inside
    // each index of the chunk (`wide`), so that each summed point steps
    // through runs of it instead of once per channel; the axis stepped
    // along in chunks is the innermost output axis left, so that memory
    // is read in order.
    let outputs_at = |i: usize| !axes[i].summed;
    let wide = Some(last).filter(|&l| {
        l < axes.len() && outputs_at(l) && axes[l].size <= WIDE_MAX && (0..l).any(outputs_at)
    });
    let chunked = (0..axes.len())
        .rev()
        .find(|&i| outputs_at(i) && Some(i) != wide);
    // SAFETY (both shapes): every point visited is a point of the caller's
    // nest, so each address is valid (caller).
    match chunked.filter(|_| axes.last().is_some_and(|a| !a.summed)) {
        Some(c) => unsafe {
            let inner = &axes[c];
            let (w, across) = match wide {
                Some(l) => (axes[l].size, axes[l]),
                None => (1, Axis::EMPTY),
            };
            let per = (CHUNK / w).max(1);
            let outputs = mask(axes, |i, a| !a.summed && i != c && Some(i) != wide);
            let summed = mask(axes, |_, a| a.summed);
            walk_masked(axes, outputs, ptrs, out, &mut |p, o: *mut T| {
                let mut buf = [start; CHUNK];
                for from in (0..inner.size).step_by(per) {
                    let m = per.min(inner.size - from);
                    let at = from as isize;
                    let mut q0 = p;
                    for (q, &s) in q0.iter_mut().zip(&inner.strides) {
                        *q = q.wrapping_offset(s.wrapping_mul(at));
                    }
                    let buf = &mut buf[..m * w];
                    buf.fill(start);
                    walk_masked(axes, summed, q0, o, &mut |q, _| {
                        for (i, row) in buf.chunks_exact_mut(w).enumerate() {
                            let mut r = q;
                            for (r, &s) in r.iter_mut().zip(&inner.strides) {
                                *r = r.wrapping_offset(s.wrapping_mul(i as isize));
                            }
                            for (k, b) in row.iter_mut().enumerate() {
                                let mut r = r;
                                for (r, &s) in r.iter_mut().zip(&across.strides) {
                                    *r = r.wrapping_offset(s.wrapping_mul(k as isize));
                                }
                                *b = pick::<T, MIN>(*b, inner::product_of(r, count));
                            }
                        }
                    });
                    let o = o.wrapping_offset(inner.out.wrapping_mul(at));
                    for (i, row) in buf.chunks_exact(w).enumerate() {
                        let o = o.wrapping_offset(inner.out.wrapping_mul(i as isize));
                        for (k, &b) in row.iter().enumerate() {
                            blend(o.wrapping_offset(across.out.wrapping_mul(k as isize)), b);
                        }
                    }
                }
            });
        },
        _ => unsafe {
            let outputs = mask(axes, |_, a| !a.summed);
            // The innermost axis, when summed in one operand at unit stride,
            // as a run of its own.
            let run = axes
                .last()
                .filter(|a| a.summed && K == 1 && a.strides[0] == 1)
                .map(|a| a.size);
            let summed = mask(axes, |i, a| a.summed && !(run.is_some() && i == last));
            walk_masked(axes, outputs, ptrs, out, &mut |p, o: *mut T| {
                let mut acc = start;
                walk_masked(axes, summed, p, o, &mut |q, _| {
                    acc = match run {
                        Some(len) => core::slice::from_raw_parts(q[0], len)
                            .iter()
                            .fold(acc, |a, &x| pick::<T, MIN>(a, x)),
                        None => pick::<T, MIN>(acc, inner::product_of(q, count)),
                    }
                });
                blend(o, acc)
            });
        },
    }
}
