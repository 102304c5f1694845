//! The `alpha` and `beta` options: `out ← alpha·result + beta·out`.
//!
//! Every call is checked against a plain loop written here (the matrix
//! product, the filter and each shape's own sums) with the options applied
//! by hand, over each kernel a call can take: the call site's loops (small
//! sizes), the call site's product straight to `gemm`, the run-time GEMM and
//! loop nests (large sizes, or forced by thresholds), pairwise chains, the
//! row kernel of fixed sizes. Outputs are pre-filled with values that differ
//! per element, so that `beta·out` is seen element by element, and strided
//! outputs sit inside larger arrays whose other elements must stay as they
//! were. With `beta` zero `out` is never read: outputs full of NaN come out
//! with no NaN.

use std::cell::Cell;
use std::fmt::Debug;

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{
    s, Array, Array0, Array1, Array2, Array3, ArrayBase, ArrayView2, ArrayViewMut2, Data,
    Dimension, ShapeBuilder, Zip,
};
use einsum::num_complex::Complex;
use einsum::windows::windows2;
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, ErrorKind};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------------------
// Elements, values and comparison
// ---------------------------------------------------------------------------

/// The arithmetic the references need, in `T`'s own terms (wrapping for
/// integers, as the crate's integer sums wrap).
trait Elem: Copy + Debug + PartialEq {
    fn zero() -> Self;
    fn add(self, rhs: Self) -> Self;
    fn mul(self, rhs: Self) -> Self;
    /// One deterministic input value.
    fn sample(rng: &mut SmallRng) -> Self;
    /// `got` is `want` up to the rounding of a sum taken in another order.
    fn close(got: Self, want: Self) -> bool;
}

impl Elem for f64 {
    fn zero() -> Self {
        0.0
    }
    fn add(self, rhs: Self) -> Self {
        self + rhs
    }
    fn mul(self, rhs: Self) -> Self {
        self * rhs
    }
    fn sample(rng: &mut SmallRng) -> Self {
        rng.random_range(-1.0..1.0)
    }
    fn close(got: Self, want: Self) -> bool {
        (got - want).abs() <= 1e-10 * (1.0 + want.abs())
    }
}

impl Elem for f32 {
    fn zero() -> Self {
        0.0
    }
    fn add(self, rhs: Self) -> Self {
        self + rhs
    }
    fn mul(self, rhs: Self) -> Self {
        self * rhs
    }
    // Small integers: every sum of the tests is exact in `f32`.
    fn sample(rng: &mut SmallRng) -> Self {
        rng.random_range(-3i32..=3) as f32
    }
    fn close(got: Self, want: Self) -> bool {
        (got - want).abs() <= 1e-5 * (1.0 + want.abs())
    }
}

impl Elem for i32 {
    fn zero() -> Self {
        0
    }
    fn add(self, rhs: Self) -> Self {
        self.wrapping_add(rhs)
    }
    fn mul(self, rhs: Self) -> Self {
        self.wrapping_mul(rhs)
    }
    fn sample(rng: &mut SmallRng) -> Self {
        rng.random_range(-9..=9)
    }
    fn close(got: Self, want: Self) -> bool {
        got == want
    }
}

impl Elem for u8 {
    fn zero() -> Self {
        0
    }
    fn add(self, rhs: Self) -> Self {
        self.wrapping_add(rhs)
    }
    fn mul(self, rhs: Self) -> Self {
        self.wrapping_mul(rhs)
    }
    // Any byte: products and sums wrap.
    fn sample(rng: &mut SmallRng) -> Self {
        rng.random()
    }
    fn close(got: Self, want: Self) -> bool {
        got == want
    }
}

impl Elem for Complex<f64> {
    fn zero() -> Self {
        Complex::new(0.0, 0.0)
    }
    fn add(self, rhs: Self) -> Self {
        self + rhs
    }
    fn mul(self, rhs: Self) -> Self {
        self * rhs
    }
    fn sample(rng: &mut SmallRng) -> Self {
        Complex::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0))
    }
    fn close(got: Self, want: Self) -> bool {
        (got - want).norm() <= 1e-10 * (1.0 + want.norm())
    }
}

/// An array of `shape` filled from a generator seeded with `seed`.
fn values<T: Elem, Sh: ShapeBuilder>(shape: Sh, seed: u64) -> Array<T, Sh::Dim> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array::from_shape_simple_fn(shape, || T::sample(&mut rng))
}

/// `alpha·want + beta·before`, element by element; `before` is not read
/// where `beta` is zero (so a NaN there does not count), as in BLAS.
fn axpby<T: Elem, D: Dimension>(
    alpha: T,
    want: &Array<T, D>,
    beta: T,
    before: &Array<T, D>,
) -> Array<T, D> {
    let mut r = want.mapv(|w| alpha.mul(w));
    if beta != T::zero() {
        Zip::from(&mut r)
            .and(before)
            .for_each(|r, &b| *r = r.add(beta.mul(b)));
    }
    r
}

