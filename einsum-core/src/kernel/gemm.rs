//! Two-operand contractions read as GEMM ([`Matrix`]): which GEMM kernel
//! takes one (the `gemm` crate, the window kernel, the skinny kernels, the
//! blocked kernel for types `gemm` lacks), and the loop over the points
//! and K blocks around it.

use core::any::TypeId;

use num_complex::Complex;

use super::isa::BASELINE;
use super::matrix::Matrix;
use super::pool::{for_each_task, pool_threads, SendPtr};
use super::scratch::with_scratch;
use super::skinny::SKINNY_N;
#[cfg(all(target_arch = "x86_64", not(miri)))]
use super::skinny512;
use super::window::WindowGemm;
use super::{blocked, skinny};
use crate::axes::Axis;
use crate::element::Scalar;
use crate::trace::{mark, KernelPath};
use crate::tuning;

/// Whether `gemm` has a kernel for `T`.
fn supported<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>()
        || t == TypeId::of::<f64>()
        || t == TypeId::of::<Complex<f32>>()
        || t == TypeId::of::<Complex<f64>>()
}

/// Whether `T` is `f32` or `f64`.
fn is_real_float<T: 'static>() -> bool {
    let t = TypeId::of::<T>();
    t == TypeId::of::<f32>() || t == TypeId::of::<f64>()
}

