use einsum::ndarray::Array2;
use einsum::try_einsum;

fn main() {
    let a = Array2::<f64>::zeros((2, 3));
    let b = Array2::<f64>::zeros((3, 4));
    let c = try_einsum!("ij,jk->ik!", &a, &b).unwrap();
    let _x: f64 = c[[0, 0]];
}
