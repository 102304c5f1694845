use einsum::einsum_into;
use einsum::ndarray::Array2;

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    einsum_into!("ij->ji", &a);
}
