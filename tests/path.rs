//! Three or more operands.
//!
//! `einsum_path!` against opt_einsum 3.4: for each expression and shapes
//! below, the naive and optimized FLOP counts and the largest intermediate
//! that `opt_einsum.contract_path(expr, *ops, optimize="optimal")` reports
//! (numpy's `einsum_path` prints the same counts, plus one). The numbers were
//! written down from that call; the expression and shapes are beside them.
//!
//! Then the pairwise contractions themselves against plain loops, small
//! enough for Miri.

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{s, Array, Array1, Array2, Array3, ArrayD, IxDyn};
use einsum::{einsum, einsum_into, einsum_path};

fn zeros(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::zeros(IxDyn(shape))
}

/// (naive FLOPs, optimized FLOPs, largest intermediate) of the plan.
macro_rules! costs {
    ($expr:literal, $($shape:expr),+) => {{
        let plan = einsum_path!($expr, $(&zeros(&$shape)),+);
        (plan.naive_flops(), plan.flops(), plan.largest_intermediate())
    }};
}

#[test]
#[cfg_attr(miri, ignore = "large zero arrays; planning only")]
fn flop_counts_match_opt_einsum() {
    // opt_einsum: naive 300000000, opt 400000, largest 10000.
    assert_eq!(
        costs!("ij,jk,kl->il", [1000, 10], [10, 1000], [1000, 10]),
        (300_000_000, 400_000, 10_000)
    );
    // naive 12884901888, opt 67108864, largest 65536.
    assert_eq!(
        costs!("ij,jk,kl->il", [256, 256], [256, 256], [256, 256]),
        (12_884_901_888, 67_108_864, 65_536)
    );
    // naive 1342177280, opt 1116160, largest 8192.
    assert_eq!(
        costs!(
            "ab,bcd,de,ecf,fa->",
            [32, 32],
            [32, 8, 32],
            [32, 32],
            [32, 8, 32],
            [32, 32]
        ),
        (1_342_177_280, 1_116_160, 8192)
    );
    // naive 750000, opt 501000, largest 500.
    assert_eq!(
        costs!("i,ij,j->", [500], [500, 500], [500]),
        (750_000, 501_000, 500)
    );
    // naive 500000000, opt 800000, largest 10000.
    assert_eq!(
        costs!(
            "ea,fb,abcd,gc,hd->efgh",
            [10, 10],
            [10, 10],
            [10, 10, 10, 10],
            [10, 10],
            [10, 10]
        ),
        (500_000_000, 800_000, 10_000)
    );
    // naive 480000000, opt 112000, largest 200.
    assert_eq!(
        costs!("ij,jk,kl,lm->im", [10, 300], [300, 5], [5, 400], [400, 20]),
        (480_000_000, 112_000, 200)
    );
    // naive 3600000, opt 168000, largest 1200.
    assert_eq!(
        costs!("abc,bd,cd->a", [20, 30, 40], [30, 50], [40, 50]),
        (3_600_000, 168_000, 1200)
    );
    // naive 20480000, opt 3968, largest 160.
    assert_eq!(
        costs!(
            "ab,bc,cd,de,ef->af",
            [4, 40],
            [40, 4],
            [4, 40],
            [40, 4],
            [4, 40]
        ),
        (20_480_000, 3968, 160)
    );
    // naive 8640000, opt 307200, largest 1920.
    assert_eq!(
        costs!("bij,bjk,bkl->bil", [8, 30, 40], [8, 40, 50], [8, 50, 6]),
        (8_640_000, 307_200, 1920)
    );
    // naive 1935360, opt 62208, largest 2688.
    assert_eq!(
        costs!(
            "ijk,jl,kl,lm->im",
            [10, 12, 14],
            [12, 16],
            [14, 16],
            [16, 18]
        ),
        (1_935_360, 62_208, 2688)
    );
    // naive 12418560, opt 164472, largest 2772.
    assert_eq!(
        costs!("pi,qj,rk,ijk->pqr", [6, 20], [7, 21], [8, 22], [20, 21, 22]),
        (12_418_560, 164_472, 2772)
    );
    // naive 3600, opt 2400, largest 1200.
    assert_eq!(
        costs!("ij,ij,ij->ij", [30, 40], [30, 40], [30, 40]),
        (3600, 2400, 1200)
    );
    // naive 604800, opt 3640, largest 10.
    assert_eq!(
        costs!(
            "abcd,ef,dcb,fa->e",
            [5, 6, 7, 8],
            [9, 10],
            [8, 7, 6],
            [10, 5]
        ),
        (604_800, 3640, 10)
    );
}