/// Every element of `got` is close to `want`'s (in logical order, whatever
/// `got`'s strides).
#[track_caller]
fn assert_close<T: Elem, S: Data<Elem = T>, D: Dimension>(
    what: &str,
    got: &ArrayBase<S, D>,
    want: &Array<T, D>,
) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (n, (&g, &w)) in got.iter().zip(want.iter()).enumerate() {
        assert!(
            T::close(g, w),
            "{what}: element {n} (row-major) is {g:?}, want {w:?}"
        );
    }
}

#[track_caller]
fn assert_close_scalar<T: Elem>(what: &str, got: T, want: T) {
    assert!(T::close(got, want), "{what}: got {got:?}, want {want:?}");
}

// ---------------------------------------------------------------------------
// References: plain loops
// ---------------------------------------------------------------------------

/// `c[i, k] = Σⱼ a[i, j]·b[j, k]`.
fn matmul_ref<T: Elem>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Array2<T> {
    let (m, k) = a.dim();
    assert_eq!(b.nrows(), k);
    let n = b.ncols();
    let mut c = Array2::from_elem((m, n), T::zero());
    for i in 0..m {
        for l in 0..n {
            let mut acc = T::zero();
            for j in 0..k {
                acc = acc.add(a[[i, j]].mul(b[[j, l]]));
            }
            c[[i, l]] = acc;
        }
    }
    c
}

/// `out[x, y] = Σᵢⱼ img[x + i, y + j]·k[i, j]` (windows of step 1).
fn filter_ref<T: Elem>(img: &Array2<T>, k: &Array2<T>) -> Array2<T> {
    let (kh, kw) = k.dim();
    let (h, w) = img.dim();
    Array::from_shape_fn((h - kh + 1, w - kw + 1), |(x, y)| {
        let mut acc = T::zero();
        for i in 0..kh {
            for j in 0..kw {
                acc = acc.add(img[[x + i, y + j]].mul(k[[i, j]]));
            }
        }
        acc
    })
}

/// `Σᵢ x[i]·y[i]`.
fn dot_ref<T: Elem>(x: &Array1<T>, y: &Array1<T>) -> T {
    x.iter()
        .zip(y)
        .fold(T::zero(), |acc, (&a, &b)| acc.add(a.mul(b)))
}

// ---------------------------------------------------------------------------
// Ways to run a call
// ---------------------------------------------------------------------------

/// The run-time loop nest alone: no call-site loops, no GEMM, no tiles.
const NEST: Thresholds = Thresholds {
    gemm_min_work: usize::MAX,
    skinny_min_work: usize::MAX,
    dots_max_work: 0,
    transpose_min_len: usize::MAX,
    small_max_work: 0,
    rows_min_len: usize::MAX,
    product_max_work: 0,
    parallel_min_work: usize::MAX,
    ..Thresholds::DEFAULT
};

/// Runs `f` the ways a small call can go: the defaults (call-site loops or
/// row kernel), the same split over threads, every run-time kernel forced
/// (GEMM, threads), and the run-time loop nest alone. The options must give
/// the same values on each side of every choice.
fn each_way(mut f: impl FnMut()) {
    let split = Thresholds {
        parallel_min_work: 0,
        ..Thresholds::DEFAULT
    };
    f();
    with_thresholds(split, &mut f);
    with_thresholds(Thresholds::EAGER, &mut f);
    with_thresholds(NEST, &mut f);
}

/// Matrix products `m×k·k×n`: the call site's loops (60 multiply-adds),
/// the call site's product straight to `gemm` (24 000), the run-time GEMM
/// kernels (5.1 million).
const PRODUCTS: [(usize, usize, usize); 3] = [(3, 4, 5), (20, 30, 40), (200, 150, 170)];

/// Below this many multiply-adds a product is also run [`each_way`]; above,
/// the defaults alone (the forced loop nest would be slow).
const EACH_WAY_MAX_WORK: usize = 100_000;

fn product_operands(m: usize, k: usize, n: usize) -> (Array2<f64>, Array2<f64>) {
    (values((m, k), 1), values((k, n), 2))
}

