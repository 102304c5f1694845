//! Values of the right type for an expansion that already reported a compile
//! error, so the user sees that error alone. They are never run: a build
//! with a compile error produces no program.

use crate::operand::Operand;
use ndarray::{Array, Dimension};

/// Stands for an array result after a compile error.
pub fn fallback_owned<O: Operand + ?Sized, D: Dimension>(_: &O) -> Array<O::Elem, D> {
    unreachable!("einsum: this call failed to compile")
}

/// Stands for a scalar result after a compile error.
pub fn fallback_scalar<O: Operand + ?Sized>(_: &O) -> O::Elem {
    unreachable!("einsum: this call failed to compile")
}

/// Stands for a result whose type the call did not say.
pub fn fallback_any<R>() -> R {
    unreachable!("einsum: this call failed to compile")
}
