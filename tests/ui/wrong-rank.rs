use einsum::einsum;
use einsum::ndarray::{Array2, Array3};

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let _t: Array3<f64> = einsum!("ijk->kji", &a);
}