/// `einsum_into!(out, "ij,jk->ik", a, b; ..)` with each combination of the
/// options (both, `beta = 1.0`, `alpha` alone, `beta` alone, neither), each
/// from the same starting `out` and checked against the loop. Leaves `out`
/// as it found it.
#[track_caller]
fn product_into_all_ways(
    what: &str,
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    out: &mut ArrayViewMut2<'_, f64>,
) {
    let want = matmul_ref(a, b);
    let before = out.to_owned();

    einsum_into!(&mut *out, "ij,jk->ik", a, b; alpha = 2.0, beta = 0.5);
    assert_close(
        &format!("{what}: alpha = 2, beta = 0.5"),
        out,
        &axpby(2.0, &want, 0.5, &before),
    );
    out.assign(&before);

    // Accumulation, the convolution-gradient and residual case.
    einsum_into!(&mut *out, "ij,jk->ik", a, b; beta = 1.0);
    assert_close(
        &format!("{what}: beta = 1"),
        out,
        &axpby(1.0, &want, 1.0, &before),
    );
    out.assign(&before);

    einsum_into!(&mut *out, "ij,jk->ik", a, b; alpha = -0.75);
    assert_close(
        &format!("{what}: alpha = -0.75"),
        out,
        &axpby(-0.75, &want, 0.0, &before),
    );
    out.assign(&before);

    einsum_into!(&mut *out, "ij,jk->ik", a, b; beta = -3.0);
    assert_close(
        &format!("{what}: beta = -3"),
        out,
        &axpby(1.0, &want, -3.0, &before),
    );
    out.assign(&before);

    einsum_into!(&mut *out, "ij,jk->ik", a, b);
    assert_close(&format!("{what}: no options"), out, &want);
    out.assign(&before);
}

/// `f` each way for a small product, once for a large one.
fn ways_for(work: usize, f: impl FnMut()) {
    if work <= EACH_WAY_MAX_WORK {
        each_way(f);
    } else {
        let mut f = f;
        f();
    }
}

// ---------------------------------------------------------------------------
// (a) The matrix product into outputs of every layout
// ---------------------------------------------------------------------------

#[test]
fn product_into_contiguous_and_column_major() {
    for (m, k, n) in PRODUCTS {
        let (a, b) = product_operands(m, k, n);
        let what = format!("{m}x{k}x{n}");
        ways_for(m * k * n, || {
            let mut out = values::<f64, _>((m, n), 3);
            product_into_all_ways(&what, a.view(), b.view(), &mut out.view_mut());
            // Column-major: the output's rows are not of unit stride.
            let mut f = Array2::<f64>::zeros((m, n).f());
            f.assign(&values::<f64, _>((m, n), 4));
            product_into_all_ways(
                &format!("{what}, column-major"),
                a.view(),
                b.view(),
                &mut f.view_mut(),
            );
        });
    }
}

#[test]
fn product_into_strided_views_leaves_the_rest() {
    for (m, k, n) in PRODUCTS {
        let (a, b) = product_operands(m, k, n);
        let what = format!("{m}x{k}x{n}");
        ways_for(m * k * n, || {
            // Every other row of a larger array: the rows between stay.
            let mut big = values::<f64, _>((2 * m, n), 5);
            let big0 = big.clone();
            product_into_all_ways(
                &format!("{what}, rows ..;2"),
                a.view(),
                b.view(),
                &mut big.slice_mut(s![..;2, ..]),
            );
            assert_eq!(
                big.slice(s![1..;2, ..]),
                big0.slice(s![1..;2, ..]),
                "{what}: rows outside the view changed"
            );

            // Rows reversed (a negative stride): all of the array is the view.
            let mut out = values::<f64, _>((m, n), 6);
            product_into_all_ways(
                &format!("{what}, rows ..;-1"),
                a.view(),
                b.view(),
                &mut out.slice_mut(s![..;-1, ..]),
            );

            // Columns reversed and stepped by 3: columns 3n-1, 3n-4, .., 2.
            let mut big = values::<f64, _>((m, 3 * n), 7);
            let big0 = big.clone();
            product_into_all_ways(
                &format!("{what}, columns ..;-3"),
                a.view(),
                b.view(),
                &mut big.slice_mut(s![.., ..;-3]),
            );
            for c in (0..3 * n).filter(|c| c % 3 != 2) {
                assert_eq!(
                    big.column(c),
                    big0.column(c),
                    "{what}: column {c}, outside the view, changed"
                );
            }
        });
    }
}

/// Operands transposed and reversed: `alpha` and `beta` do not depend on
/// how the operands are laid out.
#[test]
fn product_into_with_strided_operands() {
    for (m, k, n) in PRODUCTS {
        let at = values::<f64, _>((k, m), 8);
        let b = values::<f64, _>((k, n), 9);
        let a = at.t();
        let br = b.slice(s![..;-1, ..]);
        let what = format!("{m}x{k}x{n}, A transposed, B reversed");
        ways_for(m * k * n, || {
            let mut out = values::<f64, _>((m, n), 10);
            product_into_all_ways(&what, a, br, &mut out.view_mut());
        });
    }
}

