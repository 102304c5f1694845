//! Tokens out: the pipeline args → parse → valid → plan → emit, and the
//! fallback that keeps a mistake to one error.
//!
//! The expansion evaluates the operands once, in a `match` so that their
//! temporaries live to the end, checks each operand's static rank against its
//! term (a compile error naming the operand), emits the plan as a constant
//! `Spec`, and calls the run-time entry
//! point for the form, after the call site's own loops and row kernel when
//! the plan has them. Generated code names only `::einsum::__private::…` and
//! `::core::…`, and its local names are hygienic (`Span::mixed_site`).

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, LitStr};

use crate::args::{self, Arg, Args};
use crate::parse::{self, SyntaxError};
use crate::plan::{
    self, Loops, Output, Plan, PlanTerm, Read, Returns, Room, Rows, Size, Value, MAX_STATIC_RANK,
};
use crate::valid::{self, At, Diagnostic};

/// The macro forms.
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
    fn returns(self) -> Returns {
        match self {
            Form::Einsum | Form::TryEinsum => Returns::Result,
            Form::Into | Form::TryInto => Returns::Into,
            Form::Path => Returns::Path,
        }
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

    fn fallback(
        self,
        errors: TokenStream,
        output: Option<Output>,
        args: Option<&Args>,
    ) -> TokenStream {
        fallback(self.returns(), self.is_try(), errors, output, args)
    }
}

/// Expands one macro call.
pub fn expand(input: TokenStream, form: Form) -> TokenStream {
    let args = match args::parse(input, form.returns() == Returns::Into, form.usage()) {
        Ok(args) => args,
        Err(e) => return form.fallback(e.to_compile_error(), None, None),
    };
    let lit = match &args.subscripts {
        Ok(lit) => lit.clone(),
        Err(e) => return form.fallback(e.to_compile_error(), None, Some(&args)),
    };
    let text = lit.value();
    let (subs, syntax) = parse::parse(&text);
    let names: Vec<String> = args.bindings.iter().map(|b| b.name.to_string()).collect();
    let checks = valid::check(&text, &subs, args.operands.len(), &names);
    if !syntax.is_empty() || !checks.is_empty() {
        let errors = errors(&lit, syntax, checks, &args);
        return form.fallback(errors, Some(plan::stated_output(&subs)), Some(&args));
    }
    let bindings: Vec<(&str, Option<usize>)> = names
        .iter()
        .zip(&args.bindings)
        .map(|(name, b)| (name.as_str(), b.literal()))
        .collect();
    let plan = Plan::new(&subs, &bindings, form.returns());
    emit(form, &args, &text, &plan)
}

/// The mistakes of the literal and of the checks, each as a compile error
/// at what it points at.
fn errors(
    lit: &LitStr,
    syntax: Vec<SyntaxError>,
    checks: Vec<Diagnostic>,
    args: &Args,
) -> TokenStream {
    let syntax = syntax
        .into_iter()
        .map(|e| syn::Error::new(lit.span(), e.message));
    let checks = checks.into_iter().map(|d| {
        let span = match d.at {
            At::Literal => lit.span(),
            At::Operand(k) => args.operands[k].span,
            At::Binding(b) => args.bindings[b].name.span(),
        };
        syn::Error::new(span, d.message)
    });
    syntax.chain(checks).map(|e| e.to_compile_error()).collect()
}

