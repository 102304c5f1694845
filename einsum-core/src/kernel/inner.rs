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
//!
//! A transposition's plane is done tile by tile instead (`transpose`).

use crate::axes::Axis;
use crate::element::Scalar;

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

/// `Π_{k < count} *ptrs[k]`, in operand order: the product of a call's
/// first `count` operands in a nest with room for `K` (all `K` of one or
/// two, a constant the compiler unrolls).
///
/// # Safety
/// The first `count` pointers must be valid for reads.
#[inline(always)]
pub(super) unsafe fn product_of<T: Scalar, const K: usize>(ptrs: [*const T; K], count: usize) -> T {
    // SAFETY: the caller's promise.
    unsafe {
        if const { K <= 2 } {
            product(ptrs)
        } else {
            ptrs[1..count]
                .iter()
                .fold(ptrs[0].read(), |x, p| x.mul(p.read()))
        }
    }
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
    // The products from `from` on, summed in order.
    let tail = |from: usize| {
        let mut tail = T::zero();
        for i in from..n {
            let mut x = xs[0][i];
            for s in &xs[1..] {
                x = x.mul(s[i]);
            }
            tail = tail.add(x);
        }
        tail
    };
    // A run shorter than the lanes: their zeros and pairwise sum would
    // take longer than the run itself (the same sum: adding zeros to it
    // changes nothing).
    if n < LANES {
        return tail(0);
    }
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
    let tail = tail(whole);
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
            (Values::Slice(a), None) => fill::<T, ADD>(o, a, Alone),
            (Values::Scalar(a), None) => fill::<T, ADD>(o, Splat(a), Alone),
            (Values::Slice(a), Some(Values::Slice(b))) => fill::<T, ADD>(o, a, b),
            (Values::Slice(a), Some(Values::Scalar(b))) => fill::<T, ADD>(o, a, Splat(b)),
            (Values::Scalar(a), Some(Values::Slice(b))) => fill::<T, ADD>(o, Splat(a), b),
            (Values::Scalar(a), Some(Values::Scalar(b))) => {
                fill::<T, ADD>(o, Splat(a.mul(b)), Alone)
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

/// `o[i] ← 0` along the output's run of `axis` (an output axis).
///
/// # Safety
/// Every output address of the run must be a valid element for writes.
#[inline(always)]
pub(super) unsafe fn zero<T: Scalar, const K: usize>(out: *mut T, axis: &Axis<K>) {
    if axis.out == 1 {
        // SAFETY: unit stride: `size` consecutive valid elements (caller).
        unsafe { core::slice::from_raw_parts_mut(out, axis.size) }.fill(T::zero());
        return;
    }
    let mut o = out;
    for _ in 0..axis.size {
        // SAFETY: a point of the run (caller).
        unsafe { o.write(T::zero()) };
        o = o.wrapping_offset(axis.out);
    }
}

/// `o[j] += Σ_{t < rows} x[t · step + j]` for `j < len`: a sum of `rows`
/// contiguous runs into the contiguous run `o`, one run per pass.
///
/// One run at a time reads the input as one stream; four per pass (each
/// output element loaded and stored a quarter as often) read four, and ran
/// 2–5× slower, one core, f64: `ijk->k` at 200³ 3.2 ms against 8.0 ms,
/// 1000×1000×8 3.6 ms against 9.6 ms, 300×300×64 1.5 ms against 7.3 ms,
/// 100×100×50 (in cache) 62 µs against 136 µs.
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
    for t in 0..rows {
        // SAFETY: row `t` is `len` valid elements (caller).
        let row = unsafe {
            core::slice::from_raw_parts(x.wrapping_offset(step.wrapping_mul(t as isize)), len)
        };
        for (oj, &xj) in o.iter_mut().zip(row) {
            *oj = oj.add(xj);
        }
    }
}

/// The width of [`fill`]'s steps.
const W: usize = 8;

/// The values of one operand along a run, as [`fill`] reads them.
trait Lane<T>: Copy {
    /// Whether there are at least `n` values.
    fn covers(self, n: usize) -> bool;
    /// The value at `i`.
    fn at(self, i: usize) -> T;
    /// The `W` values from `i`.
    ///
    /// # Safety
    /// `i + W` must be at most a length that [`Lane::covers`] accepted.
    unsafe fn chunk(self, i: usize) -> [T; W];
}

impl<T: Copy> Lane<T> for &[T] {
    #[inline(always)]
    fn covers(self, n: usize) -> bool {
        self.len() >= n
    }

    #[inline(always)]
    fn at(self, i: usize) -> T {
        self[i]
    }

    #[inline(always)]
    unsafe fn chunk(self, i: usize) -> [T; W] {
        // Unchecked: a check per chunk, inlined into the large loop nest,
        // costs registers the store loop needs (f32 maps 10% slower).
        // SAFETY: `i + W <= self.len()` (the caller's promise).
        unsafe { self.as_ptr().add(i).cast::<[T; W]>().read_unaligned() }
    }
}

/// One value, the same at every index (a broadcast operand, or the product
/// of broadcast operands).
#[derive(Clone, Copy)]
struct Splat<T>(T);

impl<T: Copy> Lane<T> for Splat<T> {
    #[inline(always)]
    fn covers(self, _: usize) -> bool {
        true
    }

    #[inline(always)]
    fn at(self, _: usize) -> T {
        self.0
    }

    #[inline(always)]
    unsafe fn chunk(self, _: usize) -> [T; W] {
        [self.0; W]
    }
}

/// What multiplies the first operand's values in [`fill`]: a second
/// operand's, or nothing.
trait Factor<T>: Copy {
    /// `x` times the value at `i`.
    fn times(self, x: T, i: usize) -> T;
    /// Whether there are at least `n` values.
    fn covers(self, n: usize) -> bool;
    /// `x` times the `W` values from `i`.
    ///
    /// # Safety
    /// As [`Lane::chunk`].
    unsafe fn times_chunk(self, x: [T; W], i: usize) -> [T; W];
}

/// A second operand's values multiply.
macro_rules! lane_factor {
    ($($lane:ty),*) => {$(
        impl<T: Scalar> Factor<T> for $lane {
            #[inline(always)]
            fn times(self, x: T, i: usize) -> T {
                x.mul(self.at(i))
            }

            #[inline(always)]
            fn covers(self, n: usize) -> bool {
                Lane::covers(self, n)
            }

            #[inline(always)]
            unsafe fn times_chunk(self, x: [T; W], i: usize) -> [T; W] {
                // SAFETY: the caller's promise.
                let y = unsafe { self.chunk(i) };
                core::array::from_fn(|j| x[j].mul(y[j]))
            }
        }
    )*};
}

lane_factor!(&[T], Splat<T>);

/// No second operand: the values are taken as they are (not multiplied by
/// one, which would turn a complex infinity into NaN).
#[derive(Clone, Copy)]
struct Alone;

impl<T> Factor<T> for Alone {
    #[inline(always)]
    fn times(self, x: T, _: usize) -> T {
        x
    }

    #[inline(always)]
    fn covers(self, _: usize) -> bool {
        true
    }

    #[inline(always)]
    unsafe fn times_chunk(self, x: [T; W], _: usize) -> [T; W] {
        x
    }
}

/// `o[i] ← a[i] · b[i]` (or `o[i] += a[i] · b[i]` when `ADD`) for every
/// `i < o.len()`; `a` and `b` have at least `o.len()` values.
///
/// `W` at a time, all read before any is written, so the compiler makes each
/// step vector operations without proving the output apart from the inputs;
/// then the tail. A short run (a row of 20) vectorizes too, where the
/// compiler's own loop, unrolled four times over AVX-512 vectors, would
/// leave all of it to its scalar tail.
#[inline(always)]
fn fill<T: Scalar, const ADD: bool>(o: &mut [T], a: impl Lane<T>, b: impl Factor<T>) {
    assert!(
        a.covers(o.len()) && b.covers(o.len()),
        "a run shorter than its output"
    );
    // Four chunks a step while they last: fewer loop branches on long runs.
    let quad = o.len() - o.len() % (4 * W);
    let (body4, rest) = o.split_at_mut(quad);
    for (c, chunk) in body4.chunks_exact_mut(4 * W).enumerate() {
        let i = c * 4 * W;
        // SAFETY: `i + 4W <= quad <= o.len()`, which both cover (checked).
        let v: [[T; W]; 4] =
            core::array::from_fn(|q| unsafe { b.times_chunk(a.chunk(i + q * W), i + q * W) });
        for (o, v) in chunk.iter_mut().zip(v.as_flattened()) {
            *o = if ADD { o.add(*v) } else { *v };
        }
    }
    let whole = quad + rest.len() - rest.len() % W;
    let (body, tail) = rest.split_at_mut(whole - quad);
    for (c, chunk) in body.chunks_exact_mut(W).enumerate() {
        let i = quad + c * W;
        // SAFETY: `i + W <= whole <= o.len()`, which both cover (checked).
        let v = unsafe { b.times_chunk(a.chunk(i), i) };
        for (o, v) in chunk.iter_mut().zip(v) {
            *o = if ADD { o.add(v) } else { v };
        }
    }
    for (j, o) in tail.iter_mut().enumerate() {
        let v = b.times(a.at(whole + j), whole + j);
        *o = if ADD { o.add(v) } else { v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;

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
    fn store_covers_every_broadcast_combination() {
        // Every length around the chunk widths, so four-chunk steps, single
        // chunks and tails all run.
        for n in 0..=5 * W + 1 {
            let a: Vec<i32> = (1..=n as i32).collect();
            let b: Vec<i32> = (0..n as i32).map(|i| 10 - 3 * i).collect();
            let (a, b) = (&a[..], &b[..]);
            let pick = |v: &[i32], s: usize, i: usize| {
                if s == 0 {
                    v.first().copied()
                } else {
                    v.get(i).copied()
                }
            };
            for (sa, sb) in [(1, 1), (1, 0), (0, 1), (0, 0)] {
                if n == 0 && (sa == 0 || sb == 0) {
                    continue; // a broadcast read needs one element
                }
                let expect: Vec<i32> = (0..n)
                    .map(|i| pick(a, sa, i).unwrap() * pick(b, sb, i).unwrap())
                    .collect();
                let run = axis(n, [sa as isize, sb as isize], 1);
                let mut o = vec![0; n];
                // SAFETY: n-element runs (or index 0 for stride 0) of a, b, o.
                unsafe { store::<i32, 2, false>([a.as_ptr(), b.as_ptr()], o.as_mut_ptr(), &run) };
                assert_eq!(o, expect, "n = {n}, strides {sa}, {sb}");
                // SAFETY: as above.
                unsafe { store::<i32, 2, true>([a.as_ptr(), b.as_ptr()], o.as_mut_ptr(), &run) };
                assert_eq!(o, expect.iter().map(|x| 2 * x).collect::<Vec<_>>());
            }
            for sa in [1, 0] {
                if n == 0 && sa == 0 {
                    continue;
                }
                let expect: Vec<i32> = (0..n).map(|i| pick(a, sa, i).unwrap()).collect();
                let mut o = vec![0; n];
                // SAFETY: as above, one operand.
                unsafe {
                    store::<i32, 1, false>([a.as_ptr()], o.as_mut_ptr(), &axis(n, [sa as isize], 1))
                };
                assert_eq!(o, expect, "n = {n}, stride {sa}");
            }
        }
        // A strided output takes the general loop.
        let a = [1, 2, 3];
        let mut o = vec![0; 6];
        // SAFETY: o[0], o[2], o[4] and a[0..3].
        unsafe { store::<i32, 1, false>([a.as_ptr()], o.as_mut_ptr(), &axis(3, [1], 2)) };
        assert_eq!(o, [1, 0, 2, 0, 3, 0]);
    }

    #[test]
    fn one_operand_is_copied_not_multiplied() {
        // Multiplying by a complex one would turn this infinity into NaN.
        use num_complex::Complex;
        let x = Complex::new(f64::INFINITY, 1.0);
        let a = vec![x; W + 3];
        let mut o = vec![Complex::new(0.0, 0.0); W + 3];
        // SAFETY: W + 3 elements of a and o.
        unsafe { store::<_, 1, false>([a.as_ptr()], o.as_mut_ptr(), &axis(W + 3, [1], 1)) };
        assert_eq!(o, a);
    }

    #[test]
    fn zero_clears_a_run() {
        let mut o = vec![7i64; 9];
        // SAFETY: o[0..4] and o[0], o[4], o[8].
        unsafe { zero(o.as_mut_ptr(), &axis::<1>(4, [0], 1)) };
        unsafe { zero(o.as_mut_ptr(), &axis::<1>(3, [0], 4)) };
        assert_eq!(o, [0, 0, 0, 0, 0, 7, 7, 7, 0]);
    }
}
