//! What the macro's expansion calls: the forms' entry points ([`entry`]),
//! the supports of the loops it writes at the call site ([`small`], and
//! [`rows`] for fixed sizes, [`product`] for matrix products), and the values it stands in after a compile
//! error ([`fallback`]).

pub(crate) mod entry;
pub(crate) mod fallback;
pub(crate) mod product;
pub(crate) mod rows;
pub(crate) mod small;
