use einsum::ndarray::{array, Array2};
use einsum::{einsum, einsum_into, try_einsum};

#[test]
fn matmul() {
    let a = array![[1.0, 2.0], [3.0, 4.0]];
    let b = array![[5.0, 6.0], [7.0, 8.0]];
    let c: Array2<f64> = einsum!("ij,jk->ik", &a, &b);
    assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
    let t: f64 = einsum!("ii", &a);
    assert_eq!(t, 5.0);
    let mut out = Array2::zeros((2, 2));
    einsum_into!(&mut out, "ij,jk->ik", &a, &b; j = 2);
    assert_eq!(out, c);
    assert!(try_einsum!("ij,jk->ik", &a, &b; j = 3).is_err());
    // Literal operands take the element type of the others.
    let v = einsum!("ij,j->i", &a, &[1.0, -1.0][..]);
    assert_eq!(v, array![-1.0, -1.0]);
}
