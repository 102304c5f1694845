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
use crate::desc::{Call, Dest, Reduce, Scale, WindowProduct};
use crate::element::{AddProduct, AddTile, Kernels, Many, Scaled};
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

/// Adds the call's result into a window view (`Dest::Windows`): two
/// operands summed as a matrix product row by row ([`scatter_product`]),
/// anything else a tile at a time ([`scatter_tiles`]).
///
/// # Safety
/// As [`compute`] with `scale`, whose `beta` is one, except that `out`'s
/// elements may repeat: every index of the output addresses an element
/// valid for reads and writes, apart from the operands.
unsafe fn scatter<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    ops: &[RawOperand<'_, ()>],
    out: *mut (),
    kernels: &Kernels,
    many: Option<(Many<K>, Option<Scaled<K>>)>,
    scale: Option<Scale>,
) -> Result<(), EinsumError> {
    let scale = scale.expect("einsum: a window destination adds, with beta one");
    let (add_tile, add_product) = kernels
        .windows
        .expect("einsum: the kernels adding into windows");
    if layout.out_shape().contains(&0) {
        return Ok(());
    }
    let product = (K == 2 && scale.reduce == Reduce::Sum)
        .then(|| read_product(layout))
        .flatten();
    // SAFETY (both): the caller's promise, with the kernels' own.
    unsafe {
        match product {
            Some(product) => scatter_product(layout, ops, out, &product, scale, add_product),
            None => scatter_tiles(layout, ops, out, kernels, many, scale, add_tile),
        }
    }
    Ok(())
}

/// Whether no two indices of the output axis `id` share an element: its
/// stride reaches past every element the other output axes address from
/// one index of it (a batch's images, each with its windows).
fn disjoint<const K: usize>(axes: &[Axis<K>], id: usize) -> bool {
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
}

/// Whether the call is work enough to spread over the pool.
fn parallel<const K: usize, const N: usize>(layout: &Layout<K, N>) -> bool {
    pool_threads() > 1 && layout.points() >= tuning::current().parallel_min_work as u128
}

/// A two-operand sum read as a matrix product (`WindowProduct`), each
/// axis with its id in the layout: A is the operand `a`.
struct ProductAxes {
    a: usize,
    rows: [(usize, isize, isize); MAX_AXES],
    row_ids: [usize; MAX_AXES],
    rank: usize,
    sums: [(usize, isize, isize); MAX_AXES],
    sum_count: usize,
    cols: [(usize, isize, isize); MAX_AXES],
    col_count: usize,
}

/// The call as a matrix product, when it is one: every summed axis in both
/// operands, every output axis in exactly one (rows in A, the operand with
/// more output elements; columns in B). Axes of one index are left out.
fn read_product<const K: usize, const N: usize>(layout: &Layout<K, N>) -> Option<ProductAxes> {
    let present = layout.present();
    let mut own = [[(0usize, 0isize, 0isize); MAX_AXES]; 2];
    let mut own_ids = [[0usize; MAX_AXES]; 2];
    let mut counts = [0usize; 2];
    let mut sums = [(0usize, 0isize, 0isize); MAX_AXES];
    let mut sum_count = 0;
    for (id, axis) in layout.axes().iter().enumerate() {
        if axis.size == 1 {
            continue;
        }
        let has = |k: usize| present[k] >> id & 1 == 1;
        match (axis.summed, has(0), has(1)) {
            (true, true, true) => {
                sums[sum_count] = (axis.size, axis.strides[0], axis.strides[1]);
                sum_count += 1;
            }
            (false, true, false) | (false, false, true) => {
                let k = usize::from(has(1));
                own[k][counts[k]] = (axis.size, axis.out, axis.strides[k]);
                own_ids[k][counts[k]] = id;
                counts[k] += 1;
            }
            _ => return None,
        }
    }
    let elements = |k: usize| own[k][..counts[k]].iter().map(|l| l.0).product::<usize>();
    let a = usize::from(elements(1) > elements(0));
    let b = 1 - a;
    // The summed axes' strides in A first.
    if a == 1 {
        for s in &mut sums[..sum_count] {
            *s = (s.0, s.2, s.1);
        }
    }
    Some(ProductAxes {
        a,
        rows: own[a],
        row_ids: own_ids[a],
        rank: counts[a],
        sums,
        sum_count,
        cols: own[b],
        col_count: counts[b],
    })
}

