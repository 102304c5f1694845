//! The loop nest of three or more operands, one instance for every count:
//! each run along the innermost axis is multiplied out one operand at a
//! time into a short buffer, which is then stored, added to the output, or
//! summed.
//!
//! Such calls mostly run pairwise (`call::pairwise`); the ones that stay one
//! nest (element-wise products such as `ij,ij,ij->ij`, shapes too small to
//! order, intermediates that do not fit) are rare enough that one instance
//! per element type, in the baseline build, serves every count: a build per
//! count and instruction set made up a third of this crate's.

use super::walk::{self, arrange, write_empty};
use crate::axes::Axis;
use crate::element::Scalar;

/// The elements of one run multiplied out at a time: a few cache lines,
/// on the stack.
const CHUNK: usize = 64;

/// Computes `out[o] ← Σ_s Π_{k < count} in_k[o, s]` over `axes`, as
/// [`super::contract`] does, for the first `count` of the `K` operands the
/// axes have strides for.
///
/// # Safety
/// As [`super::contract`] for those `count` operands (the other pointers
/// are never read).
pub(crate) unsafe fn contract_many<T: Scalar, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const T; K],
    count: usize,
    out: *mut T,
    add: bool,
) {
    assert!((1..=K).contains(&count), "einsum: operands within the room");
    // SAFETY: the caller's promise.
    if unsafe { write_empty(axes, ptrs, out, add) } {
        return;
    }
    let n = arrange(axes);
    let axes = &axes[..n];
    // SAFETY: the caller's promise, over the same points reordered; each
    // chunk of the split is a part of them.
    unsafe {
        walk::split(axes, ptrs, out, &|axes, ptrs, out| {
            serial(axes, ptrs, count, out, add)
        })
    }
}

/// [`contract_many`] over elements of `T` with the type erased: the entry
/// the call layer runs for three or more operands
/// ([`Many`](crate::element::Many)).
///
/// # Safety
/// As [`contract_many`], the pointers addressing `T`s.
pub(crate) unsafe fn contract_many_erased<T: Scalar, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const (); K],
    count: usize,
    out: *mut (),
    add: bool,
) {
    // SAFETY: the caller's promise, with the pointers' own type.
    unsafe {
        contract_many(
            axes,
            ptrs.map(<*const ()>::cast::<T>),
            count,
            out.cast::<T>(),
            add,
        )
    }
}

/// [`serial`] for all `K` operands: the loop nest of one or two operands
/// on an x86-64 CPU without AVX2, instead of a baseline build of
/// `nest::serial`'s.
///
/// # Safety
/// As [`super::dispatch`], over axes ordered by [`arrange`].
#[cfg(all(target_arch = "x86_64", not(miri)))]
pub(super) unsafe fn serial_exact<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    add: bool,
) {
    // SAFETY: the caller's promise, for all `K` operands.
    unsafe { serial(axes, ptrs, K, out, add) }
}

/// The nest on this thread, over axes ordered by [`arrange`]; with `add`,
/// added into the output, which is not zeroed first.
///
/// # Safety
/// As [`contract_many`].
unsafe fn serial<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    count: usize,
    out: *mut T,
    add: bool,
) {
    let Some((inner, rest)) = axes.split_last() else {
        let mut x = [T::zero()];
        // SAFETY: index zero of each operand and of the output (caller).
        unsafe {
            multiply(&mut x, &ptrs[..count], &[0; K]);
            out.write(if add { out.read().add(x[0]) } else { x[0] });
        }
        return;
    };
    // With a summed axis the output is zeroed first (unless added to) and
    // then added to.
    let sums = axes.iter().any(|a| a.summed);
    let adds = sums || add;
    if sums && !add {
        let outputs = walk::mask(axes, |_, a| !a.summed);
        // SAFETY: the output points are valid for writes (caller).
        unsafe {
            walk::walk_masked(axes, outputs, ptrs, out, &mut |_, o: *mut T| {
                o.write(T::zero())
            })
        };
    }
    let mut buf = [T::zero(); CHUNK];
    // SAFETY: every point of the nest is valid (caller), the output is
    // written before it is read.
    unsafe {
        walk::walk(rest, ptrs, out, &mut |p, o| {
            let mut start = 0;
            while start < inner.size {
                let m = CHUNK.min(inner.size - start);
                let at = start as isize;
                let mut q = p;
                for (q, &s) in q.iter_mut().zip(&inner.strides) {
                    *q = q.wrapping_offset(s.wrapping_mul(at));
                }
                let run = &mut buf[..m];
                multiply(run, &q[..count], &inner.strides);
                let o = o.wrapping_offset(inner.out.wrapping_mul(at));
                if inner.summed {
                    let sum = run.iter().fold(T::zero(), |acc, &x| acc.add(x));
                    o.write((*o).add(sum));
                } else {
                    for (i, &x) in run.iter().enumerate() {
                        let o = o.wrapping_offset(inner.out.wrapping_mul(i as isize));
                        o.write(if adds { (*o).add(x) } else { x });
                    }
                }
                start += m;
            }
        })
    };
}

