//! The operand adapters: each operand, and the output of the `_into` forms,
//! goes through a local trait or function whose bounds are the rules it must
//! keep (its rank fits its term, its element type is the first operand's).
//! An operand of dynamic rank passes, and is checked when the call runs.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::names::{dim_type, elem, out, out_ref, private, view};
use crate::args::{Arg, Args};
use crate::plan::{Plan, MAX_STATIC_RANK};

/// What an adapter adds to the expansion.
pub struct Adapter {
    /// Its traits and functions, among the block's items.
    pub items: TokenStream,
    /// The `let`s that bind the checked values.
    pub lets: TokenStream,
}

/// The adapters of the operands: each binds [`view`]`(k)`, a
/// `RawOperand`, and the first also [`elem`].
pub fn inputs(plan: &Plan, args: &Args, text: &str) -> Adapter {
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
        let op = super::names::operand(i);
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
pub fn output(plan: &Plan, arg: &Arg, text: &str, scaled: bool) -> Adapter {
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
        if scaled {
            quote!(<O as #p::BlendOutput<'a>>::Dim)
        } else {
            quote!(<O as #p::OutputOperand<'a>>::Dim)
        },
    );
    // A call with `alpha` or `beta` also takes windows to add into
    // (`Blended`); the others, an array.
    items.extend(if scaled {
        quote! {
            #[inline(always)]
            fn #check<'a, T, O: #p::BlendOutput<'a, Elem = T>>(
                _first: #p::PhantomData<T>,
                out: O,
            ) -> #p::Blended<'a, T, <O as #p::BlendOutput<'a>>::Dim>
            where
                #rank
            {
                #p::BlendOutput::einsum_blended(out)
            }
        }
    } else {
        quote! {
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
        }
    });
    let (elem, out, out_ref) = (elem(), out(), out_ref());
    let out_view = quote_spanned!(arg.span=> #check(#elem, #out));
    let lets = if scaled {
        quote! {
            #[allow(unused_mut)]
            let mut #out_ref = #out_view;
        }
    } else {
        quote!(let #out_ref = #out_view;)
    };
    Adapter { items, lets }
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
