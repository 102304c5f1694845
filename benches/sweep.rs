//! A sweep of two-operand contractions over shapes and layouts, each timed
//! against the other ways to compute it, on one core.
//!
//! `"ij,jk->ik"` for M ∈ {1, 4, 8, 13, 16, 32, 100, 1000, 10000},
//! K ∈ {1, 2, 8, 16, 24, 64, 144, 1024}, N ∈ {1, 3, 5, 8, 12, 16, 64, 512},
//! and `"bij,bjk->bik"` with a batch of 8 over the same shapes; each operand
//! row-major or transposed (a view of the other layout); shapes of more than
//! 3·10⁸ multiply-adds left out. Every case runs
//!
//! | id | what |
//! |---|---|
//! | `einsum` | `einsum!` on the views, a new result |
//! | `gemm` | `gemm::gemm` on the operands in place (their strides), one thread |
//! | `gemm_copy` | the same after copying each operand that is not row-major |
//! | `dot` | ndarray's `.dot()` (`general_mat_mul` per batch item) |
//! | `loop` | a plain i-k-j loop over the views (the reference result) |
//!
//! with its output allocated inside the timing, and each result is checked
//! against the loop's. A time is the median of 11 samples, a sample as many
//! calls in a row as take about 20 µs. The report gives, for the shapes of
//! 10⁴ multiply-adds or more and for the smaller ones, the worst and median
//! ratio einsum / best alternative and the ten worst cases.
//!
//! ```text
//! cargo bench --bench sweep                      # the whole sweep
//! cargo bench --bench sweep -- --quick           # row-major operands only
//! cargo bench --bench sweep -- --write-results   # also append to benches/RESULTS.md
//! cargo bench --bench sweep -- --match "K=2 " --match BT   # cases whose name has each
//! cargo bench --bench sweep -- --max-work 256    # cases of at most 256 multiply-adds
//! ```

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use einsum::einsum;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3, Axis};

const MS: [usize; 9] = [1, 4, 8, 13, 16, 32, 100, 1000, 10000];
const KS: [usize; 8] = [1, 2, 8, 16, 24, 64, 144, 1024];
const NS: [usize; 8] = [1, 3, 5, 8, 12, 16, 64, 512];
const BATCH: usize = 8;
const MAX_WORK: usize = 300_000_000;
/// The work from which the tighter targets hold.
const LARGE_WORK: usize = 10_000;

/// One case: the shape, the batch (1 for none) and which operands are
/// transposed views.
#[derive(Clone, Copy)]
struct Case {
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    a_t: bool,
    b_t: bool,
}

impl Case {
    fn work(&self) -> usize {
        self.batch * self.m * self.k * self.n
    }

    fn name(&self) -> String {
        let lay = |t| if t { "T" } else { "R" };
        let b = if self.batch > 1 {
            format!("b{} ", self.batch)
        } else {
            String::new()
        };
        format!(
            "{b}M={} K={} N={} A{} B{}",
            self.m,
            self.k,
            self.n,
            lay(self.a_t),
            lay(self.b_t)
        )
    }
}

/// Deterministic values in [-1, 1) (xorshift).
fn values(len: usize, seed: u64) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// A batch of `rows`×`cols` matrices, stored row-major, or stored as the
/// transpose and viewed back (`t`).
fn operand(batch: usize, rows: usize, cols: usize, t: bool, seed: u64) -> Array3<f64> {
    let v = values(batch * rows * cols, seed);
    if t {
        Array3::from_shape_vec((batch, cols, rows), v).unwrap()
    } else {
        Array3::from_shape_vec((batch, rows, cols), v).unwrap()
    }
}

fn view(x: &Array3<f64>, t: bool) -> ArrayView3<'_, f64> {
    if t {
        x.view().permuted_axes([0, 2, 1])
    } else {
        x.view()
    }
}

/// `gemm::gemm` on one batch item, one thread, into uninitialized `c`.
///
/// # Safety
/// `c` is valid for writes of `m`×`n` elements at its strides.
unsafe fn gemm_on(a: ArrayView2<f64>, b: ArrayView2<f64>, c: *mut f64, rsc: isize, csc: isize) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let (sa, sb) = (a.strides(), b.strides());
    // SAFETY: the views' pointers and strides address their elements; `c`
    // is the caller's.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            csc,
            rsc,
            false,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// `gemm` on every batch item, into a new result.
