//! Hostile shapes: sizes whose products overflow, absurd ranks, huge and
//! negative strides, operands of the wrong rank, and outputs of every layout
//! and of the wrong shape.
//!
//! Each call either computes the right answer (checked against a plain
//! computation here) or returns an `EinsumError`: never a panic inside a
//! kernel, an overflow, an abort or an absurd allocation. For every error,
//! `try_*` returns `Err` without panicking, the message names what is wrong,
//! the panicking forms panic with that same message, and an output passed to
//! `einsum_into!` is left bit for bit as it was.
//!
//! Huge sizes come from broadcast views (stride 0 over one element), so the
//! errors are found before any work: these tests are cheap enough for Miri,
//! except the few marked otherwise.

use std::panic::{catch_unwind, AssertUnwindSafe};

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{
    indices, Array, Array1, Array2, ArrayD, ArrayView, ArrayView1, ArrayView2, ArrayViewD,
    ArrayViewMut, ArrayViewMut1, ArrayViewMutD, Dimension, Ix2, Ix3, Ix4, IxDyn, ShapeBuilder,
};
use einsum::windows::windows2;
use einsum::{
    einsum, einsum_into, einsum_path, try_einsum, try_einsum_into, AxisRef, EinsumError, ErrorKind,
};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The error `f` returns; fails the test if `f` panics or succeeds.
fn error_of<R>(f: impl FnOnce() -> Result<R, EinsumError>) -> EinsumError {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => panic!("expected an EinsumError, got a result"),
        Err(_) => panic!("the try form panicked instead of returning an error"),
    }
}

/// The message `f` panics with; fails the test if it returns.
fn panic_of(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        panic!("a panic without a message")
    }
}

fn assert_names(e: &EinsumError, parts: &[&str]) {
    let msg = e.to_string();
    for part in parts {
        assert!(msg.contains(part), "{msg:?} does not name {part:?}");
    }
}

/// `try_einsum!(args)` returns an error naming each of `parts`, and
/// `einsum!(args)` panics with the same message. Evaluates to the error.
macro_rules! refused {
    ([$($part:expr),* $(,)?], $($args:tt)*) => {{
        let e = error_of(|| try_einsum!($($args)*));
        assert_names(&e, &[$($part),*]);
        let msg = panic_of(|| {
            let _ = einsum!($($args)*);
        });
        assert_eq!(msg, e.to_string());
        e
    }};
}

/// As [`refused!`] for the `_into` forms: `$out` makes the output (a view
/// into `$buf`) afresh for each form, and `$buf` must be bit for bit the
/// same after each.
macro_rules! refused_into {
    ($buf:ident, $out:expr, [$($part:expr),* $(,)?], $($args:tt)*) => {{
        let before = bits(&$buf);
        let e = error_of(|| {
            let mut out = $out;
            try_einsum_into!(&mut out, $($args)*)
        });
        assert_names(&e, &[$($part),*]);
        assert_eq!(bits(&$buf), before, "try_einsum_into! wrote to `out`");
        let msg = panic_of(|| {
            let mut out = $out;
            einsum_into!(&mut out, $($args)*);
        });
        assert_eq!(msg, e.to_string());
        assert_eq!(bits(&$buf), before, "einsum_into! wrote to `out`");
        e
    }};
}

/// A value never computed here: any write shows.
const SENTINEL: f64 = f64::from_bits(0x7ff4_dead_beef_0001);

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `n` reads of `v[0]` (stride 0): a huge operand that costs one element.
fn repeat(v: &[f64], n: usize) -> ArrayView1<'_, f64> {
    ArrayView::from_shape((n,).strides((0,)), &v[..1]).unwrap()
}

/// An `m × n` view of `v[0]` (strides 0).
fn repeat2(v: &[f64], (m, n): (usize, usize)) -> ArrayView2<'_, f64> {
    ArrayView::from_shape((m, n).strides((0, 0)), &v[..1]).unwrap()
}

/// Strides in elements, as `ShapeBuilder::strides` takes them.
fn st<const R: usize>(s: [isize; R]) -> [usize; R] {
    s.map(|x| x as usize)
}

/// Elements a view of `shape` and `strides` spans: `Σ (d - 1)·|s| + 1`.
fn span(shape: &[usize], strides: &[isize]) -> usize {
    shape
        .iter()
        .zip(strides)
        .map(|(&d, &s)| d.saturating_sub(1) * s.unsigned_abs())
        .sum::<usize>()
        + 1
}

const EAGER: Thresholds = Thresholds::EAGER;
const DEFAULT: Thresholds = Thresholds::DEFAULT;

const TWO_40: usize = 1 << 40;

// ---------------------------------------------------------------------------
// 1. Sizes whose products overflow
// ---------------------------------------------------------------------------

