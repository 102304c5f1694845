//! The plan: plain data that the expansion is emitted from, with no
//! `proc_macro` types, so it is unit-tested on its own.
//!
//! Labels are numbered densely in order of first appearance in the inputs, the
//! output is made explicit (numpy's implicit rule applied here, at compile
//! time), and the static type of the result is decided.

use crate::parse::{Subscripts, Term};

/// A term as label ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanTerm {
    /// The term as written, without spaces.
    pub text: String,
    /// Label ids in axis order, without the ellipsis.
    pub labels: Vec<u8>,
    /// How many labels come before the ellipsis, if there is one.
    pub ellipsis: Option<u8>,
}

/// The static type of the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// No output axis: the element type itself.
    Scalar,
    /// An array of this many axes, `Ix0`..`Ix6`.
    Static(usize),
    /// `IxDyn`: an output ellipsis, or more than 6 axes.
    Dyn,
}

/// The most axes a statically ranked ndarray dimension type has (`Ix6`).
pub const MAX_STATIC_RANK: usize = 6;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The character of each label id.
    pub labels: Vec<char>,
    pub inputs: Vec<PlanTerm>,
    pub output: PlanTerm,
    /// `(label id, binding index)` for each fixed-size binding.
    pub fixed: Vec<(u8, usize)>,
}

impl Plan {
    /// Builds the plan of checked subscripts; `bindings` are the names of the
    /// fixed-size bindings, each a label of the expression.
    pub fn new(subs: &Subscripts, bindings: &[String]) -> Plan {
        let mut labels: Vec<char> = Vec::new();
        for term in &subs.inputs {
            for (c, _) in term.labels() {
                if !labels.contains(&c) {
                    labels.push(c);
                }
            }
        }
        let id = |c: char| labels.iter().position(|&d| d == c).map(|i| i as u8);
        let plan_term = |t: &Term| PlanTerm {
            text: t.text(),
            labels: t.labels().filter_map(|(c, _)| id(c)).collect(),
            ellipsis: t.ellipsis().map(|p| p as u8),
        };
        let inputs: Vec<PlanTerm> = subs.inputs.iter().map(plan_term).collect();
        let output = match &subs.output {
            Some(t) => plan_term(t),
            None => {
                let implicit = implicit_output(subs);
                PlanTerm {
                    text: implicit.text(),
                    labels: implicit.labels().filter_map(|(c, _)| id(c)).collect(),
                    ellipsis: implicit.ellipsis().map(|p| p as u8),
                }
            }
        };
        let fixed = bindings
            .iter()
            .enumerate()
            .filter_map(|(b, name)| {
                let c = name.chars().next()?;
                Some((id(c)?, b))
            })
            .collect();
        Plan {
            labels,
            inputs,
            output,
            fixed,
        }
    }

    /// The static type of the result.
    pub fn output_kind(&self) -> Output {
        output_kind(self.output.labels.len(), self.output.ellipsis.is_some())
    }
}

/// The result type for an output of `labels` labels, with or without `...`.
pub fn output_kind(labels: usize, ellipsis: bool) -> Output {
    match (labels, ellipsis) {
        (_, true) => Output::Dyn,
        (0, false) => Output::Scalar,
        (n, false) if n <= MAX_STATIC_RANK => Output::Static(n),
        _ => Output::Dyn,
    }
}

/// numpy's implicit output: the ellipsis first if any input has one, then
/// every label that appears exactly once over all inputs, in the order of the
/// character codes (so `A`-`Z` before `a`-`z`).
pub fn implicit_output(subs: &Subscripts) -> Term {
    use crate::parse::Item;
    let all: Vec<char> = subs
        .inputs
        .iter()
        .flat_map(|t| t.labels().map(|(c, _)| c))
        .collect();
    let mut once: Vec<char> = all
        .iter()
        .copied()
        .filter(|c| all.iter().filter(|d| *d == c).count() == 1)
        .collect();
    once.sort_unstable();
    let mut items = Vec::new();
    if subs.inputs.iter().any(|t| t.ellipsis().is_some()) {
        items.push(Item::Ellipsis(0));
    }
    items.extend(once.into_iter().map(|c| Item::Label(c, 0)));
    Term { items }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn plan(text: &str) -> Plan {
        let (subs, errors) = parse(text);
        assert!(errors.is_empty());
        Plan::new(&subs, &[])
    }

    #[test]
    fn labels_numbered_by_first_appearance() {
        let p = plan("jk,ij->ik");
        assert_eq!(p.labels, ['j', 'k', 'i']);
        assert_eq!(p.inputs[1].labels, [2, 0]);
        assert_eq!(p.output.labels, [2, 1]);
        assert_eq!(p.output_kind(), Output::Static(2));
    }

    #[test]
    fn implicit_output_is_numpys() {
        assert_eq!(plan("ij,jk").output.text, "ik");
        assert_eq!(plan("ba").output.text, "ab");
        assert_eq!(plan("ii").output.text, "");
        assert_eq!(plan("ii").output_kind(), Output::Scalar);
        assert_eq!(plan("bA,aB").output.text, "ABab");
        assert_eq!(plan("i...,j").output.text, "...ij");
        assert_eq!(plan("...ii").output_kind(), Output::Dyn);
        assert_eq!(plan("i,i").output_kind(), Output::Scalar);
    }

    #[test]
    fn ellipsis_and_ranks() {
        let p = plan("a...b,...->...");
        assert_eq!(p.inputs[0].ellipsis, Some(1));
        assert_eq!(p.output.ellipsis, Some(0));
        assert_eq!(p.output_kind(), Output::Dyn);
        assert_eq!(plan("abcdefg->abcdefg").output_kind(), Output::Dyn);
        assert_eq!(plan("abcdef->abcdef").output_kind(), Output::Static(6));
    }

    #[test]
    fn fixed_bindings_map_to_ids() {
        let (subs, _) = parse("xyij,ij->xy");
        let p = Plan::new(&subs, &["j".to_owned(), "i".to_owned()]);
        assert_eq!(p.fixed, [(3, 0), (2, 1)]);
    }
}