/// [`scatter`] of a matrix product: the rows added one after another
/// ([`kernel::add_product`]); the rows' indices along the axis of the
/// largest stride in the windows spread over the pool when they address
/// disjoint elements, each with its rows in order. So the sums are the
/// same for any number of threads.
///
/// # Safety
/// As [`scatter`], `product` read from `layout`, `add_product` the
/// kernels' own.
unsafe fn scatter_product<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    ops: &[RawOperand<'_, ()>],
    out: *mut (),
    product: &ProductAxes,
    scale: Scale,
    add_product: AddProduct,
) {
    let p = product;
    let (a, b) = (ops[p.a].ptr(), ops[1 - p.a].ptr());
    let rows = &p.rows[..p.rank];
    // The row axis of the largest stride in the windows: a batch's images.
    let split = (0..p.rank)
        .max_by_key(|&r| rows[r].1.unsigned_abs())
        .filter(|&r| disjoint(layout.axes(), p.row_ids[r]) && parallel(layout));
    let whole = WindowProduct {
        rows,
        sums: &p.sums[..p.sum_count],
        cols: &p.cols[..p.col_count],
        split,
    };
    // SAFETY: the caller's promise; `split`'s indices address disjoint
    // elements (`disjoint`).
    unsafe { add_product(&whole, a, b, out, scale.alpha) }
}