// ---------------------------------------------------------------------------
// (b) beta = 0 never reads `out`
// ---------------------------------------------------------------------------

#[test]
fn beta_zero_never_reads_nan() {
    // A zero known only at run time is still zero.
    let zero = std::hint::black_box(0.0);
    // K = 0 too: a sum over nothing is 0, and 0·NaN must not be taken.
    for (m, k, n) in PRODUCTS.into_iter().chain([(4, 0, 5)]) {
        let (a, b) = product_operands(m, k, n);
        let want = matmul_ref(a.view(), b.view());
        let twice = want.mapv(|w| 2.0 * w);
        let nan = || Array2::from_elem((m, n), f64::NAN);
        let what = format!("{m}x{k}x{n}");
        ways_for(m * k * n, || {
            let mut out = nan();
            einsum_into!(&mut out, "ij,jk->ik", &a, &b);
            assert_close(&format!("{what}: no options"), &out, &want);

            let mut out = nan();
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 2.0);
            assert_close(&format!("{what}: alpha = 2"), &out, &twice);

            let mut out = nan();
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 2.0, beta = 0.0);
            assert_close(&format!("{what}: beta = 0.0"), &out, &twice);

            let mut out = nan();
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; beta = zero);
            assert_close(&format!("{what}: beta = zero at run time"), &out, &want);

            // Into the odd rows, reversed, of an array of NaN: the view has
            // none left, the even rows keep theirs.
            let mut big = Array2::from_elem((2 * m, n), f64::NAN);
            einsum_into!(
                &mut big.slice_mut(s![..;-2, ..]), "ij,jk->ik", &a, &b;
                alpha = 2.0, beta = 0.0
            );
            assert_close(
                &format!("{what}: rows ..;-2"),
                &big.slice(s![..;-2, ..]),
                &twice,
            );
            assert!(
                big.slice(s![..;2, ..]).iter().all(|v| v.is_nan()),
                "{what}: rows outside the view changed"
            );
        });
    }
}

// ---------------------------------------------------------------------------
// (c) The other kernels, at run-time sizes
// ---------------------------------------------------------------------------

const ALPHA: f64 = -1.5;
const BETA: f64 = 0.75;

/// One expression three ways: a new result scaled by `alpha`; `alpha` and
/// `beta` into a pre-filled output; `alpha` alone into an output of NaN,
/// which must not be read. `$want` is the unscaled result, from a loop.
macro_rules! three_ways {
    ($s:tt, $want:expr, $($op:expr),+) => {{
        let want = $want;
        let scaled = want.mapv(|w| ALPHA * w);

        let got = einsum!($s, $($op),+; alpha = ALPHA);
        assert_close(concat!("einsum! ", $s, "; alpha"), &got, &scaled);

        let before = values::<f64, _>(want.raw_dim(), 99);
        let mut out = before.clone();
        einsum_into!(&mut out, $s, $($op),+; alpha = ALPHA, beta = BETA);
        assert_close(
            concat!("einsum_into! ", $s, "; alpha, beta"),
            &out,
            &axpby(ALPHA, &want, BETA, &before),
        );

        let mut out = Array::from_elem(want.raw_dim(), f64::NAN);
        einsum_into!(&mut out, $s, $($op),+; alpha = ALPHA);
        assert_close(concat!("einsum_into! ", $s, "; alpha, into NaN"), &out, &scaled);
    }};
}

#[test]
fn sum_into_a_vector() {
    // 120 000 elements summed into 60.
    let x = values::<f64, _>((40, 50, 60), 20);
    let want = Array::from_shape_fn(60, |k| {
        let mut acc = 0.0;
        for i in 0..40 {
            for j in 0..50 {
                acc += x[[i, j, k]];
            }
        }
        acc
    });
    three_ways!("ijk->k", want, &x);
}

#[test]
fn row_and_column_reductions() {
    let x = values::<f64, _>((300, 400), 21);
    let rows = Array::from_shape_fn(300, |i| (0..400).map(|j| x[[i, j]]).sum::<f64>());
    three_ways!("ij->i", rows, &x);
    // The same reduction along the long stride.
    let cols = Array::from_shape_fn(400, |j| (0..300).map(|i| x[[i, j]]).sum::<f64>());
    let xt = x.t();
    three_ways!("ij->i", cols, &xt);
}

#[test]
fn elementwise_product() {
    let x = values::<f64, _>((300, 400), 22);
    let y = values::<f64, _>((300, 400), 23);
    let want = Array::from_shape_fn((300, 400), |(i, j)| x[[i, j]] * y[[i, j]]);
    three_ways!("ij,ij->ij", want, &x, &y);
}

