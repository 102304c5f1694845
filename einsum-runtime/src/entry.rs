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

/// The room for loop axes of a call built in this crate whose call site
/// has at most this many (its labels, without a `...`); others have
/// [`MAX_AXES`](crate::MAX_AXES). Room costs time on every call: the tables are set up and
/// moved whole.
pub(crate) const NARROW_AXES: usize = 8;

/// Loop nests of up to this many operands are built for each instruction
/// set (`kernel::nest`); those of more, in the baseline build alone. A nest
/// of many operands is rare (a pairwise order takes most such calls) and
/// its builds would be a large part of this crate's.
pub(crate) const NEST_BUILDS_OPERANDS: usize = 4;

/// Allocates a call's result: given the output's shape, the first element's
/// address, with the strides written into the second argument (one per
/// axis), or `None` when the memory is refused.
pub type Alloc<'a, T> = dyn FnMut(&[usize], &mut [isize]) -> Option<*mut T> + 'a;

/// Where a call's result goes.
pub enum Dest<'a, T> {
    /// A new array: called once, with the output's shape, after every
    /// check; gives the first element's address and writes the strides
    /// (one per output axis) into its second argument, or gives `None` when
    /// the memory is refused. The address and strides must address a
    /// distinct element valid for writes for every index within the shape.
    New(&'a mut Alloc<'a, T>),
    /// An existing output of this shape and these strides, whose first
    /// element is at `ptr`: distinct elements, valid for writes, not
    /// overlapping any operand.
    Into {
        /// The first element.
        ptr: *mut T,
        /// The output's shape.
        shape: &'a [usize],
        /// The output's strides.
        strides: &'a [isize],
    },
}

/// What a call site gives besides its operands and its output: its
/// constant [`Spec`], the sizes bound with `; label = size`, and its plan
/// cache.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    spec: &'a Spec,
    fixed: &'a [(u8, usize)],
    cache: Option<&'a PlanCache>,
}

/// Checks, when compiled, that `T` and `U` have one size and alignment.
#[inline(always)]
pub(crate) fn assert_twins<T, U>() {
    const {
        assert!(core::mem::size_of::<T>() == core::mem::size_of::<U>());
        assert!(core::mem::align_of::<T>() == core::mem::align_of::<U>());
    }
}

/// Runs `f` on a call's operands and destination of `T` seen as `U`: the
/// same memory, read and written in place.
///
/// # Safety
/// `T` and `U` have one size and alignment (checked when compiled), every
/// bit pattern is valid in both, and `f` computes each `U` result from `U`
/// operands with the bits that `T`'s arithmetic gives from `T` operands.
#[inline(always)]
pub(crate) unsafe fn as_twin<'a, T, U: 'static, const K: usize, R>(
    ops: [RawOperand<'a, T>; K],
    dest: Dest<'_, T>,
    f: impl for<'d> FnOnce([RawOperand<'a, U>; K], Dest<'d, U>) -> R,
) -> R {
    assert_twins::<T, U>();
    // SAFETY: one size and alignment, and any bits valid in both (caller).
    let ops = ops.map(|op| unsafe { op.cast::<U>() });
    match dest {
        Dest::New(alloc) => {
            let mut twin = |shape: &[usize], strides: &mut [isize]| {
                alloc(shape, strides).map(|p| p.cast::<U>())
            };
            f(ops, Dest::New(&mut twin))
        }
        Dest::Into {
            ptr,
            shape,
            strides,
        } => f(
            ops,
            Dest::Into {
                ptr: ptr.cast::<U>(),
                shape,
                strides,
            },
        ),
    }
}

