//! The expansion of a call with mistakes: the errors, beside an expression
//! of the type the call would have had, so that one mistake gives one error
//! and not a cascade of type errors.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{dim_type, private};
use crate::args::Args;
use crate::plan::{Output, Returns};

/// The errors and the stub, typed by what the form `returns`, the result
/// type the user asked for (`output`, when the subscripts were read) and
/// the first operand's element type (when the arguments were read).
pub fn fallback(
    returns: Returns,
    is_try: bool,
    errors: TokenStream,
    output: Option<Output>,
    args: Option<&Args>,
) -> TokenStream {
    let p = private();
    let first = args.and_then(|a| a.operands.first());
    let value = match (returns, output, first) {
        (Returns::Into, _, _) => quote!(()),
        (Returns::Path, _, _) => quote!(#p::fallback_any::<#p::Plan>()),
        (Returns::Result, Some(Output::Scalar), Some(op)) => {
            let e = &op.tokens;
            quote!(#p::fallback_scalar(&(#e)))
        }
        (Returns::Result, Some(Output::Static(n)), Some(op)) => {
            let (e, d) = (&op.tokens, dim_type(Some(n)));
            quote!(#p::fallback_owned::<_, #d>(&(#e)))
        }
        (Returns::Result, Some(Output::Dyn), Some(op)) => {
            let (e, d) = (&op.tokens, dim_type(None));
            quote!(#p::fallback_owned::<_, #d>(&(#e)))
        }
        _ => quote!(#p::fallback_any()),
    };
    let value = if is_try {
        quote!(::core::result::Result::<_, #p::EinsumError>::Ok(#value))
    } else {
        value
    };
    quote!({
        #errors
        #[allow(unreachable_code)]
        #value
    })
}
