//! The model: two convolutions with ReLU, global average pooling, a dense
//! layer and softmax cross-entropy, on channels-last (NHWC) batches. Every
//! contraction of the forward and the backward pass is one einsum.

use einsum::ndarray::{Array1, Array2, Array4, ArrayRef, Axis, Ix4, NdFloat, Zip};
use einsum::windows::{windows_nhwc, windows_nhwc_mut};
use einsum::{einsum, einsum_into, EinsumError, Scalar};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The element types the network runs in: `f32` to train, `f64` to check
/// the gradients against finite differences.
pub trait Real: Scalar + NdFloat {
    /// `x` rounded to this type.
    fn of(x: f64) -> Self;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
}

/// A square convolution: `filters` filters of `kernel`×`kernel`, moved by
/// `stride` in both directions, no padding.
#[derive(Clone, Copy, Debug)]
pub struct Conv {
    pub kernel: usize,
    pub stride: usize,
    pub filters: usize,
}

impl Conv {
    /// The output's side for an input side of `n`.
    pub fn out(&self, n: usize) -> usize {
        1 + (n - self.kernel) / self.stride
    }

    fn window(&self) -> ((usize, usize), (usize, usize)) {
        ((self.kernel, self.kernel), (self.stride, self.stride))
    }
}

/// The sizes of a network for inputs with `channels` channels (of any
/// height and width the convolutions fit in).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub channels: usize,
    pub conv1: Conv,
    pub conv2: Conv,
    pub classes: usize,
}

/// The weights, or anything shaped like them (gradients, velocities).
#[derive(Clone, Debug)]
pub struct Params<T> {
    /// (kh, kw, channels, conv1.filters)
    pub f1: Array4<T>,
    /// (kh, kw, conv1.filters, conv2.filters)
    pub f2: Array4<T>,
    /// (classes, conv2.filters)
    pub w: Array2<T>,
    /// (classes)
    pub b: Array1<T>,
}

impl<T: Real> Params<T> {
    /// Zeros of every parameter's shape.
    pub fn zeros(shape: &Shape) -> Self {
        let (c1, c2) = (shape.conv1, shape.conv2);
        Params {
            f1: Array4::zeros((c1.kernel, c1.kernel, shape.channels, c1.filters)),
            f2: Array4::zeros((c2.kernel, c2.kernel, c1.filters, c2.filters)),
            w: Array2::zeros((shape.classes, c2.filters)),
            b: Array1::zeros(shape.classes),
        }
    }

    /// He initialisation: uniform in ±√(6 / fan-in), so that a ReLU layer
    /// keeps the variance of its input; the bias starts at zero.
    pub fn init(shape: &Shape, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut p = Self::zeros(shape);
        for f in [&mut p.f1, &mut p.f2] {
            let (kh, kw, c, _) = f.dim();
            let bound = (6.0 / (kh * kw * c) as f64).sqrt();
            f.mapv_inplace(|_| T::of(rng.random_range(-bound..bound)));
        }
        let bound = (6.0 / shape.conv2.filters as f64).sqrt();
        p.w.mapv_inplace(|_| T::of(rng.random_range(-bound..bound)));
        p
    }
}

/// What the backward pass reads of the forward pass.
pub struct Forward<T> {
    /// conv 1 after its ReLU: the input of conv 2, (B, H1, W1, D1)
    pub a1: Array4<T>,
    /// conv 2 after its ReLU, (B, H2, W2, D2)
    pub a2: Array4<T>,
    /// the average of `a2` over its positions, (B, D2)
    pub pooled: Array2<T>,
    /// log softmax of the dense layer's output, (B, classes)
    pub log_probs: Array2<T>,
}

impl<T: Real> Forward<T> {
    /// The mean cross-entropy of the batch against `labels`.
    pub fn loss(&self, labels: &[usize]) -> T {
        let total = labels
            .iter()
            .enumerate()
            .fold(T::of(0.0), |acc, (n, &l)| acc - self.log_probs[[n, l]]);
        total / T::of(labels.len() as f64)
    }

    /// The most probable class of each image.
    pub fn predictions(&self) -> Vec<usize> {
        self.log_probs
            .rows()
            .into_iter()
            .map(|row| {
                let mut best = 0;
                for (k, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = k;
                    }
                }
                best
            })
            .collect()
    }
}

/// The gradients of the loss.
pub struct Grads<T> {
    /// With respect to every parameter.
    pub params: Params<T>,
    /// With respect to conv 2's input `a1`: how the loss reaches conv 1.
    #[allow(
        dead_code,
        reason = "training needs only the parameters' gradients; the test checks it"
    )]
    pub a1: Array4<T>,
}

