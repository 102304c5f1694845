//! Checks across terms and arguments, after each term parsed on its own.
//!
//! Each check below states the rule it enforces. All of them run, so every
//! mistake is reported in one build.

use crate::parse::Subscripts;

/// Where a diagnostic points in the macro call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The subscript literal.
    Literal,
    /// An operand, counted from 0.
    Operand(usize),
    /// The name of a fixed-size binding, counted from 0.
    Binding(usize),
}

/// One mistake, with what it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub at: At,
    pub message: String,
}

/// Runs every cross-term check. `text` is the literal's value, `operands` the
/// number of operands passed and `bindings` the names of the fixed-size
/// bindings, in order.
pub fn check(
    text: &str,
    subs: &Subscripts,
    operands: usize,
    bindings: &[String],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    term_lengths(subs, &mut out);
    output_labels(subs, &mut out);
    arity(text, subs, operands, &mut out);
    fixed_sizes(text, subs, bindings, &mut out);
    out
}

/// The most axes an operand may have: `einsum::MAX_AXES`, numpy's limit on
/// dimensions.
const MAX_AXES: usize = 64;

/// A term names at most as many axes as an operand may have.
fn term_lengths(subs: &Subscripts, out: &mut Vec<Diagnostic>) {
    for term in subs.inputs.iter().chain(&subs.output) {
        let n = term.labels().count();
        if n > MAX_AXES {
            out.push(Diagnostic {
                at: At::Literal,
                message: format!(
                    "a term has {n} labels, but an operand has at most {MAX_AXES} axes"
                ),
            });
        }
    }
}

/// An output label must appear in some input term, and only once in the
/// output: numpy has no way to make an axis from nothing, nor to repeat one.
fn output_labels(subs: &Subscripts, out: &mut Vec<Diagnostic>) {
    let Some(output) = &subs.output else { return };
    let mut seen = Vec::new();
    for (c, pos) in output.labels() {
        let missing = !subs.inputs.iter().any(|t| t.labels().any(|(d, _)| d == c));
        if missing && !seen.contains(&c) {
            out.push(Diagnostic {
                at: At::Literal,
                message: format!(
                    "output label `{c}` (position {pos}) does not appear in any input term"
                ),
            });
        }
        if seen.contains(&c) {
            out.push(Diagnostic {
                at: At::Literal,
                message: format!(
                    "output label `{c}` appears more than once (again at position {pos})"
                ),
            });
        }
        seen.push(c);
    }
}

/// One operand per input term.
fn arity(text: &str, subs: &Subscripts, operands: usize, out: &mut Vec<Diagnostic>) {
    let terms = subs.inputs.len();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if operands < terms {
        out.push(Diagnostic {
            at: At::Literal,
            message: format!(
                "{text:?} has {} but {} given",
                plural(terms, "input term"),
                if operands == 1 {
                    "1 operand was".to_owned()
                } else {
                    format!("{operands} operands were")
                }
            ),
        });
    }
    for k in terms..operands {
        out.push(Diagnostic {
            at: At::Operand(k),
            message: format!(
                "operand {k} has no subscript term: {text:?} has {}",
                plural(terms, "input term")
            ),
        });
    }
}

/// A binding `; i = 3` names a label of the expression, once.
fn fixed_sizes(text: &str, subs: &Subscripts, bindings: &[String], out: &mut Vec<Diagnostic>) {
    for (b, name) in bindings.iter().enumerate() {
        let mut chars = name.chars();
        let label = match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => c,
            _ => {
                out.push(Diagnostic {
                    at: At::Binding(b),
                    message: format!(
                        "unknown option `{name}`: the options are a label's fixed size \
                         (one letter of {text:?}, as in `i = 3`), `alpha`, `beta` and `reduce`"
                    ),
                });
                continue;
            }
        };
        if !subs
            .inputs
            .iter()
            .any(|t| t.labels().any(|(c, _)| c == label))
        {
            out.push(Diagnostic {
                at: At::Binding(b),
                message: format!("`{label}` is not a label of {text:?}, so it cannot be bound"),
            });
        } else if bindings[..b].iter().any(|n| n == name) {
            out.push(Diagnostic {
                at: At::Binding(b),
                message: format!("label `{label}` is bound more than once"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn msgs(text: &str, operands: usize, bindings: &[&str]) -> Vec<(At, String)> {
        let (subs, errors) = parse(text);
        assert!(errors.is_empty());
        let bindings: Vec<String> = bindings.iter().map(|s| s.to_string()).collect();
        check(text, &subs, operands, &bindings)
            .into_iter()
            .map(|d| (d.at, d.message))
            .collect()
    }

    #[test]
    fn valid_expressions_pass() {
        assert!(msgs("ij,jk->ik", 2, &["j"]).is_empty());
        assert!(msgs("...i->...", 1, &[]).is_empty());
        assert!(msgs("ij->...ij", 1, &[]).is_empty());
    }

    #[test]
    fn output_labels_come_from_inputs_once() {
        assert_eq!(
            msgs("ij->ik", 1, &[]),
            [(
                At::Literal,
                "output label `k` (position 5) does not appear in any input term".to_owned()
            )]
        );
        assert_eq!(
            msgs("ij->ii", 1, &[]),
            [(
                At::Literal,
                "output label `i` appears more than once (again at position 5)".to_owned()
            )]
        );
    }

    #[test]
    fn operand_count() {
        assert_eq!(
            msgs("ij,jk", 1, &[]),
            [(
                At::Literal,
                "\"ij,jk\" has 2 input terms but 1 operand was given".to_owned()
            )]
        );
        assert_eq!(
            msgs("ij", 3, &[]),
            [
                (
                    At::Operand(1),
                    "operand 1 has no subscript term: \"ij\" has 1 input term".to_owned()
                ),
                (
                    At::Operand(2),
                    "operand 2 has no subscript term: \"ij\" has 1 input term".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn terms_have_at_most_64_labels() {
        let long = "i".repeat(65);
        assert_eq!(
            msgs(&long, 1, &[]),
            [(
                At::Literal,
                "a term has 65 labels, but an operand has at most 64 axes".to_owned()
            )]
        );
        assert!(msgs(&"i".repeat(64), 1, &[]).is_empty());
    }

    #[test]
    fn bindings() {
        assert_eq!(
            msgs("ij", 1, &["k", "i", "i", "ij"]),
            [
                (
                    At::Binding(0),
                    "`k` is not a label of \"ij\", so it cannot be bound".to_owned()
                ),
                (
                    At::Binding(2),
                    "label `i` is bound more than once".to_owned()
                ),
                (
                    At::Binding(3),
                    "unknown option `ij`: the options are a label's fixed size \
                     (one letter of \"ij\", as in `i = 3`), `alpha`, `beta` and `reduce`"
                        .to_owned()
                ),
            ]
        );
    }
}
