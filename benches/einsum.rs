//! `einsum!` side by side with the other ways to do the same work.
//!
//! One criterion group per case (`matmul_1024_f64`, `trace_2000`, ...), one
//! function id per way of doing it:
//!
//! | id | what |
//! |---|---|
//! | `einsum` | `einsum!(...)`, a new result each call |
//! | `einsum_into` | `einsum_into!(&mut out, ...)` into a preallocated output |
//! | `einsum_seq` | three or more operands: `einsum!` calls of two operands each, in the cheapest order, by hand |
//! | `ndarray_dot` | ndarray's `.dot()` / `general_mat_mul` (matrixmultiply inside) |
//! | `ndarray` | ndarray's own methods (`diag`, `sum_axis`, broadcasting, ...) |
//! | `ndarray_einsum` | the `ndarray-einsum` crate (runtime einsum, `ArrayD` result) |
//! | `einsum_derive` | the `einsum-derive` crate's macro (its 0.1 release assigns instead of adding: every summed label keeps only its last term) |
//! | `hand_loop` | a hand-written loop over the slices (the reference result) |
//! | `hand_loop_into` | 4×4 only: the triple loop into a preallocated output (`hand_loop` allocates, as `einsum!` does) |
//! | `gemm_1t` | `gemm::gemm` with `Parallelism::None` |
//! | `gemm_rayon` | `gemm::gemm` with `Parallelism::Rayon(0)` (the current rayon pool) |
//! | `matrixmultiply_1t` | `matrixmultiply::{sgemm, dgemm}` (built without its `threading` feature) |
//! | `gemm_strided` | `gemm::gemm` called per block of a window view, read in place |
//! | `gemm_copy` | `gemm::gemm` after copying the operands into matrices (copies timed) |
//! | `gemm_pretransposed` | `gemm::gemm` on an operand stored transposed beforehand (not timed) |
//! | `gemm_permuted` | `gemm::gemm` with `Parallelism::Rayon(0)` after permuting an operand into a matrix (copy timed) |
//! | `gemm_split2`, `matrixmultiply_split2` | `_2t` only: the single-thread kernel on two halves of the rows, by `rayon::join` |
//! | `copy` | `copy_from_slice` of as many bytes as the case must move at least |
//! | `copy_pool` | the same copy split over the rayon pool's threads, run only when the pool has more than one |
//! | `fma_f64`, `fma_f32` | `machine_peak` only: one core's multiply-add peak, independent chains in the widest vectors the CPU has |
//!
//! Inputs are built outside the timed closures. Every way is run once before
//! it is timed and its result compared with the hand loop's (the reference);
//! the verdicts go to `target/criterion/checks.json`, and the load that other
//! processes put on the machine while each group ran (in CPUs, from
//! `/proc/stat`) to `target/criterion/load.json`; `benches/compare_numpy.py`
//! reads both.
//!
//! Single-thread numbers: `RAYON_NUM_THREADS=1 cargo bench --bench einsum`.
//! The group `matmul_1024_f64_2t` runs inside a rayon pool of its own with two
//! threads whatever `RAYON_NUM_THREADS` says.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use einsum::{einsum, einsum_into};
use ndarray::{
    linalg::general_mat_mul, Array, Array0, Array1, Array2, Array3, Array4, Axis, Dimension,
    LinalgScalar,
};
use rayon::prelude::*;

// ---------------------------------------------------------------------------
// Element types

trait Elem: LinalgScalar + Debug + Send + Sync + 'static {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    /// Largest accepted |got - want| relative to (1 + max |want|).
    const TOL: f64;
}

impl Elem for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    const TOL: f64 = 1e-9;
}

impl Elem for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    const TOL: f64 = 1e-3;
}

impl Elem for i64 {
    fn from_f64(x: f64) -> Self {
        (x * 8.0).round() as i64
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    const TOL: f64 = 0.0;
}

/// Small unsigned values (0 to 3): the products of 17 of them still fit a
/// byte; larger sums wrap, in the reference loop as in every other way.
impl Elem for u8 {
    fn from_f64(x: f64) -> Self {
        ((x + 1.0) * 1.5).round() as u8
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    const TOL: f64 = 0.0;
}

impl Elem for u32 {
    fn from_f64(x: f64) -> Self {
        ((x + 1.0) * 8.0).round() as u32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    const TOL: f64 = 0.0;
}

/// The types with a GEMM kernel in both `gemm` and `matrixmultiply`.
trait Float: Elem {
    /// `c = a · b` by `matrixmultiply` (`beta` = 0 overwrites, 1 accumulates).
    ///
    /// # Safety
    /// The pointers and strides must describe valid `m×k`, `k×n`, `m×n` matrices.
    #[allow(clippy::too_many_arguments)]
    unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Float for f64 {
    unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f64,
        rsa: isize,
        csa: isize,
        b: *const f64,
        rsb: isize,
        csb: isize,
        beta: f64,
        c: *mut f64,
        rsc: isize,
        csc: isize,
    ) {
        matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

impl Float for f32 {
    unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        rsa: isize,
        csa: isize,
        b: *const f32,
        rsb: isize,
        csb: isize,
        beta: f32,
        c: *mut f32,
        rsc: isize,
        csc: isize,
    ) {
        matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

/// A matrix for [`gemm_at`]: its first element, row stride and column
/// stride.
type Mat<P> = (P, isize, isize);

/// `c (m×n) = a (m×k) · b (k×n)` by `gemm::gemm`, each matrix at any
/// strides; `accumulate` adds to `c` instead of overwriting it.
///
/// # Safety
/// The pointers and strides must describe valid matrices, `c` overlapping
/// neither `a` nor `b`.
unsafe fn gemm_at<T: Float>(
    [m, n, k]: [usize; 3],
    c: Mat<*mut T>,
    a: Mat<*const T>,
    b: Mat<*const T>,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    gemm::gemm(
        m,
        n,
        k,
        c.0,
        c.2,
        c.1,
        accumulate,
        a.0,
        a.2,
        a.1,
        b.0,
        b.2,
        b.1,
        T::one(),
        T::one(),
        false,
        false,
        false,
        par,
    )
}

/// `c (m×n, row stride rsc) = a (m×k) · b (k×n)` by `gemm::gemm`, all unit
/// column strides; `accumulate` adds to `c` instead of overwriting it.
///
/// # Safety
/// The pointers and strides must describe valid matrices.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_call<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: *const T,
    rsa: isize,
    b: *const T,
    rsb: isize,
    c: *mut T,
    rsc: isize,
    accumulate: bool,
    par: gemm::Parallelism,
) {
    gemm_at(
        [m, n, k],
        (c, rsc, 1),
        (a, rsa, 1),
        (b, rsb, 1),
        accumulate,
        par,
    )
}

// ---------------------------------------------------------------------------
// Inputs and checks

/// Deterministic values in [-1, 1) (xorshift), converted to `T`.
fn values<T: Elem>(len: usize, seed: u64) -> Vec<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        })
        .collect()
}

fn array<T: Elem, Sh: ndarray::ShapeBuilder<Dim = D>, D: Dimension>(
    shape: Sh,
    seed: u64,
) -> Array<T, D> {
    let shape = shape.into_shape_with_order();
    let len = shape.size();
    Array::from_shape_vec(shape, values(len, seed)).unwrap()
}

static CHECKS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Compares a result (in logical row-major order) with the reference and
/// records the verdict under `group/id`.
fn check<T: Elem>(group: &str, id: &str, got: impl IntoIterator<Item = T>, want: &[T]) {
    let got: Vec<f64> = got.into_iter().map(Elem::to_f64).collect();
    let scale = 1.0 + want.iter().fold(0.0f64, |m, w| m.max(w.to_f64().abs()));
    let verdict = if got.len() != want.len() {
        format!("wrong: {} elements, expected {}", got.len(), want.len())
    } else {
        let err = got
            .iter()
            .zip(want)
            .fold(0.0f64, |m, (g, w)| m.max((g - w.to_f64()).abs()));
        if err <= T::TOL * scale {
            "ok".to_string()
        } else {
            format!("wrong: max abs error {err:.3e} (largest |value| {scale:.3e})")
        }
    };
    if verdict != "ok" {
        eprintln!("CHECK {group}/{id}: {verdict}");
    }
    CHECKS
        .lock()
        .unwrap()
        .insert(format!("{group}/{id}"), verdict);
}

/// Criterion's output folder (where `compare_numpy.py` looks too).
fn criterion_dir() -> std::path::PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()),
            )
            .join("criterion")
        })
}

