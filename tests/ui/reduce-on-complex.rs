use einsum::einsum;
use einsum::ndarray::Array2;
use einsum::num_complex::Complex;

fn main() {
    let a = Array2::<Complex<f64>>::zeros((2, 3));
    let _m = einsum!("ij->i", &a; reduce = max);
}
