//! Differential tests: every form of the macro (`einsum!`, `try_einsum!`,
//! `einsum_into!`, `try_einsum_into!`) against the naive reference in
//! `tests/common`, on random sizes, layouts (transposed, reversed, stepped,
//! offset, broadcast) and integer values, for a wide set of subscripts.
//!
//! Every case runs `Gen::seeds` seeds (20 unless said). A failure message names the subscripts, the
//! seed index, the element type and every operand's shape and strides; the
//! random state is `case_seed(subscripts, seed)`. Set `EINSUM_TEST_STATS=1`
//! to print how many expressions and evaluations each test ran, and
//! `EINSUM_TEST_SEEDS=n` to run `n` seeds per expression (a longer hunt).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::*;
use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{
    arr0, arr1, arr2, arr3, Array, Array0, Array1, Array2, Array3, Array6, ArrayD, ArrayView1,
    ArrayView2, ArrayViewD, ArrayViewMutD, Ix1, Ix2, Ix3, IxDyn,
};
use einsum::num_complex::Complex;
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, EinsumError};
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// Seeds of the hand-written tests of statically ranked operands.
const SEEDS: u64 = 20;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// Collects failures of one test, so that a run reports all of them.
struct Checker {
    test: &'static str,
    exprs: usize,
    evals: usize,
    failures: Vec<String>,
}

impl Checker {
    fn new(test: &'static str) -> Self {
        Checker {
            test,
            exprs: 0,
            evals: 0,
            failures: Vec::new(),
        }
    }

    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    fn finish(&self) {
        if std::env::var_os("EINSUM_TEST_STATS").is_some() {
            eprintln!(
                "{}: {} expressions, {} evaluations",
                self.test, self.exprs, self.evals
            );
        }
        if !self.failures.is_empty() {
            let shown: Vec<String> = self
                .failures
                .iter()
                .take(25)
                .map(|f| clip(f.clone(), 3000))
                .collect();
            panic!(
                "{}: {} of {} evaluations failed; the first {}:\n\n{}",
                self.test,
                self.failures.len(),
                self.evals,
                shown.len(),
                shown.join("\n\n")
            );
        }
    }
}

/// Runs one expression over `g.seeds` random cases through all four macros.
#[allow(clippy::too_many_arguments)]
fn run<T, P, Q, I, J>(
    c: &mut Checker,
    s: &'static str,
    g: &Gen,
    plain: P,
    tried: Q,
    into: I,
    try_into: J,
) where
    T: RefScalar,
    P: Fn(&[ArrayViewD<'_, T>]) -> ArrayD<T>,
    Q: Fn(&[ArrayViewD<'_, T>]) -> Result<ArrayD<T>, EinsumError>,
    I: Fn(&mut ArrayViewMutD<'_, T>, &[ArrayViewD<'_, T>]),
    J: Fn(&mut ArrayViewMutD<'_, T>, &[ArrayViewD<'_, T>]) -> Result<(), EinsumError>,
{
    c.exprs += 1;
    let seeds = std::env::var("EINSUM_TEST_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(g.seeds);
    for seed in 0..seeds {
        let mut rng = SmallRng::seed_from_u64(case_seed(s, seed));
        let ops = random_case_with::<T>(s, &mut rng, g);
        let views: Vec<ArrayViewD<'_, T>> = ops.iter().map(|o| o.view()).collect();
        let expected = reference(s, &views);
        let ctx = || {
            format!(
                "{s:?} seed {seed} ({}) operands {}",
                T::NAME,
                describe_all(&ops)
            )
        };

        c.evals += 1;
        match catch_unwind(AssertUnwindSafe(|| plain(&views))) {
            Ok(got) if got == expected => {}
            Ok(got) => c.fail(format!(
                "einsum! {}:\n  expected {expected:?}\n  got {got:?}",
                ctx()
            )),
            Err(p) => c.fail(format!("einsum! {}: panicked: {}", ctx(), panic_message(p))),
        }

        c.evals += 1;
        match catch_unwind(AssertUnwindSafe(|| tried(&views))) {
            Ok(Ok(got)) if got == expected => {}
            Ok(Ok(got)) => c.fail(format!(
                "try_einsum! {}:\n  expected {expected:?}\n  got {got:?}",
                ctx()
            )),
            Ok(Err(e)) => c.fail(format!("try_einsum! {}: Err({e})", ctx())),
            Err(p) => c.fail(format!(
                "try_einsum! {}: panicked: {}",
                ctx(),
                panic_message(p)
            )),
        }

        c.evals += 1;
        let mut out = random_out::<T>(expected.shape(), &mut rng);
        let octx = out.describe();
        // The `_into` forms run with every kernel as eager as it can be, so
        // the GEMM and parallel paths see these small shapes too.
        let eager = |f: &mut dyn FnMut()| with_thresholds(Thresholds::EAGER, f);
        match catch_unwind(AssertUnwindSafe(|| {
            eager(&mut || into(&mut out.view_mut(), &views))
        })) {
            Ok(()) => {
                if let Err(e) = check_out(&out, &expected) {
                    c.fail(format!("einsum_into! {} out {octx}: {e}", ctx()));
                }
            }
            Err(p) => c.fail(format!(
                "einsum_into! {} out {octx}: panicked: {}",
                ctx(),
                panic_message(p)
            )),
        }

        c.evals += 1;
        let mut out = random_out::<T>(expected.shape(), &mut rng);
        let octx = out.describe();
        match catch_unwind(AssertUnwindSafe(|| {
            with_thresholds(Thresholds::EAGER, || try_into(&mut out.view_mut(), &views))
        })) {
            Ok(Ok(())) => {
                if let Err(e) = check_out(&out, &expected) {
                    c.fail(format!("try_einsum_into! {} out {octx}: {e}", ctx()));
                }
            }
            Ok(Err(e)) => c.fail(format!("try_einsum_into! {} out {octx}: Err({e})", ctx())),
            Err(p) => c.fail(format!(
                "try_einsum_into! {} out {octx}: panicked: {}",
                ctx(),
                panic_message(p)
            )),
        }
    }
}

/// `case!(checker, "subscripts", operand_count)` — f64, default generator;
/// `case!(checker, "subscripts", n, gen)` — f64 with a generator;
/// `case!(checker, type T, gen, "subscripts", n)` — another element type;
/// `case!(checker, fixed gen, "subscripts", n; i = 3, ...)` — fixed sizes.
///
/// `einsum!` gets `&ArrayViewD`s, `try_einsum!` views by value,
/// `einsum_into!` `&ArrayViewD`s and `try_einsum_into!` views by value.
macro_rules! case {
    (@go $c:expr, $t:ty, $g:expr, $s:literal, [$($i:tt)*] $(; $($b:tt)*)?) => {
        run::<$t, _, _, _, _>(
            $c,
            $s,
            &$g,
            |v: &[ArrayViewD<'_, $t>]| einsum!($s, $(&v[$i]),* $(; $($b)*)?).to_dyn(),
            |v: &[ArrayViewD<'_, $t>]| try_einsum!($s, $(v[$i].clone()),* $(; $($b)*)?).map(ToDyn::to_dyn),
            |o: &mut ArrayViewMutD<'_, $t>, v: &[ArrayViewD<'_, $t>]| {
                einsum_into!(&mut *o, $s, $(&v[$i]),* $(; $($b)*)?)
            },
            |o: &mut ArrayViewMutD<'_, $t>, v: &[ArrayViewD<'_, $t>]| {
                try_einsum_into!(&mut *o, $s, $(v[$i].view()),* $(; $($b)*)?)
            },
        )
    };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 1 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 2 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 3 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1 2] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 4 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1 2 3] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 5 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1 2 3 4] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 6 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1 2 3 4 5] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 7 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1 2 3 4 5 6] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 8 $($r:tt)*) => { case!(@go $c, $t, $g, $s, [0 1 2 3 4 5 6 7] $($r)*) };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 16 $($r:tt)*) => {
        case!(@go $c, $t, $g, $s, [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15] $($r)*)
    };
    (@n $c:expr, $t:ty, $g:expr, $s:literal, 32 $($r:tt)*) => {
        case!(@go $c, $t, $g, $s, [
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
            16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        ] $($r)*)
    };
    ($c:expr, type $t:ty, $g:expr, $s:literal, $n:tt) => { case!(@n $c, $t, $g, $s, $n) };
    ($c:expr, fixed $g:expr, $s:literal, $n:tt; $($b:tt)*) => { case!(@n $c, f64, $g, $s, $n; $($b)*) };
    ($c:expr, $s:literal, $n:tt) => { case!(@n $c, f64, Gen::default(), $s, $n) };
    ($c:expr, $s:literal, $n:tt, $g:expr) => { case!(@n $c, f64, $g, $s, $n) };
}

