//! The functions the macro's expansion calls: check, then compute.
//!
//! Each takes the call site's constant [`Spec`], the operands as
//! [`RawOperand`]s (one element type for all, so a mismatch is a type error at
//! the call site), and the fixed sizes bound with `; label = size`.
//! Every check runs before the first write, so an error leaves the output
//! untouched.
//!
//! They are not inlined: the call site keeps just its own small-work loops
//! and one call, whose cost is nothing next to the work that takes it.

use core::mem::MaybeUninit;

use ndarray::{Array, ArrayRef, Dimension};

use crate::error::{EinsumError, ErrorKind};
use crate::huge;
use crate::kernel;
use crate::operand::RawOperand;
use crate::pairwise;
use crate::path::{self, Order, Plan, PlanCache};
use crate::resolve::{resolve, Layout, MAX_WORK};
use crate::scalar::Scalar;
use crate::spec::Spec;

fn pointers<T, const K: usize>(ops: &[RawOperand<'_, T>; K]) -> [*const T; K] {
    core::array::from_fn(|k| ops[k].ptr())
}

/// The pairwise order of a call of three or more operands, if one beats the
/// one loop nest (none when an axis is empty: nothing to contract).
fn choose<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    cache: Option<&PlanCache>,
) -> Option<Order> {
    let cache = cache?;
    if !(3..=path::PAIRWISE_MAX).contains(&K) || layout.axes().iter().any(|a| a.size == 0) {
        return None;
    }
    let (sizes, masks, out_mask) = order_inputs(layout);
    let order = cache.order(&sizes[..layout.axes().len()], masks, out_mask);
    order.pairwise().then_some(order)
}

/// Refuses a loop nest with more points than an `isize` counts: work that
/// could never finish, and whose counts would overflow in the kernels.
fn check_work<const K: usize, const N: usize>(
    spec: &Spec,
    layout: &Layout<K, N>,
) -> Result<(), EinsumError> {
    if layout.points() <= MAX_WORK {
        return Ok(());
    }
    let axes = layout.axes();
    let l = spec.labels.len();
    Err(EinsumError::new(
        spec.subscripts,
        ErrorKind::WorkTooLarge {
            labels: (0..l)
                .map(|id| (spec.label_char(id as u8), axes[id].size))
                .collect(),
            ellipsis: axes[l..].iter().map(|a| a.size).collect(),
        },
    ))
}

/// Runs the call over `layout` into `out`, whose strides are the layout's:
/// pairwise in `order` when given and its steps and intermediates fit, else
/// as one loop nest, unless that is more work than [`check_work`] allows,
/// which is an error returned before anything is written.
///
/// # Safety
/// `out` must address, for every index within `layout.out_shape()`, a distinct
/// element valid for writes under the strides given to
/// `layout.set_out_strides`, not overlapping any operand.
unsafe fn compute<T: Scalar, const K: usize, const N: usize>(
    spec: &Spec,
    layout: &mut Layout<K, N>,
    ops: &[RawOperand<'_, T>; K],
    out: *mut T,
    order: Option<&Order>,
) -> Result<(), EinsumError> {
    if let Some(order) = order {
        // SAFETY: as below; `pairwise::run` reads the operands within
        // their shapes, writes each output element, and keeps its
        // intermediates in a buffer of its own.
        if unsafe { pairwise::run(layout, pointers(ops), order, out) } {
            return Ok(());
        }
    }
    check_work(spec, layout)?;
    // SAFETY: `resolve` built the layout from the operands' own shapes and
    // strides (each operand's index range within its shape, broadcast axes
    // at stride 0, diagonals only over equal lengths), and the caller vouches
    // for the output.
    unsafe { kernel::contract(layout.axes_mut(), pointers(ops), out) };
    Ok(())
}

/// What an order is chosen from: each axis's size, each operand's axes and
/// the output's, as masks over axis ids.
fn order_inputs<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
) -> ([usize; N], &[u64; K], u64) {
    let mut sizes = [0usize; N];
    for (s, a) in sizes.iter_mut().zip(layout.axes()) {
        *s = a.size;
    }
    let out = layout.out_ids().iter().fold(0u64, |m, &id| m | 1 << id);
    (sizes, layout.present(), out)
}

/// `einsum_path!`: the order the call would run in, with its costs.
///
/// `N` as for [`einsum_owned`].
#[inline(never)]
pub fn einsum_path<T: Scalar, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
) -> Result<Plan, EinsumError> {
    let layout = resolve::<T, K, N>(spec, &ops, fixed)?;
    let (sizes, masks, out) = order_inputs(&layout);
    let sizes = &sizes[..layout.axes().len()];
    let pairwise = (3..=path::PAIRWISE_MAX).contains(&K) && sizes.iter().all(|&s| s > 0);
    let order = if pairwise {
        path::order(sizes, masks, out)
    } else {
        path::nest_only(sizes, masks, out)
    };
    Ok(Plan::describe(
        spec,
        &order,
        sizes,
        masks,
        out,
        layout.out_ids(),
    ))
}

