//! A two-operand contraction read as batched GEMM:
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
//! dimension; the others are looped over outside, so a strided, transposed
//! or windowed operand is read in place and no whole operand is copied.
//!
//! Labels summed in one operand only, or a summed axis no operand steps
//! along, are not GEMM-shaped: those expressions stay in the loop nest.

use crate::axes::Axis;

/// One GEMM dimension: its length and the strides of A, B and C along it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dim {
    pub(crate) size: usize,
    pub(crate) a: isize,
    pub(crate) b: isize,
    pub(crate) c: isize,
}

impl Dim {
    pub(super) const UNIT: Dim = Dim {
        size: 1,
        a: 0,
        b: 0,
        c: 0,
    };

    /// The axis of a two-operand call (A is operand 0, B operand 1).
    fn of<const K: usize>(axis: &Axis<K>) -> Dim {
        Dim {
            size: axis.size,
            a: axis.strides[0],
            b: axis.strides[K - 1],
            c: axis.out,
        }
    }
}

/// The most loop axes a contraction may have to be read as a GEMM (more
/// stay in the loop nest); small, so the tables below are cheap to set up.
pub(crate) const MAX_GEMM_AXES: usize = 16;

/// Merges the innermost run of `dims` that steps through memory as one in
/// both strides `key` picks. Sorts `dims` in place, largest strides first,
/// and returns the merged run and how many dimensions at the front it left
/// out (those are looped over).
fn merge_inner(dims: &mut [Dim], key: fn(&Dim) -> (isize, isize)) -> (Dim, usize) {
    if dims.is_empty() {
        return (Dim::UNIT, 0);
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
    (run, first)
}

/// The classes of a GEMM's loop axes, in the order [`Matrix::of`] lays
/// them out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Batch,
    M,
    N,
    K,
}

/// A contraction read as GEMM: the merged dimensions `m`, `n` and `k`, and
/// the dimensions looped over around them.
#[derive(Clone, Copy)]
pub(super) struct Matrix {
    /// Batch, and the parts of M and N that did not merge (the outer
    /// points); then the part of K that did not merge (K blocks).
    loops: [Dim; MAX_GEMM_AXES],
    outer: usize,
    len: usize,
    /// The merged M, N and K.
    pub(super) m: Dim,
    pub(super) n: Dim,
    pub(super) k: Dim,
}

impl Matrix {
    /// The GEMM at one point: the merged dimensions alone.
    pub(super) fn one_point(&self) -> Matrix {
        Matrix {
            m: self.m,
            n: self.n,
            k: self.k,
            ..Matrix::EMPTY
        }
    }

    /// The dimensions looped over outside each GEMM, each a separate point.
    pub(super) fn outer(&self) -> &[Dim] {
        &self.loops[..self.outer]
    }

    /// The dimensions of K that did not merge, each a K block of one point.
    pub(super) fn k_outer(&self) -> &[Dim] {
        &self.loops[self.outer..self.len]
    }

    /// A GEMM of one point, to read axes into with [`Matrix::read`].
    pub(super) const EMPTY: Matrix = Matrix {
        loops: [Dim::UNIT; MAX_GEMM_AXES],
        outer: 0,
        len: 0,
        m: Dim::UNIT,
        n: Dim::UNIT,
        k: Dim::UNIT,
    };

    /// The GEMM of a product whose parts are known: one batch dimension
    /// looped over, and M, N and K (a dimension of one element is read as
    /// the run-time path reads it, with no strides).
    pub(super) fn of_parts(batch: Dim, m: Dim, n: Dim, k: Dim) -> Matrix {
        let unit = |d: Dim| if d.size == 1 { Dim::UNIT } else { d };
        let mut matrix = Matrix {
            m: unit(m),
            n: unit(n),
            k: unit(k),
            ..Matrix::EMPTY
        };
        if batch.size > 1 {
            matrix.loops[0] = batch;
            (matrix.outer, matrix.len) = (1, 1);
        }
        matrix
    }