/// Merges `map` into the flat JSON object of strings in `file` under
/// criterion's folder, so a filtered run keeps the other groups' entries.
fn merge_json(file: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    let dir = criterion_dir();
    let path = dir.join(file);
    let mut all: BTreeMap<String, String> = std::fs::read_to_string(&path)
        .ok()
        .map(|s| {
            s.lines()
                .filter_map(|l| {
                    let l = l.trim().trim_end_matches(',');
                    let (k, v) = l.split_once("\": \"")?;
                    Some((
                        k.trim_start_matches('"').to_string(),
                        v.trim_end_matches('"').to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    all.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
    let body: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("  \"{k}\": \"{}\"", v.replace('"', "'")))
        .collect();
    let _ = std::fs::create_dir_all(&dir);
    if let Err(e) = std::fs::write(&path, format!("{{\n{}\n}}\n", body.join(",\n"))) {
        eprintln!("could not write {}: {e}", path.display());
    }
}

/// CPU time counters (Linux): the machine's busy and total ticks summed over
/// its CPUs, this process's own ticks, and the number of CPUs.
#[derive(Clone, Copy)]
struct CpuSnap {
    busy: u64,
    total: u64,
    own: u64,
    cpus: u64,
}

fn cpu_snap() -> Option<CpuSnap> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = f.iter().sum();
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count() as u64;
    let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let g: Vec<&str> = own_stat.rsplit_once(')')?.1.split_whitespace().collect();
    let own = g.get(11)?.parse::<u64>().ok()? + g.get(12)?.parse::<u64>().ok()?;
    Some(CpuSnap {
        busy: total.checked_sub(f[3] + f[4])?,
        total,
        own,
        cpus: cpus.max(1),
    })
}

/// How many CPUs' worth of work other processes did between two snapshots.
fn other_load(a: CpuSnap, b: CpuSnap) -> Option<f64> {
    let elapsed = (b.total - a.total) as f64 / b.cpus as f64;
    let others = (b.busy - a.busy) as f64 - (b.own - a.own) as f64;
    (elapsed > 0.0).then(|| (others / elapsed).max(0.0))
}

// ---------------------------------------------------------------------------
// Hand-written loops

/// `c = a · b` for row-major `m×k` and `k×n`: the i-k-j loop, whose inner
/// loop runs along rows of `b` and `c` and vectorizes.
fn matmul_ikj<T: Elem>(a: &[T], b: &[T], c: &mut [T], m: usize, k: usize, n: usize) {
    for i in 0..m {
        let ci = &mut c[i * n..(i + 1) * n];
        ci.fill(T::zero());
        for (p, &aip) in a[i * k..(i + 1) * k].iter().enumerate() {
            for (x, &y) in ci.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *x = *x + aip * y;
            }
        }
    }
}

/// `sum x[i] * y[i]` with eight accumulators so it vectorizes.
fn dot_loop(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (xc, xr) = x.split_at(x.len() / 8 * 8);
    let (yc, yr) = y.split_at(xc.len());
    for (xs, ys) in xc.chunks_exact(8).zip(yc.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += xs[l] * ys[l];
        }
    }
    let tail: f64 = xr.iter().zip(yr).map(|(a, b)| a * b).sum();
    acc.iter().sum::<f64>() + tail
}

/// `out = a.T` for a row-major `n×n` matrix, in 32×32 tiles.
fn transpose_tiled(a: &[f64], out: &mut [f64], n: usize) {
    const B: usize = 32;
    for ib in (0..n).step_by(B) {
        for jb in (0..n).step_by(B) {
            for i in ib..(ib + B).min(n) {
                for j in jb..(jb + B).min(n) {
                    out[j * n + i] = a[i * n + j];
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Harness

/// Criterion's filter, if it is a plain string (letters, digits, `_`, `/`):
/// groups it cannot match skip their set-up (inputs, reference results,
/// checks) too. Any other filter is left to criterion alone.
fn plain_filter() -> Option<String> {
    const WITH_VALUE: &[&str] = &[
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--plotting-backend",
        "--output-format",
        "--format",
        "--color",
        "-c",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filter = None;
    for (i, a) in args.iter().enumerate() {
        if a.starts_with('-') || (i > 0 && WITH_VALUE.contains(&args[i - 1].as_str())) {
            continue;
        }
        filter = Some(a.clone());
    }
    filter.filter(|f| {
        f.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '/')
    })
}

/// Every function id the groups use.
const IDS: &[&str] = &[
    "einsum",
    "einsum_fixed",
    "einsum_into",
    "ndarray_dot",
    "ndarray",
    "ndarray_einsum",
    "einsum_derive",
    "hand_loop",
    "hand_loop_into",
    "gemm_1t",
    "gemm_rayon",
    "matrixmultiply_1t",
    "gemm_split2",
    "matrixmultiply_split2",
    "gemm_strided",
    "gemm_copy",
    "gemm_pretransposed",
    "gemm_permuted",
    "ndarray_scaled_add",
    "einsum_plus_temporary",
    "einsum_forward",
    "einsum_slices",
    "einsum_columns_loop",
    "einsum_dilated",
    "ndarray_fold",
    "ndarray_general_mat_mul",
    "ndarray_zip",
    "copy_windows",
    "copy",
    "copy_pool",
    "fma_f64",
    "fma_f32",
];

struct Bench {
    c: Criterion,
    filter: Option<String>,
    /// The group being run and the CPU counters at its start.
    open: Option<(String, Option<CpuSnap>)>,
    /// Per group: the other processes' load while it ran, in CPUs.
    load: BTreeMap<String, String>,
}

impl Bench {
    /// The group, or `None` when the filter excludes it.
    fn group(
        &mut self,
        name: &str,
        throughput: Throughput,
    ) -> Option<BenchmarkGroup<'_, WallTime>> {
        self.close();
        if let Some(f) = &self.filter {
            // Could criterion's filter match some `name/id`?
            let may_match = match f.split_once('/') {
                Some((group_part, _)) => name.ends_with(group_part),
                None => name.contains(f.as_str()) || IDS.iter().any(|id| id.contains(f.as_str())),
            };
            if !may_match {
                return None;
            }
        }
        self.open = Some((name.to_string(), cpu_snap()));
        let mut g = self.c.benchmark_group(name);
        g.throughput(throughput);
        Some(g)
    }

    /// Records the other processes' load over the group that just ran: a
    /// busy machine makes its numbers unreliable (and its two-thread
    /// numbers meaningless).
    fn close(&mut self) {
        if let Some((name, Some(a))) = self.open.take() {
            if let Some(load) = cpu_snap().and_then(|b| other_load(a, b)) {
                if load > 0.1 {
                    eprintln!("LOAD {name}: other processes used {load:.2} CPUs meanwhile");
                }
                self.load.insert(name, format!("{load:.2}"));
            }
        }
    }
}

fn flops(n: u64) -> Throughput {
    Throughput::Elements(n)
}

fn bytes(n: u64) -> Throughput {
    Throughput::Bytes(n)
}

/// A `copy` row: moves `bytes` bytes (half read, half written).
fn copy_row(g: &mut BenchmarkGroup<'_, WallTime>, bytes: u64) {
    let len = (bytes / 2 / 8) as usize;
    let src: Vec<f64> = values(len, 99);
    let mut dst = vec![0.0f64; len];
    g.bench_function("copy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });
    // The machine's copy rate on every thread of the pool, which a
    // memory-bound case run on those threads is held to.
    let threads = rayon::current_num_threads();
    if threads > 1 {
        let chunk = len.div_ceil(threads).max(1);
        g.bench_function("copy_pool", |b| {
            b.iter(|| {
                dst.par_chunks_mut(chunk)
                    .zip(black_box(&src).par_chunks(chunk))
                    .for_each(|(d, s)| d.copy_from_slice(s));
                black_box(&mut dst);
            })
        });
    }
}

/// A way that writes into a preallocated `out`: run once from zeros and
/// checked against `want`, then timed as `id`.
fn bench_into<T: Elem>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &str,
    id: &str,
    out: &mut [T],
    want: &[T],
    mut run: impl FnMut(&mut [T]),
) {
    out.fill(T::zero());
    run(out);
    check(group, id, out.iter().copied(), want);
    g.bench_function(id, |bch| {
        bch.iter(|| {
            run(out);
            black_box(&mut *out);
        })
    });
}

// ---------------------------------------------------------------------------
// Cases

/// `ij,jk->ik` at `n`, for any element type; the GEMM crates for floats.
fn matmul<T: Elem>(
    bench: &mut Bench,
    name: &str,
    n: usize,
    ein: impl Fn(&Array2<T>, &Array2<T>) -> Array2<T>,
    ein_into: impl Fn(&mut Array2<T>, &Array2<T>, &Array2<T>),
    derive: impl Fn(&Array2<T>, &Array2<T>) -> Array2<T>,
    floats: impl FnOnce(&mut BenchmarkGroup<'_, WallTime>, &Array2<T>, &Array2<T>, &[T]),
) {
    let Some(mut g) = bench.group(name, flops(2 * (n as u64).pow(3))) else {
        return;
    };
    let a: Array2<T> = array((n, n), 1);
    let b: Array2<T> = array((n, n), 2);
    let mut want = vec![T::zero(); n * n];
    matmul_ikj(
        a.as_slice().unwrap(),
        b.as_slice().unwrap(),
        &mut want,
        n,
        n,
        n,
    );

    check(name, "einsum", ein(&a, &b), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| ein(black_box(&a), black_box(&b)))
    });

    let mut out = Array2::<T>::zeros((n, n));
    ein_into(&mut out, &a, &b);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            ein_into(&mut out, black_box(&a), black_box(&b));
            black_box(&mut out);
        })
    });

    check(name, "ndarray_dot", a.dot(&b), &want);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| black_box(&a).dot(black_box(&b)))
    });

    let ne = |a: &Array2<T>, b: &Array2<T>| ndarray_einsum::einsum("ij,jk->ik", &[a, b]).unwrap();
    check(name, "ndarray_einsum", ne(&a, &b), &want);
    g.bench_function("ndarray_einsum", |bch| {
        bch.iter(|| ne(black_box(&a), black_box(&b)))
    });

    check(name, "einsum_derive", derive(&a, &b), &want);
    g.bench_function("einsum_derive", |bch| {
        bch.iter(|| derive(black_box(&a), black_box(&b)))
    });

    let mut c = vec![T::zero(); n * n];
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            matmul_ikj(
                black_box(a.as_slice().unwrap()),
                black_box(b.as_slice().unwrap()),
                &mut c,
                n,
                n,
                n,
            );
            black_box(&mut c);
        })
    });

    floats(&mut g, &a, &b, &want);
    g.finish();
}

/// The `gemm` and `matrixmultiply` rows of a square matmul group.
fn gemm_rows<T: Float>(
    name: &str,
) -> impl FnOnce(&mut BenchmarkGroup<'_, WallTime>, &Array2<T>, &Array2<T>, &[T]) + '_ {
    move |g, a, b, want| {
        let n = a.nrows();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let ni = n as isize;
        let mut c = vec![T::zero(); n * n];
        for (id, par) in [
            ("gemm_1t", gemm::Parallelism::None),
            ("gemm_rayon", gemm::Parallelism::Rayon(0)),
        ] {
            bench_into(g, name, id, &mut c, want, |c| {
                // SAFETY: a, b and c are n×n, row-major and contiguous.
                unsafe {
                    gemm_call(
                        n,
                        n,
                        n,
                        black_box(pa),
                        ni,
                        black_box(pb),
                        ni,
                        c.as_mut_ptr(),
                        ni,
                        false,
                        par,
                    )
                }
            });
        }
        bench_into(g, name, "matrixmultiply_1t", &mut c, want, |c| {
            // SAFETY: as above.
            unsafe {
                T::mm(
                    n,
                    n,
                    n,
                    black_box(pa),
                    ni,
                    1,
                    black_box(pb),
                    ni,
                    1,
                    T::zero(),
                    c.as_mut_ptr(),
                    ni,
                    1,
                )
            }
        });
    }
}

fn matmul_cases(bench: &mut Bench) {
    for n in [64, 256, 1024] {
        let name = format!("matmul_{n}_f64");
        matmul::<f64>(
            bench,
            &name,
            n,
            |a, b| einsum!("ij,jk->ik", a, b),
            |o, a, b| einsum_into!(o, "ij,jk->ik", a, b),
            |a, b| einsum_derive::einsum!("ij,jk->ik", a.view(), b.view()),
            gemm_rows::<f64>(&name),
        );
    }
    let name = "matmul_1024_f32";
    matmul::<f32>(
        bench,
        name,
        1024,
        |a, b| einsum!("ij,jk->ik", a, b),
        |o, a, b| einsum_into!(o, "ij,jk->ik", a, b),
        |a, b| einsum_derive::einsum!("ij,jk->ik", a.view(), b.view()),
        gemm_rows::<f32>(name),
    );
    matmul::<i64>(
        bench,
        "matmul_256_i64",
        256,
        |a, b| einsum!("ij,jk->ik", a, b),
        |o, a, b| einsum_into!(o, "ij,jk->ik", a, b),
        |a, b| einsum_derive::einsum!("ij,jk->ik", a.view(), b.view()),
        |_, _, _, _| {},
    );
    // Bytes and unsigned integers: a call just past the call site's own
    // loops (17³), where each call's fixed cost shows, and a larger one.
    for n in [17, 256] {
        matmul::<u8>(
            bench,
            &format!("matmul_{n}_u8"),
            n,
            |a, b| einsum!("ij,jk->ik", a, b),
            |o, a, b| einsum_into!(o, "ij,jk->ik", a, b),
            |a, b| einsum_derive::einsum!("ij,jk->ik", a.view(), b.view()),
            |_, _, _, _| {},
        );
        matmul::<u32>(
            bench,
            &format!("matmul_{n}_u32"),
            n,
            |a, b| einsum!("ij,jk->ik", a, b),
            |o, a, b| einsum_into!(o, "ij,jk->ik", a, b),
            |a, b| einsum_derive::einsum!("ij,jk->ik", a.view(), b.view()),
            |_, _, _, _| {},
        );
    }
}

/// `ij,jk->ik` at n = 1024 with two threads: every call runs inside a rayon
/// pool of two threads (`install`, a few µs), so `einsum!` and `gemm`'s
/// `Rayon(0)` use both cores whatever `RAYON_NUM_THREADS` says.
fn matmul_2t(bench: &mut Bench) {
    let name = "matmul_1024_f64_2t";
    let n = 1024;
    let Some(mut g) = bench.group(name, flops(2 * (n as u64).pow(3))) else {
        return;
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a: Array2<f64> = array((n, n), 1);
    let b: Array2<f64> = array((n, n), 2);
    let mut want = vec![0.0; n * n];
    matmul_ikj(
        a.as_slice().unwrap(),
        b.as_slice().unwrap(),
        &mut want,
        n,
        n,
        n,
    );

    let ein = |a: &Array2<f64>, b: &Array2<f64>| pool.install(|| einsum!("ij,jk->ik", a, b));
    check(name, "einsum", ein(&a, &b), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| ein(black_box(&a), black_box(&b)))
    });

    let ein_into = |o: &mut Array2<f64>, a: &Array2<f64>, b: &Array2<f64>| {
        pool.install(|| einsum_into!(o, "ij,jk->ik", a, b))
    };
    let mut out = Array2::<f64>::zeros((n, n));
    ein_into(&mut out, &a, &b);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            ein_into(&mut out, black_box(&a), black_box(&b));
            black_box(&mut out);
        })
    });

    let ni = n as isize;
    let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let gemm2 = |c: &mut [f64]| {
        let pc = c.as_mut_ptr() as usize;
        pool.install(|| {
            // SAFETY: a, b and c are n×n, row-major and contiguous, and
            // outlive the call.
            unsafe {
                gemm_call(
                    n,
                    n,
                    n,
                    pa as *const f64,
                    ni,
                    pb as *const f64,
                    ni,
                    pc as *mut f64,
                    ni,
                    false,
                    gemm::Parallelism::Rayon(0),
                )
            }
        })
    };
    let mut c = vec![0.0f64; n * n];
    gemm2(&mut c);
    check(name, "gemm_rayon", c.iter().copied(), &want);
    g.bench_function("gemm_rayon", |bch| {
        bch.iter(|| {
            gemm2(black_box(&mut c));
            black_box(&mut c);
        })
    });

    // The single-thread kernels, split by hand into two halves of rows run
    // by `rayon::join` in the same pool: what the crate's own threading
    // should at least match.
    let halves = |c: &mut [f64], f: &(dyn Fn(usize, usize, &mut [f64]) + Sync)| {
        let h = n / 2;
        let (top, bottom) = c.split_at_mut(h * n);
        pool.install(|| rayon::join(|| f(0, h, top), || f(h, n - h, bottom)));
    };
    let gemm_rows = |row0: usize, rows: usize, c: &mut [f64]| {
        // SAFETY: rows row0..row0 + rows of a, all of b, and c (rows × n)
        // are row-major and contiguous.
        unsafe {
            gemm_call(
                rows,
                n,
                n,
                (pa as *const f64).add(row0 * n),
                ni,
                pb as *const f64,
                ni,
                c.as_mut_ptr(),
                ni,
                false,
                gemm::Parallelism::None,
            )
        }
    };
    let mm_rows = |row0: usize, rows: usize, c: &mut [f64]| {
        // SAFETY: as above.
        unsafe {
            f64::mm(
                rows,
                n,
                n,
                (pa as *const f64).add(row0 * n),
                ni,
                1,
                pb as *const f64,
                ni,
                1,
                0.0,
                c.as_mut_ptr(),
                ni,
                1,
            )
        }
    };
    for (id, f) in [
        (
            "gemm_split2",
            &gemm_rows as &(dyn Fn(usize, usize, &mut [f64]) + Sync),
        ),
        ("matrixmultiply_split2", &mm_rows),
    ] {
        bench_into(&mut g, name, id, &mut c, &want, |c| halves(black_box(c), f));
    }
    g.finish();
}

