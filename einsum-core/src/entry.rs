//! One call routed to its instance: the one prebuilt in this crate for its
//! element type (for one operand, for two, or for three to
//! `MANY_OPERANDS`), else one compiled where it is called.

use crate::call;
use crate::desc::{Call, Dest};
use crate::element::Scalar;
use crate::error::EinsumError;
use crate::limits::{MANY_OPERANDS, SMALL_TABLE};
use crate::operand::RawOperand;
use crate::order::Plan;
use crate::spec::Spec;

/// One call, from its operands to the result in `dest`: every check first,
/// then the computation. `N` is the room for loop axes: the number of
/// labels, or [`MAX_AXES`](crate::MAX_AXES) when a term has a `...`.
///
/// On `Ok` every element of the output has been written; on an error,
/// none.
///
/// # Safety
/// `dest` is as [`Dest`] says.
#[inline(always)]
pub unsafe fn evaluate<T: Scalar, const K: usize, const N: usize>(
    call: Call<'_>,
    ops: [RawOperand<'_, T>; K],
    dest: Dest<'_, T>,
) -> Result<(), EinsumError> {
    let large = const { N > SMALL_TABLE };
    // Each condition a constant of the instance (`const`), so that the
    // compiler instantiates only the branch taken: the others would be
    // compiled in the caller's crate too, dead code included.
    // SAFETY (each branch): the caller's promise.
    unsafe {
        if const { K == 1 } {
            T::evaluate1(call, [ops[0]], dest, large)
        } else if const { K == 2 } {
            T::evaluate2(call, [ops[0], ops[1]], dest, large)
        } else if const { K <= MANY_OPERANDS } {
            T::evaluate_many(call, &ops, dest, large)
        } else {
            call::evaluate::<T, K, N>(call, &ops, dest)
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
    call::plan::<T, K, N>(spec, ops, fixed)
}