#[test]
fn results_of_more_elements_than_usize_or_isize_counts_are_refused() {
    let one = [1.5];
    let x = repeat(&one, TWO_40);
    // 2^80 elements: more than a `usize` counts.
    let e = refused!(
        [
            "[1099511627776, 1099511627776]",
            "more elements than fit in memory"
        ],
        "i,j->ij",
        &x,
        &x
    );
    assert_eq!(
        e.kind(),
        &ErrorKind::OutputTooLarge {
            shape: vec![TWO_40, TWO_40]
        }
    );
    // 2^63 elements: a `usize`, but not an `isize`.
    let (p, q) = (repeat(&one, 1 << 31), repeat(&one, 1 << 32));
    refused!(["[2147483648, 4294967296]"], "i,j->ij", &p, &q);
    // 2^60 elements of 8 bytes: the bytes overflow `isize`.
    let r = repeat(&one, 1 << 30);
    refused!(["[1073741824, 1073741824]"], "i,j->ij", &r, &r);
    // Four axes of 2^31 from two operands of 2^62 elements each.
    let m = repeat2(&one, (1 << 31, 1 << 31));
    refused!(
        ["[2147483648, 2147483648, 2147483648, 2147483648]"],
        "ij,kl->ijkl",
        &m,
        &m
    );
    // With `...`: the result is an `ArrayD`.
    let d = m.into_dyn();
    refused!(
        ["[2147483648, 2147483648, 2147483648, 2147483648]"],
        "...,kl->...kl",
        &d,
        &m
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri stops at an allocation larger than the host has")]
fn results_the_allocator_refuses_are_errors_not_aborts() {
    let one = [1.5];
    // 2^59 elements of 8 bytes: 4 EiB, an `isize` of bytes, and more than
    // any address space.
    let (p, q) = (repeat(&one, 1 << 29), repeat(&one, 1 << 30));
    let e = refused!(
        ["[536870912, 1073741824]", "fit in memory"],
        "i,j->ij",
        &p,
        &q
    );
    assert!(matches!(e.kind(), ErrorKind::OutputTooLarge { .. }));
    // The row kernel of a fixed-size expression allocates its own result:
    // (2^55, 8) bytes, from windows whose first axis is broadcast.
    let w: Vec<u8> = (0..12).collect();
    let w = ArrayView::from_shape((1usize << 55, 8, 3, 3).strides((0, 1, 1, 1)), &w).unwrap();
    let k = Array2::<u8>::ones((3, 3));
    let e = refused!(
        ["[36028797018963968, 8]", "fit in memory"],
        "xyij,ij->xy",
        &w,
        &k;
        i = 3,
        j = 3
    );
    assert!(matches!(e.kind(), ErrorKind::OutputTooLarge { .. }));
    // The same through the run-time kernels.
    let e = with_thresholds(EAGER, || {
        error_of(|| try_einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3))
    });
    assert!(matches!(e.kind(), ErrorKind::OutputTooLarge { .. }), "{e}");
}

#[test]
fn work_of_more_steps_than_isize_counts_is_refused() {
    let one = [1.5];
    let x = repeat(&one, TWO_40);
    // A scalar from 2^80 products: the result is small, the loop is not.
    let e = refused!(
        [
            "`i` = 1099511627776",
            "`j` = 1099511627776",
            "9223372036854775807"
        ],
        "i,j->",
        &x,
        &x
    );
    assert_eq!(
        e.kind(),
        &ErrorKind::WorkTooLarge {
            labels: vec![('i', TWO_40), ('j', TWO_40)],
            ellipsis: vec![]
        }
    );
    assert_eq!(
        e.to_string(),
        "einsum \"i,j->\": the loops over `i` = 1099511627776, `j` = 1099511627776 take more \
         than 9223372036854775807 steps (`isize::MAX`), the most an einsum counts"
    );
    // Just past `isize::MAX`: 2^31 · 2^32 = 2^63.
    let (p, q) = (repeat(&one, 1 << 31), repeat(&one, 1 << 32));
    refused!(["`i` = 2147483648", "`j` = 4294967296"], "i,j->", &p, &q);
    // `...` dimensions are named apart from the labels.
    let e3 = p.into_dyn();
    let q2 = repeat(&one, 1 << 33);
    let e = refused!(
        ["`i` = 8589934592", "`...` = [2147483648]"],
        "...,i->",
        &e3,
        &q2
    );
    assert!(matches!(e.kind(), ErrorKind::WorkTooLarge { .. }));
    // Into a small output that exists: refused before a write.
    let col = [1.0, 2.0, 3.0];
    let a = ArrayView::from_shape((3, TWO_40).strides((1, 0)), &col[..]).unwrap();
    let mut buf = vec![SENTINEL; 7];
    refused_into!(
        buf,
        ArrayViewMut::from_shape((3,).strides((3,)), &mut buf[..]).unwrap(),
        ["`i` = 3", "`j` = 1099511627776", "`k` = 1099511627776"],
        "ij,k->i",
        &a,
        &x
    );
}

#[test]
fn pairwise_runs_what_one_loop_nest_could_not_count() {
    // Eight operands of 16 × 16 (broadcast): one nest over all 16 labels
    // would be 2^64 steps, but each operand sums to a scalar in 256 steps.
    let vals = [0.5, 0.25, 2.0, 4.0, 0.5, 1.5, 3.0, 0.75];
    let ops: Vec<ArrayView2<'_, f64>> = (0..8).map(|k| repeat2(&vals[k..], (16, 16))).collect();
    let expect: f64 = vals.iter().map(|v| 256.0 * v).product();
    let got: f64 = einsum!(
        "ab,cd,ef,gh,ij,kl,mn,op->",
        &ops[0],
        &ops[1],
        &ops[2],
        &ops[3],
        &ops[4],
        &ops[5],
        &ops[6],
        &ops[7]
    );
    assert_eq!(got, expect);
    // The plan: opt_einsum's counts, the nest's 2^64 points (times 8) too.
    let plan = einsum_path!(
        "ab,cd,ef,gh,ij,kl,mn,op->",
        &ops[0],
        &ops[1],
        &ops[2],
        &ops[3],
        &ops[4],
        &ops[5],
        &ops[6],
        &ops[7]
    );
    assert_eq!(plan.naive_flops(), 1 << 67);
    // Eight sums of 256 (2 FLOPs each), then seven products of scalars.
    assert_eq!(plan.flops(), 8 * 2 * 256 + 7);
    // Into a strided, reversed output, with the first label kept.
    let mut buf = vec![SENTINEL; 3 * 15 + 1];
    {
        let mut out = ArrayViewMut::from_shape([16].strides(st([-3])), &mut buf[..]).unwrap();
        einsum_into!(
            &mut out,
            "ab,cd,ef,gh,ij,kl,mn,op->a",
            &ops[0],
            &ops[1],
            &ops[2],
            &ops[3],
            &ops[4],
            &ops[5],
            &ops[6],
            &ops[7]
        );
    }
    let each = expect / 16.0;
    for (i, x) in buf.iter().enumerate() {
        let want = if i % 3 == 0 { each } else { SENTINEL };
        assert_eq!(x.to_bits(), want.to_bits(), "element {i}");
    }
}

#[test]
fn pairwise_steps_too_large_to_count_are_refused() {
    // A triangle: every pairwise step loops over all three labels (2^93).
    let one = [2.0];
    let m = repeat2(&one, (1 << 31, 1 << 31));
    let e = refused!(
        ["`a` = 2147483648", "`b` = 2147483648", "`c` = 2147483648"],
        "ab,bc,ca->",
        &m,
        &m,
        &m
    );
    assert!(matches!(e.kind(), ErrorKind::WorkTooLarge { .. }));
    // Into a 0-d output, left untouched.
    let mut buf = vec![SENTINEL; 1];
    refused_into!(
        buf,
        ArrayViewMut::from_shape((), &mut buf[..]).unwrap(),
        ["`a` = 2147483648"],
        "ab,bc,ca->",
        &m,
        &m,
        &m
    );
}

#[test]
fn plans_of_huge_sizes_saturate_and_never_overflow() {
    let one = [1.0];
    let m = repeat2(&one, (1 << 31, 1 << 31));
    let p94: u128 = 1 << 94;
    // Three operands: the nest is 3 · 2^124, the steps two products of
    // 2 · 2^93.
    let plan = einsum_path!("ij,jk,kl->il", &m, &m, &m);
    assert_eq!(plan.naive_flops(), 3 << 124);
    assert_eq!(plan.flops(), 2 * p94);
    assert_eq!(plan.largest_intermediate(), 1 << 62);
    assert!(plan
        .to_string()
        .contains("Complete contraction:  ij,jk,kl->il"));
    // Four operands, searched exactly: the nest saturates.
    let plan = einsum_path!("ab,bc,cd,de->ae", &m, &m, &m, &m);
    assert_eq!(plan.naive_flops(), u128::MAX);
    assert_eq!(plan.flops(), 3 * p94);
    assert_eq!(plan.steps().len(), 3);
    // Ten operands, ordered greedily: nine products of 2 · 2^93.
    let plan = einsum_path!(
        "ab,bc,cd,de,ef,fg,gh,hi,ij,jk->ak",
        &m,
        &m,
        &m,
        &m,
        &m,
        &m,
        &m,
        &m,
        &m,
        &m
    );
    assert_eq!(plan.naive_flops(), u128::MAX);
    assert_eq!(plan.flops(), 9 * p94);
    assert_eq!(plan.largest_intermediate(), 1 << 62);
    assert_eq!(plan.steps().len(), 9);
    assert!(plan
        .to_string()
        .contains("ab,bc,cd,de,ef,fg,gh,hi,ij,jk->ak"));
    // Running the chain: its result alone is too large.
    refused!(
        ["[2147483648, 2147483648]"],
        "ab,bc,cd,de->ae",
        &m,
        &m,
        &m,
        &m
    );
}

#[test]
fn a_huge_operand_against_a_fixed_size() {
    let one = [1.0];
    let x = repeat(&one, TWO_40);
    let e = refused!(
        ["label `i` is bound to size 3", "1099511627776", "operand 0 (axis 0)"],
        "i->i",
        &x;
        i = 3
    );
    assert_eq!(
        e.kind(),
        &ErrorKind::FixedSize {
            label: 'i',
            bound: 3,
            found: AxisRef {
                operand: 0,
                axis: 0,
                size: TWO_40
            }
        }
    );
}

// ---------------------------------------------------------------------------
// 2. Absurd ranks
// ---------------------------------------------------------------------------

/// A rank-`rank` shape of ones, with twos at `at`.
fn ones_and_twos(rank: usize, at: &[usize]) -> Vec<usize> {
    (0..rank)
        .map(|r| if at.contains(&r) { 2 } else { 1 })
        .collect()
}

/// Small integers as f64, one per element, from the index.
fn fill(shape: &[usize], seed: i64) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |ix| {
        let v = ix
            .slice()
            .iter()
            .enumerate()
            .fold(seed, |v, (r, &i)| (v * 3 + (r as i64 + 1) * i as i64) % 11);
        (v - 5) as f64
    })
}

