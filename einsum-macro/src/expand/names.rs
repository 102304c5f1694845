//! The names the generated code uses: the runtime crate's hidden module,
//! ndarray's dimension types through it, and the locals that more than one
//! part of the expansion refers to.
//!
//! Every local is made at `Span::mixed_site()`, so the user's code neither
//! sees nor shadows it.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::plan::MAX_STATIC_RANK;

/// The facade's re-exports: the only path into the runtime crate, which a
/// user's crate does not name.
pub fn private() -> TokenStream {
    quote!(::einsum::__private)
}

/// The dimension type of this many axes; `IxDyn` for `None` or past `Ix6`.
pub fn dim_type(rank: Option<usize>) -> TokenStream {
    let p = private();
    match rank {
        Some(n) if n <= MAX_STATIC_RANK => {
            let ix = format_ident!("Ix{}", n);
            quote!(#p::#ix)
        }
        _ => quote!(#p::IxDyn),
    }
}

/// Operand `k` as evaluated, once.
pub fn operand(k: usize) -> Ident {
    format_ident!("__einsum_op{}", k, span = Span::mixed_site())
}

/// Operand `k` after its check: a `RawOperand`.
pub fn view(k: usize) -> Ident {
    format_ident!("__einsum_v{}", k, span = Span::mixed_site())
}

/// Operand `k` as read by the call site's loops: a `Small`.
pub fn small(k: usize) -> Ident {
    format_ident!("__einsum_s{}", k, span = Span::mixed_site())
}

/// The marker of the first operand's element type, which the other operands
/// and the output are checked against.
pub fn elem() -> Ident {
    format_ident!("__einsum_elem", span = Span::mixed_site())
}

/// The output of the `_into` forms, as evaluated.
pub fn out() -> Ident {
    format_ident!("__einsum_out", span = Span::mixed_site())
}

/// The output of the `_into` forms after its check: a `&mut ArrayRef`.
pub fn out_ref() -> Ident {
    format_ident!("__einsum_out_ref", span = Span::mixed_site())
}

/// The size bound at binding `b`, a `usize` evaluated in a const block.
pub fn fixed(b: usize) -> Ident {
    format_ident!("__einsum_fixed{}", b, span = Span::mixed_site())
}

/// The size of label `l` in the emitted loops.
pub fn size(l: u8) -> Ident {
    format_ident!("__einsum_n{}", l, span = Span::mixed_site())
}

/// The index of label `l` in the emitted loops.
pub fn index(l: u8) -> Ident {
    format_ident!("__einsum_i{}", l, span = Span::mixed_site())
}

/// The product's accumulator, in a register.
pub fn acc() -> Ident {
    format_ident!("__einsum_acc", span = Span::mixed_site())
}

/// `alpha`, evaluated once (the element type's one when not given).
pub fn alpha() -> Ident {
    format_ident!("__einsum_alpha", span = Span::mixed_site())
}

/// `beta`, evaluated once (the element type's zero when not given).
pub fn beta() -> Ident {
    format_ident!("__einsum_beta", span = Span::mixed_site())
}
