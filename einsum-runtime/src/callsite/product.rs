//! The matrix product the macro read from an expression, run from the call
//! site straight in `einsum_core`'s `product`, with no plan: for work past
//! what the call site's loops do well and short of what the run-time path's
//! planning pays for.
//!
//! The macro names, for each operand and the output, which of its axes
//! plays each part of `C[b, m, n] = Σ_k A[b, m, k] · B[b, k, n]`; the sizes
//! and strides are checked and read here.

use ndarray::{Array, ArrayRef, Dimension};

use einsum_core::support::{product_pays, run_product, Product, BATCH, K, M, N};
use einsum_core::{Scalar, Small};

use crate::alloc;

/// The axis of an array that plays each part (batch, M, K, N in that
/// order), `None` for a part it does not have.
pub type Parts = [Option<usize>; 4];

/// An operand as the product reads it: a [`Small`]'s first element,
/// lengths and strides (a live view with no empty axis), its rank erased so
/// that the code below is built once per element and output type.
struct Read<'s, T> {
    ptr: *const T,
    shape: &'s [usize],
    strides: &'s [isize],
}

impl<'s, T: Scalar> Read<'s, T> {
    #[inline(always)]
    fn of<const R: usize>(small: &'s Small<'_, T, R>) -> Self {
        Read {
            ptr: small.ptr,
            shape: &small.shape,
            strides: &small.strides,
        }
    }
}

/// The product of the operands, its output not yet given (null), when the
/// parts name distinct axes of each operand, agree on every size, and the
/// work is one this path takes.
#[inline(always)]
fn operands<T: Scalar>(
    a: &Read<'_, T>,
    pa: Parts,
    b: &Read<'_, T>,
    pb: Parts,
) -> Option<Product<T>> {
    if !distinct(&pa, a.shape.len()) || !distinct(&pb, b.shape.len()) {
        return None;
    }
    let (mut sizes, mut sa, mut sb) = ([1usize; 4], [0isize; 4], [0isize; 4]);
    for p in 0..4 {
        // (`distinct` checked that each axis is below the rank.)
        let from_a = pa[p].map(|axis| (a.shape[axis], a.strides[axis]));
        let from_b = pb[p].map(|axis| (b.shape[axis], b.strides[axis]));
        match (from_a, from_b) {
            (Some((n, s)), Some((nb, t))) => {
                if n != nb {
                    return None;
                }
                (sizes[p], sa[p], sb[p]) = (n, s, t);
            }
            (Some((n, s)), None) => (sizes[p], sa[p]) = (n, s),
            (None, Some((n, t))) => (sizes[p], sb[p]) = (n, t),
            (None, None) => {}
        }
    }
    let outputs = sizes[BATCH].checked_mul(sizes[M])?.checked_mul(sizes[N])?;
    let work = outputs.checked_mul(sizes[K])?;
    product_pays::<T>(work, outputs, sizes[BATCH]).then_some(Product {
        sizes,
        a: a.ptr,
        sa,
        b: b.ptr,
        sb,
        c: core::ptr::null_mut(),
        sc: [0; 4],
    })
}

/// Whether the parts name distinct axes, each below `rank`.
#[inline(always)]
fn distinct(parts: &Parts, rank: usize) -> bool {
    let mut seen = 0u64;
    for &axis in parts.iter().flatten() {
        if axis >= rank.min(64) || seen & 1 << axis != 0 {
            return false;
        }
        seen |= 1 << axis;
    }
    true
}

/// The output's parts, if they name each of its `rank` axes once and K
/// none.
fn output_parts(pc: Parts, rank: usize) -> bool {
    pc[K].is_none() && pc.iter().flatten().count() == rank && distinct(&pc, rank)
}

/// Whether `T` has a product here at all: a type `gemm` has, or any under
/// Miri. (Tested in `const`, so that no other type builds the code.)
macro_rules! has_product {
    ($t:ty) => {
        const { <$t as Scalar>::IN_GEMM }
        || cfg!(miri)
    };
}

