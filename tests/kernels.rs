//! Every kernel path, each forced on a small shape by thresholds, shown to
//! have run (the kernels record which of them a call took) and checked
//! against the naive reference. Small enough for Miri, which runs all of it:
//! the split paths too, whose tasks run there on threads of their own, so
//! that Miri checks them against each other for data races.
//!
//! Natively the splits run in a two-thread pool of the test's own, whatever
//! `RAYON_NUM_THREADS` says. Two paths are native only and have their
//! portable stand-ins under Miri: the `gemm` crate's SIMD code (the blocked
//! kernel there) and the AVX-512 skinny kernel (its portable build).

mod common;

use common::{reference, RefScalar};
use einsum::__test_hooks::{traced, with_thresholds, KernelPath, KernelPaths, Thresholds};
use einsum::ndarray::{Array, ArrayD, ArrayViewD, Dimension};
use einsum::windows::{windows2, windows_nhwc};
use einsum::{einsum, einsum_into};

/// Runs `f` with `t` in force, where a split has two threads to go to.
fn forced<R: Send>(t: Thresholds, f: impl FnOnce() -> R + Send) -> (R, KernelPaths) {
    let run = move || with_thresholds(t, || traced(f));
    if cfg!(miri) {
        // The kernels split for two threads under Miri by themselves.
        run()
    } else {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of two threads")
            .install(run)
    }
}

/// Values `((i · 7) mod 11) − 5` in row-major order, as `T`.
fn values<T: From<i8>, D: Dimension>(
    shape: impl einsum::ndarray::ShapeBuilder<Dim = D>,
) -> Array<T, D> {
    let mut k = 0i32;
    Array::from_shape_simple_fn(shape, || {
        k += 1;
        T::from(((k * 7) % 11 - 5) as i8)
    })
}

