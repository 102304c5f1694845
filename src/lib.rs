//! numpy's `einsum` for [`ndarray`], as macros checked at compile time.
//!
//! ```
//! use einsum::einsum;
//! use einsum::ndarray::array;
//!
//! let a = array![[1.0, 2.0], [3.0, 4.0]];
//! let b = array![[5.0, 6.0], [7.0, 8.0]];
//! let c = einsum!("ij,jk->ik", &a, &b); // an Array2<f64>: the matrix product
//! assert_eq!(c, array![[19.0, 22.0], [43.0, 50.0]]);
//! let trace: f64 = einsum!("ii", &a); // no output label: a scalar
//! assert_eq!(trace, 5.0);
//! ```
//!
//! The subscripts mean exactly what they mean to `numpy.einsum`; see the
//! crate's README for the whole language and a table from numpy to `einsum!`.
//! The literal is parsed when your crate compiles: a subscript that numpy
//! would reject, an operand count that does not match the terms, or an
//! operand whose static rank does not fit its term is a compile error that
//! says which. Shapes are checked when the call runs, before anything is
//! written: [`try_einsum!`] and [`try_einsum_into!`] return an
//! [`EinsumError`] naming the label, operands, axes and sizes, and [`einsum!`]
//! and [`einsum_into!`] panic with that message.
//!
//! # Operands
//!
//! Each operand is read in place, whatever its strides (transposed, reversed,
//! stepped, broadcast with stride 0, overlapping windows): `&ArrayBase<S, D>`
//! or `&mut ArrayBase<S, D>` for any `S: Data`, `ArrayView`, `ArrayViewMut` or
//! `Array` by value, `&ArrayRef`, and `&[T]`, `&[T; N]` or `&Vec<T>` as 1-d operands.
//! All operands share one element type `T`: `f32`, `f64`, the primitive
//! integers (whose sums wrap, as `wrapping_add` does), `Complex<f32>` or
//! `Complex<f64>` (never conjugated). See [`Scalar`].
//!
//! # Results
//!
//! | output of the subscripts | `einsum!` returns |
//! |---|---|
//! | no label and no `...` (`"i,i->"`, `"ii"`, `"ij->"`) | `T` |
//! | 1 to 6 labels, no `...` | `Array<T, Ix1>` … `Array<T, Ix6>` |
//! | more than 6 labels, or `...` | `ArrayD<T>` |
//!
//! A new array is in standard (C) order.

#![warn(missing_docs)]

extern crate self as einsum;

pub use einsum_runtime::windows;
pub use einsum_runtime::{
    AxisRef, EinsumError, ErrorKind, Ordered, Plan, PlanStep, Scalar, MAX_AXES,
};
pub use ndarray;
pub use num_complex;

/// Evaluates an einsum expression into a new array (or a scalar).
///
/// ```
/// # use einsum::einsum;
/// # use einsum::ndarray::{array, Array2};
/// let a = array![[1, 2, 3], [4, 5, 6]];
/// let t: Array2<i32> = einsum!("ij->ji", &a);
/// assert_eq!(t, a.t());
/// let col_sums = einsum!("ij->j", a.view());
/// assert_eq!(col_sums, array![5, 7, 9]);
/// let dot: i32 = einsum!("i,i", &[1, 2, 3][..], &vec![4, 5, 6]);
/// assert_eq!(dot, 32);
/// ```
///
/// Sizes of labels may be fixed after a `;`, with any constant expression of
/// type `usize`; the operands are checked against them once, up front:
///
/// ```
/// # use einsum::einsum;
/// # use einsum::ndarray::Array2;
/// let img = Array2::<f64>::ones((5, 5));
/// let k = Array2::<f64>::ones((3, 3));
/// let s: f64 = einsum!("ij,ij->", img.slice(einsum::ndarray::s![..3, ..3]), &k; i = 3, j = 3);
/// assert_eq!(s, 9.0);
/// ```
///
/// `alpha = x` scales the result (any expression of the element type,
/// evaluated once); options mix with fixed sizes:
///
/// ```
/// # use einsum::einsum;
/// # use einsum::ndarray::array;
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let half = einsum!("ij->ji", &a; alpha = 0.5);
/// assert_eq!(half, array![[0.5, 1.5], [1.0, 2.0]]);
/// ```
///
/// # Panics
/// When the shapes do not fit the subscripts, with the message of the
/// [`EinsumError`] that [`try_einsum!`] would return.
pub use einsum_macro::einsum;

/// Like [`einsum!`], but returns `Result<_, EinsumError>` instead of
/// panicking on shapes that do not fit.
///
/// ```
/// # use einsum::{try_einsum, EinsumError};
/// # use einsum::ndarray::Array2;
/// let a = Array2::<f64>::zeros((2, 3));
/// let b = Array2::<f64>::zeros((4, 5));
/// let e: EinsumError = try_einsum!("ij,jk->ik", &a, &b).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "einsum \"ij,jk->ik\": label `j` has size 3 in operand 0 (axis 1) but 4 in operand 1 (axis 0)"
/// );
/// ```
pub use einsum_macro::try_einsum;

