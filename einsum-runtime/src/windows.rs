//! Sliding windows: numpy's `sliding_window_view` (and the `as_strided`
//! trick convolutions are written with), as safe, read-only, zero-copy views.
//!
//! A window view has one axis per window position and one per offset inside
//! the window, all with strides into the original data, so neighbouring
//! windows share elements and nothing is copied:
//!
//! ```
//! use einsum::einsum;
//! use einsum::ndarray::{array, Array2};
//! use einsum::windows::windows2;
//!
//! let img: Array2<f64> = Array2::from_shape_fn((5, 6), |(i, j)| (i * 6 + j) as f64);
//! let w = windows2(&img, (3, 3), (1, 1)).unwrap();
//! assert_eq!(w.shape(), &[3, 4, 3, 3]);
//! assert_eq!(w[[1, 2, 0, 1]], img[[1, 3]]);
//! // A 3×3 box filter, as one einsum over the windows.
//! let k = Array2::<f64>::ones((3, 3));
//! let out = einsum!("xyij,ij->xy", &w, &k; i = 3, j = 3);
//! assert_eq!(out[[0, 0]], img.slice(einsum::ndarray::s![0..3, 0..3]).sum());
//! ```
//!
//! A window longer than its axis, a zero step, or a window description that
//! does not fit the array is an [`EinsumError`], never a panic. Its message
//! starts with the function and its arguments ([`WindowCall`]), since a
//! window view is often built far from the einsum that reads it.

use ndarray::{ArrayRef, ArrayView, ArrayView4, ArrayView6, ArrayViewD, Axis, Dimension};
use ndarray::{Ix2, Ix4, Ix6, IxDyn, ShapeBuilder, Slice};

pub use crate::operand::WindowsMut;

use einsum_core::support::WindowFn;
pub use einsum_core::WindowCall;
use einsum_core::{EinsumError, ErrorKind};

/// The windows of a 2-D array: `(H', W', kh, kw)` with
/// `H' = 1 + (H - kh) / sh` and `W' = 1 + (W - kw) / sw`, where the window at
/// `(x, y)` starts at `(x · sh, y · sw)`.
///
/// # Errors
/// A window larger than the image, or a zero step.
pub fn windows2<A>(
    img: &ArrayRef<A, Ix2>,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
) -> Result<ArrayView4<'_, A>, EinsumError> {
    let w = window_view(WindowFn::Windows2, img, &[0, 1], &[kh, kw], &[sh, sw])?;
    Ok(w.into_dimensionality()
        .expect("two axes and two window axes"))
}

/// The windows of a batch of channels-last images `(B, H, W, C)`:
/// `(B, H', W', kh, kw, C)`, sliding over `H` and `W` with steps `(sh, sw)`,
/// the layout `"bxyijc,ijcd->bxyd"` convolves with a `(kh, kw, C, D)`
/// filter.
///
/// # Errors
/// A window larger than the image, or a zero step.
pub fn windows_nhwc<A>(
    x: &ArrayRef<A, Ix4>,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
) -> Result<ArrayView6<'_, A>, EinsumError> {
    let w = window_view(WindowFn::WindowsNhwc, x, &[1, 2], &[kh, kw], &[sh, sw])?;
    // numpy's layout is (B, H', W', C, kh, kw); the channels go last.
    let w = w.permuted_axes(IxDyn(&[0, 1, 2, 4, 5, 3]));
    Ok(w.into_dimensionality().expect("six axes"))
}

/// [`windows2`]'s windows, to add into: the destination of `einsum_into!`
/// with `beta = 1.0`, which adds each element of the result into the
/// pixel of `img` it views (overlapping windows add up).
///
/// ```
/// use einsum::einsum_into;
/// use einsum::ndarray::{array, Array2};
/// use einsum::windows::windows2_mut;
///
/// // Each 2×2 window of a 3×3 image adds its value `k` times the filter.
/// let mut img = Array2::<f64>::zeros((3, 3));
/// let k = array![[1.0, 2.0], [3.0, 4.0]];
/// let ones = Array2::<f64>::ones((2, 2));
/// einsum_into!(windows2_mut(&mut img, (2, 2), (1, 1))?, "xy,ij->xyij", &ones, &k; beta = 1.0);
/// assert_eq!(img, array![[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]);
/// # Ok::<(), einsum::EinsumError>(())
/// ```
///
/// # Errors
/// As [`windows2`].
pub fn windows2_mut<A>(
    img: &mut ArrayRef<A, Ix2>,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
) -> Result<WindowsMut<'_, A, Ix4>, EinsumError> {
    windows_mut(img, |a| {
        windows2(a, (kh, kw), (sh, sw)).map(|w| w.into_dyn())
    })
}