fn check<T: RefScalar>(what: &str, s: &str, ops: &[ArrayViewD<'_, T>], got: ArrayD<T>) {
    assert_eq!(got, reference(s, ops), "{what}: {s}");
}

const NO_THREADS: Thresholds = Thresholds {
    parallel_min_work: usize::MAX,
    ..Thresholds::DEFAULT
};

/// The run-time kernels only (no call-site code), on one thread.
const RUNTIME: Thresholds = Thresholds {
    small_max_work: 0,
    rows_min_len: usize::MAX,
    product_max_work: 0,
    ..NO_THREADS
};

const NEST: Thresholds = Thresholds {
    gemm_min_work: usize::MAX,
    skinny_min_work: usize::MAX,
    dots_max_work: 0,
    transpose_min_len: usize::MAX,
    ..RUNTIME
};

const GEMM: Thresholds = Thresholds {
    gemm_min_work: 0,
    gemm_min_len: 1,
    blocked_min_len: 1,
    window_min_len: 1,
    skinny_min_work: 0,
    dots_max_work: 0,
    ..RUNTIME
};

/// Dot products for every contraction with K in rows of both operands
/// (no copy of B for the skinny kernel, which would come first).
const DOTS: Thresholds = Thresholds {
    dots_max_work: usize::MAX,
    dots_min_k: 1,
    skinny_gather_min_rows: usize::MAX,
    ..RUNTIME
};

/// `t`, with the pool taking work of any size (where a split exists).
const fn split(t: Thresholds) -> Thresholds {
    Thresholds {
        parallel_min_work: 0,
        ..t
    }
}

#[test]
fn call_site_loops() {
    let (a, b) = (values::<f64, _>((3, 4)), values::<f64, _>((4, 5)));
    let (got, paths) = forced(Thresholds::DEFAULT, || einsum!("ij,jk->ik", &a, &b));
    assert_eq!(paths, KernelPaths::default(), "no run-time kernel");
    check(
        "call site",
        "ij,jk->ik",
        &[a.view().into_dyn(), b.view().into_dyn()],
        got.into_dyn(),
    );
}

/// Matrix products sent from the call site straight to the GEMM kernels:
/// every part present or missing, a batch, a transposed output, operands
/// transposed and reversed, a long K over few rows with B transposed (in
/// `gemm` itself), new results and a strided output whose other elements
/// stay as they were. Under Miri the same calls take the portable kernels
/// and the plain loop.
#[test]
fn call_site_product() {
    use einsum::ndarray::{s, Array2};
    let product = Thresholds {
        small_max_work: 0,
        rows_min_len: usize::MAX,
        product_max_work: usize::MAX,
        ..NO_THREADS
    };
    // One case: the call forced through the product path, its result
    // against the reference; the kernel paths it took.
    macro_rules! case {
        ($what:literal, $s:tt, $x:expr, $y:expr) => {{
            let ops = [$x.view().into_dyn(), $y.view().into_dyn()];
            let (got, paths) = forced(product, || einsum!($s, $x, $y).into_dyn());
            assert!(
                paths.has(KernelPath::Product),
                "{}: {}: {paths:?}",
                $what,
                $s
            );
            check($what, $s, &ops, got);
            paths
        }};
    }
    let (a, b) = (values::<f64, _>((3, 4)), values::<f64, _>((4, 5)));
    case!("product", "ij,jk->ik", &a, &b);
    case!("output transposed", "ij,jk->ki", &a, &b);
    let (at, br) = (a.t(), b.slice(s![..;-1, ..]));
    case!("A transposed, B reversed", "ji,jk->ik", &at, &br);

    // A long K over few rows, B transposed: `gemm` itself.
    let (a, b) = (values::<f64, _>((4, 20)), values::<f64, _>((5, 20)));
    let paths = case!("long K, B transposed", "ij,kj->ik", &a, &b);
    assert!(
        !paths.has(KernelPath::Skinny) && !paths.has(KernelPath::Dots),
        "{paths:?}"
    );

    // A batch, B transposed per item; parts missing.
    let (a, b) = (values::<f64, _>((3, 2, 4)), values::<f64, _>((3, 5, 4)));
    let bt = b.view().permuted_axes([0, 2, 1]);
    case!("batch", "bij,bjk->bik", &a, &bt);
    let (x, y, z) = (
        values::<f64, _>((6, 3)),
        values::<f64, _>(3),
        values::<f64, _>(4),
    );
    case!("no N", "ij,j->i", &x, &y);
    let xt = x.t();
    case!("no M", "j,jk->k", &y, &xt);
    case!("no K", "i,j->ij", &y, &z);
    let (p, q) = (values::<f64, _>((2, 3)), values::<f64, _>((2, 4)));
    case!("batch, no K", "bi,bj->bij", &p, &q);

    // Into every other row and column of a larger array.
    let (a, b) = (values::<f64, _>((3, 4)), values::<f64, _>((4, 5)));
    let mut big = Array2::from_elem((5, 11), 99.0);
    let ((), paths) = forced(product, || {
        einsum_into!(&mut big.slice_mut(s![..;2, 1..;2]), "ij,jk->ik", &a, &b)
    });
    assert!(paths.has(KernelPath::Product), "{paths:?}");
    check(
        "into",
        "ij,jk->ik",
        &[a.view().into_dyn(), b.view().into_dyn()],
        big.slice(s![..;2, 1..;2]).to_owned().into_dyn(),
    );
    let mut rest = big.clone();
    rest.slice_mut(s![..;2, 1..;2]).fill(99.0);
    assert!(
        rest.iter().all(|&v| v == 99.0),
        "elements outside the view changed"
    );
}

#[test]
fn row_kernel_alone_and_split() {
    let img = values::<i64, _>((5, 11));
    let k = values::<i64, _>((3, 3));
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    let ops = [w.view().into_dyn(), k.view().into_dyn()];
    let (got, paths) = forced(NO_THREADS, || einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3));
    assert!(
        paths.has(KernelPath::Rows) && !paths.has(KernelPath::RowsSplit),
        "{paths:?}"
    );
    check("rows", "xyij,ij->xy", &ops, got.into_dyn());
    let split = split(Thresholds::DEFAULT);
    let mut out = Array::from_elem((3, 9), 99i64);
    let ((), paths) = forced(
        split,
        || einsum_into!(&mut out, "xyij,ij->xy", &w, &k; i = 3, j = 3),
    );
    assert!(paths.has(KernelPath::RowsSplit), "{paths:?}");
    check("rows split", "xyij,ij->xy", &ops, out.into_dyn());
}

