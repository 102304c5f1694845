//! Innermost loops: one run along the nest's innermost axis.
//!
//! Where every operand steps by one element (or by zero: a broadcast value)
//! the run is read as slices, so the compiler vectorizes it:
//! - [`sum`]: `Σ_i Π_k x_k[i]` with several independent accumulators, so a
//!   float sum is not one long dependency chain and vectorizes too;
//! - [`store`]: `o[i] ← Π_k x_k[i]` (or `o[i] += …`), the output written
//!   once per element.
//!
//! Other strides take the plain strided loop.

use crate::resolve::Axis;
use crate::scalar::Scalar;

/// Independent partial sums in [`sum`]: enough for two AVX-512 vectors of
/// f64, or one of f32.
const LANES: usize = 16;

/// `Π_k *ptrs[k]`, in operand order.
///
/// # Safety
/// Every pointer must be valid for reads.
#[inline(always)]
pub(super) unsafe fn product<T: Scalar, const K: usize>(ptrs: [*const T; K]) -> T {
    // SAFETY: the caller promises each pointer is readable.
    let mut x = unsafe { *ptrs[0] };
    for p in &ptrs[1..] {
        // SAFETY: as above.
        x = x.mul(unsafe { **p });
    }
    x
}

/// `Σ_{i < axis.size} Π_k *(ptrs[k] + i · axis.strides[k])`.
///
/// # Safety
/// Every address of the run must be a valid element for reads.
#[inline(always)]
pub(super) unsafe fn sum<T: Scalar, const K: usize>(ptrs: [*const T; K], axis: &Axis<K>) -> T {
    let n = axis.size;
    if axis.strides.iter().all(|&s| s == 1) {
        // SAFETY: unit strides: each run is `n` consecutive valid elements.
        let xs: [&[T]; K] =
            core::array::from_fn(|k| unsafe { core::slice::from_raw_parts(ptrs[k], n) });
        return sum_contiguous(&xs, n);
    }
    let mut acc = T::zero();
    let mut p = ptrs;
    for _ in 0..n {
        // SAFETY: a point of the run (caller).
        acc = acc.add(unsafe { product(p) });
        for (p, &s) in p.iter_mut().zip(&axis.strides) {
            *p = p.wrapping_offset(s);
        }
    }
    acc
}

/// `Σ_i Π_k xs[k][i]` over `n` elements of equal-length slices.
#[inline(always)]
fn sum_contiguous<T: Scalar, const K: usize>(xs: &[&[T]; K], n: usize) -> T {
    let mut acc = [T::zero(); LANES];
    let whole = n - n % LANES;
    let mut base = 0;
    while base < whole {
        let chunks: [&[T]; K] = core::array::from_fn(|k| &xs[k][base..base + LANES]);
        for (l, a) in acc.iter_mut().enumerate() {
            let mut x = chunks[0][l];
            for c in &chunks[1..] {
                x = x.mul(c[l]);
            }
            *a = a.add(x);
        }
        base += LANES;
    }
    let mut tail = T::zero();
    for i in whole..n {
        let mut x = xs[0][i];
        for s in &xs[1..] {
            x = x.mul(s[i]);
        }
        tail = tail.add(x);
    }
    // Pairwise, so the partial sums meet in a balanced tree.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] = acc[l].add(acc[l + width]);
        }
    }
    acc[0].add(tail)
}

/// One operand's values along a run: consecutive, or one value broadcast.
#[derive(Clone, Copy)]
enum Values<'a, T> {
    Slice(&'a [T]),
    Scalar(T),
}

