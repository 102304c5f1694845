//! Convolutions written as einsums over window views, each checked against a
//! plain loop over the original arrays. Small enough to run under Miri, which
//! checks every read the kernels make through the overlapping views.

use einsum::__test_hooks::{with_thresholds, Thresholds};
use einsum::ndarray::{s, Array, Array2, Array4};
use einsum::windows::{
    sliding_window_view, sliding_window_view_mut, windows2, windows2_mut, windows_nhwc,
    windows_nhwc_mut,
};
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, ErrorKind};

fn image(h: usize, w: usize) -> Array2<i64> {
    Array::from_shape_fn((h, w), |(i, j)| ((i * 7 + j * 3) % 11) as i64 - 5)
}

/// `out[x, y] = Σ_ij img[x·sh + i, y·sw + j] · k[i, j]`.
fn conv2_loop(img: &Array2<i64>, k: &Array2<i64>, (sh, sw): (usize, usize)) -> Array2<i64> {
    let (kh, kw) = k.dim();
    let (h, w) = img.dim();
    let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
    Array::from_shape_fn((oh, ow), |(x, y)| {
        let mut acc = 0;
        for i in 0..kh {
            for j in 0..kw {
                acc += img[[x * sh + i, y * sw + j]] * k[[i, j]];
            }
        }
        acc
    })
}

#[test]
fn filter_2d_with_and_without_fixed_sizes() {
    let img = image(9, 11);
    let k = Array::from_shape_fn((3, 3), |(i, j)| (i as i64 - 1) * (2 - j as i64));
    let want = conv2_loop(&img, &k, (1, 1));
    let w = windows2(&img, (3, 3), (1, 1)).unwrap();
    assert_eq!(einsum!("xyij,ij->xy", &w, &k), want);
    assert_eq!(einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3), want);
    // Strided windows, through every kernel (GEMM, threads) by thresholds.
    let want = conv2_loop(&img, &k, (2, 3));
    let w = windows2(&img, (3, 3), (2, 3)).unwrap();
    assert_eq!(einsum!("xyij,ij->xy", &w, &k), want);
    let eager = with_thresholds(Thresholds::EAGER, || einsum!("xyij,ij->xy", &w, &k));
    assert_eq!(eager, want);
    // A reversed image: the windows read it backwards, as a view would.
    let rev = img.slice(s![..;-1, ..]);
    let want = conv2_loop(&rev.to_owned(), &k, (2, 1));
    let w = windows2(&rev, (3, 3), (2, 1)).unwrap();
    assert_eq!(einsum!("xyij,ij->xy", &w, &k), want);
}

#[test]
fn batched_channels_last_convolution() {
    let (b, h, wd, c, d) = (2, 7, 6, 3, 2);
    let x: Array4<f64> = Array::from_shape_fn((b, h, wd, c), |(n, i, j, ch)| {
        ((n * 31 + i * 7 + j * 5 + ch * 3) % 13) as f64 - 6.0
    });
    let f: Array4<f64> = Array::from_shape_fn((2, 2, c, d), |(i, j, ch, o)| {
        ((i * 5 + j * 3 + ch + o * 7) % 5) as f64 - 2.0
    });
    let (sh, sw) = (2, 2);
    let (oh, ow) = ((h - 2) / sh + 1, (wd - 2) / sw + 1);
    let want = Array::from_shape_fn((b, oh, ow, d), |(n, p, q, o)| {
        let mut acc = 0.0;
        for i in 0..2 {
            for j in 0..2 {
                for ch in 0..c {
                    acc += x[[n, p * sh + i, q * sw + j, ch]] * f[[i, j, ch, o]];
                }
            }
        }
        acc
    });
    let w = windows_nhwc(&x, (2, 2), (sh, sw)).unwrap();
    assert_eq!(w.shape(), &[b, oh, ow, 2, 2, c]);
    let y = einsum!("bxyijc,ijcd->bxyd", &w, &f);
    assert_eq!(y, want);
    let mut out = Array4::<f64>::zeros((b, oh, ow, d));
    with_thresholds(Thresholds::EAGER, || {
        einsum_into!(&mut out, "bxyijc,ijcd->bxyd", &w, &f)
    });
    assert_eq!(out, want);
}

