//! Run-time support for the `einsum` crate: operand adapters, shape checks,
//! errors and kernels.
//!
//! This crate is an implementation detail. Use the `einsum` crate, which
//! re-exports what users need; the macro's expansion calls the rest through
//! `einsum::__private`.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod entry;
mod error;
mod fallback;
mod huge;
#[macro_use]
mod kernel;
mod operand;
mod pairwise;
mod path;
mod resolve;
mod rows;
mod scalar;
mod small;
mod spec;
mod trace;
mod tuning;
pub mod windows;

pub use entry::{einsum_into, einsum_owned, einsum_path, einsum_scalar};
pub use error::{AxisRef, EinsumError, ErrorKind};
pub use fallback::{fallback_any, fallback_owned, fallback_scalar};
pub use operand::{elem_of, Operand, OutputOperand, RawOperand, SameElem};
pub use path::{Plan, PlanCache, PlanStep};
pub use resolve::MAX_AXES;
pub use rows::{madd, rows_fit, run_rows_into, run_rows_new, Lines, RowKernel, RowsOut};
pub use scalar::Scalar;
pub use small::{small_enough, Small, SmallOut};
pub use spec::{Spec, Term};
pub use trace::{traced, Path, Paths};
pub use tuning::{with_thresholds, Thresholds};
