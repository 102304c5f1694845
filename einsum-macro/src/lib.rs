//! The procedural macros of the `einsum` crate. Use them through `einsum`,
//! which re-exports them and provides the run-time support their expansion
//! names.
//!
//! Each call goes through the same stages, in this order, one module each:
//!
//! - `args.rs` splits the call's arguments: subscripts, operands, sizes.
//! - `parse.rs` reads the subscript literal by numpy's grammar.
//! - `valid.rs` checks across terms and arguments, every mistake at once.
//! - `plan/` decides everything the expansion holds, as plain data.
//! - `expand/` turns the plan into tokens, or the errors into a typed stub.

mod args;
mod expand;
mod parse;
mod plan;
mod valid;

use expand::Form;
use proc_macro::TokenStream;

/// See `einsum::einsum!`.
#[proc_macro]
pub fn einsum(input: TokenStream) -> TokenStream {
    expand::expand(input.into(), Form::Einsum).into()
}

/// See `einsum::try_einsum!`.
#[proc_macro]
pub fn try_einsum(input: TokenStream) -> TokenStream {
    expand::expand(input.into(), Form::TryEinsum).into()
}

/// See `einsum::einsum_into!`.
#[proc_macro]
pub fn einsum_into(input: TokenStream) -> TokenStream {
    expand::expand(input.into(), Form::Into).into()
}

/// See `einsum::try_einsum_into!`.
#[proc_macro]
pub fn try_einsum_into(input: TokenStream) -> TokenStream {
    expand::expand(input.into(), Form::TryInto).into()
}

/// See `einsum::einsum_path!`.
#[proc_macro]
pub fn einsum_path(input: TokenStream) -> TokenStream {
    expand::expand(input.into(), Form::Path).into()
}
