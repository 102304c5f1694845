use einsum::einsum;
use einsum::ndarray::Array2;

const SUBSCRIPTS: &str = "ij->ji";

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let _t: Array2<f64> = einsum!(SUBSCRIPTS, &a);
}
