//! Expressions with fixed sizes, whose summed labels are all bound to
//! literals, run in the row kernel the macro writes for them (rows of at
//! least `rows_min_len` elements, unit stride along the output's last
//! label). Each case is checked against a plain loop, through the row kernel,
//! split over threads, and with the row kernel declining (short rows, other
//! strides, the run-time kernels forced), so both sides of every fallback
//! are compared. Small enough for Miri, which checks the slices the row
//! kernel makes.

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{s, Array, Array1, Array2, Array3, ShapeBuilder};
use einsum::num_complex::Complex;
use einsum::windows::windows2;
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, ErrorKind};

/// The three ways each case runs: the defaults (row kernel), threads
/// forced (rows split over the pool), and the run-time kernels.
fn each_way<R>(mut f: impl FnMut() -> R) -> [R; 3] {
    let split = Thresholds {
        parallel_min_work: 0,
        ..Thresholds::DEFAULT
    };
    [
        f(),
        with_thresholds(split, &mut f),
        with_thresholds(Thresholds::EAGER, &mut f),
    ]
}

fn image(h: usize, w: usize) -> Array2<i64> {
    Array::from_shape_fn((h, w), |(i, j)| ((i * 7 + j * 3) % 11) as i64 - 5)
}

/// `out[x, y] = Σ_ij img[x + i, y + j] · k[i, j]`.
fn filter_loop(img: &Array2<i64>, k: &Array2<i64>) -> Array2<i64> {
    let (kh, kw) = k.dim();
    let (h, w) = img.dim();
    Array::from_shape_fn((h - kh + 1, w - kw + 1), |(x, y)| {
        let mut acc = 0;
        for i in 0..kh {
            for j in 0..kw {
                acc += img[[x + i, y + j]] * k[[i, j]];
            }
        }
        acc
    })
}

#[test]
fn filter_over_windows() {
    let img = image(13, 29);
    let k = Array::from_shape_fn((3, 3), |(i, j)| (i as i64 - 1) * (2 - j as i64) + 1);
    let want = filter_loop(&img, &k);
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    for got in each_way(|| einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3)) {
        assert_eq!(got, want);
    }
    // Into an existing array, and into every other row of a larger one.
    for got in each_way(|| {
        let mut out = Array2::<i64>::from_elem(want.dim(), 99);
        einsum_into!(&mut out, "xyij,ij->xy", &w, &k; i = 3, j = 3);
        out
    }) {
        assert_eq!(got, want);
    }
    let mut big = Array2::<i64>::from_elem((2 * want.nrows(), want.ncols()), 7);
    einsum_into!(&mut big.slice_mut(s![..;2, ..]), "xyij,ij->xy", &w, &k; i = 3, j = 3);
    assert_eq!(big.slice(s![..;2, ..]), want);
    assert!(big.slice(s![1..;2, ..]).iter().all(|&v| v == 7));
    // A column-major output: its rows are not of unit stride, so the
    // run-time kernels write it.
    let mut f = Array2::<i64>::zeros(want.dim().f());
    einsum_into!(&mut f, "xyij,ij->xy", &w, &k; i = 3, j = 3);
    assert_eq!(f, want);
    // Floats, with the weights' and the image's order reversed.
    let imgf = img.mapv(|v| v as f64 * 0.5);
    let kf = k.mapv(|v| v as f64);
    let wantf = filter_loop(&img, &k).mapv(|v| v as f64 * 0.5);
    let wf = windows2(&imgf, (3, 3), (1, 1)).unwrap();
    for got in each_way(|| einsum!("xyij,ij->xy", &wf, &kf; i = 3, j = 3)) {
        assert_eq!(got, wantf);
    }
}

#[test]
fn short_rows_and_other_strides_decline() {
    // Rows of 5: the small loops, or the run-time kernels, write them.
    let img = image(6, 7);
    let k = Array::from_shape_fn((3, 3), |(i, j)| i as i64 * 3 + j as i64);
    let want = filter_loop(&img, &k);
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    for got in each_way(|| einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3)) {
        assert_eq!(got, want);
    }
    // A transposed image: the windows' `y` is not of unit stride.
    let img = image(30, 12);
    let t = img.t();
    let want = filter_loop(&t.to_owned(), &k);
    let w = windows2(&t, (3, 3), (1, 1)).unwrap();
    for got in each_way(|| einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3)) {
        assert_eq!(got, want);
    }
}

