//! Run-time support for the `einsum` crate: ndarray's arrays, views and
//! slices as operands and results, and the entry points the macros'
//! expansion calls, over `einsum-core`'s checks and kernels.
//!
//! This crate is an implementation detail. Use the `einsum` crate, which
//! re-exports what users need; the macro's expansion calls the rest through
//! `einsum::__private`.
//!
//! The modules form layers, each using only those below it (a test,
//! `tests/layers.rs`, keeps it so):
//! 1. [`operand`]: what an operand or an output may be; [`alloc`]: new
//!    results;
//! 2. [`callsite`]: what the expansion calls; [`windows`].

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod alloc;
mod callsite;
mod operand;
pub mod windows;

pub use callsite::entry::{
    einsum_into, einsum_into_extreme, einsum_into_scaled, einsum_owned, einsum_owned_extreme,
    einsum_owned_scaled, einsum_scalar, einsum_scalar_extreme, einsum_scalar_scaled,
};
pub use callsite::fallback::{fallback_any, fallback_owned, fallback_scalar};
pub use callsite::product::{product_into, product_new};
pub use callsite::rows::{madd, rows_fit, run_rows_into, run_rows_new, RowKernel, RowsOut};
pub use callsite::small::{small_enough, SmallOut};
pub use einsum_core::support::plan as einsum_path;
pub use einsum_core::support::Reduce;
pub use einsum_core::{
    elem_of, hooks, AxisRef, EinsumError, ErrorKind, Lines, OrderCache, Ordered, Plan, PlanStep,
    RawOperand, SameElem, Scalar, Small, Spec, Term, MAX_AXES,
};
pub use operand::{from_array, BlendOutput, Blended, Operand, OutputOperand, WindowsMut};
