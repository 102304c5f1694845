//! Tokens out: the pipeline args → parse → valid → plan → emit, one call at
//! a time.
//!
//! The expansion evaluates the operands once, in a `match` so that their
//! temporaries live to the end, checks each one against its term
//! ([`operands`]), emits the plan as a constant `Spec` and calls the run-time
//! entry point for the form ([`call`]), after the call site's own loops
//! ([`loops`]) and row kernel ([`rows`]) when the plan has them. A call with
//! mistakes gets its errors and a stub of the right type ([`fallback`]).
//! Generated code names only `::einsum::__private::…` and `::core::…`, and
//! its local names are hygienic ([`names`]).

mod call;
mod fallback;
mod loops;
mod names;
mod operands;
mod rows;

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::args::{self, Args};
use crate::parse::{self, SyntaxError};
use crate::plan::{self, Output, Plan, Returns, Value};
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
        fallback::fallback(self.returns(), self.is_try(), errors, output, args)
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
    let misplaced = misplaced_options(&args, form);
    if !syntax.is_empty() || !checks.is_empty() || !misplaced.is_empty() {
        let mut errors = errors(&lit, syntax, checks, &args);
        errors.extend(misplaced.into_iter().map(|e| e.to_compile_error()));
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

/// `beta` where there is no output to blend into, and `alpha` or `beta` in
/// `einsum_path!`, which computes nothing.
fn misplaced_options(args: &Args, form: Form) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    let (alpha, beta) = (&args.scale.alpha, &args.scale.beta);
    match form {
        Form::Path => {
            let reduce = args.scale.reduce.as_ref().map(|(b, _)| b);
            for b in [alpha.as_ref(), beta.as_ref(), reduce]
                .into_iter()
                .flatten()
            {
                let message = format!(
                    "`einsum_path!` shows the contraction order and takes no `{}`",
                    b.name
                );
                errors.push(syn::Error::new(b.name.span(), message));
            }
        }
        Form::Einsum | Form::TryEinsum => {
            if let Some(b) = beta {
                let message = "`beta` blends the result into an existing output: \
                               write it in `einsum_into!` or `try_einsum_into!`";
                errors.push(syn::Error::new(b.name.span(), message));
            }
        }
        Form::Into | Form::TryInto => {}
    }
    errors
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
    let inputs = operands::inputs(plan, args, text);
    let output = match plan.value {
        Value::Into => {
            let out = args.out.as_ref().expect("the _into forms have an output");
            Some((out, operands::output(plan, out, text, args.scale.is_some())))
        }
        _ => None,
    };
    // A call with `alpha` or `beta` runs in the loops (blending each
    // element) or the run-time path, not the row kernel or the product run.
    let scaled = args.scale.is_some();
    let extreme = args.scale.reduce.as_ref().map(|&(_, e)| e);
    let small = plan.loops.as_ref().map(|loops| {
        let rows = loops
            .rows
            .as_ref()
            .filter(|_| !scaled)
            .map(|rows| rows::emit(plan, rows));
        loops::emit(plan, loops, rows, scaled, extreme)
    });
    let finish = call::finish(call::call(plan, scaled, extreme), small, form.is_try());

    let mut items = inputs.items;
    items.extend(call::items(plan, text));
    let mut fixed_lets = call::fixed_lets(plan, args);
    if scaled {
        fixed_lets.extend(call::scale_lets(args, plan.value == Value::Into));
    }
    let (out_pattern, out_expr, setup) = match output {
        Some((arg, adapter)) => {
            let (ident, tokens) = (names::out(), &arg.tokens);
            items.extend(adapter.items);
            (quote!(#ident,), quote!(#tokens,), adapter.lets)
        }
        None => (quote!(), quote!(), quote!()),
    };
    let views = inputs.lets;
    let ops = (0..plan.inputs.len()).map(names::operand);
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
