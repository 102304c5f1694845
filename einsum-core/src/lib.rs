//! The computation behind the `einsum` crate: shape checks, contraction
//! orders and kernels over strided operands, with no array type of its own.
//!
//! This crate is an implementation detail. Use the `einsum` crate, which
//! re-exports what users need; `einsum-runtime` adapts ndarray's arrays to
//! the operands and results here. It depends on no array crate, so that a
//! build compiles it (most of the code) while it compiles ndarray.
//!
//! The modules form layers, each using only those below it (a test,
//! `tests/layers.rs`, keeps it so):
//! 1. plain data and limits: [`limits`], [`error`], [`spec`], [`operand`],
//!    [`axes`], [`tuning`], [`trace`];
//! 2. [`order`] (the contraction order), [`desc`] (what one call is);
//! 3. [`element`]: the element types, which of their kernels are
//!    prebuilt, and the table the call layer reaches them through;
//! 4. [`kernel`]: the code that reads operands and writes results;
//! 5. [`call`]: one call, from its operands to its result, with the
//!    element type erased;
//! 6. [`entry`]: one call routed to the call layer with its type's
//!    kernels;
//!    [`small`]: operands as the call site's own loops read them;
//! 7. [`prebuilt`]: the kernels compiled in this crate for each element
//!    type.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

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
mod entry;
mod prebuilt;
mod small;

pub use element::{Ordered, Scalar};
pub use error::{AxisRef, EinsumError, ErrorKind, WindowCall};
pub use limits::MAX_AXES;
pub use operand::{elem_of, RawOperand, SameElem};
pub use order::{OrderCache, Plan, PlanStep};
pub use small::{Lines, Small};
pub use spec::{Spec, Term};

/// What `einsum-runtime` builds on: a call's description and entry points,
/// the thread pool, the thresholds and the kernel traces. Not a public API.
#[doc(hidden)]
pub mod support {
    pub use crate::desc::{Alloc, Call, Dest, Product, Reduce, Scale};
    pub use crate::entry::{evaluate, evaluate_extreme, plan};
    pub use crate::error::WindowFn;
    pub use crate::kernel::isa;
    pub use crate::kernel::pool::{for_each_task, pool_threads};
    pub use crate::kernel::product::{product_pays, run_product, BATCH, K, M, N};
    pub use crate::small::clamped_offset;
    pub use crate::trace::{mark, KernelPath};
    pub use crate::tuning::{current as thresholds, Thresholds};
}

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