fn gemm_batched(a: ArrayView3<f64>, b: ArrayView3<f64>) -> Array3<f64> {
    let (bs, m, _) = a.dim();
    let n = b.dim().2;
    let mut c = Array3::<f64>::uninit((bs, m, n));
    for t in 0..bs {
        let ptr = c.as_mut_ptr().wrapping_add(t * m * n).cast::<f64>();
        // SAFETY: item `t` of the new row-major result, m×n at (n, 1).
        unsafe {
            gemm_on(
                a.index_axis(Axis(0), t),
                b.index_axis(Axis(0), t),
                ptr,
                n as isize,
                1,
            )
        };
    }
    // SAFETY: `gemm` wrote every element of every item (it reads no `c`).
    unsafe { c.assume_init() }
}

fn dot_batched(a: ArrayView3<f64>, b: ArrayView3<f64>) -> Array3<f64> {
    let (bs, m, _) = a.dim();
    let n = b.dim().2;
    if bs == 1 {
        let c = a.index_axis(Axis(0), 0).dot(&b.index_axis(Axis(0), 0));
        return c.insert_axis(Axis(0));
    }
    let mut c = Array3::<f64>::zeros((bs, m, n));
    for t in 0..bs {
        general_mat_mul(
            1.0,
            &a.index_axis(Axis(0), t),
            &b.index_axis(Axis(0), t),
            0.0,
            &mut c.index_axis_mut(Axis(0), t),
        );
    }
    c
}

/// The plain i-k-j loop, the reference.
fn loop_batched(a: ArrayView3<f64>, b: ArrayView3<f64>) -> Array3<f64> {
    let (bs, m, k) = a.dim();
    let n = b.dim().2;
    let mut c = Array3::<f64>::zeros((bs, m, n));
    for t in 0..bs {
        for i in 0..m {
            let mut row = c.slice_mut(s![t, i, ..]);
            for p in 0..k {
                let x = a[[t, i, p]];
                for (o, y) in row.iter_mut().zip(b.slice(s![t, p, ..])) {
                    *o += x * y;
                }
            }
        }
    }
    c
}

/// The median time of one call of `f`.
fn time<R>(mut f: impl FnMut() -> R) -> Duration {
    let start = Instant::now();
    black_box(f());
    let once = start.elapsed().max(Duration::from_nanos(1));
    let reps = (20_000 / once.as_nanos()).clamp(1, 100_000) as u32;
    let samples = if once > Duration::from_millis(50) {
        3
    } else {
        11
    };
    let mut t: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            start.elapsed() / reps
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

fn close(got: &Array3<f64>, want: &Array3<f64>) -> bool {
    got.shape() == want.shape()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (g - w).abs() <= 1e-9 * (1.0 + w.abs()) * 64.0)
}