// ---------------------------------------------------------------------------
// The reference itself, against results computed by hand
// ---------------------------------------------------------------------------

fn r(s: &str, ops: &[&ArrayD<f64>]) -> ArrayD<f64> {
    let views: Vec<_> = ops.iter().map(|a| a.view()).collect();
    reference(s, &views)
}

#[test]
fn reference_matches_hand_computed_results() {
    let a = arr2(&[[1.0, 2.0], [3.0, 4.0]]).into_dyn();
    let b = arr2(&[[5.0, 6.0], [7.0, 8.0]]).into_dyn();
    let at = arr2(&[[1.0, 3.0], [2.0, 4.0]]).into_dyn();
    let v = arr1(&[1.0, -2.0, 3.0]).into_dyn();
    let w = arr1(&[4.0, 5.0]).into_dyn();

    // matmul, explicit and implicit
    let ab = arr2(&[[19.0, 22.0], [43.0, 50.0]]).into_dyn();
    assert_eq!(r("ij,jk->ik", &[&a, &b]), ab);
    assert_eq!(r("ij,jk", &[&a, &b]), ab);
    // implicit mode sorts the free labels: "ji" and "ba" are transposes;
    // uppercase sorts before lowercase: "aB" gives "Ba", a transpose too
    assert_eq!(r("ji", &[&a]), at);
    assert_eq!(r("ba", &[&a]), at);
    assert_eq!(r("aB", &[&a]), at);
    assert_eq!(r("Ab", &[&a]), a);

    // trace and diagonals; cube[i, j, k] = 4 i + 2 j + k
    assert_eq!(r("ii", &[&a]), arr0(5.0).into_dyn());
    assert_eq!(r("ii->i", &[&a]), arr1(&[1.0, 4.0]).into_dyn());
    let cube = Array::from_shape_fn((2, 2, 2), |(i, j, k)| (i * 4 + j * 2 + k) as f64).into_dyn();
    assert_eq!(r("iii->i", &[&cube]), arr1(&[0.0, 7.0]).into_dyn());
    assert_eq!(
        r("iij->j", &[&cube]),
        arr1(&[0.0 + 6.0, 1.0 + 7.0]).into_dyn()
    );
    assert_eq!(
        r("iji->j", &[&cube]),
        arr1(&[0.0 + 5.0, 2.0 + 7.0]).into_dyn()
    );

    // outer and inner products, sums
    let outer = arr2(&[[4.0, 5.0], [-8.0, -10.0], [12.0, 15.0]]).into_dyn();
    assert_eq!(r("i,j->ij", &[&v, &w]), outer);
    assert_eq!(r("i,i", &[&v, &v]), arr0(14.0).into_dyn());
    assert_eq!(r("ij->", &[&a]), arr0(10.0).into_dyn());
    assert_eq!(r("ij->j", &[&a]), arr1(&[4.0, 6.0]).into_dyn());

    // 0-d operands
    let two = arr0(2.0).into_dyn();
    assert_eq!(r(",i->i", &[&two, &v]), arr1(&[2.0, -4.0, 6.0]).into_dyn());
    assert_eq!(r("->", &[&two]), two);
    assert_eq!(r(",", &[&two, &two]), arr0(4.0).into_dyn());

    // ellipsis: (2, 1, 2) against (3, 2) over "...j" broadcasts to (2, 3)
    let e1 = arr3(&[[[1.0, 2.0]], [[3.0, 4.0]]]).into_dyn();
    let e2 = arr2(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).into_dyn();
    let want = arr2(&[[1.0, 2.0, 3.0], [3.0, 4.0, 7.0]]).into_dyn();
    assert_eq!(r("...j,...j->...", &[&e1, &e2]), want);
    // implicit mode: j is repeated, so summed; the ellipsis dims are the output
    assert_eq!(r("...j,...j", &[&e1, &e2]), want);
    // an ellipsis after the label: out[e] = sum_j a[j, e] w[j]
    assert_eq!(
        r("j...,j", &[&a, &w]),
        arr1(&[1.0 * 4.0 + 3.0 * 5.0, 2.0 * 4.0 + 4.0 * 5.0]).into_dyn()
    );
    // an input ellipsis missing from the output is summed
    assert_eq!(r("...i->i", &[&a]), arr1(&[4.0, 6.0]).into_dyn());
    // an output ellipsis with none in the inputs covers no axes
    assert_eq!(r("ij->...ji", &[&a]), at);

    // a label of size 1 broadcasts against the same label of size n
    let row = arr2(&[[10.0, 20.0]]).into_dyn(); // (1, 2) under "ij"
    assert_eq!(
        r("ij,ij->ij", &[&row, &a]),
        arr2(&[[10.0, 40.0], [30.0, 80.0]]).into_dyn()
    );
    assert_eq!(
        r("ij,jk->ik", &[&row, &b]),
        arr2(&[[190.0, 220.0]]).into_dyn()
    );

    // zero-size axes: empty sums are 0, empty outputs are empty
    let empty = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    let empty2 = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    assert_eq!(
        r("ij,jk->ik", &[&empty, &empty2]),
        ArrayD::zeros(IxDyn(&[2, 3]))
    );
    assert_eq!(r("ij->j", &[&empty]).shape(), &[0]);

    // integers wrap: (200 * 200 + 100 * 100) mod 256 = 64 + 16
    let big = arr1(&[200u8, 100]).into_dyn();
    assert_eq!(
        reference("i,i", &[big.view(), big.view()]),
        arr0(80u8).into_dyn()
    );
}