/// `einsum!` of a product: a new array whose axis `pc[p]` is part `p`, if
/// the parts fit (else `None`, and the loops or the run-time path take the
/// call).
#[inline(always)]
pub fn product_new<T: Scalar, D: Dimension, const RA: usize, const RB: usize, const R: usize>(
    a: &Small<'_, T, RA>,
    pa: Parts,
    b: &Small<'_, T, RB>,
    pb: Parts,
    pc: Parts,
) -> Option<Array<T, D>> {
    if has_product!(T) {
        new_product(Read::of(a), pa, Read::of(b), pb, pc, R)
    } else {
        None
    }
}

#[inline(never)]
fn new_product<T: Scalar, D: Dimension>(
    a: Read<'_, T>,
    pa: Parts,
    b: Read<'_, T>,
    pb: Parts,
    pc: Parts,
    rank: usize,
) -> Option<Array<T, D>> {
    let p = operands(&a, pa, &b, pb)?;
    if !output_parts(pc, rank) {
        return None;
    }
    let mut shape = [1usize; 3];
    for (part, axis) in pc.iter().enumerate() {
        if let Some(axis) = *axis {
            shape[axis] = p.sizes[part];
        }
    }
    let mut out = alloc::uninit::<T, D>(&shape[..rank])?;
    let sc = pc.map(|axis| axis.map_or(0, |axis| out.strides()[axis]));
    // SAFETY: every size is at least 1 (each comes from an operand's axis,
    // and a `Small` has no empty one, or is 1) and `operands` checked
    // `product_pays`, which holds only for `gemm`'s types outside Miri.
    // Each part names a distinct axis of A and of B (`distinct`) whose
    // length is the part's size, so an index within the sizes is one
    // within each operand's shape, read through its own strides: an
    // element of a view that `Small` borrows for reads. The output's parts
    // name each of its axes once (`output_parts`) with the parts' sizes,
    // so each (b, m, n) is a distinct element of the fresh array, which
    // nothing else can see.
    unsafe {
        run_product(Product {
            c: out.as_mut_ptr().cast::<T>(),
            sc,
            ..p
        });
    }
    // SAFETY: `run_product` wrote every (b, m, n), which is every element.
    Some(unsafe { out.assume_init() })
}

/// `einsum_into!` of a product: `out` (whose axis `pc[p]` is part `p`)
/// overwritten, if it has that shape and the parts fit (else `None`, and
/// the loops or the run-time path take the call).
#[inline(always)]
pub fn product_into<T: Scalar, D: Dimension, const RA: usize, const RB: usize>(
    out: &mut ArrayRef<T, D>,
    a: &Small<'_, T, RA>,
    pa: Parts,
    b: &Small<'_, T, RB>,
    pb: Parts,
    pc: Parts,
) -> Option<()> {
    if has_product!(T) {
        into_product(out, Read::of(a), pa, Read::of(b), pb, pc)
    } else {
        None
    }
}

#[inline(never)]
fn into_product<T: Scalar, D: Dimension>(
    out: &mut ArrayRef<T, D>,
    a: Read<'_, T>,
    pa: Parts,
    b: Read<'_, T>,
    pb: Parts,
    pc: Parts,
) -> Option<()> {
    let p = operands(&a, pa, &b, pb)?;
    if !output_parts(pc, out.ndim()) {
        return None;
    }
    for (part, axis) in pc.iter().enumerate() {
        if axis.is_some_and(|axis| out.shape()[axis] != p.sizes[part]) {
            return None;
        }
    }
    let sc = pc.map(|axis| axis.map_or(0, |axis| out.strides()[axis]));
    // SAFETY: as in `new_product` for the operands. The output's parts name
    // each of its axes once with its length, so each (b, m, n) is an
    // element of `out`, distinct ones distinct (a mutable array's axes do
    // not overlap), borrowed `&mut`, so overlapping neither operand.
    unsafe {
        run_product(Product {
            c: out.as_mut_ptr(),
            sc,
            ..p
        })
    };
    Some(())
}