    /// The axes of a two-operand contraction (A is operand 0, B operand 1)
    /// read as GEMM, or `None` if they are not GEMM-shaped or too many.
    #[cfg(test)]
    pub(super) fn of<const K: usize>(axes: &[Axis<K>]) -> Option<Matrix> {
        let mut matrix = Matrix::EMPTY;
        matrix.read(axes).then_some(matrix)
    }

    /// Reads the axes of a two-operand contraction (A is operand 0, B
    /// operand 1) as GEMM into `self`, in place (the table is a few hundred
    /// bytes, which a small call would otherwise copy on its way); false,
    /// with `self` left unspecified, if they are not GEMM-shaped or too
    /// many.
    pub(super) fn read<const K: usize>(&mut self, axes: &[Axis<K>]) -> bool {
        if K != 2 || axes.len() > MAX_GEMM_AXES {
            return false;
        }
        let class = |ax: &Axis<K>| {
            let d = Dim::of(ax);
            match (d.a != 0, d.b != 0, !ax.summed) {
                (true, false, true) => Some(Class::M),
                (false, true, true) => Some(Class::N),
                (true, true, false) => Some(Class::K),
                (true, true, true) | (false, false, true) => Some(Class::Batch),
                // Summed in one operand only, or in none: not a GEMM.
                _ => None,
            }
        };
        if axes.iter().any(|ax| ax.size > 1 && class(ax).is_none()) {
            return false;
        }
        // One table, grouped by class: batch, M, N, K; then the dimensions
        // left unmerged moved down to follow the batch ones.
        let mut ends = [0usize; 4];
        let mut len = 0;
        for (g, want) in [Class::Batch, Class::M, Class::N, Class::K]
            .into_iter()
            .enumerate()
        {
            for ax in axes
                .iter()
                .filter(|ax| ax.size > 1 && class(ax) == Some(want))
            {
                self.loops[len] = Dim::of(ax);
                len += 1;
            }
            ends[g] = len;
        }
        let dims = &mut self.loops;
        let (dm, m_left) = merge_inner(&mut dims[ends[0]..ends[1]], |d| (d.a, d.c));
        let (dn, n_left) = merge_inner(&mut dims[ends[1]..ends[2]], |d| (d.b, d.c));
        let (dk, k_left) = merge_inner(&mut dims[ends[2]..ends[3]], |d| (d.a, d.b));
        // Each group's unmerged dimensions are at its front.
        let mut at = ends[0] + m_left;
        dims.copy_within(ends[1]..ends[1] + n_left, at);
        at += n_left;
        let outer = at;
        dims.copy_within(ends[2]..ends[2] + k_left, at);
        at += k_left;
        self.outer = outer;
        self.len = at;
        (self.m, self.n, self.k) = (dm, dn, dk);
        true
    }
}

/// Where row `i` (along M) of C and of A start.
#[inline(always)]
pub(super) fn row_start<T>(dm: Dim, c: *mut T, a: *const T, i: usize) -> (*mut T, *const T) {
    let i = i as isize;
    (
        c.wrapping_offset(i.wrapping_mul(dm.c)),
        a.wrapping_offset(i.wrapping_mul(dm.a)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_innermost_run() {
        // M axes of A (strides 4, 1 → i, j with j inner) and C (strides 4, 1
        // for a (3, 4) block): mergeable when C's outer stride is 4·1.
        let i = Dim {
            size: 3,
            a: 4,
            b: 0,
            c: 4,
        };
        let j = Dim {
            size: 4,
            a: 1,
            b: 0,
            c: 1,
        };
        let mut m = [j, i];
        let (d, left) = merge_inner(&mut m, |d| (d.a, d.c));
        assert_eq!((d.size, left), (12, 0));
        // Not mergeable in C: the outer axis is looped.
        let mut m = [Dim { c: 5, ..i }, j];
        let (d, left) = merge_inner(&mut m, |d| (d.a, d.c));
        assert_eq!((d.size, left), (4, 1));
        assert_eq!(m[0], Dim { c: 5, ..i });
    }
}