#[test]
fn random_layouts_have_the_requested_shapes() {
    let mut rng = SmallRng::seed_from_u64(7);
    for layout in LAYOUTS {
        for shape in [&[][..], &[3], &[2, 3], &[0, 4], &[4, 1, 3], &[2, 2, 2, 2]] {
            let s = Strided::<f64>::new(shape, layout, false, &mut rng, &mut |r| f64::small(r, 3));
            assert_eq!(s.view().shape(), shape);
            let mut m = Strided::<f64>::new(shape, layout, true, &mut rng, &mut |_| 0.0);
            m.view_mut().fill(1.0);
            assert_eq!(
                m.storage().iter().filter(|&&x| x == 1.0).count(),
                shape.iter().product::<usize>()
            );
        }
    }
    let s = Strided::<f64>::new(
        &[3, 4],
        Layout::Reversed,
        false,
        &mut SmallRng::seed_from_u64(1),
        &mut |_| 1.0,
    );
    let _ = s.describe();
}

// ---------------------------------------------------------------------------
// The expressions
// ---------------------------------------------------------------------------

#[test]
fn single_operand() {
    let c = &mut Checker::new("single_operand");
    case!(c, "i->i", 1);
    case!(c, "i->", 1);
    case!(c, "i", 1);
    case!(c, "ij->ij", 1);
    case!(c, "ij->ji", 1);
    case!(c, "ij", 1);
    case!(c, "ji", 1);
    case!(c, "ij->i", 1);
    case!(c, "ij->j", 1);
    case!(c, "ij->", 1);
    case!(c, "ijk->kji", 1);
    case!(c, "ijk->jik", 1);
    case!(c, "ijk->k", 1);
    case!(c, "ijk->ik", 1);
    case!(c, "ijk", 1);
    case!(c, "kji", 1);
    case!(c, "cab", 1);
    case!(c, "ba", 1);
    case!(c, "abcd->dcba", 1);
    case!(c, "abcd->bd", 1);
    case!(c, "abcd->", 1);
    case!(c, "abcde->eadcb", 1);
    case!(c, "abcdef->fedcba", 1);
    case!(c, "xyz->zy", 1);
    c.finish();
}

#[test]
fn diagonals() {
    let c = &mut Checker::new("diagonals");
    case!(c, "ii->i", 1);
    case!(c, "ii->", 1);
    case!(c, "ii", 1);
    case!(c, "iii->i", 1);
    case!(c, "iii->", 1);
    case!(c, "iii", 1);
    case!(c, "iiii->i", 1);
    case!(c, "iij->ij", 1);
    case!(c, "iij->ji", 1);
    case!(c, "iji->ij", 1);
    case!(c, "iij->j", 1);
    case!(c, "iij", 1);
    case!(c, "ijij->ij", 1);
    case!(c, "ijji->ij", 1);
    case!(c, "ijij->", 1);
    case!(c, "iijj->ij", 1);
    case!(c, "iijj", 1);
    case!(c, "ijkji->ijk", 1);
    case!(c, "aabbcc->abc", 1);
    case!(c, "aabbcc->cba", 1);
    case!(c, "ii,i->i", 2);
    case!(c, "ii,ii->i", 2);
    case!(c, "ii,jj->ij", 2);
    case!(c, "iij,jk->ik", 2);
    case!(c, "iii,i->", 2);
    case!(c, "ijj,jk->ik", 2);
    case!(c, "ii,ij->j", 2);
    case!(c, "ij,jj->i", 2);
    c.finish();
}

