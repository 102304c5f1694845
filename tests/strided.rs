//! Small facade tests over every kind of operand layout, every element type
//! and every form, each checked against a plain loop. Small enough to run
//! under Miri, which checks every raw-pointer access of the kernels.

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{array, s, Array, Array0, Array1, Array2, Array3, ArrayD, Axis, IxDyn};
use einsum::num_complex::Complex;
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, ErrorKind};

fn arange2(r: usize, c: usize) -> Array2<i64> {
    Array::from_shape_fn((r, c), |(i, j)| (i * c + j) as i64 - 3)
}

fn matmul_loop(a: &Array2<i64>, b: &Array2<i64>) -> Array2<i64> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    for i in 0..a.nrows() {
        for k in 0..b.ncols() {
            for j in 0..a.ncols() {
                c[[i, k]] += a[[i, j]] * b[[j, k]];
            }
        }
    }
    c
}

#[test]
fn matmul_over_every_layout() {
    let a = arange2(3, 4);
    let b = arange2(4, 2);
    let expect = matmul_loop(&a, &b);
    // Contiguous, by reference and by value.
    assert_eq!(einsum!("ij,jk->ik", &a, &b), expect);
    assert_eq!(einsum!("ij,jk->ik", a.view(), b.clone()), expect);
    // Transposed storage.
    let at = a.t().to_owned();
    assert_eq!(einsum!("ji,jk->ik", &at, &b), expect);
    // Reversed (negative strides) on both axes, reversed back by the labels.
    let ar = a.slice(s![..;-1, ..;-1]).to_owned();
    let rev = ar.slice(s![..;-1, ..;-1]);
    assert_eq!(einsum!("ij,jk->ik", rev, &b), expect);
    // Stepped out of a larger array.
    let mut big = Array2::<i64>::from_elem((7, 7), 100);
    big.slice_mut(s![1..;2, ..;2]).assign(&a);
    assert_eq!(einsum!("ij,jk->ik", big.slice(s![1..;2, ..;2]), &b), expect);
    // Mutable references and views.
    let mut am = a.clone();
    assert_eq!(einsum!("ij,jk->ik", &mut am, &b), expect);
    assert_eq!(einsum!("ij,jk->ik", am.view_mut(), &b), expect);
}

