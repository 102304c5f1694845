//! The loop axes of a call, as the kernels read them: one per label and per
//! `...` dimension, with every operand's stride and the output's.

/// One loop of the nest: a label or a `...` dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis<const K: usize> {
    /// Number of iterations.
    pub size: usize,
    /// Stride of each operand along this axis, in elements (0: broadcast or
    /// absent).
    pub strides: [isize; K],
    /// Stride of the output (0 for a summed axis).
    pub out: isize,
    /// Whether the axis is summed over (absent from the output).
    pub summed: bool,
}

impl<const K: usize> Axis<K> {
    pub(crate) const EMPTY: Self = Axis {
        size: 1,
        strides: [0; K],
        out: 0,
        summed: true,
    };
}

/// An axis for kernel tests: summed exactly when the output does not step
/// along it.
#[cfg(test)]
pub(crate) fn test_axis<const K: usize>(size: usize, strides: [isize; K], out: isize) -> Axis<K> {
    Axis {
        size,
        strides,
        out,
        summed: out == 0,
    }
}