/// `ij,jk->ik` on 4×4: `einsum!` against a plain triple loop.
fn matmul_4x4(bench: &mut Bench) {
    let name = "matmul_4x4_f64";
    let Some(mut g) = bench.group(name, flops(2 * 64)) else {
        return;
    };
    let a: Array2<f64> = array((4, 4), 1);
    let b: Array2<f64> = array((4, 4), 2);
    let triple = |a: &Array2<f64>, b: &Array2<f64>, c: &mut Array2<f64>| {
        let (m, k) = a.dim();
        let n = b.ncols();
        let (a, b) = (a.as_slice().unwrap(), b.as_slice().unwrap());
        let c = c.as_slice_mut().unwrap();
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    s += a[i * k + p] * b[p * n + j];
                }
                c[i * n + j] = s;
            }
        }
    };
    let mut want = Array2::zeros((4, 4));
    triple(&a, &b, &mut want);
    let want = want.into_raw_vec_and_offset().0;

    check(name, "einsum", einsum!("ij,jk->ik", &a, &b), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("ij,jk->ik", black_box(&a), black_box(&b)))
    });
    // The same call with the sizes bound: constant loop bounds at the call site.
    check(
        name,
        "einsum_fixed",
        einsum!("ij,jk->ik", &a, &b; i = 4, j = 4, k = 4),
        &want,
    );
    g.bench_function("einsum_fixed", |bch| {
        bch.iter(|| einsum!("ij,jk->ik", black_box(&a), black_box(&b); i = 4, j = 4, k = 4))
    });
    let mut out = Array2::<f64>::zeros((4, 4));
    einsum_into!(&mut out, "ij,jk->ik", &a, &b);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "ij,jk->ik", black_box(&a), black_box(&b));
            black_box(&mut out);
        })
    });
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            let mut c = Array2::zeros((4, 4));
            triple(black_box(&a), black_box(&b), &mut c);
            c
        })
    });
    let mut c = Array2::zeros((4, 4));
    g.bench_function("hand_loop_into", |bch| {
        bch.iter(|| {
            triple(black_box(&a), black_box(&b), &mut c);
            black_box(&mut c);
        })
    });
    check(name, "ndarray_dot", a.dot(&b), &want);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| black_box(&a).dot(black_box(&b)))
    });
    g.finish();
}

/// `bij,bjk->bik` with b = 64, n = 64.
fn bmm(bench: &mut Bench) {
    let name = "bmm_64x64_f64";
    let (nb, n) = (64usize, 64usize);
    let Some(mut g) = bench.group(name, flops(2 * nb as u64 * (n as u64).pow(3))) else {
        return;
    };
    let a: Array3<f64> = array((nb, n, n), 1);
    let b: Array3<f64> = array((nb, n, n), 2);
    let (sa, sb) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    let mut want = vec![0.0; nb * n * n];
    for (t, w) in want.chunks_exact_mut(n * n).enumerate() {
        let r = t * n * n..(t + 1) * n * n;
        matmul_ikj(&sa[r.clone()], &sb[r], w, n, n, n);
    }

    check(name, "einsum", einsum!("bij,bjk->bik", &a, &b), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("bij,bjk->bik", black_box(&a), black_box(&b)))
    });
    let mut out = Array3::<f64>::zeros((nb, n, n));
    einsum_into!(&mut out, "bij,bjk->bik", &a, &b);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "bij,bjk->bik", black_box(&a), black_box(&b));
            black_box(&mut out);
        })
    });

    let mut out = Array3::<f64>::zeros((nb, n, n));
    let dot = |out: &mut Array3<f64>, a: &Array3<f64>, b: &Array3<f64>| {
        for t in 0..nb {
            general_mat_mul(
                1.0,
                &a.index_axis(Axis(0), t),
                &b.index_axis(Axis(0), t),
                0.0,
                &mut out.index_axis_mut(Axis(0), t),
            );
        }
    };
    dot(&mut out, &a, &b);
    check(name, "ndarray_dot", out.iter().copied(), &want);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| {
            dot(&mut out, black_box(&a), black_box(&b));
            black_box(&mut out);
        })
    });

    let ne = || ndarray_einsum::einsum("bij,bjk->bik", &[&a, &b]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));

    let de = || einsum_derive::einsum!("bij,bjk->bik", a.view(), b.view());
    check(name, "einsum_derive", de(), &want);
    g.bench_function("einsum_derive", |bch| bch.iter(&de));

    let mut c = vec![0.0; nb * n * n];
    let hand = |c: &mut [f64]| {
        for (t, w) in c.chunks_exact_mut(n * n).enumerate() {
            let r = t * n * n..(t + 1) * n * n;
            matmul_ikj(&sa[r.clone()], &sb[r], w, n, n, n);
        }
    };
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            hand(&mut c);
            black_box(&mut c);
        })
    });

    let ni = n as isize;
    for (id, par) in [
        ("gemm_1t", gemm::Parallelism::None),
        ("gemm_rayon", gemm::Parallelism::Rayon(0)),
    ] {
        let run = |c: &mut [f64]| {
            for (t, w) in c.chunks_exact_mut(n * n).enumerate() {
                // SAFETY: each batch of a, b and c is n×n, row-major, contiguous.
                unsafe {
                    gemm_call(
                        n,
                        n,
                        n,
                        sa[t * n * n..].as_ptr(),
                        ni,
                        sb[t * n * n..].as_ptr(),
                        ni,
                        w.as_mut_ptr(),
                        ni,
                        false,
                        par,
                    )
                };
            }
        };
        bench_into(&mut g, name, id, &mut c, &want, run);
    }
    let run = |c: &mut [f64]| {
        for (t, w) in c.chunks_exact_mut(n * n).enumerate() {
            // SAFETY: as above.
            unsafe {
                f64::mm(
                    n,
                    n,
                    n,
                    sa[t * n * n..].as_ptr(),
                    ni,
                    1,
                    sb[t * n * n..].as_ptr(),
                    ni,
                    1,
                    0.0,
                    w.as_mut_ptr(),
                    ni,
                    1,
                )
            };
        }
    };
    bench_into(&mut g, name, "matrixmultiply_1t", &mut c, &want, run);
    g.finish();
}

/// `abcd,dcef->abef` (`swapped`) or `abcd,cdef->abef`, every size 24.
fn tensor_contraction(bench: &mut Bench, swapped: bool) {
    const N: usize = 24;
    let name = if swapped {
        "tc_abcd_dcef_24"
    } else {
        "tc_abcd_cdef_24"
    };
    let Some(mut g) = bench.group(name, flops(2 * (N as u64).pow(6))) else {
        return;
    };
    let a: Array4<f64> = array((N, N, N, N), 1);
    let b: Array4<f64> = array((N, N, N, N), 2);
    let (sa, sb) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    let nn = N * N;

    // out[(a,b), (e,f)] += A[a,b,c,d] * B[d,c,(e,f)] (swapped) or B[c,d,(e,f)].
    let hand = |out: &mut [f64]| {
        if swapped {
            out.fill(0.0);
            for ab in 0..nn {
                let o = &mut out[ab * nn..(ab + 1) * nn];
                for c in 0..N {
                    for d in 0..N {
                        let x = sa[ab * nn + c * N + d];
                        let row = &sb[(d * N + c) * nn..(d * N + c + 1) * nn];
                        for (y, &z) in o.iter_mut().zip(row) {
                            *y += x * z;
                        }
                    }
                }
            }
        } else {
            matmul_ikj(sa, sb, out, nn, nn, nn);
        }
    };
    let mut want = vec![0.0; nn * nn];
    hand(&mut want);

    macro_rules! ein_rows {
        ($spec:literal) => {{
            check(name, "einsum", einsum!($spec, &a, &b), &want);
            g.bench_function("einsum", |bch| {
                bch.iter(|| einsum!($spec, black_box(&a), black_box(&b)))
            });
            let mut out = Array4::<f64>::zeros((N, N, N, N));
            einsum_into!(&mut out, $spec, &a, &b);
            check(name, "einsum_into", out.iter().copied(), &want);
            g.bench_function("einsum_into", |bch| {
                bch.iter(|| {
                    einsum_into!(&mut out, $spec, black_box(&a), black_box(&b));
                    black_box(&mut out);
                })
            });
            let ne = || ndarray_einsum::einsum($spec, &[&a, &b]).unwrap();
            check(name, "ndarray_einsum", ne(), &want);
            g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
            let de = || einsum_derive::einsum!($spec, a.view(), b.view());
            check(name, "einsum_derive", de(), &want);
            g.bench_function("einsum_derive", |bch| bch.iter(&de));
        }};
    }
    if swapped {
        ein_rows!("abcd,dcef->abef");
    } else {
        ein_rows!("abcd,cdef->abef");
    }

    // ndarray: reshape to matrices and `.dot()`; `dcef` must first be copied
    // into `cdef` order (what numpy's tensordot does too).
    let dot = || {
        let am = a.view().into_shape_with_order((nn, nn)).unwrap();
        if swapped {
            let bc = b
                .view()
                .permuted_axes([1, 0, 2, 3])
                .as_standard_layout()
                .into_owned();
            am.dot(&bc.into_shape_with_order((nn, nn)).unwrap())
        } else {
            am.dot(&b.view().into_shape_with_order((nn, nn)).unwrap())
        }
    };
    check(name, "ndarray_dot", dot(), &want);
    g.bench_function("ndarray_dot", |bch| bch.iter(&dot));

    let mut c = vec![0.0; nn * nn];
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            hand(&mut c);
            black_box(&mut c);
        })
    });

    // The GEMM crates read the operands in place: one call for `cdef`; for
    // `dcef`, one call per c with k = d (A's rows (a,b) have stride 24², B's
    // rows d stride 24³), accumulating.
    let (nni, n3) = (nn as isize, (N * nn) as isize);
    for (id, par) in [
        ("gemm_1t", gemm::Parallelism::None),
        ("gemm_rayon", gemm::Parallelism::Rayon(0)),
    ] {
        let run = |c: &mut [f64]| {
            // SAFETY: the offsets and strides stay inside the 24⁴ arrays.
            unsafe {
                if swapped {
                    for k in 0..N {
                        gemm_call(
                            nn,
                            N,
                            nn,
                            sa.as_ptr().add(k * N),
                            nni,
                            sb.as_ptr().add(k * nn),
                            n3,
                            c.as_mut_ptr(),
                            nni,
                            k > 0,
                            par,
                        );
                    }
                } else {
                    gemm_call(
                        nn,
                        nn,
                        nn,
                        sa.as_ptr(),
                        nni,
                        sb.as_ptr(),
                        nni,
                        c.as_mut_ptr(),
                        nni,
                        false,
                        par,
                    );
                }
            }
        };
        bench_into(&mut g, name, id, &mut c, &want, run);
    }
    let run = |c: &mut [f64]| {
        // SAFETY: as above.
        unsafe {
            if swapped {
                for k in 0..N {
                    let beta = if k > 0 { 1.0 } else { 0.0 };
                    f64::mm(
                        nn,
                        N,
                        nn,
                        sa.as_ptr().add(k * N),
                        nni,
                        1,
                        sb.as_ptr().add(k * nn),
                        n3,
                        1,
                        beta,
                        c.as_mut_ptr(),
                        nni,
                        1,
                    );
                }
            } else {
                f64::mm(
                    nn,
                    nn,
                    nn,
                    sa.as_ptr(),
                    nni,
                    1,
                    sb.as_ptr(),
                    nni,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    nni,
                    1,
                );
            }
        }
    };
    bench_into(&mut g, name, "matrixmultiply_1t", &mut c, &want, run);
    if swapped {
        // `dcef` permuted into `cdef` order (copy timed), then one call
        // over the current rayon pool, as `gemm_rayon`.
        let permuted = |c: &mut [f64]| {
            let bc = b.view().permuted_axes([1, 0, 2, 3]);
            let bc = bc.as_standard_layout();
            // SAFETY: a and bc are nn×nn row-major, c likewise.
            unsafe {
                gemm_call(
                    nn,
                    nn,
                    nn,
                    sa.as_ptr(),
                    nni,
                    bc.as_ptr(),
                    nni,
                    c.as_mut_ptr(),
                    nni,
                    false,
                    gemm::Parallelism::Rayon(0),
                )
            }
        };
        bench_into(&mut g, name, "gemm_permuted", &mut c, &want, permuted);
    }
    g.finish();
}

