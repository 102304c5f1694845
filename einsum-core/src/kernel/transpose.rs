//! A transposition done tile by tile: the output's contiguous axis steps
//! far apart in the inputs, and the inputs' in the output, so square tiles
//! keep both in cache.

use super::inner::product;
use crate::axes::Axis;
use crate::element::Scalar;

/// The side of the square tiles of [`store_tiled`]: two 32×32 tiles of f64
/// are 16 KiB, within L1.
pub(super) const TILE: usize = 32;

/// `o ← Π_k x_k` over the plane of axes `x` (outer) and `y` (inner), tile by
/// tile, so that a transposition reads and writes whole cache lines.
///
/// # Safety
/// Every point of the plane must be a valid element of each operand for
/// reads and of the output for writes, the output overlapping no operand.
pub(super) unsafe fn store_tiled<T: Scalar, const K: usize>(
    ptrs: [*const T; K],
    out: *mut T,
    x: &Axis<K>,
    y: &Axis<K>,
) {
    // A plain transposition: one operand, contiguous along one axis, the
    // output contiguous along the other.
    if K == 1 {
        let (c, r) = if y.strides[0] == 1 && x.out == 1 {
            (y, x)
        } else {
            (x, y)
        };
        if c.strides[0] == 1 && r.out == 1 {
            // SAFETY: the caller's promise, for the same plane.
            unsafe { transpose(ptrs[0], r.strides[0], r.size, out, c.out, c.size) };
            return;
        }
    }
    let at = |i: usize, j: usize| -> ([*const T; K], *mut T) {
        let (i, j) = (i as isize, j as isize);
        (
            core::array::from_fn(|k| {
                ptrs[k].wrapping_offset(
                    x.strides[k]
                        .wrapping_mul(i)
                        .wrapping_add(y.strides[k].wrapping_mul(j)),
                )
            }),
            out.wrapping_offset(x.out.wrapping_mul(i).wrapping_add(y.out.wrapping_mul(j))),
        )
    };
    for xb in (0..x.size).step_by(TILE) {
        for yb in (0..y.size).step_by(TILE) {
            let (xe, ye) = ((xb + TILE).min(x.size), (yb + TILE).min(y.size));
            for i in xb..xe {
                let (p, o) = at(i, yb);
                for j in 0..(ye - yb) as isize {
                    let q: [*const T; K] =
                        core::array::from_fn(|k| p[k].wrapping_offset(y.strides[k] * j));
                    // SAFETY: a point of the plane (caller).
                    unsafe { o.wrapping_offset(y.out * j).write(product(q)) };
                }
            }
        }
    }
}

/// The side of [`transpose`]'s blocks, moved through registers.
const BLOCK: usize = 8;

/// The output rows one band of [`transpose`] writes: their pages stay in the
/// TLB, and each input row is read a long run (8 KiB of f64) at a time.
/// Measured on the 4000² f64 bench: 40 ms per pass at 1024, 60 ms at 512.
const BAND: usize = 1024;

/// `out[j · os + i] ← x[i · xs + j]` for `i < rows`, `j < cols`: input rows
/// are contiguous, and so are output rows.
///
/// In bands of [`BAND`] output rows; within a band, eight input rows at a
/// time, in 8×8 blocks read as eight runs and written as eight runs.
///
/// # Safety
/// Every `x[i · xs + j]` must be a valid element for reads and every
/// `out[j · os + i]` a valid element for writes, distinct for distinct
/// `(i, j)`, not overlapping `x`.
#[inline(always)]
unsafe fn transpose<T: Scalar>(
    x: *const T,
    xs: isize,
    rows: usize,
    out: *mut T,
    os: isize,
    cols: usize,
) {
    let src = |i: usize, j: usize| {
        x.wrapping_offset((i as isize).wrapping_mul(xs))
            .wrapping_add(j)
    };
    let dst = |i: usize, j: usize| {
        out.wrapping_offset((j as isize).wrapping_mul(os))
            .wrapping_add(i)
    };
    for jb in (0..cols).step_by(BAND) {
        let je = (jb + BAND).min(cols);
        for i0 in (0..rows).step_by(BLOCK) {
            let h = BLOCK.min(rows - i0);
            let mut j0 = jb;
            if h == BLOCK {
                while j0 + BLOCK <= je {
                    // SAFETY: eight runs of eight elements of the input and
                    // of the output, all within the plane (caller); `[T; 8]`
                    // has `T`'s alignment.
                    unsafe {
                        let block: [[T; BLOCK]; BLOCK] =
                            core::array::from_fn(|r| src(i0 + r, j0).cast::<[T; BLOCK]>().read());
                        for c in 0..BLOCK {
                            let column: [T; BLOCK] = block.map(|row| row[c]);
                            dst(i0, j0 + c).cast::<[T; BLOCK]>().write(column);
                        }
                    }
                    j0 += BLOCK;
                }
            }
            // The band's edge, or the last rows: element by element.
            for i in i0..i0 + h {
                for j in j0..je {
                    // SAFETY: a point of the plane (caller).
                    unsafe { dst(i, j).write(*src(i, j)) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;

    #[test]
    fn tiled_store_transposes() {
        // Whole blocks, edges in both directions, and more than one band.
        for (r, c) in [(3, 5), (40, 70), (64, 64), (9, BAND + 3)] {
            let a: Vec<i32> = (0..(r * c) as i32).collect();
            let mut o = vec![-1; r * c];
            // o is (c, r) C-order: o[j, i] = a[i, j]; x walks a's rows' fast
            // axis j (a stride 1, o stride r), y walks i (a stride c, o stride 1).
            let x = axis(c, [1], r as isize);
            let y = axis(r, [c as isize], 1);
            // SAFETY: every (j, i) addresses a[i * c + j] and o[j * r + i].
            unsafe { store_tiled([a.as_ptr()], o.as_mut_ptr(), &x, &y) };
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(o[j * r + i], a[i * c + j]);
                }
            }
            // The same plane with the axes given the other way round.
            let mut o2 = vec![-1; r * c];
            // SAFETY: as above.
            unsafe { store_tiled([a.as_ptr()], o2.as_mut_ptr(), &y, &x) };
            assert_eq!(o2, o);
        }
        // Two operands take the general tiles: o[j, i] = a[i, j] · b[i, j].
        let (r, c) = (19, 37);
        let a: Vec<i64> = (0..(r * c) as i64).collect();
        let b: Vec<i64> = (0..(r * c) as i64).map(|v| 3 - v).collect();
        let mut o = vec![-1; r * c];
        let x = axis(c, [1, 1], r as isize);
        let y = axis(r, [c as isize, c as isize], 1);
        // SAFETY: as above, for both operands.
        unsafe { store_tiled([a.as_ptr(), b.as_ptr()], o.as_mut_ptr(), &x, &y) };
        for i in 0..r {
            for j in 0..c {
                assert_eq!(o[j * r + i], a[i * c + j] * b[i * c + j]);
            }
        }
    }
}