/// `o[i] ← Π_k x_k[i]` (or `o[i] += Π_k x_k[i]` when `ADD`) along the run.
///
/// # Safety
/// Every address of the run must be a valid element: of each operand for
/// reads, and of the output for writes (and reads, when `ADD`), the output
/// overlapping no operand.
#[inline(always)]
pub(super) unsafe fn store<T: Scalar, const K: usize, const ADD: bool>(
    ptrs: [*const T; K],
    out: *mut T,
    axis: &Axis<K>,
) {
    let n = axis.size;
    let simple = axis.out == 1 && axis.strides.iter().all(|&s| s == 0 || s == 1);
    if simple && K <= 2 {
        // SAFETY: unit stride: the output's run is `n` consecutive elements,
        // valid for writes and disjoint from the operands (caller).
        let o = unsafe { core::slice::from_raw_parts_mut(out, n) };
        let values = |k: usize| {
            if axis.strides[k] == 1 {
                // SAFETY: unit stride: `n` consecutive valid elements.
                Values::Slice(unsafe { core::slice::from_raw_parts(ptrs[k], n) })
            } else {
                // SAFETY: a zero stride reads the run's first element, valid.
                Values::Scalar(unsafe { *ptrs[k] })
            }
        };
        // One monomorphic loop per combination, each of which vectorizes.
        match (values(0), if K == 2 { Some(values(1)) } else { None }) {
            (Values::Slice(a), None) => fill::<T, ADD>(o, |i| a[i]),
            (Values::Scalar(a), None) => fill::<T, ADD>(o, |_| a),
            (Values::Slice(a), Some(Values::Slice(b))) => fill::<T, ADD>(o, |i| a[i].mul(b[i])),
            (Values::Slice(a), Some(Values::Scalar(b))) => fill::<T, ADD>(o, |i| a[i].mul(b)),
            (Values::Scalar(a), Some(Values::Slice(b))) => fill::<T, ADD>(o, |i| a.mul(b[i])),
            (Values::Scalar(a), Some(Values::Scalar(b))) => {
                let x = a.mul(b);
                fill::<T, ADD>(o, |_| x)
            }
        }
        return;
    }
    let mut p = ptrs;
    let mut o = out;
    for _ in 0..n {
        // SAFETY: a point of the run (caller).
        unsafe {
            let x = product(p);
            o.write(if ADD { (*o).add(x) } else { x });
        }
        for (p, &s) in p.iter_mut().zip(&axis.strides) {
            *p = p.wrapping_offset(s);
        }
        o = o.wrapping_offset(axis.out);
    }
}

/// `o[j] += Σ_{t < rows} x[t · step + j]` for `j < len`: a sum of `rows`
/// contiguous runs into the contiguous run `o`, four runs per pass.
///
/// # Safety
/// Every `x[t · step + j]` must be a valid element for reads and `o[..len]`
/// valid for reads and writes, not overlapping `x`.
#[inline(always)]
pub(super) unsafe fn add_rows<T: Scalar>(
    x: *const T,
    step: isize,
    rows: usize,
    o: *mut T,
    len: usize,
) {
    // SAFETY: the output run is `len` valid elements apart from `x` (caller).
    let o = unsafe { core::slice::from_raw_parts_mut(o, len) };
    // SAFETY: row `t` is `len` valid elements (caller).
    let row = |t: usize| unsafe {
        core::slice::from_raw_parts(x.wrapping_offset(step.wrapping_mul(t as isize)), len)
    };
    let mut t = 0;
    while t + 4 <= rows {
        let (a, b, c, d) = (row(t), row(t + 1), row(t + 2), row(t + 3));
        for ((((oj, &aj), &bj), &cj), &dj) in o.iter_mut().zip(a).zip(b).zip(c).zip(d) {
            *oj = oj.add(aj.add(bj).add(cj.add(dj)));
        }
        t += 4;
    }
    while t < rows {
        let a = row(t);
        for (oj, &aj) in o.iter_mut().zip(a) {
            *oj = oj.add(aj);
        }
        t += 1;
    }
}

/// The side of the square tiles of [`store_tiled`]: two 32×32 tiles of f64
/// are 16 KiB, within L1.
pub(super) const TILE: usize = 32;

/// `o ← Π_k x_k` over the plane of axes `x` (outer) and `y` (inner), tile by
/// tile, so that a transposition reads and writes whole cache lines.
///
/// # Safety
/// Every point of the plane must be a valid element of each operand for
/// reads and of the output for writes, the output overlapping no operand.
pub(super) unsafe fn store_tiled<T: Scalar, const K: usize>(
    ptrs: [*const T; K],
    out: *mut T,
    x: &Axis<K>,
    y: &Axis<K>,
) {
    let at = |i: usize, j: usize| -> ([*const T; K], *mut T) {
        let (i, j) = (i as isize, j as isize);
        (
            core::array::from_fn(|k| {
                ptrs[k].wrapping_offset(
                    x.strides[k]
                        .wrapping_mul(i)
                        .wrapping_add(y.strides[k].wrapping_mul(j)),
                )
            }),
            out.wrapping_offset(x.out.wrapping_mul(i).wrapping_add(y.out.wrapping_mul(j))),
        )
    };
    for xb in (0..x.size).step_by(TILE) {
        for yb in (0..y.size).step_by(TILE) {
            let (xe, ye) = ((xb + TILE).min(x.size), (yb + TILE).min(y.size));
            for i in xb..xe {
                let (p, o) = at(i, yb);
                for j in 0..(ye - yb) as isize {
                    let q: [*const T; K] =
                        core::array::from_fn(|k| p[k].wrapping_offset(y.strides[k] * j));
                    // SAFETY: a point of the plane (caller).
                    unsafe { o.wrapping_offset(y.out * j).write(product(q)) };
                }
            }
        }
    }
}