/// Computes the contraction with `gemm` if it is GEMM-shaped, supported for
/// `T` and large enough; returns whether it did.
///
/// # Safety
/// As [`super::dispatch`]: every index within the axes' sizes addresses
/// a valid element of each operand for reads (`a` for operand 0, `b` for
/// operand 1) and of the output for writes, distinct output indices are
/// distinct elements, and the output overlaps no operand.
pub(super) unsafe fn try_contract<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    a: *const T,
    b: *const T,
    c: *mut T,
) -> bool {
    // Element types `gemm` lacks (integers) take the blocked kernel below,
    // and so does everything under Miri, which cannot run `gemm`'s SIMD
    // code: the plumbing around the kernel is the same.
    let native = supported::<T>() && !cfg!(miri);
    let limits = tuning::current();
    let work = axes
        .iter()
        .try_fold(1usize, |w, ax| w.checked_mul(ax.size))
        .unwrap_or(usize::MAX);
    // Large enough for `gemm` or the blocked kernel; for the skinny kernel.
    let shared_work = work >= limits.gemm_min_work;
    let small = is_real_float::<T>() && work >= limits.skinny_min_work;
    // (Before the GEMM is read off the axes: most small calls stop here.)
    if !shared_work && !small {
        return false;
    }
    let Some(matrix) = Matrix::of(axes) else {
        return false;
    };
    let (dm, dn, dk) = (matrix.m, matrix.n, matrix.k);
    // A GEMM with a tiny inner dimension is a memory-bound loop in disguise,
    // better left to the nest (dot products, outer products, scaling).
    let long_enough = |min_len: usize| dk.size >= min_len && dm.size.max(dn.size) >= min_len;
    let min_len = if native {
        limits.gemm_min_len
    } else {
        limits.blocked_min_len
    };
    let shared = shared_work && long_enough(min_len);
    // The blocked kernel reads rows of B and writes rows of C as slices.
    if !native && (dn.b != 1 || dn.c != 1) {
        return false;
    }
    let (outer, k_outer) = (matrix.outer(), matrix.k_outer());

    let points: usize = outer.iter().map(|d| d.size).product();
    let kpoints: usize = k_outer.iter().map(|d| d.size).product();
    let threads = pool_threads();
    let parallel = threads > 1 && work >= limits.parallel_min_work;
    // Spread independent GEMMs over the pool when there are enough of them;
    // otherwise let `gemm` split each one.
    let per_call = if parallel && points < 2 * threads {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // A narrow N (a few output channels) over rows of A a few elements
    // apart, with a contiguous K run: a convolution over windows. `gemm`
    // would make many tiny calls with most of its registers idle; the
    // window kernel does the whole K of 16 rows at a time instead.
    // Built for f32 and f64 only: its instances (a build per N and
    // instruction set) are most of this crate's code.
    macro_rules! window_for {
        ($($t:ty)*) => {$(
            if TypeId::of::<T>() == TypeId::of::<$t>() {
                if let Some(plan) = WindowGemm::<$t>::new(&matrix, a.cast(), b.cast(), c.cast()) {
                    // SAFETY: `T` is `$t`, so the casts keep the addresses'
                    // types; the caller's promise, for the same points.
                    unsafe { plan.compute(parallel && points >= 2 * threads) };
                    return true;
                }
            }
        )*};
    }
    // (`const`, so that no other type instantiates the window kernel's
    // builds.)
    if const { T::GEMM_PER_ISA && T::REAL_FLOAT }
        && shared_work
        && long_enough(limits.window_min_len)
    {
        window_for!(f32 f64);
    }
    // A few output columns (N ≤ 16) along rows of B and C: `gemm` packs
    // and pads for wide panels, this kernel keeps a few rows of C in
    // registers for the whole K instead (a chain's skinny products).
    // (Not one column: a matrix-vector product is faster in `gemm`, or
    // under its threshold in the nest.)
    let skinny =
        is_real_float::<T>() && (2..=SKINNY_N).contains(&dn.size) && dn.b == 1 && dn.c == 1;
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    let skinny512 = skinny && super::isa::isa() == super::isa::Isa::Avx512 && skinny512::has::<T>();
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let skinny512 = false;
    // Neither window nor skinny: `gemm` or the blocked kernel, if the
    // product is large enough for them.
    if !skinny && !shared {
        return false;
    }
    mark(match (skinny512, skinny, native) {
        (true, _, _) => KernelPath::Skinny512,
        (_, true, _) => KernelPath::Skinny,
        (_, _, false) => KernelPath::Blocked,
        _ => KernelPath::Gemm,
    });
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
        for kp in 0..kpoints {
            let (mut qa, mut qb) = (pa, pb);
            let mut rem = kp;
            for d in k_outer.iter().rev() {
                let i = (rem % d.size) as isize;
                rem /= d.size;
                qa = qa.wrapping_offset(i * d.a);
                qb = qb.wrapping_offset(i * d.b);
            }
            // (f32 and f64 only: `const`, so that no other type
            // instantiates the skinny kernels.)
            if const { T::GEMM_PER_ISA && T::REAL_FLOAT } && skinny {
                #[cfg(all(target_arch = "x86_64", not(miri)))]
                if skinny512 {
                    // SAFETY: as below; the CPU has AVX-512 (`isa`), `T`
                    // is `f32` or `f64`, and rows of B and C are contiguous
                    // along N (checked), at most SKINNY_N long.
                    unsafe { skinny512::gemm([dm, dn, dk], pc, qa, qb, kp > 0) };
                    continue;
                }
                // The padded copy of B in this thread's scratch, taken here,
                // outside the kernel's builds.
                let padded = if dn.size <= 8 { 8 } else { SKINNY_N };
                with_scratch::<T, _>(dk.size * padded, |packed| {
                    // SAFETY: as below; rows of B and C are contiguous along
                    // N (checked), at most SKINNY_N long.
                    unsafe { skinny::skinny_gemm([dm, dn, dk], pc, qa, qb, kp > 0, packed) };
                });
                continue;
            }
            if !native {
                // SAFETY: as below; rows of B and C are contiguous (checked).
                // Each instruction-set build for the types built so
                // (`Prebuilt::GEMM_PER_ISA`), the baseline one for the others.
                unsafe {
                    if const { T::GEMM_PER_ISA } {
                        blocked::blocked(dm, dn, dk, pc, qa, qb, kp > 0)
                    } else {
                        blocked::blocked_body::<T, BASELINE>(dm, dn, dk, pc, qa, qb, kp > 0)
                    }
                };
                continue;
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
        mark(KernelPath::GemmSplit);
        for_each_task(points, &run);
    } else {
        (0..points).for_each(run);
    }
    true
}