#[test]
fn transposition() {
    let x = values::<f64, _>((1000, 1000), 24);
    let want = Array::from_shape_fn((1000, 1000), |(j, i)| x[[i, j]]);
    three_ways!("ij->ji", want.clone(), &x);
    // Into rows reversed, with both options: the tiles see a negative stride.
    let before = values::<f64, _>((1000, 1000), 25);
    let mut out = before.clone();
    einsum_into!(&mut out.slice_mut(s![..;-1, ..]), "ij->ji", &x; alpha = ALPHA, beta = BETA);
    let reversed_before = before.slice(s![..;-1, ..]).to_owned();
    assert_close(
        "ij->ji into rows ..;-1",
        &out.slice(s![..;-1, ..]),
        &axpby(ALPHA, &want, BETA, &reversed_before),
    );
}

#[test]
fn outer_product() {
    let x = values::<f64, _>(300, 26);
    let y = values::<f64, _>(400, 27);
    let want = Array::from_shape_fn((300, 400), |(i, j)| x[i] * y[j]);
    three_ways!("i,j->ij", want, &x, &y);
}

#[test]
fn batched_product() {
    // 8 products of 30×40·40×50: 480 000 multiply-adds.
    let a = values::<f64, _>((8, 30, 40), 28);
    let b = values::<f64, _>((8, 40, 50), 29);
    let mut want = Array3::zeros((8, 30, 50));
    for p in 0..8 {
        want.slice_mut(s![p, .., ..])
            .assign(&matmul_ref(a.slice(s![p, .., ..]), b.slice(s![p, .., ..])));
    }
    three_ways!("bij,bjk->bik", want, &a, &b);
}

/// Pairwise: `alpha` and `beta` apply once, to the last step, not to each
/// intermediate.
#[test]
fn three_operand_chain() {
    let a = values::<f64, _>((30, 40), 30);
    let b = values::<f64, _>((40, 50), 31);
    let c = values::<f64, _>((50, 20), 32);
    let want = matmul_ref(matmul_ref(a.view(), b.view()).view(), c.view());
    three_ways!("ij,jk,kl->il", want, &a, &b, &c);
}

/// One loop nest over three operands.
#[test]
fn three_operand_elementwise() {
    let x = values::<f64, _>(50_000, 33);
    let y = values::<f64, _>(50_000, 34);
    let z = values::<f64, _>(50_000, 35);
    let want = Array::from_shape_fn(50_000, |i| x[i] * y[i] * z[i]);
    three_ways!("i,i,i->i", want, &x, &y, &z);
}

#[test]
fn four_operand_chain() {
    let a = values::<f64, _>((20, 30), 36);
    let b = values::<f64, _>((30, 40), 37);
    let c = values::<f64, _>((40, 25), 38);
    let d = values::<f64, _>((25, 15), 39);
    let ab = matmul_ref(a.view(), b.view());
    let abc = matmul_ref(ab.view(), c.view());
    let want = matmul_ref(abc.view(), d.view());
    three_ways!("ij,jk,kl,lm->im", want, &a, &b, &c, &d);
}

// ---------------------------------------------------------------------------
// (d) New results, scalar outputs, and the try forms
// ---------------------------------------------------------------------------

#[test]
fn new_results_scaled_by_alpha() {
    for (m, k, n) in PRODUCTS {
        let (a, b) = product_operands(m, k, n);
        let want = matmul_ref(a.view(), b.view()).mapv(|w| 0.5 * w);
        let what = format!("{m}x{k}x{n}");
        ways_for(m * k * n, || {
            let got = einsum!("ij,jk->ik", &a, &b; alpha = 0.5);
            assert_close(&format!("einsum! {what}"), &got, &want);
            let got = try_einsum!("ij,jk->ik", &a, &b; alpha = 0.5).unwrap();
            assert_close(&format!("try_einsum! {what}"), &got, &want);
        });
    }
    // Scalar outputs: a dot product at the call site and at run-time size.
    for n in [3, 100_000] {
        let x = values::<f64, _>(n, 40);
        let y = values::<f64, _>(n, 41);
        let want = -4.0 * dot_ref(&x, &y);
        let got: f64 = einsum!("i,i->", &x, &y; alpha = -4.0);
        assert_close_scalar(&format!("einsum! i,i-> n = {n}"), got, want);
        let got: f64 = try_einsum!("i,i->", &x, &y; alpha = -4.0).unwrap();
        assert_close_scalar(&format!("try_einsum! i,i-> n = {n}"), got, want);
        // Into a 0-d array, with beta.
        let mut z = Array0::from_elem((), 10.0);
        einsum_into!(&mut z, "i,i->", &x, &y; alpha = -4.0, beta = 3.0);
        assert_close_scalar(&format!("einsum_into! i,i-> n = {n}"), z[()], want + 30.0);
    }
}