#[inline(always)]
fn fill<T: Scalar, const ADD: bool>(o: &mut [T], f: impl Fn(usize) -> T) {
    // Indices below the slices' common length: the bounds checks fold away.
    for (i, o) in o.iter_mut().enumerate() {
        let x = f(i);
        *o = if ADD { o.add(x) } else { x };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::resolve::test_axis as axis;

    #[test]
    fn contiguous_sum_matches_a_plain_sum_at_every_length() {
        for n in 0..70 {
            let a: Vec<i64> = (0..n as i64).map(|i| i * 3 - 7).collect();
            let b: Vec<i64> = (0..n as i64).map(|i| 5 - i).collect();
            let expect: i64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            // SAFETY: runs of `n` elements of `a` and `b`.
            let got = unsafe { sum([a.as_ptr(), b.as_ptr()], &axis(n, [1, 1], 0)) };
            assert_eq!(got, expect, "n = {n}");
            // Strided (every other element of the first `n / 2`).
            let half = n / 2;
            let expect: i64 = (0..half).map(|i| a[2 * i]).sum();
            // SAFETY: indices 0, 2, .., 2 (half - 1) < n.
            let got = unsafe { sum([a.as_ptr()], &axis(half, [2], 0)) };
            assert_eq!(got, expect, "n = {n}");
        }
    }

    #[test]
    fn add_rows_sums_every_row() {
        for rows in 0..11 {
            let x: Vec<i64> = (0..(rows * 7) as i64).map(|v| v * 3 - 20).collect();
            let mut o = vec![1i64; 5];
            // SAFETY: rows of 5 elements, 7 apart, within `x`.
            unsafe { add_rows(x.as_ptr(), 7, rows, o.as_mut_ptr(), 5) };
            let expect: Vec<i64> = (0..5)
                .map(|j| 1 + (0..rows).map(|t| x[t * 7 + j]).sum::<i64>())
                .collect();
            assert_eq!(o, expect, "rows = {rows}");
        }
    }

    #[test]
    fn tiled_store_transposes() {
        for (r, c) in [(3, 5), (40, 70), (64, 64)] {
            let a: Vec<i32> = (0..(r * c) as i32).collect();
            let mut o = vec![-1; r * c];
            // o is (c, r) C-order: o[j, i] = a[i, j]; x walks a's rows' fast
            // axis j (a stride 1, o stride r), y walks i (a stride c, o stride 1).
            let x = axis(c, [1], r as isize);
            let y = axis(r, [c as isize], 1);
            // SAFETY: every (j, i) addresses a[i * c + j] and o[j * r + i].
            unsafe { store_tiled([a.as_ptr()], o.as_mut_ptr(), &x, &y) };
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(o[j * r + i], a[i * c + j]);
                }
            }
        }
    }

    #[test]
    fn store_covers_every_broadcast_combination() {
        let a: Vec<i32> = (1..=9).collect();
        let b: Vec<i32> = (10..19).collect();
        for (sa, sb) in [(1, 1), (1, 0), (0, 1), (0, 0)] {
            let expect: Vec<i32> = (0..9).map(|i| a[i * sa] * b[i * sb]).collect();
            let mut o = vec![0; 9];
            // SAFETY: 9-element runs (or index 0 for stride 0) of a, b and o.
            unsafe {
                store::<i32, 2, false>(
                    [a.as_ptr(), b.as_ptr()],
                    o.as_mut_ptr(),
                    &axis(9, [sa as isize, sb as isize], 1),
                )
            };
            assert_eq!(o, expect);
            // SAFETY: as above.
            unsafe {
                store::<i32, 2, true>(
                    [a.as_ptr(), b.as_ptr()],
                    o.as_mut_ptr(),
                    &axis(9, [sa as isize, sb as isize], 1),
                )
            };
            assert_eq!(o, expect.iter().map(|x| 2 * x).collect::<Vec<_>>());
        }
        // A strided output takes the general loop.
        let mut o = vec![0; 6];
        // SAFETY: o[0], o[2], o[4] and a[0..3].
        unsafe { store::<i32, 1, false>([a.as_ptr()], o.as_mut_ptr(), &axis(3, [1], 2)) };
        assert_eq!(o, [1, 0, 2, 0, 3, 0]);
    }
}