#[test]
fn two_operands() {
    let c = &mut Checker::new("two_operands");
    case!(c, "ij,jk->ik", 2);
    case!(c, "ij,jk", 2);
    case!(c, "ij,kj->ik", 2);
    case!(c, "ji,jk->ik", 2);
    case!(c, "ij,jk->ki", 2);
    case!(c, "ij,jk->", 2);
    case!(c, "ij,jk->j", 2);
    case!(c, "i,i->", 2);
    case!(c, "i,i", 2);
    case!(c, "i,i->i", 2);
    case!(c, "i,j->ij", 2);
    case!(c, "i,j", 2);
    case!(c, "i,j->ji", 2);
    case!(c, "ij,ij->ij", 2);
    case!(c, "ij,ij->", 2);
    case!(c, "ij,ij", 2);
    case!(c, "ij,ij->i", 2);
    case!(c, "ab,ab->ba", 2);
    case!(c, "ij,ji->", 2);
    case!(c, "ij,ji", 2);
    case!(c, "ab,ba->a", 2);
    case!(c, "ij,j->i", 2);
    case!(c, "ij,j", 2);
    case!(c, "j,ij->i", 2);
    case!(c, "bij,bjk->bik", 2);
    case!(c, "bij,bjk->bki", 2);
    case!(c, "bhqd,bhkd->bhqk", 2);
    case!(c, "ijk,jil->kl", 2);
    case!(c, "ijk,jil", 2);
    case!(c, "abc,cd->abd", 2);
    case!(c, "abcd,cdef->abef", 2);
    case!(c, "ab,cd->abcd", 2);
    case!(c, "ab,cd->dbca", 2);
    case!(c, "ij,kl->", 2);
    case!(c, "abc,abc->", 2);
    case!(c, "abc,ab->c", 2);
    case!(c, "i,jk->ijk", 2);
    case!(c, "ij,k->kji", 2);
    case!(c, "ijk,k->ij", 2);
    case!(c, "ijk,j->ik", 2);
    c.finish();
}

#[test]
fn zero_d_operands() {
    let c = &mut Checker::new("zero_d_operands");
    case!(c, ",i->i", 2);
    case!(c, ",i", 2);
    case!(c, "i,->i", 2);
    case!(c, "i,->", 2);
    case!(c, ",->", 2);
    case!(c, ",", 2);
    case!(c, ",,", 3);
    case!(c, "->", 1);
    case!(c, "", 1);
    case!(c, ",ij->ij", 2);
    case!(c, ",ij,->ji", 3);
    case!(c, "i,,j->ij", 3);
    c.finish();
}

#[test]
fn ellipsis() {
    let c = &mut Checker::new("ellipsis");
    case!(c, "...->...", 1);
    case!(c, "...", 1);
    case!(c, "...->", 1);
    case!(c, "...i->...i", 1);
    case!(c, "...i->i...", 1);
    case!(c, "...i->...", 1);
    case!(c, "...i->i", 1);
    case!(c, "...i", 1);
    case!(c, "i...->i...", 1);
    case!(c, "i...->...i", 1);
    case!(c, "i...->i", 1);
    case!(c, "i...->", 1);
    case!(c, "i...", 1);
    case!(c, "i...j->ij", 1);
    case!(c, "i...j->...", 1);
    case!(c, "i...j->j...i", 1);
    case!(c, "i...j", 1);
    case!(c, "...ii->...i", 1);
    case!(c, "ii...->i...", 1);
    case!(c, "i...i->i...", 1);
    case!(c, "...ii", 1);
    case!(c, "ij->...ij", 1);
    case!(c, "ij->ij...", 1);
    case!(c, "...ij,...jk->...ik", 2);
    case!(c, "...ij,...jk", 2);
    case!(c, "...ij,jk->...ik", 2);
    case!(c, "ij,...jk->...ik", 2);
    case!(c, "...ij,...jk->ik", 2);
    case!(c, "...i,...i->...", 2);
    case!(c, "...i,...i->...i", 2);
    case!(c, "...i,...i", 2);
    case!(c, "...,...->...", 2);
    case!(c, "...,...", 2);
    case!(c, "...,...->", 2);
    case!(c, "...,", 2);
    case!(c, "...,i->...i", 2);
    case!(c, "...i,i->...", 2);
    case!(c, "...j,j", 2);
    case!(c, "a...,...b->...ab", 2);
    case!(c, "...a,b...->ab", 2);
    case!(c, "i,j->...ij", 2);
    case!(c, "i...,j...->ij...", 2);
    case!(c, "...ab,...ba->...", 2);
    case!(c, "a...b,b...c->a...c", 2);
    c.finish();
}

#[test]
fn implicit_mode_mixed_case_and_spaces() {
    let c = &mut Checker::new("implicit_mode_mixed_case_and_spaces");
    case!(c, "Ab,bC", 2);
    case!(c, "aB,Ba", 2);
    case!(c, "Ba", 1);
    case!(c, "BA", 1);
    case!(c, "Aa", 1);
    case!(c, "ZAza", 1);
    case!(c, "iI,Ij", 2);
    case!(c, "AbC,Cd", 2);
    case!(c, "ba,Ab", 2);
    case!(c, "zZ->Zz", 1);
    case!(c, "A,a->aA", 2);
    case!(c, "...Ab,bC", 2);
    case!(c, " ij , jk -> ik ", 2);
    case!(c, "i j,j k->i k", 2);
    case!(c, "ij ,jk", 2);
    case!(c, " ... i , ... i -> ... ", 2);
    case!(c, "a b c -> c b a", 1);
    case!(c, "ii -> i", 1);
    case!(c, " , i -> i", 2);
    c.finish();
}

#[test]
fn many_operands() {
    let c = &mut Checker::new("many_operands");
    case!(c, "ij,jk,kl->il", 3);
    case!(c, "ij,jk,kl", 3);
    case!(c, "i,i,i->i", 3);
    case!(c, "i,i,i->", 3);
    case!(c, "i,j,k->ijk", 3);
    case!(c, "ij,jk,ki->", 3);
    case!(c, "ab,bc,ca", 3);
    case!(c, "ea,eb,ec->abc", 3);
    case!(c, "bn,anm,bm->ba", 3);
    case!(c, "abc,bcd,cde->ae", 3);
    case!(c, "ii,ij,jj->", 3);
    case!(c, "i,ij,j->", 3);
    case!(c, "...i,...i,...i->...", 3);
    case!(c, "ij,jk,kl,li->", 4);
    case!(c, "ab,bc,cd,de->ae", 4);
    case!(c, "ij,jk,kl,lm->mi", 4);
    case!(c, "ab,ac,ad,ae->bcde", 4);
    case!(c, ",i,,j->ij", 4);
    case!(c, "ab,bc,cd,de,ef->af", 5);
    case!(c, "ab,bc,cd,de,ef,fg->ag", 6);
    case!(c, "a,b,c,d,e,f,g->abcdefg", 7);
    case!(c, "i,i,i,i,i,i,i,i->i", 8);
    case!(c, "ab,bc,cd,de,ef,fg,gh,hi->ai", 8);
    case!(c, "ij,ij,ij,ij,ij,ij,ij,ij", 8);
    case!(c, "ab,bc,cd,de,ef,fg,gh,hi,ij,jk,kl,lm,mn,no,op,pq->aq", 16);
    case!(c, "Za,Zb,Zc,Zd,Ze,Zf,Zg,Zh,Zi,Zj,Zk,Zl,Zm,Zn,Zo,Zp->Z", 16);
    case!(
        c,
        "i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i,i->i",
        32
    );
    case!(
        c,
        "ab,bc,cd,de,ef,fg,gh,hi,ij,jk,kl,lm,mn,no,op,pq,qr,rs,st,tu,uv,vw,wx,xy,yz,zA,AB,BC,CD,DE,EF,FG->aG",
        32
    );
    c.finish();
}

