use einsum::einsum;
use einsum::ndarray::Array2;

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let b = Array2::<f64>::zeros((3, 4));
    let _c: Array2<f64> = einsum!("ij,jk->ik", &a, &b; alpha = 1.0, alpha = 2.0);
}
