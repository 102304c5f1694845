use einsum::einsum;
use einsum::ndarray::{ArrayD, IxDyn};

fn main() {
    // One more label than an operand may have axes (einsum::MAX_AXES = 64).
    let a = ArrayD::<f64>::zeros(IxDyn(&[1; 65]));
    let _d: f64 = einsum!("iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", &a);
}