#[test]
fn loop_nest_alone_and_split() {
    let (a, b) = (values::<i64, _>((4, 3)), values::<i64, _>((3, 5)));
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(NEST, || einsum!("ij,jk->ik", &a, &b));
    assert!(
        paths.has(KernelPath::Nest) && !paths.has(KernelPath::NestSplit),
        "{paths:?}"
    );
    check("nest", "ij,jk->ik", &ops, got.into_dyn());
    let split = split(NEST);
    // Into a transposed output, so the chunks step through it crosswise.
    let mut out = Array::from_elem((5, 4), 99i64);
    let ((), paths) = forced(split, || {
        einsum_into!(&mut out.view_mut().reversed_axes(), "ij,jk->ik", &a, &b)
    });
    assert!(paths.has(KernelPath::NestSplit), "{paths:?}");
    check(
        "nest split",
        "ij,jk->ik",
        &ops,
        out.reversed_axes().into_dyn(),
    );
}

/// A map over one run splits along it, in chunks a cache line apart (a
/// length under one line: one chunk); a sum into one run (`ijk->k`) stays
/// on one thread.
#[test]
fn loop_nest_split_along_one_run() {
    for n in [5, 37, 64] {
        let (a, b) = (values::<f64, _>(n), values::<f64, _>(n).mapv(|v| v + 0.5));
        let ops = [a.view().into_dyn(), b.view().into_dyn()];
        let (got, paths) = forced(split(NEST), || einsum!("i,i->i", &a, &b));
        assert!(paths.has(KernelPath::NestSplit), "{n}: {paths:?}");
        check("map split", "i,i->i", &ops, got.into_dyn());
    }
    let x = values::<i64, _>((3, 4, 21));
    let ops = [x.view().into_dyn()];
    let (got, paths) = forced(split(NEST), || einsum!("ijk->k", &x));
    assert!(
        paths.has(KernelPath::Nest) && !paths.has(KernelPath::NestSplit),
        "{paths:?}"
    );
    check("sum into a run", "ijk->k", &ops, got.into_dyn());
}

#[test]
fn transposition_in_tiles() {
    let a = values::<f32, _>((3, 9));
    let tiles = Thresholds {
        transpose_min_len: 2,
        ..NEST
    };
    let (got, paths) = forced(tiles, || einsum!("ij->ji", &a));
    assert!(paths.has(KernelPath::Tiles), "{paths:?}");
    check("tiles", "ij->ji", &[a.view().into_dyn()], got.into_dyn());
}

/// A transposition large enough (more than 8 MiB) to be written with
/// non-temporal stores, into a new array and into a view starting three
/// elements into a line; too large for Miri, which runs the same stores
/// in the transposition's unit tests.
#[test]
#[cfg_attr(miri, ignore)]
fn large_transposition_streamed() {
    let (r, c) = (1032, 1024);
    let a = values::<f64, _>((r, c));
    let want = |i: usize, j: usize| a[[i, j]];
    let (got, paths) = traced(|| einsum!("ij->ji", &a));
    assert!(paths.has(KernelPath::Tiles), "{paths:?}");
    for j in 0..c {
        for i in 0..r {
            assert_eq!(got[[j, i]], want(i, j), "new array at {j}, {i}");
        }
    }
    let mut big = Array::from_elem((c, r + 8), -7.0f64);
    einsum_into!(
        &mut big.slice_mut(einsum::ndarray::s![.., 3..r + 3]),
        "ij->ji",
        &a
    );
    for j in 0..c {
        for k in 0..r + 8 {
            let v = if (3..r + 3).contains(&k) {
                want(k - 3, j)
            } else {
                -7.0
            };
            assert_eq!(big[[j, k]], v, "view at {j}, {k}");
        }
    }
}

#[test]
fn gemm_and_the_blocked_kernel() {
    // 17 columns: wider than the skinny kernel takes.
    let (a, b) = (values::<f64, _>((3, 2)), values::<f64, _>((2, 17)));
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("ij,jk->ik", &a, &b));
    let want = if cfg!(miri) {
        KernelPath::Blocked
    } else {
        KernelPath::Gemm
    };
    assert!(paths.has(want), "{paths:?}");
    check("gemm", "ij,jk->ik", &ops, got.into_dyn());
    // Integers: the blocked kernel everywhere.
    let (a, b) = (values::<i32, _>((3, 2)), values::<i32, _>((2, 17)));
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("ij,jk->ik", &a, &b));
    assert!(paths.has(KernelPath::Blocked), "{paths:?}");
    check("blocked", "ij,jk->ik", &ops, got.into_dyn());
}

