//! The skinny GEMM: at most 16 output columns, a few rows of C kept in
//! registers over the whole K (portable build; AVX-512 CPUs run
//! `skinny512`).

use super::isa;
use super::matrix::{row_start, Dim};
use crate::element::Scalar;

/// The most columns the skinny kernel takes.
pub(super) const SKINNY_N: usize = 16;

/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) for at most
/// [`SKINNY_N`] columns, with rows of C contiguous.
///
/// B (any strides) is copied once into rows padded to 8 or 16 elements (the padding's
/// values are never read into C); then 4 rows of C stay in registers over
/// the whole K, each step
/// a row of B against one element of A per row, fused multiply-adds where
/// the build has them.
///
/// Built for AVX2 and the baseline alone: an AVX-512 CPU runs `skinny512`
/// for the same work.
///
/// # Safety
/// As [`blocked`] for `dims` = `[dm, dn, dk]`, with `dn.size <= SKINNY_N`
/// but any `dn.b`: every (m, n, k) index addresses valid elements of A and
/// B for reads and of C for writes (C overlapping neither), distinct (m, n)
/// distinct elements, and `dn.c == 1`.
pub(super) unsafe fn skinny_gemm<T: Scalar>(
    dims: [Dim; 3],
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    packed: &mut [T],
) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<T: Scalar>(
        dims: [Dim; 3],
        c: *mut T,
        a: *const T,
        b: *const T,
        accumulate: bool,
        packed: &mut [T],
    ) {
        // SAFETY: the caller's promise.
        unsafe { skinny_body::<T, { isa::AVX2 }>(dims, c, a, b, accumulate, packed) }
    }
    match isa::isa() {
        // SAFETY: `isa` found the CPU has AVX2 and FMA (an AVX-512 CPU has
        // both); the caller's promise is passed on.
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        isa::Isa::Avx512 | isa::Isa::Avx2 => unsafe { avx2(dims, c, a, b, accumulate, packed) },
        // SAFETY: the caller's promise.
        _ => unsafe { skinny_body::<T, { isa::BASELINE }>(dims, c, a, b, accumulate, packed) },
    }
}

/// The body of [`skinny_gemm`], inlined into each instruction-set build.
///
/// # Safety
/// As [`skinny_gemm`].
#[inline(always)]
unsafe fn skinny_body<T: Scalar, const B: u8>(
    dims: [Dim; 3],
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    packed: &mut [T],
) {
    let [dm, dn, dk] = dims;
    // SAFETY: the caller's promise, passed on with the padded width.
    unsafe {
        if dn.size <= 8 {
            skinny_padded::<T, B, 8>(dm, dn, dk, c, a, b, accumulate, packed)
        } else {
            skinny_padded::<T, B, 16>(dm, dn, dk, c, a, b, accumulate, packed)
        }
    }
}

/// [`skinny_body`] with rows of B padded to `P` elements, copied into
/// `packed` (`k · P` elements).
///
/// # Safety
/// As [`skinny_gemm`], with `dn.size <= P`.
#[allow(clippy::too_many_arguments, reason = "those of `skinny_gemm`")]
#[inline(always)]
unsafe fn skinny_padded<T: Scalar, const B: u8, const P: usize>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
    packed: &mut [T],
) {
    let (m, n, k) = (dm.size, dn.size, dk.size);
    debug_assert!(n <= P && dn.c == 1);
    let packed = &mut packed[..k * P];
    {
        // The padding keeps whatever the scratch held: the sums it feeds
        // are never stored.
        // SAFETY: B's `k` rows of `n` elements are valid for reads
        // (caller); `packed` holds `k` rows of `P >= n`.
        unsafe { copy_rows(packed, P, b, dk, dn) };
        let rows = |i: usize| row_start(dm, c, a, i);
        let mut i = 0;
        // Four rows at a time, then two and one. (AVX-512 CPUs run
        // `skinny512` instead.)
        while i + 4 <= m {
            let r: [(*mut T, *const T); 4] = core::array::from_fn(|j| rows(i + j));
            // SAFETY: four distinct rows of C (caller).
            unsafe { skinny_rows::<T, B, P, 4>(r, dk.a, packed, n, accumulate) };
            i += 4;
        }
        if i + 2 <= m {
            let r: [(*mut T, *const T); 2] = core::array::from_fn(|j| rows(i + j));
            // SAFETY: two distinct rows of C (caller).
            unsafe { skinny_rows::<T, B, P, 2>(r, dk.a, packed, n, accumulate) };
            i += 2;
        }
        if i < m {
            // SAFETY: one row of C (caller).
            unsafe { skinny_rows::<T, B, P, 1>([rows(i)], dk.a, packed, n, accumulate) };
        }
    }
}

