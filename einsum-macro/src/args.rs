//! The macro's arguments: `[out,] "subscripts", operand, … [; option, …]`,
//! each option a fixed size `label = size` or `alpha = x`, `beta = y`.
//!
//! Operands are kept as token streams, split at the top-level commas, so any
//! expression can be an operand without parsing Rust expressions (commas
//! inside brackets are inside groups; those of a turbofish `::<A, B>` are
//! skipped).

use proc_macro2::{Delimiter, Ident, Spacing, Span, TokenStream, TokenTree};
use syn::LitStr;

/// An argument as written: its tokens and the span to point errors at.
#[derive(Clone)]
pub struct Arg {
    pub tokens: TokenStream,
    pub span: Span,
}

/// A fixed-size binding `name = value`.
pub struct Binding {
    pub name: Ident,
    pub value: TokenStream,
}

impl Binding {
    /// The size, when written as an integer literal: the macro can unroll
    /// only a size it reads itself; any other is known to the compiler alone.
    pub fn literal(&self) -> Option<usize> {
        syn::parse2::<syn::LitInt>(self.value.clone())
            .ok()
            .and_then(|n| n.base10_parse::<usize>().ok())
    }
}

pub struct Args {
    /// The output expression of the `_into` forms.
    pub out: Option<Arg>,
    /// The subscripts: a string literal, or the error for what stood there.
    pub subscripts: Result<LitStr, syn::Error>,
    pub operands: Vec<Arg>,
    /// The fixed sizes, and any other name written `name = value` that is
    /// not an option (checked as a label later).
    pub bindings: Vec<Binding>,
    /// `alpha = x`, `beta = y`.
    pub scale: Scale,
}

/// The factors of `out ← alpha·result + beta·out`, and the reduction
/// (`reduce = max` or `reduce = min`), as written.
#[derive(Default)]
pub struct Scale {
    pub alpha: Option<Binding>,
    pub beta: Option<Binding>,
    pub reduce: Option<(Binding, Extreme)>,
}

/// A reduction other than the sum.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    Max,
    Min,
}

impl Scale {
    /// Whether the call has any option other than fixed sizes.
    pub fn is_some(&self) -> bool {
        self.alpha.is_some() || self.beta.is_some() || self.reduce.is_some()
    }
}

/// `max` or `min`, the value of a `reduce` option.
fn extreme(b: &Binding) -> Result<Extreme, syn::Error> {
    match syn::parse2::<Ident>(b.value.clone()) {
        Ok(id) if id == "max" => Ok(Extreme::Max),
        Ok(id) if id == "min" => Ok(Extreme::Min),
        _ => Err(syn::Error::new_spanned(
            &b.value,
            "expected `max` or `min` after `reduce =`",
        )),
    }
}

/// Splits `tokens` at top-level commas, stopping at a top-level `;`, whose
/// remainder is returned too.
///
/// A comma between `<` and `>` of generic arguments is not a separator. A `<`
/// opens generic arguments where a comparison cannot stand: after `::` (a
/// turbofish), at the start of an operand or after an operator (a qualified
/// path `<T as Trait<A, B>>::f`), inside other generic arguments, and
/// anywhere in the type after `as`.
fn split(tokens: TokenStream) -> (Vec<Part>, Option<Vec<TokenTree>>) {
    let mut parts = vec![Part {
        tokens: Vec::new(),
        after: None,
    }];
    let mut angle = 0usize;
    let mut iter = tokens.into_iter();
    // The previous token of this part, and whether a cast's type is being read.
    let mut prev: Option<TokenTree> = None;
    let mut in_type = false;
    while let Some(tt) = iter.next() {
        match &tt {
            TokenTree::Punct(p) if angle == 0 && p.as_char() == ',' => {
                parts.push(Part {
                    tokens: Vec::new(),
                    after: Some(p.span()),
                });
                prev = None;
                in_type = false;
                continue;
            }
            TokenTree::Punct(p) if angle == 0 && p.as_char() == ';' => {
                let rest: Vec<TokenTree> = iter.collect();
                return (trim(parts), Some(rest));
            }
            TokenTree::Punct(p) if p.as_char() == '<' => {
                let opens = angle > 0
                    || in_type
                    || match &prev {
                        None => true,
                        // `::<`, `&<`, `= <`: no left operand for a comparison.
                        Some(TokenTree::Punct(q)) => q.as_char() != '?',
                        Some(_) => false,
                    };
                if opens {
                    angle += 1;
                }
            }
            TokenTree::Punct(p) if p.as_char() == '>' && angle > 0 => {
                // Not the `>` of `->` or `=>`.
                let arrow = matches!(&prev, Some(TokenTree::Punct(q))
                    if matches!(q.as_char(), '-' | '=') && q.spacing() == Spacing::Joint);
                if !arrow {
                    angle -= 1;
                }
            }
            TokenTree::Ident(id) if angle == 0 && id == "as" => in_type = true,
            _ => {}
        }
        prev = Some(tt.clone());
        parts.last_mut().expect("never empty").tokens.push(tt);
    }
    (trim(parts), None)
}

