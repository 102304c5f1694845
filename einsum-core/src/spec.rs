//! The compile-time description of one einsum expression.
//!
//! The macro parses and checks the subscripts, then emits one [`Spec`] as a
//! constant at the call site: labels are numbered densely, so the run-time
//! code indexes small arrays by label and never looks at characters.
//!
//! The kernels trust a `Spec` to be consistent (every label id names a label,
//! the output has each label once), so one can only be made through
//! [`Spec::new`], a `const fn` that checks exactly that: in the macro's
//! `const` item a broken spec fails to compile, and nothing is left to check
//! at run time.

use crate::limits::MAX_AXES;

/// One subscript term: the labels of an operand's (or the output's) axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// The term as written (spaces removed), for error messages.
    pub(crate) text: &'static str,
    /// Label ids, in axis order, the `...` left out.
    pub(crate) labels: &'static [u8],
    /// Where the `...` stands among `labels` (`Some(0)`: before the first
    /// label), or `None` when the term has no ellipsis.
    pub(crate) ellipsis: Option<u8>,
}

impl Term {
    /// A term of label ids `labels` with the `...` before `labels[p]` when
    /// `ellipsis` is `Some(p)`.
    ///
    /// # Panics
    /// When the ellipsis stands past the last label, or the term has more
    /// labels than an operand may have axes.
    pub const fn new(text: &'static str, labels: &'static [u8], ellipsis: Option<u8>) -> Term {
        assert!(
            labels.len() <= MAX_AXES,
            "einsum: a term has too many labels"
        );
        if let Some(p) = ellipsis {
            assert!(
                p as usize <= labels.len(),
                "einsum: the ellipsis stands past the term"
            );
        }
        Term {
            text,
            labels,
            ellipsis,
        }
    }

    const fn check_ids(&self, count: usize) {
        let mut i = 0;
        while i < self.labels.len() {
            assert!(
                (self.labels[i] as usize) < count,
                "einsum: a label id names no label"
            );
            i += 1;
        }
    }
}

/// A whole checked expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The subscripts as the user wrote them.
    pub(crate) subscripts: &'static str,
    /// The character of each label id.
    pub(crate) labels: &'static [u8],
    /// One term per operand.
    pub(crate) inputs: &'static [Term],
    /// The output term (computed by numpy's rule in implicit mode).
    pub(crate) output: Term,
}

impl Spec {
    /// An expression over the labels `labels` (label id `i` is the character
    /// `labels[i]`), with one input term per operand.
    ///
    /// # Panics
    /// When a term names a label id out of range, or the output names a
    /// label twice: in a `const` item, a compile error.
    pub const fn new(
        subscripts: &'static str,
        labels: &'static [u8],
        inputs: &'static [Term],
        output: Term,
    ) -> Spec {
        let mut k = 0;
        while k < inputs.len() {
            inputs[k].check_ids(labels.len());
            k += 1;
        }
        output.check_ids(labels.len());
        let mut i = 0;
        while i < output.labels.len() {
            let mut j = i + 1;
            while j < output.labels.len() {
                assert!(
                    output.labels[i] != output.labels[j],
                    "einsum: the output names a label twice"
                );
                j += 1;
            }
            i += 1;
        }
        Spec {
            subscripts,
            labels,
            inputs,
            output,
        }
    }

    /// The character of label `id`.
    #[inline]
    pub(crate) fn label_char(&self, id: u8) -> char {
        self.labels[usize::from(id)] as char
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_I: &[Term] = &[Term::new("i", &[0], None)];

    #[test]
    #[should_panic(expected = "a label id names no label")]
    fn label_ids_must_name_labels() {
        let _ = Spec::new("i->", b"", ONE_I, Term::new("", &[], None));
    }

    #[test]
    #[should_panic(expected = "the output names a label twice")]
    fn output_labels_are_unique() {
        let _ = Spec::new("i->ii", b"i", ONE_I, Term::new("ii", &[0, 0], None));
    }

    #[test]
    #[should_panic(expected = "the ellipsis stands past the term")]
    fn ellipsis_within_the_term() {
        let _ = Term::new("i...", &[0], Some(2));
    }
}