/// `"nd,dc->nc"` at n = 14400, d = 16, c = 8: a tall matrix times a small
/// one, K and N both under the sizes a GEMM kernel is tuned for.
fn tall_skinny(bench: &mut Bench) {
    let name = "nd_dc_14400";
    let (n, d, c) = (14400usize, 16usize, 8usize);
    let Some(mut g) = bench.group(name, flops(2 * (n * d * c) as u64)) else {
        return;
    };
    let a: Array2<f64> = array((n, d), 1);
    let b: Array2<f64> = array((d, c), 2);
    let mut want = vec![0.0; n * c];
    matmul_ikj(
        a.as_slice().unwrap(),
        b.as_slice().unwrap(),
        &mut want,
        n,
        d,
        c,
    );
    check(name, "einsum", einsum!("nd,dc->nc", &a, &b), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("nd,dc->nc", black_box(&a), black_box(&b)))
    });
    let mut out = Array2::<f64>::zeros((n, c));
    einsum_into!(&mut out, "nd,dc->nc", &a, &b);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "nd,dc->nc", black_box(&a), black_box(&b));
            black_box(&mut out);
        })
    });
    check(name, "ndarray_dot", a.dot(&b), &want);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| black_box(&a).dot(black_box(&b)))
    });
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut o = vec![0.0; n * c];
    bench_into(&mut g, name, "gemm_1t", &mut o, &want, |o| {
        // SAFETY: a is n×d, b d×c and o n×c, all row-major and contiguous.
        unsafe {
            gemm_call(
                n,
                d,
                c,
                black_box(pa),
                d as isize,
                black_box(pb),
                c as isize,
                o.as_mut_ptr(),
                c as isize,
                false,
                gemm::Parallelism::None,
            )
        }
    });
    let (sa, sb) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            matmul_ikj(black_box(sa), black_box(sb), &mut o, n, d, c);
            black_box(&mut o);
        })
    });
    g.finish();
}

/// A dense layer `"bi,oi->bo"`: inputs (64, 784), weights (128, 784) as a
/// network stores them, so the product reads the weights transposed.
fn dense(bench: &mut Bench) {
    let name = "dense_64_784_128";
    let (nb, ni, no) = (64usize, 784usize, 128usize);
    let Some(mut g) = bench.group(name, flops(2 * (nb * ni * no) as u64)) else {
        return;
    };
    let x: Array2<f64> = array((nb, ni), 1);
    let w: Array2<f64> = array((no, ni), 2);
    let wt = w.t().as_standard_layout().into_owned();
    let mut want = vec![0.0; nb * no];
    matmul_ikj(
        x.as_slice().unwrap(),
        wt.as_slice().unwrap(),
        &mut want,
        nb,
        ni,
        no,
    );
    check(name, "einsum", einsum!("bi,oi->bo", &x, &w), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("bi,oi->bo", black_box(&x), black_box(&w)))
    });
    let mut out = Array2::<f64>::zeros((nb, no));
    einsum_into!(&mut out, "bi,oi->bo", &x, &w);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "bi,oi->bo", black_box(&x), black_box(&w));
            black_box(&mut out);
        })
    });
    check(name, "ndarray_dot", x.dot(&w.t()), &want);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| black_box(&x).dot(&black_box(&w).t()))
    });
    let (px, pw, pwt) = (x.as_ptr(), w.as_ptr(), wt.as_ptr());
    let mut o = vec![0.0; nb * no];
    // `gemm` on the weights in place (column stride 784), and on weights
    // stored transposed beforehand (not timed): what a user could do.
    for (id, pb, rsb, csb) in [
        ("gemm_1t", pw, 1isize, ni as isize),
        ("gemm_pretransposed", pwt, no as isize, 1),
    ] {
        bench_into(&mut g, name, id, &mut o, &want, |o| {
            // SAFETY: x is nb×ni row-major; (pb, rsb, csb) is ni×no inside
            // w or wt; o is nb×no row-major.
            unsafe {
                gemm_at(
                    [nb, no, ni],
                    (o.as_mut_ptr(), no as isize, 1),
                    (black_box(px), ni as isize, 1),
                    (black_box(pb), rsb, csb),
                    false,
                    gemm::Parallelism::None,
                )
            }
        });
    }
    let (sx, swt) = (x.as_slice().unwrap(), wt.as_slice().unwrap());
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            matmul_ikj(black_box(sx), black_box(swt), &mut o, nb, ni, no);
            black_box(&mut o);
        })
    });
    g.finish();
}

/// A convolution's input gradient as a convolution of the padded output
/// gradient with the flipped filter, `"bxyijd,ijcd->bxyc"` over
/// `windows_nhwc(dy, (3, 3), (1, 1))`: dy (8, 30, 30, 16), f (3, 3, 8, 16),
/// so K = 3·3·16 = 144 and 8 output channels.
fn conv_input_gradient(bench: &mut Bench) {
    let name = "conv_dx_c8";
    let (b, h, k, c, d) = (8usize, 30usize, 3usize, 8usize, 16usize);
    let o = h - k + 1;
    let Some(mut g) = bench.group(name, flops(2 * (b * o * o * c * k * k * d) as u64)) else {
        return;
    };
    let dy: Array4<f64> = array((b, h, h, d), 1);
    let f: Array4<f64> = array((k, k, c, d), 2);
    let w = einsum::windows::windows_nhwc(&dy, (k, k), (1, 1)).unwrap();
    let (sy, sf) = (dy.as_slice().unwrap(), f.as_slice().unwrap());
    let hand = |out: &mut [f64]| {
        for n in 0..b {
            for p in 0..o {
                for q in 0..o {
                    let row = &mut out[((n * o + p) * o + q) * c..][..c];
                    for (ch, r) in row.iter_mut().enumerate() {
                        let mut acc = 0.0;
                        for i in 0..k {
                            for j in 0..k {
                                let yv = &sy[((n * h + p + i) * h + q + j) * d..][..d];
                                let fv = &sf[((i * k + j) * c + ch) * d..][..d];
                                acc += yv.iter().zip(fv).map(|(a, b)| a * b).sum::<f64>();
                            }
                        }
                        *r = acc;
                    }
                }
            }
        }
    };
    let mut want = vec![0.0; b * o * o * c];
    hand(&mut want);
    check(name, "einsum", einsum!("bxyijd,ijcd->bxyc", &w, &f), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("bxyijd,ijcd->bxyc", black_box(&w), black_box(&f)))
    });
    let mut out = Array4::<f64>::zeros((b, o, o, c));
    einsum_into!(&mut out, "bxyijd,ijcd->bxyc", &w, &f);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "bxyijd,ijcd->bxyc", black_box(&w), black_box(&f));
            black_box(&mut out);
        })
    });
    // `gemm` on the windows in place: per (b, x, i, j), C[y, c] +=
    // A[y, d] · F[i, j][d, c], a 28×16 by 16×8 product (b · 28 · 9 calls).
    let strided = |out: &mut [f64]| {
        let (py, pf, po) = (dy.as_ptr(), f.as_ptr(), out.as_mut_ptr());
        for n in 0..b {
            for p in 0..o {
                for i in 0..k {
                    for j in 0..k {
                        // SAFETY: every index stays inside dy (rows p + i <
                        // h, columns y + j < h), f and out, which is distinct.
                        unsafe {
                            gemm_at(
                                [o, c, d],
                                (po.add((n * o + p) * o * c), c as isize, 1),
                                (py.add(((n * h + p + i) * h + j) * d), d as isize, 1),
                                (pf.add((i * k + j) * c * d), 1, d as isize),
                                i + j > 0,
                                gemm::Parallelism::None,
                            )
                        }
                    }
                }
            }
        }
    };
    let mut o2 = vec![0.0; b * o * o * c];
    bench_into(&mut g, name, "gemm_strided", &mut o2, &want, strided);
    // The windows and the filter copied into a (b·x·y, i·j·d) and an
    // (i·j·d, c) matrix, then one `gemm` call: copies inside the timing.
    let im2col = |out: &mut [f64]| {
        let wc = w.as_standard_layout();
        let fc = f.view().permuted_axes([0, 1, 3, 2]);
        let fc = fc.as_standard_layout();
        let kk = k * k * d;
        // SAFETY: wc is (b·o·o)×kk, fc kk×c, out (b·o·o)×c, all row-major.
        unsafe {
            gemm_call(
                b * o * o,
                kk,
                c,
                wc.as_ptr(),
                kk as isize,
                fc.as_ptr(),
                c as isize,
                out.as_mut_ptr(),
                c as isize,
                false,
                gemm::Parallelism::None,
            )
        }
    };
    bench_into(&mut g, name, "gemm_copy", &mut o2, &want, im2col);
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            hand(&mut o2);
            black_box(&mut o2);
        })
    });
    g.finish();
}

