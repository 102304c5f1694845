//! The gradients of `examples/cnn`'s network, every element of each against
//! a central finite difference of the loss, on a network small enough to
//! perturb one weight at a time.

#[allow(dead_code, reason = "the training loop's helpers are the example's")]
#[path = "../examples/cnn/net.rs"]
mod net;

use einsum::ndarray::{Array, Array4, Dimension};
use net::{Conv, Net, Params, Shape};

const EPS: f64 = 1e-6;
const RELATIVE: f64 = 1e-5;
/// Below this the difference is rounding: the loss is about 1, so a
/// central difference carries an error near 1e-16 / EPS.
const ABSOLUTE: f64 = 1e-9;

/// Two 10×10 images of 2 channels, 3 classes; the first convolution strided
/// and the second not, so that a gradient given the other layer's stride
/// fails.
fn tiny() -> (Net<f64>, Array4<f64>, Vec<usize>) {
    let shape = Shape {
        channels: 2,
        conv1: Conv {
            kernel: 3,
            stride: 2,
            filters: 2,
        },
        conv2: Conv {
            kernel: 3,
            stride: 1,
            filters: 3,
        },
        classes: 3,
    };
    let mut params = Params::init(&shape, 10);
    // A bias that is not zero, so that its gradient is tested at a general
    // point.
    params.b = Array::from_vec(vec![0.1, -0.2, 0.05]);
    let x = Array::from_shape_fn((2, 10, 10, 2), |(n, i, j, c)| {
        let v = (n * 37 + i * 11 + j * 7 + c * 5) % 17;
        v as f64 / 8.0 - 0.9
    });
    (Net { shape, params }, x, vec![2, 0])
}

/// Compares `analytic` with `(loss(+EPS) − loss(−EPS)) / 2·EPS` at each
/// element, `loss(k, d)` being the loss with element `k` (in logical order)
/// moved by `d`.
fn check<D: Dimension>(name: &str, analytic: &Array<f64, D>, loss: impl Fn(usize, f64) -> f64) {
    let mut worst = 0.0f64;
    let mut nonzero = 0;
    for (k, &a) in analytic.iter().enumerate() {
        let fd = (loss(k, EPS) - loss(k, -EPS)) / (2.0 * EPS);
        let err = (a - fd).abs();
        assert!(
            err <= RELATIVE * a.abs().max(fd.abs()) + ABSOLUTE,
            "{name}[{k}] (shape {:?}): backward gives {a:e}, finite differences {fd:e}",
            analytic.shape()
        );
        worst = worst.max(err / a.abs().max(fd.abs()).max(1e-300));
        nonzero += usize::from(a.abs() > 1e-6);
    }
    println!(
        "{name}: {} elements, {nonzero} non-zero, largest relative difference {worst:.1e}",
        analytic.len()
    );
    assert_eq!(
        nonzero,
        analytic.len(),
        "{name}: a zero gradient matches finite differences whatever backward computes"
    );
}

/// The loss of `net` on `x` with one element of one parameter moved.
fn moved(
    net: &Net<f64>,
    x: &Array4<f64>,
    labels: &[usize],
    pick: impl Fn(&mut Params<f64>) -> &mut [f64],
    k: usize,
    d: f64,
) -> f64 {
    let mut net = net.clone();
    pick(&mut net.params)[k] += d;
    net.forward(x).unwrap().loss(labels)
}

#[test]
fn every_gradient_matches_finite_differences() {
    let (net, x, labels) = tiny();
    let fwd = net.forward(&x).unwrap();
    let grads = net.backward(&x, &fwd, &labels).unwrap();
    let g = &grads.params;

    // The parameters are in standard order, so logical order is memory order.
    fn slice<D: Dimension>(a: &mut Array<f64, D>) -> &mut [f64] {
        a.as_slice_mut().expect("a standard-order parameter")
    }
    // In the order backward computes them, so that the first failure names
    // the first wrong step.
    check("dense bias", &g.b, |k, d| {
        moved(&net, &x, &labels, |p| slice(&mut p.b), k, d)
    });
    check("dense weights", &g.w, |k, d| {
        moved(&net, &x, &labels, |p| slice(&mut p.w), k, d)
    });
    check("conv 2 filter", &g.f2, |k, d| {
        moved(&net, &x, &labels, |p| slice(&mut p.f2), k, d)
    });
    check("conv 2 input", &grads.a1, |k, d| {
        let mut a1 = fwd.a1.clone();
        slice(&mut a1)[k] += d;
        net.forward_from_hidden(a1).unwrap().loss(&labels)
    });
    check("conv 1 filter", &g.f1, |k, d| {
        moved(&net, &x, &labels, |p| slice(&mut p.f1), k, d)
    });
}