#[test]
fn rank_64_operands_compute() {
    let shape = ones_and_twos(64, &[0, 9, 31, 50, 63]);
    let a = fill(&shape, 1);
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            let same: ArrayD<f64> = einsum!("...->...", &a);
            assert_eq!(same, a);
            let total: f64 = einsum!("...->", &a);
            assert_eq!(total, a.sum());
            // Broadcast against a rank-64 operand with fewer twos.
            let b = fill(&ones_and_twos(64, &[9, 63]), 2);
            let prod: ArrayD<f64> = einsum!("...,...->...", &a, &b);
            assert_eq!(prod, &a * &b);
            // The last axis as a label, summed: rank 63 out.
            let dot: ArrayD<f64> = einsum!("...i,...i->...", &a, &a);
            let expect = (&a * &a).sum_axis(einsum::ndarray::Axis(63));
            assert_eq!(dot, expect);
        });
    }
}

/// `Σ_j a[..., i, j] · b[..., j, k]` by loops over the batch.
fn batched_matmul(a: &ArrayD<f64>, b: &ArrayViewD<'_, f64>) -> ArrayD<f64> {
    let r = a.ndim();
    let batch = &a.shape()[..r - 2];
    let (m, n, kk) = (a.shape()[r - 2], a.shape()[r - 1], b.shape()[r - 1]);
    let mut shape = batch.to_vec();
    shape.extend([m, kk]);
    let mut out = ArrayD::zeros(IxDyn(&shape));
    for ix in indices(IxDyn(batch)) {
        let at = |i: usize, j: usize| {
            let mut v = ix.slice().to_vec();
            v.extend([i, j]);
            IxDyn(&v)
        };
        // `b` may broadcast a batch axis of length 1.
        let bt = |j: usize, k: usize| {
            let mut v: Vec<usize> = ix
                .slice()
                .iter()
                .zip(b.shape())
                .map(|(&i, &d)| if d == 1 { 0 } else { i })
                .collect();
            v.extend([j, k]);
            IxDyn(&v)
        };
        for i in 0..m {
            for k in 0..kk {
                out[at(i, k)] = (0..n).map(|j| a[at(i, j)] * b[bt(j, k)]).sum();
            }
        }
    }
    out
}