/// Refuses shapes whose element count or byte size overflows `isize`, which
/// ndarray would panic on.
fn check_allocation<T>(subscripts: &'static str, shape: &[usize]) -> Result<(), EinsumError> {
    let elems = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize);
    let bytes = elems.and_then(|n| n.checked_mul(core::mem::size_of::<T>().max(1)));
    match bytes {
        Some(b) if b <= isize::MAX as usize => Ok(()),
        _ => Err(too_large(subscripts, shape)),
    }
}

fn too_large(subscripts: &'static str, shape: &[usize]) -> EinsumError {
    EinsumError::new(
        subscripts,
        ErrorKind::OutputTooLarge {
            shape: shape.to_vec(),
        },
    )
}

/// `einsum!` and `try_einsum!` with an array result of dimension `D`.
///
/// `N` is the room for loop axes: the number of labels, or
/// [`MAX_AXES`](crate::MAX_AXES) when a term has a `...`.
#[inline(never)]
pub fn einsum_owned<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&PlanCache>,
) -> Result<Array<T, D>, EinsumError> {
    let mut layout = resolve::<T, K, N>(spec, &ops, fixed)?;
    check_allocation::<T>(spec.subscripts, layout.out_shape())?;
    let order = choose(&layout, cache);
    if order.is_none() {
        // Before the result is allocated.
        check_work(spec, &layout)?;
    }
    // Not zeroed first: the kernel writes every element once anyway.
    let mut out: Array<MaybeUninit<T>, D> = huge::uninit(layout.out_shape())
        .ok_or_else(|| too_large(spec.subscripts, layout.out_shape()))?;
    layout.set_out_strides(out.strides());
    let ptr = out.as_mut_ptr().cast::<T>();
    // SAFETY: `out` is a fresh array of exactly the layout's output shape and
    // its strides were given to the layout; nothing else can see it.
    // `MaybeUninit<T>` has `T`'s layout, and writing a `T` needs no prior
    // value.
    unsafe { compute(spec, &mut layout, &ops, ptr, order.as_ref()) }?;
    // SAFETY: every kernel writes every output element before returning (the
    // nest's map, reduce and accumulate shapes, the empty sum, the GEMM
    // kernels, whose first K block overwrites); the output of an empty axis
    // has no element. On an error, `compute` returned before any kernel ran
    // and this is not reached.
    let out: Array<T, D> = unsafe { out.assume_init() };
    Ok(out)
}

/// `einsum!` and `try_einsum!` with a scalar result (no output axis).
///
/// `N` as for [`einsum_owned`].
#[inline(never)]
pub fn einsum_scalar<T: Scalar, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&PlanCache>,
) -> Result<T, EinsumError> {
    let mut layout = resolve::<T, K, N>(spec, &ops, fixed)?;
    debug_assert!(layout.out_shape().is_empty());
    let order = choose(&layout, cache);
    let mut out = T::zero();
    // SAFETY: the output has no axes, so its only element is `out`, a local
    // the operands cannot overlap.
    unsafe { compute(spec, &mut layout, &ops, &mut out, order.as_ref()) }?;
    Ok(out)
}

/// `einsum_into!` and `try_einsum_into!`: overwrites `out`, allocating
/// nothing, or returns an error and leaves `out` untouched.
///
/// `N` as for [`einsum_owned`].
#[inline(never)]
pub fn einsum_into<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    out: &mut ArrayRef<T, D>,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&PlanCache>,
) -> Result<(), EinsumError> {
    let mut layout = resolve::<T, K, N>(spec, &ops, fixed)?;
    if out.shape() != layout.out_shape() {
        return Err(EinsumError::new(
            spec.subscripts,
            ErrorKind::OutputShape {
                expected: layout.out_shape().to_vec(),
                found: out.shape().to_vec(),
            },
        ));
    }
    let order = choose(&layout, cache);
    layout.set_out_strides(out.strides());
    let ptr = out.as_mut_ptr();
    // SAFETY: `out` has the layout's output shape (checked above) and gave
    // it its strides; the elements of a `&mut ArrayRef` are distinct and
    // valid for writes, and its unique borrow keeps every operand from
    // overlapping it. On an error nothing has been written.
    unsafe { compute(spec, &mut layout, &ops, ptr, order.as_ref()) }
}
