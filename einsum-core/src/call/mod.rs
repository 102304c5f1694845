//! One call, from its operands to its result: check the shapes
//! ([`resolve`]), choose a contraction order ([`crate::order`]), and run
//! it pairwise ([`pairwise`]) or as one loop nest ([`crate::kernel`]).
//!
//! Every check runs before the first write, so an error leaves the output
//! untouched. The element type is erased here: operands are shapes,
//! strides and untyped pointers, handed to the type's kernels
//! ([`Kernels`]), so one build of this layer serves every type.

mod pairwise;
mod resolve;

use crate::axes::Axis;
use crate::desc::{Call, Dest, Reduce, Scale};
use crate::element::{Kernels, Many, Scaled};
use crate::error::{EinsumError, ErrorKind};
use crate::kernel;
use crate::kernel::pool::{for_each_task, pool_threads, SendPtr};
use crate::limits::{MANY_OPERANDS, MAX_AXES, MAX_WORK, SMALL_TABLE};
use crate::operand::RawOperand;
use crate::order::{self, Order, OrderCache, Plan};
use crate::spec::Spec;
use crate::tuning;
use resolve::{resolve, Layout};

/// The operands' first elements, in room for `K`: the ones past the
/// call's operands repeat the first, and are never read.
fn pointers<const K: usize>(ops: &[RawOperand<'_, ()>]) -> [*const (); K] {
    let mut ptrs = [ops[0].ptr(); K];
    for (p, op) in ptrs.iter_mut().zip(ops) {
        *p = op.ptr();
    }
    ptrs
}

/// The pairwise order of a call of three or more operands, if one beats the
/// one loop nest (none when an axis is empty: nothing to contract).
fn choose<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    cache: Option<&OrderCache>,
) -> Option<Order> {
    let cache = cache?;
    let count = layout.count();
    if !(3..=order::PAIRWISE_MAX).contains(&count) || layout.axes().iter().any(|a| a.size == 0) {
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
    Err(EinsumError::call(
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
/// which is an error returned before anything is written: checked here
/// when `order` is given, and when it is not by the caller, before it
/// allocates a result or writes anything. On `Ok` every output element has
/// been written: the last pairwise step and the nest each write all of
/// theirs ([`kernel::contract`]).
///
/// # Safety
/// The operands and `out` address elements of the type `kernels` was made
/// for, and `many` is its nest for `K` operands when `K` is three or more,
/// with its scaled nest when the call has `scale`.
/// `out` must address, for every index within `layout.out_shape()`, a distinct
/// element valid for writes under the strides given to
/// `layout.set_out_strides`, not overlapping any operand. With `scale`,
/// the result is blended into `out` (`out ← alpha·result + beta·out`, in
/// `kernels`' scaled kernels, which it then has), and the elements are
/// valid for reads too when `beta` is not zero.
#[allow(clippy::too_many_arguments)]
unsafe fn compute<const K: usize, const N: usize>(
    spec: &Spec,
    layout: &mut Layout<K, N>,
    ops: &[RawOperand<'_, ()>],
    out: *mut (),
    order: Option<&Order>,
    kernels: &Kernels,
    many: Option<(Many<K>, Option<Scaled<K>>)>,
    scale: Option<Scale>,
) -> Result<(), EinsumError> {
    let ptrs = pointers::<K>(ops);
    // (A constant condition, so that calls of one or two operands, which
    // are never ordered, do not instantiate the pairwise steps.)
    if const { K >= 3 } {
        if let Some(order) = order {
            // SAFETY: as below; `pairwise::contract_in_order` reads the
            // operands within their shapes, writes each output element, and
            // keeps its intermediates in a buffer of its own.
            if unsafe {
                pairwise::contract_in_order(layout, &ptrs[..ops.len()], order, out, kernels, scale)
            } {
                return Ok(());
            }
            // (Without an order, the caller checked.)
            check_work(spec, layout)?;
        }
    }
    let count = layout.count();
    let axes = layout.axes_mut();
    // SAFETY (both): `resolve` built the layout from the operands' own
    // shapes and strides (each operand's index range within its shape,
    // broadcast axes at stride 0, diagonals only over equal lengths), and
    // the caller vouches for the output and the element type.
    unsafe {
        if const { K <= 2 } {
            kernel::contract(kernels, axes, ptrs, out, scale);
        } else if let Some(scale) = scale {
            let (_, scaled) = many.expect("einsum: the nest of three or more operands");
            let scaled = scaled.expect("einsum: kernels of alpha and beta");
            scaled(axes, ptrs, count, out, scale);
        } else {
            let (many, _) = many.expect("einsum: the nest of three or more operands");
            many(axes, ptrs, count, out, false);
        }
    }
    Ok(())
}

/// What an order is chosen from: each axis's size, each operand's axes and
/// the output's, as masks over axis ids.
fn order_inputs<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
) -> ([usize; N], &[u64], u64) {
    let mut sizes = [0usize; N];
    for (s, a) in sizes.iter_mut().zip(layout.axes()) {
        *s = a.size;
    }
    let out = layout.out_ids().iter().fold(0u64, |m, &id| m | 1 << id);
    (sizes, layout.present(), out)
}

/// The order a call would run in, with its costs (`einsum_path!`).
pub(crate) fn plan<const K: usize, const N: usize>(
    spec: &Spec,
    ops: &[RawOperand<'_, ()>],
    fixed: &[(u8, usize)],
) -> Result<Plan, EinsumError> {
    let mut layout = Layout::<K, N>::EMPTY;
    resolve(spec, ops, fixed, &mut layout)?;
    let (sizes, masks, out) = order_inputs(&layout);
    let sizes = &sizes[..layout.axes().len()];
    let pairwise = (3..=order::PAIRWISE_MAX).contains(&K) && sizes.iter().all(|&s| s > 0);
    let order = if pairwise {
        order::order(sizes, masks, out)
    } else {
        order::nest_only(sizes, masks, out)
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

/// Refuses a max or min over an empty range of a summed label for an
/// output that has elements: it has no value.
fn check_reduction<const K: usize, const N: usize>(
    spec: &Spec,
    layout: &Layout<K, N>,
) -> Result<(), EinsumError> {
    let axes = layout.axes();
    if layout.out_shape().contains(&0) || !axes.iter().any(|a| a.summed && a.size == 0) {
        return Ok(());
    }
    let l = spec.labels.len();
    let labels = (0..axes.len())
        .filter(|&id| axes[id].summed && axes[id].size == 0)
        .map(|id| {
            if id < l {
                spec.label_char(id as u8)
            } else {
                '.'
            }
        })
        .collect();
    Err(EinsumError::call(
        spec.subscripts,
        ErrorKind::EmptyReduction { labels },
    ))
}

/// Refuses an output array whose shape is not the result's.
fn check_shape<const K: usize, const N: usize>(
    spec: &Spec,
    layout: &Layout<K, N>,
    shape: &[usize],
) -> Result<(), EinsumError> {
    // (Element by element: a slice comparison is a call of the C
    // library's `memcmp`, a tenth of a small call's time.)
    let want = layout.out_shape();
    if shape.len() != want.len() || shape.iter().zip(want).any(|(a, b)| a != b) {
        return Err(EinsumError::call(
            spec.subscripts,
            ErrorKind::OutputShape {
                expected: want.to_vec(),
                found: shape.to_vec(),
            },
        ));
    }
    Ok(())
}

/// Adds the call's result into a window view (`Dest::Windows`), one index
/// of its window axes (and of one other output axis) at a time: at each,
/// the other axes address distinct elements, so each step is a
/// contraction that adds into an output of distinct elements (split over
/// the pool as any other), and no two threads ever add into one element at
/// once. The steps run in a fixed order, so the sums are the same for the
/// same number of threads.
///
/// # Safety
/// As [`compute`] with `scale`, whose `beta` is one, except that `out`'s
/// elements repeat across the output axes `windows`; at any fixed index of
/// those, the others address distinct elements valid for reads and writes.
unsafe fn scatter<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    ops: &[RawOperand<'_, ()>],
    out: *mut (),
    windows: &[usize],
    kernels: &Kernels,
    many: Option<(Many<K>, Option<Scaled<K>>)>,
    scale: Option<Scale>,
) -> Result<(), EinsumError> {
    let scale = scale.expect("einsum: a window destination adds, with beta one");
    let ptrs = pointers::<K>(ops);
    let axes = layout.axes();
    let ids = layout.out_ids();
    // The steps go over the window axes inside the output axis of the
    // largest stride (a batch's images one by one), so that each image's
    // operands and output stay in cache over its window offsets.
    let outer = (0..ids.len())
        .filter(|w| !windows.contains(w))
        .max_by_key(|&w| axes[usize::from(ids[w])].out.unsigned_abs());
    let mut stepped = [0usize; MAX_AXES];
    let mut n = 0;
    for w in outer.into_iter().chain(windows.iter().copied()) {
        stepped[n] = usize::from(ids[w]);
        n += 1;
    }
    let stepped = &stepped[..n];
    let steps = stepped.iter().map(|&id| axes[id].size).product::<usize>();
    let size = kernels.size as isize;
    let at =
        |p: *const (), offset: isize| p.cast::<u8>().wrapping_offset(offset * size).cast::<()>();
    let count = layout.count();
    let (ptrs, out) = (SendPtr(ptrs), SendPtr(out.cast_const()));
    let step = |step: usize| {
        let mut table = [Axis::<K>::EMPTY; N];
        table[..axes.len()].copy_from_slice(axes);
        let (mut p, mut o) = (ptrs.get(), out.get());
        let mut rest = step;
        for &id in stepped.iter().rev() {
            let axis = axes[id];
            let i = (rest % axis.size) as isize;
            rest /= axis.size;
            table[id].size = 1;
            for (p, &s) in p.iter_mut().zip(&axis.strides) {
                *p = at(*p, i.wrapping_mul(s));
            }
            o = at(o, i.wrapping_mul(axis.out));
        }
        let table = &mut table[..axes.len()];
        let o = o.cast_mut();
        // SAFETY: this step's points are the caller's with the window axes
        // fixed, whose output elements are distinct (caller); the scaled
        // kernels add into them.
        unsafe {
            if const { K <= 2 } {
                kernel::contract(kernels, table, p, o, Some(scale));
            } else {
                let (_, scaled) = many.expect("einsum: the nest of three or more operands");
                let scaled = scaled.expect("einsum: kernels of alpha and beta");
                scaled(table, p, count, o, scale);
            }
        }
    };
    // The images over the pool, each with all its window offsets, when no
    // two of them share an element: the outer axis's stride reaches past
    // every element the other axes address from one index of it.
    let disjoint = outer.is_some_and(|w| {
        let id = usize::from(ids[w]);
        let span: usize = axes
            .iter()
            .enumerate()
            .filter(|&(other, a)| other != id && !a.summed)
            .map(|(_, a)| {
                a.size
                    .saturating_sub(1)
                    .saturating_mul(a.out.unsigned_abs())
            })
            .fold(0usize, usize::saturating_add);
        axes[id].out.unsigned_abs() > span
    });
    let limits = tuning::current();
    let parallel = pool_threads() > 1 && layout.points() >= limits.parallel_min_work as u128;
    match outer {
        Some(w) if disjoint && parallel => {
            let images = axes[usize::from(ids[w])].size;
            let per_image = steps / images.max(1);
            // Distinct images add into distinct elements; each image's
            // steps run in order on one thread.
            for_each_task(images, &|image| {
                (image * per_image..(image + 1) * per_image).for_each(step)
            });
        }
        _ => (0..steps).for_each(step),
    }
    Ok(())
}

/// Refuses shapes whose element count or byte size overflows `isize`, which
/// ndarray would panic on.
fn check_allocation(
    subscripts: &'static str,
    shape: &[usize],
    size: usize,
) -> Result<(), EinsumError> {
    let elems = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize);
    let bytes = elems.and_then(|n| n.checked_mul(size.max(1)));
    match bytes {
        Some(b) if b <= isize::MAX as usize => Ok(()),
        _ => Err(too_large(subscripts, shape)),
    }
}

fn too_large(subscripts: &'static str, shape: &[usize]) -> EinsumError {
    EinsumError::call(
        subscripts,
        ErrorKind::OutputTooLarge {
            shape: shape.to_vec(),
        },
    )
}

/// One call, from the operands to the result in `dest`: every check
/// first, then the computation. `N` is the layout's room for loop axes,
/// `K` for operands: `ops.len()`, or [`MANY_OPERANDS`] for any count from
/// three up to it. The element type is erased: `kernels` are its kernels,
/// and `many` its nest of three or more operands (with room for `K`), and
/// the scaled nest when the call has `alpha` or `beta`.
///
/// Built once in this crate for one operand, for two, and for three to
/// `MANY_OPERANDS` ([`evaluate1`], [`evaluate2`], [`evaluate_many`]), for
/// every element type, so that a crate calling `einsum!` links them instead
/// of compiling them again.
///
/// On `Ok`, every element of the output has been written (by
/// [`compute`]); on an error, none.
///
/// # Safety
/// `dest` is as [`Dest`] says; the operands and `dest` address elements of
/// the type `kernels` was made for, and `many` is that type's nest when
/// `K` is three or more.
pub(crate) unsafe fn evaluate<const K: usize, const N: usize>(
    call: Call<'_>,
    ops: &[RawOperand<'_, ()>],
    dest: Dest<'_, ()>,
    kernels: &Kernels,
    many: Option<(Many<K>, Option<Scaled<K>>)>,
) -> Result<(), EinsumError> {
    let Call {
        spec,
        fixed,
        cache,
        scale,
    } = call;
    let mut layout = Layout::<K, N>::EMPTY;
    resolve(spec, ops, fixed, &mut layout)?;
    // A max or min is one nest over every point: products reduced inside
    // one operand first would change it (with negative factors).
    let summing = scale.is_none_or(|s| s.reduce == Reduce::Sum);
    if !summing {
        check_reduction(spec, &layout)?;
    }
    let cache = cache.filter(|_| summing);
    let (ptr, order) = match dest {
        Dest::New(alloc) => {
            check_allocation(spec.subscripts, layout.out_shape(), kernels.size)?;
            let order = choose(&layout, cache);
            if order.is_none() {
                // Before the result is allocated.
                check_work(spec, &layout)?;
            }
            let rank = layout.out_shape().len();
            // Room for every output axis: at most `N`, the layout's.
            let mut strides = [0isize; N];
            let ptr = alloc(layout.out_shape(), &mut strides[..rank])
                .ok_or_else(|| too_large(spec.subscripts, layout.out_shape()))?;
            layout.set_out_strides(&strides[..rank]);
            (ptr, order)
        }
        Dest::Into {
            ptr,
            shape,
            strides,
        } => {
            check_shape(spec, &layout, shape)?;
            let order = choose(&layout, cache);
            if order.is_none() {
                check_work(spec, &layout)?;
            }
            layout.set_out_strides(strides);
            (ptr, order)
        }
        Dest::Windows {
            ptr,
            shape,
            strides,
            windows,
        } => {
            check_shape(spec, &layout, shape)?;
            check_work(spec, &layout)?;
            layout.set_out_strides(strides);
            // SAFETY: at each index of the window axes, the others address
            // distinct elements, valid for reads and writes and apart from
            // the operands (`dest`, caller).
            return unsafe { scatter(&layout, ops, ptr, windows, kernels, many, scale) };
        }
    };
    // SAFETY: the output's elements are distinct, valid for writes and
    // apart from the operands (`dest`, caller), with the layout's output
    // shape and the strides given to it.
    unsafe {
        compute(
            spec,
            &mut layout,
            ops,
            ptr,
            order.as_ref(),
            kernels,
            many,
            scale,
        )
    }
}

/// [`evaluate`]'s instances built in this crate, one non-generic function
/// each, so that a caller's crate links them whatever its element type.
macro_rules! instances {
    ($($(#[$doc:meta])* $name:ident: $k:expr, $many:expr;)*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        /// As [`evaluate`].
        pub(crate) unsafe fn $name(
            call: Call<'_>,
            ops: &[RawOperand<'_, ()>],
            dest: Dest<'_, ()>,
            kernels: &Kernels,
            large: bool,
        ) -> Result<(), EinsumError> {
            let many = $many(kernels);
            // SAFETY (both): the caller's promise; `many` is the type's own.
            if large {
                unsafe { evaluate::<{ $k }, MAX_AXES>(call, ops, dest, kernels, many) }
            } else {
                unsafe { evaluate::<{ $k }, SMALL_TABLE>(call, ops, dest, kernels, many) }
            }
        }
    )*};
}

instances! {
    /// [`evaluate`] for one operand, with tables of [`SMALL_TABLE`] loop
    /// axes, or [`MAX_AXES`] when `large`.
    evaluate1: 1, |_: &Kernels| None;
    /// As [`evaluate1`], for two operands.
    evaluate2: 2, |_: &Kernels| None;
    /// As [`evaluate1`], for three to [`MANY_OPERANDS`] operands: one
    /// instance for every such count.
    evaluate_many: MANY_OPERANDS, |k: &Kernels| k.many.map(|m| (m, k.scaled.map(|s| s.2)));
}