/// One case's times: einsum's, and the alternatives' by id.
struct Row {
    case: Case,
    einsum: Duration,
    alts: [(&'static str, Duration); 4],
}

impl Row {
    fn best(&self) -> (&'static str, Duration) {
        *self.alts.iter().min_by_key(|(_, t)| *t).unwrap()
    }

    fn ratio(&self) -> f64 {
        self.einsum.as_secs_f64() / self.best().1.as_secs_f64()
    }
}

fn run(case: Case) -> Row {
    let a = operand(case.batch, case.m, case.k, case.a_t, 1);
    let b = operand(case.batch, case.k, case.n, case.b_t, 2);
    let (a, b) = (view(&a, case.a_t), view(&b, case.b_t));
    let want = loop_batched(a, b);
    let name = case.name();
    let checked = |id: &str, got: Array3<f64>| {
        assert!(close(&got, &want), "{name}: {id} disagrees with the loop");
    };
    let einsum_once = || -> Array3<f64> {
        if case.batch == 1 {
            let (a2, b2) = (a.index_axis(Axis(0), 0), b.index_axis(Axis(0), 0));
            einsum!("ij,jk->ik", &a2, &b2).insert_axis(Axis(0))
        } else {
            einsum!("bij,bjk->bik", &a, &b)
        }
    };
    let copy_once = || {
        let (ac, bc) = (a.as_standard_layout(), b.as_standard_layout());
        gemm_batched(ac.view(), bc.view())
    };
    checked("einsum", einsum_once());
    checked("gemm", gemm_batched(a, b));
    checked("gemm_copy", copy_once());
    checked("dot", dot_batched(a, b));
    let einsum = if case.batch == 1 {
        let (a2, b2) = (a.index_axis(Axis(0), 0), b.index_axis(Axis(0), 0));
        time(|| -> Array2<f64> { einsum!("ij,jk->ik", &a2, &b2) })
    } else {
        time(|| -> Array3<f64> { einsum!("bij,bjk->bik", &a, &b) })
    };
    Row {
        case,
        einsum,
        alts: [
            ("gemm", time(|| gemm_batched(a, b))),
            ("gemm_copy", time(copy_once)),
            ("dot", time(|| dot_batched(a, b))),
            ("loop", time(|| loop_batched(a, b))),
        ],
    }
}

fn cases(quick: bool) -> Vec<Case> {
    let layouts: &[(bool, bool)] = if quick {
        &[(false, false)]
    } else {
        &[(false, false), (true, false), (false, true), (true, true)]
    };
    let mut all = Vec::new();
    for batch in [1, BATCH] {
        for &m in &MS {
            for &k in &KS {
                for &n in &NS {
                    for &(a_t, b_t) in layouts {
                        let case = Case {
                            batch,
                            m,
                            k,
                            n,
                            a_t,
                            b_t,
                        };
                        if case.work() <= MAX_WORK {
                            all.push(case);
                        }
                    }
                }
            }
        }
    }
    all
}

fn fmt_t(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The report: per class of work, the worst and median ratios, how many
/// cases miss the targets, and the ten worst cases.
fn report(rows: &[Row], started: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Shape sweep, {started}\n");
    let _ = writeln!(
        out,
        "{} two-operand cases on one core (`benches/sweep.rs`); ratio = einsum / best alternative.\n",
        rows.len()
    );
    let _ = writeln!(
        out,
        "| work | cases | worst | median | over 1.1× | over 1.25× (and > 100 ns) | over 1.5× | over 3× |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|");
    for (label, large) in [("≥ 10⁴ multiply-adds", true), ("< 10⁴", false)] {
        let part: Vec<&Row> = rows
            .iter()
            .filter(|r| (r.case.work() >= LARGE_WORK) == large)
            .collect();
        let ratios: Vec<f64> = part.iter().map(|r| r.ratio()).collect();
        let over = |x: f64| ratios.iter().filter(|&&r| r > x).count();
        let slow_small = part
            .iter()
            .filter(|r| r.ratio() > 1.25 && r.einsum - r.best().1 > Duration::from_nanos(100))
            .count();
        let worst = ratios.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "| {label} | {} | {worst:.2}× | {:.2}× | {} | {slow_small} | {} | {} |",
            part.len(),
            median(ratios.clone()),
            over(1.1),
            over(1.5),
            over(3.0)
        );
    }
    let mut worst: Vec<&Row> = rows.iter().collect();
    worst.sort_by(|x, y| y.ratio().total_cmp(&x.ratio()));
    let _ = writeln!(out, "\nThe ten worst:\n");
    let _ = writeln!(out, "| case | einsum | best alternative | ratio |");
    let _ = writeln!(out, "|---|--:|--:|--:|");
    for r in worst.iter().take(10) {
        let (id, t) = r.best();
        let _ = writeln!(
            out,
            "| {} | {} | {} ({id}) | {:.2}× |",
            r.case.name(),
            fmt_t(r.einsum),
            fmt_t(t),
            r.ratio()
        );
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let write = args.iter().any(|a| a == "--write-results");
    let started = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    // `--match S` (repeatable): only the cases whose name contains every S.
    let patterns: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--match")
        .map(|w| w[1].as_str())
        .collect();
    // `--max-work W`: only the cases of at most W multiply-adds.
    let max_work: usize = args
        .windows(2)
        .find(|w| w[0] == "--max-work")
        .map_or(usize::MAX, |w| {
            w[1].parse().expect("--max-work takes a number")
        });
    let all: Vec<Case> = cases(quick)
        .into_iter()
        .filter(|c| {
            let name = format!("{} ", c.name());
            patterns.iter().all(|p| name.contains(p)) && c.work() <= max_work
        })
        .collect();
    let rows: Vec<Row> = pool.install(|| {
        all.iter()
            .enumerate()
            .map(|(i, &case)| {
                let row = run(case);
                let (id, t) = row.best();
                eprintln!(
                    "[{}/{}] {}: einsum {} {id} {} ({:.2}×)",
                    i + 1,
                    all.len(),
                    case.name(),
                    fmt_t(row.einsum),
                    fmt_t(t),
                    row.ratio()
                );
                row
            })
            .collect()
    });
    let text = report(&rows, &started);
    println!("{text}");
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/RESULTS.md");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .expect("benches/RESULTS.md");
        std::io::Write::write_all(&mut f, format!("\n{text}").as_bytes()).expect("write");
    }
}
