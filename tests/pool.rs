//! `einsum!` inside a caller's rayon pool uses that pool: it starts no
//! threads of its own (no oversubscription). A binary of its own (no test
//! harness), so that the only threads in the process are its main thread and
//! those this test starts; Linux only, where `/proc/self/status` counts them.

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::einsum;
use einsum::ndarray::{Array, Array2};

#[cfg(target_os = "linux")]
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads: line")
}

#[cfg(target_os = "linux")]
fn main() {
    let a: Array2<f64> =
        Array::from_shape_fn((400, 300), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
    let b: Array2<f64> = Array::from_shape_fn((300, 200), |(i, j)| ((i * 5 + j) % 7) as f64 - 3.0);
    let want = Array::from_shape_fn((400, 200), |(i, j)| {
        (0..300).map(|k| a[[i, k]] * b[[k, j]]).sum::<f64>()
    });
    let i64s = a.mapv(|x| x as i64);
    let before = threads();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    let with_pool = threads();
    assert_eq!(with_pool, before + 2, "the pool's two threads");
    pool.install(|| {
        // Large enough for `gemm`'s own threads, and every split forced.
        assert_eq!(einsum!("ij,jk->ik", &a, &b), want);
        with_thresholds(Thresholds::EAGER, || {
            assert_eq!(einsum!("ij,jk->ik", &a, &b), want);
            assert_eq!(einsum!("ij->ji", &i64s), i64s.t());
            assert_eq!(
                einsum!("ij,ij->i", &a, &a),
                (&a * &a).sum_axis(einsum::ndarray::Axis(1))
            );
        });
    });
    assert_eq!(threads(), with_pool, "no threads beside the caller's pool");
    // The check can see a pool start: outside `install`, the same call
    // starts rayon's global pool.
    with_thresholds(Thresholds::EAGER, || {
        assert_eq!(einsum!("ij,jk->ik", &a, &b), want)
    });
    assert!(threads() > with_pool, "the global pool started");
    println!("pool: {before} → {with_pool} threads with the caller's pool, unchanged by its calls");
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("pool: skipped (counts threads through /proc)");
}
