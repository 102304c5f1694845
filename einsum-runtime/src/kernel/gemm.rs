//! Two-operand contractions as batched GEMM, through the `gemm` crate:
//!
//! `C[b, m, n] ← Σ_k A[b, m, k] · B[b, k, n]`
//!
//! Each loop axis is classified by which of A, B and the output step along
//! it (a zero stride means an operand does not depend on the axis, which is
//! also how a broadcast operand is read):
//! - **M**: A and C, not B; **N**: B and C, not A; **K**: A and B, summed;
//! - **batch**: in C, and in both operands or neither.
//!
//! Within each group the axes that step through memory as one (for M in A
//! and C, for N in B and C, for K in A and B) are merged into the GEMM's
//! dimension; the others are looped over outside, so a strided, transposed or
//! windowed operand is read in place and no whole operand is copied. The
//! `gemm` crate packs cache-sized blocks itself.
//!
//! Labels summed in one operand only, or a summed axis no operand steps
//! along, are not GEMM-shaped: those expressions stay in the loop nest.

use core::any::TypeId;

use num_complex::Complex;
use rayon::prelude::*;

use super::SendPtr;
use crate::resolve::{Axis, MAX_AXES};
use crate::scalar::Scalar;
use crate::tuning;

/// Whether `gemm` has a kernel for `T`.
fn supported<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>()
        || t == TypeId::of::<f64>()
        || t == TypeId::of::<Complex<f32>>()
        || t == TypeId::of::<Complex<f64>>()
}

/// One GEMM dimension: its length and the strides of A, B and C along it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dim {
    size: usize,
    a: isize,
    b: isize,
    c: isize,
}

impl Dim {
    const UNIT: Dim = Dim {
        size: 1,
        a: 0,
        b: 0,
        c: 0,
    };

    fn of(axis: &Axis<2>) -> Dim {
        Dim {
            size: axis.size,
            a: axis.strides[0],
            b: axis.strides[1],
            c: axis.out,
        }
    }
}

/// A fixed-capacity list of dimensions (no allocation).
struct Dims {
    dims: [Dim; MAX_AXES],
    n: usize,
}

impl Dims {
    fn new() -> Dims {
        Dims {
            dims: [Dim::UNIT; MAX_AXES],
            n: 0,
        }
    }

    fn push(&mut self, d: Dim) {
        self.dims[self.n] = d;
        self.n += 1;
    }

    fn as_slice(&self) -> &[Dim] {
        &self.dims[..self.n]
    }

