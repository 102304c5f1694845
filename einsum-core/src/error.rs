//! The one error type of the crate: a shape that does not fit the
//! subscripts of an einsum call, or the arguments of a window function.

use std::fmt;

/// A run-time error, from one of two sources:
///
/// - an einsum call: the operands' shapes do not fit the subscripts, a
///   fixed-size binding is contradicted, or the output array has the wrong
///   shape. Nothing has been written to the output when this error is
///   returned. [`subscripts`](EinsumError::subscripts) gives the subscripts.
/// - a function of [`windows`](crate::windows): the window does not fit the
///   array. [`window_call`](EinsumError::window_call) gives the function and
///   its arguments.
///
/// The message names the subscripts, the labels, the operands (counted from
/// 0 in the order they were passed), the axes and the sizes involved:
///
/// ```text
/// einsum "ij,jk->ik": label `j` has size 3 in operand 0 (axis 1) but 4 in operand 1 (axis 0)
/// ```
///
/// or the window function, the shape of its array and its other arguments:
///
/// ```text
/// windows_nhwc(x of shape [2, 4, 4, 3], window (5, 5), step (1, 1)): a window of 5 along axis 1 is longer than the axis, of length 4
/// ```
///
/// The same facts are in [`kind`](EinsumError::kind), to act on:
///
/// ```
/// use einsum::{try_einsum, AxisRef, ErrorKind};
/// use einsum::ndarray::Array2;
///
/// let a = Array2::<f64>::zeros((2, 3));
/// let b = Array2::<f64>::zeros((4, 5));
/// let e = try_einsum!("ij,jk->ik", &a, &b).unwrap_err();
/// assert_eq!(e.subscripts(), "ij,jk->ik");
/// match e.kind() {
///     ErrorKind::LabelSize { label, first, second } => {
///         assert_eq!(*label, 'j');
///         assert_eq!(*first, AxisRef { operand: 0, axis: 1, size: 3 });
///         assert_eq!(*second, AxisRef { operand: 1, axis: 0, size: 4 });
///     }
///     other => panic!("unexpected {other}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinsumError {
    origin: Origin,
    kind: ErrorKind,
}

/// Which of the two sources an error comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    /// An einsum call, with its subscripts.
    Call(&'static str),
    /// A window function. Boxed so that window errors, which are rare, do
    /// not make every einsum call's `Result` larger.
    Window(Box<WindowCall>),
}

/// A call of a function of [`windows`](crate::windows) that failed: the
/// function, the shape of the array it was given and its other arguments,
/// as the message of its [`EinsumError`] quotes them.
///
/// ```
/// use einsum::ndarray::Array4;
/// use einsum::windows::windows_nhwc;
///
/// let x = Array4::<f64>::zeros((2, 4, 4, 3));
/// let e = windows_nhwc(&x, (5, 5), (1, 1)).unwrap_err();
/// let call = e.window_call().unwrap();
/// assert_eq!(call.function(), "windows_nhwc");
/// assert_eq!(call.shape(), &[2, 4, 4, 3]);
/// assert_eq!(call.axes(), &[1, 2]);
/// assert_eq!((call.window(), call.step()), (&[5, 5][..], &[1, 1][..]));
/// assert_eq!(
///     call.to_string(),
///     "windows_nhwc(x of shape [2, 4, 4, 3], window (5, 5), step (1, 1))"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowCall {
    pub(crate) function: WindowFn,
    pub(crate) shape: Vec<usize>,
    pub(crate) axes: Vec<usize>,
    pub(crate) window: Vec<usize>,
    pub(crate) step: Vec<usize>,
}

/// The public window functions, which differ in how their arguments are
/// written back in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowFn {
    /// `windows2`.
    Windows2,
    /// `windows_nhwc`.
    WindowsNhwc,
    /// `sliding_window_view`.
    SlidingWindowView,
}

impl WindowFn {
    /// The function's name and the name of its array parameter, as in its
    /// signature.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            WindowFn::Windows2 => ("windows2", "img"),
            WindowFn::WindowsNhwc => ("windows_nhwc", "x"),
            WindowFn::SlidingWindowView => ("sliding_window_view", "a"),
        }
    }
}

