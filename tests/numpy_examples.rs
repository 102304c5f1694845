//! The examples of numpy's `np.einsum` docstring, with the results numpy
//! documents, and einsum forms of `np.trace`, `np.diagonal`, `np.sum`,
//! `np.inner`, `np.outer`, `np.dot`, `np.matmul`, `np.tensordot` and
//! `np.kron`. Each expected value is written out here, derived from the
//! definition (`a[i, j] = 5 i + j` for `np.arange(25).reshape(5, 5)`, etc.).

use einsum::ndarray::{
    arr0, arr1, arr2, arr3, Array, Array1, Array2, Array3, Array4, ArrayD, Dimension,
    IntoDimension, IxDyn,
};
use einsum::{einsum, einsum_into, try_einsum};

/// `np.arange(n)` reshaped (row-major) to `shape`, as i64.
fn arange<D: Dimension>(shape: impl IntoDimension<Dim = D>) -> Array<i64, D> {
    let dim = shape.into_dimension();
    let n = dim.size() as i64;
    Array::from_shape_vec(dim, (0..n).collect()).unwrap()
}

/// `a = np.arange(25).reshape(5, 5)`, `b = np.arange(5)`, `c = np.arange(6).reshape(2, 3)`.
fn abc() -> (Array2<i64>, Array1<i64>, Array2<i64>) {
    (arange((5, 5)), arange(5), arange((2, 3)))
}

#[test]
fn trace() {
    let (a, _, _) = abc();
    // np.einsum('ii', a) == np.trace(a) == 60
    let t: i64 = einsum!("ii", &a);
    assert_eq!(t, 60);
    let t: i64 = einsum!("ii->", &a);
    assert_eq!(t, 60);
    let t: i64 = einsum!("ii", a.view());
    assert_eq!(t, 6 + 12 + 18 + 24);
}

#[test]
fn diagonal() {
    let (a, _, _) = abc();
    // np.einsum('ii->i', a) == np.diag(a)
    let d: Array1<i64> = einsum!("ii->i", &a);
    assert_eq!(d, arr1(&[0, 6, 12, 18, 24]));
}

#[test]
fn sum_over_an_axis() {
    let (a, _, _) = abc();
    // np.einsum('ij->i', a) == np.einsum('...j->...', a) == np.sum(a, axis=1)
    let want = arr1(&[10, 35, 60, 85, 110]);
    let s: Array1<i64> = einsum!("ij->i", &a);
    assert_eq!(s, want);
    let s: ArrayD<i64> = einsum!("...j->...", &a);
    assert_eq!(s, want.clone().into_dyn());
    // np.einsum('i...->...', a) == np.sum(a, axis=0)
    let s: ArrayD<i64> = einsum!("i...->...", &a);
    assert_eq!(s, arr1(&[50, 55, 60, 65, 70]).into_dyn());
    // np.sum(a) == np.einsum('ij->', a)
    let s: i64 = einsum!("ij->", &a);
    assert_eq!(s, 300);
}

#[test]
fn transpose() {
    let (_, _, c) = abc();
    // np.einsum('ji', c) == np.einsum('ij->ji', c) == c.T
    let want = arr2(&[[0, 3], [1, 4], [2, 5]]);
    let t: Array2<i64> = einsum!("ji", &c);
    assert_eq!(t, want);
    let t: Array2<i64> = einsum!("ij->ji", &c);
    assert_eq!(t, want);
}

#[test]
fn scalar_multiplication() {
    let (_, _, c) = abc();
    // np.einsum('..., ...', 3, c) == np.einsum(',ij', 3, c) == np.multiply(3, c)
    let three = arr0(3i64);
    let want = arr2(&[[0, 3, 6], [9, 12, 15]]);
    let m: ArrayD<i64> = einsum!("..., ...", &three, &c);
    assert_eq!(m, want.clone().into_dyn());
    let m: Array2<i64> = einsum!(",ij", &three, &c);
    assert_eq!(m, want);
}

#[test]
fn vector_inner_product() {
    let (_, b, _) = abc();
    // np.einsum('i,i', b, b) == np.inner(b, b) == 30
    let s: i64 = einsum!("i,i", &b, &b);
    assert_eq!(s, 30);
    let v = b.to_vec();
    let s: i64 = einsum!("i,i->", &v, &v[..]);
    assert_eq!(s, 30);
}