/// Copies B (`dk.size` rows of `dn.size` elements, any strides) into
/// `rows`, a row every `width` elements (`width >= dn.size`, at most
/// [`SKINNY_N`] columns); what lies past `dn.size` in a row is left as it
/// was.
///
/// # Safety
/// Every B[k, n] is a valid element for reads; `rows` holds at least
/// `dk.size · width` elements.
#[inline(always)]
pub(super) unsafe fn copy_rows<T: Scalar>(
    rows: &mut [T],
    width: usize,
    b: *const T,
    dk: Dim,
    dn: Dim,
) {
    let n = dn.size;
    for (kk, row) in rows.chunks_exact_mut(width).take(dk.size).enumerate() {
        let start = b.wrapping_offset((kk as isize).wrapping_mul(dk.b));
        if dn.b == 1 {
            // SAFETY: row kk of B, `n` contiguous elements (caller).
            let src = unsafe { core::slice::from_raw_parts(start, n) };
            // Fixed-size moves, not library calls for ten elements.
            copy_short(&mut row[..n], src);
        } else {
            for (j, x) in row[..n].iter_mut().enumerate() {
                // SAFETY: B[kk, j], a valid element (caller).
                *x = unsafe { *start.wrapping_offset((j as isize).wrapping_mul(dn.b)) };
            }
        }
    }
}

/// `R` rows of C against the packed rows of B, the sums in registers.
///
/// # Safety
/// `rows[r].0` addresses `n` valid elements of C for writes, disjoint from
/// each other and from A; `rows[r].1` addresses A's row, an element per
/// packed row of B at steps of `ka`.
#[inline(always)]
unsafe fn skinny_rows<T: Scalar, const B: u8, const P: usize, const R: usize>(
    rows: [(*mut T, *const T); R],
    ka: isize,
    packed: &[T],
    n: usize,
    accumulate: bool,
) {
    // SAFETY: `n` elements of each row of C (caller); the rows are
    // disjoint.
    let mut c: [&mut [T]; R] = rows.map(|(c, _)| unsafe { core::slice::from_raw_parts_mut(c, n) });
    let mut acc = [[T::zero(); P]; R];
    if accumulate {
        for (acc, c) in acc.iter_mut().zip(&c) {
            copy_short(&mut acc[..n], c);
        }
    }
    let mut pa = rows.map(|(_, a)| a);
    let step = |acc: &mut [[T; P]; R], pa: &mut [*const T; R], brow: &[T]| {
        let brow: &[T; P] = brow.try_into().expect("a padded row");
        for (acc, pa) in acc.iter_mut().zip(pa.iter_mut()) {
            // SAFETY: A[m, kk] for this row's m (caller).
            let x = unsafe { pa.read() };
            *pa = pa.wrapping_offset(ka);
            for (s, &y) in acc.iter_mut().zip(brow) {
                *s = if isa::fuses(B) {
                    s.fused_add(x, y)
                } else {
                    s.add(x.mul(y))
                };
            }
        }
    };
    if R <= 2 {
        // Few rows: a second set of sums for odd k, so that the additions
        // of one row do not wait on each other.
        let mut odd = [[T::zero(); P]; R];
        let mut pairs = packed.chunks_exact(2 * P);
        for two in &mut pairs {
            step(&mut acc, &mut pa, &two[..P]);
            step(&mut odd, &mut pa, &two[P..]);
        }
        for brow in pairs.remainder().chunks_exact(P) {
            step(&mut acc, &mut pa, brow);
        }
        for (acc, odd) in acc.iter_mut().zip(&odd) {
            for (s, &o) in acc.iter_mut().zip(odd) {
                *s = s.add(o);
            }
        }
    } else {
        for brow in packed.chunks_exact(P) {
            step(&mut acc, &mut pa, brow);
        }
    }
    for (acc, c) in acc.iter().zip(c.iter_mut()) {
        copy_short(c, &acc[..n]);
    }
}

/// `dst ← src` for runs of at most 16 elements, as two fixed-size copies
/// that may overlap (so the compiler emits a few vector moves, not a call
/// to `memcpy` for a length it does not know).
#[inline(always)]
fn copy_short<T: Copy>(dst: &mut [T], src: &[T]) {
    #[inline(always)]
    fn two<T: Copy, const W: usize>(dst: &mut [T], src: &[T]) {
        let n = dst.len();
        for at in [0, n - W] {
            let d: &mut [T; W] = (&mut dst[at..at + W]).try_into().expect("W elements");
            *d = src[at..at + W].try_into().expect("W elements");
        }
    }
    let n = dst.len();
    debug_assert!(n == src.len() && n <= 16);
    match n {
        8.. => two::<T, 8>(dst, src),
        4..=7 => two::<T, 4>(dst, src),
        2..=3 => two::<T, 2>(dst, src),
        1 => dst[0] = src[0],
        _ => {}
    }
}