#[test]
fn zero_size_axes() {
    let c = &mut Checker::new("zero_size_axes");
    let z = Gen::zero_sizes();
    case!(c, "ij,jk->ik", 2, z);
    case!(c, "i,i->", 2, z);
    case!(c, "ii->i", 1, z);
    case!(c, "ij->", 1, z);
    case!(c, "ijk->kij", 1, z);
    case!(c, "ij,j->ij", 2, z);
    case!(c, "bij,bjk->bik", 2, z);
    case!(c, "i,j->ij", 2, z);
    case!(c, "...i,...i->...", 2, z);
    case!(c, "ab,bc,cd->ad", 3, z);
    c.finish();
}

#[test]
fn label_broadcasting() {
    let c = &mut Checker::new("label_broadcasting");
    let b = Gen::label_bcast();
    case!(c, "ij,jk->ik", 2, b);
    case!(c, "i,i->i", 2, b);
    case!(c, "i,i->", 2, b);
    case!(c, "ij,ij->ij", 2, b);
    case!(c, "ij,j->i", 2, b);
    case!(c, "ii,i->i", 2, b);
    case!(c, "ij,ik->ijk", 2, b);
    case!(c, "ijk,ijk->ik", 2, b);
    case!(c, "...i,i->...i", 2, b);
    case!(c, "ab,bc,cd->ad", 3, b);
    case!(c, "i,i,i,i->i", 4, b);
    c.finish();
}

#[test]
fn high_rank_outputs() {
    let c = &mut Checker::new("high_rank_outputs");
    case!(c, "abcdefg->gfedcba", 1);
    case!(c, "abcdefg->abcdefg", 1);
    case!(c, "abcdefg", 1);
    case!(c, "abcdefgh->hgfedcba", 1);
    case!(c, "abcdefghi->ihgfedcba", 1);
    case!(c, "aabcdefgh->abcdefgh", 1);
    case!(c, "...abcd->abcd...", 1);
    case!(c, "abcd,efgh->abcdefgh", 2);
    case!(c, "abcdefgh,h->abcdefg", 2);
    case!(c, "abcdefg,g->abcdef", 2);
    case!(c, "abcdefg,abcdefg->abcdefg", 2);
    case!(c, "abc,def,g->gfedcba", 3);
    c.finish();
}

#[test]
fn fixed_sizes() {
    let c = &mut Checker::new("fixed_sizes");
    case!(c, fixed Gen::fixed(&[('i', 3), ('j', 3)]), "xyij,ij->xy", 2; i = 3, j = 3);
    case!(c, fixed Gen::fixed(&[('j', 4)]), "ij,jk->ik", 2; j = 4);
    case!(c, fixed Gen::fixed(&[('i', 3)]), "ii->i", 1; i = 3);
    case!(c, fixed Gen::fixed(&[('i', 5)]), "i,i->", 2; i = 5);
    case!(c, fixed Gen::fixed(&[('b', 2), ('k', 3)]), "bij,bjk->bik", 2; b = 2, k = 1 + 2);
    case!(c, fixed Gen::fixed(&[('c', 0)]), "ac,cb->ab", 2; c = 0);
    c.finish();
}

/// Sizes large enough for blocked, GEMM-class, pairwise and parallel paths
/// (a few seeds each: the reference is slow on these).
#[test]
fn larger_sizes() {
    let c = &mut Checker::new("larger_sizes");
    let g = Gen::large(16, 80, 400_000, 3);
    case!(c, "ij,jk->ik", 2, g);
    case!(c, "ij,kj->ik", 2, g);
    case!(c, "ji,jk->ki", 2, g);
    case!(c, "ij,jk", 2, g);
    case!(c, "ij,j->i", 2, g);
    case!(c, "i,i->", 2, Gen::large(500, 5000, 400_000, 3));
    case!(c, "ij,ij->", 2, g);
    case!(c, "ij->j", 1, g);
    case!(c, "ii->", 1, g);
    case!(c, "ij,ik->jk", 2, g);
    let g = Gen::large(4, 40, 400_000, 3);
    case!(c, "bij,bjk->bik", 2, g);
    case!(c, "bij,bkj->bik", 2, g);
    case!(c, "ijk,jil->kl", 2, g);
    case!(c, "abcd,cdef->abef", 2, Gen::large(3, 12, 400_000, 3));
    case!(c, "...ij,...jk->...ik", 2, g);
    case!(c, "ij,jk,kl->il", 3, g);
    case!(c, "ab,bc,cd,de->ae", 4, g);
    case!(c, "ij,jk,kl,lm,mn->in", 5, Gen::large(4, 24, 400_000, 3));
    case!(c, "xyij,ij->xy", 2, Gen::large(3, 30, 400_000, 3));
    c.finish();
}

#[test]
fn other_element_types() {
    let c = &mut Checker::new("other_element_types");
    macro_rules! subset {
        ($t:ty, $g:expr) => {
            case!(c, type $t, $g, "ij,jk->ik", 2);
            case!(c, type $t, $g, "i,i->", 2);
            case!(c, type $t, $g, "ii->i", 1);
            case!(c, type $t, $g, "ij->ji", 1);
            case!(c, type $t, $g, "...ij,...jk->...ik", 2);
            case!(c, type $t, $g, "i,j->ij", 2);
            case!(c, type $t, $g, ",i->i", 2);
            case!(c, type $t, $g, "ijk,jil->kl", 2);
            case!(c, type $t, $g, "ab,bc,cd->ad", 3);
            case!(c, type $t, $g, "iij,jk->ik", 2);
            case!(c, type $t, $g, "bij,bjk->bik", 2);
            case!(c, type $t, $g, "ij,ij->", 2);
            case!(c, type $t, $g, "...i->i", 1);
            case!(c, type $t, $g, "Ab,bC", 2);
        };
    }
    subset!(i64, Gen::wide());
    subset!(i32, Gen::wide());
    subset!(u8, Gen::default());
    subset!(u8, Gen::wide());
    subset!(f32, Gen::small_work(2000));
    subset!(Complex<f64>, Gen::default());
    c.finish();
}