#[test]
fn independent_gemms_split() {
    let (a, b) = (values::<f64, _>((4, 2, 2)), values::<f64, _>((4, 2, 17)));
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let split = split(GEMM);
    let (got, paths) = forced(split, || einsum!("bij,bjk->bik", &a, &b));
    assert!(paths.has(KernelPath::GemmSplit), "{paths:?}");
    check("gemm split", "bij,bjk->bik", &ops, got.into_dyn());
}

/// One product shared by the pool: its output cut into a part per thread
/// along the longer of M and N, one `gemm` call each, B row-major and
/// transposed; with few rows and B row-major, K cut instead, the parts'
/// sums added into C. Native only: `gemm` cannot run under Miri, which
/// takes the blocked kernel.
#[test]
#[cfg_attr(miri, ignore)]
fn one_product_in_parts() {
    for (m, k, n) in [
        (37, 20, 19),
        (19, 20, 45),
        (40, 3, 24),
        (1, 40, 30),
        (5, 40, 21),
        (3, 64, 130),
    ] {
        let (a, b) = (values::<f64, _>((m, k)), values::<f64, _>((n, k)));
        let bt = b.t();
        let br = bt.as_standard_layout();
        for b in [bt.view(), br.view()] {
            let ops = [a.view().into_dyn(), b.view().into_dyn()];
            let (got, paths) = forced(split(GEMM), || einsum!("ij,jk->ik", &a, &b));
            assert!(
                paths.has(KernelPath::GemmSplit),
                "{m}×{k}·{k}×{n}: {paths:?}"
            );
            check("gemm in parts", "ij,jk->ik", &ops, got.into_dyn());
        }
    }
}

#[test]
fn b_packed_so_that_k_merges() {
    // c, d step through A as one run of 6, through B as d, c: B is copied
    // with K in A's order, then one GEMM. 17 columns: not the skinny kernel.
    let (a, b) = (
        values::<f64, _>((4, 4, 2, 3)),
        values::<f64, _>((3, 2, 17, 1)),
    );
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("abcd,dcef->abef", &a, &b));
    assert!(paths.has(KernelPath::PackedB), "{paths:?}");
    check("packed B", "abcd,dcef->abef", &ops, got.into_dyn());
    // Integers (the blocked kernel, with no skinny kernel to avoid), on
    // every other a: M does not merge, so four GEMMs share the copy, split
    // over the pool.
    let a = values::<i32, _>((8, 16, 2, 3));
    let a = a.slice(einsum::ndarray::s![..;2, .., .., ..]);
    let b = values::<i32, _>((3, 2, 2, 1));
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(split(GEMM), || einsum!("abcd,dcef->abef", &a, &b));
    assert!(paths.has(KernelPath::PackedB), "{paths:?}");
    assert!(paths.has(KernelPath::GemmSplit), "{paths:?}");
    check("packed B, split", "abcd,dcef->abef", &ops, got.into_dyn());
    // Fewer than 16 rows of A: K blocks, B read in place.
    let a = values::<i32, _>((3, 5, 2, 3));
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("abcd,dcef->abef", &a, &b));
    assert!(!paths.has(KernelPath::PackedB), "{paths:?}");
    check("K blocks", "abcd,dcef->abef", &ops, got.into_dyn());
    // One short K block of B transposed (strided along N): copied into
    // rows; with K of 5, read in place. Native only: the copy is for
    // `gemm`, which Miri cannot run.
    if !cfg!(miri) {
        for (k, copied) in [(2, true), (4, true), (5, false)] {
            let (a, b) = (values::<f64, _>((16, k)), values::<f64, _>((19, k)));
            let bt = b.t();
            let ops = [a.view().into_dyn(), bt.view().into_dyn()];
            let (got, paths) = forced(GEMM, || einsum!("ij,jk->ik", &a, &bt));
            assert_eq!(paths.has(KernelPath::PackedB), copied, "K = {k}: {paths:?}");
            check("short K, B strided", "ij,jk->ik", &ops, got.into_dyn());
        }
        // Each batch item its own B: each copied in turn, one thread and
        // split over the pool.
        let (a, b) = (values::<f64, _>((3, 16, 2)), values::<f64, _>((3, 19, 2)));
        let bt = b.view().permuted_axes([0, 2, 1]);
        let ops = [a.view().into_dyn(), bt.view().into_dyn()];
        let (got, paths) = forced(GEMM, || einsum!("bij,bjk->bik", &a, &bt));
        assert!(paths.has(KernelPath::PackedB), "{paths:?}");
        check(
            "short K, B strided, batch",
            "bij,bjk->bik",
            &ops,
            got.into_dyn(),
        );
        let (got, paths) = forced(split(GEMM), || einsum!("bij,bjk->bik", &a, &bt));
        assert!(paths.has(KernelPath::GemmSplit), "{paths:?}");
        check(
            "short K, B strided, batch split",
            "bij,bjk->bik",
            &ops,
            got.into_dyn(),
        );
    }
}

