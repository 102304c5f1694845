//! The run-time call: the expression as a constant `Spec`, the fixed sizes,
//! the entry point for what the call evaluates to, and the expansion's value
//! from that call or from the call site's loops.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::names::{alpha, beta, dim_type, fixed, out_ref, private, view};
use crate::args::{Args, Extreme};
use crate::plan::{Plan, PlanTerm, Room, Value};

fn spec() -> syn::Ident {
    format_ident!("__EINSUM_SPEC", span = Span::mixed_site())
}

fn cache() -> syn::Ident {
    format_ident!("__EINSUM_PLAN_CACHE", span = Span::mixed_site())
}

/// The call's items: its `Spec`, and the `static` that keeps its last
/// contraction order when the plan has one.
pub fn items(plan: &Plan, text: &str) -> TokenStream {
    let p = private();
    let labels = Literal::byte_string(&plan.labels.iter().map(|&c| c as u8).collect::<Vec<u8>>());
    let inputs = plan.inputs.iter().map(term);
    let output = term(&plan.output);
    let spec = spec();
    let mut items = quote! {
        const #spec: #p::Spec = #p::Spec::new(#text, #labels, &[#(#inputs),*], #output);
    };
    if plan.cache {
        let cache = cache();
        items.extend(quote! {
            static #cache: #p::OrderCache = #p::OrderCache::new();
        });
    }
    items
}

