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
    /// `einsum_path!`: the plan, not the result.
    Path,
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
            Form::Path => "`einsum_path!(\"ij,jk,kl->il\", a, b, c)`",
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
        (Form::Path, _, _) => quote!(#p::fallback_any::<#p::Plan>()),
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
    let mut fixed_vars: Vec<Fixed> = Vec::new();
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
        let literal = syn::parse2::<syn::LitInt>(value.clone())
            .ok()
            .and_then(|n| n.base10_parse::<usize>().ok());
        fixed_vars.push(Fixed {
            id,
            var: var.clone(),
            literal,
        });
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
    // Three or more operands: a cache of the last contraction order, for
    // calls with the same sizes.
    let cache = if k >= 3 {
        let name = format_ident!("__EINSUM_PLAN_CACHE", span = Span::mixed_site());
        items.extend(quote! {
            static #name: #p::OrderCache = #p::OrderCache::new();
        });
        quote!(::core::option::Option::Some(&#name))
    } else {
        quote!(::core::option::Option::None)
    };
    let value = format_ident!("__einsum_value", span = Span::mixed_site());
    let (out_pattern, out_expr, setup, small, call) = match (form, plan.output_kind()) {
        (Form::Path, _) => (
            quote!(),
            quote!(),
            quote!(),
            None,
            quote!(#p::einsum_path::<_, #k_lit, #room>(&#spec, [#(#raw),*], &[#(#fixed),*])),
        ),
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
                #p::einsum_into::<_, _, #k_lit, #room>(&#spec, #out_ref, [#(#raw),*], &[#(#fixed),*], #cache)
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
            quote!(#p::einsum_scalar::<_, #k_lit, #room>(&#spec, [#(#raw),*], &[#(#fixed),*], #cache)),
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
                quote!(#p::einsum_owned::<_, #dim, #k_lit, #room>(&#spec, [#(#raw),*], &[#(#fixed),*], #cache)),
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
    let small_value = format_ident!("__einsum_small_value", span = Span::mixed_site());
    let finish = match (small, form.is_try()) {
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
fn small_path(plan: &Plan, fixed: &[Fixed], output: SmallOutput<'_>) -> Option<TokenStream> {
    if !writes_loops(plan) {
        return None;
    }
    let rows = rows_unrolled(plan, fixed).map(|u| rows_path(plan, &u, &output));
    let p = private();
    let label = syn::Lifetime::new("'__einsum_small", Span::mixed_site());
    let none = quote!(break #label <::core::option::Option<_>>::None);
    let out = format_ident!("__einsum_o", span = Span::mixed_site());
    let acc = format_ident!("__einsum_acc", span = Span::mixed_site());

    let mut body = checked_operands(plan, fixed, &none);
    // A row kernel first, when there is one; these loops when it declines
    // (rows too short, strides not unit).
    if let Some(rows) = rows {
        let value = format_ident!("__einsum_rows_value", span = Span::mixed_site());
        body.extend(quote! {
            let #value = #rows;
            if ::core::option::Option::is_some(&#value) {
                break #label #value;
            }
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

/// A fixed-size binding as the emitted loops see it.
pub struct Fixed {
    /// The label's id.
    id: u8,
    /// The local that holds its size.
    var: syn::Ident,
    /// The size, when written as an integer literal: such labels can be
    /// unrolled by the macro itself.
    literal: Option<usize>,
}

fn size(l: u8) -> syn::Ident {
    format_ident!("__einsum_n{}", l, span = Span::mixed_site())
}

fn index(l: u8) -> syn::Ident {
    format_ident!("__einsum_i{}", l, span = Span::mixed_site())
}

fn view(k: usize) -> syn::Ident {
    format_ident!("__einsum_v{}", k, span = Span::mixed_site())
}

fn small(k: usize) -> syn::Ident {
    format_ident!("__einsum_s{}", k, span = Span::mixed_site())
}

/// Whether the call site gets loops of its own: no `...` (whose rank is
/// known only at run time) and not too many labels or operands.
fn writes_loops(plan: &Plan) -> bool {
    let has_ellipsis =
        plan.output.ellipsis.is_some() || plan.inputs.iter().any(|t| t.ellipsis.is_some());
    !has_ellipsis && plan.labels.len() <= SMALL_MAX_LABELS && plan.inputs.len() <= SMALL_MAX_LABELS
}

/// The checks both kinds of emitted loops start with: the size of every
/// label (a bound label's is its constant; the others' from the first axis
/// they label), then every operand as [`Small`](einsum_runtime::Small),
/// taken only if its shape is exactly its labels' sizes, with none zero.
/// Anything else breaks out with `none`, to the run-time path, which decides
/// and reports.
fn checked_operands(plan: &Plan, fixed: &[Fixed], none: &TokenStream) -> TokenStream {
    let shape = |k: usize| format_ident!("__einsum_sh{}", k, span = Span::mixed_site());
    let mut body = TokenStream::new();
    let mut known = vec![false; plan.labels.len()];
    // A label bound to a fixed size takes that constant as its loop bound,
    // so the compiler sees constant trip counts (and unrolls short loops);
    // every axis under it is compared with the constant.
    for f in fixed {
        let (n, var) = (size(f.id), &f.var);
        body.extend(quote!(let #n: usize = #var;));
        known[usize::from(f.id)] = true;
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
    body
}

/// The most products per output element that bound labels are unrolled
/// into (the product of their sizes); beyond it, they stay loops with
/// constant bounds.
///
/// It bounds what a call with fixed sizes adds to the build. Its row kernel
/// ([`rows_path`]) holds P multiply-adds per output element, P the product
/// of the unrolled sizes (at most `UNROLL_MAX`), each over one value of
/// every operand, so it reads at most k·P operand values per row for k
/// operands: at most 384 with the [`SMALL_MAX_LABELS`] (12) operands that
/// the call site's loops allow. Each read costs the expansion at most
/// 40 + 2·r tokens, r the rank of the operand read (the fetch of a value
/// and its place in a product), so the kernel adds at most
/// `UNROLL_MAX`·Σₖ(40 + 2·rₖ) tokens to the call: 2 816 for a matrix times
/// a matrix (`"ij,jk->ik"` with `j = 32`), 24 576 at most for twelve
/// operands of twelve labels. The compiler builds the kernel three times
/// (AVX-512, AVX2, the baseline), and its time grows faster than the
/// kernel: at 64 products a call cost about 1.8 s of release build, at 32
/// a fraction of that (`benches/build_cost.py`). 32 keeps a 5×5 filter, a
/// 3×3×3 one and a 4×4 filter over two channels unrolled.
/// `tests::unrolling_is_bounded` checks these numbers at the bound and one
/// step over it.
pub const UNROLL_MAX: usize = 32;

/// The labels a row kernel unrolls: every summed label, when each is bound
/// to an integer literal (not zero) and the product of their sizes is at
/// most [`UNROLL_MAX`]. `None` when the expression gets no row kernel:
/// without fixed sizes, without an output label, with a label twice in one
/// term, or with a summed label left to loop over. A loop over a summed
/// label is a contraction that the run-time kernels (GEMM among them) do
/// better than a loop around rows.
fn rows_unrolled(plan: &Plan, fixed: &[Fixed]) -> Option<Vec<(u8, usize)>> {
    let distinct = |labels: &[u8]| {
        labels
            .iter()
            .enumerate()
            .all(|(a, l)| !labels[..a].contains(l))
    };
    if fixed.is_empty()
        || plan.output.labels.is_empty()
        || !plan.inputs.iter().all(|t| distinct(&t.labels))
    {
        return None;
    }
    let mut unrolled = Vec::new();
    let mut products = 1usize;
    for l in (0..plan.labels.len() as u8).filter(|l| !plan.output.labels.contains(l)) {
        let n = fixed
            .iter()
            .find(|f| f.id == l)
            .and_then(|f| f.literal)
            .filter(|&n| n > 0)?;
        products = products.checked_mul(n).filter(|&p| p <= UNROLL_MAX)?;
        unrolled.push((l, n));
    }
    Some(unrolled)
}

/// The row kernel of an expression with fixed sizes, at any size.
///
/// The output's last label runs innermost over whole rows: each operand that
/// has it is read as slices of unit stride along it (checked once per call,
/// or the run-time path takes over), the output is written a row at a time,
/// and the summed labels bound to literal sizes are unrolled, up to
/// [`UNROLL_MAX`] products, into straight-line multiply-adds per element:
/// for `"xyij,ij->xy"` with `i = 3, j = 3`,
/// `out[x][y] = k00·w[x][y][0][0] + k01·w[x][y][0][1] + … + k22·w[x][y][2][2]`,
/// with the nine weights and the nine window rows fetched once per row.
/// Other summed labels are loops around the row, which then accumulates.
///
/// The kernel is a local type implementing `RowKernel`, generic over the
/// instruction set it is built for: the run-time crate builds it for this
/// CPU's widest one (fused multiply-adds, wide registers) and splits large
/// outputs over the rayon pool along their first axis.
fn rows_path(plan: &Plan, unrolled: &[(u8, usize)], output: &SmallOutput<'_>) -> TokenStream {
    let p = private();
    let label = syn::Lifetime::new("'__einsum_rows", Span::mixed_site());
    let none = quote!(break #label <::core::option::Option<_>>::None);

    let outs = &plan.output.labels;
    let y = *outs.last().expect("an output label");
    let ny = size(y);
    let mut body = quote!(if !#p::rows_fit(#ny) { #none });
    let all: Vec<u8> = (0..plan.labels.len() as u8).collect();
    let is_unrolled = |l: u8| unrolled.iter().any(|&(u, _)| u == l);

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
        match term.labels.iter().position(|&l| l == y) {
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
    let combos = combinations(unrolled);
    let value = |k: usize, combo: &[(u8, usize)]| {
        let term = &plan.inputs[k];
        let mut name = format!("__einsum_r{k}");
        for &l in &term.labels {
            if let Some(&(_, v)) = combo.iter().find(|&&(u, _)| u == l) {
                name.push_str(&format!("_{v}"));
            }
        }
        format_ident!("{}", name, span = Span::mixed_site())
    };
    let mut fetched: Vec<syn::Ident> = Vec::new();
    for combo in &combos {
        for (k, term) in plan.inputs.iter().enumerate() {
            let r = value(k, combo);
            if fetched.contains(&r) {
                continue;
            }
            fetched.push(r.clone());
            let f = field(k);
            let idx = term.labels.iter().map(|&l| {
                if l == y {
                    quote!(0)
                } else if let Some(&(_, v)) = combo.iter().find(|&&(u, _)| u == l) {
                    let v = Literal::usize_unsuffixed(v);
                    quote!(#v)
                } else {
                    let i = index(l);
                    quote!(#i)
                }
            });
            if term.labels.contains(&y) {
                let ny = size(y);
                fetch.extend(quote!(let #r = &#this.#f.line([#(#idx),*])[..#ny];));
            } else {
                fetch.extend(quote!(let #r = #this.#f.get([#(#idx),*]);));
            }
        }
    }
    // One element: the sum over the unrolled combinations of the product of
    // the operands' values, multiply-added in order from zero.
    let acc = format_ident!("__einsum_acc", span = Span::mixed_site());
    let mut element = quote!(let mut #acc = #p::Scalar::zero(););
    for combo in &combos {
        let factors: Vec<TokenStream> = plan
            .inputs
            .iter()
            .enumerate()
            .map(|(k, term)| {
                let r = value(k, combo);
                if term.labels.contains(&y) {
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
    let outer = &outs[..outs.len() - 1];
    nest = match outer.split_first() {
        Some((&first, rest)) => {
            let inner = loop_over(rest, nest);
            let i = index(first);
            quote!(for #i in #lo..#hi { #inner })
        }
        None => quote!(let _ = (#lo, #hi); #nest),
    };
    // The sizes the kernel reads: loop bounds and the row length.
    let used: Vec<u8> = all.iter().copied().filter(|&l| !is_unrolled(l)).collect();
    let size_lets = used.iter().map(|&l| {
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
    let run = match output {
        SmallOutput::New(dim) => quote! {
            #p::run_rows_new::<_, #dim, _, #rank, #n_labels>(
                &#kernel, [#(#out_shape),*], [#(#all_sizes),*],
            )
        },
        SmallOutput::Into(out_ref) => quote! {
            #p::run_rows_into(&#kernel, &mut *#out_ref, [#(#out_shape),*], [#(#all_sizes),*])
        },
        SmallOutput::Scalar => unreachable!("a row kernel has an output label"),
    };
    body.extend(run);
    quote!(#label: { #body })
}

/// Every combination of values of `labels` (each `(label, size)`), the
/// last label varying fastest; one empty combination for no label.
fn combinations(labels: &[(u8, usize)]) -> Vec<Vec<(u8, usize)>> {
    labels.iter().fold(vec![Vec::new()], |acc, &(l, n)| {
        acc.iter()
            .flat_map(|c| {
                (0..n).map(move |v| {
                    let mut c = c.clone();
                    c.push((l, v));
                    c
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion of one call, formatted as Rust (inside a function, so
    /// that it parses as a file).
    fn expansion(call: &str, form: Form) -> String {
        let input: TokenStream = call.parse().expect("tokens");
        let body = expand(input, form);
        let file: syn::File = syn::parse2(quote!(fn expansion() { let _ = #body; }))
            .expect("the expansion parses as Rust");
        prettyplease::unparse(&file)
    }

    /// The section of `text` from `from` to `to`.
    fn section<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
        let start = text.find(from).expect("start of the section");
        let end = start + text[start..].find(to).expect("end of the section");
        &text[start..end]
    }

    /// The expansion of the Sobel call, as `cargo expand` would show it, is
    /// kept in `snapshots/sobel_fixed.rs`; a change to it shows up in review.
    /// `EINSUM_BLESS=1 cargo test -p einsum-macro` rewrites the file.
    #[test]
    fn sobel_expansion_snapshot() {
        let got = expansion(r#""xyij,ij->xy", w, k; i = 3, j = 3"#, Form::Einsum);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/sobel_fixed.rs");
        if std::env::var_os("EINSUM_BLESS").is_some() {
            std::fs::write(path, &got).expect("write the snapshot");
        }
        let want = std::fs::read_to_string(path).expect("read the snapshot");
        assert!(
            got == want,
            "the expansion differs from {path}; rerun with EINSUM_BLESS=1 and review the diff"
        );
    }

    /// With `i = 3, j = 3` the kernel is one loop over output rows, and per
    /// output element nine multiply-adds in a row, with no loop over `i` or
    /// `j`: the nine window rows and nine weights are fetched once per row.
    #[test]
    fn bound_labels_unroll_into_straight_line_code() {
        let text = expansion(r#""xyij,ij->xy", w, k; i = 3, j = 3"#, Form::Einsum);
        let kernel = section(&text, "fn rows<const B: u8>", "let __einsum_kernel");
        assert_eq!(kernel.matches("for ").count(), 1, "{kernel}");
        assert_eq!(kernel.matches(".line(").count(), 9, "{kernel}");
        assert_eq!(kernel.matches(".get(").count(), 9, "{kernel}");
        let element = section(kernel, "|__einsum_i1| {", "__einsum_acc\n");
        assert_eq!(element.matches("madd::<").count(), 9, "{element}");
        assert!(!element.contains("for "), "{element}");
        // `einsum_into!` gets the same kernel, writing the caller's rows.
        let text = expansion(r#"&mut out, "xyij,ij->xy", w, k; i = 3, j = 3"#, Form::Into);
        let kernel = section(&text, "fn rows<const B: u8>", "let __einsum_kernel");
        assert_eq!(kernel.matches("madd::<").count(), 9, "{kernel}");
        assert!(text.contains("run_rows_into"));
    }

    /// No row kernel where unrolling is not known or not bounded: a size
    /// that is not a literal, more than `UNROLL_MAX` products, a summed
    /// label left free, no output label.
    #[test]
    fn row_kernels_only_for_bounded_unrolling() {
        let has_kernel = |call: &str| expansion(call, Form::Einsum).contains("RowKernel");
        assert!(has_kernel(r#""ij,jk->ik", a, b; j = 4"#));
        assert!(has_kernel(r#""ij,jk->ik", a, b; j = 32"#));
        assert!(!has_kernel(r#""ij,jk->ik", a, b; j = 33"#));
        assert!(!has_kernel(r#""ij,jk->ik", a, b; j = N"#));
        assert!(!has_kernel(r#""ij,jk->ik", a, b; i = 4"#));
        assert!(!has_kernel(r#""ij,jk->ik", a, b"#));
        assert!(!has_kernel(r#""ij,ij->", a, b; i = 4, j = 4"#));
        assert!(!has_kernel(r#""ii->i", a; i = 4"#));
        assert!(has_kernel(r#""xyijc,ijc->xy", w, k; i = 4, j = 4, c = 2"#));
        assert!(!has_kernel(r#""xyijc,ijc->xy", w, k; i = 4, j = 4, c = 3"#));
    }

    /// Identifiers, punctuation, literals and groups in a token stream.
    fn token_count(tokens: TokenStream) -> usize {
        tokens
            .into_iter()
            .map(|t| match t {
                proc_macro2::TokenTree::Group(g) => 1 + token_count(g.stream()),
                _ => 1,
            })
            .sum()
    }

    /// The bound written on [`UNROLL_MAX`]: at the largest unrolling
    /// allowed, the row kernel holds `UNROLL_MAX` multiply-adds per output
    /// element, reads at most k·`UNROLL_MAX` values per row for k operands,
    /// and adds at most `UNROLL_MAX`·Σₖ(40 + 2·rₖ) tokens to the call's
    /// expansion; one step over it, the same call gets no kernel and no
    /// multiply-add at all.
    #[test]
    fn unrolling_is_bounded() {
        let twelve = ["xa"; SMALL_MAX_LABELS].join(",");
        let ops = ["o"; SMALL_MAX_LABELS].join(", ");
        // (the call at the bound, the same call one step over it)
        let cases = [
            (
                r#""ij,jk->ik", a, b; j = 32"#.to_string(),
                r#""ij,jk->ik", a, b; j = 33"#.to_string(),
            ),
            (
                r#""xyij,ij->xy", w, k; i = 4, j = 8"#.to_string(),
                r#""xyij,ij->xy", w, k; i = 4, j = 9"#.to_string(),
            ),
            (
                r#""bxyijc,ijcd->bxyd", w, f; i = 4, j = 4, c = 2"#.to_string(),
                r#""bxyijc,ijcd->bxyd", w, f; i = 4, j = 4, c = 3"#.to_string(),
            ),
            (
                r#""xabcde,xabcde->x", a, b; a = 2, b = 2, c = 2, d = 2, e = 2"#.to_string(),
                r#""xabcde,xabcde->x", a, b; a = 2, b = 2, c = 2, d = 2, e = 3"#.to_string(),
            ),
            (
                r#""abcdefghijkl,abcdefghijkl->abcdefghij", a, b; k = 4, l = 8"#.to_string(),
                r#""abcdefghijkl,abcdefghijkl->abcdefghij", a, b; k = 4, l = 9"#.to_string(),
            ),
            // The most operands that get a kernel, each read for every
            // combination.
            (
                format!(r#""{twelve}->x", {ops}; a = 32"#),
                format!(r#""{twelve}->x", {ops}; a = 33"#),
            ),
        ];
        for (at, over) in &cases {
            let subscripts = at.split('"').nth(1).expect("a literal");
            let ranks: Vec<usize> = subscripts
                .split("->")
                .next()
                .expect("inputs")
                .split(',')
                .map(str::len)
                .collect();
            let k = ranks.len();
            let tokens =
                |call: &str| token_count(expand(call.parse().expect("tokens"), Form::Einsum));

            let text = expansion(at, Form::Einsum);
            let kernel = section(&text, "fn rows<const B: u8>", "let __einsum_kernel");
            assert_eq!(kernel.matches("madd::<").count(), UNROLL_MAX, "{at}");
            let reads = kernel.matches(".line(").count() + kernel.matches(".get(").count();
            assert!(reads <= k * UNROLL_MAX, "{at}: {reads} reads");
            let added = tokens(at) - tokens(over);
            let bound = UNROLL_MAX * ranks.iter().map(|r| 40 + 2 * r).sum::<usize>();
            assert!(
                added <= bound,
                "{at}: the kernel adds {added} tokens, over {bound}"
            );

            let text = expansion(over, Form::Einsum);
            assert!(!text.contains("RowKernel"), "{over}");
            assert!(!text.contains("madd"), "{over}");
        }
        // The figures of the doc comment: a matrix product at the bound,
        // and the most any call's kernel may add.
        assert_eq!(UNROLL_MAX * 2 * (40 + 2 * 2), 2816);
        assert_eq!(UNROLL_MAX * SMALL_MAX_LABELS * (40 + 2 * 12), 24576);
    }
}