#[test]
fn matrix_vector_multiplication() {
    let (a, b, _) = abc();
    // np.einsum('ij,j', a, b) == np.einsum('...j,j', a, b) == np.dot(a, b)
    let want = arr1(&[30, 80, 130, 180, 230]);
    let m: Array1<i64> = einsum!("ij,j", &a, &b);
    assert_eq!(m, want);
    let m: ArrayD<i64> = einsum!("...j,j", &a, &b);
    assert_eq!(m, want.into_dyn());
}

#[test]
fn vector_outer_product() {
    let (_, b, _) = abc();
    // np.einsum('i,j', np.arange(2) + 1, b) == np.outer(np.arange(2) + 1, b)
    let x = arr1(&[1i64, 2]);
    let o: Array2<i64> = einsum!("i,j", &x, &b);
    assert_eq!(o, arr2(&[[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]]));
}

#[test]
fn tensor_contraction() {
    // a = np.arange(60.).reshape(3, 4, 5); b = np.arange(24.).reshape(4, 3, 2)
    // np.einsum('ijk,jil->kl', a, b) == np.tensordot(a, b, axes=([1, 0], [0, 1]))
    let a: Array3<f64> = arange((3, 4, 5)).mapv(|x| x as f64);
    let b: Array3<f64> = arange((4, 3, 2)).mapv(|x| x as f64);
    let want = arr2(&[
        [4400., 4730.],
        [4532., 4874.],
        [4664., 5018.],
        [4796., 5162.],
        [4928., 5306.],
    ]);
    let t: Array2<f64> = einsum!("ijk,jil->kl", &a, &b);
    assert_eq!(t, want);
    // implicit mode gives the same ("kl" are the labels seen once)
    let t: Array2<f64> = einsum!("ijk,jil", &a, &b);
    assert_eq!(t, want);
    // and into a preallocated, transposed output
    let mut out = Array2::<f64>::from_elem((2, 5), -1.0);
    einsum_into!(&mut out.view_mut().reversed_axes(), "ijk,jil->kl", &a, &b);
    assert_eq!(out.t(), want);
}

#[test]
fn ellipsis_examples() {
    // a = np.arange(6).reshape((3, 2)); b = np.arange(12).reshape((4, 3))
    // np.einsum('ki,jk->ij', a, b) == np.einsum('ki,...k->i...', a, b)
    //                             == np.einsum('k...,jk', a, b)
    let a: Array2<i64> = arange((3, 2));
    let b: Array2<i64> = arange((4, 3));
    let want = arr2(&[[10, 28, 46, 64], [13, 40, 67, 94]]);
    let m: Array2<i64> = einsum!("ki,jk->ij", &a, &b);
    assert_eq!(m, want);
    let m: ArrayD<i64> = einsum!("ki,...k->i...", &a, &b);
    assert_eq!(m, want.clone().into_dyn());
    let m: ArrayD<i64> = einsum!("k...,jk", &a, &b);
    assert_eq!(m, want.into_dyn());
}

#[test]
fn chained_operations() {
    // a = np.ones(64).reshape(2, 4, 8)
    // np.einsum('ijk,ilm,njm,nlk,abc->', a, a, a, a, a)
    //   = (i j k l m n: 2*4*8*4*8*2 = 4096) * (a b c: 64) = 262144
    let a = Array3::<f64>::ones((2, 4, 8));
    let s: f64 = einsum!("ijk,ilm,njm,nlk,abc->", &a, &a, &a, &a, &a);
    assert_eq!(s, 262144.0);
}

#[test]
fn trace_and_diagonal_of_a_3d_array() {
    // x = np.arange(18).reshape(3, 3, 2); x[i, j, k] = 6 i + 2 j + k
    let x: Array3<i64> = arange((3, 3, 2));
    // np.diagonal(x, axis1=0, axis2=1): the diagonal axis goes last
    let d: Array2<i64> = einsum!("iik->ki", &x);
    assert_eq!(d, arr2(&[[0, 8, 16], [1, 9, 17]]));
    // np.trace(x) sums that diagonal
    let t: Array1<i64> = einsum!("iik->k", &x);
    assert_eq!(t, arr1(&[24, 27]));
    let t: Array1<i64> = einsum!("iik", &x);
    assert_eq!(t, arr1(&[24, 27]));
}

