//! B copied so that K merges: when the summed axes step through A as one
//! run but not through B (`"abcd,dcef->abef"`: c, d in A's order, d, c in
//! B's), B is copied into one (K, N) block with K in A's order, so one GEMM
//! over the whole K runs instead of one per K block, each of which reads
//! and writes all of C again.

use super::matrix::{Dim, Matrix, MAX_GEMM_AXES};
use crate::element::Scalar;

/// The fewest rows of A for which B is copied: the copy moves K·N
/// elements, the GEMM does M·K·N multiply-adds.
pub(super) const PACK_MIN_ROWS: usize = 16;

/// The most elements of B copied (32 MiB of `f64`): the copy stays in the
/// thread's scratch memory, which keeps its size.
pub(super) const PACK_MAX_LEN: usize = 1 << 22;

/// The whole of K in A's order: its dimensions, outermost first, and the
/// one dimension they make in A.
pub(super) struct KOrder {
    dims: [Dim; MAX_GEMM_AXES],
    len: usize,
    /// K as one dimension: its size, and A's stride along it.
    pub(super) k: Dim,
}

impl KOrder {
    /// K in A's order, if its dimensions (merged and not) step through A
    /// as one run.
    pub(super) fn of(matrix: &Matrix) -> Option<KOrder> {
        let mut dims = [Dim::UNIT; MAX_GEMM_AXES];
        let mut len = 0;
        for d in matrix.k_outer().iter().chain([&matrix.k]) {
            dims[len] = *d;
            len += 1;
        }
        let run = &mut dims[..len];
        run.sort_unstable_by_key(|d| core::cmp::Reverse(d.a.unsigned_abs()));
        let steps_as_one = run
            .windows(2)
            .all(|w| w[0].a == w[1].a.wrapping_mul(w[1].size as isize));
        if !steps_as_one {
            return None;
        }
        let size = run.iter().try_fold(1usize, |s, d| s.checked_mul(d.size))?;
        let k = Dim {
            size,
            a: run[len - 1].a,
            b: 0,
            c: 0,
        };
        Some(KOrder { dims, len, k })
    }
}

/// Copies B into `block`, a row of `dn.size` elements per K index in
/// `order`'s order.
///
/// # Safety
/// Every B[k, n] (`b` offset by each K dimension's and `dn`'s strides) is
/// a valid element for reads; `block` holds `order.k.size · dn.size`
/// elements.
pub(super) unsafe fn pack<T: Scalar>(block: &mut [T], order: &KOrder, b: *const T, dn: Dim) {
    let dims = &order.dims[..order.len];
    let mut index = [0usize; MAX_GEMM_AXES];
    let mut offset = 0isize;
    for row in block.chunks_exact_mut(dn.size).take(order.k.size) {
        let start = b.wrapping_offset(offset);
        if dn.b == 1 {
            // SAFETY: this row of B, `dn.size` contiguous elements (caller).
            row.copy_from_slice(unsafe { core::slice::from_raw_parts(start, dn.size) });
        } else {
            for (j, x) in row.iter_mut().enumerate() {
                // SAFETY: B[k, j], a valid element (caller).
                *x = unsafe { *start.wrapping_offset((j as isize).wrapping_mul(dn.b)) };
            }
        }
        // The next K index, innermost dimension first.
        for (d, i) in dims.iter().zip(&mut index).rev() {
            *i += 1;
            offset = offset.wrapping_add(d.b);
            if *i < d.size {
                break;
            }
            *i = 0;
            offset = offset.wrapping_sub(d.b.wrapping_mul(d.size as isize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;

    #[test]
    fn packs_b_in_the_order_of_a() {
        // "cd,dcn->n" read as GEMM with M = 1: A (2, 3) row-major, B (3, 2,
        // 2) row-major, so K's axes c, d step through A as one run but not
        // through B.
        let axes = [axis(2, [3, 2], 0), axis(3, [1, 4], 0), axis(2, [0, 1], 1)];
        let matrix = Matrix::of(&axes).expect("GEMM-shaped");
        assert_eq!(matrix.k_outer().len(), 1, "K does not merge in B");
        let order = KOrder::of(&matrix).expect("K merges in A");
        assert_eq!((order.k.size, order.k.a), (6, 1));
        let b: Vec<i32> = (0..12).collect();
        let mut block = [-1i32; 12];
        // SAFETY: every B index stays inside `b`; `block` holds 6 · 2.
        unsafe { pack(&mut block, &order, b.as_ptr(), matrix.n) };
        // Row (c, d) is B[d, c, ..] = b[d·4 + c·2 ..][..2].
        let mut want = Vec::new();
        for c in 0..2 {
            for d in 0..3 {
                want.extend_from_slice(&b[d * 4 + c * 2..][..2]);
            }
        }
        assert_eq!(block.to_vec(), want);
    }

    #[test]
    fn k_that_does_not_step_as_one_through_a_is_left() {
        // A's K strides 5 and 1 over sizes 2 and 3: a gap, so no one run.
        let axes = [axis(2, [5, 2], 0), axis(3, [1, 4], 0), axis(2, [0, 1], 1)];
        let matrix = Matrix::of(&axes).expect("GEMM-shaped");
        assert!(KOrder::of(&matrix).is_none());
    }
}
