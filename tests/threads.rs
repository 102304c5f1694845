//! Concurrent calls: the same call sites (their order caches included) from
//! many threads at once with different shapes, and calls from inside a
//! caller's own rayon pool. Every result is checked against a plain loop.
//!
//! That no pool of threads is started beside the caller's is checked by
//! `tests/pool.rs`, a binary of its own that can count its threads.

use std::sync::Barrier;

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{Array, Array2};
use einsum::windows::windows2;
use einsum::{einsum, einsum_into};

fn matrix(r: usize, c: usize, seed: usize) -> Array2<i64> {
    Array::from_shape_fn((r, c), |(i, j)| ((i * 7 + j * 3 + seed) % 11) as i64 - 5)
}

fn matmul(a: &Array2<i64>, b: &Array2<i64>) -> Array2<i64> {
    let (n, k, m) = (a.nrows(), a.ncols(), b.ncols());
    Array::from_shape_fn((n, m), |(i, j)| (0..k).map(|l| a[[i, l]] * b[[l, j]]).sum())
}

/// One round of the shared call sites for `shape`, each checked: a chain of
/// three (a cached plan per call site), a product, and a filter with fixed
/// sizes (the row kernel).
fn round(shape: usize, seed: usize) {
    let (n, m) = (2 + shape % 5, 3 + (shape * 7) % 6);
    let (a, b, c) = (
        matrix(n, m, seed),
        matrix(m, n + 1, seed + 1),
        matrix(n + 1, 2, seed + 2),
    );
    let chain = einsum!("ij,jk,kl->il", &a, &b, &c);
    assert_eq!(
        chain,
        matmul(&matmul(&a, &b), &c),
        "chain {n}×{m} seed {seed}"
    );
    let mut out = Array2::<i64>::zeros((n, n + 1));
    einsum_into!(&mut out, "ij,jk->ik", &a, &b);
    assert_eq!(out, matmul(&a, &b), "product {n}×{m} seed {seed}");
    let img = matrix(n + 10, m + 10, seed);
    let k = matrix(3, 3, seed + 3);
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    let filtered = einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3);
    let want = Array::from_shape_fn((n + 8, m + 8), |(x, y)| {
        (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| img[[x + i, y + j]] * k[[i, j]])
            .sum::<i64>()
    });
    assert_eq!(filtered, want, "filter seed {seed}");
}

#[test]
fn shared_call_sites_from_many_threads() {
    let (threads, rounds) = if cfg!(miri) { (3, 2) } else { (8, 200) };
    let start = Barrier::new(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            let start = &start;
            s.spawn(move || {
                start.wait();
                for r in 0..rounds {
                    // Each thread moves through the shapes on its own
                    // schedule, so the caches see changing keys at once.
                    round(t + r * (t + 1), t * 1000 + r);
                }
            });
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rayon's pool does not run under Miri (crossbeam-epoch)"
)]
fn calls_inside_a_callers_pool() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool of two threads");
    pool.install(|| {
        use rayon::prelude::*;
        // Tasks of the caller's pool call `einsum!`, whose kernels split
        // their work over the same pool (forced here for small shapes and
        // by size for the large product).
        (0..64usize).into_par_iter().for_each(|i| {
            with_thresholds(Thresholds::EAGER, || round(i, i));
            round(i, i + 1);
        });
        let (a, b) = (matrix(300, 200, 1), matrix(200, 250, 2));
        let r = (0..4usize)
            .into_par_iter()
            .map(|_| einsum!("ij,jk->ik", &a, &b))
            .collect::<Vec<_>>();
        let want = matmul(&a, &b);
        assert!(r.iter().all(|x| *x == want));
    });
}
