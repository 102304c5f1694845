use einsum::einsum;
use einsum::ndarray::Array2;

const SUBSCRIPTS: &str = "ij->ji";

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let t = einsum!(SUBSCRIPTS, &a);
    let _x: f64 = t[[0, 0]];
}