#[test]
fn dot_product_kernel() {
    // B transposed: K in rows of both. 6 rows of Bᵀ (a tile of four and
    // two alone), K of 11 (a chunk of 8 and a tail).
    let (a, bt) = (values::<f64, _>((5, 11)), values::<f64, _>((6, 11)));
    let b = bt.t();
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(DOTS, || einsum!("ij,jk->ik", &a, &b));
    assert!(paths.has(KernelPath::Dots), "{paths:?}");
    check("dots", "ij,jk->ik", &ops, got.into_dyn());
    // A matrix times a vector, f32, into a transposed output: C seen
    // transposed, so the tile runs along M.
    let (a, x) = (values::<f32, _>((7, 9)), values::<f32, _>(9));
    let ops = [a.view().into_dyn(), x.view().into_dyn()];
    let (got, paths) = forced(DOTS, || einsum!("ij,j->i", &a, &x));
    assert!(paths.has(KernelPath::Dots), "{paths:?}");
    check("dots, matrix times vector", "ij,j->i", &ops, got.into_dyn());
    // Batched, over two K blocks (rows of A 6 apart, of B 5: p and k do
    // not merge), the second added to the first.
    let (a, b) = (
        values::<f64, _>((2, 3, 2, 6)),
        values::<f64, _>((2, 4, 2, 5)),
    );
    let a = a.slice(einsum::ndarray::s![.., .., .., ..5]);
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(DOTS, || einsum!("bmpk,bnpk->bmn", &a, &b));
    assert!(paths.has(KernelPath::Dots), "{paths:?}");
    check(
        "dots, batched, K blocks",
        "bmpk,bnpk->bmn",
        &ops,
        got.into_dyn(),
    );
}

/// The build of the skinny kernel this machine runs: AVX-512 where the CPU
/// has it (natively), else the portable one.
fn skinny_path() -> KernelPath {
    let native_512 = cfg!(all(target_arch = "x86_64", not(miri)))
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw");
    if native_512 {
        KernelPath::Skinny512
    } else {
        KernelPath::Skinny
    }
}