#[test]
fn general_windows_and_errors() {
    let a = image(5, 8);
    // Windows along the columns only: (5, 3, 4), read as a 1-D filter.
    let w = sliding_window_view(&a, &[1], &[4], &[2]).unwrap();
    assert_eq!(w.shape(), &[5, 3, 4]);
    let k = [1i64, -2, 3, -4];
    let y: Array2<i64> = einsum!("xy...,...->xy", &w, &k[..]);
    for x in 0..5 {
        for p in 0..3 {
            let want: i64 = (0..4).map(|t| a[[x, 2 * p + t]] * k[t]).sum();
            assert_eq!(y[[x, p]], want);
        }
    }
    // A window larger than the image is an error, not a panic, and so is
    // an einsum whose bound size the windows contradict.
    let e = windows2(&a, (6, 2), (1, 1)).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::WindowTooLarge {
            axis: 0,
            window: 6,
            len: 5
        }
    );
    assert_eq!(
        e.to_string(),
        "windows2(img of shape [5, 8], window (6, 2), step (1, 1)): a window of 6 along axis 0 is \
         longer than the axis, of length 5"
    );
    let w = windows2(&a, (2, 2), (1, 1)).unwrap();
    let k = Array2::<i64>::ones((2, 2));
    let e = try_einsum!("xyij,ij->xy", &w, &k; i = 3).unwrap_err();
    assert!(matches!(
        e.kind(),
        ErrorKind::FixedSize {
            label: 'i',
            bound: 3,
            ..
        }
    ));
}

/// `"bxyijc,ijcd->bxyd"` by a plain loop.
fn conv_nhwc_loop(x: &Array4<f64>, f: &Array4<f64>, (sh, sw): (usize, usize)) -> Array4<f64> {
    let (b, h, wd, c) = x.dim();
    let (kh, kw, _, d) = f.dim();
    let (oh, ow) = ((h - kh) / sh + 1, (wd - kw) / sw + 1);
    Array::from_shape_fn((b, oh, ow, d), |(n, p, q, o)| {
        let mut acc = 0.0;
        for i in 0..kh {
            for j in 0..kw {
                for ch in 0..c {
                    acc += x[[n, p * sh + i, q * sw + j, ch]] * f[[i, j, ch, o]];
                }
            }
        }
        acc
    })
}

/// Window rows that overlap from one output row to the next (kept and
/// reused), row steps with and without their own build, outputs that are not
/// a whole number of 16-row blocks, and 1 to 9 output channels: through the
/// default thresholds and with every kernel forced.
#[test]
fn convolutions_of_many_shapes() {
    type Case = (
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
    );
    const ALL: &[Case] = &[
        (1, 9, 21, 3, 3, 3, 1, 1, 3),
        (2, 11, 40, 3, 4, 4, 2, 2, 5),
        (1, 8, 37, 5, 3, 2, 1, 1, 1),
        (1, 7, 30, 2, 2, 3, 1, 3, 8),
        (1, 6, 19, 1, 3, 3, 2, 1, 9),
    ];
    // Under Miri, one case with reused rows, two 16-row blocks and a row
    // step without its own build: minutes, not a quarter of an hour.
    const MIRI: &[Case] = &[(1, 4, 20, 5, 2, 2, 1, 1, 2)];
    for &(b, h, wd, c, kh, kw, sh, sw, d) in if cfg!(miri) { MIRI } else { ALL } {
        let x: Array4<f64> = Array::from_shape_fn((b, h, wd, c), |(n, i, j, ch)| {
            ((n * 37 + i * 11 + j * 7 + ch * 3) % 17) as f64 - 8.0
        });
        let f: Array4<f64> = Array::from_shape_fn((kh, kw, c, d), |(i, j, ch, o)| {
            ((i * 13 + j * 5 + ch * 3 + o * 7) % 9) as f64 - 4.0
        });
        let want = conv_nhwc_loop(&x, &f, (sh, sw));
        let w = windows_nhwc(&x, (kh, kw), (sh, sw)).unwrap();
        let shape = (b, h, wd, c, kh, kw, sh, sw, d);
        assert_eq!(einsum!("bxyijc,ijcd->bxyd", &w, &f), want, "{shape:?}");
        let eager = with_thresholds(Thresholds::EAGER, || einsum!("bxyijc,ijcd->bxyd", &w, &f));
        assert_eq!(eager, want, "{shape:?}, every kernel forced");
    }
}

