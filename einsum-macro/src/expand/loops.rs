//! The call site's loops for small work, written out for this expression
//! from the plan's [`Loops`]: a loop per label, the output's outside, a sum
//! in a register inside, reading and writing through checked accessors
//! (`einsum_runtime::small`).
//!
//! They evaluate to `Some(result)`, or `None` when the shapes are not
//! exactly the labels' sizes (broadcasting, a mismatch: the run-time path
//! decides, and reports) or the work is not small.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::names::{acc, alpha, beta, dim_type, fixed, index, out_ref, private, size, small, view};
use crate::args::Extreme;
use crate::plan::{Loops, Plan, Product, Size, Value};

/// The loops, trying the row kernel `rows` first when there is one; these
/// loops run when it declines (rows too short, strides not unit). With
/// `scaled` (a call with `alpha` or `beta`), each output element is
/// blended: `alpha` times its value, plus `beta` times what was there.
///
/// With `extreme`, the summed labels' products are reduced to their max or
/// min instead of summed.
pub fn emit(
    plan: &Plan,
    loops: &Loops,
    rows: Option<TokenStream>,
    scaled: bool,
    extreme: Option<Extreme>,
) -> TokenStream {
    let p = private();
    let label = syn::Lifetime::new("'__einsum_small", Span::mixed_site());
    let none = quote!(break #label <::core::option::Option<_>>::None);
    let out = format_ident!("__einsum_o", span = Span::mixed_site());
    let acc = acc();

    let mut body = checked_operands(plan, loops, &none);
    if let Some(rows) = rows {
        let value = format_ident!("__einsum_rows_value", span = Span::mixed_site());
        body.extend(quote! {
            let #value = #rows;
            if ::core::option::Option::is_some(&#value) {
                break #label #value;
            }
        });
    }
    let sizes = (0..plan.labels.len() as u8).map(size);
    let small_work = quote!(#p::small_enough([#(#sizes),*]));
    match loops.product {
        // A matrix product goes to the product run where it takes the
        // call (it decides by the work and the output's size), else to the
        // loops if the work is small, else to the run-time path.
        Some(parts) if !scaled => {
            let (value, small_flag) = (
                format_ident!("__einsum_product", span = Span::mixed_site()),
                format_ident!("__einsum_small_work", span = Span::mixed_site()),
            );
            let run = product(plan, &parts);
            body.extend(quote! {
                let #small_flag = #small_work;
                let #value = #run;
                if ::core::option::Option::is_some(&#value) || !#small_flag {
                    break #label #value;
                }
            });
        }
        _ => body.extend(quote!(if !#small_work { #none })),
    }

    let product = plan
        .inputs
        .iter()
        .enumerate()
        .map(|(k, term)| {
            let (s, idx) = (small(k), term.labels.iter().map(|&l| index(l)));
            quote!(#s.get([#(#idx),*]))
        })
        .reduce(|x, y| quote!(#p::Scalar::mul(#x, #y)))
        .expect("at least one operand");
    let nest = |labels: &[u8], inner: TokenStream| {
        labels.iter().rev().fold(inner, |inner, &l| {
            let (i, n) = (index(l), size(l));
            quote!(for #i in 0..#n { #inner })
        })
    };
    let outs = &loops.output;
    let out_shape = outs.iter().map(|&l| size(l));
    let out_index: Vec<_> = outs.iter().map(|&l| index(l)).collect();
    let rank = Literal::usize_unsuffixed(outs.len());
    // The value of one output element: the product, or the sum over the
    // summed labels of products, kept in a register.
    let (start, step) = match extreme {
        None => (quote!(#p::Scalar::zero()), quote!(#p::Scalar::add)),
        Some(Extreme::Max) => (quote!(#p::Ordered::lowest()), quote!(#p::Ordered::max_of)),
        Some(Extreme::Min) => (quote!(#p::Ordered::highest()), quote!(#p::Ordered::min_of)),
    };
    let element = if loops.summed.is_empty() {
        quote!(#product)
    } else {
        let sum = nest(&loops.summed, quote!(#acc = #step(#acc, #product);));
        quote!({
            let mut #acc = #start;
            #sum
            #acc
        })
    };
    let (a, b) = (alpha(), beta());
    let element = if scaled && plan.value != Value::Into {
        quote!(#p::Scalar::mul(#a, #element))
    } else {
        element
    };
    match plan.value {
        Value::Scalar => {
            body.extend(quote!(::core::option::Option::Some(#element)));
        }
        Value::Array(dim) => {
            let dim = dim_type(dim);
            let set = nest(outs, quote!(#out.set([#(#out_index),*], #element);));
            body.extend(quote! {
                let ::core::option::Option::Some(mut #out) =
                    #p::SmallOut::<_, #dim, #rank>::new([#(#out_shape),*])
                else {
                    #none
                };
                #set
                ::core::option::Option::Some(#out.finish())
            });
        }
        Value::Into => {
            let out_ref = out_ref();
            let (set, borrow) = if scaled {
                (
                    quote!(#out.blend([#(#out_index),*], #element, #a, #b);),
                    quote!(#p::SmallOut::blended(&mut #out_ref, [#(#out_shape),*])),
                )
            } else {
                (
                    quote!(#out.set([#(#out_index),*], #element);),
                    quote!(#p::SmallOut::borrow(&mut *#out_ref, [#(#out_shape),*])),
                )
            };
            let set = nest(outs, set);
            body.extend(quote! {
                let ::core::option::Option::Some(mut #out) = #borrow else {
                    #none
                };
                #set
                ::core::option::Option::Some(())
            });
        }
        Value::Path => unreachable!("einsum_path! writes no loops"),
    }
    quote!(#label: { #body })
}

/// The checks both kinds of emitted loops start with: the size of every
/// label, then every operand as [`Small`](einsum_runtime::Small), taken only
/// if its shape is exactly its labels' sizes, with none zero. Anything else
/// breaks out with `none`, to the run-time path, which decides and reports.
fn checked_operands(plan: &Plan, loops: &Loops, none: &TokenStream) -> TokenStream {
    let shape = |k: usize| format_ident!("__einsum_sh{}", k, span = Span::mixed_site());
    let mut body = TokenStream::new();
    // A bound label's constant is its loop bound, so the compiler sees
    // constant trip counts (and unrolls short loops).
    for &(l, from) in &loops.sizes {
        if let Size::Bound(b) = from {
            let (n, var) = (size(l), fixed(b));
            body.extend(quote!(let #n: usize = #var;));
        }
    }
    for (k, term) in plan.inputs.iter().enumerate() {
        let (v, sh, rank) = (
            view(k),
            shape(k),
            Literal::usize_unsuffixed(term.labels.len()),
        );
        body.extend(quote! {
            let ::core::option::Option::Some(#sh) = #v.shape_of::<#rank>() else { #none };
        });
        for &(l, from) in &loops.sizes {
            if let Size::Axis(operand, a) = from {
                if operand == k {
                    let (n, a) = (size(l), Literal::usize_unsuffixed(a));
                    body.extend(quote!(let #n: usize = #sh[#a];));
                }
            }
        }
    }
    for (k, term) in plan.inputs.iter().enumerate() {
        let (v, s) = (view(k), small(k));
        let sizes = term.labels.iter().map(|&l| size(l));
        body.extend(quote! {
            let ::core::option::Option::Some(#s) = #v.small([#(#sizes),*]) else { #none };
        });
    }
    body
}

/// The value of a matrix product: `einsum_runtime`'s product run, or
/// `None` where it declines. Each
/// array's axis for each part, batch, M, K, N, is known here.
fn product(plan: &Plan, parts: &Product) -> TokenStream {
    let p = private();
    let axes = |labels: &[u8]| {
        let axis = |part: Option<u8>| match part.and_then(|l| labels.iter().position(|&x| x == l)) {
            Some(a) => {
                let a = Literal::usize_unsuffixed(a);
                quote!(::core::option::Option::Some(#a))
            }
            None => quote!(::core::option::Option::None),
        };
        let (b, m, k, n) = (
            axis(parts.batch),
            axis(parts.m),
            axis(parts.k),
            axis(parts.n),
        );
        quote!([#b, #m, #k, #n])
    };
    let (pa, pb, pc) = (
        axes(&plan.inputs[0].labels),
        axes(&plan.inputs[1].labels),
        axes(&plan.output.labels),
    );
    let (a, b) = (small(0), small(1));
    let rank = Literal::usize_unsuffixed(plan.output.labels.len());
    match plan.value {
        Value::Array(dim) => {
            let dim = dim_type(dim);
            quote!(#p::product_new::<_, #dim, _, _, #rank>(&#a, #pa, &#b, #pb, #pc))
        }
        Value::Into => {
            let out_ref = out_ref();
            quote!(#p::product_into(&mut *#out_ref, &#a, #pa, &#b, #pb, #pc))
        }
        Value::Scalar | Value::Path => quote!(<::core::option::Option<_>>::None),
    }
}