/// `ii->` and `ii->i` at n = 2000.
fn diagonal(bench: &mut Bench) {
    let n = 2000usize;
    // One input for both groups, built only if one of them runs.
    let mut input: Option<Array2<f64>> = None;

    if let Some(mut g) = bench.group("trace_2000", bytes(8 * n as u64)) {
        let name = "trace_2000";
        let a = &*input.get_or_insert_with(|| array((n, n), 1));
        // The size read from the array, as in the matmul's triple loop: a
        // loop written for any matrix, not for this one size.
        let hand = |a: &Array2<f64>| {
            let (n, s) = (a.nrows(), a.as_slice().unwrap());
            (0..n).map(|i| s[i * (n + 1)]).sum::<f64>()
        };
        let want = [hand(a)];
        let t: f64 = einsum!("ii->", a);
        check(name, "einsum", [t], &want);
        g.bench_function("einsum", |bch| {
            bch.iter(|| -> f64 { einsum!("ii->", black_box(a)) })
        });
        check(name, "ndarray", [a.diag().sum()], &want);
        g.bench_function("ndarray", |bch| bch.iter(|| black_box(a).diag().sum()));
        let ne = || ndarray_einsum::einsum("ii->", &[a]).unwrap();
        check(name, "ndarray_einsum", ne(), &want);
        g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
        let de = || einsum_derive::einsum!("ii->", a.view());
        check(name, "einsum_derive", de(), &want);
        g.bench_function("einsum_derive", |bch| bch.iter(&de));
        g.bench_function("hand_loop", |bch| bch.iter(|| hand(black_box(a))));
        copy_row(&mut g, 8 * n as u64);
        g.finish();
    }

    if let Some(mut g) = bench.group("diag_2000", bytes(16 * n as u64)) {
        let name = "diag_2000";
        let a = &*input.get_or_insert_with(|| array((n, n), 1));
        let hand = |a: &Array2<f64>, o: &mut [f64]| {
            let (n, s) = (a.nrows(), a.as_slice().unwrap());
            for (i, x) in o.iter_mut().enumerate() {
                *x = s[i * (n + 1)];
            }
        };
        let mut want = vec![0.0; n];
        hand(a, &mut want);
        check(name, "einsum", einsum!("ii->i", a), &want);
        g.bench_function("einsum", |bch| bch.iter(|| einsum!("ii->i", black_box(a))));
        let mut out = Array1::<f64>::zeros(n);
        einsum_into!(&mut out, "ii->i", a);
        check(name, "einsum_into", out.iter().copied(), &want);
        g.bench_function("einsum_into", |bch| {
            bch.iter(|| {
                einsum_into!(&mut out, "ii->i", black_box(a));
                black_box(&mut out);
            })
        });
        check(name, "ndarray", a.diag().to_owned(), &want);
        g.bench_function("ndarray", |bch| bch.iter(|| black_box(a).diag().to_owned()));
        let ne = || ndarray_einsum::einsum("ii->i", &[a]).unwrap();
        check(name, "ndarray_einsum", ne(), &want);
        g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
        let de = || einsum_derive::einsum!("ii->i", a.view());
        check(name, "einsum_derive", de(), &want);
        g.bench_function("einsum_derive", |bch| bch.iter(&de));
        let mut o = vec![0.0; n];
        g.bench_function("hand_loop", |bch| {
            bch.iter(|| {
                hand(black_box(a), &mut o);
                black_box(&mut o);
            })
        });
        copy_row(&mut g, 16 * n as u64);
        g.finish();
    }
}

/// `ijk->k` at 200³.
fn sum_ijk_k(bench: &mut Bench) {
    let name = "sum_ijk_k_200";
    let n = 200usize;
    let traffic = 8 * (n.pow(3) + n) as u64;
    let Some(mut g) = bench.group(name, bytes(traffic)) else {
        return;
    };
    let a: Array3<f64> = array((n, n, n), 1);
    let s = a.as_slice().unwrap();
    let hand = |o: &mut [f64]| {
        o.fill(0.0);
        for row in s.chunks_exact(n) {
            for (x, &y) in o.iter_mut().zip(row) {
                *x += y;
            }
        }
    };
    let mut want = vec![0.0; n];
    hand(&mut want);
    check(name, "einsum", einsum!("ijk->k", &a), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("ijk->k", black_box(&a)))
    });
    let mut out = Array1::<f64>::zeros(n);
    einsum_into!(&mut out, "ijk->k", &a);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "ijk->k", black_box(&a));
            black_box(&mut out);
        })
    });
    let nd = |a: &Array3<f64>| a.to_shape((n * n, n)).unwrap().sum_axis(Axis(0));
    check(name, "ndarray", nd(&a), &want);
    g.bench_function("ndarray", |bch| bch.iter(|| nd(black_box(&a))));
    let ne = || ndarray_einsum::einsum("ijk->k", &[&a]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
    // einsum_derive: its 0.1 release does not compile `ijk->k` (the generated
    // loop uses the summed labels i and j without binding them).
    let mut o = vec![0.0; n];
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            hand(&mut o);
            black_box(&mut o);
        })
    });
    copy_row(&mut g, traffic);
    g.finish();
}

/// `i,j->ij` at 2000.
fn outer(bench: &mut Bench) {
    let name = "outer_2000";
    let n = 2000usize;
    let traffic = 8 * (n * n + 2 * n) as u64;
    let Some(mut g) = bench.group(name, bytes(traffic)) else {
        return;
    };
    let x: Array1<f64> = array(n, 1);
    let y: Array1<f64> = array(n, 2);
    let (sx, sy) = (x.as_slice().unwrap(), y.as_slice().unwrap());
    let hand = |o: &mut [f64]| {
        for (row, &xi) in o.chunks_exact_mut(n).zip(sx) {
            for (z, &yj) in row.iter_mut().zip(sy) {
                *z = xi * yj;
            }
        }
    };
    let mut want = vec![0.0; n * n];
    hand(&mut want);
    check(name, "einsum", einsum!("i,j->ij", &x, &y), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("i,j->ij", black_box(&x), black_box(&y)))
    });
    let mut out = Array2::<f64>::zeros((n, n));
    einsum_into!(&mut out, "i,j->ij", &x, &y);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "i,j->ij", black_box(&x), black_box(&y));
            black_box(&mut out);
        })
    });
    let nd = |x: &Array1<f64>, y: &Array1<f64>| {
        &x.view().insert_axis(Axis(1)) * &y.view().insert_axis(Axis(0))
    };
    check(name, "ndarray", nd(&x, &y), &want);
    g.bench_function("ndarray", |bch| {
        bch.iter(|| nd(black_box(&x), black_box(&y)))
    });
    let ne = || ndarray_einsum::einsum("i,j->ij", &[&x, &y]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
    let de = || einsum_derive::einsum!("i,j->ij", x.view(), y.view());
    check(name, "einsum_derive", de(), &want);
    g.bench_function("einsum_derive", |bch| bch.iter(&de));
    let mut o = vec![0.0; n * n];
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            hand(&mut o);
            black_box(&mut o);
        })
    });
    copy_row(&mut g, traffic);
    g.finish();
}

/// `i,i->` at 10⁷.
fn dot(bench: &mut Bench) {
    let name = "dot_1e7";
    let n = 10_000_000usize;
    let traffic = 16 * n as u64;
    let Some(mut g) = bench.group(name, bytes(traffic)) else {
        return;
    };
    let x: Array1<f64> = array(n, 1);
    let y: Array1<f64> = array(n, 2);
    let (sx, sy) = (x.as_slice().unwrap(), y.as_slice().unwrap());
    let want = [dot_loop(sx, sy)];
    let t: f64 = einsum!("i,i->", &x, &y);
    check(name, "einsum", [t], &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| -> f64 { einsum!("i,i->", black_box(&x), black_box(&y)) })
    });
    check(name, "ndarray_dot", [x.dot(&y)], &want);
    g.bench_function("ndarray_dot", |bch| {
        bch.iter(|| black_box(&x).dot(black_box(&y)))
    });
    let ne = || ndarray_einsum::einsum("i,i->", &[&x, &y]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
    let de = || -> Array0<f64> { einsum_derive::einsum!("i,i->", x.view(), y.view()) };
    check(name, "einsum_derive", de(), &want);
    g.bench_function("einsum_derive", |bch| bch.iter(&de));
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| dot_loop(black_box(sx), black_box(sy)))
    });
    copy_row(&mut g, traffic);
    g.finish();
}

/// `ij->ji` at 4000.
fn transpose(bench: &mut Bench) {
    let name = "transpose_4000";
    let n = 4000usize;
    let traffic = 16 * (n * n) as u64;
    let Some(mut g) = bench.group(name, bytes(traffic)) else {
        return;
    };
    let a: Array2<f64> = array((n, n), 1);
    let s = a.as_slice().unwrap();
    let mut want = vec![0.0; n * n];
    transpose_tiled(s, &mut want, n);
    check(name, "einsum", einsum!("ij->ji", &a), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("ij->ji", black_box(&a)))
    });
    let mut out = Array2::<f64>::zeros((n, n));
    einsum_into!(&mut out, "ij->ji", &a);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "ij->ji", black_box(&a));
            black_box(&mut out);
        })
    });
    drop(out);
    let nd = |a: &Array2<f64>| a.t().as_standard_layout().into_owned();
    check(name, "ndarray", nd(&a), &want);
    g.bench_function("ndarray", |bch| bch.iter(|| nd(black_box(&a))));
    let ne = || {
        ndarray_einsum::einsum("ij->ji", &[&a])
            .unwrap()
            .as_standard_layout()
            .into_owned()
    };
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
    let de = || einsum_derive::einsum!("ij->ji", a.view());
    check(name, "einsum_derive", de(), &want);
    g.bench_function("einsum_derive", |bch| bch.iter(&de));
    let mut o = vec![0.0; n * n];
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            transpose_tiled(black_box(s), &mut o, n);
            black_box(&mut o);
        })
    });
    drop(o);
    copy_row(&mut g, traffic);
    g.finish();
}

/// Independent multiply-add chains of `machine_peak`: more than the FMA
/// units' latency times their count, so that none waits for another.
const CHAINS: usize = 12;

/// Multiply-add steps per chain of one `machine_peak` call.
const STEPS: usize = 1 << 16;

/// Defines `$name(m, a)`: `CHAINS` vector accumulators, each `STEPS` times
/// `acc ← acc·m + a` with one fused multiply-add instruction; returns the
/// first lane of their sum, so nothing is optimized away.
macro_rules! fma_chains {
    ($name:ident, $feature:literal, $t:ty, $v:ty, $set1:ident, $fmadd:ident, $add:ident, $first:ident) => {
        /// # Safety
        /// The CPU has the instructions of the target features.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name(m: $t, a: $t) -> $t {
            use core::arch::x86_64::*;
            let (vm, va) = ($set1(m), $set1(a));
            let mut acc: [$v; CHAINS] = [va; CHAINS];
            for _ in 0..STEPS {
                for x in acc.iter_mut() {
                    *x = $fmadd(*x, vm, va);
                }
            }
            $first(acc.iter().fold(va, |s, &x| $add(s, x)))
        }
    };
}

fma_chains!(
    fma512_f64,
    "avx512f,fma",
    f64,
    __m512d,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_add_pd,
    _mm512_cvtsd_f64
);
fma_chains!(
    fma512_f32,
    "avx512f,fma",
    f32,
    __m512,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps,
    _mm512_cvtss_f32
);
fma_chains!(
    fma256_f64,
    "avx2,fma",
    f64,
    __m256d,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_add_pd,
    _mm256_cvtsd_f64
);
fma_chains!(
    fma256_f32,
    "avx2,fma",
    f32,
    __m256,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_cvtss_f32
);

