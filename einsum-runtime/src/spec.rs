//! The compile-time description of one einsum expression.
//!
//! The macro parses and checks the subscripts, then emits one [`Spec`] as a
//! constant at the call site: labels are numbered densely, so the run-time
//! code indexes small arrays by label and never looks at characters.

/// One subscript term: the labels of an operand's (or the output's) axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// The term as written (spaces removed), for error messages.
    pub text: &'static str,
    /// Label ids, in axis order, the `...` left out.
    pub labels: &'static [u8],
    /// Where the `...` stands among `labels` (`Some(0)`: before the first
    /// label), or `None` when the term has no ellipsis.
    pub ellipsis: Option<u8>,
}

/// A whole checked expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The subscripts as the user wrote them.
    pub subscripts: &'static str,
    /// The character of each label id.
    pub labels: &'static [u8],
    /// One term per operand.
    pub inputs: &'static [Term],
    /// The output term (computed by numpy's rule in implicit mode).
    pub output: Term,
}

impl Spec {
    /// The character of label `id`.
    #[inline]
    pub fn label_char(&self, id: u8) -> char {
        self.labels[usize::from(id)] as char
    }
}