#[test]
fn inner_outer_dot_matmul() {
    let (_, b, c) = abc();
    // np.inner(c, c): sums over the last axes
    let m: Array2<i64> = einsum!("ik,jk->ij", &c, &c);
    assert_eq!(m, arr2(&[[5, 14], [14, 50]]));
    // np.dot(c, c.T) == np.matmul(c, c.T), c.T read in place
    let m: Array2<i64> = einsum!("ij,jk->ik", &c, &c.t());
    assert_eq!(m, arr2(&[[5, 14], [14, 50]]));
    // np.dot(c.T, c)
    let m: Array2<i64> = einsum!("ji,jk", &c, &c);
    assert_eq!(m, arr2(&[[9, 12, 15], [12, 17, 22], [15, 22, 29]]));
    // np.outer(b[:3], c[0])
    let o: Array2<i64> = einsum!("i,j->ij", b.slice(einsum::ndarray::s![..3]), c.row(0));
    assert_eq!(o, arr2(&[[0, 0, 0], [0, 1, 2], [0, 2, 4]]));
    // np.matmul on a batch: m = np.arange(12).reshape(2, 2, 3), n = np.arange(12).reshape(2, 3, 2)
    let m3: Array3<i64> = arange((2, 2, 3));
    let n3: Array3<i64> = arange((2, 3, 2));
    let p: Array3<i64> = einsum!("bij,bjk->bik", &m3, &n3);
    assert_eq!(p, arr3(&[[[10, 13], [28, 40]], [[172, 193], [244, 274]]]));
    let p: ArrayD<i64> = einsum!("...ij,...jk->...ik", &m3, &n3);
    assert_eq!(
        p,
        arr3(&[[[10, 13], [28, 40]], [[172, 193], [244, 274]]]).into_dyn()
    );
}

#[test]
fn tensordot_forms() {
    let (_, _, c) = abc();
    let x = arr1(&[1i64, 2]);
    // np.tensordot(c, x, axes=0): an outer product, c's axes first
    let t: Array3<i64> = einsum!("ij,k->ijk", &c, &x);
    assert_eq!(
        t,
        arr3(&[[[0, 0], [1, 2], [2, 4]], [[3, 6], [4, 8], [5, 10]]])
    );
    // np.tensordot(c, c.T, axes=1) == c @ c.T
    let t: Array2<i64> = einsum!("ij,jk", &c, &c.t());
    assert_eq!(t, arr2(&[[5, 14], [14, 50]]));
    // np.tensordot(c, c, axes=2) == np.sum(c * c) == 0+1+4+9+16+25
    let t: i64 = einsum!("ij,ij", &c, &c);
    assert_eq!(t, 55);
}

#[test]
fn kron() {
    // np.kron(p, q) == np.einsum('ij,kl->ikjl', p, q).reshape(4, 4)
    let p = arr2(&[[1i64, 2], [3, 4]]);
    let q = arr2(&[[0i64, 5], [6, 7]]);
    let k: Array4<i64> = einsum!("ij,kl->ikjl", &p, &q);
    let k = k.into_shape_with_order((4, 4)).unwrap();
    assert_eq!(
        k,
        arr2(&[
            [0, 5, 0, 10],
            [6, 7, 12, 14],
            [0, 15, 0, 20],
            [18, 21, 24, 28]
        ])
    );
}

#[test]
fn dynamic_operands_give_the_same_results() {
    // The docstring's arrays as IxDyn operands.
    let (a, b, c) = abc();
    let (ad, bd, cd) = (a.into_dyn(), b.into_dyn(), c.into_dyn());
    let t: i64 = try_einsum!("ii", &ad).unwrap();
    assert_eq!(t, 60);
    let m: Array1<i64> = einsum!("ij,j", &ad, &bd);
    assert_eq!(m, arr1(&[30, 80, 130, 180, 230]));
    let t: Array2<i64> = einsum!("ji", &cd);
    assert_eq!(t, arr2(&[[0, 3], [1, 4], [2, 5]]));
    let s: ArrayD<i64> = einsum!("...j->...", &ad);
    assert_eq!(
        s,
        ArrayD::from_shape_vec(IxDyn(&[5]), vec![10, 35, 60, 85, 110]).unwrap()
    );
}