/// One core's multiply-add peak: `fma_f64` and `fma_f32` run independent
/// chains of fused multiply-adds in the widest vectors the CPU has (AVX-512
/// or AVX2); their rates (elements = FLOP, two per lane and multiply-add)
/// are the peak the compute-bound rows are quoted against. Without either,
/// the group is skipped.
fn machine_peak(bench: &mut Bench) {
    #[cfg(target_arch = "x86_64")]
    {
        let wide = is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma");
        let narrow = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        if !(wide || narrow) {
            return;
        }
        let lanes64 = if wide { 8 } else { 4 };
        let flop = |lanes: usize| flops(2 * (STEPS * CHAINS * lanes) as u64);
        let Some(mut g) = bench.group("machine_peak", flop(lanes64)) else {
            return;
        };
        let (m, a) = (0.999, 1e-3);
        g.bench_function("fma_f64", |b| {
            // SAFETY (both): the features were detected above.
            b.iter(|| unsafe {
                if wide {
                    fma512_f64(black_box(m), black_box(a))
                } else {
                    fma256_f64(black_box(m), black_box(a))
                }
            })
        });
        g.throughput(flop(2 * lanes64));
        g.bench_function("fma_f32", |b| {
            // SAFETY (both): the features were detected above.
            b.iter(|| unsafe {
                if wide {
                    fma512_f32(black_box(m as f32), black_box(a as f32))
                } else {
                    fma256_f32(black_box(m as f32), black_box(a as f32))
                }
            })
        });
        g.finish();
    }
}

/// `abc->cab` at (250, 256, 250) and `abcd->dcab` at (60, 70, 60, 66),
/// 128 MB of f64 each: permutations whose output's contiguous axis steps
/// far apart in the input.
fn permutations(bench: &mut Bench) {
    let (a0, b0, c0) = (250usize, 256usize, 250usize);
    let x: Array3<f64> = array((a0, b0, c0), 3);
    let s = x.as_slice().unwrap();
    let hand = || {
        let mut o = Vec::with_capacity(s.len());
        for c in 0..c0 {
            for a in 0..a0 {
                o.extend((0..b0).map(|b| s[(a * b0 + b) * c0 + c]));
            }
        }
        o
    };
    permutation_group(
        bench,
        "permute_abc_cab",
        &x,
        (c0, a0, b0),
        hand,
        |x| einsum!("abc->cab", x),
        |out, x| einsum_into!(out, "abc->cab", x),
        |x| {
            x.view()
                .permuted_axes([2, 0, 1])
                .as_standard_layout()
                .into_owned()
        },
    );
    let (a0, b0, c0, d0) = (60usize, 70usize, 60usize, 66usize);
    let x: Array4<f64> = array((a0, b0, c0, d0), 4);
    let s = x.as_slice().unwrap();
    let hand = || {
        let mut o = Vec::with_capacity(s.len());
        for d in 0..d0 {
            for c in 0..c0 {
                for a in 0..a0 {
                    o.extend((0..b0).map(|b| s[((a * b0 + b) * c0 + c) * d0 + d]));
                }
            }
        }
        o
    };
    permutation_group(
        bench,
        "permute_abcd_dcab",
        &x,
        (d0, c0, a0, b0),
        hand,
        |x| einsum!("abcd->dcab", x),
        |out, x| einsum_into!(out, "abcd->dcab", x),
        |x| {
            x.view()
                .permuted_axes([3, 2, 0, 1])
                .as_standard_layout()
                .into_owned()
        },
    );
}

/// One permutation's group: the plain loop in the output's order (the
/// reference), `einsum!`, `einsum_into!`, ndarray's permuted view made
/// standard, and the copy row.
#[allow(clippy::too_many_arguments)]
fn permutation_group<D: Dimension, Sh: ndarray::ShapeBuilder<Dim = D>>(
    bench: &mut Bench,
    name: &str,
    x: &Array<f64, D>,
    out_shape: Sh,
    hand: impl Fn() -> Vec<f64>,
    new: impl Fn(&Array<f64, D>) -> Array<f64, D>,
    mut into: impl FnMut(&mut Array<f64, D>, &Array<f64, D>),
    nd: impl Fn(&Array<f64, D>) -> Array<f64, D>,
) {
    let traffic = 16 * x.len() as u64;
    let Some(mut g) = bench.group(name, bytes(traffic)) else {
        return;
    };
    let want = hand();
    check(name, "hand_loop", hand(), &want);
    g.bench_function("hand_loop", |bch| bch.iter(|| black_box(hand())));
    check(name, "einsum", new(x), &want);
    g.bench_function("einsum", |bch| bch.iter(|| new(black_box(x))));
    let mut out = Array::<f64, D>::zeros(out_shape);
    into(&mut out, x);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            into(&mut out, black_box(x));
            black_box(&mut out);
        })
    });
    drop(out);
    check(name, "ndarray", nd(x), &want);
    g.bench_function("ndarray", |bch| bch.iter(|| nd(black_box(x))));
    copy_row(&mut g, traffic);
    g.finish();
}

/// The convolution `"bxyijc,ijcd->bxyd"` over `windows_nhwc(x, (4, 4),
/// (2, 2))`: x (b, 221, 221, 3), f (4, 4, 3, 5), f64.
fn convolution(bench: &mut Bench, b: usize) {
    let name = format!("conv_b{b}");
    let (h, c, d, k, st) = (221usize, 3usize, 5usize, 4usize, 2usize);
    let o = (h - k) / st + 1;
    let work = 2 * (b * o * o * d * k * k * c) as u64;
    let Some(mut g) = bench.group(&name, flops(work)) else {
        return;
    };
    let name = name.as_str();
    let x: Array4<f64> = array((b, h, h, c), 1);
    let f: Array4<f64> = array((k, k, c, d), 2);
    let w = einsum::windows::windows_nhwc(&x, (k, k), (st, st)).unwrap();
    // The plain loop, the reference.
    let hand = |out: &mut [f64]| {
        let (xs, fs) = (x.as_slice().unwrap(), f.as_slice().unwrap());
        for n in 0..b {
            for p in 0..o {
                for q in 0..o {
                    let row = &mut out[((n * o + p) * o + q) * d..][..d];
                    row.fill(0.0);
                    for i in 0..k {
                        for j in 0..k {
                            for ch in 0..c {
                                let xv = xs[((n * h + p * st + i) * h + q * st + j) * c + ch];
                                let fr = &fs[((i * k + j) * c + ch) * d..][..d];
                                for (r, &fv) in row.iter_mut().zip(fr) {
                                    *r += xv * fv;
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut want = vec![0.0; b * o * o * d];
    hand(&mut want);
    check(name, "einsum", einsum!("bxyijc,ijcd->bxyd", &w, &f), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("bxyijc,ijcd->bxyd", black_box(&w), black_box(&f)))
    });
    let mut out = Array4::<f64>::zeros((b, o, o, d));
    einsum_into!(&mut out, "bxyijc,ijcd->bxyd", &w, &f);
    check(name, "einsum_into", out.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "bxyijc,ijcd->bxyd", black_box(&w), black_box(&f));
            black_box(&mut out);
        })
    });
    // The best hand-written call of a GEMM kernel on the windows in place:
    // per (b, x, i), C[y, d] += A[y, (j, c)] · F[i][(j, c), d], a 109×12 by
    // 12×5 product with A's rows 6 apart (b · 109 · 4 calls).
    let strided = |out: &mut [f64]| {
        let (px, pf, po) = (x.as_ptr(), f.as_ptr(), out.as_mut_ptr());
        for n in 0..b {
            for p in 0..o {
                for i in 0..k {
                    // SAFETY: every index stays inside x (rows p·2 + i < h,
                    // columns y·2 + j < h), f and out, which is distinct.
                    unsafe {
                        gemm_at(
                            [o, d, k * c],
                            (po.add((n * o + p) * o * d), d as isize, 1),
                            (px.add(((n * h + p * st + i) * h) * c), (st * c) as isize, 1),
                            (pf.add(i * k * c * d), d as isize, 1),
                            i > 0,
                            gemm::Parallelism::None,
                        )
                    }
                }
            }
        }
    };
    let mut o2 = vec![0.0; b * o * o * d];
    bench_into(&mut g, name, "gemm_strided", &mut o2, &want, strided);
    // The runtime einsum crates read contiguous arrays: a copy of the
    // windows (timed on its own), then the einsum over it.
    let copy = || w.as_standard_layout().into_owned();
    g.bench_function("copy_windows", |bch| bch.iter(copy));
    let wc = copy();
    let ne = || ndarray_einsum::einsum("bxyijc,ijcd->bxyd", &[&wc, &f]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(&ne));
    let de = || einsum_derive::einsum!("bxyijc,ijcd->bxyd", wc.view(), f.view());
    check(name, "einsum_derive", de(), &want);
    g.bench_function("einsum_derive", |bch| bch.iter(&de));
    g.bench_function("hand_loop", |bch| {
        bch.iter(|| {
            hand(&mut want);
            black_box(&mut want);
        })
    });
    g.finish();
}

/// A 3×3 filter over a 1024² image, `"xyij,ij->xy"` over `windows2`, with
/// and without the window's sizes bound, against nine whole-image
/// `scaled_add`s in ndarray.
fn sobel(bench: &mut Bench) {
    let name = "sobel_1024";
    let n = 1024usize;
    let m = n - 2;
    let traffic = 8 * (n * n + m * m) as u64;
    let Some(mut g) = bench.group(name, bytes(traffic)) else {
        return;
    };
    let img: Array2<f64> = array((n, n), 1);
    let k = ndarray::array![[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]];
    let w = einsum::windows::windows2(&img, (3, 3), (1, 1)).unwrap();
    let nine = |img: &Array2<f64>| {
        let mut out = Array2::<f64>::zeros((m, m));
        for i in 0..3 {
            for j in 0..3 {
                out.scaled_add(k[[i, j]], &img.slice(ndarray::s![i..i + m, j..j + m]));
            }
        }
        out
    };
    let want = nine(&img).into_raw_vec_and_offset().0;
    check(name, "einsum", einsum!("xyij,ij->xy", &w, &k), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("xyij,ij->xy", black_box(&w), black_box(&k)))
    });
    check(
        name,
        "einsum_fixed",
        einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3),
        &want,
    );
    g.bench_function("einsum_fixed", |bch| {
        bch.iter(|| einsum!("xyij,ij->xy", black_box(&w), black_box(&k); i = 3, j = 3))
    });
    // The same into an array made once: the kernel without the new array's
    // page faults, as the copy row writes into one made once.
    let mut out = Array2::<f64>::zeros((m, m));
    einsum_into!(&mut out, "xyij,ij->xy", &w, &k; i = 3, j = 3);
    check(name, "einsum_into_fixed", out.iter().copied(), &want);
    g.bench_function("einsum_into_fixed", |bch| {
        bch.iter(|| {
            einsum_into!(&mut out, "xyij,ij->xy", black_box(&w), black_box(&k); i = 3, j = 3);
            black_box(&mut out);
        })
    });
    check(name, "ndarray_scaled_add", nine(&img), &want);
    g.bench_function("ndarray_scaled_add", |bch| {
        bch.iter(|| nine(black_box(&img)))
    });
    copy_row(&mut g, traffic);
    g.finish();
}