impl WindowCall {
    /// The function's name: `"windows2"`, `"windows_nhwc"` or
    /// `"sliding_window_view"`.
    pub fn function(&self) -> &'static str {
        self.function.names().0
    }

    /// The shape of the array the function was given.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The axes the windows slide along: as given to `sliding_window_view`,
    /// or those `windows2` (`[0, 1]`) and `windows_nhwc` (`[1, 2]`) imply.
    pub fn axes(&self) -> &[usize] {
        &self.axes
    }

    /// The window's lengths, one per entry of [`axes`](WindowCall::axes)
    /// when the call was well formed.
    pub fn window(&self) -> &[usize] {
        &self.window
    }

    /// The steps, one per entry of [`axes`](WindowCall::axes) when the call
    /// was well formed.
    pub fn step(&self) -> &[usize] {
        &self.step
    }
}

impl fmt::Display for WindowCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (function, array) = self.function.names();
        write!(f, "{function}({array} of shape {:?}, ", self.shape)?;
        match (self.function, &self.window[..], &self.step[..]) {
            // The pair functions take tuples; quote them as written.
            (WindowFn::Windows2 | WindowFn::WindowsNhwc, &[kh, kw], &[sh, sw]) => {
                write!(f, "window ({kh}, {kw}), step ({sh}, {sw}))")
            }
            _ => write!(
                f,
                "axes {:?}, window {:?}, step {:?})",
                self.axes, self.window, self.step
            ),
        }
    }
}

/// Where a dimension comes from: an operand and one of its axes.
///
/// ```
/// use einsum::{try_einsum, AxisRef, ErrorKind};
/// use einsum::ndarray::Array2;
///
/// let e = try_einsum!("ij->i", &Array2::<f64>::zeros((2, 3)); j = 4).unwrap_err();
/// let ErrorKind::FixedSize { label: 'j', bound: 4, found } = e.kind() else { panic!() };
/// assert_eq!(*found, AxisRef { operand: 0, axis: 1, size: 3 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisRef {
    /// The operand, counted from 0 in the order the operands were passed.
    pub operand: usize,
    /// The axis of that operand.
    pub axis: usize,
    /// The length of that axis.
    pub size: usize,
}

/// What went wrong, in detail.
///
/// An operand of dynamic rank is checked against its term when the call
/// runs (a static rank is checked when it compiles):
///
/// ```
/// use einsum::{try_einsum, ErrorKind};
/// use einsum::ndarray::{ArrayD, IxDyn};
///
/// let a = ArrayD::<f64>::zeros(IxDyn(&[2, 2, 2]));
/// let e = try_einsum!("ij->ji", &a).unwrap_err();
/// assert!(matches!(e.kind(), ErrorKind::Rank { operand: 0, labels: 2, ndim: 3, .. }));
/// assert_eq!(
///     e.to_string(),
///     "einsum \"ij->ji\": operand 0 has 3 axes but its term \"ij\" has 2 labels"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A label has two different sizes (neither of them 1) in two operands.
    LabelSize {
        /// The label.
        label: char,
        /// Where the label first had a size other than 1.
        first: AxisRef,
        /// Where it had another size.
        second: AxisRef,
    },
    /// A label repeated inside one operand (a diagonal) has unequal sizes
    /// there.
    DiagonalSize {
        /// The label.
        label: char,
        /// The operand and the first axis with the label.
        first: AxisRef,
        /// The other axis with the label, in the same operand.
        second: AxisRef,
    },
    /// The `...` dimensions of two operands cannot be broadcast together.
    EllipsisBroadcast {
        /// Which of the broadcast `...` dimensions, counted from the left of
        /// the broadcast shape.
        dim: usize,
        /// Where that dimension first had a size other than 1.
        first: AxisRef,
        /// Where it had another size.
        second: AxisRef,
    },
    /// An operand's number of axes does not fit its subscript term.
    Rank {
        /// The operand.
        operand: usize,
        /// Its subscript term, as written.
        term: &'static str,
        /// The number of labels in the term.
        labels: usize,
        /// Whether the term has an ellipsis (then `ndim >= labels` fits).
        ellipsis: bool,
        /// The operand's number of axes.
        ndim: usize,
    },
    /// A size bound with `; i = 3` differs from the operand's.
    FixedSize {
        /// The label.
        label: char,
        /// The bound size.
        bound: usize,
        /// An axis of an operand under that label with another size.
        found: AxisRef,
    },
    /// The output array of `einsum_into!` has the wrong shape.
    OutputShape {
        /// The shape the subscripts produce for these operands.
        expected: Vec<usize>,
        /// The shape of the array that was passed.
        found: Vec<usize>,
    },
    /// `reduce = max` or `reduce = min` over an empty range of a summed
    /// label, for an output that has elements: such a reduction has no
    /// value (numpy: "zero-size array to reduction operation maximum which
    /// has no identity").
    EmptyReduction {
        /// The summed labels of size zero.
        labels: Vec<char>,
    },
    /// A window view (`WindowsMut`) was the destination of a call whose
    /// `beta` is not one: it can only add into the array it views.
    WindowsNeedBetaOne,
    /// An operand, or the expression as a whole (labels plus `...`
    /// dimensions), has more axes than an einsum supports.
    TooManyAxes {
        /// The operand with too many axes, or `None` for the expression's
        /// labels and `...` dimensions together.
        operand: Option<usize>,
        /// The operand's number of axes, or the expression's distinct axes.
        axes: usize,
        /// The supported maximum.
        max: usize,
    },
    /// The output would have more elements than fit in memory: its element
    /// count or byte size overflows `isize`, or the allocator refused it.
    OutputTooLarge {
        /// The shape that was asked for.
        shape: Vec<usize>,
    },
    /// The loops over every label and `...` dimension would take more steps
    /// than an `isize` counts (numpy's "iterator is too large"), and no
    /// pairwise order of the operands avoids it. Such work could never
    /// finish; it is refused before it starts.
    WorkTooLarge {
        /// Each label with its size, in the order of the label ids (first
        /// appearance in the subscripts).
        labels: Vec<(char, usize)>,
        /// The sizes of the broadcast `...` dimensions, if any.
        ellipsis: Vec<usize>,
    },
    /// A sliding window is longer than the axis it slides along
    /// ([`windows`](crate::windows)).
    WindowTooLarge {
        /// The axis of the array.
        axis: usize,
        /// The window's length along it.
        window: usize,
        /// The axis's length.
        len: usize,
    },
    /// A sliding window steps by zero along an axis.
    WindowStep {
        /// The axis of the array.
        axis: usize,
    },
    /// The window's description does not fit the array: an axis past the
    /// last, an axis windowed twice, or lists of different lengths.
    WindowAxes {
        /// The axes asked for.
        axes: Vec<usize>,
        /// The window's lengths.
        window: Vec<usize>,
        /// The steps.
        step: Vec<usize>,
        /// The array's number of axes.
        ndim: usize,
    },
}