#[test]
fn rank_40_batched_products_compute() {
    let mut shape = ones_and_twos(38, &[3, 17, 37]);
    shape.extend([2, 3]);
    let a = fill(&shape, 3);
    let mut bshape = ones_and_twos(38, &[17]);
    bshape.extend([3, 2]);
    let b = fill(&bshape, 4);
    let expect = batched_matmul(&a, &b.view());
    let v = Array1::from(vec![1.0, -2.0]);
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            let got: ArrayD<f64> = einsum!("...ij,...jk->...ik", &a, &b);
            assert_eq!(got, expect);
            // Three operands, pairwise over 40-axis masks.
            let got: ArrayD<f64> = einsum!("...ij,...jk,k->...i", &a, &b, &v);
            let want = expect.dot_last(&v);
            assert_eq!(got, want);
        });
    }
}

/// `x · v` along the last axis.
trait DotLast {
    fn dot_last(&self, v: &Array1<f64>) -> ArrayD<f64>;
}

impl DotLast for ArrayD<f64> {
    fn dot_last(&self, v: &Array1<f64>) -> ArrayD<f64> {
        let r = self.ndim();
        let shape = &self.shape()[..r - 1];
        ArrayD::from_shape_fn(IxDyn(shape), |ix| {
            (0..v.len())
                .map(|k| {
                    let mut i = ix.slice().to_vec();
                    i.push(k);
                    self[IxDyn(&i)] * v[k]
                })
                .sum()
        })
    }
}

#[test]
#[cfg_attr(miri, ignore = "65 536 outputs: minutes under Miri")]
fn more_loop_axes_than_the_gemm_tables_hold() {
    // Fourteen batch axes of 2 that step by 1 each (an overlapping view, so
    // no two merge), with `i`, `j` and `k`: 17 loop axes, one more than the
    // GEMM kernel's tables, so the loop nest takes it.
    let data: Vec<f64> = (0..40).map(|v| (v % 7) as f64 - 3.0).collect();
    let mut shape = vec![2usize; 14];
    shape.extend([2, 3]);
    let mut strides = vec![1isize; 14];
    strides.extend([3, 1]);
    let a = ArrayView::from_shape(
        IxDyn(&shape).strides(IxDyn(&st_dyn(&strides))),
        &data[..span(&shape, &strides)],
    )
    .unwrap()
    .to_owned();
    let av = ArrayView::from_shape(
        IxDyn(&shape).strides(IxDyn(&st_dyn(&strides))),
        &data[..span(&shape, &strides)],
    )
    .unwrap();
    let mut bshape = vec![1usize; 14];
    bshape.extend([3, 2]);
    let b = fill(&bshape, 5);
    let expect = batched_matmul(&a, &b.view());
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            let got: ArrayD<f64> = einsum!("...ij,...jk->...ik", &av, &b);
            assert_eq!(got, expect);
        });
    }
}

fn st_dyn(s: &[isize]) -> Vec<usize> {
    s.iter().map(|&x| x as usize).collect()
}

