use einsum::einsum;
use einsum::ndarray::{ArrayD, IxDyn};

fn main() {
    let a = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4]));
    let _t: ArrayD<f64> = einsum!("...i...->...i", &a);
}
