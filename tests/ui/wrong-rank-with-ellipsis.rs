use einsum::einsum;
use einsum::ndarray::{Array1, ArrayD};

fn main() {
    let a = Array1::<f64>::zeros(3);
    let _t: ArrayD<f64> = einsum!("ij...->...ji", &a);
}