#[test]
fn broadcast_operands_are_read_in_place() {
    // A row broadcast to 3 rows with stride 0.
    let row = array![1.0, 2.0, 3.0];
    let b = row.broadcast((3, 3)).unwrap();
    assert_eq!(b.strides(), &[0, 1]);
    let m = array![[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [3.0, 0.0, 1.0]];
    // sum_ij b[i,j] m[i,j] = sum_j row[j] * colsum(m)[j]
    let expect: f64 = (0..3).map(|j| row[j] * m.column(j).sum()).sum();
    let got: f64 = einsum!("ij,ij->", b, &m);
    assert_eq!(got, expect);
    // The broadcast axis kept in the output.
    let out = einsum!("ij->ij", b);
    assert_eq!(
        out,
        array![[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    );
}

#[test]
fn slices_and_vecs_are_1d_operands() {
    let x = vec![1i32, 2, 3];
    let y = [4i32, 5, 6];
    let dot: i32 = einsum!("i,i", &x, &y[..]);
    assert_eq!(dot, 32);
    let outer = einsum!("i,j->ij", &x[..2], &y[1..]);
    let by_array: i32 = einsum!("i,i", &y, &[1, 0, -1]);
    assert_eq!(by_array, 4 - 6);
    assert_eq!(outer, array![[5, 6], [10, 12]]);
}

#[test]
fn diagonal_trace_and_transpose() {
    let a = arange2(4, 4);
    let diag = einsum!("ii->i", &a);
    assert_eq!(diag, a.diag());
    let trace: i64 = einsum!("ii", &a);
    assert_eq!(trace, a.diag().sum());
    // The diagonal of a reversed view.
    let r = a.slice(s![..;-1, ..;-1]);
    assert_eq!(einsum!("ii->i", r), r.diag());
    assert_eq!(einsum!("ij->ji", &a), a.t());
    let a3 = Array3::from_shape_fn((2, 2, 2), |(i, j, k)| (i * 4 + j * 2 + k) as i64);
    let d: Array1<i64> = einsum!("iii->i", &a3);
    assert_eq!(d, array![0, 7]);
}

#[test]
fn ellipsis_broadcasts_and_sums() {
    let a = Array::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64);
    let v = array![1.0, -1.0, 2.0, 0.5];
    // '...k,k->...': batched matrix-vector product.
    let got: ArrayD<f64> = einsum!("...k,k->...", &a, &v);
    let expect = Array2::from_shape_fn((2, 3), |(i, j)| {
        (0..4).map(|k| a[[i, j, k]] * v[k]).sum::<f64>()
    });
    let expect = expect.into_dyn();
    assert_eq!(got, expect);
    // '...k->k' sums over the ellipsis axes.
    let summed = einsum!("...k->k", &a);
    assert_eq!(summed, a.sum_axis(Axis(0)).sum_axis(Axis(0)));
    // A size-1 ellipsis dimension broadcasts against 2.
    let b = Array::from_shape_fn((1, 4), |(_, k)| k as f64);
    let c: ArrayD<f64> = einsum!("...k,...k->...", &a.slice(s![.., 0, ..]), &b);
    let expect: Array1<f64> = (0..2)
        .map(|i| (0..4).map(|k| a[[i, 0, k]] * k as f64).sum())
        .collect();
    assert_eq!(c, expect.into_dyn());
    // An output ellipsis with no input ellipsis covers nothing.
    let m = arange2(2, 3);
    let same: ArrayD<i64> = einsum!("ij->...ij", &m);
    assert_eq!(same, m.clone().into_dyn());
}

#[test]
fn zero_d_operands_and_zero_size_axes() {
    let s = Array0::from_elem((), 3.0);
    let v = array![1.0, 2.0];
    assert_eq!(einsum!(",i->i", &s, &v), array![3.0, 6.0]);
    let e = Array2::<f64>::zeros((3, 0));
    // A sum over an empty range is zero; an empty output is empty.
    assert_eq!(einsum!("ij->i", &e), array![0.0, 0.0, 0.0]);
    assert_eq!(einsum!("ij->j", &e).len(), 0);
    let t: f64 = einsum!("ij->", &e);
    assert_eq!(t, 0.0);
}

#[test]
fn size_one_broadcasts_under_a_label() {
    let a = array![[2.0], [3.0]]; // (2, 1) under "ij"
    let b = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]; // (3, 2) under "jk"
                                                        // j has size 3; a's size-1 axis is read at 0 for every j.
    let got = einsum!("ij,jk->ik", &a, &b);
    let colsum = b.sum_axis(Axis(0));
    let expect = Array2::from_shape_fn((2, 2), |(i, k)| a[[i, 0]] * colsum[k]);
    assert_eq!(got, expect);
}

#[test]
fn element_types() {
    let a = array![[100u8, 200], [3, 4]];
    let trace: u8 = einsum!("ii", &a);
    assert_eq!(trace, 104);
    let sq: Array2<u8> = einsum!("ij,jk->ik", &a, &a);
    assert_eq!(
        sq[[0, 0]],
        100u8.wrapping_mul(100).wrapping_add(200u8.wrapping_mul(3))
    );
    let i = Complex::new(0.0f64, 1.0);
    let z = array![i, Complex::new(2.0, 0.0)];
    let dot: Complex<f64> = einsum!("i,i", &z, &z);
    assert_eq!(dot, Complex::new(3.0, 0.0)); // i*i + 2*2, not conjugated
    let f = array![1.5f32, 2.0];
    let n: f32 = einsum!("i,i->", &f, &f);
    assert_eq!(n, 6.25);
    let w = array![i64::MAX, 1];
    let sum: i64 = einsum!("i->", &w);
    assert_eq!(sum, i64::MIN);
}

/// Every integer type against a plain loop of its own wrapping arithmetic,
/// with values that overflow: one, two and three operands, a new result,
/// a scalar, and a strided output, in the call site's loops, the loop nest,
/// and the eager kernels (GEMM, threads). (Most of these types run in the
/// code of the built integer type of their width.)
#[test]
fn every_integer_type_wraps_as_itself() {
    let nest = Thresholds {
        small_max_work: 0,
        product_max_work: 0,
        ..Thresholds::DEFAULT
    };
    // Under Miri, which checks the pointer casts of the types computed as
    // others, the run-time path alone: the call site's loops are safe
    // code, and the eager kernels' threads take Miri minutes.
    let all = [Thresholds::DEFAULT, nest, Thresholds::EAGER];
    for thresholds in if cfg!(miri) { &all[1..2] } else { &all[..] } {
        with_thresholds(*thresholds, every_integer_type);
    }
}

fn every_integer_type() {
    macro_rules! check {
        ($($t:ty),*) => {$({
            // Large values of the type, so that products and sums wrap.
            let big = <$t>::MAX / 3;
            let val = |x: usize| big.wrapping_mul(x as $t).wrapping_add(x as $t);
            let a = Array::from_shape_fn((3, 4), |(i, j)| val(i * 4 + j + 1));
            let b = Array::from_shape_fn((4, 5), |(j, k)| val(j * 5 + k + 7));
            let c = Array::from_shape_fn((5, 2), |(k, l)| val(k * 2 + l + 3));
            let mm = |x: &Array2<$t>, y: &Array2<$t>| {
                Array::from_shape_fn((x.nrows(), y.ncols()), |(i, k)| {
                    (0..x.ncols()).fold(0 as $t, |acc, j| {
                        acc.wrapping_add(x[[i, j]].wrapping_mul(y[[j, k]]))
                    })
                })
            };
            let ab = mm(&a, &b);
            assert_eq!(einsum!("ij,jk->ik", &a, &b), ab, "{}", stringify!($t));
            assert_eq!(einsum!("ij,jk,kl->il", &a, &b, &c), mm(&ab, &c), "{}", stringify!($t));
            let sum = a.iter().fold(0 as $t, |s, &x| s.wrapping_add(x));
            let total: $t = einsum!("ij->", &a);
            assert_eq!(total, sum, "{}", stringify!($t));
            let mut out = Array2::<$t>::from_elem((5, 3), 7 as $t);
            einsum_into!(&mut out.view_mut().reversed_axes(), "ij,jk->ik", &a, &b);
            assert_eq!(out.t(), ab, "{}", stringify!($t));
        })*};
    }
    check!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
}

#[test]
fn einsum_into_writes_through_any_strides() {
    let a = arange2(2, 3);
    let b = arange2(3, 2);
    let expect = matmul_loop(&a, &b);
    // Into a transposed view: out.t() receives the product.
    let mut out = Array2::<i64>::from_elem((2, 2), 77);
    einsum_into!(&mut out.view_mut().reversed_axes(), "ij,jk->ki", &a, &b);
    assert_eq!(out, expect);
    // Into a reversed, stepped window of a larger array: only that is written.
    let mut big = Array2::<i64>::from_elem((4, 4), 77);
    let mut win = big.slice_mut(s![..;-2, 1..3]); // rows 3 and 1
    einsum_into!(&mut win, "ij,jk->ik", &a, &b);
    for r in 0..4 {
        for c in 0..4 {
            let want = if r % 2 == 1 && (1..3).contains(&c) {
                expect[[(3 - r) / 2, c - 1]]
            } else {
                77
            };
            assert_eq!(big[[r, c]], want, "at {r}, {c}");
        }
    }
    // A scalar result into a 0-d array.
    let mut z = Array0::from_elem((), 0i64);
    einsum_into!(&mut z, "ij,ij->", &a, &a);
    assert_eq!(z[()], a.iter().map(|x| x * x).sum::<i64>());
    // Dynamic rank output.
    let mut d = ArrayD::<i64>::zeros(IxDyn(&[2, 2]));
    einsum_into!(&mut d, "ij,jk->ik", &a, &b);
    assert_eq!(d, expect.into_dyn());
}

#[test]
fn errors_leave_the_output_untouched() {
    let a = arange2(2, 3);
    let b = arange2(4, 2);
    let mut out = Array2::<i64>::from_elem((2, 2), 9);
    let e = try_einsum_into!(&mut out, "ij,jk->ik", &a, &b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "einsum \"ij,jk->ik\": label `j` has size 3 in operand 0 (axis 1) but 4 in operand 1 (axis 0)"
    );
    assert!(out.iter().all(|&x| x == 9));
    let mut wrong = Array2::<i64>::from_elem((2, 3), 9);
    let e = try_einsum_into!(&mut wrong, "ij->ji", &a).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::OutputShape {
            expected: vec![3, 2],
            found: vec![2, 3]
        }
    );
    assert!(wrong.iter().all(|&x| x == 9));
    let e = try_einsum!("ij,jk->ik", &a, &a; j = 3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "einsum \"ij,jk->ik\": label `j` has size 3 in operand 0 (axis 1) but 2 in operand 1 (axis 0)"
    );
    let e = try_einsum!("ij->i", &a; j = 4).unwrap_err();
    assert_eq!(
        e.to_string(),
        "einsum \"ij->i\": label `j` is bound to size 4 but has size 3 in operand 0 (axis 1)"
    );
    let d = ArrayD::<i64>::zeros(IxDyn(&[2, 2, 2]));
    let e = try_einsum!("ij->i", &d).unwrap_err();
    assert_eq!(
        e.to_string(),
        "einsum \"ij->i\": operand 0 has 3 axes but its term \"ij\" has 2 labels"
    );
    let e = try_einsum!("ii->i", &arange2(1, 3)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "einsum \"ii->i\": label `i` is repeated in operand 0 on axes 0 and 1, which need equal \
         sizes for a diagonal, but have sizes 1 and 3"
    );
}