#[test]
fn ranks_past_64_are_refused() {
    let a = ArrayD::<f64>::zeros(IxDyn(&ones_and_twos(100, &[5])));
    let e = refused!(
        ["operand 0 has 100 axes", "more than the 64"],
        "...->...",
        &a
    );
    assert_eq!(
        e.kind(),
        &ErrorKind::TooManyAxes {
            operand: Some(0),
            axes: 100,
            max: 64
        }
    );
    // The second operand, behind a term with labels.
    let small = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    let long = ArrayD::<f64>::zeros(IxDyn(&ones_and_twos(65, &[64])));
    refused!(
        ["operand 1 has 65 axes", "more than the 64"],
        "ij,...j->i",
        &small,
        &long
    );
    // Each operand fits, the expression does not: 26 labels and 44 `...`
    // dimensions.
    let wide = ArrayD::<f64>::zeros(IxDyn(&[1; 64]));
    let six = ArrayD::<f64>::zeros(IxDyn(&[1; 6]));
    let e = refused!(
        [
            "labels and `...` dimensions make 70 axes",
            "more than the 64"
        ],
        "abcdefghijklmnopqrst...,uvwxyz->",
        &wide,
        &six
    );
    assert_eq!(
        e.kind(),
        &ErrorKind::TooManyAxes {
            operand: None,
            axes: 70,
            max: 64
        }
    );
    // A rank of 100 where the term wants two axes is a rank error.
    let e = refused!(
        ["operand 0 has 100 axes", "term \"ij\" has 2 labels"],
        "ij->ji",
        &a
    );
    assert!(matches!(e.kind(), ErrorKind::Rank { ndim: 100, .. }));
}

// ---------------------------------------------------------------------------
// 3. Huge strides
// ---------------------------------------------------------------------------

#[test]
fn length_one_axes_with_huge_strides() {
    let d = [2.0, -3.0, 5.0, 7.0];
    let half = isize::MAX / 2;
    let far = isize::MIN + 1;
    // (1, 3) whose first axis steps half the address space.
    let a = ArrayView::from_shape([1, 3].strides(st([half, 1])), &d[..3]).unwrap();
    // (3, 1) whose second axis steps back almost all of it.
    let b = ArrayView::from_shape([3, 1].strides(st([1, far])), &d[1..]).unwrap();
    // (1, 1) with the largest strides there are.
    let c = ArrayView::from_shape([1, 1].strides(st([isize::MAX, far])), &d[3..]).unwrap();
    let dot: f64 = (0..3).map(|j| a[[0, j]] * b[[j, 0]]).sum();
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            assert_eq!(einsum!("ij,jk->ik", &a, &b), Array2::from_elem((1, 1), dot));
            assert_eq!(einsum!("ij,jk->ki", &a, &b), Array2::from_elem((1, 1), dot));
            assert_eq!(einsum!("ij->ji", &a), a.t());
            assert_eq!(einsum!("ij,kj->ikj", &a, &b.t()).shape(), [1, 1, 3]);
            assert_eq!(
                einsum!("ij,kj->ikj", &a, &b.t())
                    .into_raw_vec_and_offset()
                    .0,
                (0..3).map(|j| a[[0, j]] * b[[j, 0]]).collect::<Vec<_>>()
            );
            // A diagonal over two such axes: the strides add (wrapping).
            assert_eq!(einsum!("ii->i", &c), Array1::from_elem(1, 7.0));
            let tr: f64 = einsum!("ii", &c);
            assert_eq!(tr, 7.0);
            // Three operands, with a fixed size.
            let three: f64 = einsum!("ij,jk,kl->", &a, &b, &c; j = 3);
            assert_eq!(three, dot * 7.0);
            // Under `...`.
            let e = ArrayView::from_shape(
                IxDyn(&[1, 1, 3]).strides(IxDyn(&st_dyn(&[half, far, 1]))),
                &d[..3],
            )
            .unwrap();
            let got: ArrayD<f64> = einsum!("...i,...i->...", &e, &e);
            let want: f64 = d[..3].iter().map(|x| x * x).sum();
            assert_eq!(got, ArrayD::from_elem(IxDyn(&[1, 1]), want));
        });
    }
}

#[test]
fn strides_far_apart_and_negative() {
    // (2, 3) whose rows are 4096 elements apart, backwards, and whose
    // columns are 1024 apart.
    let data: Vec<f64> = (0..(4096 + 2 * 1024 + 1))
        .map(|v| (v % 13) as f64)
        .collect();
    let a = ArrayView::from_shape([2, 3].strides(st([-4096, 1024])), &data[..]).unwrap();
    let b = ArrayView::from_shape([3, 2].strides(st([-1, -2048])), &data[..2048 + 3]).unwrap();
    let mut expect = Array2::<f64>::zeros((2, 2));
    for i in 0..2 {
        for k in 0..2 {
            expect[[i, k]] = (0..3).map(|j| a[[i, j]] * b[[j, k]]).sum();
        }
    }
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            assert_eq!(einsum!("ij,jk->ik", &a, &b), expect);
            assert_eq!(einsum!("ij->ji", &a), a.t());
            let s: f64 = einsum!("ij,ji->", &a, &b);
            assert_eq!(s, (0..2).map(|i| expect[[i, i]]).sum::<f64>());
        });
    }
}

#[test]
fn empty_axes_with_huge_strides() {
    let d = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let half = isize::MAX / 2;
    let far = isize::MIN + 1;
    // (0, 3) and (3, 0) whose empty axes step half the address space.
    let e = ArrayView::from_shape([0, 3].strides(st([half, 1])), &d[..]).unwrap();
    let f = ArrayView::from_shape([3, 0].strides(st([1, far])), &d[..]).unwrap();
    let g = ArrayView::from_shape([0, 0].strides(st([far, isize::MAX])), &d[..]).unwrap();
    let b = Array2::from_shape_fn((3, 2), |(i, j)| (i * 2 + j) as f64);
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            assert_eq!(einsum!("ij->j", &e), Array1::zeros(3));
            assert_eq!(einsum!("ij->i", &e).shape(), [0]);
            assert_eq!(einsum!("ij->ji", &e).shape(), [3, 0]);
            assert_eq!(einsum!("ij,jk->ik", &e, &b).shape(), [0, 2]);
            // The empty label summed: zeros.
            assert_eq!(einsum!("ij,jk->ik", &f, &e), Array2::zeros((3, 3)));
            assert_eq!(einsum!("ii->i", &g).shape(), [0]);
            let tr: f64 = einsum!("ii", &g);
            assert_eq!(tr, 0.0);
            let z: f64 = einsum!("ij,jk,ki->", &e, &b, &f.slice(einsum::ndarray::s![..2, ..]));
            assert_eq!(z, 0.0);
            assert_eq!(
                einsum!("ij,jk,kl->il", &f, &e, &b),
                Array2::<f64>::zeros((3, 2))
            );
        });
    }
    let plan = einsum_path!("ij,jk,kl->il", &f, &e, &b);
    assert_eq!(plan.naive_flops(), 0);
}

