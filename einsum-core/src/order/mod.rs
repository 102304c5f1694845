//! The contraction order of three or more operands: the search
//! ([`search`]), a call site's cache of its last order ([`cache`]), and
//! the description `einsum_path!` shows ([`plan`]).

mod cache;
mod plan;
mod search;

pub use cache::OrderCache;
pub use plan::Plan;
pub use plan::PlanStep;
pub(crate) use search::{nest_only, order, volume, Order, Step, ALONE, MAX_STEPS, PAIRWISE_MAX};