/// Where several orders cost the least, the one with the smaller largest
/// intermediate: opt_einsum's `optimal` reports 86900 FLOPs with a largest
/// intermediate of 1500 elements for this one, and a cheaper intermediate
/// exists at the same cost.
#[test]
#[cfg_attr(miri, ignore = "large zero arrays; planning only")]
fn ties_go_to_the_smaller_intermediate() {
    let (naive, flops, largest) = costs!("ab,ac,ad,ae->bcde", [50, 4], [50, 5], [50, 6], [50, 7]);
    assert_eq!((naive, flops), (168_000, 86_900));
    assert!(largest <= 1500, "{largest}");
}

#[test]
fn the_table_reads_like_numpys() {
    let a = zeros(&[1000, 10]);
    let b = zeros(&[10, 1000]);
    let plan = einsum_path!("ij,jk,kl->il", &a, &b, &a);
    let text = plan.to_string();
    for line in [
        "  Complete contraction:  ij,jk,kl->il",
        "         Naive scaling:  4",
        "     Optimized scaling:  3",
        "      Naive FLOP count:  3.000e8",
        "  Optimized FLOP count:  4.000e5",
        "   Theoretical speedup:  750.000",
        "  Largest intermediate:  1.000e4 elements",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    let steps: Vec<(&str, u128, &str)> = plan
        .steps()
        .iter()
        .map(|s| (s.subscripts(), s.flops(), s.remaining()))
        .collect();
    assert_eq!(
        steps,
        [
            ("jk,kl->jl", 200_000, "ij,jl->il"),
            ("ij,jl->il", 200_000, "il->il")
        ]
    );
    // Two operands: one step, the expression itself.
    let plan = einsum_path!("ij,jk->ik", &a, &b);
    assert_eq!(plan.steps().len(), 1);
    assert_eq!(plan.flops(), plan.naive_flops());
    assert_eq!(plan.steps()[0].subscripts(), "ij,jk->ik");
}

/// Lone labels are summed out of their operand first; opt_einsum counts
/// them inside the pair step instead, so this count is worked out by hand.
#[test]
fn lone_labels_first() {
    let plan = einsum_path!(
        "ab,bc,cd->a",
        &zeros(&[5, 6]),
        &zeros(&[6, 7]),
        &zeros(&[7, 8])
    );
    let steps: Vec<&str> = plan.steps().iter().map(|s| s.subscripts()).collect();
    assert_eq!(steps, ["cd->c", "bc,c->b", "ab,b->a"]);
    assert_eq!(plan.flops(), 2 * 56 + 2 * 42 + 2 * 30);
}

/// Every way the call sites below run: the defaults (small work in the
/// call site's loops when it is tiny), and every run-time kernel forced, so
/// that the pairwise steps run through GEMM, threads and the nest.
fn each_way<R>(mut f: impl FnMut() -> R) -> [R; 2] {
    [f(), with_thresholds(Thresholds::EAGER, &mut f)]
}

fn ints(shape: &[usize], seed: i64) -> ArrayD<i64> {
    let n: usize = shape.iter().product();
    Array::from_shape_vec(
        IxDyn(shape),
        (0..n as i64)
            .map(|i| (i * 7 + seed * 13) % 11 - 5)
            .collect(),
    )
    .unwrap()
}

#[test]
fn chains_against_loops() {
    let a: Array2<f64> = Array::from_shape_fn((9, 3), |(i, j)| (i * 3 + j) as f64 - 4.0);
    let b: Array2<f64> = Array::from_shape_fn((3, 11), |(i, j)| (i + 2 * j) as f64 * 0.5);
    let c: Array2<f64> = Array::from_shape_fn((11, 4), |(i, j)| (i as f64 - j as f64) * 0.25);
    let want = Array::from_shape_fn((9, 4), |(i, l)| {
        let mut s = 0.0;
        for j in 0..3 {
            for k in 0..11 {
                s += a[[i, j]] * b[[j, k]] * c[[k, l]];
            }
        }
        s
    });
    for got in each_way(|| einsum!("ij,jk,kl->il", &a, &b, &c)) {
        assert!((&got - &want).iter().all(|d| d.abs() < 1e-9), "{got}");
    }
    // Into a transposed view, from a reversed and a transposed operand.
    let want_rev = Array::from_shape_fn((9, 4), |(i, l)| want[[8 - i, l]]);
    let ct = c.t().to_owned();
    for got in each_way(|| {
        let mut out = Array2::<f64>::zeros((4, 9));
        einsum_into!(
            &mut out.view_mut().reversed_axes(),
            "ij,jk,kl->il",
            a.slice(s![..;-1, ..]),
            &b,
            ct.t()
        );
        out
    }) {
        assert!((&got.t() - &want_rev).iter().all(|d| d.abs() < 1e-9));
    }
}

#[test]
fn scalars_lone_labels_and_ellipses() {
    // A five-operand ring to a scalar, in integers (exact).
    let a = ints(&[3, 4], 1);
    let b = ints(&[4, 2, 5], 2);
    let d = ints(&[5, 3], 3);
    let want: i64 = {
        let mut s = 0;
        for i in 0..3 {
            for j in 0..4 {
                for k in 0..2 {
                    for l in 0..5 {
                        s += a[[i, j]] * b[[j, k, l]] * d[[l, i]];
                    }
                }
            }
        }
        s
    };
    for got in each_way(|| -> i64 { einsum!("ij,jkl,li->", &a, &b, &d) }) {
        assert_eq!(got, want);
    }
    // `m` only in the first operand: summed out of it first.
    let e = ints(&[3, 4, 6], 4);
    let want = Array::from_shape_fn(IxDyn(&[5]), |l| {
        let l = l[0];
        let mut s = 0;
        for i in 0..3 {
            for j in 0..4 {
                for m in 0..6 {
                    for k in 0..2 {
                        s += e[[i, j, m]] * b[[j, k, l]] * d[[l, i]];
                    }
                }
            }
        }
        s
    });
    for got in each_way(|| einsum!("ijm,jkl,li->l", &e, &b, &d)) {
        assert_eq!(got.into_dyn(), want);
    }
    // An ellipsis that broadcasts: a batch of 2 against one matrix.
    let x: Array3<i64> =
        Array::from_shape_fn((2, 3, 4), |(n, i, j)| (n * 5 + i * 2 + j) as i64 % 7 - 3);
    let y = ints(&[4, 5], 5);
    let z: Array1<i64> = Array::from_shape_fn(5, |k| k as i64 - 2);
    let want = Array::from_shape_fn((2, 3), |(n, i)| {
        (0..4)
            .map(|j| (0..5).map(|k| x[[n, i, j]] * y[[j, k]] * z[k]).sum::<i64>())
            .sum::<i64>()
    });
    for got in each_way(|| einsum!("...ij,jk,k->...i", &x, &y, &z)) {
        assert_eq!(got, want.clone().into_dyn());
    }
    // Where no order beats the nest: elementwise.
    let p = ints(&[3, 4], 6);
    let want = Array::from_shape_fn((3, 4), |(i, j)| p[[i, j]] * a[[i, j]] * p[[i, j]]);
    let a = a.into_dimensionality::<einsum::ndarray::Ix2>().unwrap();
    let p = p.into_dimensionality::<einsum::ndarray::Ix2>().unwrap();
    for got in each_way(|| einsum!("ij,ij,ij->ij", &p, &a, &p)) {
        assert_eq!(got.into_dyn(), want.clone().into_dyn());
    }
}

/// The order a call site keeps is used again only for the same sizes:
/// calls alternating between shapes all get their own right answer. The
/// run-time path is forced, so no call takes the call site's small loops.
#[test]
#[cfg_attr(miri, ignore = "no unsafe code of its own; slow under Miri")]
fn the_cached_order_follows_the_sizes() {
    let run = |m: usize, k: usize| {
        let a: Array2<i64> = Array::from_shape_fn((m, k), |(i, j)| (i * 3 + j) as i64 % 5 - 2);
        let b: Array2<i64> = Array::from_shape_fn((k, m), |(i, j)| (i + 2 * j) as i64 % 7 - 3);
        let c: Array2<i64> = Array::from_shape_fn((m, k), |(i, j)| (i * 5 + j) as i64 % 3 - 1);
        let got = with_thresholds(Thresholds::EAGER, || einsum!("ij,jk,kl->il", &a, &b, &c));
        let want = Array::from_shape_fn((m, k), |(i, l)| {
            let mut s = 0;
            for j in 0..k {
                for q in 0..m {
                    s += a[[i, j]] * b[[j, q]] * c[[q, l]];
                }
            }
            s
        });
        assert_eq!(got, want);
    };
    for _ in 0..2 {
        run(20, 2);
        run(2, 20);
        run(20, 2);
        run(7, 7);
    }
}