#[test]
fn skinny_kernel() {
    // 13 rows (a block of 8 and one of 5 natively) and 11 columns, the
    // second operand reversed along the rows.
    let (a, b) = (values::<f64, _>((13, 2)), values::<f64, _>((2, 11)));
    let b = b.slice(einsum::ndarray::s![..;-1, ..]);
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("ij,jk->ik", &a, &b));
    let want = skinny_path();
    assert!(paths.has(want), "{paths:?}");
    check("skinny", "ij,jk->ik", &ops, got.into_dyn());
    // f32, accumulating over a second K block (a strided, unmerged K).
    let (a, b) = (values::<f32, _>((5, 2, 4)), values::<f32, _>((2, 4, 3)));
    let a = a.slice(einsum::ndarray::s![.., .., ..;2]);
    let b = b.slice(einsum::ndarray::s![.., ..;2, ..]);
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("ijk,jkl->il", &a, &b));
    assert!(paths.has(want), "{paths:?}");
    check("skinny, two K blocks", "ijk,jkl->il", &ops, got.into_dyn());
    // B transposed (its rows not contiguous), copied first: f64 and f32.
    let (a, bt) = (values::<f64, _>((9, 5)), values::<f64, _>((7, 5)));
    let b = bt.t();
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("ij,jk->ik", &a, &b));
    assert!(paths.has(want), "{paths:?}");
    check("skinny, B transposed", "ij,jk->ik", &ops, got.into_dyn());
    let (a, bt) = (values::<f32, _>((4, 3)), values::<f32, _>((16, 3)));
    let b = bt.t();
    let ops = [a.view().into_dyn(), b.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("ij,jk->ik", &a, &b));
    assert!(paths.has(want), "{paths:?}");
    check(
        "skinny, B transposed, f32",
        "ij,jk->ik",
        &ops,
        got.into_dyn(),
    );
    // Wider, under `gemm`'s work, 17 rows: 37 columns as panels of 16, 16 and 5,
    // B as it is and transposed.
    let (a, b, bt) = (
        values::<f64, _>((17, 3)),
        values::<f64, _>((3, 37)),
        values::<f64, _>((37, 3)),
    );
    for (name, b) in [("panels", b.view()), ("panels, B transposed", bt.t())] {
        let ops = [a.view().into_dyn(), b.view().into_dyn()];
        let (got, paths) = forced(RUNTIME, || einsum!("ij,jk->ik", &a, &b));
        assert!(
            paths.has(want) && !paths.has(KernelPath::Gemm),
            "{name}: {paths:?}"
        );
        check(name, "ij,jk->ik", &ops, got.into_dyn());
    }
}

/// `"ij,jk->ik"` of an `m`×`k` A and a `k`×`n` B of f64, each a transposed
/// view when `a_t` or `b_t`, under `t`: its result checked against the
/// reference, and the kernel paths it took.
fn product_paths(
    name: &str,
    (m, k, n): (usize, usize, usize),
    (a_t, b_t): (bool, bool),
    t: Thresholds,
) -> KernelPaths {
    let (a_own, b_own) = (
        values::<f64, _>(if a_t { (k, m) } else { (m, k) }),
        values::<f64, _>(if b_t { (n, k) } else { (k, n) }),
    );
    let a = if a_t { a_own.t() } else { a_own.view() };
    let b = if b_t { b_own.t() } else { b_own.view() };
    let ops = [a.into_dyn(), b.into_dyn()];
    let (got, paths) = forced(t, || einsum!("ij,jk->ik", &a, &b));
    check(name, "ij,jk->ik", &ops, got.into_dyn());
    paths
}

/// From `gemm`'s work, a few rows of A along a long K with B transposed
/// take the skinny kernel's panels over copies of B's columns. (Native
/// only: the same panels and copies run under Miri on the shapes above.)
#[test]
#[cfg_attr(miri, ignore = "512·100·8 multiply-adds: minutes under Miri")]
fn few_rows_with_b_transposed_in_panels() {
    let paths = product_paths("few rows, B transposed", (8, 512, 100), (false, true), GEMM);
    assert!(
        paths.has(skinny_path()) && !paths.has(KernelPath::Gemm),
        "{paths:?}"
    );
}

/// Below `gemm`'s work, a few rows of A with K in rows of both operands
/// (B transposed) go to `gemm`, read in place, not to a copy of B or to
/// dot products. (Native only: `gemm`'s SIMD code does not run under
/// Miri.)
#[test]
#[cfg_attr(miri, ignore = "`gemm` does not run under Miri")]
fn small_products_with_b_transposed_in_gemm() {
    for (m, n) in [(4, 12), (16, 5)] {
        let paths = product_paths("small, B transposed", (m, 64, n), (false, true), RUNTIME);
        assert!(
            paths.has(KernelPath::Gemm)
                && !paths.has(skinny_path())
                && !paths.has(KernelPath::Dots),
            "{m}x64·64x{n}: {paths:?}"
        );
    }
}

/// A long K in rows of both operands over a few dozen rows: `gemm` four
/// rows at a time, the last call over the two left.
#[test]
#[cfg_attr(miri, ignore = "`gemm` does not run under Miri")]
fn long_k_with_b_transposed_in_row_chunks() {
    let paths = product_paths("row chunks", (10, 512, 20), (false, true), RUNTIME);
    assert!(
        paths.has(KernelPath::Gemm) && !paths.has(skinny_path()),
        "{paths:?}"
    );
}

