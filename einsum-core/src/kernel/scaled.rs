//! A contraction written as `out ← alpha·result + beta·out` (the `alpha`
//! and `beta` options), with no temporary: the plain kernels overwriting
//! or adding into `out` where `alpha` is one or `beta` zero (a pass over
//! `out` scales it where a factor is neither zero nor one); else `gemm`
//! with its own factors when the contraction is a large enough GEMM, or a
//! loop nest that blends each output element as it writes it.
//!
//! Compiled where a call with `alpha` or `beta` is, for its element type:
//! calls without them never instantiate it.

use super::gemm::{gemm_call_scaled, point_offsets};
use super::inner;
use super::many::contract_many;
use super::matrix::Matrix;
use super::pool::{for_each_task, pool_threads, SendPtr};
use super::walk::{arrange, mask, split, walk, walk_masked};
use crate::axes::Axis;
use crate::desc::Scale;
use crate::element::Scalar;
use crate::limits::{MANY_OPERANDS, MAX_AXES};
use crate::trace::{mark, KernelPath};
use crate::tuning;

/// `out ← alpha·v + beta·out`, not reading `out` when `beta` is zero.
///
/// # Safety
/// `out` is valid for writes, and for reads when `beta` is not zero.
#[inline(always)]
unsafe fn blend<T: Scalar>(out: *mut T, v: T, alpha: T, beta: T) {
    // SAFETY: the caller's promise.
    unsafe {
        if beta == T::zero() {
            out.write(alpha.mul(v))
        } else {
            out.write(alpha.mul(v).add(beta.mul(out.read())))
        }
    }
}

/// `out ← alpha·result + beta·out` over elements of `T` with the type
/// erased: the entry the call layer runs for a call with `alpha` or `beta`
/// ([`Scaled`](crate::element::Scaled)), for the first `count` of the `K`
/// operands.
///
/// Where `alpha` is one, or `beta` zero, the type's own kernels take the
/// call, every one of them as the plain call would choose: overwriting
/// `out`, or adding into it (`beta` one; any other `beta` scales `out`
/// first, in one pass), then scaling the result by `alpha` in one pass
/// when it is not one. Both other than that, [`contract_scaled`] blends
/// each element as it is written.
///
/// # Safety
/// As [`contract_scaled`], the pointers (and `scale`'s) addressing `T`s.
pub(crate) unsafe fn contract_scaled_erased<T: Scalar, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const (); K],
    count: usize,
    out: *mut (),
    scale: Scale,
) {
    // SAFETY: the caller's promise: `scale` addresses two `T`s.
    let (alpha, beta) = unsafe {
        (
            scale.alpha.cast::<T>().read(),
            scale.beta.cast::<T>().read(),
        )
    };
    let (zero, one) = (T::zero(), T::one());
    if alpha == one || beta == zero {
        let add = beta != zero;
        // SAFETY (all three): the caller's promise; the output points are
        // valid for reads and writes, and `out` is read only when adding,
        // as the caller allows with a `beta` other than zero. The scaling
        // after reads only elements the kernel wrote.
        unsafe {
            if add && beta != one {
                scale_outputs(axes, out.cast::<T>(), beta);
            }
            if alpha == one {
                plain::<T, K>(axes, ptrs, count, out, add);
            } else {
                // (The kernels reorder and merge the axes in place: the
                // scaling after walks a copy taken before.)
                let mut kept = [Axis::<K>::EMPTY; MAX_AXES];
                kept[..axes.len()].copy_from_slice(axes);
                let kept = &kept[..axes.len()];
                plain::<T, K>(axes, ptrs, count, out, add);
                scale_outputs(kept, out.cast::<T>(), alpha);
            }
        }
        return;
    }
    // SAFETY: the caller's promise, with the pointers' own type.
    unsafe {
        contract_scaled(
            axes,
            ptrs.map(<*const ()>::cast::<T>),
            count,
            out.cast::<T>(),
            alpha,
            beta,
        )
    }
}