/// One call, from the operands to the result in `dest`: every check
/// first, then the computation. `N` is the layout's room for loop axes.
///
/// Built in this crate for every element type but `i128` and `u128`, up
/// to `Sealed::RUNS` operands of it (the `Sealed` methods of `scalar`,
/// with `N` = [`NARROW_AXES`] or [`MAX_AXES`](crate::MAX_AXES)), so that a
/// crate calling `einsum!` links it instead of compiling it again.
///
/// # Safety
/// `dest` is as [`Dest`] says.
pub(crate) unsafe fn run_here<T: Scalar, const K: usize, const N: usize>(
    call: Call<'_>,
    ops: [RawOperand<'_, T>; K],
    dest: Dest<'_, T>,
) -> Result<(), EinsumError> {
    let Call { spec, fixed, cache } = call;
    let mut layout = resolve::<T, K, N>(spec, &ops, fixed)?;
    let (ptr, order) = match dest {
        Dest::New(alloc) => {
            check_allocation::<T>(spec.subscripts, layout.out_shape())?;
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
            // (Element by element: a slice comparison is a call of the C
            // library's `memcmp`, a tenth of a small call's time.)
            let want = layout.out_shape();
            if shape.len() != want.len() || shape.iter().zip(want).any(|(a, b)| a != b) {
                return Err(EinsumError::new(
                    spec.subscripts,
                    ErrorKind::OutputShape {
                        expected: layout.out_shape().to_vec(),
                        found: shape.to_vec(),
                    },
                ));
            }
            let order = choose(&layout, cache);
            layout.set_out_strides(strides);
            (ptr, order)
        }
    };
    // SAFETY: the output's elements are distinct, valid for writes and
    // apart from the operands (`dest`, caller), with the layout's output
    // shape and the strides given to it.
    unsafe { compute(spec, &mut layout, &ops, ptr, order.as_ref()) }
}

/// [`run_here`] for `K` operands: the build in this crate for `T` when
/// there is one, else the caller's.
///
/// # Safety
/// As [`run_here`].
#[inline(always)]
unsafe fn run<T: Scalar, const K: usize, const N: usize>(
    call: Call<'_>,
    ops: [RawOperand<'_, T>; K],
    dest: Dest<'_, T>,
) -> Result<(), EinsumError> {
    /// The same operands, as the array type of an arm where `J == K`.
    #[inline(always)]
    fn exact<U: Copy, const K: usize, const J: usize>(ops: [U; K]) -> [U; J] {
        assert!(J == K);
        // SAFETY: `[U; J]` is `[U; K]` (asserted), and `U` is `Copy`.
        unsafe { ops.as_ptr().cast::<[U; J]>().read() }
    }
    let wide = const { N > NARROW_AXES };
    // Each condition a constant of the instance (`const`), so that the
    // compiler instantiates only the branch taken: the others would be
    // compiled in the caller's crate too, dead code included.
    // SAFETY (each branch): the caller's promise; `exact` is called with
    // `J == K`.
    unsafe {
        if const { K > T::RUNS } {
            run_here::<T, K, N>(call, ops, dest)
        } else if const { K == 1 } {
            T::run1(call, exact(ops), dest, wide)
        } else if const { K == 2 } {
            T::run2(call, exact(ops), dest, wide)
        } else if const { K == 3 } {
            T::run3(call, exact(ops), dest, wide)
        } else if const { K == 4 } {
            T::run4(call, exact(ops), dest, wide)
        } else if const { K == 5 } {
            T::run5(call, exact(ops), dest, wide)
        } else {
            T::run6(call, exact(ops), dest, wide)
        }
    }
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
    // SAFETY: `new_result` gives an allocator of fresh arrays, as
    // `Dest::New` needs.
    let call = Call { spec, fixed, cache };
    new_result(&mut |alloc| unsafe { run::<T, K, N>(call, ops, Dest::New(alloc)) })
}

/// A new array of dimension `D`, allocated by `run` (through the allocator
/// it is given, once, after every check) and written by it: the part of
/// [`einsum_owned`] that depends on `T` and `D` alone, built once for each
/// pair rather than for each call's operand count and room.
#[inline(never)]
fn new_result<T: Scalar, D: Dimension>(
    run: &mut dyn FnMut(&mut Alloc<'_, T>) -> Result<(), EinsumError>,
) -> Result<Array<T, D>, EinsumError> {
    let mut made: Option<Array<MaybeUninit<T>, D>> = None;
    let mut alloc = |shape: &[usize], strides: &mut [isize]| {
        // Not zeroed first: the kernel writes every element once anyway.
        let mut out = huge::uninit::<T, D>(shape)?;
        strides.copy_from_slice(out.strides());
        let ptr = out.as_mut_ptr().cast::<T>();
        // Moving the array keeps its elements where they are.
        made = Some(out);
        Some(ptr)
    };
    run(&mut alloc)?;
    let out = made.expect("einsum: a result without its array");
    // SAFETY: `alloc` gave a fresh array of exactly the shape asked for,
    // with its own strides; nothing else can see it. `MaybeUninit<T>` has
    // `T`'s layout, and writing a `T` needs no prior value. Every kernel
    // writes every output element before returning (the nest's map, reduce
    // and accumulate shapes, the empty sum, the GEMM kernels, whose first K
    // block overwrites); the output of an empty axis has no element. On an
    // error, `run` returned before any kernel ran and this is not reached.
    Ok(unsafe { out.assume_init() })
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
    let mut out = T::zero();
    let dest = Dest::Into {
        ptr: &mut out,
        shape: &[],
        strides: &[],
    };
    // SAFETY: the output has no axes, so its only element is `out`, a local
    // the operands cannot overlap.
    let call = Call { spec, fixed, cache };
    unsafe { run::<T, K, N>(call, ops, dest) }?;
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
    let ptr = out.as_mut_ptr();
    let dest = Dest::Into {
        ptr,
        shape: out.shape(),
        strides: out.strides(),
    };
    // SAFETY: the elements of a `&mut ArrayRef` are distinct and valid for
    // writes at its shape and strides, and its unique borrow keeps every
    // operand from overlapping it. On an error nothing has been written.
    let call = Call { spec, fixed, cache };
    unsafe { run::<T, K, N>(call, ops, dest) }
}