/// The same with A transposed too: A is copied into rows first. (Native
/// only: the copy runs under Miri in `rows_of_a_reads_any_strides`.)
#[test]
#[cfg_attr(miri, ignore = "512·17·2 multiply-adds: minutes under Miri")]
fn long_k_with_both_transposed_after_a_copy() {
    let paths = product_paths("A copied", (2, 512, 17), (true, true), GEMM);
    assert!(
        paths.has(KernelPath::CopiedA) && paths.has(KernelPath::Gemm) && !paths.has(skinny_path()),
        "{paths:?}"
    );
}

/// The same over a batch: each batch item's A copied into rows in turn.
#[test]
#[cfg_attr(miri, ignore = "512·17·2·3 multiply-adds: minutes under Miri")]
fn batched_long_k_with_both_transposed_after_a_copy() {
    let (at, bt) = (
        values::<f64, _>((3, 512, 2)),
        values::<f64, _>((3, 17, 512)),
    );
    let (a, b) = (
        at.view().permuted_axes([0, 2, 1]),
        bt.view().permuted_axes([0, 2, 1]),
    );
    let ops = [a.into_dyn(), b.into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("bij,bjk->bik", &a, &b));
    assert!(
        paths.has(KernelPath::CopiedA) && paths.has(KernelPath::Gemm) && !paths.has(skinny_path()),
        "{paths:?}"
    );
    check("A copied, batched", "bij,bjk->bik", &ops, got.into_dyn());
}

/// A few rows of A along a long K against a large B, K in rows of both:
/// dot products, at any work.
#[test]
#[cfg_attr(miri, ignore = "512·512·2 multiply-adds: minutes under Miri")]
fn few_rows_against_a_large_transposed_b_in_dot_products() {
    let paths = product_paths(
        "few rows, large B transposed",
        (2, 512, 512),
        (false, true),
        RUNTIME,
    );
    assert!(
        paths.has(KernelPath::Dots) && !paths.has(KernelPath::Gemm),
        "{paths:?}"
    );
}

#[test]
fn narrow_kernel_alone_and_split() {
    // Overlapping windows, rows 2 elements apart (one pixel of 2 channels)
    // with runs of 4: the image rows do not merge with the columns, so the
    // batch and the rows are 6 outer points.
    let x = values::<f64, _>((2, 4, 10, 2));
    let f = values::<f64, _>((2, 2, 2, 3));
    let w = windows_nhwc(&x, (2, 2), (1, 1)).unwrap();
    let ops = [w.view().into_dyn(), f.view().into_dyn()];
    let (got, paths) = forced(GEMM, || einsum!("bxyijc,ijcd->bxyd", &w, &f));
    assert!(
        paths.has(KernelPath::Window) && !paths.has(KernelPath::WindowSplit),
        "{paths:?}"
    );
    check("narrow", "bxyijc,ijcd->bxyd", &ops, got.into_dyn());
    let split = split(GEMM);
    let (got, paths) = forced(split, || einsum!("bxyijc,ijcd->bxyd", &w, &f));
    assert!(paths.has(KernelPath::WindowSplit), "{paths:?}");
    check("narrow split", "bxyijc,ijcd->bxyd", &ops, got.into_dyn());
}

#[test]
fn pairwise_with_every_step_kernel() {
    let (a, b, c) = (
        values::<f64, _>((5, 2)),
        values::<f64, _>((2, 5)),
        values::<f64, _>((5, 2)),
    );
    let ops = [
        a.view().into_dyn(),
        b.view().into_dyn(),
        c.view().into_dyn(),
    ];
    for (name, t) in [
        ("runtime", RUNTIME),
        ("nest", NEST),
        ("gemm", GEMM),
        ("eager", Thresholds::EAGER),
    ] {
        let (got, paths) = forced(t, || einsum!("ij,jk,kl->il", &a, &b, &c));
        assert!(paths.has(KernelPath::Pairwise), "{name}: {paths:?}");
        check(name, "ij,jk,kl->il", &ops, got.into_dyn());
    }
}