/// `dst[b, x·sh + i, y·sw + j, c] += alpha · Σ_d dy[b, x, y, d] · f[i, j, c, d]`:
/// a convolution's input gradient, scatter-added by a plain loop.
fn col2im_loop(
    dst: &mut Array4<i64>,
    dy: &Array4<i64>,
    f: &Array4<i64>,
    (sh, sw): (usize, usize),
    alpha: i64,
) {
    let (kh, kw, c, d) = f.dim();
    let (b, oh, ow, _) = dy.dim();
    for n in 0..b {
        for x in 0..oh {
            for y in 0..ow {
                for i in 0..kh {
                    for j in 0..kw {
                        for ch in 0..c {
                            let v: i64 = (0..d).map(|o| dy[[n, x, y, o]] * f[[i, j, ch, o]]).sum();
                            dst[[n, x * sh + i, y * sw + j, ch]] += alpha * v;
                        }
                    }
                }
            }
        }
    }
}

/// Windows as the destination add into the array they view: overlapping
/// windows (stride under the window) add up, elements no window reaches
/// (stride over it) keep their values, into a base array with a reversed
/// axis and one that is a strided slice; by value and `&mut`; with
/// `alpha`; the GEMM kernels and the split nest forced by thresholds, with
/// tiles of a few elements (every axis stepped, some in pieces) and of an
/// image's row (the images split over the pool, their results equal to one
/// thread's).
#[test]
fn windows_as_the_destination_scatter_add() {
    let dy_of = |shape| {
        Array::from_shape_fn(shape, |(n, x, y, o)| {
            ((n * 5 + x * 3 + y + o * 7) % 9) as i64 - 4
        })
    };
    let f = Array::from_shape_fn((3, 2, 2, 3), |(i, j, c, o)| {
        ((i * 4 + j * 2 + c * 3 + o) % 7) as i64 - 3
    });
    let cases = [((2, 1), (7, 6)), ((1, 1), (6, 5)), ((4, 3), (7, 8))];
    // (Under Miri, which takes minutes over all of them: overlapping
    // windows, on the split nest.)
    let cases = if cfg!(miri) { &cases[..1] } else { &cases[..] };
    for &(stride, (h, w)) in cases {
        let oh = (h - 3) / stride.0 + 1;
        let ow = (w - 2) / stride.1 + 1;
        let dy = dy_of((2, oh, ow, 3));
        let start =
            Array::from_shape_fn((2, h, w, 2), |(n, x, y, c)| (n + x * 2 + y * 3 + c) as i64);
        let mut want = start.clone();
        col2im_loop(&mut want, &dy, &f, stride, 1);
        let paths = [
            Thresholds::EAGER,
            // The nest, the images split over the pool, a tile a row of
            // windows or less.
            Thresholds {
                gemm_min_work: usize::MAX,
                skinny_min_work: usize::MAX,
                dots_max_work: 0,
                parallel_min_work: 0,
                small_max_work: 0,
                scatter_tile_bytes: 8 * 40,
                ..Thresholds::DEFAULT
            },
            Thresholds::DEFAULT,
        ];
        let paths = if cfg!(miri) { &paths[1..2] } else { &paths[..] };
        for &t in paths {
            let mut dx = start.clone();
            with_thresholds(
                t,
                || einsum_into!(windows_nhwc_mut(&mut dx, (3, 2), stride).unwrap(), "bxyd,ijcd->bxyijc", &dy, &f; beta = 1),
            );
            assert_eq!(dx, want, "stride {stride:?}");
            // `&mut` windows, twice: the sums add up again.
            let mut windows = windows_nhwc_mut(&mut dx, (3, 2), stride).unwrap();
            assert_eq!(windows.shape(), &[2, oh, ow, 3, 2, 2]);
            with_thresholds(
                t,
                || einsum_into!(&mut windows, "bxyd,ijcd->bxyijc", &dy, &f; beta = 1, alpha = 2),
            );
            let mut twice = want.clone();
            col2im_loop(&mut twice, &dy, &f, stride, 2);
            assert_eq!(dx, twice, "stride {stride:?}, alpha 2");
        }
        // Into a base whose rows run backwards: window coordinates count in
        // the view's own order.
        let mut flipped = start.clone();
        flipped.invert_axis(einsum::ndarray::Axis(1));
        let mut want_flipped = flipped.clone();
        col2im_loop(&mut want_flipped, &dy, &f, stride, 1);
        einsum_into!(windows_nhwc_mut(&mut flipped, (3, 2), stride).unwrap(), "bxyd,ijcd->bxyijc", &dy, &f; beta = 1);
        assert_eq!(flipped, want_flipped, "reversed rows, stride {stride:?}");
    }
    // windows2_mut into every other column of a wider image: the columns
    // between are not in the view and keep their values.
    let mut img = Array2::from_elem((5, 9), 7i64);
    let ones = Array2::<i64>::ones((4, 3));
    let k = Array::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as i64);
    einsum_into!(windows2_mut(&mut img.slice_mut(s![.., ..;2]), (2, 3), (1, 1)).unwrap(), "xy,ij->xyij", &ones, &k; beta = 1);
    let mut want = Array2::from_elem((5, 9), 7i64);
    for x in 0..4 {
        for y in 0..3 {
            for i in 0..2 {
                for j in 0..3 {
                    want[[x + i, 2 * (y + j)]] += k[[i, j]];
                }
            }
        }
    }
    assert_eq!(img, want);
    // numpy's sliding_window_view layout: the window offsets last.
    let mut v = Array::from_elem(7, 1.0f64);
    let ones = Array::from_elem(3, 1.0f64);
    let taps = einsum::ndarray::arr1(&[1.0, 10.0, 100.0]);
    einsum_into!(sliding_window_view_mut(&mut v, &[0], &[3], &[2]).unwrap(), "x,i->xi", &ones, &taps; beta = 1.0);
    assert_eq!(
        v,
        einsum::ndarray::arr1(&[2.0, 11.0, 102.0, 11.0, 102.0, 11.0, 101.0])
    );
}