#[test]
fn try_into_scales_or_leaves_out_untouched() {
    let (a, b) = product_operands(20, 30, 40);
    let want = matmul_ref(a.view(), b.view());
    let before = values::<f64, _>((20, 40), 42);

    // Success: the options applied.
    let mut out = before.clone();
    try_einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 2.0, beta = -1.0).unwrap();
    assert_close(
        "try_einsum_into! ok",
        &out,
        &axpby(2.0, &want, -1.0, &before),
    );

    // An output of the wrong shape: an error, and not one element written
    // (nor scaled by beta).
    let mut wrong = values::<f64, _>((20, 41), 43);
    let copy = wrong.clone();
    let e =
        try_einsum_into!(&mut wrong, "ij,jk->ik", &a, &b; alpha = 2.0, beta = -1.0).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::OutputShape { .. }), "{e}");
    assert_eq!(wrong, copy, "try_einsum_into! wrote to a wrong-shaped out");

    // Operands whose sizes disagree: the same.
    let b2 = values::<f64, _>((31, 40), 44);
    let mut out = before.clone();
    let e = try_einsum_into!(&mut out, "ij,jk->ik", &a, &b2; beta = 1.0).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LabelSize { .. }), "{e}");
    assert_eq!(out, before, "try_einsum_into! wrote on a size mismatch");

    // try_einsum! with alpha reports the mismatch too.
    let e = try_einsum!("ij,jk->ik", &a, &b2; alpha = 2.0).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LabelSize { .. }), "{e}");
}

// ---------------------------------------------------------------------------
// (e) Element types
// ---------------------------------------------------------------------------

/// Integer products for the call site, `gemm`'s path from it, and the
/// blocked integer kernel (60×70·70×80).
const INT_PRODUCTS: [(usize, usize, usize); 3] = [(3, 4, 5), (20, 30, 40), (60, 70, 80)];

#[test]
fn i32_with_integer_literals() {
    for (m, k, n) in INT_PRODUCTS {
        let a = values::<i32, _>((m, k), 50);
        let b = values::<i32, _>((k, n), 51);
        let want = matmul_ref(a.view(), b.view());
        let before = values::<i32, _>((m, n), 52);
        let what = format!("i32 {m}x{k}x{n}");
        ways_for(m * k * n, || {
            let mut out = before.clone();
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 3, beta = -2);
            assert_eq!(out, axpby(3, &want, -2, &before), "{what}");

            // Into reversed rows.
            let mut out = before.clone();
            einsum_into!(
                &mut out.slice_mut(s![..;-1, ..]), "ij,jk->ik", &a, &b;
                alpha = 3, beta = -2
            );
            let rb = before.slice(s![..;-1, ..]).to_owned();
            assert_eq!(
                out.slice(s![..;-1, ..]),
                axpby(3, &want, -2, &rb),
                "{what}, rows ..;-1"
            );

            let got = einsum!("ij,jk->ik", &a, &b; alpha = 3);
            assert_eq!(got, want.mapv(|w| 3 * w), "{what}, einsum!");
        });
    }
    let x = values::<i32, _>(1000, 53);
    let y = values::<i32, _>(1000, 54);
    let got: i32 = einsum!("i,i->", &x, &y; alpha = -7);
    assert_eq!(got, -7 * dot_ref(&x, &y));
}

#[test]
fn u8_wraps() {
    for (m, k, n) in INT_PRODUCTS {
        let a = values::<u8, _>((m, k), 55);
        let b = values::<u8, _>((k, n), 56);
        let want = matmul_ref(a.view(), b.view());
        let before = values::<u8, _>((m, n), 57);
        let what = format!("u8 {m}x{k}x{n}");
        ways_for(m * k * n, || {
            let mut out = before.clone();
            // 255 is −1 modulo 256.
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 200, beta = 255);
            assert_eq!(out, axpby(200, &want, 255, &before), "{what}");
            let got = einsum!("ij,jk->ik", &a, &b; alpha = 200);
            assert_eq!(got, want.mapv(|w| w.wrapping_mul(200)), "{what}, einsum!");
        });
    }
}

#[test]
fn f32_products() {
    for (m, k, n) in PRODUCTS {
        let a = values::<f32, _>((m, k), 58);
        let b = values::<f32, _>((k, n), 59);
        let want = matmul_ref(a.view(), b.view());
        let before = values::<f32, _>((m, n), 60);
        let what = format!("f32 {m}x{k}x{n}");
        ways_for(m * k * n, || {
            let mut out = before.clone();
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 0.5, beta = 2.0);
            assert_close(&what, &out, &axpby(0.5, &want, 2.0, &before));
            let mut out = Array2::from_elem((m, n), f32::NAN);
            einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 0.5);
            assert_close(&format!("{what}, into NaN"), &out, &want.mapv(|w| 0.5 * w));
        });
    }
}

