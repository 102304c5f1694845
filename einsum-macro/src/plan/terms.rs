//! The subscripts as label ids: labels numbered densely in order of first
//! appearance in the inputs, the output made explicit (numpy's implicit rule
//! applied here, at compile time), the fixed sizes tied to their labels, and
//! the result's static type.

use crate::parse::{Item, Subscripts, Term};

/// The most axes a statically ranked ndarray dimension type has.
// 6: ndarray's static dimension types end at `Ix6`.
pub const MAX_STATIC_RANK: usize = 6;

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

/// A label bound to a fixed size in the call (`i = 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The label's id.
    pub label: u8,
    /// The binding's place among the call's bindings, which names the local
    /// that holds its size.
    pub binding: usize,
    /// The size, when written as an integer literal: only such labels can be
    /// unrolled by the macro itself.
    pub size: Option<usize>,
}

/// Checked subscripts and bindings, as label ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The character of each label id.
    pub labels: Vec<char>,
    pub inputs: Vec<PlanTerm>,
    pub output: PlanTerm,
    /// The fixed-size bindings, in the order written.
    pub fixed: Vec<Bound>,
}

impl Terms {
    /// `bindings` are the fixed-size bindings: each one's name, a label of
    /// the expression, and its size when written as an integer literal.
    pub fn new(subs: &Subscripts, bindings: &[(&str, Option<usize>)]) -> Terms {
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
        let inputs = subs.inputs.iter().map(plan_term).collect();
        let output = match &subs.output {
            Some(t) => plan_term(t),
            None => plan_term(&implicit_output(subs)),
        };
        let fixed = bindings
            .iter()
            .enumerate()
            .filter_map(|(b, &(name, size))| {
                let c = name.chars().next()?;
                Some(Bound {
                    label: id(c)?,
                    binding: b,
                    size,
                })
            })
            .collect();
        Terms {
            labels,
            inputs,
            output,
            fixed,
        }
    }

    /// Whether a term has `...`, which stands for a number of axes known
    /// only at run time.
    pub fn has_ellipsis(&self) -> bool {
        self.output.ellipsis.is_some() || self.inputs.iter().any(|t| t.ellipsis.is_some())
    }

    /// The static type of the result.
    pub fn output_kind(&self) -> Output {
        output_kind(self.output.labels.len(), self.output.ellipsis.is_some())
    }
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

/// The result type for an output of `labels` labels, with or without `...`.
fn output_kind(labels: usize, ellipsis: bool) -> Output {
    match (labels, ellipsis) {
        (_, true) => Output::Dyn,
        (0, false) => Output::Scalar,
        (n, false) if n <= MAX_STATIC_RANK => Output::Static(n),
        _ => Output::Dyn,
    }
}

/// The result type the user asked for, read from subscripts that may have
/// mistakes, to type the fallback.
pub fn stated_output(subs: &Subscripts) -> Output {
    let term = subs.output.clone().unwrap_or_else(|| implicit_output(subs));
    output_kind(term.labels().count(), term.ellipsis().is_some())
}

/// numpy's implicit output: the ellipsis first if any input has one, then
/// every label that appears exactly once over all inputs, in the order of the
/// character codes (so `A`-`Z` before `a`-`z`).
fn implicit_output(subs: &Subscripts) -> Term {
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
