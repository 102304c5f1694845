//! A transposition done tile by tile: the output's contiguous axis steps
//! far apart in the inputs, and the inputs' in the output, so square tiles
//! keep both in cache; a large one written around the caches.

use super::inner::product;
#[cfg(all(target_arch = "x86_64", not(miri)))]
use super::isa::BASELINE;
use crate::axes::Axis;
use crate::element::Scalar;

/// The side of the square tiles of [`store_tiled`]: two 32×32 tiles of f64
/// are 16 KiB, within L1.
pub(super) const TILE: usize = 32;

/// Outputs of more than this many bytes are written with non-temporal
/// stores, which skip reading each output line before writing it and leave
/// the caches to the input. f64, one core, streamed against not: 4000²
/// (128 MB) 9.1–10.3 ms against 19.1–19.4 ms; 2048² 3.0–3.3 ms against
/// 3.8–4.6 ms; 1056² (8.5 MiB) 0.37–0.42 ms against 0.73–0.88 ms; 1024²
/// (8 MiB) 0.70 ms against 0.55 ms.
pub(super) const STREAM_ABOVE_BYTES: usize = 1 << 23;

/// `o ← Π_k x_k` over the plane of axes `x` (outer) and `y` (inner), tile by
/// tile, so that a transposition reads and writes whole cache lines; with
/// `stream`, a plain transposition's output written around the caches.
///
/// # Safety
/// Every point of the plane must be a valid element of each operand for
/// reads and of the output for writes, the output overlapping no operand.
pub(super) unsafe fn store_tiled<T: Scalar, const K: usize, const B: u8>(
    ptrs: [*const T; K],
    out: *mut T,
    x: &Axis<K>,
    y: &Axis<K>,
    stream: bool,
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
            unsafe { transpose::<T, B>(ptrs[0], r.strides[0], r.size, out, c.out, c.size, stream) };
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

/// The bytes of a cache line.
const LINE: usize = 64;

/// `out[j · os + i] ← x[i · xs + j]` for `i < rows`, `j < cols`: input rows
/// are contiguous, and so are output rows.
///
/// In bands of [`BAND`] output rows; within a band, eight input rows at a
/// time, in 8×8 blocks read as eight runs and written as eight runs, and
/// the band's last columns a run of eight each. When every output row
/// starts at one offset within a cache line, the first rows up to a line's
/// start go element by element, so that each run fills whole lines; with
/// `stream` too, and runs of whole lines, the runs are non-temporal stores.
///
/// # Safety
/// Every `x[i · xs + j]` must be a valid element for reads and every
/// `out[j · os + i]` a valid element for writes, distinct for distinct
/// `(i, j)`, not overlapping `x`.
#[inline(always)]
unsafe fn transpose<T: Scalar, const B: u8>(
    x: *const T,
    xs: isize,
    rows: usize,
    out: *mut T,
    os: isize,
    cols: usize,
    stream: bool,
) {
    let src = |i: usize, j: usize| {
        x.wrapping_offset((i as isize).wrapping_mul(xs))
            .wrapping_add(j)
    };
    let dst = |i: usize, j: usize| {
        out.wrapping_offset((j as isize).wrapping_mul(os))
            .wrapping_add(i)
    };
    let size = core::mem::size_of::<T>();
    let to_line = (LINE - out as usize % LINE) % LINE;
    let aligned =
        size > 0 && (os.unsigned_abs() * size).is_multiple_of(LINE) && to_line.is_multiple_of(size);
    let lead = if aligned {
        (to_line / size).min(rows)
    } else {
        0
    };
    let streamed = stream && aligned && core::mem::size_of::<[T; BLOCK]>().is_multiple_of(LINE);
    // The rows before the first whose runs start on a line.
    for i in 0..lead {
        for j in 0..cols {
            // SAFETY: a point of the plane (caller).
            unsafe { dst(i, j).write(*src(i, j)) };
        }
    }
    for jb in (0..cols).step_by(BAND) {
        let je = (jb + BAND).min(cols);
        for i0 in (lead..rows).step_by(BLOCK) {
            let h = BLOCK.min(rows - i0);
            let mut j0 = jb;
            if h == BLOCK {
                let count = (je - j0) / BLOCK;
                // SAFETY: `count` whole blocks from (i0, j0), all within the
                // plane (caller); streamed, each run is whole lines from a
                // line's start (`aligned`, `lead`, and `streamed`'s size
                // test).
                unsafe { blocks::<T, B>(src(i0, j0), xs, dst(i0, j0), os, count, streamed) };
                // The band's last columns, each one run of the block's rows:
                // whole lines written at once, so a line is not read first
                // (streamed) or, in cache, written in eight pieces.
                for j in j0 + count * BLOCK..je {
                    // SAFETY: column j of the block's rows, within the plane
                    // (caller); streamed, its run is whole lines from a
                    // line's start, as above.
                    unsafe {
                        let run: [T; BLOCK] = core::array::from_fn(|r| *src(i0 + r, j));
                        write_run(dst(i0, j).cast(), run, streamed);
                    }
                }
                j0 = je;
            }
            // The last rows: element by element.
            for i in i0..i0 + h {
                for j in j0..je {
                    // SAFETY: a point of the plane (caller).
                    unsafe { dst(i, j).write(*src(i, j)) };
                }
            }
        }
    }
    if streamed {
        // Non-temporal stores are ordered by a store fence alone: the
        // output must be complete before another thread reads it.
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        // SAFETY: SSE (a fence, no memory access) is in every x86-64 build.
        unsafe {
            core::arch::x86_64::_mm_sfence()
        };
    }
}

/// `count` blocks of [`BLOCK`]² elements side by side: block `b` reads
/// rows `x[r · xs + BLOCK · b ..][..BLOCK]` for `r < BLOCK` and writes its
/// columns as runs `out[(BLOCK · b + c) · os ..][..BLOCK]`, with
/// non-temporal stores when `streamed`. Eight-byte elements in the AVX2 and
/// AVX-512 builds go through [`blocks_avx2`]; the compiler, left to the
/// portable loop, moves them one at a time.
///
/// # Safety
/// Every element named above is valid (reads of `x`, writes of `out`), the
/// output overlapping no input; when `streamed`, every run starts on a
/// cache line and the size of `[T; BLOCK]` is a multiple of a line.
#[inline(always)]
unsafe fn blocks<T: Scalar, const B: u8>(
    x: *const T,
    xs: isize,
    out: *mut T,
    os: isize,
    count: usize,
    streamed: bool,
) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if B != BASELINE && core::mem::size_of::<T>() == 8 {
        // SAFETY: the AVX2 and AVX-512 builds run only on CPUs with AVX2
        // (`isa`); `T` is eight bytes of any bit pattern (`Pod`), moved
        // unchanged as `f64` lanes; the rest is the caller's promise.
        unsafe { blocks_avx2(x.cast(), xs, out.cast(), os, count, streamed) };
        return;
    }
    for b in 0..count {
        let x = x.wrapping_add(BLOCK * b);
        let out = out.wrapping_offset((BLOCK * b) as isize * os);
        // SAFETY: one block of the caller's promise; `[T; 8]` has `T`'s
        // alignment.
        unsafe {
            let block: [[T; BLOCK]; BLOCK] = core::array::from_fn(|r| {
                x.wrapping_offset(r as isize * xs)
                    .cast::<[T; BLOCK]>()
                    .read()
            });
            for c in 0..BLOCK {
                let column: [T; BLOCK] = block.map(|row| row[c]);
                write_run(
                    out.wrapping_offset(c as isize * os).cast(),
                    column,
                    streamed,
                );
            }
        }
    }
}