/// The expansion of a call without mistakes.
fn emit(form: Form, args: &Args, text: &str, plan: &Plan) -> TokenStream {
    let inputs = input_adapters(plan, args, text);
    let output = match plan.value {
        Value::Into => {
            let out = args.out.as_ref().expect("the _into forms have an output");
            Some((out, output_adapter(plan, out, text)))
        }
        _ => None,
    };
    let small = plan.loops.as_ref().map(|loops| {
        let rows = loops.rows.as_ref().map(|rows| rows_path(plan, rows));
        small_path(plan, loops, rows)
    });
    let finish = finish(run_time_call(plan), small, form.is_try());

    let mut items = inputs.items;
    items.extend(call_items(plan, text));
    let fixed_lets = fixed_lets(plan, args);
    let (out_pattern, out_expr, setup) = match output {
        Some((arg, adapter)) => {
            let (ident, tokens) = (out(), &arg.tokens);
            items.extend(adapter.items);
            (quote!(#ident,), quote!(#tokens,), adapter.lets)
        }
        None => (quote!(), quote!(), quote!()),
    };
    let views = inputs.lets;
    let ops = (0..plan.inputs.len()).map(operand);
    let exprs = args.operands.iter().map(|a| &a.tokens);
    quote! {
        match (#out_expr #(#exprs,)*) {
            (#out_pattern #(#ops,)*) => {
                #items
                #fixed_lets
                #views
                #setup
                #finish
            }
        }
    }
}

/// The facade's re-exports: the only path into the runtime crate, which a
/// user's crate does not name.
fn private() -> TokenStream {
    quote!(::einsum::__private)
}

/// The dimension type of this many axes; `IxDyn` for `None` or past `Ix6`.
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

/// Operand `k` as evaluated, once.
fn operand(k: usize) -> Ident {
    format_ident!("__einsum_op{}", k, span = Span::mixed_site())
}

/// Operand `k` after its check: a `RawOperand`.
fn view(k: usize) -> Ident {
    format_ident!("__einsum_v{}", k, span = Span::mixed_site())
}

/// Operand `k` as read by the call site's loops: a `Small`.
fn small(k: usize) -> Ident {
    format_ident!("__einsum_s{}", k, span = Span::mixed_site())
}

/// The marker of the first operand's element type, which the other operands
/// and the output are checked against.
fn elem() -> Ident {
    format_ident!("__einsum_elem", span = Span::mixed_site())
}

/// The output of the `_into` forms, as evaluated.
fn out() -> Ident {
    format_ident!("__einsum_out", span = Span::mixed_site())
}

/// The output of the `_into` forms after its check: a `&mut ArrayRef`.
fn out_ref() -> Ident {
    format_ident!("__einsum_out_ref", span = Span::mixed_site())
}

/// The size bound at binding `b`, a `usize` evaluated in a const block.
fn fixed(b: usize) -> Ident {
    format_ident!("__einsum_fixed{}", b, span = Span::mixed_site())
}

/// The size of label `l` in the emitted loops.
fn size(l: u8) -> Ident {
    format_ident!("__einsum_n{}", l, span = Span::mixed_site())
}

/// The index of label `l` in the emitted loops.
fn index(l: u8) -> Ident {
    format_ident!("__einsum_i{}", l, span = Span::mixed_site())
}

/// The product's accumulator, in a register.
fn acc() -> Ident {
    format_ident!("__einsum_acc", span = Span::mixed_site())
}

/// What an adapter adds to the expansion.
struct Adapter {
    /// Its traits and functions, among the block's items.
    items: TokenStream,
    /// The `let`s that bind the checked values.
    lets: TokenStream,
}

/// The adapters of the operands: each binds [`view`]`(k)`, a
/// `RawOperand`, and the first also [`elem`].
fn input_adapters(plan: &Plan, args: &Args, text: &str) -> Adapter {
    let p = private();
    let mut items = TokenStream::new();
    let mut lets = TokenStream::new();
    let elem = elem();
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
        let view = view(i);
        let op = operand(i);
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
            lets.extend(quote_spanned!(span=> let #view = #check_trait::#check(&#op);));
            lets.extend(quote!(let #elem = #p::elem_of(&#view);));
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
            lets.extend(quote_spanned!(span=> let #view = #check_trait::#check(#elem, &#op);));
        }
    }
    Adapter { items, lets }
}

/// The adapter of the `_into` forms' output `out`, bound as [`out`]: it
/// binds [`out_ref`], a `&mut ArrayRef` of the first operand's element type.
fn output_adapter(plan: &Plan, arg: &Arg, text: &str) -> Adapter {
    let p = private();
    let check = format_ident!("check_output", span = arg.span);
    let n = plan.output.labels.len();
    let ellipsis = plan.output.ellipsis.is_some();
    let message = format!(
        "the output array has the wrong number of axes: {text:?} produces {}, but its \
         dimension type is `{{Self}}`",
        axes_needed(n, ellipsis)
    );
    let (mut items, rank) = rank_trait(
        "Output",
        n,
        ellipsis,
        &message,
        "an output of dynamic rank (`IxDyn`) is checked when the call runs",
        quote!(<O as #p::OutputOperand<'a>>::Dim),
    );
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
    let (elem, out, out_ref) = (elem(), out(), out_ref());
    let out_view = quote_spanned!(arg.span=> #check(#elem, #out));
    Adapter {
        items,
        lets: quote!(let #out_ref = #out_view;),
    }
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

fn spec() -> syn::Ident {
    format_ident!("__EINSUM_SPEC", span = Span::mixed_site())
}

fn cache() -> syn::Ident {
    format_ident!("__EINSUM_PLAN_CACHE", span = Span::mixed_site())
}

/// The call's items: its `Spec`, and the `static` that keeps its last
/// contraction order when the plan has one.
fn call_items(plan: &Plan, text: &str) -> TokenStream {
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
            static #cache: #p::PlanCache = #p::PlanCache::new();
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
fn fixed_lets(plan: &Plan, args: &Args) -> TokenStream {
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

/// The call of the run-time entry point, which returns a `Result`.
fn run_time_call(plan: &Plan) -> TokenStream {
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
fn finish(call: TokenStream, small: Option<TokenStream>, is_try: bool) -> TokenStream {
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

/// The loops, trying the row kernel `rows` first when there is one; these
/// loops run when it declines (rows too short, strides not unit).
fn small_path(plan: &Plan, loops: &Loops, rows: Option<TokenStream>) -> TokenStream {
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
    let outs = &loops.output;
    let out_shape = outs.iter().map(|&l| size(l));
    let out_index: Vec<_> = outs.iter().map(|&l| index(l)).collect();
    let rank = Literal::usize_unsuffixed(outs.len());
    // The value of one output element: the product, or the sum over the
    // summed labels of products, kept in a register.
    let element = if loops.summed.is_empty() {
        quote!(#product)
    } else {
        let sum = nest(
            &loops.summed,
            quote!(#acc = #p::Scalar::add(#acc, #product);),
        );
        quote!({
            let mut #acc = #p::Scalar::zero();
            #sum
            #acc
        })
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

/// The kernel and its run, which evaluates to `Some(result)`, or `None`
/// when the rows are too short or an operand is not of unit stride along
/// them.
fn rows_path(plan: &Plan, rows: &Rows) -> TokenStream {
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

/// The errors and the stub, typed by what the form `returns`, the result
/// type the user asked for (`output`, when the subscripts were read) and
/// the first operand's element type (when the arguments were read).
fn fallback(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::loops::{SMALL_MAX_LABELS, UNROLL_MAX};

    /// The expansion of one call, formatted as Rust (inside a function, so
    /// that it parses as a file).
    fn expansion(call: &str, form: Form) -> String {
        let input: TokenStream = call.parse().expect("tokens");
        let body = expand(input, form);
        let file: syn::File = syn::parse2(quote!(fn expansion() { let _ = #body; }))
            .expect("the expansion parses as Rust");
        prettyplease::unparse(&file)
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
    /// allowed, the row kernel adds at most `UNROLL_MAX`·Σₖ(40 + 2·rₖ)
    /// tokens to the call's expansion, rₖ the rank of operand k. The plan's
    /// `tests::unrolling_is_bounded` checks that each call below is at the
    /// bound, and one step over it gets no kernel.
    #[test]
    fn row_kernel_tokens_are_bounded() {
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
            let tokens =
                |call: &str| token_count(expand(call.parse().expect("tokens"), Form::Einsum));
            let added = tokens(at) - tokens(over);
            let bound = UNROLL_MAX * ranks.iter().map(|r| 40 + 2 * r).sum::<usize>();
            assert!(
                added > 0 && added <= bound,
                "{at}: the kernel adds {added} tokens, over {bound}"
            );
        }
        // The figures of the doc comment: a matrix product at the bound,
        // and the most any call's kernel may add.
        assert_eq!(UNROLL_MAX * 2 * (40 + 2 * 2), 2816);
        assert_eq!(UNROLL_MAX * SMALL_MAX_LABELS * (40 + 2 * 12), 24576);
    }
}