/// The type's own kernels, prebuilt for it where they are
/// ([`Prebuilt`]): overwriting `out`, or adding into it when `add`.
///
/// # Safety
/// As [`super::contract`], the pointers addressing `T`s, and `out` valid
/// for reads too when `add`.
unsafe fn plain<T: Scalar, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const (); K],
    count: usize,
    out: *mut (),
    add: bool,
) {
    let axes: *mut [Axis<K>] = axes;
    // SAFETY (each arm): `K` (or `count`) is the arm's number, so
    // `Axis<K>` is that very type and the pointers are exactly its
    // operands'; the rest is the caller's promise.
    // (Constant conditions, `const`, so that only the branch taken is
    // instantiated.)
    unsafe {
        if const { K == 1 } {
            T::dispatch1(&mut *(axes as *mut [Axis<1>]), [ptrs[0]], out, add)
        } else if const { K == 2 } {
            T::dispatch2(
                &mut *(axes as *mut [Axis<2>]),
                [ptrs[0], ptrs[K - 1]],
                out,
                add,
            )
        } else if const { K == MANY_OPERANDS } {
            let axes = &mut *(axes as *mut [Axis<MANY_OPERANDS>]);
            let ptrs = *(&ptrs as *const [*const (); K]).cast::<[*const (); MANY_OPERANDS]>();
            T::many(axes, ptrs, count, out, add)
        } else {
            contract_many::<T, K>(
                &mut *axes,
                ptrs.map(<*const ()>::cast),
                count,
                out.cast(),
                add,
            )
        }
    }
}

/// `out[o] ← factor · out[o]` at every output point of `axes`.
///
/// # Safety
/// Every output point of the axes is an element valid for reads and writes.
unsafe fn scale_outputs<T: Scalar, const K: usize>(axes: &[Axis<K>], out: *mut T, factor: T) {
    let outputs = mask(axes, |_, a| !a.summed);
    let ptrs = [out.cast_const(); K];
    // SAFETY: the caller's promise; only the output is stepped through.
    unsafe {
        walk_masked(axes, outputs, ptrs, out, &mut |_, o: *mut T| {
            o.write(factor.mul(o.read()))
        })
    };
}

/// Computes `out[o] ← alpha · Σ_s Π_{k < count} in_k[o, s] + beta · out[o]`
/// over `axes`, for the first `count` of the `K` operands, not reading
/// `out` when `beta` is zero.
///
/// # Safety
/// As [`super::contract`] for those `count` operands (the other pointers
/// are never read), `out` also valid for reads.
pub(crate) unsafe fn contract_scaled<T: Scalar, const K: usize>(
    axes: &mut [Axis<K>],
    ptrs: [*const T; K],
    count: usize,
    out: *mut T,
    alpha: T,
    beta: T,
) {
    assert!((1..=K).contains(&count), "einsum: operands within the room");
    if axes.iter().any(|a| a.size == 0) {
        if axes.iter().all(|a| a.size != 0 || a.summed) {
            // A sum over an empty range: `out ← alpha·0 + beta·out`.
            let outputs = mask(axes, |_, a| !a.summed);
            // SAFETY: the output points are valid (caller).
            unsafe {
                walk_masked(axes, outputs, ptrs, out, &mut |_, o: *mut T| {
                    blend(o, T::zero(), alpha, beta)
                })
            };
        }
        return;
    }
    let n = arrange(axes);
    let axes = &axes[..n];
    if const { K == 2 } && count == 2 && T::IN_GEMM && !cfg!(miri) {
        // SAFETY: the caller's promise, over the same points.
        if unsafe { gemm_scaled(axes, ptrs[0], ptrs[K - 1], out, alpha, beta) } {
            return;
        }
    }
    // SAFETY: the caller's promise, over the same points reordered; each
    // chunk of the split is a part of them, with its own output elements.
    unsafe {
        split(axes, ptrs, out, &|axes, ptrs, out| {
            serial(axes, ptrs, count, out, alpha, beta)
        })
    }
}