/// [`scatter`] of any sum, a tile at a time: each step computes the result
/// over a block of output indices into this thread's tile memory,
/// contiguous, where its elements are distinct (the ordinary kernels,
/// `alpha` applied), then adds the block into the windows, where elements
/// repeat, in order ([`kernel::add_tile`]). The steps go over the output axes of the largest
/// strides in the windows first, one index at a time, the last of them in
/// pieces, so that a tile fills [`tuning::Thresholds::scatter_tile_bytes`].
/// The steps of one index of the outermost run in order on one thread;
/// when its indices address disjoint elements (a batch's images), they
/// spread over the pool. So the sums are the same for any number of
/// threads.
///
/// # Safety
/// As [`scatter`], `add_tile` the kernels' own.
unsafe fn scatter_tiles<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    ops: &[RawOperand<'_, ()>],
    out: *mut (),
    kernels: &Kernels,
    many: Option<(Many<K>, Option<Scaled<K>>)>,
    scale: Scale,
    add_tile: AddTile,
) {
    /// The zero a tile's `beta` points to: zero bytes are every element
    /// type's zero, of at most 16 bytes (`Pod`).
    static ZERO: u128 = 0;
    debug_assert!(kernels.size <= core::mem::size_of_val(&ZERO));
    let tile_scale = Scale {
        beta: (&raw const ZERO).cast(),
        ..scale
    };
    let (axes, ids, shape) = (layout.axes(), layout.out_ids(), layout.out_shape());
    let rank = ids.len();
    let window_stride = |w: usize| axes[usize::from(ids[w])].out.unsigned_abs();
    // The output positions, largest stride in the windows first.
    let mut by_stride = [0usize; MAX_AXES];
    for (w, slot) in by_stride[..rank].iter_mut().enumerate() {
        *slot = w;
    }
    let by_stride = &mut by_stride[..rank];
    by_stride.sort_unstable_by_key(|&w| core::cmp::Reverse((window_stride(w), w)));
    // Stepped: the first `whole` positions one index at a time, the next
    // in pieces of `piece` indices, until the rest fits the budget.
    let limits = tuning::current();
    let budget = (limits.scatter_tile_bytes / kernels.size).max(1);
    let mut tile = shape.iter().fold(1usize, |n, &d| n.saturating_mul(d));
    let (mut whole, mut piece) = (0, None);
    while tile > budget && whole < rank {
        let size = shape[by_stride[whole]];
        let rest = tile / size;
        if rest <= budget {
            // (`tile > budget` keeps the piece shorter than the axis.)
            piece = Some(budget / rest);
            break;
        }
        whole += 1;
        tile = rest;
    }
    // Each stepped position's length per step, and its number of steps.
    let stepped = &by_stride[..whole + usize::from(piece.is_some())];
    let mut len = [0usize; MAX_AXES];
    let mut counts = [0usize; MAX_AXES];
    let mut tile_shape = [0usize; MAX_AXES];
    tile_shape[..rank].copy_from_slice(shape);
    for (j, &w) in stepped.iter().enumerate() {
        len[j] = if j < whole { 1 } else { piece.unwrap_or(1) };
        counts[j] = shape[w].div_ceil(len[j]);
        tile_shape[w] = len[j];
    }
    let tile_bytes = tile_shape[..rank].iter().product::<usize>() * kernels.size;
    let mut window_strides = [0isize; MAX_AXES];
    for (s, &id) in window_strides.iter_mut().zip(ids) {
        *s = axes[usize::from(id)].out;
    }
    let steps = counts[..stepped.len()].iter().product::<usize>();
    let size = kernels.size as isize;
    let at =
        |p: *const (), offset: isize| p.cast::<u8>().wrapping_offset(offset * size).cast::<()>();
    let count = layout.count();
    let (ptrs, out) = (SendPtr(pointers::<K>(ops)), SendPtr(out.cast_const()));
    let step = |step: usize, tile: *mut ()| {
        let mut table = [Axis::<K>::EMPTY; N];
        table[..axes.len()].copy_from_slice(axes);
        let mut shape = tile_shape;
        let (mut p, mut o) = (ptrs.get(), out.get());
        let mut rest = step;
        for (j, &w) in stepped.iter().enumerate().rev() {
            let id = usize::from(ids[w]);
            let axis = axes[id];
            let start = rest % counts[j] * len[j];
            rest /= counts[j];
            let n = len[j].min(axis.size - start);
            (table[id].size, shape[w]) = (n, n);
            for (p, &s) in p.iter_mut().zip(&axis.strides) {
                *p = at(*p, (start as isize).wrapping_mul(s));
            }
            o = at(o, (start as isize).wrapping_mul(axis.out));
        }
        // The tile row-major over the block, the last piece's too.
        let mut next = 1isize;
        for (&id, &n) in ids.iter().zip(&shape[..rank]).rev() {
            table[usize::from(id)].out = next;
            next *= n as isize;
        }
        let table = &mut table[..axes.len()];
        // SAFETY: the step's points are the caller's over a block of the
        // output's indices; the tile holds the block's elements, distinct at
        // its row-major strides, apart from the operands (the tile memory's
        // own); the kernels write `alpha` times the result there, `beta`
        // zero. Then each index of the block addresses an element of the
        // windows, valid for reads and writes (caller), and the tile holds
        // the block's elements in row-major order.
        unsafe {
            if const { K <= 2 } {
                kernel::contract(kernels, table, p, tile, Some(tile_scale));
            } else {
                let (_, scaled) = many.expect("einsum: the nest of three or more operands");
                let scaled = scaled.expect("einsum: kernels of alpha and beta");
                scaled(table, p, count, tile, tile_scale);
            }
            add_tile(
                &shape[..rank],
                &window_strides[..rank],
                o.cast_mut(),
                tile.cast_const(),
            );
        }
    };
    // The indices of the outermost stepped position over the pool, each
    // with its steps, when no two of them share an element: its stride
    // reaches past every element the other axes address from one index.
    let outer = (whole > 0).then(|| usize::from(ids[by_stride[0]]));
    match outer {
        Some(id) if disjoint(axes, id) && parallel(layout) => {
            let per_index = steps / axes[id].size;
            // Distinct indices add into distinct elements; each index's
            // steps run in order on one thread, into its own tile.
            for_each_task(axes[id].size, &|i| {
                kernel::with_tile(tile_bytes, |tile| {
                    (i * per_index..(i + 1) * per_index).for_each(|s| step(s, tile))
                })
            });
        }
        _ => kernel::with_tile(tile_bytes, |tile| (0..steps).for_each(|s| step(s, tile))),
    }
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
        } => {
            check_shape(spec, &layout, shape)?;
            check_work(spec, &layout)?;
            layout.set_out_strides(strides);
            // SAFETY: at each index of the window axes, the others address
            // distinct elements, valid for reads and writes and apart from
            // the operands (`dest`, caller).
            return unsafe { scatter(&layout, ops, ptr, kernels, many, scale) };
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
