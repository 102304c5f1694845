use einsum::einsum_into;
use einsum::ndarray::Array2;
use einsum::windows::windows2_mut;

fn main() {
    let mut img = Array2::<f64>::zeros((4, 4));
    let (a, k) = (Array2::<f64>::ones((3, 3)), Array2::<f64>::ones((2, 2)));
    einsum_into!(windows2_mut(&mut img, (2, 2), (1, 1)).unwrap(), "xy,ij->xyij", &a, &k);
}
