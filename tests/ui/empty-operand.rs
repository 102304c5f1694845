use einsum::einsum;
use einsum::ndarray::Array1;

fn main() {
    let a = Array1::<f64>::zeros(3);
    let _d: f64 = einsum!("i,i->", &a, , &a);
}