#[test]
fn complex_alpha_and_beta() {
    let alpha = Complex::new(0.5, -2.0);
    let beta = Complex::new(-1.0, 0.25);
    for (m, k, n) in PRODUCTS {
        let a = values::<Complex<f64>, _>((m, k), 61);
        let b = values::<Complex<f64>, _>((k, n), 62);
        let want = matmul_ref(a.view(), b.view());
        let before = values::<Complex<f64>, _>((m, n), 63);
        let what = format!("complex {m}x{k}x{n}");
        ways_for(m * k * n, || {
            let mut out = before.clone();
            // The constructor's comma is inside the option's expression.
            einsum_into!(
                &mut out, "ij,jk->ik", &a, &b;
                alpha = Complex::new(0.5, -2.0), beta = beta
            );
            assert_close(&what, &out, &axpby(alpha, &want, beta, &before));
            let got = einsum!("ij,jk->ik", &a, &b; alpha = alpha);
            assert_close(&format!("{what}, einsum!"), &got, &want.mapv(|w| alpha * w));
        });
    }
    let x = values::<Complex<f64>, _>(500, 64);
    let y = values::<Complex<f64>, _>(500, 65);
    let got: Complex<f64> = einsum!("i,i->", &x, &y; alpha = alpha);
    assert_close_scalar("complex i,i->", got, alpha * dot_ref(&x, &y));
}

// ---------------------------------------------------------------------------
// (f) With fixed sizes
// ---------------------------------------------------------------------------

#[test]
fn options_mix_with_fixed_sizes() {
    // Rows of 5 (too short for the row kernel) and of 48 (the row kernel).
    for (h, wd) in [(7, 7), (40, 50)] {
        let img = values::<f64, _>((h, wd), 70);
        let k = values::<f64, _>((3, 3), 71);
        let want = filter_ref(&img, &k);
        let (oh, ow) = want.dim();
        let before = values::<f64, _>((oh, ow), 72);
        let w = windows2(&img, (3, 3), (1, 1)).unwrap();
        let what = format!("filter over {h}x{wd}");
        each_way(|| {
            let mut out = before.clone();
            einsum_into!(&mut out, "xyij,ij->xy", w, &k; i = 3, j = 3, alpha = 2.0, beta = 1.0);
            assert_close(&what, &out, &axpby(2.0, &want, 1.0, &before));

            // The options in any order, between the sizes.
            let mut out = before.clone();
            einsum_into!(&mut out, "xyij,ij->xy", w, &k; beta = -0.5, j = 3, alpha = 0.25, i = 3);
            assert_close(
                &format!("{what}, any order"),
                &out,
                &axpby(0.25, &want, -0.5, &before),
            );

            let mut out = Array2::from_elem((oh, ow), f64::NAN);
            einsum_into!(&mut out, "xyij,ij->xy", w, &k; alpha = 3.0, i = 3, j = 3);
            assert_close(&format!("{what}, into NaN"), &out, &want.mapv(|v| 3.0 * v));

            let got = einsum!("xyij,ij->xy", w, &k; i = 3, j = 3, alpha = -1.0);
            assert_close(&format!("{what}, einsum!"), &got, &want.mapv(|v| -v));

            // Every other row of a larger array.
            let mut big = values::<f64, _>((2 * oh, ow), 73);
            let big0 = big.clone();
            einsum_into!(
                &mut big.slice_mut(s![..;2, ..]), "xyij,ij->xy", w, &k;
                i = 3, j = 3, alpha = 2.0, beta = 1.0
            );
            let b0 = big0.slice(s![..;2, ..]).to_owned();
            assert_close(
                &format!("{what}, rows ..;2"),
                &big.slice(s![..;2, ..]),
                &axpby(2.0, &want, 1.0, &b0),
            );
            assert_eq!(
                big.slice(s![1..;2, ..]),
                big0.slice(s![1..;2, ..]),
                "{what}: rows outside the view changed"
            );
        });

        // A bound size the data contradicts: an error, `out` untouched.
        let mut out = before.clone();
        let e =
            try_einsum_into!(&mut out, "xyij,ij->xy", w, &k; i = 4, j = 3, alpha = 2.0, beta = 1.0)
                .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::FixedSize { .. }), "{e}");
        assert_eq!(out, before, "{what}: out written on a fixed-size error");
    }

    // Integers through the row kernel.
    let img = values::<i32, _>((30, 40), 74);
    let k = values::<i32, _>((3, 3), 75);
    let want = filter_ref(&img, &k);
    let before = values::<i32, _>(want.dim(), 76);
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    each_way(|| {
        let mut out = before.clone();
        einsum_into!(&mut out, "xyij,ij->xy", w, &k; i = 3, j = 3, alpha = 2, beta = -1);
        assert_eq!(out, axpby(2, &want, -1, &before), "i32 filter");
    });
}

