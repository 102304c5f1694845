use einsum::einsum;
use einsum::ndarray::{Array1, Array2};

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let _m: Array1<f64> = einsum!("ij->i", &a; reduce = mean);
}