/// `ij,jk,kl->il`: skinny (1000×10, 10×1000, 1000×10), where the order
/// decides between 4·10⁵ and 10⁸ multiply-adds, or square at n = 256.
/// Against the same products in the right order: two `einsum!` calls, two
/// `.dot()`s, two `gemm` calls into preallocated arrays.
fn chain(bench: &mut Bench, name: &str, (m, k): (usize, usize)) {
    // a: m×k, b: k×m, c: m×k; b·c first (k×k), then a·(b·c).
    let work = 2 * (k * m * k + m * k * k) as u64;
    let Some(mut g) = bench.group(name, flops(work)) else {
        return;
    };
    let a: Array2<f64> = array((m, k), 1);
    let b: Array2<f64> = array((k, m), 2);
    let c: Array2<f64> = array((m, k), 3);
    let want: Vec<f64> = {
        let bc = b.dot(&c);
        a.dot(&bc).into_raw_vec_and_offset().0
    };
    check(name, "einsum", einsum!("ij,jk,kl->il", &a, &b, &c), &want);
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("ij,jk,kl->il", black_box(&a), black_box(&b), black_box(&c)))
    });
    let mut out = Array2::<f64>::zeros((m, k));
    bench_into(
        &mut g,
        name,
        "einsum_into",
        out.as_slice_mut().unwrap(),
        &want,
        |o| {
            let mut o = ndarray::ArrayViewMut2::from_shape((m, k), o).unwrap();
            einsum_into!(
                &mut o,
                "ij,jk,kl->il",
                black_box(&a),
                black_box(&b),
                black_box(&c)
            );
        },
    );
    let seq = || einsum!("ij,jl->il", &a, &einsum!("jk,kl->jl", &b, &c));
    check(name, "einsum_seq", seq(), &want);
    g.bench_function("einsum_seq", |bch| bch.iter(|| black_box(seq())));
    let dot = || a.dot(&b.dot(&c));
    check(name, "ndarray_dot", dot(), &want);
    g.bench_function("ndarray_dot", |bch| bch.iter(|| black_box(dot())));
    let ne = || ndarray_einsum::einsum("ij,jk,kl->il", &[&a, &b, &c]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(|| black_box(ne())));
    // Two `gemm` calls by hand, the intermediate preallocated too.
    let mut bc = vec![0.0f64; k * k];
    let mut o = vec![0.0f64; m * k];
    bench_into(&mut g, name, "gemm_1t", &mut o, &want, |o| {
        // SAFETY: b is k×m and c m×k, a m×k, all row-major and contiguous;
        // bc is k×k, o m×k.
        unsafe {
            gemm_call(
                k,
                m,
                k,
                black_box(b.as_ptr()),
                m as isize,
                black_box(c.as_ptr()),
                k as isize,
                bc.as_mut_ptr(),
                k as isize,
                false,
                gemm::Parallelism::None,
            );
            gemm_call(
                m,
                k,
                k,
                black_box(a.as_ptr()),
                k as isize,
                bc.as_ptr(),
                k as isize,
                o.as_mut_ptr(),
                k as isize,
                false,
                gemm::Parallelism::None,
            );
        }
    });
    g.finish();
}

/// A five-operand tensor network, `ab,bcd,de,ecf,fa->` (32 for every label
/// but c = 8), to a scalar. The hand-ordered sequence follows the cheapest
/// order: `ab,fa->bf`, `bf,ecf->bce`, `bce,bcd->de`, `de,de->`.
fn network(bench: &mut Bench) {
    let name = "network5_32";
    let (n, c8) = (32usize, 8usize);
    let Some(mut g) = bench.group(name, flops(1_116_160)) else {
        return;
    };
    let a: Array2<f64> = array((n, n), 1);
    let b: Array3<f64> = array((n, c8, n), 2);
    let d: Array2<f64> = array((n, n), 3);
    let e: Array3<f64> = array((n, c8, n), 4);
    let f: Array2<f64> = array((n, n), 5);
    // The reference: the same order in plain loops.
    let hand = || {
        let mut bf = vec![0.0; n * n];
        for (bi, row) in bf.chunks_mut(n).enumerate() {
            for (fi, x) in row.iter_mut().enumerate() {
                *x = (0..n).map(|ai| a[[ai, bi]] * f[[fi, ai]]).sum();
            }
        }
        let mut bce = vec![0.0; n * c8 * n];
        for bi in 0..n {
            for ci in 0..c8 {
                for ei in 0..n {
                    bce[(bi * c8 + ci) * n + ei] =
                        (0..n).map(|fi| bf[bi * n + fi] * e[[ei, ci, fi]]).sum();
                }
            }
        }
        let mut total = 0.0;
        for di in 0..n {
            for ei in 0..n {
                let mut de = 0.0;
                for bi in 0..n {
                    for ci in 0..c8 {
                        de += bce[(bi * c8 + ci) * n + ei] * b[[bi, ci, di]];
                    }
                }
                total += de * d[[di, ei]];
            }
        }
        total
    };
    let want = [hand()];
    check(name, "hand_loop", [hand()], &want);
    g.bench_function("hand_loop", |bch| bch.iter(|| black_box(hand())));
    let ein = || einsum!("ab,bcd,de,ecf,fa->", &a, &b, &d, &e, &f);
    check(name, "einsum", [ein()], &want);
    g.bench_function("einsum", |bch| bch.iter(|| black_box(ein())));
    let seq = || {
        let bf = einsum!("ab,fa->bf", &a, &f);
        let bce = einsum!("bf,ecf->bce", &bf, &e);
        let de = einsum!("bce,bcd->de", &bce, &b);
        let total: f64 = einsum!("de,de->", &de, &d);
        total
    };
    check(name, "einsum_seq", [seq()], &want);
    g.bench_function("einsum_seq", |bch| bch.iter(|| black_box(seq())));
    let ne = || ndarray_einsum::einsum("ab,bcd,de,ecf,fa->", &[&a, &b, &d, &e, &f]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(|| black_box(ne())));
    g.finish();
}

/// A bilinear form `i,ij,j->` at n = 2000: `xᵀ A y`.
fn bilinear(bench: &mut Bench) {
    let name = "bilinear_2000";
    let n = 2000usize;
    let Some(mut g) = bench.group(name, flops(2 * (n * n + n) as u64)) else {
        return;
    };
    let x: Array1<f64> = array(n, 1);
    let m: Array2<f64> = array((n, n), 2);
    let y: Array1<f64> = array(n, 3);
    let (sx, sm, sy) = (
        x.as_slice().unwrap(),
        m.as_slice().unwrap(),
        y.as_slice().unwrap(),
    );
    let hand = || {
        sm.chunks(n)
            .zip(sx)
            .map(|(row, &xi)| xi * row.iter().zip(sy).map(|(&a, &b)| a * b).sum::<f64>())
            .sum::<f64>()
    };
    let want = [hand()];
    check(name, "hand_loop", [hand()], &want);
    g.bench_function("hand_loop", |bch| bch.iter(|| black_box(hand())));
    let ein = || -> f64 { einsum!("i,ij,j->", &x, &m, &y) };
    check(name, "einsum", [ein()], &want);
    g.bench_function("einsum", |bch| bch.iter(|| black_box(ein())));
    let seq = || -> f64 { einsum!("i,i->", &x, &einsum!("ij,j->i", &m, &y)) };
    check(name, "einsum_seq", [seq()], &want);
    g.bench_function("einsum_seq", |bch| bch.iter(|| black_box(seq())));
    let dot = || x.dot(&m.dot(&y));
    check(name, "ndarray_dot", [dot()], &want);
    g.bench_function("ndarray_dot", |bch| bch.iter(|| black_box(dot())));
    let ne = || ndarray_einsum::einsum("i,ij,j->", &[&x, &m, &y]).unwrap();
    check(name, "ndarray_einsum", ne(), &want);
    g.bench_function("ndarray_einsum", |bch| bch.iter(|| black_box(ne())));
    g.finish();
}

// ---------------------------------------------------------------------------
// Accumulation: `beta = 1.0` into an existing output

/// `out += x·wᵀ` (a dense layer's weight gradient summed over batches has
/// this form), `out += a ⊙ b` and a 24³ product (small enough for the loop
/// nest): `einsum_into!` with `beta = 1.0`, against `out += &einsum!(…)`
/// (a temporary per call) and ndarray's own. Each way is checked once from
/// the same start, then timed adding on.
fn accumulate(bench: &mut Bench) {
    let (nb, ni, no) = (64usize, 784usize, 128usize);
    let name = "accumulate_dense_64_784_128";
    if let Some(mut g) = bench.group(name, flops(2 * (nb * ni * no) as u64)) {
        let x: Array2<f64> = array((nb, ni), 1);
        let w: Array2<f64> = array((no, ni), 2);
        let start: Array2<f64> = array((nb, no), 3);
        let want: Vec<f64> = (&start + &x.dot(&w.t())).iter().copied().collect();
        let mut out = start.clone();
        einsum_into!(&mut out, "bi,oi->bo", &x, &w; beta = 1.0);
        check(name, "einsum_into", out.iter().copied(), &want);
        g.bench_function("einsum_into", |bch| {
            bch.iter(|| {
                einsum_into!(&mut out, "bi,oi->bo", black_box(&x), black_box(&w); beta = 1.0);
                black_box(&mut out);
            })
        });
        let mut out = start.clone();
        out += &einsum!("bi,oi->bo", &x, &w);
        check(name, "einsum_plus_temporary", out.iter().copied(), &want);
        g.bench_function("einsum_plus_temporary", |bch| {
            bch.iter(|| {
                out += &einsum!("bi,oi->bo", black_box(&x), black_box(&w));
                black_box(&mut out);
            })
        });
        let mut out = start.clone();
        general_mat_mul(1.0, &x, &w.t(), 1.0, &mut out);
        check(name, "ndarray_general_mat_mul", out.iter().copied(), &want);
        g.bench_function("ndarray_general_mat_mul", |bch| {
            bch.iter(|| {
                general_mat_mul(1.0, black_box(&x), &black_box(&w).t(), 1.0, &mut out);
                black_box(&mut out);
            })
        });
    }
    let n = 1000usize;
    let name = "accumulate_hadamard_1000";
    // Three arrays read and one written per call.
    if let Some(mut g) = bench.group(name, bytes(4 * 8 * (n * n) as u64)) {
        let a: Array2<f64> = array((n, n), 1);
        let b: Array2<f64> = array((n, n), 2);
        let start: Array2<f64> = array((n, n), 3);
        let want: Vec<f64> = (&start + &(&a * &b)).iter().copied().collect();
        let mut out = start.clone();
        einsum_into!(&mut out, "ij,ij->ij", &a, &b; beta = 1.0);
        check(name, "einsum_into", out.iter().copied(), &want);
        g.bench_function("einsum_into", |bch| {
            bch.iter(|| {
                einsum_into!(&mut out, "ij,ij->ij", black_box(&a), black_box(&b); beta = 1.0);
                black_box(&mut out);
            })
        });
        let mut out = start.clone();
        out += &einsum!("ij,ij->ij", &a, &b);
        check(name, "einsum_plus_temporary", out.iter().copied(), &want);
        g.bench_function("einsum_plus_temporary", |bch| {
            bch.iter(|| {
                out += &einsum!("ij,ij->ij", black_box(&a), black_box(&b));
                black_box(&mut out);
            })
        });
        let mut out = start.clone();
        let zip = |out: &mut Array2<f64>, a: &Array2<f64>, b: &Array2<f64>| {
            ndarray::Zip::from(out)
                .and(a)
                .and(b)
                .for_each(|o, &x, &y| *o += x * y)
        };
        zip(&mut out, &a, &b);
        check(name, "ndarray_zip", out.iter().copied(), &want);
        g.bench_function("ndarray_zip", |bch| {
            bch.iter(|| {
                zip(&mut out, black_box(&a), black_box(&b));
                black_box(&mut out);
            })
        });
        copy_row(&mut g, 4 * 8 * (n * n) as u64);
    }
    let n = 24usize;
    let name = "accumulate_matmul_24";
    if let Some(mut g) = bench.group(name, flops(2 * (n as u64).pow(3))) {
        let a: Array2<f64> = array((n, n), 1);
        let b: Array2<f64> = array((n, n), 2);
        let start: Array2<f64> = array((n, n), 3);
        let want: Vec<f64> = (&start + &a.dot(&b)).iter().copied().collect();
        let mut out = start.clone();
        einsum_into!(&mut out, "ij,jk->ik", &a, &b; beta = 1.0);
        check(name, "einsum_into", out.iter().copied(), &want);
        g.bench_function("einsum_into", |bch| {
            bch.iter(|| {
                einsum_into!(&mut out, "ij,jk->ik", black_box(&a), black_box(&b); beta = 1.0);
                black_box(&mut out);
            })
        });
        let mut out = start.clone();
        out += &einsum!("ij,jk->ik", &a, &b);
        check(name, "einsum_plus_temporary", out.iter().copied(), &want);
        g.bench_function("einsum_plus_temporary", |bch| {
            bch.iter(|| {
                out += &einsum!("ij,jk->ik", black_box(&a), black_box(&b));
                black_box(&mut out);
            })
        });
        let mut out = start.clone();
        general_mat_mul(1.0, &a, &b, 1.0, &mut out);
        check(name, "ndarray_general_mat_mul", out.iter().copied(), &want);
        g.bench_function("ndarray_general_mat_mul", |bch| {
            bch.iter(|| {
                general_mat_mul(1.0, black_box(&a), black_box(&b), 1.0, &mut out);
                black_box(&mut out);
            })
        });
    }
}