/// [`windows_nhwc`]'s windows, `(B, H', W', kh, kw, C)`, to add into: the
/// destination of `einsum_into!` with `beta = 1.0`. A convolution's input
/// gradient, with no column array and no copy:
/// `einsum_into!(windows_nhwc_mut(&mut dx, (4, 4), (2, 2))?, "bxyd,ijcd->bxyijc", &dy, &f; beta = 1.0)`.
///
/// # Errors
/// As [`windows_nhwc`].
pub fn windows_nhwc_mut<A>(
    x: &mut ArrayRef<A, Ix4>,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
) -> Result<WindowsMut<'_, A, Ix6>, EinsumError> {
    windows_mut(x, |a| {
        windows_nhwc(a, (kh, kw), (sh, sw)).map(|w| w.into_dyn())
    })
}

/// [`sliding_window_view`]'s windows, to add into: the destination of
/// `einsum_into!` with `beta = 1.0`. The offsets inside a window are the
/// last `axes.len()` axes, as in the read-only view.
///
/// # Errors
/// As [`sliding_window_view`].
pub fn sliding_window_view_mut<'a, A, D: Dimension>(
    a: &'a mut ArrayRef<A, D>,
    axes: &[usize],
    window: &[usize],
    step: &[usize],
) -> Result<WindowsMut<'a, A, IxDyn>, EinsumError> {
    windows_mut(a, |a| sliding_window_view(a, axes, window, step))
}

/// The windows `view` makes of `a`, as [`WindowsMut`] over `a`'s own
/// elements.
fn windows_mut<'a, A, D: Dimension, E: Dimension>(
    a: &'a mut ArrayRef<A, D>,
    view: impl for<'v> Fn(&'v ArrayRef<A, D>) -> Result<ArrayViewD<'v, A>, EinsumError>,
) -> Result<WindowsMut<'a, A, E>, EinsumError> {
    let base = a.as_mut_ptr();
    let w = view(a)?;
    // The view's first element, as an offset from `a`'s, applied to the
    // pointer `a` lends for writing.
    let size = core::mem::size_of::<A>().max(1) as isize;
    let first = (w.as_ptr() as isize).wrapping_sub(a.as_ptr() as isize) / size;
    let (shape, strides) = (w.shape().to_vec(), w.strides().to_vec());
    // SAFETY: the view addresses elements of `a` (the read-only window
    // view's own promise), here through the pointer of the unique borrow
    // of `a`, held for 'a; the rank is the view's, which is `E`'s.
    Ok(unsafe { WindowsMut::from_parts(base.wrapping_offset(first), shape, strides) })
}

/// numpy's `sliding_window_view(a, window, axis)` with a step per axis: for
/// each `k`, a window of `window[k]` elements slides along axis `axes[k]` by
/// `step[k]`.
///
/// The layout is numpy's: each windowed axis keeps its place and becomes the
/// count of windows, `1 + (len - window) / step`, and the offsets inside the
/// windows are appended as new axes, in the order of `axes`.
///
/// ```
/// use einsum::ndarray::{arr1, Array1, Axis};
/// use einsum::windows::sliding_window_view;
///
/// let a: Array1<i32> = arr1(&[0, 1, 2, 3, 4, 5, 6]);
/// let w = sliding_window_view(&a, &[0], &[3], &[2]).unwrap();
/// assert_eq!(w.shape(), &[3, 3]);
/// assert_eq!(w.index_axis(Axis(0), 2), arr1(&[4, 5, 6]).into_dyn());
/// ```
///
/// # Errors
/// [`ErrorKind::WindowTooLarge`] for a window longer than its axis,
/// [`ErrorKind::WindowStep`] for a zero step, [`ErrorKind::WindowAxes`] when
/// `axes`, `window` and `step` differ in length, name an axis past the last,
/// or name one twice; [`ErrorKind::OutputTooLarge`] when the view would have
/// more elements than `isize::MAX`.
pub fn sliding_window_view<'a, A, D: Dimension>(
    a: &'a ArrayRef<A, D>,
    axes: &[usize],
    window: &[usize],
    step: &[usize],
) -> Result<ArrayViewD<'a, A>, EinsumError> {
    window_view(WindowFn::SlidingWindowView, a, axes, window, step)
}