/// `alpha` and `beta` in each kernel: the plain kernels overwriting or
/// adding into the output (`alpha` one or `beta` zero, with a pass that
/// scales the output before or after), and the kernels that blend each
/// element (both other), on the nest, its split, the GEMM kernels (the
/// blocked one under Miri and for integers), dot products, three operands
/// in one nest and in pairwise steps; into a transposed output whose
/// values `beta` reads.
#[test]
fn alpha_and_beta_in_each_kernel() {
    let (a, b, d) = (
        values::<i64, _>((3, 4)),
        values::<i64, _>((4, 5)),
        values::<i64, _>((5, 2)),
    );
    let (x, y) = (values::<i64, _>((3, 4)), values::<i64, _>((3, 4)));
    let paths = [
        ("nest", NEST),
        ("nest split", split(NEST)),
        ("gemm", GEMM),
        ("gemm split", split(GEMM)),
        ("dots", DOTS),
    ];
    // (Under Miri, which takes minutes over all of them, one factor pair
    // that scales before adding and one that blends, on two paths.)
    let pairs: &[(i64, i64)] = if cfg!(miri) {
        &[(1, -2), (2, 3)]
    } else {
        &[(1, 0), (1, 1), (1, -2), (3, 0), (2, 3)]
    };
    let paths = if cfg!(miri) { &paths[1..3] } else { &paths[..] };
    for &(alpha, beta) in pairs {
        for &(name, t) in paths {
            // `out` transposed, holding values for `beta` to read.
            let blend =
                |s: &str, ops: &[ArrayViewD<'_, i64>], run: &(dyn Fn(&mut ArrayD<i64>) + Sync)| {
                    let want = reference(s, ops);
                    let shape: Vec<usize> = want.shape().iter().rev().copied().collect();
                    let mut out = values::<i64, _>(shape).into_dyn().reversed_axes();
                    let old = out.clone();
                    let ((), _) = forced(t, || run(&mut out));
                    let want = want.mapv(|v| alpha * v) + old.mapv(|v| beta * v);
                    assert_eq!(out, want, "{name}: {s} alpha {alpha} beta {beta}");
                };
            blend(
                "ij,jk->ik",
                &[a.view().into_dyn(), b.view().into_dyn()],
                &|o| einsum_into!(o, "ij,jk->ik", &a, &b; alpha = alpha, beta = beta),
            );
            blend(
                "ij,ij->ij",
                &[x.view().into_dyn(), y.view().into_dyn()],
                &|o| einsum_into!(o, "ij,ij->ij", &x, &y; alpha = alpha, beta = beta),
            );
            blend(
                "ij->j",
                &[x.view().into_dyn()],
                &|o| einsum_into!(o, "ij->j", &x; alpha = alpha, beta = beta),
            );
            let ops3 = [
                a.view().into_dyn(),
                b.view().into_dyn(),
                d.view().into_dyn(),
            ];
            blend(
                "ij,jk,kl->il",
                &ops3,
                &|o| einsum_into!(o, "ij,jk,kl->il", &a, &b, &d; alpha = alpha, beta = beta),
            );
            let ops3 = [
                x.view().into_dyn(),
                y.view().into_dyn(),
                x.view().into_dyn(),
            ];
            blend(
                "ij,ij,ij->ij",
                &ops3,
                &|o| einsum_into!(o, "ij,ij,ij->ij", &x, &y, &x; alpha = alpha, beta = beta),
            );
        }
    }
    // f64 through `gemm` itself natively (the blended case in `gemm` with
    // its own factors), the blocked kernel under Miri.
    let (a, b) = (values::<f64, _>((3, 2)), values::<f64, _>((2, 17)));
    let want = reference("ij,jk->ik", &[a.view().into_dyn(), b.view().into_dyn()]);
    let mut out = values::<f64, _>((3, 17)).into_dyn();
    let old = out.clone();
    let ((), paths) = forced(
        GEMM,
        || einsum_into!(&mut out, "ij,jk->ik", &a, &b; alpha = 2.0, beta = 0.5),
    );
    let want_path = if cfg!(miri) {
        KernelPath::Nest
    } else {
        KernelPath::Gemm
    };
    assert!(paths.has(want_path), "{paths:?}");
    assert_eq!(out, want.mapv(|v| 2.0 * v) + old.mapv(|v| 0.5 * v));
}
