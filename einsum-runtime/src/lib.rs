//! Run-time support for the `einsum` crate: operand adapters, shape checks,
//! errors and kernels.
//!
//! This crate is an implementation detail. Use the `einsum` crate, which
//! re-exports what users need; the macro's expansion calls the rest through
//! `einsum::__private`.
//!
//! The modules form layers, each using only those below it (a test,
//! `tests/layers.rs`, keeps it so):
//! 1. plain data and limits: [`limits`], [`error`], [`spec`], [`operand`],
//!    [`axes`], [`tuning`], [`trace`];
//! 2. [`order`] (the contraction order), [`alloc`] (new results), [`desc`]
//!    (what one call is);
//! 3. [`element`]: the element types, and which of their instances are
//!    prebuilt;
//! 4. [`kernel`]: the code that reads operands and writes results;
//! 5. [`call`]: one call, from its operands to its result;
//! 6. [`callsite`]: what the expansion calls; [`windows`];
//! 7. [`prebuilt`]: the instances compiled in this crate for each element
//!    type.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod alloc;
mod axes;
mod desc;
mod element;
mod error;
mod limits;
mod operand;
mod order;
mod spec;
mod trace;
mod tuning;
#[macro_use]
mod kernel;
mod call;
mod callsite;
mod prebuilt;
pub mod windows;

pub use callsite::entry::{einsum_into, einsum_owned, einsum_path, einsum_scalar};
pub use callsite::fallback::{fallback_any, fallback_owned, fallback_scalar};
pub use callsite::rows::{madd, rows_fit, run_rows_into, run_rows_new, Lines, RowKernel, RowsOut};
pub use callsite::small::{small_enough, Small, SmallOut};
pub use element::Scalar;
pub use error::{AxisRef, EinsumError, ErrorKind};
pub use limits::MAX_AXES;
pub use operand::{elem_of, Operand, OutputOperand, RawOperand, SameElem};
pub use order::{OrderCache, Plan, PlanStep};
pub use spec::{Spec, Term};

/// What the workspace's tests use to force each kernel on small shapes and
/// see which ran. Not part of the API: empty unless the `test-hooks`
/// feature is on.
#[doc(hidden)]
pub mod hooks {
    #[cfg(feature = "test-hooks")]
    pub use crate::trace::{traced, KernelPath, KernelPaths};
    #[cfg(feature = "test-hooks")]
    pub use crate::tuning::{with_thresholds, Thresholds};
}