fn term(t: &PlanTerm) -> TokenStream {
    let p = private();
    let text = &t.text;
    let labels = t.labels.iter().map(|&l| Literal::u8_unsuffixed(l));
    let ellipsis = match t.ellipsis {
        Some(e) => {
            let e = Literal::u8_unsuffixed(e);
            quote!(::core::option::Option::Some(#e))
        }
        None => quote!(::core::option::Option::None),
    };
    quote!(#p::Term::new(#text, &[#(#labels),*], #ellipsis))
}

/// The fixed sizes, each a `usize` evaluated at compile time as
/// [`fixed`]`(b)`; an error in one points at its binding.
pub fn fixed_lets(plan: &Plan, args: &Args) -> TokenStream {
    let mut lets = TokenStream::new();
    for bound in &plan.fixed {
        let var = fixed(bound.binding);
        let binding = &args.bindings[bound.binding];
        let (value, span) = (&binding.value, binding.name.span());
        // The braces are the macro's, not the user's: a braced size must not
        // warn of unused braces.
        lets.extend(quote_spanned! {span=>
            #[allow(unused_braces)]
            let #var: usize = const { #value };
        });
    }
    lets
}

/// The factors of a call with `alpha` or `beta`, each evaluated once
/// where the value is written (so that a type error points at it), the
/// element type's one and zero where not written; `beta` in the `_into`
/// forms alone (`into`), the others having no output to blend into.
pub fn scale_lets(args: &Args, into: bool) -> TokenStream {
    let p = private();
    let (a, b) = (alpha(), beta());
    let value = |binding: &Option<crate::args::Binding>, default: TokenStream| match binding {
        Some(binding) => {
            let (value, span) = (&binding.value, binding.name.span());
            quote_spanned!(span=> #value)
        }
        None => default,
    };
    let alpha_value = value(&args.scale.alpha, quote!(#p::Scalar::one()));
    let mut lets = quote!(let #a = #alpha_value;);
    if into {
        let beta_value = value(&args.scale.beta, quote!(#p::Scalar::zero()));
        lets.extend(quote!(let #b = #beta_value;));
    }
    lets
}

/// The call of the run-time entry point, which returns a `Result`; the
/// entry point's scaled form when the call has `alpha` or `beta`
/// (`scaled`), given the values [`scale_lets`] evaluated, or its form for
/// a max or min (`extreme`).
pub fn call(plan: &Plan, scaled: bool, extreme: Option<Extreme>) -> TokenStream {
    let p = private();
    let k = Literal::usize_unsuffixed(plan.inputs.len());
    let room = match plan.room {
        Room::Labels(n) => {
            let n = Literal::usize_unsuffixed(n);
            quote!(#n)
        }
        Room::MaxAxes => quote!({ #p::MAX_AXES }),
    };
    let spec = spec();
    let views = (0..plan.inputs.len()).map(view);
    let views = quote!([#(#views),*]);
    let fixed = plan.fixed.iter().map(|b| {
        let (id, var) = (Literal::u8_unsuffixed(b.label), fixed(b.binding));
        quote!((#id, #var))
    });
    let fixed = quote!(&[#(#fixed),*]);
    let cache = if plan.cache {
        let cache = cache();
        quote!(::core::option::Option::Some(&#cache))
    } else {
        quote!(::core::option::Option::None)
    };
    let (a, b) = (alpha(), beta());
    if let Some(extreme) = extreme {
        let reduce = match extreme {
            Extreme::Max => quote!(#p::Reduce::Max),
            Extreme::Min => quote!(#p::Reduce::Min),
        };
        return match plan.value {
            Value::Path => unreachable!("einsum_path! takes no reduce"),
            Value::Into => {
                let out_ref = out_ref();
                quote! {
                    #p::einsum_into_extreme::<_, _, #k, #room>(
                        &#spec, #out_ref, #views, #fixed, #cache, (#a, #b), #reduce,
                    )
                }
            }
            Value::Scalar => quote! {
                #p::einsum_scalar_extreme::<_, #k, #room>(
                    &#spec, #views, #fixed, #cache, #a, #reduce,
                )
            },
            Value::Array(rank) => {
                let dim = dim_type(rank);
                quote! {
                    #p::einsum_owned_extreme::<_, #dim, #k, #room>(
                        &#spec, #views, #fixed, #cache, #a, #reduce,
                    )
                }
            }
        };
    }
    if scaled {
        return match plan.value {
            Value::Path => unreachable!("einsum_path! takes no alpha or beta"),
            Value::Into => {
                let out_ref = out_ref();
                quote! {
                    #p::einsum_into_scaled::<_, _, #k, #room>(
                        &#spec, #out_ref, #views, #fixed, #cache, #a, #b,
                    )
                }
            }
            Value::Scalar => quote! {
                #p::einsum_scalar_scaled::<_, #k, #room>(&#spec, #views, #fixed, #cache, #a)
            },
            Value::Array(rank) => {
                let dim = dim_type(rank);
                quote! {
                    #p::einsum_owned_scaled::<_, #dim, #k, #room>(
                        &#spec, #views, #fixed, #cache, #a,
                    )
                }
            }
        };
    }
    match plan.value {
        Value::Path => quote!(#p::einsum_path::<_, #k, #room>(&#spec, #views, #fixed)),
        Value::Into => {
            let out_ref = out_ref();
            quote! {
                #p::einsum_into::<_, _, #k, #room>(&#spec, #out_ref, #views, #fixed, #cache)
            }
        }
        Value::Scalar => quote!(#p::einsum_scalar::<_, #k, #room>(&#spec, #views, #fixed, #cache)),
        Value::Array(rank) => {
            let dim = dim_type(rank);
            quote!(#p::einsum_owned::<_, #dim, #k, #room>(&#spec, #views, #fixed, #cache))
        }
    }
}

/// The expansion's value: the call site's loops' result when they give one
/// (`small`, an `Option`), else the run-time call's, unwrapped unless the
/// form is a `try_` one.
///
/// Small work runs in the loops; the rest, and every error, goes to the
/// run-time kernels. The loops' result is returned as it is, not wrapped in
/// a `Result` and unwrapped again.
pub fn finish(call: TokenStream, small: Option<TokenStream>, is_try: bool) -> TokenStream {
    let value = format_ident!("__einsum_value", span = Span::mixed_site());
    let error = format_ident!("__einsum_error", span = Span::mixed_site());
    let call = if is_try {
        call
    } else {
        quote! {
            match #call {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#error) => ::core::panic!("{}", #error),
            }
        }
    };
    let small_value = format_ident!("__einsum_small_value", span = Span::mixed_site());
    match (small, is_try) {
        (Some(small), true) => quote! {
            let #small_value = #small;
            match #small_value {
                ::core::option::Option::Some(#value) => ::core::result::Result::Ok(#value),
                ::core::option::Option::None => #call,
            }
        },
        (Some(small), false) => quote! {
            let #small_value = #small;
            match #small_value {
                ::core::option::Option::Some(#value) => #value,
                ::core::option::Option::None => #call,
            }
        },
        (None, _) => call,
    }
}