// ---------------------------------------------------------------------------
// 4. Dynamic ranks that do not fit their terms
// ---------------------------------------------------------------------------

#[test]
fn dynamic_ranks_must_fit_their_terms() {
    let m = ArrayD::<f64>::ones(IxDyn(&[2, 2]));
    let v = ArrayD::<f64>::ones(IxDyn(&[2]));
    let t = ArrayD::<f64>::ones(IxDyn(&[2, 2, 2]));
    let s = ArrayD::<f64>::ones(IxDyn(&[]));
    // Too few, no `...`.
    let e = refused!(
        ["operand 1 has 1 axes", "term \"jk\" has 2 labels"],
        "ij,jk->ik",
        &m,
        &v
    );
    assert_eq!(
        e.kind(),
        &ErrorKind::Rank {
            operand: 1,
            term: "jk",
            labels: 2,
            ellipsis: false,
            ndim: 1
        }
    );
    // Too many, no `...`.
    refused!(
        ["operand 0 has 3 axes", "term \"ij\" has 2 labels"],
        "ij,jk->ik",
        &t,
        &m
    );
    // A 0-d operand for a term with a label, and the reverse.
    refused!(
        ["operand 2 has 0 axes", "term \"k\" has 1 labels"],
        "ij,jk,k->i",
        &m,
        &m,
        &s
    );
    refused!(
        ["operand 0 has 1 axes", "term \"\" has 0 labels"],
        ",i->i",
        &v,
        &v
    );
    // Too few under `...`.
    let e = refused!(
        ["operand 0 has 1 axes", "term \"...ij\" needs at least 2"],
        "...ij->...",
        &v
    );
    assert!(matches!(
        e.kind(),
        ErrorKind::Rank {
            operand: 0,
            ellipsis: true,
            ..
        }
    ));
    // Too many under `...`.
    let long = ArrayD::<f64>::ones(IxDyn(&[1; 70]));
    refused!(["operand 1 has 70 axes"], "ij,...j->i", &m, &long);
    // Into the right output, left untouched.
    let mut buf = vec![SENTINEL; 4];
    refused_into!(
        buf,
        ArrayViewMut::from_shape((2, 2), &mut buf[..]).unwrap(),
        ["operand 1 has 3 axes", "term \"jk\" has 2 labels"],
        "ij,jk->ik",
        &m,
        &t
    );
    refused_into!(
        buf,
        ArrayViewMut::from_shape(IxDyn(&[2, 2]), &mut buf[..]).unwrap(),
        ["operand 0 has 1 axes", "term \"i...j\" needs at least 2"],
        "i...j->i...j",
        &v
    );
}

// ---------------------------------------------------------------------------
// 5. Outputs of `einsum_into!`
// ---------------------------------------------------------------------------

/// The expressions of an `(r, c)` result run below, by number.
const INTO_CASES: [&str; 7] = [
    "ji->ij",
    "ijk->ij",
    "ij,jk->ik",
    "i,j->ij",
    "ij,jk,kl->il",
    "xyij,ij->xy; i = 3, j = 3",
    "ii,ij->ij; i = R",
];

/// Operands for an `(r, c)` result, and the result by plain loops.
struct IntoCase {
    at: Array2<f64>,
    cube: Array<f64, Ix3>,
    a: Array2<f64>,
    b: Array2<f64>,
    x: Array1<f64>,
    y: Array1<f64>,
    p: Array2<f64>,
    q: Array2<f64>,
    img: Array2<f64>,
    k: Array2<f64>,
    sq: Array2<f64>,
    m: Array2<f64>,
}

fn val(i: usize, j: usize, salt: usize) -> f64 {
    ((i * 7 + j * 3 + salt) % 9) as f64 - 4.0
}

impl IntoCase {
    fn new(r: usize, c: usize) -> Self {
        let mk = |m: usize, n: usize, salt: usize| {
            Array2::from_shape_fn((m, n), |(i, j)| val(i, j, salt))
        };
        IntoCase {
            at: mk(c, r, 1),
            cube: Array::from_shape_fn((r, c, 3), |(i, j, k)| val(i, j + 5 * k, 2)),
            a: mk(r, 4, 3),
            b: mk(4, c, 4),
            x: Array1::from_shape_fn(r, |i| val(i, 0, 5)),
            y: Array1::from_shape_fn(c, |j| val(0, j, 6)),
            p: mk(r, 3, 7),
            q: mk(3, 5, 8),
            img: mk(r + 2, c + 2, 9),
            k: mk(3, 3, 10),
            sq: mk(R, R, 11),
            m: mk(R, c, 12),
        }
    }

