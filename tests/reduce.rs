//! `reduce = max` and `reduce = min` against the reference loop with the
//! sum replaced by a max or a min, on random shapes and layouts, through
//! every form, the call site's loops and the run-time nest (and its split),
//! with `alpha` and `beta`; NaN propagation, empty reductions, max-pooling
//! over windows.

mod common;

use common::*;
use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{arr1, Array, Array2, Array4, ArrayD, ArrayViewD, ArrayViewMutD};
use einsum::windows::windows_nhwc;
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, ErrorKind};
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// The thresholds each case runs with: the defaults (the call site's loops
/// on small shapes) and the run-time nest split over the pool.
const PATHS: [Thresholds; 2] = [
    Thresholds::DEFAULT,
    Thresholds {
        small_max_work: 0,
        parallel_min_work: 0,
        ..Thresholds::DEFAULT
    },
];

/// `einsum_into!` of one expression, into the first argument.
type Into<'a, T> = dyn Fn(&mut ArrayViewMutD<'_, T>, &[ArrayViewD<'_, T>]) + 'a;

/// One expression with `reduce` (`max` when `max`), over random cases:
/// `einsum!` and `try_einsum!` against the reference reduced the same way,
/// and `einsum_into!` with `alpha = 2` and `beta = 3` over an output of
/// random values, on each of [`PATHS`].
#[allow(clippy::too_many_arguments)]
fn check<T: RefScalar>(
    s: &'static str,
    max: bool,
    pick: &dyn Fn(T, T) -> T,
    two: T,
    three: T,
    plain: &dyn Fn(&[ArrayViewD<'_, T>]) -> ArrayD<T>,
    tried: &dyn Fn(&[ArrayViewD<'_, T>]) -> ArrayD<T>,
    into: &Into<'_, T>,
) {
    // (Under Miri, which runs the kernels' unsafe code, one seed.)
    let seeds = if cfg!(miri) { 1 } else { 20 };
    for seed in 0..seeds {
        let mut rng = SmallRng::seed_from_u64(case_seed(s, seed));
        // (No zero sizes: an empty max is an error, checked below.)
        let g = Gen {
            zero_case: 0.0,
            ..Gen::default()
        };
        let ops = random_case_with::<T>(s, &mut rng, &g);
        let views: Vec<ArrayViewD<'_, T>> = ops.iter().map(|o| o.view()).collect();
        let want = reference_by(s, &views, pick);
        let ctx = format!(
            "{s:?} max {max} seed {seed} ({}) {}",
            T::NAME,
            describe_all(&ops)
        );
        for t in PATHS {
            assert_eq!(with_thresholds(t, || plain(&views)), want, "einsum! {ctx}");
            assert_eq!(
                with_thresholds(t, || tried(&views)),
                want,
                "try_einsum! {ctx}"
            );
            let mut out = random_out::<T>(want.shape(), &mut rng);
            let mut values = SmallRng::seed_from_u64(seed);
            out.view_mut().mapv_inplace(|_| T::small(&mut values, 3));
            let old = out.view().to_owned();
            let mut blended = want.mapv(|v| two.mul(v));
            blended.zip_mut_with(&old, |w, &o| *w = w.add(three.mul(o)));
            with_thresholds(t, || into(&mut out.view_mut(), &views));
            if let Err(e) = check_out(&out, &blended) {
                panic!("einsum_into! {ctx}: {e}");
            }
        }
    }
}

macro_rules! case {
    ($t:ty, $max:literal, $s:literal, [$($i:tt)*]) => {{
        let pick = |a: $t, b: $t| if $max { if b > a { b } else { a } } else if b < a { b } else { a };
        let (two, three): ($t, $t) = (2 as $t, 3 as $t);
        if $max {
            check::<$t>(
                $s, true, &pick, two, three,
                &|v| einsum!($s, $(&v[$i]),*; reduce = max).to_dyn(),
                &|v| try_einsum!($s, $(v[$i].clone()),*; reduce = max).unwrap().to_dyn(),
                &|o, v| einsum_into!(&mut *o, $s, $(&v[$i]),*; reduce = max, alpha = two, beta = three),
            )
        } else {
            check::<$t>(
                $s, false, &pick, two, three,
                &|v| einsum!($s, $(&v[$i]),*; reduce = min).to_dyn(),
                &|v| try_einsum!($s, $(v[$i].clone()),*; reduce = min).unwrap().to_dyn(),
                &|o, v| einsum_into!(&mut *o, $s, $(&v[$i]),*; alpha = two, reduce = min, beta = three),
            )
        }
    }};
}

#[test]
fn max_and_min_match_the_reference() {
    macro_rules! each {
        ($t:ty) => {
            for_each_max!($t, true);
            for_each_max!($t, false);
        };
    }
    macro_rules! for_each_max {
        ($t:ty, $max:tt) => {
            case!($t, $max, "ij->i", [0]);
            case!($t, $max, "ij->j", [0]);
            case!($t, $max, "ijk->ik", [0]);
            case!($t, $max, "i->", [0]);
            case!($t, $max, "ij,j->i", [0 1]);
            case!($t, $max, "ij,jk->ik", [0 1]);
            case!($t, $max, "ij,ij->ij", [0 1]);
            case!($t, $max, "ii->", [0]);
            case!($t, $max, "...i->...", [0]);
            case!($t, $max, "ab,bc,cd->ad", [0 1 2]);
        };
    }
    each!(i64);
    if !cfg!(miri) {
        each!(f64);
        each!(u8);
    }
}

/// Max-pooling over 2×2 windows of a channels-last batch, against the max
/// of the four pixels.
#[test]
fn max_pooling_over_windows() {
    let y = Array4::from_shape_fn((2, 7, 6, 3), |(b, x, z, c)| {
        ((b * 13 + x * 7 + z * 3 + c) % 17) as f64 - 8.0
    });
    let want = Array4::from_shape_fn((2, 3, 3, 3), |(b, x, z, c)| {
        let px = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(i, j)| y[[b, 2 * x + i, 2 * z + j, c]]);
        px.into_iter().fold(f64::NEG_INFINITY, f64::max)
    });
    for t in PATHS {
        let got = with_thresholds(
            t,
            || einsum!("bxyijc->bxyc", windows_nhwc(&y, (2, 2), (2, 2)).unwrap(); reduce = max),
        );
        assert_eq!(got, want);
    }
}

/// A NaN among the values makes the max NaN, as numpy's does; an empty
/// range is an error that leaves the output as it was; an empty output is
/// returned empty.
#[test]
fn nan_and_empty_reductions() {
    let x = arr1(&[1.0, f64::NAN, 3.0]);
    for t in PATHS {
        let got: f64 = with_thresholds(t, || einsum!("i->", &x; reduce = max));
        assert!(got.is_nan());
        let got: f64 = with_thresholds(t, || einsum!("i->", &x; reduce = min));
        assert!(got.is_nan());
    }
    let empty = Array2::<f64>::zeros((3, 0));
    let mut out = Array::from_elem(3, 7.0);
    let e = try_einsum_into!(&mut out, "ij->i", &empty; reduce = max).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::EmptyReduction { labels } if labels == &['j']),
        "{e}"
    );
    assert_eq!(out, arr1(&[7.0, 7.0, 7.0]));
    let e = try_einsum!("ij->", &empty; reduce = min).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EmptyReduction { .. }), "{e}");
    let none = Array2::<f64>::zeros((0, 4));
    assert_eq!(einsum!("ij->i", &none; reduce = max).len(), 0);
}