// ---------------------------------------------------------------------------
// (g) Run-time expressions, evaluated once
// ---------------------------------------------------------------------------

fn half(x: f64) -> f64 {
    x / 2.0
}

fn mix(x: f64, y: f64) -> f64 {
    x - y
}

/// `v`, counting the call in `n`.
fn counted<T>(n: &Cell<u32>, v: T) -> T {
    n.set(n.get() + 1);
    v
}

#[test]
fn options_are_run_time_expressions() {
    let (a, b) = product_operands(20, 30, 40);
    let want = matmul_ref(a.view(), b.view());
    let before = values::<f64, _>((20, 40), 80);
    let (s, t) = (std::hint::black_box(1.5), std::hint::black_box(-0.25));

    let mut out = before.clone();
    einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = s, beta = t);
    assert_close("variables", &out, &axpby(s, &want, t, &before));

    // Calls, one with a comma of its own, and operators.
    let mut out = before.clone();
    einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = half(s), beta = mix(s, t));
    assert_close("calls", &out, &axpby(0.75, &want, 1.75, &before));
    let mut out = before.clone();
    einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 0.5 * s + 1.0, beta = -t);
    assert_close("operators", &out, &axpby(1.75, &want, 0.25, &before));
    let flip = std::hint::black_box(true);
    let mut out = before.clone();
    einsum_into!(
        &mut out, "ij,jk->ik", &a, &b;
        alpha = if flip { -1.0 } else { 1.0 }, beta = { let u = t; u * 4.0 }
    );
    assert_close("blocks", &out, &axpby(-1.0, &want, -1.0, &before));

    // The user's own variables may be named after the options.
    let (alpha, beta) = (s, t);
    let mut out = before.clone();
    einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = alpha, beta = beta);
    assert_close(
        "variables named alpha and beta",
        &out,
        &axpby(s, &want, t, &before),
    );
}

/// Each option's expression runs exactly once per call, whatever the kernel:
/// the call site's loops, GEMM split over threads, pairwise steps, the row
/// kernel, a scalar output.
#[test]
fn options_are_evaluated_once() {
    let (na, nb) = (Cell::new(0), Cell::new(0));
    // Checks and resets the counts after the call named `what`.
    let once = |what: &str, beta_too: bool| {
        assert_eq!(na.replace(0), 1, "{what}: alpha evaluated other than once");
        let nb_want = u32::from(beta_too);
        let nb_got = nb.replace(0);
        assert_eq!(nb_got, nb_want, "{what}: beta evaluated {nb_got} times");
    };

    for (m, k, n) in [PRODUCTS[0], PRODUCTS[2]] {
        let (a, b) = product_operands(m, k, n);
        let what = format!("{m}x{k}x{n}");
        let mut out = Array2::zeros((m, n));

        let _ = einsum!("ij,jk->ik", &a, &b; alpha = counted(&na, 2.0));
        once(&format!("einsum! {what}"), false);
        let _ = try_einsum!("ij,jk->ik", &a, &b; alpha = counted(&na, 2.0)).unwrap();
        once(&format!("try_einsum! {what}"), false);
        einsum_into!(
            &mut out, "ij,jk->ik", &a, &b;
            alpha = counted(&na, 2.0), beta = counted(&nb, 1.0)
        );
        once(&format!("einsum_into! {what}"), true);
        try_einsum_into!(
            &mut out, "ij,jk->ik", &a, &b;
            beta = counted(&nb, 0.5), alpha = counted(&na, 2.0)
        )
        .unwrap();
        once(&format!("try_einsum_into! {what}"), true);
    }

    let x = values::<f64, _>(100_000, 81);
    let _: f64 = einsum!("i,i->", &x, &x; alpha = counted(&na, 2.0));
    once("scalar", false);

    let p = values::<f64, _>((30, 40), 82);
    let q = values::<f64, _>((40, 50), 83);
    let r = values::<f64, _>((50, 20), 84);
    let mut out = Array2::zeros((30, 20));
    einsum_into!(
        &mut out, "ij,jk,kl->il", &p, &q, &r;
        alpha = counted(&na, 2.0), beta = counted(&nb, 1.0)
    );
    once("pairwise", true);

    let img = values::<f64, _>((100, 100), 85);
    let kern = values::<f64, _>((3, 3), 86);
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    let mut out = Array2::zeros((98, 98));
    each_way(|| {
        einsum_into!(
            &mut out, "xyij,ij->xy", w, &kern;
            i = 3, j = 3, alpha = counted(&na, 2.0), beta = counted(&nb, 1.0)
        );
        once("fixed sizes", true);
    });
}