    fn expect(&self, case: usize, r: usize, c: usize) -> Array2<f64> {
        let q5 = Array2::from_shape_fn((5, c), |(i, j)| val(i, j, 13));
        Array2::from_shape_fn((r, c), |(i, j)| match case {
            0 => self.at[[j, i]],
            1 => (0..3).map(|k| self.cube[[i, j, k]]).sum(),
            2 => (0..4).map(|k| self.a[[i, k]] * self.b[[k, j]]).sum(),
            3 => self.x[i] * self.y[j],
            4 => (0..3)
                .map(|k| {
                    (0..5)
                        .map(|l| self.p[[i, k]] * self.q[[k, l]] * q5[[l, j]])
                        .sum::<f64>()
                })
                .sum(),
            5 => (0..3)
                .flat_map(|u| (0..3).map(move |v| (u, v)))
                .map(|(u, v)| self.img[[i + u, j + v]] * self.k[[u, v]])
                .sum(),
            _ => self.sq[[i, i]] * self.m[[i, j]],
        })
    }
}

/// The fixed size of case 6's label `i` (its result has `R` rows).
const R: usize = 4;

/// Runs case `case` into `out`.
fn run_into(case: usize, ops: &IntoCase, out: &mut ArrayViewMut<'_, f64, Ix2>) {
    let c = out.ncols();
    let q5 = Array2::from_shape_fn((5, c), |(i, j)| val(i, j, 13));
    match case {
        0 => einsum_into!(out, "ji->ij", &ops.at),
        1 => einsum_into!(out, "ijk->ij", &ops.cube),
        2 => einsum_into!(out, "ij,jk->ik", &ops.a, &ops.b),
        3 => einsum_into!(out, "i,j->ij", &ops.x, &ops.y),
        4 => einsum_into!(out, "ij,jk,kl->il", &ops.p, &ops.q, &q5),
        5 => {
            // Windows of the image (rows of unit stride, for the row
            // kernel); an empty result has no windows, so an empty array.
            let empty = Array::<f64, Ix4>::zeros((out.nrows(), c, 3, 3));
            let w = if empty.is_empty() {
                empty.view()
            } else {
                windows2(&ops.img, (3, 3), (1, 1)).unwrap()
            };
            einsum_into!(out, "xyij,ij->xy", w, &ops.k; i = 3, j = 3)
        }
        _ => einsum_into!(out, "ii,ij->ij", &ops.sq, &ops.m; i = R),
    }
}

/// Output layouts of shape `(r, c)`: strides, in elements.
fn layouts(r: usize, c: usize) -> Vec<[isize; 2]> {
    let (r, c) = (r as isize, c as isize);
    let mut v = vec![
        [c, 1],          // C order
        [1, r],          // Fortran order (a transposed C array)
        [-c, -1],        // both axes reversed
        [2 * c + 1, 2],  // stepped
        [-2, 2 * r + 3], // column-major, stepped, rows reversed
        [1, -(r + 1)],   // column-major, columns reversed, a gap
    ];
    // An axis of one element, or of none, may step anywhere at all.
    let half = isize::MAX / 2;
    let far = isize::MIN + 1;
    if r <= 1 {
        v.push([half, 3]);
        v.push([far, -1]);
    }
    if c <= 1 {
        v.push([-3, half]);
        v.push([1, far]);
    }
    v
}

#[test]
fn into_every_output_layout_writes_the_view_and_nothing_else() {
    // Sizes: ordinary (rows of 9, long enough for the row kernel), one row,
    // one column, and empty either way.
    let shapes: &[(usize, usize)] = if cfg!(miri) {
        &[(R, 9), (R, 1), (R, 0)]
    } else {
        &[(R, 9), (1, 9), (R, 1), (0, 9), (R, 0)]
    };
    for &(r, c) in shapes {
        for (case, name) in INTO_CASES.iter().enumerate() {
            if case == 6 && r != R {
                continue; // `i = R` fixes the rows
            }
            let ops = IntoCase::new(r, c);
            let expect = ops.expect(case, r, c);
            for strides in layouts(r, c) {
                for t in [DEFAULT, EAGER] {
                    let margin = 5;
                    let n = span(&[r, c], &strides);
                    let mut buf = vec![SENTINEL; n + 2 * margin];
                    with_thresholds(t, || {
                        let mut out = ArrayViewMut::from_shape(
                            [r, c].strides(st(strides)),
                            &mut buf[margin..margin + n],
                        )
                        .unwrap();
                        run_into(case, &ops, &mut out);
                    });
                    // What `buf` must hold: the sentinel, but the view's
                    // elements, assigned the result by ndarray.
                    let mut want = vec![SENTINEL; n + 2 * margin];
                    ArrayViewMut::from_shape(
                        [r, c].strides(st(strides)),
                        &mut want[margin..margin + n],
                    )
                    .unwrap()
                    .assign(&expect);
                    // Outside the view, the very bits; inside, the values
                    // (a kernel may write 0.0 where the loop has -0.0).
                    let same = buf.iter().zip(&want).all(|(x, w)| {
                        if w.to_bits() == SENTINEL.to_bits() {
                            x.to_bits() == w.to_bits()
                        } else {
                            x == w
                        }
                    });
                    assert!(
                        same,
                        "{:?} into ({r}, {c}) with strides {strides:?}, {t:?}:\n{buf:?}\n{want:?}",
                        name
                    );
                }
            }
        }
    }
}

/// A `shape` view of `buf` in C order.
fn c_view<'a>(buf: &'a mut [f64], shape: &[usize]) -> ArrayViewMutD<'a, f64> {
    let n: usize = shape.iter().product();
    ArrayViewMut::from_shape(IxDyn(shape), &mut buf[..n]).unwrap()
}

