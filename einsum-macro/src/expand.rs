//! Tokens out: the pipeline parse → check → plan → emit, and the fallback
//! that keeps a mistake to one error.
//!
//! The expansion evaluates the operands once, in a `match` so that their
//! temporaries live to the end, checks each operand's static rank against its
//! term (a compile error naming the operand), emits the plan as a constant
//! `Spec`, and calls the run-time entry
//! point for the form. Generated code names only `::einsum::__private::…` and
//! `::core::…`, and its local names are hygienic (`Span::mixed_site`).

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::LitStr;

use crate::args::{self, Args};
use crate::parse::{self, Subscripts};
use crate::plan::{self, Output, Plan, PlanTerm, MAX_STATIC_RANK};
use crate::valid::{self, At};

/// The four macro forms.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Einsum,
    TryEinsum,
    Into,
    TryInto,
}

impl Form {
    fn has_out(self) -> bool {
        matches!(self, Form::Into | Form::TryInto)
    }

    fn is_try(self) -> bool {
        matches!(self, Form::TryEinsum | Form::TryInto)
    }

    fn usage(self) -> &'static str {
        match self {
            Form::Einsum => "`einsum!(\"ij,jk->ik\", a, b)`",
            Form::TryEinsum => "`try_einsum!(\"ij,jk->ik\", a, b)`",
            Form::Into => "`einsum_into!(&mut out, \"ij,jk->ik\", a, b)`",
            Form::TryInto => "`try_einsum_into!(&mut out, \"ij,jk->ik\", a, b)`",
        }
    }
}

/// Expands one macro call.
pub fn expand(input: TokenStream, form: Form) -> TokenStream {
    let args = match args::parse(input, form.has_out(), form.usage()) {
        Ok(args) => args,
        Err(e) => return fallback(form, e.to_compile_error(), None, None),
    };
    let lit = match &args.subscripts {
        Ok(lit) => lit.clone(),
        Err(e) => return fallback(form, e.to_compile_error(), None, Some(&args)),
    };
    let text = lit.value();
    let (subs, syntax) = parse::parse(&text);
    let names: Vec<String> = args.bindings.iter().map(|b| b.name.to_string()).collect();
    let mut errors: Vec<syn::Error> = syntax
        .into_iter()
        .map(|e| syn::Error::new(lit.span(), e.message))
        .collect();
    for d in valid::check(&text, &subs, args.operands.len(), &names) {
        let span = match d.at {
            At::Literal => lit.span(),
            At::Operand(k) => args.operands[k].span,
            At::Binding(b) => args.bindings[b].name.span(),
        };
        errors.push(syn::Error::new(span, d.message));
    }
    if !errors.is_empty() {
        let tokens = errors.iter().map(syn::Error::to_compile_error).collect();
        return fallback(form, tokens, Some(stated_output(&subs)), Some(&args));
    }
    emit(form, &args, &lit, &Plan::new(&subs, &names))
}

/// The result type the user asked for, read from subscripts that may have
/// mistakes, to type the fallback.
fn stated_output(subs: &Subscripts) -> Output {
    let term = subs
        .output
        .clone()
        .unwrap_or_else(|| plan::implicit_output(subs));
    plan::output_kind(term.labels().count(), term.ellipsis().is_some())
}

fn private() -> TokenStream {
    quote!(::einsum::__private)
}

