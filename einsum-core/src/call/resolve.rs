//! From a [`Spec`] and the operands' shapes to one loop axis per label and per
//! `...` dimension, with every operand's stride along it.
//!
//! This is where every run-time check of the contract happens, before any
//! element is read or written:
//! - an operand's rank must fit its term (exactly, or at least the number of
//!   labels when the term has an ellipsis);
//! - a label repeated inside one operand (a diagonal) needs equal sizes there;
//! - a label's sizes across operands must agree, except that a size of 1
//!   broadcasts (numpy accepts it, as it does for `...` dimensions, which
//!   broadcast right-aligned);
//! - a size bound with `; i = 3` must be the label's size.
//!
//! Nothing here allocates: the tables have room for `N` axes, a constant the
//! macro picks for the call site: the number of labels when no term has a
//! `...` (then that is every axis), else [`MAX_AXES`], the largest number
//! numpy allows (NPY_MAXDIMS). So a three-label matmul sets up three-entry
//! tables, not sixty-four.

use crate::axes::Axis;
use crate::error::{AxisRef, EinsumError, ErrorKind};
use crate::limits::MAX_AXES;
use crate::operand::RawOperand;
use crate::spec::{Spec, Term};

/// Every loop axis of one call, with the output's shape: at most `N` axes,
/// and room for `K` operands, of which the call has [`count`](Self::count).
pub(crate) struct Layout<const K: usize, const N: usize> {
    axes: [Axis<K>; N],
    n: usize,
    /// For each output axis, the loop axis it is.
    out_axes: [u8; N],
    out_shape: [usize; N],
    out_rank: usize,
    /// For each operand, the axes it varies along: bit `id` when some axis
    /// of the operand of length other than 1 is loop axis `id`.
    present: [u64; K],
    /// The call's operands: the first `count` of the `K` an axis has room
    /// for (the others' strides are zero).
    count: usize,
}

impl<const K: usize, const N: usize> Layout<K, N> {
    /// No axes, for [`resolve`] to fill in place. (All zero bytes, so that
    /// making one is a few vector stores rather than a copy of a constant;
    /// `resolve` sets up each axis it uses.)
    pub const EMPTY: Self = Layout {
        axes: [Axis {
            size: 0,
            strides: [0; K],
            out: 0,
            summed: false,
        }; N],
        n: 0,
        out_axes: [0; N],
        out_shape: [0; N],
        out_rank: 0,
        present: [0; K],
        count: 0,
    };

    /// The axes, for the kernel to reorder in place.
    pub fn axes_mut(&mut self) -> &mut [Axis<K>] {
        &mut self.axes[..self.n]
    }

    pub fn out_shape(&self) -> &[usize] {
        &self.out_shape[..self.out_rank]
    }

    /// The loop axes, in id order (labels, then `...` dimensions), before
    /// the kernel reorders them.
    pub fn axes(&self) -> &[Axis<K>] {
        &self.axes[..self.n]
    }

    /// The number of points of the one loop nest over every axis: the
    /// product of the sizes (0 if one is 0), saturating at `u128::MAX`.
    pub fn points(&self) -> u128 {
        if self.axes().iter().any(|a| a.size == 0) {
            return 0;
        }
        self.axes()
            .iter()
            .fold(1u128, |p, a| p.saturating_mul(a.size as u128))
    }

    /// Each operand's axes, as bit masks over axis ids.
    pub fn present(&self) -> &[u64] {
        &self.present[..self.count]
    }

    /// The number of operands.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The output's axes, as ids in output order.
    pub fn out_ids(&self) -> &[u8] {
        &self.out_axes[..self.out_rank]
    }

    /// Records the output's strides; `strides` has one per output axis.
    pub fn set_out_strides(&mut self, strides: &[isize]) {
        debug_assert_eq!(strides.len(), self.out_rank);
        for (j, &s) in strides.iter().enumerate() {
            let a = usize::from(self.out_axes[j]);
            // An axis of length 1 is never stepped along; a zero stride keeps
            // the kernel from merging on a meaningless value.
            self.axes[a].out = if self.out_shape[j] == 1 { 0 } else { s };
        }
    }
}