/// [`sliding_window_view`] with its errors naming `function`: when the user
/// called `windows2` or `windows_nhwc`, those are the call and arguments
/// they wrote, and the ones the message should quote.
fn window_view<'a, A, D: Dimension>(
    function: WindowFn,
    a: &'a ArrayRef<A, D>,
    axes: &[usize],
    window: &[usize],
    step: &[usize],
) -> Result<ArrayViewD<'a, A>, EinsumError> {
    // Built only on an error: a good call allocates nothing.
    let err = |kind| EinsumError::window(function, [a.shape(), axes, window, step], kind);
    let ndim = a.ndim();
    let repeated = (0..axes.len()).any(|k| axes[..k].contains(&axes[k]));
    if axes.len() != window.len()
        || axes.len() != step.len()
        || axes.iter().any(|&ax| ax >= ndim)
        || repeated
    {
        return Err(err(ErrorKind::WindowAxes {
            axes: axes.to_vec(),
            window: window.to_vec(),
            step: step.to_vec(),
            ndim,
        }));
    }
    for k in 0..axes.len() {
        let (axis, len) = (axes[k], a.len_of(Axis(axes[k])));
        if step[k] == 0 {
            return Err(err(ErrorKind::WindowStep { axis }));
        }
        if window[k] > len {
            return Err(err(ErrorKind::WindowTooLarge {
                axis,
                window: window[k],
                len,
            }));
        }
    }

    // The same elements with every stride non-negative, as the view
    // constructor needs: axes of negative stride are reversed (and reversed
    // back at the end). A reversed windowed axis first drops the leading
    // elements no window reaches, so that the windows, counted from the
    // other end, cover the same elements.
    let mut v: ArrayViewD<'a, A> = a.view().into_dyn();
    let flipped: Vec<bool> = v.strides().iter().map(|&s| s < 0).collect();
    for (ax, _) in flipped.iter().enumerate().filter(|&(_, &f)| f) {
        v.invert_axis(Axis(ax));
        if let Some(k) = axes.iter().position(|&w| w == ax) {
            let len = v.len_of(Axis(ax));
            let unreached = (len - window[k]) % step[k];
            v.slice_axis_inplace(Axis(ax), Slice::from(unreached..));
        }
    }

    let mut shape: Vec<usize> = v.shape().to_vec();
    let mut strides: Vec<usize> = v.strides().iter().map(|&s| s.unsigned_abs()).collect();
    for k in 0..axes.len() {
        let ax = axes[k];
        shape[ax] = (shape[ax] - window[k]) / step[k] + 1;
        shape.push(window[k]);
        strides.push(strides[ax]);
        strides[ax] = strides[ax].saturating_mul(step[k]);
    }
    let elements = shape
        .iter()
        .filter(|&&n| n != 0)
        .try_fold(1usize, |p, &n| p.checked_mul(n))
        .filter(|&p| p <= isize::MAX as usize);
    if elements.is_none() {
        return Err(err(ErrorKind::OutputTooLarge { shape }));
    }
    let empty = shape.contains(&0);
    // An empty view reads nothing; its strides need not be meaningful.
    if empty {
        strides.iter_mut().for_each(|s| *s = 0);
    }

    // SAFETY: every index of the new view addresses an element of `v`,
    // which is `a` itself (its axes reversed and trimmed), borrowed for 'a:
    // along a windowed axis, window position `p < P` and offset `w < window`
    // read `v`'s index `p · step + w <= (P - 1) · step + window - 1 =
    // len - 1 - (len - window) % step <= len - 1` (P = 1 + (len - window) /
    // step), through `v`'s stride for `p · step` and for `w`; every other
    // axis keeps `v`'s length and stride. So the pointers stay inside the
    // elements `a` lends, their offsets are within those of `a` (no
    // overflow), and the element count was checked against `isize::MAX`
    // above. The strides are non-negative (reversed above). Indices may share
    // an element (windows overlap), which a read-only view allows: nothing
    // can write through it, and `a` stays borrowed, so nothing else writes
    // either while the view lives. An empty view (a zero length) reads
    // nothing at `v`'s first address, valid or one past the end.
    let mut w =
        unsafe { ArrayView::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&strides)), v.as_ptr()) };

    // Reverse back: a reversed axis, and for a windowed one its offsets too.
    for (ax, _) in flipped.iter().enumerate().filter(|&(_, &f)| f) {
        w.invert_axis(Axis(ax));
        if let Some(k) = axes.iter().position(|&a| a == ax) {
            w.invert_axis(Axis(ndim + k));
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array, Array1, Array2, Array4, IxDyn};

    /// Element `idx` of the window view, computed from `a` by hand.
    fn expected<A: Copy>(
        a: &ArrayViewD<'_, A>,
        axes: &[usize],
        step: &[usize],
        idx: &[usize],
    ) -> A {
        let ndim = a.ndim();
        let mut at: Vec<usize> = idx[..ndim].to_vec();
        for k in 0..axes.len() {
            at[axes[k]] = idx[axes[k]] * step[k] + idx[ndim + k];
        }
        a[IxDyn(&at)]
    }

    fn check(a: ArrayViewD<'_, i64>, axes: &[usize], window: &[usize], step: &[usize]) {
        let w = sliding_window_view(&a, axes, window, step).unwrap();
        let mut want: Vec<usize> = a.shape().to_vec();
        for k in 0..axes.len() {
            want[axes[k]] = (want[axes[k]] - window[k]) / step[k] + 1;
            want.push(window[k]);
        }
        assert_eq!(w.shape(), &want[..]);
        for (idx, &x) in w.indexed_iter() {
            assert_eq!(x, expected(&a, axes, step, idx.slice()), "at {idx:?}");
        }
    }

    #[test]
    fn windows_match_a_plain_index_computation() {
        let a: Array2<i64> = Array::from_shape_fn((7, 9), |(i, j)| (10 * i + j) as i64);
        check(a.view().into_dyn(), &[0, 1], &[3, 2], &[1, 1]);
        check(a.view().into_dyn(), &[0, 1], &[3, 4], &[2, 3]);
        check(a.view().into_dyn(), &[1], &[9], &[5]);
        check(a.view().into_dyn(), &[1, 0], &[2, 7], &[4, 1]);
        // Reversed, stepped, transposed and broadcast views.
        check(a.slice(s![..;-1, ..]).into_dyn(), &[0, 1], &[3, 2], &[2, 3]);
        check(
            a.slice(s![..;-2, ..;-1]).into_dyn(),
            &[0, 1],
            &[2, 4],
            &[1, 2],
        );
        check(a.t().into_dyn(), &[0], &[4], &[3]);
        let row = Array1::from_iter(0..5i64);
        let b = row.broadcast((4, 5)).unwrap();
        check(b.into_dyn(), &[0, 1], &[2, 3], &[1, 2]);
        // Windows as long as the axis, and empty windows.
        check(a.view().into_dyn(), &[0], &[7], &[1]);
        check(a.view().into_dyn(), &[0], &[0], &[3]);
        let e = Array2::<i64>::zeros((0, 3));
        check(e.view().into_dyn(), &[1], &[2], &[1]);
    }

    #[test]
    fn windows2_and_nhwc_layouts() {
        let img: Array2<i64> = Array::from_shape_fn((6, 8), |(i, j)| (10 * i + j) as i64);
        let w = windows2(&img, (3, 2), (2, 3)).unwrap();
        assert_eq!(w.shape(), &[2, 3, 3, 2]);
        for ((x, y, i, j), &v) in w.indexed_iter() {
            assert_eq!(v, img[[2 * x + i, 3 * y + j]]);
        }
        let x: Array4<i64> = Array::from_shape_fn((2, 5, 6, 3), |(b, h, w, c)| {
            (1000 * b + 100 * h + 10 * w + c) as i64
        });
        let w = windows_nhwc(&x, (2, 3), (2, 1)).unwrap();
        assert_eq!(w.shape(), &[2, 2, 4, 2, 3, 3]);
        for ((b, p, q, i, j, c), &v) in w.indexed_iter() {
            assert_eq!(v, x[[b, 2 * p + i, q + j, c]]);
        }
    }

    #[test]
    fn bad_windows_are_errors() {
        let img = Array2::<f64>::zeros((4, 5));
        let e = windows2(&img, (5, 2), (1, 1)).unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::WindowTooLarge {
                axis: 0,
                window: 5,
                len: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "windows2(img of shape [4, 5], window (5, 2), step (1, 1)): a window of 5 along axis \
             0 is longer than the axis, of length 4"
        );
        let e = windows2(&img, (2, 2), (1, 0)).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::WindowStep { axis: 1 });
        for (axes, window, step) in [
            (&[0usize, 2][..], &[1usize, 1][..], &[1usize, 1][..]),
            (&[1, 1], &[1, 1], &[1, 1]),
            (&[0], &[1, 1], &[1]),
            (&[0], &[1], &[]),
        ] {
            let e = sliding_window_view(&img, axes, window, step).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::WindowAxes { ndim: 2, .. }),
                "{axes:?} {window:?} {step:?}: {e}"
            );
        }
    }

    #[test]
    fn windows2_error_names_the_call() {
        let img = Array2::<f64>::zeros((4, 5));
        let e = windows2(&img, (2, 2), (1, 0)).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::WindowStep { axis: 1 });
        assert_eq!(e.subscripts(), "");
        assert_eq!(
            e.to_string(),
            "windows2(img of shape [4, 5], window (2, 2), step (1, 0)): the window's step along \
             axis 1 is 0; a step is at least 1"
        );
    }

    #[test]
    fn windows_nhwc_error_names_the_call() {
        let x = Array4::<f64>::zeros((2, 4, 4, 3));
        let e = windows_nhwc(&x, (5, 5), (1, 1)).unwrap_err();
        let call = e.window_call().unwrap();
        assert_eq!(call.function(), "windows_nhwc");
        assert_eq!(call.axes(), &[1, 2]);
        assert_eq!(
            e.to_string(),
            "windows_nhwc(x of shape [2, 4, 4, 3], window (5, 5), step (1, 1)): a window of 5 \
             along axis 1 is longer than the axis, of length 4"
        );
    }

    #[test]
    fn sliding_window_view_error_names_the_call() {
        let a = Array2::<f64>::zeros((4, 5));
        let e = sliding_window_view(&a, &[1], &[6], &[2]).unwrap_err();
        assert_eq!(e.window_call().unwrap().function(), "sliding_window_view");
        assert_eq!(
            e.to_string(),
            "sliding_window_view(a of shape [4, 5], axes [1], window [6], step [2]): a window of \
             6 along axis 1 is longer than the axis, of length 5"
        );
    }

    #[test]
    fn sliding_window_view_axes_error_names_axes_window_and_step() {
        let a = Array2::<f64>::zeros((4, 5));
        let e = sliding_window_view(&a, &[0, 2], &[1, 3], &[1, 2]).unwrap_err();
        let call = e.window_call().unwrap();
        assert_eq!(call.shape(), &[4, 5]);
        assert_eq!(
            (call.axes(), call.window(), call.step()),
            (&[0, 2][..], &[1, 3][..], &[1, 2][..])
        );
        assert_eq!(
            e.to_string(),
            "sliding_window_view(a of shape [4, 5], axes [0, 2], window [1, 3], step [1, 2]): a \
             window over axes [0, 2] with lengths [1, 3] and steps [1, 2] does not fit an array \
             of 2 axes: give one length and one step per axis, each axis once, each below 2"
        );
    }
}