impl EinsumError {
    /// An error of the einsum call with these subscripts.
    pub(crate) fn call(subscripts: &'static str, kind: ErrorKind) -> Self {
        EinsumError {
            origin: Origin::Call(subscripts),
            kind,
        }
    }

    /// An error of the window function `function`, called on an array of
    /// `shape` with these axes, window and step.
    #[doc(hidden)]
    pub fn window(
        function: WindowFn,
        [shape, axes, window, step]: [&[usize]; 4],
        kind: ErrorKind,
    ) -> Self {
        let call = WindowCall {
            function,
            shape: shape.to_vec(),
            axes: axes.to_vec(),
            window: window.to_vec(),
            step: step.to_vec(),
        };
        EinsumError {
            origin: Origin::Window(Box::new(call)),
            kind,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The subscripts of the einsum call that failed, as written; `""` for an
    /// error of a window function, which has none (see
    /// [`window_call`](EinsumError::window_call)).
    pub fn subscripts(&self) -> &'static str {
        match self.origin {
            Origin::Call(subscripts) => subscripts,
            Origin::Window(_) => "",
        }
    }

    /// The window function that failed and its arguments; `None` for an
    /// error of an einsum call.
    pub fn window_call(&self) -> Option<&WindowCall> {
        match &self.origin {
            Origin::Call(_) => None,
            Origin::Window(call) => Some(call),
        }
    }
}

impl fmt::Display for EinsumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Call(subscripts) => write!(f, "einsum {subscripts:?}: ")?,
            Origin::Window(call) => write!(f, "{call}: ")?,
        }
        fmt::Display::fmt(&self.kind, f)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::LabelSize {
                label,
                first,
                second,
            } => write!(
                f,
                "label `{label}` has size {} in operand {} (axis {}) but {} in operand {} (axis {})",
                first.size, first.operand, first.axis, second.size, second.operand, second.axis
            ),
            ErrorKind::DiagonalSize {
                label,
                first,
                second,
            } => write!(
                f,
                "label `{label}` is repeated in operand {} on axes {} and {}, which need equal \
                 sizes for a diagonal, but have sizes {} and {}",
                first.operand, first.axis, second.axis, first.size, second.size
            ),
            ErrorKind::EllipsisBroadcast { dim, first, second } => write!(
                f,
                "`...` dimension {dim} has size {} in operand {} (axis {}) but {} in operand {} \
                 (axis {}), which cannot be broadcast together",
                first.size, first.operand, first.axis, second.size, second.operand, second.axis
            ),
            ErrorKind::Rank {
                operand,
                term,
                labels,
                ellipsis,
                ndim,
            } => {
                if *ellipsis {
                    write!(
                        f,
                        "operand {operand} has {ndim} axes but its term {term:?} needs at least \
                         {labels}"
                    )
                } else {
                    write!(
                        f,
                        "operand {operand} has {ndim} axes but its term {term:?} has {labels} \
                         labels"
                    )
                }
            }
            ErrorKind::FixedSize {
                label,
                bound,
                found,
            } => write!(
                f,
                "label `{label}` is bound to size {bound} but has size {} in operand {} (axis {})",
                found.size, found.operand, found.axis
            ),
            ErrorKind::OutputShape { expected, found } => write!(
                f,
                "the output array has shape {found:?} but the result has shape {expected:?}"
            ),
            ErrorKind::EmptyReduction { labels } => {
                let labels: Vec<String> = labels.iter().map(|l| format!("`{l}`")).collect();
                write!(
                    f,
                    "a max or min over an empty range has no value: summed label {} has size 0",
                    labels.join(", ")
                )
            }
            ErrorKind::WindowsNeedBetaOne => write!(
                f,
                "a window view as the output adds into the array it views, where windows \
                 overlap: write `beta = 1` (`1.0` for floats), the only `beta` it takes"
            ),
            ErrorKind::TooManyAxes {
                operand: Some(k),
                axes,
                max,
            } => write!(
                f,
                "operand {k} has {axes} axes, more than the {max} an einsum supports"
            ),
            ErrorKind::TooManyAxes {
                operand: None,
                axes,
                max,
            } => write!(
                f,
                "the labels and `...` dimensions make {axes} axes, more than the {max} an einsum \
                 supports"
            ),
            ErrorKind::OutputTooLarge { shape } => write!(
                f,
                "the result of shape {shape:?} has more elements than fit in memory"
            ),
            ErrorKind::WorkTooLarge { labels, ellipsis } => {
                f.write_str("the loops over ")?;
                for (n, (label, size)) in labels.iter().enumerate() {
                    let sep = if n == 0 { "" } else { ", " };
                    write!(f, "{sep}`{label}` = {size}")?;
                }
                if !ellipsis.is_empty() {
                    let sep = if labels.is_empty() { "" } else { ", " };
                    write!(f, "{sep}`...` = {ellipsis:?}")?;
                }
                write!(
                    f,
                    " take more than {} steps (`isize::MAX`), the most an einsum counts",
                    isize::MAX
                )
            }
            ErrorKind::WindowTooLarge { axis, window, len } => write!(
                f,
                "a window of {window} along axis {axis} is longer than the axis, of length {len}"
            ),
            ErrorKind::WindowStep { axis } => write!(
                f,
                "the window's step along axis {axis} is 0; a step is at least 1"
            ),
            ErrorKind::WindowAxes {
                axes,
                window,
                step,
                ndim,
            } => write!(
                f,
                "a window over axes {axes:?} with lengths {window:?} and steps {step:?} does not \
                 fit an array of {ndim} axes: give one length and one step per axis, each axis \
                 once, each below {ndim}"
            ),
        }
    }
}

