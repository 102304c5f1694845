//! A first look at `einsum!`: numpy's subscripts on ndarray arrays, each
//! result checked against the plain loop it stands for.
//!
//! Run with `cargo run --release --example quickstart`.

use einsum::ndarray::{s, Array, Array1, Array2, Array3};
use einsum::{einsum, einsum_into, try_einsum};

fn main() {
    let a = Array::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
    let b = Array::from_shape_fn((4, 2), |(j, k)| (j as f64) - (k as f64));
    println!("a =\n{a}\nb =\n{b}\n");

    // Matrix product: c[i,k] = Σ_j a[i,j] b[j,k].
    let c: Array2<f64> = einsum!("ij,jk->ik", &a, &b);
    let mut expect = Array2::<f64>::zeros((3, 2));
    for i in 0..3 {
        for k in 0..2 {
            for j in 0..4 {
                expect[[i, k]] += a[[i, j]] * b[[j, k]];
            }
        }
    }
    assert_eq!(c, expect);
    println!("einsum!(\"ij,jk->ik\", &a, &b) =\n{c}\n");

    // Implicit mode, as in numpy: the output is the labels seen once, sorted.
    assert_eq!(einsum!("ij,jk", &a, &b), c);

    // Transpose, row sums, trace: views, reductions and a scalar result.
    let t = einsum!("ij->ji", &a);
    assert_eq!(t, a.t());
    let rows: Array1<f64> = einsum!("ij->i", &a);
    println!("row sums  einsum!(\"ij->i\", &a) = {rows}");
    let sq = a.slice(s![.., ..3]);
    let trace: f64 = einsum!("ii", sq);
    assert_eq!(trace, sq.diag().sum());
    println!("trace     einsum!(\"ii\", a[:, :3]) = {trace}");

    // Operands are read in place, whatever their strides: here a reversed,
    // stepped view.
    let v = a.slice(s![..;-1, ..;2]);
    let dot: f64 = einsum!("ij,ij->", v, v);
    assert_eq!(dot, v.iter().map(|x| x * x).sum::<f64>());
    println!("sum of squares of a[::-1, ::2] = {dot}");

    // Batched products with an ellipsis, broadcasting like numpy.
    let batch = Array3::from_shape_fn((2, 3, 4), |(n, i, j)| (n + i * j) as f64);
    let y = einsum!("...ij,jk->...ik", &batch, &b);
    println!(
        "\"...ij,jk->...ik\" on {:?} and {:?} gives {:?}",
        batch.shape(),
        b.shape(),
        y.shape()
    );

    // Into an existing array, with no allocation.
    let mut out = Array2::<f64>::zeros((2, 3));
    einsum_into!(&mut out, "ij,jk->ki", &a, &b);
    assert_eq!(out, c.t());

    // Shapes are checked when the call runs; the error names what is wrong.
    let e = try_einsum!("ij,jk->ik", &a, &a).unwrap_err();
    println!("\ntry_einsum!(\"ij,jk->ik\", &a, &a) -> Err: {e}");
    println!("\nall results match their plain loops");
}
