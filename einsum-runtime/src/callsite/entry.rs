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

use einsum_core::support::{evaluate, evaluate_extreme, Alloc, Call, Dest, Reduce, Scale};
use einsum_core::{EinsumError, OrderCache, Ordered, RawOperand, Scalar, Spec};

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
    let eval = evaluate::<T, K, N, false>;
    owned::<T, D, K, N>(spec, ops, fixed, cache, T::one(), None, eval)
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
    let eval = evaluate::<T, K, N, true>;
    owned::<T, D, K, N>(spec, ops, fixed, cache, alpha, Some(Reduce::Sum), eval)
}

/// [`einsum_owned`] with `reduce = max` or `reduce = min` (and `alpha`).
#[inline(never)]
pub fn einsum_owned_extreme<T: Ordered, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
    reduce: Reduce,
) -> Result<Array<T, D>, EinsumError> {
    let eval = evaluate_extreme::<T, K, N>;
    owned::<T, D, K, N>(spec, ops, fixed, cache, alpha, Some(reduce), eval)
}

/// How a call is evaluated: `einsum_core`'s `evaluate` for its options, or
/// `evaluate_extreme`; each takes the call, its operands and its output.
type Eval<T, const K: usize> =
    unsafe fn(Call<'_>, [RawOperand<'_, T>; K], Dest<'_, T>) -> Result<(), EinsumError>;

/// The body of the `einsum_owned` forms: `alpha` is read only with a
/// `reduce` (the call's options), and `eval` is `evaluate` for them.
#[inline(always)]
fn owned<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
    reduce: Option<Reduce>,
    eval: Eval<T, K>,
) -> Result<Array<T, D>, EinsumError> {
    // A new result is never read: `beta` is zero.
    let beta = T::zero();
    let call = Call {
        spec,
        fixed,
        cache,
        scale: scale(&alpha, &beta, reduce),
    };
    // SAFETY: `new_result` gives an allocator of fresh arrays, as
    // `Dest::New` needs; `alpha` and `beta` are `T`s that outlive the
    // call, and with a `beta` of zero the new elements are never read.
    new_result(&mut |alloc| unsafe { eval(call, ops, Dest::New(alloc)) })
}

/// The erased `alpha` and `beta` of a call, which reads them as `T`s,
/// and its reduction; none for a call without options (no `reduce`).
fn scale<T>(alpha: &T, beta: &T, reduce: Option<Reduce>) -> Option<Scale> {
    reduce.map(|reduce| Scale {
        alpha: (alpha as *const T).cast(),
        beta: (beta as *const T).cast(),
        reduce,
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
    let eval = evaluate::<T, K, N, false>;
    scalar::<T, K, N>(spec, ops, fixed, cache, T::one(), None, eval)
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
    let eval = evaluate::<T, K, N, true>;
    scalar::<T, K, N>(spec, ops, fixed, cache, alpha, Some(Reduce::Sum), eval)
}

/// [`einsum_scalar`] with `reduce = max` or `reduce = min` (and `alpha`).
#[inline(never)]
pub fn einsum_scalar_extreme<T: Ordered, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
    reduce: Reduce,
) -> Result<T, EinsumError> {
    let eval = evaluate_extreme::<T, K, N>;
    scalar::<T, K, N>(spec, ops, fixed, cache, alpha, Some(reduce), eval)
}

/// The body of the `einsum_scalar` forms, as [`owned`].
#[inline(always)]
fn scalar<T: Scalar, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    alpha: T,
    reduce: Option<Reduce>,
    eval: Eval<T, K>,
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
        scale: scale(&alpha, &beta, reduce),
    };
    // SAFETY: the output has no axes, so its only element is `out`, a local
    // the operands cannot overlap; `alpha` and `beta` are `T`s that
    // outlive the call.
    unsafe { eval(call, ops, dest) }?;
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
    let eval = evaluate::<T, K, N, false>;
    into::<T, D, K, N>(
        spec,
        out,
        ops,
        fixed,
        cache,
        (T::one(), T::zero()),
        None,
        eval,
    )
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
    let eval = evaluate::<T, K, N, true>;
    blended::<T, D, K, N>(
        spec,
        out,
        ops,
        fixed,
        cache,
        (alpha, beta),
        Reduce::Sum,
        eval,
    )
}

/// [`einsum_into_scaled`] with `reduce = max` or `reduce = min`.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn einsum_into_extreme<T: Ordered, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    out: Blended<'_, T, D>,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    (alpha, beta): (T, T),
    reduce: Reduce,
) -> Result<(), EinsumError> {
    let eval = evaluate_extreme::<T, K, N>;
    blended::<T, D, K, N>(spec, out, ops, fixed, cache, (alpha, beta), reduce, eval)
}

/// The body of the `einsum_into` forms with options, into an array or
/// windows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn blended<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    out: Blended<'_, T, D>,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    (alpha, beta): (T, T),
    reduce: Reduce,
    eval: Eval<T, K>,
) -> Result<(), EinsumError> {
    let mut windows = match out {
        Blended::Array(out) => {
            return into::<T, D, K, N>(
                spec,
                out,
                ops,
                fixed,
                cache,
                (alpha, beta),
                Some(reduce),
                eval,
            )
        }
        Blended::Windows(windows) => windows,
    };
    let (ptr, shape, strides) = windows.parts();
    let dest = Dest::Windows {
        ptr,
        shape,
        strides,
    };
    let call = Call {
        spec,
        fixed,
        cache,
        scale: scale(&alpha, &beta, Some(reduce)),
    };
    // SAFETY: a `WindowsMut` addresses elements of an array it borrows
    // uniquely (so no operand overlaps them), valid for reads and writes;
    // `alpha` and `beta`
    // are `T`s that outlive the call. On an error nothing has been
    // written.
    unsafe { eval(call, ops, dest) }
}

/// The body of the `einsum_into` forms into an array, as [`owned`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn into<T: Scalar, D: Dimension, const K: usize, const N: usize>(
    spec: &Spec,
    out: &mut ArrayRef<T, D>,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
    cache: Option<&OrderCache>,
    (alpha, beta): (T, T),
    reduce: Option<Reduce>,
    eval: Eval<T, K>,
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
        scale: scale(&alpha, &beta, reduce),
    };
    // SAFETY: the elements of a `&mut ArrayRef` are distinct, initialized
    // and valid for reads and writes at its shape and strides, and its
    // unique borrow keeps every operand from overlapping it; `alpha` and
    // `beta` are `T`s that outlive the call. On an error nothing has been
    // written.
    unsafe { eval(call, ops, dest) }
}
