use einsum::einsum_into;
use einsum::ndarray::Array2;

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let b = Array2::<f64>::zeros((3, 4));
    let mut out = Array2::<f64>::zeros((2, 4));
    let () = einsum_into!(&mut out, "ij,jk->ik!", &a, &b);
}