#[test]
fn three_operands_and_a_single_axis_output() {
    // `out[b, x, y] = Σ_i a[b, x, y] · p[x, i] · q[i, y]`: one operand read
    // as one row, one as weights, one as a row per unrolled `i`.
    let a: Array3<i32> =
        Array::from_shape_fn((2, 3, 17), |(b, x, y)| (b * 5 + x * 3 + y) as i32 % 7 - 3);
    let p: Array2<i32> = Array::from_shape_fn((3, 4), |(x, i)| (x * 4 + i) as i32 - 5);
    let q: Array2<i32> = Array::from_shape_fn((4, 17), |(i, y)| (i * 17 + y) as i32 % 5 - 2);
    let want = Array::from_shape_fn((2, 3, 17), |(b, x, y)| {
        (0..4)
            .map(|i| a[[b, x, y]] * p[[x, i]] * q[[i, y]])
            .sum::<i32>()
    });
    for got in each_way(|| einsum!("bxy,xi,iy->bxy", &a, &p, &q; i = 4)) {
        assert_eq!(got, want);
    }
    // One output axis: the whole output is one row.
    let m: Array2<f64> = Array::from_shape_fn((3, 40), |(i, y)| (i * 40 + y) as f64 * 0.25);
    let v = Array1::from(vec![1.0, -2.0, 0.5]);
    let want = Array::from_shape_fn(40, |y| (0..3).map(|i| m[[i, y]] * v[i]).sum::<f64>());
    for got in each_way(|| einsum!("iy,i->y", &m, &v; i = 3)) {
        assert_eq!(got, want);
    }
    // Nothing summed: a bound output label, one product per element.
    let c = Array::from_shape_fn((16,), |j| j as f64 - 3.0);
    let want = Array::from_shape_fn((3, 16), |(x, j)| m[[x, j]] * c[j]);
    let rows = m.slice(s![.., ..16]);
    for got in each_way(|| einsum!("ij,j->ij", &rows, &c; j = 16)) {
        assert_eq!(got, want);
    }
}

#[test]
fn element_types() {
    // Wrapping `u8` sums, and complex products (never conjugated).
    let a: Array2<u8> = Array::from_shape_fn((9, 12), |(i, j)| (i * 37 + j * 11) as u8);
    let k = Array::from_shape_fn((2, 2), |(i, j)| (i * 2 + j + 100) as u8);
    let w = windows2(&a, (2, 2), (1, 1)).unwrap();
    let want = Array::from_shape_fn((8, 11), |(x, y)| {
        let mut acc = 0u8;
        for i in 0..2 {
            for j in 0..2 {
                acc = acc.wrapping_add(a[[x + i, y + j]].wrapping_mul(k[[i, j]]));
            }
        }
        acc
    });
    for got in each_way(|| einsum!("xyij,ij->xy", &w, &k; i = 2, j = 2)) {
        assert_eq!(got, want);
    }
    let z = Array::from_shape_fn((2, 10), |(i, y)| Complex::new(i as f64, y as f64 - 4.0));
    let u = Array::from_shape_fn(2, |i| Complex::new(1.0, i as f64 + 1.0));
    let want = Array::from_shape_fn(10, |y| z[[0, y]] * u[0] + z[[1, y]] * u[1]);
    for got in each_way(|| einsum!("iy,i->y", &z, &u; i = 2)) {
        assert_eq!(got, want);
    }
}

#[test]
fn errors_leave_the_output_untouched() {
    let img = image(8, 20);
    let k = Array2::<i64>::ones((3, 3));
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    // A bound size the data contradicts.
    let e = try_einsum!("xyij,ij->xy", &w, &k; i = 4, j = 3).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::FixedSize { .. }), "{e}");
    // An output of the wrong shape.
    let mut out = Array2::<i64>::from_elem((6, 17), 5);
    let e = try_einsum_into!(&mut out, "xyij,ij->xy", &w, &k; i = 3, j = 3).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::OutputShape { .. }), "{e}");
    assert!(out.iter().all(|&v| v == 5));
}
