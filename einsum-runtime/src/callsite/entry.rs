//! What the expansion calls for a call that is not left to its own loops:
//! the four forms' entry points, each a thin shell that describes the
//! output ([`Dest`]) and routes the call to the instance of
//! `einsum_core`'s `evaluate` prebuilt for its element type, or to one compiled
//! where it is called.
//!
//! They are not inlined: the call site keeps just its own small-work loops
//! and one call, whose cost is nothing next to the work that takes it.

use core::mem::MaybeUninit;

use ndarray::{Array, ArrayRef, Dimension};

use einsum_core::support::{evaluate, Alloc, Call, Dest};
use einsum_core::{EinsumError, OrderCache, RawOperand, Scalar, Spec};

use crate::alloc;

/// `einsum!` and `try_einsum!` with an array result of dimension `D`.
///
/// `N` is the room for loop axes: the number of labels, or
/// [`MAX_AXES`](crate::MAX_AXES) when a term has a `...`.
#[inline(never)]
pub fn einsum_owned<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
) -> Result<Array<T, D>, EinsumError> {
    // SAFETY: `new_result` gives an allocator of fresh arrays, as
    // `Dest::New` needs.
    let call = Call { spec, fixed, cache };
    new_result(&mut |alloc| unsafe { evaluate::<T, K, N>(call, ops, Dest::New(alloc)) })
}

/// A new array of dimension `D`, allocated by `evaluate` (through the
/// allocator it is given, once, after every check) and written by it: the
/// part of [`einsum_owned`] that depends on `T` and `D` alone, built once
/// for each pair rather than for each call's operand count and room.
///
/// `evaluate` must be `einsum_core`'s `evaluate` (or its prebuilt instance), whose
/// contract is that on `Ok` every element of the new result was written.
#[inline(never)]
fn new_result<T: Scalar, D: Dimension>(
    evaluate: &mut dyn FnMut(&mut Alloc<'_, T>) -> Result<(), EinsumError>,
) -> Result<Array<T, D>, EinsumError> {
    let mut made: Option<Array<MaybeUninit<T>, D>> = None;
    let mut alloc = |shape: &[usize], strides: &mut [isize]| {
        // Not zeroed first: the kernel writes every element once anyway.
        let mut out = alloc::uninit::<T, D>(shape)?;
        strides.copy_from_slice(out.strides());
        let ptr = out.as_mut_ptr().cast::<T>();
        // Moving the array keeps its elements where they are.
        made = Some(out);
        Some(ptr)
    };
    evaluate(&mut alloc)?;
    let out = made.expect("einsum: a result without its array");
    // SAFETY: `alloc` gave a fresh array of exactly the shape asked for,
    // with its own strides; nothing else can see it. `MaybeUninit<T>` has
    // `T`'s layout, and writing a `T` needs no prior value. `evaluate`
    // returned `Ok`, so by `einsum_core`'s `evaluate`'s contract every element of
    // the array was written.
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
    cache: Option<&OrderCache>,
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
    unsafe { evaluate::<T, K, N>(call, ops, dest) }?;
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
    cache: Option<&OrderCache>,
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
    unsafe { evaluate::<T, K, N>(call, ops, dest) }
}