#[test]
fn into_the_wrong_shape_leaves_out_untouched() {
    let a = Array2::from_shape_fn((2, 4), |(i, j)| val(i, j, 1));
    let b = Array2::from_shape_fn((4, 3), |(i, j)| val(i, j, 2));
    let c = Array2::from_shape_fn((3, 3), |(i, j)| val(i, j, 3));
    let t32 = Array2::from_shape_fn((3, 2), |(i, j)| val(i, j, 7));
    let img = Array2::from_shape_fn((4, 5), |(i, j)| val(i, j, 4));
    let k = Array2::from_shape_fn((3, 3), |(i, j)| val(i, j, 5));
    let w = windows2(&img, (3, 3), (1, 1)).unwrap(); // (2, 3, 3, 3)
    let mut buf = vec![SENTINEL; 24];
    for t in [DEFAULT, EAGER] {
        with_thresholds(t, || {
            // A permuted shape of the same size, a wrong size, and empty.
            for wrong in [[3, 2], [2, 4], [1, 6], [6, 1], [0, 3]] {
                let n = wrong[0] * wrong[1];
                let found = format!("{wrong:?}");
                let (want, found) = ("result has shape [2, 3]", found.as_str());
                refused_into!(
                    buf,
                    ArrayViewMut::from_shape((wrong[0], wrong[1]), &mut buf[..n]).unwrap(),
                    [want, found],
                    "ij->ji",
                    &t32
                );
                let e = refused_into!(
                    buf,
                    ArrayViewMut::from_shape((wrong[0], wrong[1]), &mut buf[..n]).unwrap(),
                    [want, found],
                    "ij,jk->ik",
                    &a,
                    &b
                );
                assert_eq!(
                    e.kind(),
                    &ErrorKind::OutputShape {
                        expected: vec![2, 3],
                        found: wrong.to_vec()
                    }
                );
                refused_into!(
                    buf,
                    ArrayViewMut::from_shape((wrong[0], wrong[1]), &mut buf[..n]).unwrap(),
                    [want, found],
                    "ij,jk,kl->il",
                    &a,
                    &b,
                    &c
                );
                refused_into!(
                    buf,
                    ArrayViewMut::from_shape((wrong[0], wrong[1]), &mut buf[..n]).unwrap(),
                    [want, found],
                    "xyij,ij->xy",
                    &w,
                    &k;
                    i = 3,
                    j = 3
                );
                // The same as `ArrayViewMutD`.
                refused_into!(
                    buf,
                    c_view(&mut buf, &wrong),
                    [want, found],
                    "ij,jk->ik",
                    &a,
                    &b
                );
            }
            // Dynamic ranks that differ: too few, too many, none.
            for wrong in [&[6][..], &[2, 3, 1], &[1, 2, 3], &[]] {
                let found = format!("{wrong:?}");
                let parts = ["result has shape [2, 3]", found.as_str()];
                let e = refused_into!(
                    buf,
                    c_view(&mut buf, wrong),
                    [parts[0], parts[1]],
                    "ij->ji",
                    &t32
                );
                assert!(matches!(e.kind(), ErrorKind::OutputShape { .. }));
                refused_into!(
                    buf,
                    c_view(&mut buf, wrong),
                    [parts[0], parts[1]],
                    "ij,jk->ik",
                    &a,
                    &b
                );
                refused_into!(
                    buf,
                    c_view(&mut buf, wrong),
                    [parts[0], parts[1]],
                    "ij,jk,kl->il",
                    &a,
                    &b,
                    &c
                );
                refused_into!(
                    buf,
                    c_view(&mut buf, wrong),
                    [parts[0], parts[1]],
                    "xyij,ij->xy",
                    &w,
                    &k;
                    i = 3,
                    j = 3
                );
            }
            // A scalar result into a rank-1 output.
            let x = Array1::from_shape_fn(4, |i| val(i, 0, 6));
            refused_into!(
                buf,
                c_view(&mut buf, &[1]),
                ["output array has shape [1]", "result has shape []"],
                "i,i->",
                &x,
                &x
            );
            // Fixed sizes the operands contradict, into a right output.
            let e = refused_into!(
                buf,
                ArrayViewMut::from_shape((2, 3), &mut buf[..6]).unwrap(),
                ["label `i` is bound to size 2", "size 3 in operand 0 (axis 2)"],
                "xyij,ij->xy",
                &w,
                &k;
                i = 2,
                j = 3
            );
            assert!(matches!(e.kind(), ErrorKind::FixedSize { label: 'i', .. }));
            // Both wrong: the operands' error comes first.
            refused_into!(
                buf,
                ArrayViewMut::from_shape((3, 2), &mut buf[..6]).unwrap(),
                ["label `j` has size 4 in operand 0 (axis 1) but 3 in operand 1 (axis 0)"],
                "ij,jk->ik",
                &a,
                &c
            );
        });
    }
    // One element type more: integers, into a 1-d output.
    let v = Array1::from_shape_fn(3, |i| i as i64 - 1);
    let mut ibuf = vec![i64::MIN + 7; 4];
    let before = ibuf.clone();
    let e = error_of(|| {
        let mut out: ArrayViewMut1<'_, i64> = ArrayViewMut::from_shape(4, &mut ibuf[..]).unwrap();
        try_einsum_into!(&mut out, "i->i", &v)
    });
    assert_names(&e, &["[4]", "[3]"]);
    assert_eq!(ibuf, before);
}