/// The nest on this thread, over axes ordered by [`arrange`], in the three
/// shapes of the plain nest (`nest::serial`): each output element's sum in
/// a register, blended once (reduce); each product blended once (map); or
/// the output scaled by `beta` (zeroed when it is zero), then `alpha` times
/// each product added (accumulate).
///
/// # Safety
/// As [`contract_scaled`], over axes ordered by [`arrange`].
unsafe fn serial<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    ptrs: [*const T; K],
    count: usize,
    out: *mut T,
    alpha: T,
    beta: T,
) {
    let Some((inner, rest)) = axes.split_last() else {
        // SAFETY: index zero of each operand and of the output (caller).
        unsafe { blend(out, inner::product_of(ptrs, count), alpha, beta) };
        return;
    };
    // SAFETY (each shape): every point visited is a point of the caller's
    // nest, so each address is valid (caller).
    unsafe {
        if inner.summed {
            let last = axes.len() - 1;
            let outputs = mask(axes, |_, a| !a.summed);
            // Of one or two operands, the innermost run is summed by the
            // plain nest's vectorized sum.
            let runs = K <= 2;
            let summed = mask(axes, |i, a| a.summed && !(runs && i == last));
            walk_masked(axes, outputs, ptrs, out, &mut |p, o: *mut T| {
                let mut acc = T::zero();
                walk_masked(axes, summed, p, o, &mut |q, _| {
                    acc = acc.add(if runs {
                        inner::sum(q, inner)
                    } else {
                        inner::product_of(q, count)
                    })
                });
                blend(o, acc, alpha, beta)
            });
        } else if rest.iter().all(|a| !a.summed) {
            walk(axes, ptrs, out, &mut |p, o| {
                blend(o, inner::product_of(p, count), alpha, beta)
            });
        } else {
            let outputs = mask(axes, |_, a| !a.summed);
            walk_masked(axes, outputs, ptrs, out, &mut |_, o: *mut T| {
                blend(o, T::zero(), T::zero(), beta)
            });
            walk(axes, ptrs, out, &mut |p, o| {
                o.write(o.read().add(alpha.mul(inner::product_of(p, count))))
            });
        }
    }
}

/// `gemm` with its own `alpha` and `beta` over each outer point of a
/// GEMM-shaped contraction large enough for it (the first K block scaled
/// by `beta`, the others added), the points over the pool or each call
/// over `gemm`'s threads when large. Returns whether it took the
/// contraction; `false` having written nothing.
///
/// # Safety
/// As [`contract_scaled`] for two operands, over axes ordered by
/// [`arrange`]; `T` is one of `gemm`'s types.
unsafe fn gemm_scaled<T: Scalar, const K: usize>(
    axes: &[Axis<K>],
    a: *const T,
    b: *const T,
    c: *mut T,
    alpha: T,
    beta: T,
) -> bool {
    let limits = tuning::current();
    let work = axes
        .iter()
        .try_fold(1usize, |w, ax| w.checked_mul(ax.size))
        .unwrap_or(usize::MAX);
    if work < limits.gemm_min_work {
        return false;
    }
    let mut matrix = Matrix::EMPTY;
    if !matrix.read(axes) {
        return false;
    }
    let (dm, dn, dk) = (matrix.m, matrix.n, matrix.k);
    let min_len = limits.gemm_min_len;
    if dk.size < min_len || dm.size.max(dn.size) < min_len {
        return false;
    }
    let (outer, k_outer) = (matrix.outer(), matrix.k_outer());
    let points: usize = outer.iter().map(|d| d.size).product();
    let kpoints: usize = k_outer.iter().map(|d| d.size).product();
    let threads = pool_threads();
    let parallel = threads > 1 && work >= limits.parallel_min_work;
    let split = parallel && points >= 2 * threads;
    let par = if parallel && !split {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let (a, b, c) = (SendPtr(a), SendPtr(b), SendPtr(c));
    let run = |point: usize| {
        let (oa, ob, oc) = point_offsets(outer, point);
        let (pa, pb, pc) = (
            a.get().wrapping_offset(oa),
            b.get().wrapping_offset(ob),
            c.get().wrapping_offset(oc),
        );
        for kp in 0..kpoints {
            let (ka, kb, _) = point_offsets(k_outer, kp);
            let (qa, qb) = (pa.wrapping_offset(ka), pb.wrapping_offset(kb));
            let beta = if kp == 0 { beta } else { T::one() };
            // SAFETY: one point's product and K block, within the
            // caller's nest; distinct points write distinct elements of C.
            unsafe { gemm_call_scaled(dm, dn, dk, pc, qa, qb, (alpha, beta), par) };
        }
    };
    mark(KernelPath::Gemm);
    if split {
        for_each_task(points, &run);
    } else {
        (0..points).for_each(run);
    }
    true
}