// ---------------------------------------------------------------------------
// A convolution's gradients

/// The gradients of the (b, 221, 221, 3)·(4, 4, 3, 5) stride-2 layer. The
/// input gradient adds each window's column into overlapping places of
/// `dx`: `einsum_into!` through `windows_nhwc_mut` with `beta = 1.0`,
/// against the safe ways without it (16 calls added into strided slices;
/// a 6-D column array and a loop; a full convolution of the dilated
/// gradient) and the forward pass on the same shapes. The filter
/// gradient: one `einsum!` against `gemm` per image on the windows.
fn conv_gradients(bench: &mut Bench, b: usize) {
    use einsum::windows::{windows_nhwc, windows_nhwc_mut};
    use ndarray::s;
    let (h, c, d, k, st) = (221usize, 3usize, 5usize, 4usize, 2usize);
    let o = (h - k) / st + 1;
    let work = 2 * (b * o * o * d * k * k * c) as u64;
    let x: Array4<f64> = array((b, h, h, c), 1);
    let f: Array4<f64> = array((k, k, c, d), 2);
    let dy: Array4<f64> = array((b, o, o, d), 3);
    let name = format!("conv_dx_scatter_b{b}");
    if let Some(mut g) = bench.group(&name, flops(work)) {
        let name = name.as_str();
        // The plain loop, the reference.
        let mut want = Array4::<f64>::zeros((b, h, h, c));
        for n in 0..b {
            for p in 0..o {
                for q in 0..o {
                    for i in 0..k {
                        for j in 0..k {
                            for ch in 0..c {
                                let mut acc = 0.0;
                                for e in 0..d {
                                    acc += dy[[n, p, q, e]] * f[[i, j, ch, e]];
                                }
                                want[[n, p * st + i, q * st + j, ch]] += acc;
                            }
                        }
                    }
                }
            }
        }
        let want: Vec<f64> = want.iter().copied().collect();
        let mut dx = Array4::<f64>::zeros((b, h, h, c));
        let scatter = |dx: &mut Array4<f64>, dy: &Array4<f64>, f: &Array4<f64>| einsum_into!(windows_nhwc_mut(dx, (k, k), (st, st)).unwrap(), "bxyd,ijcd->bxyijc", dy, f; beta = 1.0);
        scatter(&mut dx, &dy, &f);
        check(name, "einsum_into", dx.iter().copied(), &want);
        g.bench_function("einsum_into", |bch| {
            bch.iter(|| {
                dx.fill(0.0);
                scatter(&mut dx, black_box(&dy), black_box(&f));
                black_box(&mut dx);
            })
        });
        // Safe Rust without windows to add into: one einsum per window
        // offset, its result added into the strided slice it belongs to.
        let slices = |dx: &mut Array4<f64>, dy: &Array4<f64>, f: &Array4<f64>| {
            for i in 0..k {
                for j in 0..k {
                    let mut part = dx.slice_mut(
                        s![.., i..i + st * (o - 1) + 1;st, j..j + st * (o - 1) + 1;st, ..],
                    );
                    part += &einsum!("bxyd,cd->bxyc", dy, f.slice(s![i, j, .., ..]));
                }
            }
        };
        dx.fill(0.0);
        slices(&mut dx, &dy, &f);
        check(name, "einsum_slices", dx.iter().copied(), &want);
        g.bench_function("einsum_slices", |bch| {
            bch.iter(|| {
                dx.fill(0.0);
                slices(&mut dx, black_box(&dy), black_box(&f));
                black_box(&mut dx);
            })
        });
        // The 6-D column array, then a loop adding it into place.
        let columns = |dx: &mut Array4<f64>, dy: &Array4<f64>, f: &Array4<f64>| {
            let cols = einsum!("bxyd,ijcd->bxyijc", dy, f);
            for ((n, p, q, i, j, ch), v) in cols.indexed_iter() {
                dx[[n, p * st + i, q * st + j, ch]] += v;
            }
        };
        dx.fill(0.0);
        columns(&mut dx, &dy, &f);
        check(name, "einsum_columns_loop", dx.iter().copied(), &want);
        g.bench_function("einsum_columns_loop", |bch| {
            bch.iter(|| {
                dx.fill(0.0);
                columns(&mut dx, black_box(&dy), black_box(&f));
                black_box(&mut dx);
            })
        });
        // A full convolution of the gradient, dilated by the stride and
        // padded by the window, with the filter flipped.
        let dilated = |dx: &mut Array4<f64>, dy: &Array4<f64>, f: &Array4<f64>| {
            let span = st * (o - 1) + 1 + 2 * (k - 1);
            let mut padded = Array4::<f64>::zeros((b, span, span, d));
            padded
                .slice_mut(s![.., k - 1..k - 1 + st * (o - 1) + 1;st, k - 1..k - 1 + st * (o - 1) + 1;st, ..])
                .assign(dy);
            let flipped = f.slice(s![..;-1, ..;-1, .., ..]);
            let full = einsum!(
                "bxyijd,ijcd->bxyc",
                windows_nhwc(&padded, (k, k), (1, 1)).unwrap(),
                &flipped
            );
            let reach = full.dim().1;
            dx.slice_mut(s![.., ..reach, ..reach, ..]).assign(&full);
        };
        dx.fill(0.0);
        dilated(&mut dx, &dy, &f);
        check(name, "einsum_dilated", dx.iter().copied(), &want);
        g.bench_function("einsum_dilated", |bch| {
            bch.iter(|| {
                dilated(&mut dx, black_box(&dy), black_box(&f));
                black_box(&mut dx);
            })
        });
        // The forward pass on the same shapes, the speed the scatter is
        // held to.
        let w = windows_nhwc(&x, (k, k), (st, st)).unwrap();
        g.bench_function("einsum_forward", |bch| {
            bch.iter(|| einsum!("bxyijc,ijcd->bxyd", black_box(&w), black_box(&f)))
        });
    }
    let name = format!("conv_dw_b{b}");
    if let Some(mut g) = bench.group(&name, flops(work)) {
        let name = name.as_str();
        let w = windows_nhwc(&x, (k, k), (st, st)).unwrap();
        let mut want = vec![0.0; k * k * c * d];
        for n in 0..b {
            for p in 0..o {
                for q in 0..o {
                    for i in 0..k {
                        for j in 0..k {
                            for ch in 0..c {
                                for e in 0..d {
                                    want[((i * k + j) * c + ch) * d + e] +=
                                        x[[n, p * st + i, q * st + j, ch]] * dy[[n, p, q, e]];
                                }
                            }
                        }
                    }
                }
            }
        }
        check(name, "einsum", einsum!("bxyijc,bxyd->ijcd", &w, &dy), &want);
        g.bench_function("einsum", |bch| {
            bch.iter(|| einsum!("bxyijc,bxyd->ijcd", black_box(&w), black_box(&dy)))
        });
        // `gemm` on the windows in place, per image and window row:
        // dW[(i, j, c), d] += Wᵀ[(i, j, c), y] · dY[y, d].
        let mut out = vec![0.0; k * k * c * d];
        let (px, py) = (x.as_ptr(), dy.as_ptr());
        bench_into(&mut g, name, "gemm_strided", &mut out, &want, |out| {
            out.fill(0.0);
            for n in 0..b {
                for p in 0..o {
                    for i in 0..k {
                        for j in 0..k {
                            // SAFETY: rows p·st + i < h and columns
                            // q·st + j < h of image n, row p of dy[n]; out
                            // is k·k·c·d, distinct from both.
                            unsafe {
                                gemm_at(
                                    [c, d, o],
                                    (out.as_mut_ptr().add((i * k + j) * c * d), d as isize, 1),
                                    (
                                        px.add(((n * h + p * st + i) * h + j) * c),
                                        1,
                                        (st * c) as isize,
                                    ),
                                    (py.add((n * o + p) * o * d), d as isize, 1),
                                    true,
                                    gemm::Parallelism::None,
                                )
                            }
                        }
                    }
                }
            }
        });
    }
}

/// 2×2 max-pooling at stride 2 over a (b, 109, 109, 5) channels-last map:
/// `reduce = max` over windows, against a plain loop and ndarray's
/// `fold_axis` over a window view, with the copy row for the bytes read
/// and written.
fn max_pool(bench: &mut Bench, b: usize) {
    use einsum::windows::windows_nhwc;
    let (h, c) = (109usize, 5usize);
    let o = h / 2;
    let name = format!("maxpool_b{b}");
    let moved = 8 * (b * h * h * c + b * o * o * c) as u64;
    let Some(mut g) = bench.group(&name, bytes(moved)) else {
        return;
    };
    let name = name.as_str();
    let y: Array4<f64> = array((b, h, h, c), 1);
    let hand = |out: &mut [f64]| {
        let ys = y.as_slice().unwrap();
        for n in 0..b {
            for x in 0..o {
                for z in 0..o {
                    for ch in 0..c {
                        let at =
                            |i: usize, j: usize| ys[((n * h + 2 * x + i) * h + 2 * z + j) * c + ch];
                        out[((n * o + x) * o + z) * c + ch] =
                            at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                    }
                }
            }
        }
    };
    let mut want = vec![0.0; b * o * o * c];
    hand(&mut want);
    let w = windows_nhwc(&y, (2, 2), (2, 2)).unwrap();
    check(
        name,
        "einsum",
        einsum!("bxyijc->bxyc", &w; reduce = max),
        &want,
    );
    g.bench_function("einsum", |bch| {
        bch.iter(|| einsum!("bxyijc->bxyc", black_box(&w); reduce = max))
    });
    let mut pooled = Array4::<f64>::zeros((b, o, o, c));
    einsum_into!(&mut pooled, "bxyijc->bxyc", &w; reduce = max);
    check(name, "einsum_into", pooled.iter().copied(), &want);
    g.bench_function("einsum_into", |bch| {
        bch.iter(|| {
            einsum_into!(&mut pooled, "bxyijc->bxyc", black_box(&w); reduce = max);
            black_box(&mut pooled);
        })
    });
    let mut out = vec![0.0; b * o * o * c];
    bench_into(&mut g, name, "hand_loop_into", &mut out, &want, hand);
    let fold = |w: &ndarray::ArrayView6<f64>| {
        w.fold_axis(Axis(4), f64::NEG_INFINITY, |&m, &v| m.max(v))
            .fold_axis(Axis(3), f64::NEG_INFINITY, |&m, &v| m.max(v))
    };
    check(name, "ndarray_fold", fold(&w), &want);
    g.bench_function("ndarray_fold", |bch| bch.iter(|| fold(black_box(&w))));
    copy_row(&mut g, moved);
}

fn main() {
    let c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .nresamples(20_000)
        .without_plots()
        .configure_from_args();
    let mut bench = Bench {
        c,
        filter: plain_filter(),
        open: None,
        load: BTreeMap::new(),
    };
    machine_peak(&mut bench);
    matmul_4x4(&mut bench);
    matmul_cases(&mut bench);
    matmul_2t(&mut bench);
    bmm(&mut bench);
    tensor_contraction(&mut bench, true);
    tensor_contraction(&mut bench, false);
    tall_skinny(&mut bench);
    dense(&mut bench);
    conv_input_gradient(&mut bench);
    diagonal(&mut bench);
    sum_ijk_k(&mut bench);
    outer(&mut bench);
    dot(&mut bench);
    transpose(&mut bench);
    permutations(&mut bench);
    convolution(&mut bench, 8);
    convolution(&mut bench, 64);
    sobel(&mut bench);
    chain(&mut bench, "chain_skinny", (1000, 10));
    chain(&mut bench, "chain_256", (256, 256));
    network(&mut bench);
    bilinear(&mut bench);
    accumulate(&mut bench);
    conv_gradients(&mut bench, 64);
    max_pool(&mut bench, 64);
    bench.close();
    merge_json("checks.json", &CHECKS.lock().unwrap());
    merge_json("load.json", &bench.load);
    bench.c.final_summary();
}