/// `run[i] ← Π_k *(ptrs[k] + i · strides[k])`, in operand order, one
/// operand at a time.
///
/// # Safety
/// Every address of the run must be a valid element for reads.
#[inline(always)]
unsafe fn multiply<T: Scalar>(run: &mut [T], ptrs: &[*const T], strides: &[isize]) {
    for (k, (&p, &s)) in ptrs.iter().zip(strides).enumerate() {
        for (i, x) in run.iter_mut().enumerate() {
            // SAFETY: a point of the run (caller).
            let v = unsafe { *p.wrapping_offset(s.wrapping_mul(i as isize)) };
            *x = if k == 0 { v } else { x.mul(v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;

    /// `Σ_s Π_k` by plain loops over a row-major 2×3 nest, `k` operands.
    #[test]
    fn each_count_and_shape_matches_plain_loops() {
        let a: Vec<i64> = (0..6).map(|v| v * 3 - 4).collect();
        let b: Vec<i64> = (0..6).map(|v| 5 - v).collect();
        let c: Vec<i64> = (0..6).map(|v| v + 2).collect();
        let d: Vec<i64> = (0..6).map(|v| 1 - 2 * v).collect();
        let ops = [a.as_ptr(), b.as_ptr(), c.as_ptr(), d.as_ptr()];
        for count in 1..=4 {
            let point = |i: usize, j: usize| -> i64 {
                [&a, &b, &c, &d][..count]
                    .iter()
                    .map(|x| x[3 * i + j])
                    .product()
            };
            // Map `ij->ij`, reduce `ij->i`, accumulate `ij->j`, and `ij->`.
            let cases: [(&[isize; 2], usize, Vec<i64>); 4] = [
                (&[3, 1], 6, (0..6).map(|e| point(e / 3, e % 3)).collect()),
                (
                    &[1, 0],
                    2,
                    (0..2).map(|i| (0..3).map(|j| point(i, j)).sum()).collect(),
                ),
                (
                    &[0, 1],
                    3,
                    (0..3).map(|j| (0..2).map(|i| point(i, j)).sum()).collect(),
                ),
                (&[0, 0], 1, vec![(0..6).map(|e| point(e / 3, e % 3)).sum()]),
            ];
            for (outs, len, expect) in cases {
                let mut axes = [axis(2, [3; 4], outs[0]), axis(3, [1; 4], outs[1])];
                let mut got = vec![-99i64; len];
                // SAFETY: every index stays inside the 6-element operands
                // and the `len`-element output.
                unsafe { contract_many(&mut axes, ops, count, got.as_mut_ptr(), false) };
                assert_eq!(got, expect, "count {count}, output strides {outs:?}");
            }
        }
    }

    #[test]
    fn runs_longer_than_a_chunk() {
        let n = 2 * CHUNK + 5;
        let x: Vec<f64> = (0..n).map(|v| v as f64 * 0.5).collect();
        let y: Vec<f64> = (0..n).map(|v| 3.0 - v as f64).collect();
        let z: Vec<f64> = (0..n).map(|v| (v % 7) as f64).collect();
        let ops = [x.as_ptr(), y.as_ptr(), z.as_ptr()];
        let mut out = vec![0.0; n];
        // SAFETY: `n` elements each, unit strides.
        unsafe { contract_many(&mut [axis(n, [1; 3], 1)], ops, 3, out.as_mut_ptr(), false) };
        let expect: Vec<f64> = (0..n).map(|i| x[i] * y[i] * z[i]).collect();
        assert_eq!(out, expect);
        let mut sum = [0.0];
        // SAFETY: as above, into one element.
        unsafe { contract_many(&mut [axis(n, [1; 3], 0)], ops, 3, sum.as_mut_ptr(), false) };
        // The same products, summed in order.
        assert_eq!(sum[0], expect.iter().fold(0.0, |s, v| s + v));
    }
}
