//! One call routed to its instance: the call layer built in this crate for
//! one operand, for two, or for three to `MANY_OPERANDS`, with the element
//! type erased and its kernels ([`Kernels`](crate::element::Kernels)) at
//! hand; else one compiled where it is called.

use crate::call;
use crate::desc::{Call, Dest};
use crate::element::{Kernels, Ordered, Scalar, Scaled};
use crate::error::EinsumError;
use crate::kernel;
use crate::limits::{MANY_OPERANDS, SMALL_TABLE};
use crate::operand::RawOperand;
use crate::order::Plan;
use crate::spec::Spec;

/// The kernels of a call with options, with the element type erased: for
/// one operand, two, three to [`MANY_OPERANDS`], and `K` (more than that).
type Slot<const K: usize> = (Scaled<1>, Scaled<2>, Scaled<MANY_OPERANDS>, Scaled<K>);

/// One call, from its operands to the result in `dest`: every check first,
/// then the computation. `N` is the room for loop axes: the number of
/// labels, or [`MAX_AXES`](crate::MAX_AXES) when a term has a `...`.
///
/// `SCALED` for a call with `alpha` or `beta` (`call.scale`, summing),
/// whose kernels it then compiles; `call.scale` is ignored without it.
///
/// On `Ok` every element of the output has been written; on an error,
/// none.
///
/// # Safety
/// `dest` is as [`Dest`] says; with `call.scale`, its `alpha` and `beta`
/// address `T`s, and an output's elements are valid for reads too
/// (`Dest::Into`) when `beta` is not zero. `Dest::Windows` is an error
/// unless `SCALED` with a `beta` of one.
#[inline(always)]
pub unsafe fn evaluate<T: Scalar, const K: usize, const N: usize, const SCALED: bool>(
    call: Call<'_>,
    ops: [RawOperand<'_, T>; K],
    dest: Dest<'_, T>,
) -> Result<(), EinsumError> {
    // (A constant condition: a call without `alpha` and `beta` does not
    // instantiate their kernels.)
    if const { SCALED } {
        let slot: Slot<K> = (
            kernel::contract_scaled_erased::<T, 1>,
            kernel::contract_scaled_erased::<T, 2>,
            kernel::contract_scaled_erased::<T, MANY_OPERANDS>,
            kernel::contract_scaled_erased::<T, K>,
        );
        // SAFETY: the caller's promise.
        unsafe { evaluate_with::<T, K, N>(call, ops, dest, Some(slot)) }
    } else {
        let call = Call {
            scale: None,
            ..call
        };
        // SAFETY: the caller's promise.
        unsafe { evaluate_with::<T, K, N>(call, ops, dest, None) }
    }
}

/// [`evaluate`] for a call with `reduce = max` or `reduce = min`
/// (`call.scale` with that reduction), in the kernels of extremes
/// compiled here.
///
/// # Safety
/// As [`evaluate`] with `SCALED`, `call.scale` present.
#[inline(always)]
pub unsafe fn evaluate_extreme<T: Ordered, const K: usize, const N: usize>(
    call: Call<'_>,
    ops: [RawOperand<'_, T>; K],
    dest: Dest<'_, T>,
) -> Result<(), EinsumError> {
    let slot: Slot<K> = (
        kernel::contract_extreme_erased::<T, 1>,
        kernel::contract_extreme_erased::<T, 2>,
        kernel::contract_extreme_erased::<T, MANY_OPERANDS>,
        kernel::contract_extreme_erased::<T, K>,
    );
    // SAFETY: the caller's promise.
    unsafe { evaluate_with::<T, K, N>(call, ops, dest, Some(slot)) }
}

/// [`evaluate`] with the kernels of the call's options in `slot` (none for
/// a call without them).
///
/// # Safety
/// As [`evaluate`]; `slot` is `T`'s, and present when `call.scale` is.
#[inline(always)]
unsafe fn evaluate_with<T: Scalar, const K: usize, const N: usize>(
    call: Call<'_>,
    ops: [RawOperand<'_, T>; K],
    dest: Dest<'_, T>,
    slot: Option<Slot<K>>,
) -> Result<(), EinsumError> {
    let ops = ops.map(RawOperand::erase);
    // SAFETY (each arm): the caller's promise, for the same memory; the
    // operands and the output are `T`s, `run`'s kernels `T`'s.
    match dest {
        Dest::New(alloc) => {
            let mut erased = |shape: &[usize], strides: &mut [isize]| {
                alloc(shape, strides).map(<*mut T>::cast::<()>)
            };
            unsafe { run::<T, K, N>(call, &ops, Dest::New(&mut erased), slot) }
        }
        Dest::Into {
            ptr,
            shape,
            strides,
        } => unsafe {
            run::<T, K, N>(
                call,
                &ops,
                Dest::Into {
                    ptr: ptr.cast(),
                    shape,
                    strides,
                },
                slot,
            )
        },
        Dest::Windows {
            ptr,
            shape,
            strides,
        } => unsafe {
            // Windows overlap: only adding into them is defined.
            let beta = call.scale.map(|s| s.beta.cast::<T>().read());
            if beta != Some(T::one()) {
                let kind = crate::error::ErrorKind::WindowsNeedBetaOne;
                return Err(EinsumError::call(call.spec.subscripts, kind));
            }
            run::<T, K, N>(
                call,
                &ops,
                Dest::Windows {
                    ptr: ptr.cast(),
                    shape,
                    strides,
                },
                slot,
            )
        },
    }
}

/// [`evaluate`] with the element type erased: the instance built in this
/// crate for the operand count, or, past [`MANY_OPERANDS`], one compiled
/// here for it.
///
/// # Safety
/// As [`evaluate_with`], the operands and `dest` addressing `T`s.
#[inline(always)]
unsafe fn run<T: Scalar, const K: usize, const N: usize>(
    call: Call<'_>,
    ops: &[RawOperand<'_, ()>],
    dest: Dest<'_, ()>,
    slot: Option<Slot<K>>,
) -> Result<(), EinsumError> {
    let kernels = match slot {
        Some((one, two, many, _)) => &Kernels {
            scaled: Some((one, two, many)),
            windows: Some((
                kernel::add_tile_erased::<T>,
                kernel::add_product_erased::<T>,
            )),
            ..const { Kernels::of::<T>(K) }
        },
        None => const { &Kernels::of::<T>(K) },
    };
    let large = const { N > SMALL_TABLE };
    // Each condition a constant of the instance (`const`), so that the
    // compiler instantiates only the branch taken: the others would be
    // compiled in the caller's crate too, dead code included.
    // SAFETY (each branch): the caller's promise, with `T`'s kernels.
    unsafe {
        if const { K == 1 } {
            call::evaluate1(call, ops, dest, kernels, large)
        } else if const { K == 2 } {
            call::evaluate2(call, ops, dest, kernels, large)
        } else if const { K <= MANY_OPERANDS } {
            call::evaluate_many(call, ops, dest, kernels, large)
        } else {
            let many = kernel::contract_many_erased::<T, K>;
            let scaled = slot.map(|(.., big)| big);
            call::evaluate::<K, N>(call, ops, dest, kernels, Some((many, scaled)))
        }
    }
}

/// The order a call would run in, with its costs (`einsum_path!`). `N` as
/// for [`evaluate`].
#[inline(never)]
pub fn plan<T: Scalar, const K: usize, const N: usize>(
    spec: &Spec,
    ops: [RawOperand<'_, T>; K],
    fixed: &[(u8, usize)],
) -> Result<Plan, EinsumError> {
    call::plan::<K, N>(spec, &ops.map(RawOperand::erase), fixed)
}
