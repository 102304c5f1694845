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
use super::transpose;
use super::walk::{mask, split, walk, walk_masked};
use crate::axes::Axis;
use crate::element::Scalar;
use crate::trace::{mark, KernelPath};
use crate::tuning;

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
    add: bool,
) {
    // SAFETY: the caller's promise, for each part of the nest.
    unsafe {
        split(axes, ptrs, out, &|axes, ptrs, out| {
            serial_here(axes, ptrs, out, add)
        })
    }
}

/// [`serial`] in each instruction-set build for the element types whose
/// nests this crate builds so (`Prebuilt::NEST_PER_ISA`), else in the
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
    add: bool,
) {
    if const { T::NEST_PER_ISA } {
        // SAFETY: the caller's promise.
        unsafe { serial(axes, ptrs, out, add) }
    } else {
        // SAFETY: the caller's promise.
        unsafe { serial_body::<T, K, BASELINE>(axes, ptrs, out, add) }
    }
}

multiversion! {
/// The loop nest on this thread, over axes already ordered by [`arrange`].
///
/// The same body is built for AVX2 and picked at run time (the baseline
/// build serves other machines and Miri), so the innermost runs vectorize.
/// AVX-512 CPUs run the AVX2 build too: the nest's runs are short or bound
/// by memory, where an AVX-512 build measured no faster in the criterion
/// groups (`outer_2000`, `sum_ijk_k_200`, `trace_2000`, `dot_1e7`, a 17³
/// product of u32: 1.65 µs with it, 1.34 µs without), and it cost this
/// crate's release build about 3 s of CPU (23.3 s against 20.8 s).
///
/// # Safety
/// As [`super::dispatch`].
unsafe fn serial<T: Scalar; const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    add: bool,
) => serial_body, x86_64 baseline serial_exact, widest avx2;
}

/// The body of [`serial`], inlined into each instruction-set build; with
/// `add`, each result is added into the output element, which is not
/// zeroed first.
///
/// # Safety
/// As [`super::dispatch`].
#[inline(always)]
unsafe fn serial_body<T: Scalar, const K: usize, const B: u8>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    add: bool,
) {
    let Some((inner, rest)) = axes.split_last() else {
        // No axis of length above 1: one product.
        // SAFETY: index zero of each operand and of the output (caller).
        unsafe { out.write(plus(add, out, product(ptrs))) };
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
                o.write(plus(add, o, acc));
            });
        }
    } else if rest.iter().all(|a| !a.summed) {
        // Map: every point is an output element, written once.
        // (The tiles overwrite: not when adding.)
        if let Some(x) = transposing_axis(rest, inner).filter(|_| !add) {
            // A transposition: tile the output's and the inputs' fast axes
            // so both stay in cache.
            let outer = mask(rest, |i, _| i != x);
            let x = &rest[x];
            let bytes = rest
                .iter()
                .fold(inner.size * core::mem::size_of::<T>(), |b, a| {
                    b.saturating_mul(a.size)
                });
            let stream = bytes > transpose::STREAM_ABOVE_BYTES;
            // On the thread that runs this part of the nest.
            mark(KernelPath::Tiles);
            // SAFETY: as above (caller): the tiles cover the same points.
            unsafe {
                walk_masked(rest, outer, ptrs, out, &mut |p, o| {
                    transpose::store_tiled::<T, K, B>(p, o, inner, x, stream)
                })
            };
            return;
        }
        // SAFETY: as above (caller).
        unsafe {
            if add {
                walk(rest, ptrs, out, &mut |p, o| {
                    inner::store::<T, K, true>(p, o, inner)
                })
            } else {
                walk(rest, ptrs, out, &mut |p, o| {
                    inner::store::<T, K, false>(p, o, inner)
                })
            }
        };
    } else {
        // Accumulate: zero (unless adding), then add with the output's
        // inner axis inside. The zeros go a run along that axis at a time.
        if !add {
            let outputs = mask(rest, |_, a| !a.summed);
            // SAFETY: as above (caller); the output is zeroed before it is
            // read.
            unsafe {
                walk_masked(rest, outputs, ptrs, out, &mut |_, o: *mut T| {
                    inner::zero(o, inner)
                });
            }
        }
        // A sum over outer axes into a contiguous run (`ijk->k`): the
        // innermost summed axis's rows added into the run in one loop, the
        // input read as one stream.
        if let (1, Some((next, outer))) = (K, rest.split_last()) {
            if next.summed && inner.strides[0] == 1 && inner.out == 1 {
                // SAFETY: as above (caller): the same points, row by row.
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
                if B == BASELINE {
                    // SAFETY: as above (caller).
                    store_add_baseline(p, o, inner)
                } else {
                    inner::store::<T, K, true>(p, o, inner)
                }
            });
        }
    }
}

/// `v`, or `v` added to the element at `out` when `add`.
///
/// # Safety
/// With `add`, `out` is valid for reads.
#[inline(always)]
unsafe fn plus<T: Scalar>(add: bool, out: *mut T, v: T) -> T {
    if add {
        // SAFETY: the caller's promise.
        unsafe { out.read().add(v) }
    } else {
        v
    }
}

/// `inner::store` adding, out of line: the baseline build's run, which
/// inlined into the walk leaves byte products scalar (the compiler's
/// choice), where out of line it multiplies them as vectors (a 17³
/// product of u8: 4.9 µs inlined, 2.1 µs out of line).
///
/// # Safety
/// As `inner::store`.
#[inline(never)]
unsafe fn store_add_baseline<T: Scalar, const K: usize>(
    ptrs: [*const T; K],
    out: *mut T,
    axis: &Axis<K>,
) {
    // SAFETY: the caller's promise.
    unsafe { inner::store::<T, K, true>(ptrs, out, axis) }
}
