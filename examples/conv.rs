//! Convolution as einsum, over safe window views.
//!
//! 1. The batched, channels-last convolution numpy users write with
//!    `as_strided`: a (64, 221, 221, 3) input, a (4, 4, 3, 5) filter, stride
//!    2, as `"bxyijc,ijcd->bxyd"` over `windows_nhwc`; checked against a
//!    plain loop on a sample of outputs.
//! 2. A 3×3 Sobel edge filter, `"xyij,ij->xy"` with the window's sizes bound
//!    (`; i = 3, j = 3`), on a generated 1024×1024 image; the image and its
//!    edge map are written as PNG files to look at.
//!
//! Run with `cargo run --release --example conv` (the PNGs go to
//! `target/conv/`, or the folder given as the first argument).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use einsum::einsum;
use einsum::ndarray::{Array, Array2, Array4, ArrayView2};
use einsum::windows::{windows2, windows_nhwc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/conv"));
    let start = Instant::now();
    convolution()?;
    sobel(&folder)?;
    println!("\nall done in {:.2} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// A value in [-1, 1) from a hash of `i`, so the data has no pattern a
/// wrong index could hide behind.
fn noise(i: usize) -> f64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn convolution() -> Result<(), Box<dyn std::error::Error>> {
    let (b, h, w, c) = (64, 221, 221, 3);
    let (kh, kw, d) = (4, 4, 5);
    let (sh, sw) = (2, 2);
    println!("1. convolution: input ({b}, {h}, {w}, {c}), filter ({kh}, {kw}, {c}, {d}), stride ({sh}, {sw})");
    let t = Instant::now();
    let x: Array4<f64> = Array::from_shape_fn((b, h, w, c), |(n, i, j, ch)| {
        noise(((n * h + i) * w + j) * c + ch)
    });
    let f: Array4<f64> = Array::from_shape_fn((kh, kw, c, d), |(i, j, ch, o)| {
        noise(1 << 40 | (((i * kw + j) * c + ch) * d + o))
    });
    println!(
        "   inputs built in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // The windows: a view of shape (64, 109, 109, 4, 4, 3) over `x`, no copy.
    let windows = windows_nhwc(&x, (kh, kw), (sh, sw))?;
    let t = Instant::now();
    let y = einsum!("bxyijc,ijcd->bxyd", &windows, &f);
    let secs = t.elapsed().as_secs_f64();
    let flop = 2.0 * y.len() as f64 * (kh * kw * c) as f64;
    println!(
        "   einsum!(\"bxyijc,ijcd->bxyd\", windows_nhwc(&x, (4, 4), (2, 2))?, &f): shape {:?}, \
         {:.1} ms, {:.1} GFLOP/s",
        y.shape(),
        secs * 1e3,
        flop / secs / 1e9
    );
    println!("   checksum (sum of all outputs): {:.6}", y.sum());

    // A plain loop over the original arrays, on a sample of outputs.
    let (oh, ow) = (y.shape()[1], y.shape()[2]);
    let mut worst = 0.0f64;
    let samples = 2000;
    for s in 0..samples {
        let r = (noise(7 << 50 | s) + 1.0) / 2.0;
        let idx = (r * y.len() as f64) as usize % y.len();
        let (n, rest) = (idx / (oh * ow * d), idx % (oh * ow * d));
        let (p, rest) = (rest / (ow * d), rest % (ow * d));
        let (q, o) = (rest / d, rest % d);
        let mut acc = 0.0;
        for i in 0..kh {
            for j in 0..kw {
                for ch in 0..c {
                    acc += x[[n, p * sh + i, q * sw + j, ch]] * f[[i, j, ch, o]];
                }
            }
        }
        worst = worst.max((acc - y[[n, p, q, o]]).abs());
    }
    println!("   {samples} sampled outputs match a plain loop: largest difference {worst:.1e}");
    assert!(
        worst < 1e-12,
        "the convolution disagrees with the plain loop"
    );
    Ok(())
}

/// A test image: rings, a square and a gradient, with values in [0, 1].
fn test_image(n: usize) -> Array2<f64> {
    Array::from_shape_fn((n, n), |(i, j)| {
        let (y, x) = (i as f64 / n as f64 - 0.5, j as f64 / n as f64 - 0.5);
        let r = (x * x + y * y).sqrt();
        let rings = if (r * 24.0).floor() as i64 % 2 == 0 {
            0.8
        } else {
            0.3
        };
        let square = (x - 0.2).abs() < 0.12 && (y + 0.2).abs() < 0.12;
        let v = if square {
            1.0
        } else if r < 0.42 {
            rings
        } else {
            0.15 + 0.5 * (x + 0.5)
        };
        v + 0.02 * noise(i * n + j)
    })
}

fn sobel(folder: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = 1024;
    println!("\n2. Sobel edges of a {n}×{n} test image");
    let img = test_image(n);
    let gx = einsum::ndarray::array![[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]];
    let gy = gx.t().to_owned();

    let windows = windows2(&img, (3, 3), (1, 1))?;
    let t = Instant::now();
    // The window's sizes bound: the 3×3 loops have constant bounds.
    let ex = einsum!("xyij,ij->xy", &windows, &gx; i = 3, j = 3);
    let ey = einsum!("xyij,ij->xy", &windows, &gy; i = 3, j = 3);
    let secs = t.elapsed().as_secs_f64();
    let edges = (&ex * &ex + &ey * &ey).mapv(f64::sqrt);
    println!(
        "   einsum!(\"xyij,ij->xy\", windows2(&img, (3, 3), (1, 1))?, &g; i = 3, j = 3), twice: \
         shape {:?}, {:.2} ms",
        edges.shape(),
        secs * 1e3
    );
    // The same, from a plain loop, at a sample of pixels.
    for &(x, y) in &[(0, 0), (511, 200), (1021, 1021), (300, 900)] {
        let mut sx = 0.0;
        for i in 0..3 {
            for j in 0..3 {
                sx += img[[x + i, y + j]] * gx[[i, j]];
            }
        }
        assert!((sx - ex[[x, y]]).abs() < 1e-12, "Sobel x at ({x}, {y})");
    }
    println!("   checksum (sum of the edge map): {:.6}", edges.sum());

    std::fs::create_dir_all(folder)?;
    let input = folder.join("input.png");
    let output = folder.join("edges.png");
    write_png(&input, img.view())?;
    let top = edges.fold(0.0f64, |m, &v| m.max(v));
    write_png(&output, (&edges / top).view())?;
    println!("   wrote {} and {}", input.display(), output.display());
    Ok(())
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
