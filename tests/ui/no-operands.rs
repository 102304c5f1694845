use einsum::einsum;

fn main() {
    let t = einsum!("ij->ji");
    let _x: f64 = t[[0, 0]];
}