    /// Merges the innermost run of dimensions that step through memory as
    /// one in both strides `key` picks, and moves the rest to `rest`.
    fn merge_inner(&mut self, key: fn(&Dim) -> (isize, isize), rest: &mut Dims) -> Dim {
        let dims = &mut self.dims[..self.n];
        if dims.is_empty() {
            return Dim::UNIT;
        }
        // Largest strides outermost (stable insertion sort).
        let weight = |d: &Dim| {
            let (x, y) = key(d);
            (x.unsigned_abs(), y.unsigned_abs())
        };
        for i in 1..dims.len() {
            let mut j = i;
            while j > 0 && weight(&dims[j - 1]) < weight(&dims[j]) {
                dims.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut run = dims[dims.len() - 1];
        let mut first = dims.len() - 1;
        while first > 0 {
            let outer = dims[first - 1];
            let (ox, oy) = key(&outer);
            let (rx, ry) = key(&run);
            let len = run.size as isize;
            let fits = ox == rx.wrapping_mul(len) && oy == ry.wrapping_mul(len);
            match (fits, run.size.checked_mul(outer.size)) {
                (true, Some(size)) => {
                    run.size = size;
                    first -= 1;
                }
                _ => break,
            }
        }
        for d in &dims[..first] {
            rest.push(*d);
        }
        run
    }
}

/// Computes the contraction with `gemm` if it is GEMM-shaped, supported for
/// `T` and large enough; returns whether it did.
///
/// # Safety
/// As [`super::nest::contract`]: every index within the axes' sizes addresses
/// a valid element of each operand for reads (`a` for operand 0, `b` for
/// operand 1) and of the output for writes, distinct output indices are
/// distinct elements, and the output overlaps no operand.
pub(crate) unsafe fn try_contract<T: Scalar>(
    axes: &[Axis<2>],
    a: *const T,
    b: *const T,
    c: *mut T,
) -> bool {
    // Miri cannot run the crate's SIMD kernels; the loop nest computes the
    // same sums, and is what Miri checks.
    if cfg!(miri) || !supported::<T>() {
        return false;
    }
    let limits = tuning::current();
    let work = axes
        .iter()
        .try_fold(1usize, |w, ax| w.checked_mul(ax.size))
        .unwrap_or(usize::MAX);
    if work < limits.gemm_min_work {
        return false;
    }
    let (mut m, mut n, mut k, mut outer) = (Dims::new(), Dims::new(), Dims::new(), Dims::new());
    for ax in axes.iter().filter(|ax| ax.size > 1) {
        let d = Dim::of(ax);
        match (d.a != 0, d.b != 0, !ax.summed) {
            (true, false, true) => m.push(d),
            (false, true, true) => n.push(d),
            (true, true, false) => k.push(d),
            (true, true, true) | (false, false, true) => outer.push(d),
            // Summed in one operand only, or in none: not a GEMM.
            _ => return false,
        }
    }
    let mut k_outer = Dims::new();
    let dm = m.merge_inner(|d| (d.a, d.c), &mut outer);
    let dn = n.merge_inner(|d| (d.b, d.c), &mut outer);
    let dk = k.merge_inner(|d| (d.a, d.b), &mut k_outer);
    // A GEMM with a tiny inner dimension is a memory-bound loop in disguise,
    // better left to the nest (dot products, outer products, scaling).
    if dk.size < limits.gemm_min_len || dm.size.max(dn.size) < limits.gemm_min_len {
        return false;
    }

    let outer = outer.as_slice();
    let k_outer = k_outer.as_slice();
    let points: usize = outer.iter().map(|d| d.size).product();
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && work >= limits.parallel_min_work;
    // Spread independent GEMMs over the pool when there are enough of them;
    // otherwise let `gemm` split each one.
    let per_call = if parallel && points < 2 * threads {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let (a, b, c) = (SendPtr(a), SendPtr(b), SendPtr(c));
    let run = |point: usize| {
        let (mut pa, mut pb, mut pc) = (a.get(), b.get(), c.get());
        let mut rem = point;
        for d in outer.iter().rev() {
            let i = (rem % d.size) as isize;
            rem /= d.size;
            pa = pa.wrapping_offset(i * d.a);
            pb = pb.wrapping_offset(i * d.b);
            pc = pc.wrapping_offset(i * d.c);
        }
        let kpoints: usize = k_outer.iter().map(|d| d.size).product();
        for kp in 0..kpoints {
            let (mut qa, mut qb) = (pa, pb);
            let mut rem = kp;
            for d in k_outer.iter().rev() {
                let i = (rem % d.size) as isize;
                rem /= d.size;
                qa = qa.wrapping_offset(i * d.a);
                qb = qb.wrapping_offset(i * d.b);
            }
            // SAFETY: every (m, n, k) index of this call is a point of the
            // caller's nest, so the addresses are valid (caller); the first
            // K block overwrites C, the others add to it.
            unsafe {
                gemm::gemm(
                    dm.size,
                    dn.size,
                    dk.size,
                    pc,
                    dn.c,
                    dm.c,
                    kp > 0,
                    qa,
                    dk.a,
                    dm.a,
                    qb,
                    dn.b,
                    dk.b,
                    T::one(),
                    T::one(),
                    false,
                    false,
                    false,
                    per_call,
                );
            }
        }
    };
    if parallel && points >= 2 * threads {
        (0..points).into_par_iter().for_each(run);
    } else {
        (0..points).for_each(run);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_innermost_run() {
        // M axes of A (strides 12, 1 → i, j with j inner) and C (strides 4, 1
        // for a (3, 4) block): mergeable when C's outer stride is 4·1.
        let mut m = Dims::new();
        m.push(Dim {
            size: 3,
            a: 4,
            b: 0,
            c: 4,
        });
        m.push(Dim {
            size: 4,
            a: 1,
            b: 0,
            c: 1,
        });
        let mut rest = Dims::new();
        let d = m.merge_inner(|d| (d.a, d.c), &mut rest);
        assert_eq!(d.size, 12);
        assert_eq!(rest.as_slice(), &[]);
        // Not mergeable in C: the outer axis is looped.
        let mut m = Dims::new();
        m.push(Dim {
            size: 3,
            a: 4,
            b: 0,
            c: 5,
        });
        m.push(Dim {
            size: 4,
            a: 1,
            b: 0,
            c: 1,
        });
        let d = m.merge_inner(|d| (d.a, d.c), &mut rest);
        assert_eq!(d.size, 4);
        assert_eq!(rest.as_slice().len(), 1);
    }
}