/// [`blocks`] for eight-byte elements, 4×4 quarters at a time: two rows'
/// pairs loaded into one vector, then interleaved into columns.
///
/// # Safety
/// As [`blocks`], for eight-byte elements, and the CPU has AVX2.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn blocks_avx2(
    x: *const f64,
    xs: isize,
    out: *mut f64,
    os: isize,
    count: usize,
    streamed: bool,
) {
    use core::arch::x86_64::*;
    for b in 0..count {
        let x = x.wrapping_add(BLOCK * b);
        let out = out.wrapping_offset((BLOCK * b) as isize * os);
        let row = |r: usize| x.wrapping_offset(r as isize * xs);
        for c0 in (0..BLOCK).step_by(2) {
            // Columns c0 and c0 + 1 of rows r0..r0 + 4.
            let quarter = |r0: usize| {
                // SAFETY: elements c0 and c0 + 1 of rows r0..r0 + 4 of the
                // block (caller).
                unsafe {
                    let pair = |r: usize, s: usize| {
                        _mm256_insertf128_pd(
                            _mm256_castpd128_pd256(_mm_loadu_pd(row(r0 + r).add(c0))),
                            _mm_loadu_pd(row(r0 + s).add(c0)),
                            1,
                        )
                    };
                    // Rows r, s: (r[c0], r[c0 + 1], s[c0], s[c0 + 1]).
                    let (p02, p13) = (pair(0, 2), pair(1, 3));
                    (_mm256_unpacklo_pd(p02, p13), _mm256_unpackhi_pd(p02, p13))
                }
            };
            let ((even, odd), (even4, odd4)) = (quarter(0), quarter(4));
            for (c, v, v4) in [(c0, even, even4), (c0 + 1, odd, odd4)] {
                let at = out.wrapping_offset(c as isize * os);
                // SAFETY: column c's run, whole (caller); streamed, it
                // starts on a line, so `at` and `at + 4` are on 32 bytes.
                unsafe {
                    if streamed {
                        _mm256_stream_pd(at, v);
                        _mm256_stream_pd(at.add(4), v4);
                    } else {
                        _mm256_storeu_pd(at, v);
                        _mm256_storeu_pd(at.add(4), v4);
                    }
                }
            }
        }
    }
}

