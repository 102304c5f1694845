// One mistake in `einsum_path!` gives one error, and the plan it would
// have returned keeps its type, so the code after it raises nothing more.
use einsum::einsum_path;
use einsum::ndarray::Array2;

fn main() {
    let a = Array2::<f64>::zeros((2, 2));
    let plan = einsum_path!("ij,jk,kl->im", &a, &a, &a);
    let flops: u128 = plan.flops();
    println!("{flops} {plan}");
}