/// The tokens between two top-level commas.
struct Part {
    tokens: Vec<TokenTree>,
    /// The comma before them, if any.
    after: Option<Span>,
}

/// Drops the empty part a trailing comma leaves.
fn trim(mut parts: Vec<Part>) -> Vec<Part> {
    if parts.len() > 1 && parts.last().is_some_and(|p| p.tokens.is_empty()) {
        parts.pop();
    }
    parts
}

fn arg(tokens: Vec<TokenTree>) -> Arg {
    let span = tokens.first().map_or_else(Span::call_site, TokenTree::span);
    Arg {
        tokens: tokens.into_iter().collect(),
        span,
    }
}

/// Reads the literal out of its tokens, looking through the invisible group
/// a `macro_rules!` `$s:literal` or `$s:expr` wraps it in.
fn literal(tokens: &[TokenTree], usage: &str) -> Result<LitStr, syn::Error> {
    if let [TokenTree::Group(g)] = tokens {
        if g.delimiter() == Delimiter::None {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            return literal(&inner, usage);
        }
    }
    let stream: TokenStream = tokens.iter().cloned().collect();
    syn::parse2::<LitStr>(stream.clone()).map_err(|_| {
        let message = format!("expected a string literal with the subscripts, as in {usage}");
        if stream.is_empty() {
            syn::Error::new(Span::call_site(), message)
        } else {
            syn::Error::new_spanned(stream, message)
        }
    })
}

fn binding(tokens: Vec<TokenTree>) -> Result<Binding, syn::Error> {
    let mut iter = tokens.clone().into_iter();
    match (iter.next(), iter.next()) {
        (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(eq))) if eq.as_char() == '=' => {
            let value: TokenStream = iter.collect();
            if value.is_empty() {
                return Err(syn::Error::new(
                    eq.span(),
                    "expected a value after `=`, as in `i = 3` or `alpha = 2.0`",
                ));
            }
            Ok(Binding { name, value })
        }
        _ => {
            let stream: TokenStream = tokens.into_iter().collect();
            Err(syn::Error::new_spanned(
                stream,
                "expected an option `name = value`: a fixed size `i = 3`, `alpha = 2.0` or `beta = 1.0`",
            ))
        }
    }
}