/// Writes `v` to `run`: with `streamed`, by non-temporal stores 16 bytes
/// at a time (on x86-64; elsewhere, and under Miri, which runs no inline
/// assembly, with a plain store), else by a plain store.
///
/// # Safety
/// `run` is valid for writes of `[T; BLOCK]`; with `streamed`, aligned to
/// 16 bytes, and the size of `[T; BLOCK]` is a multiple of 16.
#[inline(always)]
unsafe fn write_run<T: Scalar>(run: *mut [T; BLOCK], v: [T; BLOCK], streamed: bool) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if streamed {
        use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let from = (&v as *const [T; BLOCK]).cast::<__m128i>();
        for q in 0..core::mem::size_of::<[T; BLOCK]>() / 16 {
            // SAFETY: within `v` and `run` (the size is a multiple of 16),
            // `run` aligned to 16 (caller); every bit pattern of `T` is
            // valid (`Pod`), so its bytes may be moved as integers.
            unsafe { _mm_stream_si128(run.cast::<__m128i>().add(q), _mm_loadu_si128(from.add(q))) };
        }
        return;
    }
    let _ = streamed;
    // SAFETY: the caller's promise.
    unsafe { run.write(v) };
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::axes::test_axis as axis;
    use crate::kernel::isa::{self, Isa, AVX2, BASELINE};

    /// The builds this CPU runs: the baseline, and AVX2 where it has it
    /// (the intrinsics of eight-byte elements).
    fn builds() -> Vec<bool> {
        let wide = isa::isa() != Isa::Baseline;
        [false].into_iter().chain(wide.then_some(true)).collect()
    }

    /// [`store_tiled`] in the AVX2 build when `wide`, else the baseline's.
    ///
    /// # Safety
    /// As [`store_tiled`]; `wide` only where the CPU has AVX2.
    unsafe fn tiled<T: Scalar, const K: usize>(
        wide: bool,
        ptrs: [*const T; K],
        out: *mut T,
        x: &Axis<K>,
        y: &Axis<K>,
        stream: bool,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            if wide {
                store_tiled::<T, K, AVX2>(ptrs, out, x, y, stream)
            } else {
                store_tiled::<T, K, BASELINE>(ptrs, out, x, y, stream)
            }
        }
    }

    #[test]
    fn tiled_store_transposes() {
        for wide in builds() {
            transposes(wide, |v| v as i32);
            transposes(wide, |v| v);
        }
    }

    /// Whole blocks, edges in both directions, and more than one band, for
    /// four- and eight-byte elements.
    fn transposes<T: Scalar + core::fmt::Debug>(wide: bool, make: fn(i64) -> T) {
        for (r, c) in [(3, 5), (40, 70), (64, 64), (9, BAND + 3)] {
            let a: Vec<T> = (0..(r * c) as i64).map(make).collect();
            let mut o = vec![make(-1); r * c];
            // o is (c, r) C-order: o[j, i] = a[i, j]; x walks a's rows' fast
            // axis j (a stride 1, o stride r), y walks i (a stride c, o stride 1).
            let x = axis(c, [1], r as isize);
            let y = axis(r, [c as isize], 1);
            // SAFETY: every (j, i) addresses a[i * c + j] and o[j * r + i].
            unsafe { tiled(wide, [a.as_ptr()], o.as_mut_ptr(), &x, &y, false) };
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(o[j * r + i], a[i * c + j]);
                }
            }
            // The same plane with the axes given the other way round.
            let mut o2 = vec![make(-1); r * c];
            // SAFETY: as above.
            unsafe { tiled(wide, [a.as_ptr()], o2.as_mut_ptr(), &y, &x, true) };
            assert_eq!(o2, o);
        }
        // Two operands take the general tiles: o[j, i] = a[i, j] · b[i, j].
        let (r, c) = (19, 37);
        let a: Vec<T> = (0..(r * c) as i64).map(make).collect();
        let b: Vec<T> = (0..(r * c) as i64).map(|v| make(3 - v)).collect();
        let mut o = vec![make(-1); r * c];
        let x = axis(c, [1, 1], r as isize);
        let y = axis(r, [c as isize, c as isize], 1);
        // SAFETY: as above, for both operands.
        unsafe { tiled(wide, [a.as_ptr(), b.as_ptr()], o.as_mut_ptr(), &x, &y, true) };
        for i in 0..r {
            for j in 0..c {
                assert_eq!(o[j * r + i], a[i * c + j].mul(b[i * c + j]));
            }
        }
    }

    #[test]
    fn rows_on_cache_lines_transpose_streamed_or_not() {
        // Output rows of 24 i64 (whole lines), starting at every offset
        // within a line: the lead rows, whole blocks, short last rows, and
        // a band's edge; elements around the output untouched.
        // (Under Miri, one band: the band's edge is the test above's.)
        let widths: &[usize] = if cfg!(miri) { &[19] } else { &[19, BAND + 9] };
        for (&c, wide) in widths
            .iter()
            .flat_map(|c| builds().into_iter().map(move |w| (c, w)))
        {
            let r = 24;
            let a: Vec<i64> = (0..(r * c) as i64).map(|v| v * 7 - 5).collect();
            for off in 0..8 {
                for stream in [false, true] {
                    let mut buf = vec![-1i64; r * c + 16];
                    let x = axis(c, [1], r as isize);
                    let y = axis(r, [c as isize], 1);
                    // SAFETY: every (j, i) addresses a[i * c + j] and
                    // buf[off + j * r + i], within `buf`.
                    unsafe {
                        tiled(
                            wide,
                            [a.as_ptr()],
                            buf.as_mut_ptr().add(off),
                            &x,
                            &y,
                            stream,
                        )
                    };
                    for i in 0..r {
                        for j in 0..c {
                            assert_eq!(
                                buf[off + j * r + i],
                                a[i * c + j],
                                "{c} {off} {stream} {wide}"
                            );
                        }
                    }
                    assert!(buf[..off].iter().all(|&v| v == -1));
                    assert!(buf[off + r * c..].iter().all(|&v| v == -1));
                }
            }
        }
    }
}
