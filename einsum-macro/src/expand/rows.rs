//! The row kernel of an expression with fixed sizes, from the plan's
//! [`Rows`]: the output written a row at a time along its last label, each
//! operand that has that label read as slices of unit stride along it
//! (checked once per call, or the run-time path takes over), and the summed
//! labels unrolled into straight-line multiply-adds per element.
//!
//! The kernel is a local type implementing `RowKernel`, generic over the
//! instruction set it is built for: the run-time crate builds it for this
//! CPU's widest one (fused multiply-adds, wide registers) and splits large
//! outputs over the rayon pool along their first axis.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::names::{acc, dim_type, index, out_ref, private, size, small};
use crate::plan::{Plan, Read, Rows, Value};

/// The kernel and its run, which evaluates to `Some(result)`, or `None`
/// when the rows are too short or an operand is not of unit stride along
/// them.
pub fn emit(plan: &Plan, rows: &Rows) -> TokenStream {
    let p = private();
    let label = syn::Lifetime::new("'__einsum_rows", Span::mixed_site());
    let none = quote!(break #label <::core::option::Option<_>>::None);

    let outs = &plan.output.labels;
    let y = rows.row;
    let ny = size(y);
    let mut body = quote!(if !#p::rows_fit(#ny) { #none });
    let all: Vec<u8> = (0..plan.labels.len() as u8).collect();

    // The kernel's fields: each operand, read along `y` where it has it.
    let kernel_ty = format_ident!("__EinsumRows", span = Span::mixed_site());
    let elem_ty = format_ident!("__EinsumT", span = Span::mixed_site());
    let life = syn::Lifetime::new("'__einsum_a", Span::mixed_site());
    let field = |k: usize| format_ident!("__einsum_f{}", k, span = Span::mixed_site());
    let sizes_field = format_ident!("__einsum_sizes", span = Span::mixed_site());
    let mut field_defs = Vec::new();
    let mut field_inits = Vec::new();
    for (k, term) in plan.inputs.iter().enumerate() {
        let (f, s) = (field(k), small(k));
        let rank = Literal::usize_unsuffixed(term.labels.len());
        match rows.lines[k] {
            Some(a) => {
                let a = Literal::usize_unsuffixed(a);
                field_defs.push(quote!(#f: #p::Lines<#life, #elem_ty, #rank, #a>));
                body.extend(quote! {
                    let ::core::option::Option::Some(#f) = #s.lines::<#a>() else { #none };
                });
                field_inits.push(quote!(#f));
            }
            None => {
                field_defs.push(quote!(#f: #p::Small<#life, #elem_ty, #rank>));
                field_inits.push(quote!(#f: #s));
            }
        }
    }
    let n_labels = Literal::usize_unsuffixed(plan.labels.len());
    let all_sizes: Vec<syn::Ident> = all.iter().map(|&l| size(l)).collect();

    // The values each operand contributes to one element: a slice along `y`
    // or an element, one per combination of its unrolled labels' values.
    let this = quote!(self);
    let iy = index(y);
    let mut fetch = TokenStream::new();
    for read in &rows.reads {
        let (r, f) = (value(read), field(read.operand));
        let term = &plan.inputs[read.operand];
        let idx = term.labels.iter().map(|&l| {
            if l == y {
                quote!(0)
            } else if let Some(&(_, v)) = read.at.iter().find(|&&(u, _)| u == l) {
                let v = Literal::usize_unsuffixed(v);
                quote!(#v)
            } else {
                let i = index(l);
                quote!(#i)
            }
        });
        if rows.lines[read.operand].is_some() {
            fetch.extend(quote!(let #r = &#this.#f.line([#(#idx),*])[..#ny];));
        } else {
            fetch.extend(quote!(let #r = #this.#f.get([#(#idx),*]);));
        }
    }
    // One element: the sum over the unrolled combinations of the product of
    // the operands' values, multiply-added in order from zero.
    let acc = acc();
    let mut element = quote!(let mut #acc = #p::Scalar::zero(););
    for combination in &rows.combinations {
        let factors: Vec<TokenStream> = combination
            .factors
            .iter()
            .enumerate()
            .map(|(k, &r)| {
                let r = value(&rows.reads[r]);
                if rows.lines[k].is_some() {
                    quote!(#r[#iy])
                } else {
                    quote!(#r)
                }
            })
            .collect();
        let (last, rest) = factors.split_last().expect("at least one operand");
        element.extend(
            match rest
                .iter()
                .cloned()
                .reduce(|a, b| quote!(#p::Scalar::mul(#a, #b)))
            {
                Some(rest) => quote!(#acc = #p::madd::<B, _>(#acc, #rest, #last);),
                None => quote!(#acc = #p::Scalar::add(#acc, #last);),
            },
        );
    }
    element.extend(quote!(#acc));

    let out = format_ident!("__einsum_out", span = Span::mixed_site());
    let out_index = outs.iter().map(|&l| {
        if l == y {
            quote!(0)
        } else {
            let i = index(l);
            quote!(#i)
        }
    });
    let out_index = quote!([#(#out_index),*]);
    let loop_over = |labels: &[u8], inner: TokenStream| {
        labels.iter().rev().fold(inner, |inner, &l| {
            let (i, n) = (index(l), size(l));
            quote!(for #i in 0..#n { #inner })
        })
    };
    let mut nest = quote! {
        #fetch
        #out.set_row(#out_index, #ny, |#iy| { #element });
    };
    // The output's labels but the last outside, the first over `lo..hi`.
    let (lo, hi) = (
        format_ident!("__einsum_lo", span = Span::mixed_site()),
        format_ident!("__einsum_hi", span = Span::mixed_site()),
    );
    nest = match rows.outer.split_first() {
        Some((&first, rest)) => {
            let inner = loop_over(rest, nest);
            let i = index(first);
            quote!(for #i in #lo..#hi { #inner })
        }
        None => quote!(let _ = (#lo, #hi); #nest),
    };
    let size_lets = rows.sizes.iter().map(|&l| {
        let (n, l) = (size(l), Literal::usize_unsuffixed(usize::from(l)));
        quote!(let #n: usize = #this.#sizes_field[#l];)
    });
    let rank = Literal::usize_unsuffixed(outs.len());
    let out_shape = outs.iter().map(|&l| size(l));
    let kernel = format_ident!("__einsum_kernel", span = Span::mixed_site());
    body.extend(quote! {
        struct #kernel_ty<#life, #elem_ty> {
            #(#field_defs,)*
            #sizes_field: [usize; #n_labels],
        }
        impl<#life, #elem_ty: #p::Scalar> #p::RowKernel<#elem_ty, #rank> for #kernel_ty<#life, #elem_ty> {
            #[inline(always)]
            fn rows<const B: u8>(
                &self,
                #out: &mut #p::RowsOut<'_, #elem_ty, #rank>,
                #lo: usize,
                #hi: usize,
            ) {
                #(#size_lets)*
                #nest
            }
        }
        let #kernel = #kernel_ty {
            #(#field_inits,)*
            #sizes_field: [#(#all_sizes),*],
        };
    });
    let run = match plan.value {
        Value::Array(dim) => {
            let dim = dim_type(dim);
            quote! {
                #p::run_rows_new::<_, #dim, _, #rank, #n_labels>(
                    &#kernel, [#(#out_shape),*], [#(#all_sizes),*],
                )
            }
        }
        Value::Into => {
            let out_ref = out_ref();
            quote! {
                #p::run_rows_into(&#kernel, &mut *#out_ref, [#(#out_shape),*], [#(#all_sizes),*])
            }
        }
        Value::Scalar | Value::Path => unreachable!("a row kernel writes an array"),
    };
    body.extend(run);
    quote!(#label: { #body })
}

/// The local that holds one read value, named after its operand and the
/// values of that operand's unrolled labels.
fn value(read: &Read) -> syn::Ident {
    let mut name = format!("__einsum_r{}", read.operand);
    for &(_, v) in &read.at {
        name.push_str(&format!("_{v}"));
    }
    format_ident!("{}", name, span = Span::mixed_site())
}