#[test]
#[should_panic(expected = "label `j` has size 3 in operand 0 (axis 1) but 4 in operand 1 (axis 0)")]
fn einsum_panics_with_the_message() {
    let _ = einsum!("ij,jk->ik", &arange2(2, 3), &arange2(4, 2));
}

#[test]
fn many_operands() {
    let v = array![1i64, 2, 3];
    let m = arange2(3, 3);
    // v^T m m m v, as one five-operand expression.
    let got: i64 = einsum!("i,ij,jk,kl,l", &v, &m, &m, &m, &v);
    let expect = v.dot(&m.dot(&m).dot(&m)).dot(&v);
    assert_eq!(got, expect);
}

#[test]
fn overlapping_windows_are_read_in_place() {
    use einsum::ndarray::{ArrayView, ShapeBuilder};
    // numpy: as_strided(x, shape=(8, 3), strides=(8, 8)) on 10 float64s.
    let data: Vec<f64> = (0..10).map(f64::from).collect();
    let w = ArrayView::from_shape((8, 3).strides((1, 1)), &data).unwrap();
    let k = [1.0, 2.0, 1.0];
    let y = einsum!("xi,i->x", w, &k[..]);
    let expect: Array1<f64> = (0..8)
        .map(|x| data[x] + 2.0 * data[x + 1] + data[x + 2])
        .collect();
    assert_eq!(y, expect);
}

#[test]
fn large_transpositions_match_a_loop() {
    // Large enough for the tiled kernel, with partial tiles at the edges.
    let a = Array::from_shape_fn((100, 70), |(i, j)| (i * 1000 + j) as i64);
    let t = einsum!("ij->ji", &a);
    let b = Array::from_shape_fn((70, 100), |(j, i)| (j * 7 + i) as i64);
    let p = einsum!("ij,ji->ij", &a, &b);
    let q = einsum!("ij,ji->ji", &a, a.t());
    for i in 0..100 {
        for j in 0..70 {
            assert_eq!(t[[j, i]], a[[i, j]]);
            assert_eq!(p[[i, j]], a[[i, j]] * b[[j, i]]);
            assert_eq!(q[[j, i]], a[[i, j]] * a[[i, j]]);
        }
    }
    // Into a transposed output: the inner axes swap roles.
    let mut out = Array2::<i64>::zeros((70, 100));
    einsum_into!(&mut out.view_mut().reversed_axes(), "ij->ij", &a.t().t());
    assert_eq!(out, a.t());
}