/// Sums that are not one matrix product, added into overlapping windows a
/// tile at a time: three operands, a max over a summed label, and an
/// output axis in both operands; with tiles of a few elements (every axis
/// stepped, the last piece shorter) and the default ones.
#[test]
fn windows_destination_of_other_sums() {
    let img = image(7, 8);
    let ones = Array2::<i64>::from_elem((3, 5), 1);
    let k = Array::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as i64 - 5);
    let m = Array::from_shape_fn((3, 4), |(i, j)| ((i + 2 * j) % 3) as i64 - 1);
    let v = Array::from_shape_fn((3, 5), |(x, e)| (x * 5 + e) as i64 % 7 - 3);
    let paths = [Thresholds::EAGER, Thresholds::DEFAULT];
    let paths = if cfg!(miri) { &paths[..1] } else { &paths[..] };
    for &t in paths {
        // Three operands: dst[x·2 + i, y + j] += ones[x, y]·k[i, j]·m[i, j].
        let mut got = img.clone();
        with_thresholds(
            t,
            || einsum_into!(windows2_mut(&mut got, (3, 4), (2, 1)).unwrap(), "xy,ij,ij->xyij", &ones, &k, &m; beta = 1),
        );
        let mut want = img.clone();
        for x in 0..3 {
            for y in 0..5 {
                for i in 0..3 {
                    for j in 0..4 {
                        want[[2 * x + i, y + j]] += k[[i, j]] * m[[i, j]];
                    }
                }
            }
        }
        assert_eq!(got, want, "three operands");
        if cfg!(miri) {
            // (The same tiles as above; Miri checks the max's kernel in
            // `tests/reduce.rs`.)
            continue;
        }
        // The largest product over e, doubled, and the row index x of
        // `ones` shared with `v`: dst[x·2 + i, y + j] += 2·max_e v[x, e]·k[i, j].
        let mut got = img.clone();
        with_thresholds(
            t,
            || einsum_into!(windows2_mut(&mut got, (3, 4), (2, 1)).unwrap(), "xy,xe,ij->xyij", &ones, &v, &k; beta = 1, alpha = 2, reduce = max),
        );
        let mut want = img.clone();
        for x in 0..3 {
            for y in 0..5 {
                for i in 0..3 {
                    for j in 0..4 {
                        let best = (0..5).map(|e| v[[x, e]] * k[[i, j]]).max().unwrap();
                        want[[2 * x + i, y + j]] += 2 * best;
                    }
                }
            }
        }
        assert_eq!(got, want, "max");
    }
}

/// Windows take only `beta = 1`: any other is an error before anything is
/// written, as is a shape that does not fit.
#[test]
fn windows_destination_errors_write_nothing() {
    let mut img = image(6, 6);
    let start = img.clone();
    let ones = Array2::<i64>::ones((4, 4));
    let k = Array2::<i64>::ones((3, 3));
    for beta in [0, 2] {
        let e = try_einsum_into!(windows2_mut(&mut img, (3, 3), (1, 1)).unwrap(), "xy,ij->xyij", &ones, &k; beta = beta)
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::WindowsNeedBetaOne), "{e}");
        assert_eq!(img, start);
    }
    let wrong = Array2::<i64>::ones((3, 4));
    let e = try_einsum_into!(windows2_mut(&mut img, (3, 3), (1, 1)).unwrap(), "xy,ij->xyij", &wrong, &k; beta = 1)
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::OutputShape { .. }), "{e}");
    assert_eq!(img, start);
}
