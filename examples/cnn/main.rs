//! A small convolutional network trained on generated images, with every
//! contraction of the forward and backward passes an einsum (see `net.rs`).
//!
//! The data: 28×28 grayscale images of six kinds of shape (square, disk,
//! horizontal bar, vertical bar, cross, triangle) at a random place, size
//! and brightness, with noise. The network: conv 5×5 stride 2 (1 → 8) →
//! ReLU → conv 3×3 stride 1 (8 → 16) → ReLU → global average pool → dense →
//! softmax cross-entropy, trained by SGD with momentum.
//!
//! Run with `cargo run --release --example cnn`. Sample images, the loss
//! curve and the first layer's filters go to `target/cnn/` as PNG files, or
//! to the folder given as the first argument.

mod net;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use einsum::einsum_into;
use einsum::ndarray::{s, Array2, Array4, ArrayView2, Axis};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::{BitMapBackend, ChartBuilder, IntoDrawingArea, LineSeries};
use plotters::style::{Color, RGBColor, BLACK, WHITE};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use net::{Conv, Net, Params, Shape};

const SIDE: usize = 28;
const CLASSES: [&str; 6] = [
    "square",
    "disk",
    "horizontal bar",
    "vertical bar",
    "cross",
    "triangle",
];
const TRAIN: usize = 8000;
const HELD_OUT: usize = 1000;
const EPOCHS: usize = 5;
const BATCH: usize = 25;
const LEARNING_RATE: f32 = 0.1;
/// The learning rate's factor from one epoch to the next: large steps
/// early, small ones to settle.
const DECAY: f32 = 0.6;
const MOMENTUM: f32 = 0.9;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cnn"));
    let start = Instant::now();

    let (train_x, train_y) = dataset(TRAIN, 1);
    let (test_x, test_y) = dataset(HELD_OUT, 2);
    println!(
        "data: {TRAIN} training and {HELD_OUT} held-out {SIDE}×{SIDE} images of {} shapes ({}), \
         made in {:.2} s",
        CLASSES.len(),
        CLASSES.join(", "),
        start.elapsed().as_secs_f64()
    );

    let shape = Shape {
        channels: 1,
        conv1: Conv {
            kernel: 5,
            stride: 2,
            filters: 8,
        },
        conv2: Conv {
            kernel: 3,
            stride: 1,
            filters: 16,
        },
        classes: CLASSES.len(),
    };
    let mut net = Net {
        shape,
        params: Params::<f32>::init(&shape, 3),
    };
    let mut velocity = Params::zeros(&shape);
    let (c1, c2) = (shape.conv1, shape.conv2);
    let (h1, h2) = (c1.out(SIDE), c2.out(c1.out(SIDE)));
    println!(
        "network: (B, {SIDE}, {SIDE}, 1) → conv {k}×{k}/{s} → (B, {h1}, {h1}, {d1}) → \
         conv {kk}×{kk}/{ss} → (B, {h2}, {h2}, {d2}) → mean → (B, {d2}) → dense → (B, {})",
        shape.classes,
        k = c1.kernel,
        s = c1.stride,
        d1 = c1.filters,
        kk = c2.kernel,
        ss = c2.stride,
        d2 = c2.filters,
    );

    let batches = TRAIN / BATCH;
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} batches, running loss {msg}",
    )?
    .progress_chars("=> ");
    let mut order: Vec<usize> = (0..TRAIN).collect();
    let mut rng = SmallRng::seed_from_u64(4);
    // Each batch's loss, and its exponential average: one batch's is noisy.
    let mut losses = Vec::with_capacity(EPOCHS * batches);
    let mut smooth: Vec<f32> = Vec::with_capacity(EPOCHS * batches);
    for epoch in 1..=EPOCHS {
        let t = Instant::now();
        let lr = LEARNING_RATE * DECAY.powi(epoch as i32 - 1);
        order.shuffle(&mut rng);
        let bar = ProgressBar::new(batches as u64)
            .with_style(style.clone())
            .with_prefix(format!("epoch {epoch}/{EPOCHS}"));
        for idx in order.chunks_exact(BATCH) {
            let x = train_x.select(Axis(0), idx);
            let labels: Vec<usize> = idx.iter().map(|&i| train_y[i]).collect();
            let fwd = net.forward(&x)?;
            let loss = fwd.loss(&labels);
            let grads = net.backward(&x, &fwd, &labels)?;
            momentum_step(&mut net.params, &mut velocity, &grads.params, lr);
            losses.push(loss);
            let avg = smooth.last().map_or(loss, |&r| 0.95 * r + 0.05 * loss);
            smooth.push(avg);
            bar.set_message(format!("{avg:.4}"));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_secs = t.elapsed().as_secs_f64();
        let train_acc = accuracy(&net, &train_x, &train_y)?;
        let test_acc = accuracy(&net, &test_x, &test_y)?;
        println!(
            "epoch {epoch}/{EPOCHS}: mean loss {:.4}, train accuracy {:.1}%, held-out accuracy \
             {:.1}%, {:.2} s training + {:.2} s evaluating",
            losses[losses.len() - batches..].iter().sum::<f32>() / batches as f32,
            100.0 * train_acc,
            100.0 * test_acc,
            train_secs,
            t.elapsed().as_secs_f64() - train_secs
        );
    }

    std::fs::create_dir_all(&folder)?;
    write_png(
        &folder.join("samples.png"),
        samples(&train_x, &train_y, 8).view(),
    )?;
    loss_curve(&folder.join("loss.png"), &losses, &smooth, batches)?;
    write_png(
        &folder.join("filters.png"),
        filter_tiles(&net.params.f1, 8).view(),
    )?;
    println!("wrote to {}:", folder.display());
    println!("  samples.png  the first 8 training images of each class, a row per class");
    println!(
        "  loss.png     the loss of each of the {} batches (gray) and its running average \
         (black); a horizontal line every 0.5, a vertical one between epochs",
        losses.len()
    );
    println!(
        "  filters.png  conv 1's {} filters, each scaled to black..white",
        shape.conv1.filters
    );
    println!("all done in {:.2} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// v ← μ·v − η·g, then w ← w + v, for every parameter.
fn momentum_step(w: &mut Params<f32>, v: &mut Params<f32>, g: &Params<f32>, lr: f32) {
    let mu = MOMENTUM;
    einsum_into!(&mut v.f1, "ijcd->ijcd", &g.f1; alpha = -lr, beta = mu);
    einsum_into!(&mut w.f1, "ijcd->ijcd", &v.f1; beta = 1.0);
    einsum_into!(&mut v.f2, "ijcd->ijcd", &g.f2; alpha = -lr, beta = mu);
    einsum_into!(&mut w.f2, "ijcd->ijcd", &v.f2; beta = 1.0);
    einsum_into!(&mut v.w, "oc->oc", &g.w; alpha = -lr, beta = mu);
    einsum_into!(&mut w.w, "oc->oc", &v.w; beta = 1.0);
    einsum_into!(&mut v.b, "o->o", &g.b; alpha = -lr, beta = mu);
    einsum_into!(&mut w.b, "o->o", &v.b; beta = 1.0);
}

/// The fraction of `x` the network classifies as `y` says.
fn accuracy(net: &Net<f32>, x: &Array4<f32>, y: &[usize]) -> Result<f64, einsum::EinsumError> {
    let mut correct = 0;
    for (chunk, labels) in x.axis_chunks_iter(Axis(0), 500).zip(y.chunks(500)) {
        let predicted = net.forward(&chunk)?.predictions();
        correct += predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    }
    Ok(correct as f64 / y.len() as f64)
}

/// `n` images, (n, 28, 28, 1) with values about in [0, 1], and their
/// classes, the same for the same `seed`.
fn dataset(n: usize, seed: u64) -> (Array4<f32>, Vec<usize>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut x = Array4::zeros((n, SIDE, SIDE, 1));
    let mut y = Vec::with_capacity(n);
    for mut img in x.outer_iter_mut() {
        let class = rng.random_range(0..CLASSES.len());
        y.push(class);
        let half = rng.random_range(4.0..9.0f32);
        let thick = rng.random_range(1.0..2.5f32);
        // No shape reaches further than `half` from its centre.
        let reach = half + 1.0;
        let cx = rng.random_range(reach..SIDE as f32 - reach);
        let cy = rng.random_range(reach..SIDE as f32 - reach);
        let ink = rng.random_range(0.4..1.0f32);
        let paper = rng.random_range(0.0..0.2f32);
        for ((i, j, _), v) in img.indexed_iter_mut() {
            // The pixel's centre, relative to the shape's.
            let (dy, dx) = (i as f32 + 0.5 - cy, j as f32 + 0.5 - cx);
            let inside = match class {
                0 => dx.abs() <= half * 0.8 && dy.abs() <= half * 0.8,
                1 => dx * dx + dy * dy <= half * half,
                2 => dx.abs() <= half && dy.abs() <= thick,
                3 => dy.abs() <= half && dx.abs() <= thick,
                4 => {
                    (dx.abs() <= half && dy.abs() <= thick)
                        || (dy.abs() <= half && dx.abs() <= thick)
                }
                _ => dy.abs() <= half * 0.9 && dx.abs() <= (dy + half * 0.9) * 0.6,
            };
            // A sum of four uniforms: near enough to Gaussian, σ = 0.1.
            let noise: f32 = (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * 0.173;
            *v = if inside { ink } else { paper } + noise;
        }
    }
    (x, y)
}

/// The first `per_class` images of each class, a row per class, at twice
/// their size.
fn samples(x: &Array4<f32>, y: &[usize], per_class: usize) -> Array2<f64> {
    let cell = 2 * SIDE + 2;
    let mut img = Array2::ones((CLASSES.len() * cell, per_class * cell));
    let mut count = [0; CLASSES.len()];
    for (n, &class) in y.iter().enumerate() {
        if count[class] == per_class {
            continue;
        }
        let (top, left) = (class * cell, count[class] * cell);
        count[class] += 1;
        for ((i, j), v) in img
            .slice_mut(s![top..top + 2 * SIDE, left..left + 2 * SIDE])
            .indexed_iter_mut()
        {
            *v = x[[n, i / 2, j / 2, 0]] as f64;
        }
    }
    img
}

/// Draws `losses` (light) and `smooth` (dark), one point per batch, into a
/// PNG, with a vertical line every `per_epoch` batches.
fn loss_curve(
    path: &Path,
    losses: &[f32],
    smooth: &[f32],
    per_epoch: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (800, 400);
    let mut rgb = vec![0; w * h * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w as u32, h as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = losses.iter().fold(0.5f32, |m, &v| m.max(v));
        let end = losses.len().max(1) - 1;
        // No axis labels: plotters draws text only with its `ttf` feature,
        // which reads the system's fonts.
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .build_cartesian_2d(0..end, 0f32..top)?;
        let grid = RGBColor(200, 200, 200);
        for k in 0..=(top / 0.5) as usize {
            let y = k as f32 * 0.5;
            chart.draw_series(LineSeries::new([(0, y), (end, y)], &grid))?;
        }
        for e in (0..=end).step_by(per_epoch) {
            chart.draw_series(LineSeries::new([(e, 0.0), (e, top)], &grid))?;
        }
        let light = RGBColor(150, 150, 150);
        chart.draw_series(LineSeries::new(losses.iter().copied().enumerate(), &light))?;
        chart.draw_series(LineSeries::new(
            smooth.iter().copied().enumerate(),
            BLACK.stroke_width(2),
        ))?;
        root.present()?;
    }
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&rgb)?;
    Ok(())
}

/// The filters of `f` (kh, kw, 1, D), each scaled to [0, 1] and enlarged
/// `zoom` times, side by side in two rows with a gap of 4 pixels.
fn filter_tiles(f: &Array4<f32>, zoom: usize) -> Array2<f64> {
    let (kh, kw, _, d) = f.dim();
    let (cols, gap) = (d.div_ceil(2), 4);
    let (th, tw) = (kh * zoom, kw * zoom);
    let mut img = Array2::from_elem((2 * th + 3 * gap, cols * tw + (cols + 1) * gap), 0.5);
    for k in 0..d {
        let filter = f.slice(s![.., .., 0, k]);
        let lo = filter.fold(f32::INFINITY, |m, &v| m.min(v));
        let hi = filter.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let (row, col) = (k / cols, k % cols);
        let (top, left) = (gap + row * (th + gap), gap + col * (tw + gap));
        for ((i, j), v) in img
            .slice_mut(s![top..top + th, left..left + tw])
            .indexed_iter_mut()
        {
            *v = ((filter[[i / zoom, j / zoom]] - lo) / (hi - lo).max(1e-12)) as f64;
        }
    }
    img
}

/// Writes `values` (in [0, 1]) as an 8-bit grayscale PNG.
fn write_png(path: &Path, values: ArrayView2<'_, f64>) -> Result<(), Box<dyn std::error::Error>> {
    let (h, w) = values.dim();
    let bytes: Vec<u8> = values
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), w as u32, h as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&bytes)?;
    Ok(())
}
