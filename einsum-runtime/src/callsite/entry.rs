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

use einsum_core::support::{evaluate, Alloc, Call, Dest, Scale};
use einsum_core::{EinsumError, OrderCache, RawOperand, Scalar, Spec};

use crate::alloc;
use crate::operand::Blended;

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
    owned::<T, D, K, N, false>(spec, ops, fixed, cache, T::one())
}

/// [`einsum_owned`] with `alpha`: the result times `alpha`.
#[inline(never)]
pub fn einsum_owned_scaled<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
) -> Result<Array<T, D>, EinsumError> {
    owned::<T, D, K, N, true>(spec, ops, fixed, cache, alpha)
}

/// The body of [`einsum_owned`] and [`einsum_owned_scaled`]: `alpha` is
/// read only when `SCALED`.
#[inline(always)]
fn owned<T: Scalar, D: Dimension, const K: usize, const N: usize, const SCALED: bool>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
) -> Result<Array<T, D>, EinsumError> {
    // A new result is never read: `beta` is zero.
    let beta = T::zero();
    let call = Call {
        spec,
        fixed,
        cache,
        scale: scale::<T, SCALED>(&alpha, &beta),
    };
    // SAFETY: `new_result` gives an allocator of fresh arrays, as
    // `Dest::New` needs; `alpha` and `beta` are `T`s that outlive the
    // call, and with a `beta` of zero the new elements are never read.
    new_result(&mut |alloc| unsafe { evaluate::<T, K, N, SCALED>(call, ops, Dest::New(alloc)) })
}

/// The erased `alpha` and `beta` of a call, which reads them as `T`s;
/// none unless `SCALED`.
fn scale<T, const SCALED: bool>(alpha: &T, beta: &T) -> Option<Scale> {
    SCALED.then(|| Scale {
        alpha: (alpha as *const T).cast(),
        beta: (beta as *const T).cast(),
    })
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
    scalar::<T, K, N, false>(spec, ops, fixed, cache, T::one())
}

/// [`einsum_scalar`] with `alpha`: the result times `alpha`.
#[inline(never)]
pub fn einsum_scalar_scaled<T: Scalar, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
) -> Result<T, EinsumError> {
    scalar::<T, K, N, true>(spec, ops, fixed, cache, alpha)
}

/// The body of [`einsum_scalar`] and [`einsum_scalar_scaled`]: `alpha` is
/// read only when `SCALED`.
#[inline(always)]
fn scalar<T: Scalar, const K: usize, const N: usize, const SCALED: bool>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
) -> Result<T, EinsumError> {
    let (mut out, beta) = (T::zero(), T::zero());
    let dest = Dest::Into {
        ptr: &mut out,
        shape: &[],
        strides: &[],
    };
    let call = Call {
        spec,
        fixed,
        cache,
        scale: scale::<T, SCALED>(&alpha, &beta),
    };
    // SAFETY: the output has no axes, so its only element is `out`, a local
    // the operands cannot overlap; `alpha` and `beta` are `T`s that
    // outlive the call.
    unsafe { evaluate::<T, K, N, SCALED>(call, ops, dest) }?;
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
    into::<T, D, K, N, false>(spec, out, ops, fixed, cache, T::one(), T::zero())
}

/// [`einsum_into`] with `alpha` and `beta`: `out ← alpha·result +
/// beta·out`, `out` not read when `beta` is zero; into windows
/// ([`WindowsMut`](crate::WindowsMut)), added into the array they view,
/// `beta` one (else an error, before anything is written).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn einsum_into_scaled<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    out: Blended<'_, T, D>,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
    beta: T,
) -> Result<(), EinsumError> {
    let mut windows = match out {
        Blended::Array(out) => {
            return into::<T, D, K, N, true>(spec, out, ops, fixed, cache, alpha, beta)
        }
        Blended::Windows(windows) => windows,
    };
    let (ptr, shape, strides, windows) = windows.parts();
    let dest = Dest::Windows {
        ptr,
        shape,
        strides,
        windows,
    };
    let call = Call {
        spec,
        fixed,
        cache,
        scale: scale::<T, true>(&alpha, &beta),
    };
    // SAFETY: a `WindowsMut` addresses elements of an array it borrows
    // uniquely (so no operand overlaps them), valid for reads and writes,
    // distinct at any fixed index of its window axes; `alpha` and `beta`
    // are `T`s that outlive the call. On an error nothing has been
    // written.
    unsafe { evaluate::<T, K, N, true>(call, ops, dest) }
}

/// The body of [`einsum_into`] and [`einsum_into_scaled`]: `alpha` and
/// `beta` are read only when `SCALED`.
#[inline(always)]
fn into<T: Scalar, D: Dimension, const K: usize, const N: usize, const SCALED: bool>(
    spec: &Spec,
    out: &mut ArrayRef<T, D>,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
    beta: T,
) -> Result<(), EinsumError> {
    let ptr = out.as_mut_ptr();
    let dest = Dest::Into {
        ptr,
        shape: out.shape(),
        strides: out.strides(),
    };
    let call = Call {
        spec,
        fixed,
        cache,
        scale: scale::<T, SCALED>(&alpha, &beta),
    };
    // SAFETY: the elements of a `&mut ArrayRef` are distinct, initialized
    // and valid for reads and writes at its shape and strides, and its
    // unique borrow keeps every operand from overlapping it; `alpha` and
    // `beta` are `T`s that outlive the call. On an error nothing has been
    // written.
    unsafe { evaluate::<T, K, N, SCALED>(call, ops, dest) }
}
