//! The blocked GEMM for element types the `gemm` crate lacks (integers),
//! and for everything under Miri.

use super::matrix::{row_start, Dim};
use crate::element::Scalar;

multiversion! {
/// `C[m, n] ← Σ_k A[m, k] · B[k, n]` (`+=` when `accumulate`) for element
/// types `gemm` lacks, with rows of B and C contiguous.
///
/// LOOP 2: split n into panels of `COLS` columns; LOOP 1: four rows of C at
/// a time (then one); inside, each row of B, read once from cache, feeds the
/// four rows, and the column loop runs over slices, so it vectorizes.
///
/// # Safety
/// Every (m, n, k) index addresses valid elements of A and B for reads and of
/// C for writes (C overlapping neither), distinct (m, n) distinct elements,
/// and `dn.b == dn.c == 1`.
pub(super) unsafe fn blocked<T: Scalar>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) => blocked_body;
}

/// The body of [`blocked`], inlined into each instruction-set build.
///
/// # Safety
/// As [`blocked`].
#[inline(always)]
pub(super) unsafe fn blocked_body<T: Scalar, const B: u8>(
    dm: Dim,
    dn: Dim,
    dk: Dim,
    c: *mut T,
    a: *const T,
    b: *const T,
    accumulate: bool,
) {
    /// Columns of a panel: four rows of 256 i64 are 8 KiB of C, within L1.
    const COLS: usize = 256;
    debug_assert!(dn.b == 1 && dn.c == 1);
    let (m, n) = (dm.size, dn.size);
    for j0 in (0..n).step_by(COLS) {
        let w = COLS.min(n - j0);
        let row = |i: usize| row_start(dm, c.wrapping_add(j0), a, i);
        let b = b.wrapping_add(j0);
        let mut i = 0;
        while i + 4 <= m {
            let rows: [(*mut T, *const T); 4] = core::array::from_fn(|r| row(i + r));
            // SAFETY: four distinct rows of C (distinct m), each `w`
            // contiguous elements (caller).
            unsafe { panel(rows, b, dk, w, accumulate) };
            i += 4;
        }
        while i < m {
            // SAFETY: as above, one row.
            unsafe { panel([row(i)], b, dk, w, accumulate) };
            i += 1;
        }
    }
}

/// `R` rows of C (each `w` long) against `dk.size` rows of B.
///
/// # Safety
/// As [`blocked`], for these rows: `rows[r].0` is `w` valid elements of C
/// for writes, disjoint from each other and from A and B; `rows[r].1`
/// addresses A's row, stepping `dk.a` per k; `b` is `w` valid elements per
/// k, stepping `dk.b`.
#[inline(always)]
unsafe fn panel<T: Scalar, const R: usize>(
    rows: [(*mut T, *const T); R],
    b: *const T,
    dk: Dim,
    w: usize,
    accumulate: bool,
) {
    // SAFETY: the rows are disjoint runs of `w` elements of C (caller).
    let mut c: [&mut [T]; R] = rows.map(|(c, _)| unsafe { core::slice::from_raw_parts_mut(c, w) });
    if !accumulate {
        for row in c.iter_mut() {
            row.fill(T::zero());
        }
    }
    for kk in 0..dk.size as isize {
        // SAFETY: row kk of B, `w` elements (caller).
        let brow =
            unsafe { core::slice::from_raw_parts(b.wrapping_offset(kk.wrapping_mul(dk.b)), w) };
        // SAFETY: A[m, kk] for each row's m (caller).
        let av: [T; R] = rows.map(|(_, a)| unsafe { *a.wrapping_offset(kk.wrapping_mul(dk.a)) });
        for (r, row) in c.iter_mut().enumerate() {
            let x = av[r];
            for (cj, &bj) in row.iter_mut().zip(brow) {
                *cj = cj.add(x.mul(bj));
            }
        }
    }
}