impl std::error::Error for EinsumError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_size_message_names_everything() {
        let e = EinsumError::call(
            "ij,jk->ik",
            ErrorKind::LabelSize {
                label: 'j',
                first: AxisRef {
                    operand: 0,
                    axis: 1,
                    size: 3,
                },
                second: AxisRef {
                    operand: 1,
                    axis: 0,
                    size: 4,
                },
            },
        );
        assert_eq!(
            e.to_string(),
            "einsum \"ij,jk->ik\": label `j` has size 3 in operand 0 (axis 1) but 4 in operand 1 \
             (axis 0)"
        );
    }

    #[test]
    fn output_shape_message() {
        let e = EinsumError::call(
            "ij->j",
            ErrorKind::OutputShape {
                expected: vec![3],
                found: vec![4],
            },
        );
        assert_eq!(
            e.to_string(),
            "einsum \"ij->j\": the output array has shape [4] but the result has shape [3]"
        );
    }

    #[test]
    fn a_call_error_has_no_window_call() {
        let e = EinsumError::call("ij->j", ErrorKind::OutputTooLarge { shape: vec![] });
        assert_eq!(e.subscripts(), "ij->j");
        assert_eq!(e.window_call(), None);
    }

    #[test]
    fn the_origin_is_no_larger_than_the_subscripts() {
        assert_eq!(
            std::mem::size_of::<Origin>(),
            std::mem::size_of::<&'static str>()
        );
    }
}
