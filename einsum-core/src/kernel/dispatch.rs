//! Which kernel computes a contraction, and the route to the instance of
//! that choice prebuilt for the element type.

use super::walk::{arrange, write_empty};
use super::{gemm, nest};
use crate::axes::Axis;
use crate::desc::Scale;
use crate::element::{Kernels, Scalar};

/// Computes `out[o] ← Σ_s Π_k in_k[o, s]` over the loop axes `axes`, for
/// one or two operands (more: [`super::contract_many`]), in the kernels of
/// `kernels`' element type; with `scale`, `out[o] ← alpha · Σ_s Π_k
/// in_k[o, s] + beta · out[o]` instead ([`super::scaled`]), in the kernels
/// `kernels` has for it.
///
/// `ptrs[k]` is operand `k`'s element at index zero, `out` the output's.
///
/// # Safety
/// The pointers address elements of the type `kernels` was made for, and
/// so do `scale`'s. For
/// every index within the axes' sizes, `ptrs[k]` offset by
/// `Σ index · strides[k]` must be a valid, initialized element for reads, and
/// `out` offset by `Σ index · out` valid for writes (and for reads with
/// `scale`), distinct for distinct
/// output indices and not overlapping any operand. `call::resolve` builds
/// such axes from live views; the output is a unique borrow.
///
/// On return every output element has been written (an empty sum as
/// zero): a new result may be allocated uninitialized for it, when `scale`
/// has a `beta` of zero.
pub(crate) unsafe fn contract<const K: usize>(
    kernels: &Kernels,
    axes: &mut [Axis<K>],
    ptrs: [*const (); K],
    out: *mut (),
    scale: Option<Scale>,
) {
    // One and two operands (every pairwise step among them) run in the
    // dispatch built once for the element type: for most types in this
    // crate, so that a caller's crate compiles none of the kernels again.
    // More run in `many`.
    assert!(K == 1 || K == 2, "contract: one or two operands");
    let axes: *mut [Axis<K>] = axes;
    let scaled = scale.map(|s| {
        let kernels = kernels.scaled.expect("einsum: kernels of alpha and beta");
        (kernels, s)
    });
    // SAFETY (each arm): `K` is the arm's number, so `Axis<K>` is that very
    // type and `[*const (); K]` holds exactly its pointers; the rest is the
    // caller's promise.
    // (Constant conditions, `const`, so that only the branch taken is
    // instantiated.)
    unsafe {
        if const { K == 1 } {
            let axes = &mut *(axes as *mut [Axis<1>]);
            if let Some(((one, _, _), s)) = scaled {
                return one(axes, [ptrs[0]], 1, out, s);
            }
            let one = kernels.one.expect("einsum: kernels of one operand");
            one(axes, [ptrs[0]], out, false)
        } else {
            let axes = &mut *(axes as *mut [Axis<2>]);
            let ptrs = [ptrs[0], ptrs[K - 1]];
            if let Some(((_, two, _), s)) = scaled {
                return two(axes, ptrs, 2, out, s);
            }
            let two = kernels.two.expect("einsum: kernels of two operands");
            two(axes, ptrs, out, false)
        }
    }
}

/// Picks the kernel for a contraction and runs it: nothing to read when an
/// axis is empty, else the loop axes ordered and merged ([`nest::arrange`]),
/// a GEMM kernel when the contraction is GEMM-shaped and large enough
/// ([`gemm::try_contract`]), the loop nest otherwise. With `add`, the
/// result is added into the output (`out[o] += …`, which must then be
/// valid for reads too) instead of overwriting it.
///
/// Built in the crate that instantiates it: for most element types this
/// crate, once per type ([`Prebuilt`](crate::element::Prebuilt));
/// otherwise the caller's.
///
/// # Safety
/// As [`contract`].
pub(crate) unsafe fn dispatch<T: Scalar, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const T; K],
    out: *mut T,
    add: bool,
) {
    // SAFETY: the caller's promise.
    if unsafe { write_empty(axes, ptrs, out, add) } {
        return;
    }
    let n = arrange(axes);
    let axes = &axes[..n];
    if const { K == 2 } {
        // SAFETY: the same axes, pointers and promise as this call's (caller).
        if unsafe { gemm::try_contract(axes, ptrs[0], ptrs[K - 1], out, add) } {
            return;
        }
    }
    // SAFETY: this call's promise (caller), over the same points reordered.
    unsafe { nest::contract_nest(axes, ptrs, out, add) }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;

    /// [`contract`] in `T`'s kernels, over typed pointers.
    unsafe fn run<T: Scalar, const K: usize>(
        axes: &mut [Axis<K>],
        ptrs: [*const T; K],
        out: *mut T,
    ) {
        // SAFETY: the caller's promise, over `T`'s own kernels.
        unsafe {
            contract(
                &Kernels::of::<T>(K),
                axes,
                ptrs.map(<*const T>::cast),
                out.cast(),
                None,
            )
        }
    }

    #[test]
    fn matmul_through_each_nest_shape() {
        // a: 2x3, b: 3x2, both C order; out 2x2.
        let a = [1i64, 2, 3, 4, 5, 6];
        let b = [7i64, 8, 9, 10, 11, 12];
        let expect = [58i64, 64, 139, 154];
        let i = axis(2, [3, 0], 2);
        let j = axis(3, [1, 2], 0);
        let k = axis(2, [0, 1], 1);
        for axes in [[i, j, k], [i, k, j], [k, j, i]] {
            let mut out = [-1i64; 4];
            // SAFETY: every index stays inside the 6-element inputs and the
            // 4-element output.
            unsafe { run(&mut { axes }, [a.as_ptr(), b.as_ptr()], out.as_mut_ptr()) };
            assert_eq!(out, expect);
        }
        // Reduce shape: make j the smallest stride.
        let j_inner = Axis {
            strides: [1, 0],
            ..j
        };
        let i2 = Axis { out: 1, ..i };
        let mut out = [-1i64; 2];
        // SAFETY: as above; b is read at index 0 only.
        unsafe {
            run(
                &mut [i2, j_inner],
                [a.as_ptr(), b.as_ptr()],
                out.as_mut_ptr(),
            )
        };
        assert_eq!(out, [6 * 7, 15 * 7]);
    }

    #[test]
    fn empty_sum_is_zero_and_empty_output_is_untouched() {
        let a = [1.0f64];
        let mut out = [5.0f64; 2];
        let mut axes = [
            Axis {
                size: 2,
                strides: [0],
                out: 1,
                summed: false,
            },
            Axis {
                size: 0,
                strides: [1],
                out: 0,
                summed: true,
            },
        ];
        // SAFETY: the empty axis means no input element is read.
        unsafe { run(&mut axes, [a.as_ptr()], out.as_mut_ptr()) };
        assert_eq!(out, [0.0, 0.0]);
    }
}