/// Evaluates an einsum expression into an existing array, overwriting it.
///
/// The output comes first, as `&mut` an array or a mutable view of any
/// strides, and must have exactly the result's shape. Nothing is allocated
/// for one- and two-operand expressions.
///
/// ```
/// # use einsum::einsum_into;
/// # use einsum::ndarray::{array, Array2};
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let mut out = Array2::<f64>::zeros((2, 2));
/// einsum_into!(&mut out, "ij,jk->ik", &a, &a);
/// assert_eq!(out, array![[7.0, 10.0], [15.0, 22.0]]);
/// // Into a transposed mutable view: out[k, i] = a[k, i], a copy.
/// einsum_into!(&mut out.view_mut().reversed_axes(), "ij->ji", &a);
/// assert_eq!(out, a);
/// ```
///
/// With `alpha` and `beta` after a `;`, the result is blended in: out ←
/// alpha·result + beta·out, in place, with no temporary; a `beta` of zero
/// (the default) never reads `out`:
///
/// ```
/// # use einsum::einsum_into;
/// # use einsum::ndarray::{array, Array2};
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let mut out = Array2::<f64>::ones((2, 2));
/// einsum_into!(&mut out, "ij,jk->ik", &a, &a; alpha = 2.0, beta = 1.0);
/// assert_eq!(out, array![[15.0, 21.0], [31.0, 45.0]]);
/// let mut out = Array2::from_elem((2, 2), f64::NAN);
/// einsum_into!(&mut out, "ij->ji", &a; alpha = -1.0);
/// assert_eq!(out, array![[-1.0, -3.0], [-2.0, -4.0]]);
/// ```
///
/// A read-only view cannot receive a result:
///
/// ```compile_fail
/// # use einsum::einsum_into;
/// # use einsum::ndarray::Array2;
/// # let a = Array2::<f64>::zeros((2, 2));
/// # let mut out = Array2::<f64>::zeros((2, 2));
/// einsum_into!(&mut out.t(), "ij->ji", &a);
/// ```
///
/// # Panics
/// When the shapes do not fit, or `out` has the wrong shape; `out` is then
/// left untouched.
pub use einsum_macro::einsum_into;

/// Like [`einsum_into!`], but returns `Result<(), EinsumError>`; on an error
/// the output is left untouched.
///
/// ```
/// # use einsum::try_einsum_into;
/// # use einsum::ndarray::{array, Array1};
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// let mut out = Array1::from_elem(3, -1.0);
/// assert!(try_einsum_into!(&mut out, "ij->i", &a).is_err());
/// assert_eq!(out, array![-1.0, -1.0, -1.0]);
/// ```
pub use einsum_macro::try_einsum_into;

/// The order in which [`einsum!`] would contract these operands, with its
/// FLOP counts, as numpy's `einsum_path` reports them.
///
/// Takes what [`einsum!`] takes and returns a [`Plan`]: the FLOPs of the
/// one loop nest over every label and of the steps chosen, the speed-up,
/// the largest intermediate, and each step as an einsum of its own. Its
/// `Display` is numpy's table.
///
/// ```
/// use einsum::einsum_path;
/// use einsum::ndarray::Array2;
///
/// let a = Array2::<f64>::zeros((1000, 10));
/// let b = Array2::<f64>::zeros((10, 1000));
/// let plan = einsum_path!("ij,jk,kl->il", &a, &b, &a);
/// assert_eq!((plan.naive_flops(), plan.flops()), (300_000_000, 400_000));
/// let steps: Vec<&str> = plan.steps().iter().map(|s| s.subscripts()).collect();
/// assert_eq!(steps, ["jk,kl->jl", "ij,jl->il"]);
/// ```
///
/// # Panics
/// When the shapes do not fit the subscripts, as [`einsum!`] does.
pub use einsum_macro::einsum_path;

/// Threshold overrides and kernel traces for this workspace's tests (with
/// `einsum-runtime`'s `test-hooks` feature). Not a public API.
#[doc(hidden)]
pub use einsum_runtime::hooks as __test_hooks;

#[doc(hidden)]
pub mod __private {
    //! What the macros' expansion names. Not a public API.
    pub use core::marker::PhantomData;
    pub use einsum_runtime::{
        einsum_into, einsum_into_extreme, einsum_into_scaled, einsum_owned, einsum_owned_extreme,
        einsum_owned_scaled, einsum_path, einsum_scalar, einsum_scalar_extreme,
        einsum_scalar_scaled, elem_of, fallback_any, fallback_owned, fallback_scalar, madd,
        product_into, product_new, rows_fit, run_rows_into, run_rows_new, small_enough,
        BlendOutput, Blended, EinsumError, Lines, Operand, OrderCache, Ordered, OutputOperand,
        Plan, RawOperand, Reduce, RowKernel, RowsOut, SameElem, Scalar, Small, SmallOut, Spec,
        Term, MAX_AXES,
    };
    pub use ndarray::{ArrayRef, Dimension, Ix0, Ix1, Ix2, Ix3, Ix4, Ix5, Ix6, IxDyn};
}