/// Reads the arguments of a macro whose call looks like `usage`; `with_out`
/// for the `_into` forms, which take the output first.
pub fn parse(tokens: TokenStream, with_out: bool, usage: &str) -> Result<Args, syn::Error> {
    let (parts, rest) = split(tokens);
    let mut parts = parts.into_iter();
    let out = if with_out {
        match parts.next() {
            Some(p) if !p.tokens.is_empty() && literal(&p.tokens, usage).is_err() => {
                Some(arg(p.tokens))
            }
            Some(p) if !p.tokens.is_empty() => {
                let stream: TokenStream = p.tokens.into_iter().collect();
                return Err(syn::Error::new_spanned(
                    stream,
                    format!("expected the output array before the subscripts, as in {usage}"),
                ));
            }
            _ => {
                return Err(syn::Error::new(
                    Span::call_site(),
                    format!("expected the output array first, as in {usage}"),
                ))
            }
        }
    } else {
        None
    };
    let subscripts = literal(&parts.next().map(|p| p.tokens).unwrap_or_default(), usage);
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut operands = Vec::new();
    for p in parts {
        if p.tokens.is_empty() {
            let at = p.after.unwrap_or_else(Span::call_site);
            push(syn::Error::new(at, "expected an operand after this comma"));
        } else {
            operands.push(arg(p.tokens));
        }
    }
    let mut bindings = Vec::new();
    let mut scale = Scale::default();
    if let Some(rest) = rest {
        let (parts, more) = split(rest.into_iter().collect());
        if let Some(more) = more {
            let stream: TokenStream = more.into_iter().collect();
            push(syn::Error::new_spanned(
                stream,
                "unexpected tokens after a second `;`",
            ));
        }
        for p in parts.into_iter().filter(|p| !p.tokens.is_empty()) {
            match binding(p.tokens) {
                Ok(b) => {
                    if b.name == "reduce" {
                        if scale.reduce.is_some() {
                            let message = "option `reduce` is given more than once";
                            push(syn::Error::new(b.name.span(), message));
                        } else {
                            match extreme(&b) {
                                Ok(e) => scale.reduce = Some((b, e)),
                                Err(e) => push(e),
                            }
                        }
                        continue;
                    }
                    let option = match b.name.to_string().as_str() {
                        "alpha" => &mut scale.alpha,
                        "beta" => &mut scale.beta,
                        _ => {
                            bindings.push(b);
                            continue;
                        }
                    };
                    if option.is_some() {
                        let message = format!("option `{}` is given more than once", b.name);
                        push(syn::Error::new(b.name.span(), message));
                    } else {
                        *option = Some(b);
                    }
                }
                Err(e) => push(e),
            }
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(Args {
            out,
            subscripts,
            operands,
            bindings,
            scale,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn strings(args: &Args) -> Vec<String> {
        args.operands.iter().map(|a| a.tokens.to_string()).collect()
    }

    #[test]
    fn splits_at_top_level_commas_only() {
        let args = parse(
            quote!("ij,jk", f(a, b), x.sum_axis::<A, B>(c), [1, 2],; i = 3, j = N),
            false,
            "",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.subscripts.as_ref().unwrap().value(), "ij,jk");
        assert_eq!(
            strings(&args),
            ["f (a , b)", "x . sum_axis :: < A , B > (c)", "[1 , 2]"]
        );
        let b: Vec<String> = args
            .bindings
            .iter()
            .map(|b| format!("{} {}", b.name, b.value))
            .collect();
        assert_eq!(b, ["i 3", "j N"]);
    }

    #[test]
    fn commas_of_generics_do_not_split() {
        let args = parse(
            quote!(
                "ij,jk",
                &a as &Array<f64, Ix2>,
                <ArrayView<f64, Ix2> as Clone>::clone(&v),
                if n < 3 { &a } else { &b },
                |x: f64| -> f64 { x }(1.0),
                c;
                i = <Q as Tr<A, B>>::S
            ),
            false,
            "",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            strings(&args),
            [
                "& a as & Array < f64 , Ix2 >",
                "< ArrayView < f64 , Ix2 > as Clone > :: clone (& v)",
                "if n < 3 { & a } else { & b }",
                "| x : f64 | -> f64 { x } (1.0)",
                "c"
            ]
        );
        assert_eq!(
            args.bindings[0].value.to_string(),
            "< Q as Tr < A , B >> :: S"
        );
    }

    #[test]
    fn output_first_in_into_forms() {
        let args = parse(quote!(&mut out, "i->i", a), true, "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.out.as_ref().unwrap().tokens.to_string(), "& mut out");
        assert_eq!(strings(&args), ["a"]);
    }

    #[test]
    fn not_a_literal() {
        let args = parse(quote!(S, a), false, "`einsum!(\"ij->ji\", a)`")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(args.subscripts.is_err());
        assert!(parse(quote!("i", a; i 3), false, "").is_err());
    }
}