/// Writes the axis id of every axis of an operand with `ndim` axes and term
/// `term`: label ids are `0..L`, the `...` frame's dimensions `L..L + frame`.
/// The rank must already fit the term.
fn operand_axis_ids(spec: &Spec, term: &Term, ndim: usize, frame: usize, ids: &mut [u8; MAX_AXES]) {
    let nl = term.labels.len();
    let l = spec.labels.len();
    match term.ellipsis {
        None => {
            for (a, &id) in term.labels.iter().enumerate() {
                ids[a] = id;
            }
        }
        Some(p) => {
            let p = usize::from(p);
            let e = ndim - nl;
            for (a, id) in ids[..ndim].iter_mut().enumerate() {
                *id = if a < p {
                    term.labels[a]
                } else if a < p + e {
                    // Right-aligned in the broadcast `...` frame of `frame` dims.
                    (l + frame - e + (a - p)) as u8
                } else {
                    term.labels[a - e]
                };
            }
        }
    }
}

/// Checks every shape against `spec` and lays out the loop axes.
///
/// `fixed` lists the sizes bound with `; label = size`, by label id. `N` is
/// the tables' room: at least the number of labels, and [`MAX_AXES`] when a
/// term has a `...`. `K` is the room for operands: at least `ops.len()`.
#[inline]
pub(crate) fn resolve<const K: usize, const N: usize>(
    spec: &Spec,
    ops: &[RawOperand<'_, ()>],
    fixed: &[(u8, usize)],
    layout: &mut Layout<K, N>,
) -> Result<(), EinsumError> {
    let mut shapes: [(&[usize], &[isize]); K] = [(&[], &[]); K];
    for (s, op) in shapes.iter_mut().zip(ops) {
        *s = (op.shape(), op.strides());
    }
    resolve_shapes::<K, N>(spec, &shapes[..ops.len().min(K)], fixed, layout)
}

/// [`resolve`] over each operand's shape and strides.
fn resolve_shapes<const K: usize, const N: usize>(
    spec: &Spec,
    ops: &[(&[usize], &[isize])],
    fixed: &[(u8, usize)],
    layout: &mut Layout<K, N>,
) -> Result<(), EinsumError> {
    let err = |kind| EinsumError::call(spec.subscripts, kind);
    // `Spec::new` checked the label ids; the operand count is this call's.
    assert_eq!(
        spec.inputs.len(),
        ops.len(),
        "einsum: one operand per input term"
    );
    assert!(ops.len() <= K, "einsum: room for every operand");
    let l = spec.labels.len();

    // The `...` frame: as many dimensions as the widest ellipsis covers.
    let mut frame = 0usize;
    for (k, (&(shape, _), term)) in ops.iter().zip(spec.inputs).enumerate() {
        let ndim = shape.len();
        let nl = term.labels.len();
        let fits = match term.ellipsis {
            Some(_) => ndim >= nl,
            None => ndim == nl,
        };
        if !fits {
            return Err(err(ErrorKind::Rank {
                operand: k,
                term: term.text,
                labels: nl,
                ellipsis: term.ellipsis.is_some(),
                ndim,
            }));
        }
        // No operand may have more axes than the nest: this also keeps every
        // axis index below 256 in the `u8` tables below.
        if ndim > MAX_AXES {
            return Err(err(ErrorKind::TooManyAxes {
                operand: Some(k),
                axes: ndim,
                max: MAX_AXES,
            }));
        }
        if term.ellipsis.is_some() {
            frame = frame.max(ndim - nl);
        }
    }
    let n = l + frame;
    if n > MAX_AXES {
        return Err(err(ErrorKind::TooManyAxes {
            operand: None,
            axes: n,
            max: MAX_AXES,
        }));
    }
    // Without a `...` there are exactly `l` axes, and the macro makes room
    // for them; with one, it makes room for `MAX_AXES`.
    assert!(n <= N, "einsum: the call site's tables are too small");

    let axes = &mut layout.axes;
    axes[..n].fill(Axis::EMPTY);
    // Where each axis first got a size other than 1 (or its first size).
    let mut source: [Option<AxisRef>; N] = [None; N];
    let mut ids = [0u8; MAX_AXES];
    let mut present = [0u64; K];

    for (k, (&(shape, strides), term)) in ops.iter().zip(spec.inputs).enumerate() {
        operand_axis_ids(spec, term, shape.len(), frame, &mut ids);
        // The first axis of this operand with each id (for diagonals).
        let mut first_axis = [u8::MAX; N];
        for a in 0..shape.len() {
            let id = usize::from(ids[a]);
            let here = AxisRef {
                operand: k,
                axis: a,
                size: shape[a],
            };
            if first_axis[id] != u8::MAX {
                let fa = usize::from(first_axis[id]);
                if shape[fa] != shape[a] {
                    return Err(err(ErrorKind::DiagonalSize {
                        label: spec.label_char(id as u8),
                        first: AxisRef {
                            operand: k,
                            axis: fa,
                            size: shape[fa],
                        },
                        second: here,
                    }));
                }
                // A diagonal steps along both axes at once.
                axes[id].strides[k] = axes[id].strides[k].wrapping_add(strides[a]);
                continue;
            }
            first_axis[id] = a as u8;
            axes[id].strides[k] = strides[a];
            match source[id] {
                None => {
                    source[id] = Some(here);
                    axes[id].size = shape[a];
                }
                Some(_) if shape[a] == axes[id].size || shape[a] == 1 => {}
                Some(_) if axes[id].size == 1 => {
                    source[id] = Some(here);
                    axes[id].size = shape[a];
                }
                Some(prev) => {
                    let first = AxisRef {
                        size: axes[id].size,
                        ..prev
                    };
                    return Err(err(if id < l {
                        ErrorKind::LabelSize {
                            label: spec.label_char(id as u8),
                            first,
                            second: here,
                        }
                    } else {
                        ErrorKind::EllipsisBroadcast {
                            dim: id - l,
                            first,
                            second: here,
                        }
                    }));
                }
            }
        }
        // A length-1 axis broadcasts: it is read at index 0 however far the
        // loop runs, so its stride is zero.
        for a in 0..shape.len() {
            if shape[a] == 1 {
                axes[usize::from(ids[a])].strides[k] = 0;
            } else {
                present[k] |= 1 << ids[a];
            }
        }
    }

    for &(id, bound) in fixed {
        let i = usize::from(id);
        if axes[i].size != bound {
            let found = source[i].expect("every label of the spec is in some input");
            return Err(err(ErrorKind::FixedSize {
                label: spec.label_char(id),
                bound,
                found,
            }));
        }
    }

    // Output axes: the labels around the `...`, which stands for the whole
    // frame (and for nothing when no input has an ellipsis).
    let mut out_rank = 0;
    let mut push = |id: usize| {
        layout.out_axes[out_rank] = id as u8;
        layout.out_shape[out_rank] = layout.axes[id].size;
        layout.axes[id].summed = false;
        out_rank += 1;
    };
    let out = &spec.output;
    let p = out.ellipsis.map_or(out.labels.len(), usize::from);
    for &id in &out.labels[..p] {
        push(usize::from(id));
    }
    if out.ellipsis.is_some() {
        for j in 0..frame {
            push(l + j);
        }
    }
    for &id in &out.labels[p..] {
        push(usize::from(id));
    }

    layout.n = n;
    layout.out_rank = out_rank;
    layout.present = present;
    layout.count = ops.len();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, IxDyn};

    const MATMUL: Spec = Spec {
        subscripts: "ij,jk->ik",
        labels: b"ijk",
        inputs: &[
            Term {
                text: "ij",
                labels: &[0, 1],
                ellipsis: None,
            },
            Term {
                text: "jk",
                labels: &[1, 2],
                ellipsis: None,
            },
        ],
        output: Term {
            text: "ik",
            labels: &[0, 2],
            ellipsis: None,
        },
    };

    fn zeros(shape: &[usize]) -> Array<f64, IxDyn> {
        Array::zeros(IxDyn(shape))
    }

    /// The output shape and each axis as (size, strides, summed).
    type Resolved<const K: usize> = (Vec<usize>, Vec<(usize, [isize; K], bool)>);

    fn run<const K: usize>(
        spec: &Spec,
        arrays: [&Array<f64, IxDyn>; K],
        fixed: &[(u8, usize)],
    ) -> Result<Resolved<K>, EinsumError> {
        let ops: [RawOperand<'_, f64>; K] =
            // SAFETY: each array's own pointer, shape and strides.
            core::array::from_fn(|k| unsafe {
                RawOperand::from_parts(arrays[k].as_ptr(), arrays[k].shape(), arrays[k].strides())
            });
        let mut layout = Layout::<K, MAX_AXES>::EMPTY;
        resolve(spec, &ops.map(RawOperand::erase), fixed, &mut layout)?;
        let axes = layout
            .axes()
            .iter()
            .map(|a| (a.size, a.strides, a.summed))
            .collect();
        Ok((layout.out_shape().to_vec(), axes))
    }

    #[test]
    fn matmul_axes() {
        let (shape, axes) = run(&MATMUL, [&zeros(&[2, 3]), &zeros(&[3, 4])], &[]).unwrap();
        assert_eq!(shape, [2, 4]);
        assert_eq!(
            axes,
            [(2, [3, 0], false), (3, [1, 4], true), (4, [0, 1], false)]
        );
    }

    #[test]
    fn size_one_broadcasts_under_a_label() {
        let (shape, axes) = run(&MATMUL, [&zeros(&[2, 1]), &zeros(&[3, 4])], &[]).unwrap();
        assert_eq!(shape, [2, 4]);
        assert_eq!(axes[1], (3, [0, 4], true));
    }

    #[test]
    fn mismatch_names_label_operands_axes_and_sizes() {
        let e = run(&MATMUL, [&zeros(&[2, 3]), &zeros(&[4, 4])], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "einsum \"ij,jk->ik\": label `j` has size 3 in operand 0 (axis 1) but 4 in operand 1 \
             (axis 0)"
        );
    }

    #[test]
    fn fixed_size_contradicted() {
        let e = run(&MATMUL, [&zeros(&[2, 3]), &zeros(&[3, 4])], &[(2, 5)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "einsum \"ij,jk->ik\": label `k` is bound to size 5 but has size 4 in operand 1 \
             (axis 1)"
        );
    }

    #[test]
    fn rank_error() {
        let e = run(&MATMUL, [&zeros(&[2, 3, 1]), &zeros(&[3, 4])], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "einsum \"ij,jk->ik\": operand 0 has 3 axes but its term \"ij\" has 2 labels"
        );
    }

    const ELLIPSIS: Spec = Spec {
        subscripts: "...i,i...->...",
        labels: b"i",
        inputs: &[
            Term {
                text: "...i",
                labels: &[0],
                ellipsis: Some(0),
            },
            Term {
                text: "i...",
                labels: &[0],
                ellipsis: Some(1),
            },
        ],
        output: Term {
            text: "...",
            labels: &[],
            ellipsis: Some(0),
        },
    };

    #[test]
    fn ellipsis_broadcasts_right_aligned() {
        let (shape, axes) = run(&ELLIPSIS, [&zeros(&[5, 1, 2]), &zeros(&[2, 3])], &[]).unwrap();
        assert_eq!(shape, [5, 3]);
        assert_eq!(axes[0], (2, [1, 3], true));
        // Frame dim 0 only operand 0 has; frame dim 1 is 1 in operand 0.
        assert_eq!(axes[1], (5, [2, 0], false));
        assert_eq!(axes[2], (3, [0, 1], false));
        let e = run(&ELLIPSIS, [&zeros(&[4, 2]), &zeros(&[2, 3])], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "einsum \"...i,i...->...\": `...` dimension 0 has size 4 in operand 0 (axis 0) but 3 \
             in operand 1 (axis 1), which cannot be broadcast together"
        );
    }

    #[test]
    fn operands_of_more_than_max_axes_are_refused() {
        const LONG: Spec = Spec {
            subscripts: "i...",
            labels: b"i",
            inputs: &[Term {
                text: "i...",
                labels: &[0],
                ellipsis: Some(1),
            }],
            output: Term {
                text: "",
                labels: &[],
                ellipsis: None,
            },
        };
        let a = zeros(&[1; MAX_AXES + 1]);
        let e = run(&LONG, [&a], &[]).unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::TooManyAxes {
                operand: Some(0),
                axes: MAX_AXES + 1,
                max: MAX_AXES
            }
        );
    }

    #[test]
    fn diagonal_needs_equal_sizes() {
        const TRACE: Spec = Spec {
            subscripts: "ii->i",
            labels: b"i",
            inputs: &[Term {
                text: "ii",
                labels: &[0, 0],
                ellipsis: None,
            }],
            output: Term {
                text: "i",
                labels: &[0],
                ellipsis: None,
            },
        };
        let (_, axes) = run(&TRACE, [&zeros(&[3, 3])], &[]).unwrap();
        assert_eq!(axes[0], (3, [4], false));
        let e = run(&TRACE, [&zeros(&[1, 3])], &[]).unwrap_err();
        assert!(matches!(
            e.kind(),
            ErrorKind::DiagonalSize { label: 'i', .. }
        ));
    }
}