fn dim_type(rank: Option<usize>) -> TokenStream {
    let p = private();
    match rank {
        Some(n) if n <= MAX_STATIC_RANK => {
            let ix = format_ident!("Ix{}", n);
            quote!(#p::#ix)
        }
        _ => quote!(#p::IxDyn),
    }
}

fn op_ident(k: usize) -> syn::Ident {
    format_ident!("__einsum_op{}", k, span = Span::mixed_site())
}

/// The errors, and an expression of the type the call would have had, so
/// that one mistake gives one error and not a cascade of type errors.
fn fallback(
    form: Form,
    errors: TokenStream,
    output: Option<Output>,
    args: Option<&Args>,
) -> TokenStream {
    let p = private();
    let first = args.and_then(|a| a.operands.first());
    let value = match (form, output, first) {
        (Form::Into | Form::TryInto, _, _) => quote!(()),
        (_, Some(Output::Scalar), Some(op)) => {
            let e = &op.tokens;
            quote!(#p::fallback_scalar(&(#e)))
        }
        (_, Some(Output::Static(n)), Some(op)) => {
            let (e, d) = (&op.tokens, dim_type(Some(n)));
            quote!(#p::fallback_owned::<_, #d>(&(#e)))
        }
        (_, Some(Output::Dyn), Some(op)) => {
            let (e, d) = (&op.tokens, dim_type(None));
            quote!(#p::fallback_owned::<_, #d>(&(#e)))
        }
        _ => quote!(#p::fallback_any()),
    };
    let value = if form.is_try() {
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

fn term_tokens(t: &PlanTerm) -> TokenStream {
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

/// A local trait implemented by the dimension types whose rank fits a term
/// with `labels` labels (at least that many with an ellipsis), with the
/// message shown when it does not. Its name reads as the rule it checks.
///
/// Returns the trait and the where-clause predicate `D: Trait` for the
/// dimension type `dim`; a term that is only `...` fits every rank and gets
/// neither, so it also takes operands of a generic dimension type.
fn rank_trait(
    who: &str,
    labels: usize,
    ellipsis: bool,
    message: &str,
    note: &str,
    dim: TokenStream,
) -> (TokenStream, TokenStream) {
    if ellipsis && labels == 0 {
        return (TokenStream::new(), TokenStream::new());
    }
    let name = format_ident!(
        "{}NeedsRank{}{}",
        who,
        if ellipsis { "AtLeast" } else { "" },
        labels,
        span = Span::mixed_site()
    );
    let fits: Vec<usize> = if ellipsis {
        (labels..=MAX_STATIC_RANK).collect()
    } else if labels <= MAX_STATIC_RANK {
        vec![labels]
    } else {
        Vec::new()
    };
    let dims = fits.iter().map(|&n| dim_type(Some(n)));
    let ixdyn = dim_type(None);
    let tokens = quote! {
        #[diagnostic::on_unimplemented(
            message = #message,
            label = "dimension type `{Self}`",
            note = #note
        )]
        trait #name {}
        #(#[diagnostic::do_not_recommend] impl #name for #dims {})*
        #[diagnostic::do_not_recommend]
        impl #name for #ixdyn {}
    };
    (tokens, quote!(#dim: #name,))
}

fn axes_needed(labels: usize, ellipsis: bool) -> String {
    let noun = if labels == 1 { "axis" } else { "axes" };
    if ellipsis {
        format!("at least {labels} {noun}")
    } else {
        format!("{labels} {noun}")
    }
}

fn emit(form: Form, args: &Args, lit: &LitStr, plan: &Plan) -> TokenStream {
    let p = private();
    let text = lit.value();
    let k = plan.inputs.len();
    let k_lit = Literal::usize_unsuffixed(k);
    let ops: Vec<syn::Ident> = (0..k).map(op_ident).collect();
    let exprs: Vec<&TokenStream> = args.operands.iter().map(|a| &a.tokens).collect();
    let mut items = TokenStream::new();
    let mut views: Vec<TokenStream> = Vec::new();

    let elem = format_ident!("__einsum_elem", span = Span::mixed_site());
    for (i, term) in plan.inputs.iter().enumerate() {
        let span = args.operands[i].span;
        // The check's name carries the operand's span, so its errors point
        // at the operand.
        let check = format_ident!("check_operand_{}", i, span = span);
        let labels = term.labels.len();
        let ellipsis = term.ellipsis.is_some();
        let message = format!(
            "operand {i} has the wrong number of axes: its term {:?} in {text:?} needs {}, but its \
             dimension type is `{{Self}}`",
            term.text,
            axes_needed(labels, ellipsis)
        );
        let (tokens, rank) = rank_trait(
            &format!("Operand{i}"),
            labels,
            ellipsis,
            &message,
            "an operand of dynamic rank (`IxDyn`) is checked when the call runs",
            quote!(<O as #p::Operand>::Dim),
        );
        items.extend(tokens);
        let view = format_ident!("__einsum_v{}", i, span = Span::mixed_site());
        let op = &ops[i];
        // A local trait per operand, called with the operand's span: a
        // failed check is reported once, at the operand, with the message of
        // the rule it broke (rank, element type, or not an operand at all).
        let check_trait = format_ident!("CheckOperand{}", i, span = Span::mixed_site());
        if i == 0 {
            items.extend(quote! {
                trait #check_trait {
                    type Elem;
                    fn #check(&self) -> #p::RawOperand<'_, Self::Elem>;
                }
                impl<O: #p::Operand + ?::core::marker::Sized> #check_trait for O
                where
                    #rank
                {
                    type Elem = <O as #p::Operand>::Elem;
                    #[inline(always)]
                    fn #check(&self) -> #p::RawOperand<'_, Self::Elem> {
                        #p::Operand::einsum_operand(self)
                    }
                }
            });
            views.push(quote_spanned!(span=> let #view = #check_trait::#check(&#op);));
            views.push(quote!(let #elem = #p::elem_of(&#view);));
        } else {
            // Called on the first operand's element-type marker, so the
            // element type is known before this operand is looked at.
            items.extend(quote! {
                trait #check_trait<O: ?::core::marker::Sized> {
                    type Elem;
                    fn #check(self, operand: &O) -> #p::RawOperand<'_, Self::Elem>;
                }
                impl<T, O: #p::Operand + ?::core::marker::Sized> #check_trait<O> for #p::PhantomData<T>
                where
                    #rank
                    <O as #p::Operand>::Elem: #p::SameElem<T>,
                {
                    type Elem = T;
                    #[inline(always)]
                    fn #check(self, operand: &O) -> #p::RawOperand<'_, T> {
                        <<O as #p::Operand>::Elem as #p::SameElem<T>>::same_operand(
                            #p::Operand::einsum_operand(operand),
                        )
                    }
                }
            });
            views.push(quote_spanned!(span=> let #view = #check_trait::#check(#elem, &#op);));
        }
    }
    let raw: Vec<TokenStream> = (0..k)
        .map(|i| {
            let view = format_ident!("__einsum_v{}", i, span = Span::mixed_site());
            quote!(#view)
        })
        .collect();

    let labels = proc_macro2::Literal::byte_string(
        &plan.labels.iter().map(|&c| c as u8).collect::<Vec<u8>>(),
    );
    let inputs = plan.inputs.iter().map(term_tokens);
    let output = term_tokens(&plan.output);
    let spec = format_ident!("__EINSUM_SPEC", span = Span::mixed_site());
    items.extend(quote! {
        const #spec: #p::Spec = #p::Spec::new(#text, #labels, &[#(#inputs),*], #output);
    });

    let mut fixed_lets = TokenStream::new();
    let mut fixed = Vec::new();
    let mut fixed_vars: Vec<(u8, syn::Ident)> = Vec::new();
    for &(id, b) in &plan.fixed {
        let var = format_ident!("__einsum_fixed{}", b, span = Span::mixed_site());
        let value = &args.bindings[b].value;
        let span = args.bindings[b].name.span();
        // The braces are the macro's, not the user's: a braced size must not
        // warn of unused braces.
        fixed_lets.extend(quote_spanned! {span=>
            #[allow(unused_braces)]
            let #var: usize = const { #value };
        });
        fixed_vars.push((id, var.clone()));
        let id = Literal::u8_unsuffixed(id);
        fixed.push(quote!((#id, #var)));
    }

    // The run-time tables' room: one entry per label, or numpy's most axes
    // when a `...` stands for a number of axes known only at run time.
    let has_ellipsis =
        plan.output.ellipsis.is_some() || plan.inputs.iter().any(|t| t.ellipsis.is_some());
    let room = if has_ellipsis {
        quote!({ #p::MAX_AXES })
    } else {
        let l = Literal::usize_unsuffixed(plan.labels.len());
        quote!(#l)
    };
    let value = format_ident!("__einsum_value", span = Span::mixed_site());
    let (out_pattern, out_expr, setup, small, call) = match (form, plan.output_kind()) {
        (Form::Into | Form::TryInto, _) => {
            let out = args.out.as_ref().expect("the _into forms have an output");
            let out_ident = format_ident!("__einsum_out", span = Span::mixed_site());
            let check = format_ident!("check_output", span = out.span);
            let n = plan.output.labels.len();
            let ellipsis = plan.output.ellipsis.is_some();
            let message = format!(
                "the output array has the wrong number of axes: {text:?} produces {}, but its \
                 dimension type is `{{Self}}`",
                axes_needed(n, ellipsis)
            );
            let (tokens, rank) = rank_trait(
                "Output",
                n,
                ellipsis,
                &message,
                "an output of dynamic rank (`IxDyn`) is checked when the call runs",
                quote!(<O as #p::OutputOperand<'a>>::Dim),
            );
            items.extend(tokens);
            items.extend(quote! {
                #[inline(always)]
                fn #check<'a, T, O: #p::OutputOperand<'a, Elem = T>>(
                    _first: #p::PhantomData<T>,
                    out: O,
                ) -> &'a mut #p::ArrayRef<T, <O as #p::OutputOperand<'a>>::Dim>
                where
                    #rank
                {
                    #p::OutputOperand::einsum_output(out)
                }
            });
            let out_tokens = &out.tokens;
            let out_view = quote_spanned!(out.span=> #check(#elem, #out_ident));
            let out_ref = format_ident!("__einsum_out_ref", span = Span::mixed_site());
            let call = quote! {
                #p::einsum_into::<_, _, #k_lit, #room>(&#spec, #out_ref, [#(#raw),*], &[#(#fixed),*])
            };
            let setup = quote!(let #out_ref = #out_view;);
            let small = small_path(plan, &fixed_vars, SmallOutput::Into(&out_ref));
            (
                quote!(#out_ident,),
                quote!(#out_tokens,),
                setup,
                small,
                call,
            )
        }
        (_, Output::Scalar) => (
            quote!(),
            quote!(),
            quote!(),
            small_path(plan, &fixed_vars, SmallOutput::Scalar),
            quote!(#p::einsum_scalar::<_, #k_lit, #room>(&#spec, [#(#raw),*], &[#(#fixed),*])),
        ),
        (_, kind) => {
            let dim = dim_type(match kind {
                Output::Static(n) => Some(n),
                _ => None,
            });
            (
                quote!(),
                quote!(),
                quote!(),
                small_path(plan, &fixed_vars, SmallOutput::New(dim.clone())),
                quote!(#p::einsum_owned::<_, #dim, #k_lit, #room>(&#spec, [#(#raw),*], &[#(#fixed),*])),
            )
        }
    };
    // Small work runs in the loops written here; the rest, and every error,
    // goes to the run-time kernels. The small result is returned as it is,
    // not wrapped in a `Result` and unwrapped again.
    let error = format_ident!("__einsum_error", span = Span::mixed_site());
    let call = if form.is_try() {
        call
    } else {
        quote! {
            match #call {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#error) => ::core::panic!("{}", #error),
            }
        }
    };
    let finish = match (small, form.is_try()) {
        (Some(small), true) => quote! {
            match #small {
                ::core::option::Option::Some(#value) => ::core::result::Result::Ok(#value),
                ::core::option::Option::None => #call,
            }
        },
        (Some(small), false) => quote! {
            match #small {
                ::core::option::Option::Some(#value) => #value,
                ::core::option::Option::None => #call,
            }
        },
        (None, _) => call,
    };
    quote! {
        match (#out_expr #(#exprs,)*) {
            (#out_pattern #(#ops,)*) => {
                #items
                #fixed_lets
                #(#views)*
                #setup
                #finish
            }
        }
    }
}

/// Where the emitted small loops put their result.
enum SmallOutput<'a> {
    /// A new array of this dimension type.
    New(TokenStream),
    /// The element itself (no output axis).
    Scalar,
    /// The caller's output, bound to this `&mut ArrayRef`.
    Into(&'a syn::Ident),
}

/// The most labels, and operands, for which the loops are written at the
/// call site; larger expressions always take the run-time kernels.
const SMALL_MAX_LABELS: usize = 12;

/// The loop nest for small work, written out for this expression: one loop
/// per label, the output's outside, a sum in a register inside, reading and
/// writing through checked accessors (`einsum_runtime::small`). It evaluates
/// to `Some(result)`, or `None` when the shapes are not exactly the labels'
/// sizes (broadcasting, a mismatch: the run-time path decides, and reports)
/// or the work is not small. `None` for expressions with `...`, whose rank is
/// known only at run time.
fn small_path(
    plan: &Plan,
    fixed: &[(u8, syn::Ident)],
    output: SmallOutput<'_>,
) -> Option<TokenStream> {
    let has_ellipsis =
        plan.output.ellipsis.is_some() || plan.inputs.iter().any(|t| t.ellipsis.is_some());
    if has_ellipsis || plan.labels.len() > SMALL_MAX_LABELS || plan.inputs.len() > SMALL_MAX_LABELS
    {
        return None;
    }
    let p = private();
    let label = syn::Lifetime::new("'__einsum_small", Span::mixed_site());
    let none = quote!(break #label ::core::option::Option::None);
    let view = |k: usize| format_ident!("__einsum_v{}", k, span = Span::mixed_site());
    let small = |k: usize| format_ident!("__einsum_s{}", k, span = Span::mixed_site());
    let size = |l: u8| format_ident!("__einsum_n{}", l, span = Span::mixed_site());
    let index = |l: u8| format_ident!("__einsum_i{}", l, span = Span::mixed_site());
    let out = format_ident!("__einsum_o", span = Span::mixed_site());
    let acc = format_ident!("__einsum_acc", span = Span::mixed_site());

    let shape = |k: usize| format_ident!("__einsum_sh{}", k, span = Span::mixed_site());

    let mut body = TokenStream::new();
    let mut known = vec![false; plan.labels.len()];
    // A label bound to a fixed size takes that constant as its loop bound,
    // so the compiler sees constant trip counts (and unrolls short loops);
    // every axis under it is compared with the constant.
    for (l, var) in fixed {
        let n = size(*l);
        body.extend(quote!(let #n: usize = #var;));
        known[usize::from(*l)] = true;
    }
    // Each label's size from the first axis it labels; then every operand
    // is taken only if its shape is exactly its labels' sizes, and keeps
    // those sizes, the loops' own bounds, for its index checks.
    for (k, term) in plan.inputs.iter().enumerate() {
        let (v, sh, rank) = (
            view(k),
            shape(k),
            Literal::usize_unsuffixed(term.labels.len()),
        );
        body.extend(quote! {
            let ::core::option::Option::Some(#sh) = #v.shape_of::<#rank>() else { #none };
        });
        for (a, &l) in term.labels.iter().enumerate() {
            if !known[usize::from(l)] {
                known[usize::from(l)] = true;
                let (n, a) = (size(l), Literal::usize_unsuffixed(a));
                body.extend(quote!(let #n: usize = #sh[#a];));
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
    let all: Vec<u8> = (0..plan.labels.len() as u8).collect();
    let sizes = all.iter().map(|&l| size(l));
    body.extend(quote!(if !#p::small_enough([#(#sizes),*]) { #none }));

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
    let outs = &plan.output.labels;
    let summed: Vec<u8> = all.iter().copied().filter(|l| !outs.contains(l)).collect();
    let out_shape = outs.iter().map(|&l| size(l));
    let out_index: Vec<_> = outs.iter().map(|&l| index(l)).collect();
    let rank = Literal::usize_unsuffixed(outs.len());
    // The value of one output element: the product, or the sum over the
    // summed labels of products, kept in a register.
    let element = if summed.is_empty() {
        quote!(#product)
    } else {
        let sum = nest(&summed, quote!(#acc = #p::Scalar::add(#acc, #product);));
        quote!({
            let mut #acc = #p::Scalar::zero();
            #sum
            #acc
        })
    };
    match output {
        SmallOutput::Scalar => {
            body.extend(quote!(::core::option::Option::Some(#element)));
        }
        SmallOutput::New(dim) => {
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
        SmallOutput::Into(out_ref) => {
            let set = nest(outs, quote!(#out.set([#(#out_index),*], #element);));
            body.extend(quote! {
                let ::core::option::Option::Some(mut #out) =
                    #p::SmallOut::borrow(&mut *#out_ref, [#(#out_shape),*])
                else {
                    #none
                };
                #set
                ::core::option::Option::Some(())
            });
        }
    }
    Some(quote!(#label: { #body }))
}