// ---------------------------------------------------------------------------
// `alpha` and `beta`: out ← alpha·result + beta·out
// ---------------------------------------------------------------------------

/// Runs one expression with `alpha` and `beta` over `g.seeds` random cases:
/// `einsum!` and `try_einsum!` with `alpha`, the `_into` forms with both
/// into an output holding random values (expected: `alpha` times the
/// reference plus `beta` times those values), and with a `beta` of zero
/// into an output holding `poison` (never read, so it leaves no trace), each
/// with the default thresholds and the eager ones (every kernel on small
/// shapes).
#[allow(clippy::too_many_arguments)]
fn run_scaled<T, P, Q, I, J>(
    c: &mut Checker,
    s: &'static str,
    g: &Gen,
    poison: T,
    plain: P,
    tried: Q,
    into: I,
    try_into: J,
) where
    T: RefScalar,
    P: Fn(&[ArrayViewD<'_, T>], T) -> ArrayD<T>,
    Q: Fn(&[ArrayViewD<'_, T>], T) -> Result<ArrayD<T>, EinsumError>,
    I: Fn(&mut ArrayViewMutD<'_, T>, &[ArrayViewD<'_, T>], T, T),
    J: Fn(&mut ArrayViewMutD<'_, T>, &[ArrayViewD<'_, T>], T, T) -> Result<(), EinsumError>,
{
    c.exprs += 1;
    for seed in 0..g.seeds {
        let mut rng = SmallRng::seed_from_u64(case_seed(s, seed) ^ 0xa1fa);
        let ops = random_case_with::<T>(s, &mut rng, g);
        let views: Vec<ArrayViewD<'_, T>> = ops.iter().map(|o| o.view()).collect();
        let result = reference(s, &views);
        let (alpha, beta) = (T::small(&mut rng, 3), T::small(&mut rng, 3));
        let scaled = result.mapv(|x| alpha.mul(x));
        let ctx = || {
            format!(
                "{s:?} alpha {alpha:?} beta {beta:?} seed {seed} ({}) operands {}",
                T::NAME,
                describe_all(&ops)
            )
        };
        for thresholds in [Thresholds::EAGER, Thresholds::DEFAULT] {
            let eager = |f: &mut dyn FnMut()| with_thresholds(thresholds, f);
            c.evals += 2;
            let mut got = None;
            eager(&mut || got = Some(catch_unwind(AssertUnwindSafe(|| plain(&views, alpha)))));
            match got.expect("ran") {
                Ok(got) if got == scaled => {}
                Ok(got) => c.fail(format!("einsum! {}: got {got:?}", ctx())),
                Err(p) => c.fail(format!("einsum! {}: panicked: {}", ctx(), panic_message(p))),
            }
            let mut got = None;
            eager(&mut || got = Some(catch_unwind(AssertUnwindSafe(|| tried(&views, alpha)))));
            match got.expect("ran") {
                Ok(Ok(got)) if got == scaled => {}
                other => c.fail(format!("try_einsum! {}: got {other:?}", ctx())),
            }
            // Into an output of random values, and into poison with beta 0.
            for (beta, fill) in [(beta, None), (T::zero(), Some(poison))] {
                for tried_form in [false, true] {
                    c.evals += 1;
                    let mut out = random_out::<T>(result.shape(), &mut rng);
                    let mut values = SmallRng::seed_from_u64(seed);
                    out.view_mut()
                        .mapv_inplace(|_| fill.unwrap_or_else(|| T::small(&mut values, 3)));
                    let old = out.view().to_owned();
                    let mut want = scaled.clone();
                    if fill.is_none() {
                        want.zip_mut_with(&old, |w, &o| *w = w.add(beta.mul(o)));
                    }
                    let octx = out.describe();
                    let mut ran = None;
                    eager(&mut || {
                        ran = Some(catch_unwind(AssertUnwindSafe(|| {
                            if tried_form {
                                try_into(&mut out.view_mut(), &views, alpha, beta)
                            } else {
                                into(&mut out.view_mut(), &views, alpha, beta);
                                Ok(())
                            }
                        })))
                    });
                    let form = if tried_form {
                        "try_einsum_into!"
                    } else {
                        "einsum_into!"
                    };
                    match ran.expect("ran") {
                        Ok(Ok(())) => {
                            if let Err(e) = check_out(&out, &want) {
                                c.fail(format!("{form} {} beta {beta:?} out {octx}: {e}", ctx()));
                            }
                        }
                        Ok(Err(e)) => c.fail(format!("{form} {} out {octx}: Err({e})", ctx())),
                        Err(p) => c.fail(format!(
                            "{form} {} out {octx}: panicked: {}",
                            ctx(),
                            panic_message(p)
                        )),
                    }
                }
            }
        }
    }
}

/// `scaled!(checker, type T, poison, gen, "subscripts", [operand indices])`:
/// [`run_scaled`] through the four forms, `alpha` and `beta` given as
/// run-time values.
macro_rules! scaled {
    ($c:expr, type $t:ty, $poison:expr, $g:expr, $s:literal, [$($i:tt)*]) => {
        run_scaled::<$t, _, _, _, _>(
            $c,
            $s,
            &$g,
            $poison,
            |v: &[ArrayViewD<'_, $t>], a: $t| einsum!($s, $(&v[$i]),*; alpha = a).to_dyn(),
            |v: &[ArrayViewD<'_, $t>], a: $t| {
                try_einsum!($s, $(v[$i].clone()),*; alpha = a).map(ToDyn::to_dyn)
            },
            |o: &mut ArrayViewMutD<'_, $t>, v: &[ArrayViewD<'_, $t>], a: $t, b: $t| {
                einsum_into!(&mut *o, $s, $(&v[$i]),*; alpha = a, beta = b)
            },
            |o: &mut ArrayViewMutD<'_, $t>, v: &[ArrayViewD<'_, $t>], a: $t, b: $t| {
                try_einsum_into!(&mut *o, $s, $(v[$i].view()),*; beta = b, alpha = a)
            },
        )
    };
}

#[test]
fn alpha_and_beta() {
    let c = &mut Checker::new("alpha_and_beta");
    macro_rules! subset {
        ($t:ty, $poison:expr, $g:expr) => {
            scaled!(c, type $t, $poison, $g, "ij,jk->ik", [0 1]);
            scaled!(c, type $t, $poison, $g, "bij,bjk->bik", [0 1]);
            scaled!(c, type $t, $poison, $g, "bi,oi->bo", [0 1]);
            scaled!(c, type $t, $poison, $g, "i,i->", [0 1]);
            scaled!(c, type $t, $poison, $g, "i,j->ij", [0 1]);
            scaled!(c, type $t, $poison, $g, "ij,ij->ij", [0 1]);
            scaled!(c, type $t, $poison, $g, "ij->ji", [0]);
            scaled!(c, type $t, $poison, $g, "ijk->k", [0]);
            scaled!(c, type $t, $poison, $g, "ijk->ki", [0]);
            scaled!(c, type $t, $poison, $g, "ii->i", [0]);
            scaled!(c, type $t, $poison, $g, "ijk,jil->kl", [0 1]);
            scaled!(c, type $t, $poison, $g, "...ij,...jk->...ik", [0 1]);
            scaled!(c, type $t, $poison, $g, "ab,bc,cd->ad", [0 1 2]);
            scaled!(c, type $t, $poison, $g, "i,i,i->i", [0 1 2]);
            scaled!(c, type $t, $poison, $g, "ab,bc,cd,de->ae", [0 1 2 3]);
            scaled!(c, type $t, $poison, $g, "a,b,c,d,e,f,g->", [0 1 2 3 4 5 6]);
        };
    }
    subset!(f64, f64::NAN, Gen::default());
    subset!(f64, f64::NAN, Gen::large(8, 48, 300_000, 2));
    subset!(f32, f32::NAN, Gen::small_work(4000));
    subset!(i64, 77, Gen::wide());
    subset!(u8, 77, Gen::wide());
    subset!(Complex<f64>, Complex::new(f64::NAN, 0.0), Gen::default());
    c.finish();
}

// ---------------------------------------------------------------------------
// Statically ranked operands, slices, vectors, owned arrays
// ---------------------------------------------------------------------------

fn dyn_ref(s: &str, ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
    reference(s, ops)
}

#[test]
fn static_operand_types() {
    for seed in 0..SEEDS {
        let mut rng = SmallRng::seed_from_u64(case_seed("static", seed));
        let ctx = |s: &str, ops: &[Strided<f64>]| {
            format!("{s:?} seed {seed} operands {}", describe_all(ops))
        };

        // Array2 by reference, ArrayView2 by value -> Array2
        let ops = random_case::<f64>("ij,jk->ik", &mut rng);
        let a: Array2<f64> = ops[0]
            .view()
            .into_dimensionality::<Ix2>()
            .unwrap()
            .to_owned();
        let bv: ArrayView2<'_, f64> = ops[1].view().into_dimensionality::<Ix2>().unwrap();
        let want = dyn_ref("ij,jk->ik", &[ops[0].view(), ops[1].view()]);
        let got: Array2<f64> = einsum!("ij,jk->ik", &a, bv);
        assert_eq!(got.into_dyn(), want, "{}", ctx("ij,jk->ik", &ops));
        let got: Array2<f64> = try_einsum!("ij,jk->ik", a.view(), &bv).unwrap();
        assert_eq!(got.into_dyn(), want, "{}", ctx("ij,jk->ik", &ops));
        // Array by value, &mut Array, ArrayViewMut by value
        let mut b2 = bv.to_owned();
        let got: Array2<f64> = einsum!("ij,jk->ik", a.clone(), &mut b2);
        assert_eq!(got.into_dyn(), want, "{}", ctx("ij,jk->ik", &ops));
        let mut a2 = a.clone();
        let got: Array2<f64> = einsum!("ij,jk->ik", a2.view_mut(), b2.view_mut());
        assert_eq!(got.into_dyn(), want, "{}", ctx("ij,jk->ik", &ops));
        let got: Array2<f64> = einsum!("ij->ji", &mut a2);
        assert_eq!(got, a.t(), "{}", ctx("ij->ji", &ops));

        // Statically ranked output through einsum_into!, into a transposed owned array's view
        let mut out = Array2::<f64>::from_elem((want.shape()[1], want.shape()[0]), 99.0);
        let mut ot = out.view_mut().reversed_axes();
        einsum_into!(&mut ot, "ij,jk->ik", &a, &bv);
        assert_eq!(
            out.t().into_dyn(),
            want,
            "{}",
            ctx("ij,jk->ik into transposed", &ops)
        );
        let mut out = Array2::<f64>::from_elem((want.shape()[0], want.shape()[1]), 99.0);
        try_einsum_into!(&mut out, "ij,jk->ik", &a, bv).unwrap();
        assert_eq!(out.into_dyn(), want);

        // &[T] and &Vec<T> as 1-d operands; scalar result is T
        let ops = random_case::<f64>("i,i->", &mut rng);
        let x: Vec<f64> = ops[0].view().iter().copied().collect();
        let y: Vec<f64> = ops[1].view().iter().copied().collect();
        let want = dyn_ref("i,i->", &[ops[0].view(), ops[1].view()]);
        let got: f64 = einsum!("i,i->", &x[..], &y);
        assert_eq!(arr0(got).into_dyn(), want, "{}", ctx("i,i->", &ops));
        let got: f64 = einsum!("i,i", &x, &y[..]);
        assert_eq!(arr0(got).into_dyn(), want);
        let got: f64 = try_einsum!("i,i->", x.as_slice(), &y).unwrap();
        assert_eq!(arr0(got).into_dyn(), want);

        // outer product of a Vec and a 1-d view, into Array2
        let ops = random_case::<f64>("i,j->ij", &mut rng);
        let x: Vec<f64> = ops[0].view().iter().copied().collect();
        let yv: ArrayView1<'_, f64> = ops[1].view().into_dimensionality::<Ix1>().unwrap();
        let want = dyn_ref("i,j->ij", &[ops[0].view(), ops[1].view()]);
        let got: Array2<f64> = einsum!("i,j->ij", &x, yv);
        assert_eq!(got.into_dyn(), want, "{}", ctx("i,j->ij", &ops));

        // Array0 and a Vec: ",i->i" -> Array1
        let ops = random_case::<f64>(",i->i", &mut rng);
        let s0: Array0<f64> = ops[0].view().into_dimensionality().unwrap().to_owned();
        let x: Vec<f64> = ops[1].view().iter().copied().collect();
        let want = dyn_ref(",i->i", &[ops[0].view(), ops[1].view()]);
        let got: Array1<f64> = einsum!(",i->i", &s0, &x);
        assert_eq!(got.into_dyn(), want, "{}", ctx(",i->i", &ops));

        // matrix-vector with an Array2 view and a &Vec
        let ops = random_case::<f64>("ij,j->i", &mut rng);
        let m: ArrayView2<'_, f64> = ops[0].view().into_dimensionality().unwrap();
        let v: Vec<f64> = ops[1].view().iter().copied().collect();
        let want = dyn_ref("ij,j->i", &[ops[0].view(), ops[1].view()]);
        let got: Array1<f64> = einsum!("ij,j->i", m, &v);
        assert_eq!(got.into_dyn(), want, "{}", ctx("ij,j->i", &ops));
        let mut out = Array1::<f64>::from_elem(want.len(), 99.0);
        einsum_into!(
            &mut out.slice_mut(einsum::ndarray::s![..;-1]),
            "ij,j->i",
            &m,
            &v[..]
        );
        assert_eq!(out.slice(einsum::ndarray::s![..;-1]).into_dyn(), want);

        // diagonal and trace of a strided Array2 view; scalar output
        let ops = random_case::<f64>("ii->i", &mut rng);
        let m: ArrayView2<'_, f64> = ops[0].view().into_dimensionality().unwrap();
        let want = dyn_ref("ii->i", &[ops[0].view()]);
        let got: Array1<f64> = einsum!("ii->i", m);
        assert_eq!(got.into_dyn(), want, "{}", ctx("ii->i", &ops));
        let want = dyn_ref("ii", &[ops[0].view()]);
        let got: f64 = einsum!("ii", &m);
        assert_eq!(arr0(got).into_dyn(), want, "{}", ctx("ii", &ops));

        // batched matmul on Array3 -> Array3; Array3 by value
        let ops = random_case::<f64>("bij,bjk->bik", &mut rng);
        let p: Array3<f64> = ops[0]
            .view()
            .into_dimensionality::<Ix3>()
            .unwrap()
            .to_owned();
        let q = ops[1].view().into_dimensionality::<Ix3>().unwrap();
        let want = dyn_ref("bij,bjk->bik", &[ops[0].view(), ops[1].view()]);
        let got: Array3<f64> = einsum!("bij,bjk->bik", p, &q);
        assert_eq!(got.into_dyn(), want, "{}", ctx("bij,bjk->bik", &ops));

        // output types: Ix6 at six labels, IxDyn at seven and with an output ellipsis
        let ops = random_case::<f64>("abcdef->fedcba", &mut rng);
        let got: Array6<f64> = einsum!("abcdef->fedcba", &ops[0].view());
        assert_eq!(got.into_dyn(), dyn_ref("abcdef->fedcba", &[ops[0].view()]));
        let ops = random_case::<f64>("abcdefg->gfedcba", &mut rng);
        let got: ArrayD<f64> = einsum!("abcdefg->gfedcba", &ops[0].view());
        assert_eq!(got, dyn_ref("abcdefg->gfedcba", &[ops[0].view()]));
        let m3 = ops[0].view().into_dimensionality::<IxDyn>().unwrap();
        let got: ArrayD<f64> = einsum!("ab...->...ba", &m3);
        assert_eq!(got, dyn_ref("ab...->...ba", &[ops[0].view()]));
        // an output ellipsis covering zero axes: a 0-d ArrayD, not a scalar
        let m2 = arr2(&[[1.0, 2.0], [3.0, 4.0]]);
        let got: ArrayD<f64> = einsum!("ij->...", &m2);
        assert_eq!(got, arr0(10.0).into_dyn());
    }
}

#[test]
fn errors_leave_the_output_untouched() {
    let a = Array2::<f64>::ones((2, 3));
    let b = Array2::<f64>::ones((4, 5));
    assert!(try_einsum!("ij,jk->ik", &a, &b).is_err());
    let e: EinsumError = try_einsum!("ij,jk->ik", &a, &b).unwrap_err();
    let _ = e.to_string();
    let r = std::panic::catch_unwind(|| einsum!("ij,jk->ik", &a, &b));
    assert!(r.is_err(), "einsum! must panic on mismatched sizes");
    // diagonal of unequal sizes
    assert!(try_einsum!("ii->i", &a).is_err());
    // wrong output shape, and an operand error: out is unchanged
    let mut out = Array2::<f64>::from_elem((3, 2), 7.0);
    assert!(try_einsum_into!(&mut out, "ij,jk->ik", &a, &a.t()).is_err());
    assert!(out.iter().all(|&x| x == 7.0));
    let mut out = Array2::<f64>::from_elem((2, 5), 7.0);
    assert!(try_einsum_into!(&mut out, "ij,jk->ik", &a, &b).is_err());
    assert!(out.iter().all(|&x| x == 7.0));
    // a dynamic-rank operand of the wrong rank
    let d = ArrayD::<f64>::ones(IxDyn(&[2, 2, 2]));
    assert!(try_einsum!("ij->ji", &d).is_err());
    assert!(try_einsum!("ij...->ji", &ArrayD::<f64>::ones(IxDyn(&[2]))).is_err());
    // ellipsis dims that do not broadcast
    let e1 = ArrayD::<f64>::ones(IxDyn(&[2, 3]));
    let e2 = ArrayD::<f64>::ones(IxDyn(&[4, 3]));
    assert!(try_einsum!("...i,...i->...", &e1, &e2).is_err());
    // a fixed size the data contradicts
    assert!(try_einsum!("ij,jk->ik", &a, &a.t(); j = 4).is_err());
}