/// `y[b, x, y, d] = Σ_ijc x[b, x·s + i, y·s + j, c] · f[i, j, c, d]`.
fn conv<T: Real>(
    x: &ArrayRef<T, Ix4>,
    f: &Array4<T>,
    conv: Conv,
) -> Result<Array4<T>, EinsumError> {
    let (k, s) = conv.window();
    Ok(einsum!("bxyijc,ijcd->bxyd", windows_nhwc(x, k, s)?, f))
}

fn relu<T: Real>(v: T) -> T {
    v.max(T::of(0.0))
}

/// Zeroes the gradient where the ReLU's output is zero: there the unit's
/// input was negative, and a change to it changes nothing.
fn relu_backward<T: Real>(grad: &mut Array4<T>, out: &Array4<T>) {
    Zip::from(grad).and(out).for_each(|g, &a| {
        if a <= T::of(0.0) {
            *g = T::of(0.0);
        }
    });
}

/// A network: its sizes and its weights.
#[derive(Clone, Debug)]
pub struct Net<T> {
    pub shape: Shape,
    pub params: Params<T>,
}

impl<T: Real> Net<T> {
    /// The forward pass of a batch `x`, (B, H, W, channels).
    pub fn forward(&self, x: &ArrayRef<T, Ix4>) -> Result<Forward<T>, EinsumError> {
        let a1 = conv(x, &self.params.f1, self.shape.conv1)?.mapv(relu);
        self.forward_from_hidden(a1)
    }

    /// The forward pass from conv 2's input on.
    pub fn forward_from_hidden(&self, a1: Array4<T>) -> Result<Forward<T>, EinsumError> {
        let p = &self.params;
        let a2 = conv(&a1, &p.f2, self.shape.conv2)?.mapv(relu);
        let (_, h, w, _) = a2.dim();
        let pooled = einsum!("bxyc->bc", &a2; alpha = T::of(1.0 / (h * w) as f64));
        let logits = einsum!("bc,oc->bo", &pooled, &p.w) + &p.b;
        // log softmax, shifted by each row's largest value so exp cannot
        // overflow
        let top = logits.map_axis(Axis(1), |row| row.fold(T::neg_infinity(), |m, &v| m.max(v)));
        let shifted = logits - &top.insert_axis(Axis(1));
        let log_sum = shifted.mapv(T::exp).sum_axis(Axis(1)).mapv(T::ln);
        let log_probs = shifted - &log_sum.insert_axis(Axis(1));
        Ok(Forward {
            a1,
            a2,
            pooled,
            log_probs,
        })
    }

    /// The gradients of `fwd.loss(labels)`, `fwd` being `self.forward(x)`.
    pub fn backward(
        &self,
        x: &ArrayRef<T, Ix4>,
        fwd: &Forward<T>,
        labels: &[usize],
    ) -> Result<Grads<T>, EinsumError> {
        let p = &self.params;
        let (conv1, conv2) = (self.shape.conv1, self.shape.conv2);

        // Softmax cross-entropy, averaged: (softmax − one-hot) / B.
        let mut dlogits = fwd.log_probs.mapv(T::exp);
        for (mut row, &l) in dlogits.rows_mut().into_iter().zip(labels) {
            row[l] -= T::of(1.0);
        }
        dlogits /= T::of(labels.len() as f64);
        let dw = einsum!("bo,bc->oc", &dlogits, &fwd.pooled);
        let db = einsum!("bo->o", &dlogits);
        let dpooled = einsum!("bo,oc->bc", &dlogits, &p.w);

        // The average pool hands each position 1/(H·W) of its channel's
        // gradient.
        let (_, h, w, _) = fwd.a2.dim();
        let share = dpooled / T::of((h * w) as f64);
        let mut dz2 = share
            .insert_axis(Axis(1))
            .insert_axis(Axis(1))
            .broadcast(fwd.a2.raw_dim())
            .expect("(B, 1, 1, D2) broadcasts to (B, H2, W2, D2)")
            .to_owned();
        relu_backward(&mut dz2, &fwd.a2);

        let (k2, s2) = conv2.window();
        let df2 = einsum!("bxyijc,bxyd->ijcd", windows_nhwc(&fwd.a1, k2, s2)?, &dz2);
        // Each window's column added back where the window read it:
        // overlapping windows add up (numpy: col2im through `np.add.at`).
        let mut da1 = Array4::zeros(fwd.a1.raw_dim());
        let one = <T as Scalar>::one();
        einsum_into!(windows_nhwc_mut(&mut da1, k2, s2)?, "bxyd,ijcd->bxyijc", &dz2, &p.f2; beta = one);

        let mut dz1 = da1.clone();
        relu_backward(&mut dz1, &fwd.a1);
        let (k1, s1) = conv1.window();
        let df1 = einsum!("bxyijc,bxyd->ijcd", windows_nhwc(x, k1, s1)?, &dz1);

        Ok(Grads {
            params: Params {
                f1: df1,
                f2: df2,
                w: dw,
                b: db,
            },
            a1: da1,
        })
    }
}
