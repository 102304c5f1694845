//! Adding into a window view, whose elements repeat across windows: a
//! matrix product added row by row ([`add_product`]), or a tile of results
//! computed elsewhere ([`add_tile`]). Each element's additions run one
//! after another in a fixed order, never two in one vector.

use super::isa;
use super::pool::{for_each_task, SendPtr};
use crate::desc::WindowProduct;
use crate::element::Scalar;
use crate::limits::MAX_AXES;

/// One loop over the windows: its size, its stride in the windows, and its
/// stride in the array read along with them.
type Loop = (usize, isize, isize);

/// The offsets in the windows and in the other array of every index of
/// some loops, last fastest, except for one loop: the one of the smallest
/// stride along which the elements one index touches overlap the next
/// index's, which runs innermost, in phases whose indices touch nothing of
/// one another. An addition that reads right after an
/// overlapping store waits for the store to reach the cache (a
/// store-to-load forwarding that fails: ~15 cycles each).
///
/// An iterator whose `next` the kernels inline, so that their loop bodies
/// are built with the kernel's instruction set (a closure called from here
/// would stay out of line, in baseline code).
struct Apart {
    /// The outer loops; the last goes over the phases (one when none).
    loops: [Loop; MAX_AXES],
    rank: usize,
    index: [usize; MAX_AXES],
    /// The innermost loop's size, and its strides from one index of a
    /// phase to the next.
    inner: Loop,
    phases: usize,
    /// The outer loops' offsets, the next innermost index and the count in
    /// this phase; `None` when done.
    at: Option<(isize, isize)>,
    q: usize,
    count: usize,
}

impl Apart {
    /// `overlaps(d)`: whether the elements one index touches overlap
    /// those of an index `d` elements further on.
    #[inline(always)]
    fn new(loops: &[Loop], overlaps: impl Fn(isize) -> bool) -> Apart {
        let rank = loops.len();
        let mut outer = [(1usize, 0isize, 0isize); MAX_AXES];
        outer[..rank].copy_from_slice(loops);
        let empty = loops.iter().any(|l| l.0 == 0);
        // Each loop's fewest phases whose indices are apart, when fewer
        // than its indices (else phases of one index each: no gain).
        let phases = |l: Loop| {
            (1..l.0 as isize)
                .find(|&p| !overlaps(p * l.1))
                .map(|p| p as usize)
        };
        let split = (0..rank)
            .filter(|&w| loops[w].0 > 1 && overlaps(loops[w].1))
            .filter_map(|w| Some((w, phases(loops[w])?)))
            .min_by_key(|&(w, _)| loops[w].1.unsigned_abs());
        let (inner, phases) = match (split, loops.last().copied()) {
            (Some((w, phases)), _) => {
                let inner = loops[w];
                outer.copy_within(w + 1..rank, w);
                outer[rank - 1] = (phases, inner.1, inner.2);
                (inner, phases)
            }
            (None, Some(last)) => {
                outer[rank - 1] = (1, 0, 0);
                (last, 1)
            }
            (None, None) => ((1, 0, 0), 1),
        };
        let step = phases as isize;
        Apart {
            loops: outer,
            rank,
            index: [0; MAX_AXES],
            inner: (inner.0, inner.1 * step, inner.2 * step),
            phases,
            at: (!empty).then_some((0, 0)),
            q: 0,
            count: inner.0.div_ceil(phases),
        }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<(isize, isize)> {
        loop {
            let (w, r) = self.at?;
            if self.q < self.count {
                let q = self.q as isize;
                self.q += 1;
                return Some((w + q * self.inner.1, r + q * self.inner.2));
            }
            // The next index of the outer loops, last fastest.
            let mut axis = self.rank;
            let (mut w, mut r) = (w, r);
            self.at = loop {
                if axis == 0 {
                    break None;
                }
                axis -= 1;
                let (n, sw, sr) = self.loops[axis];
                self.index[axis] += 1;
                (w, r) = (w + sw, r + sr);
                if self.index[axis] < n {
                    break Some((w, r));
                }
                (w, r) = (w - n as isize * sw, r - n as isize * sr);
                self.index[axis] = 0;
            };
            let phase = if self.rank > 0 {
                self.index[self.rank - 1]
            } else {
                0
            };
            self.q = 0;
            self.count = (self.inner.0 - phase).div_ceil(self.phases);
        }
    }
}

/// Elements of one (vector) load of the packed columns.
const LANES: usize = 8;

/// What every row of a product added into windows shares, made once per
/// call: each summed index's offsets in A and B, B packed (for each summed
/// index, its columns, zeros past the last up to `width`, a whole number of
/// the widest blocks), the columns as runs that continue each other in the
/// windows (first column, length, offset in the windows), and the offsets
/// in the windows of a row's elements, sorted.
struct Packed<T> {
    sums: Vec<(isize, isize)>,
    columns: usize,
    width: usize,
    packed: Vec<T>,
    runs: Vec<(usize, usize, isize)>,
    touched: Vec<isize>,
}

/// The widest block of columns [`add_rows`] computes at once.
const WIDEST: usize = 4 * LANES;

impl<T: Scalar> Packed<T> {
    /// `p`'s shared parts, with B at `b`; `None` when it has no element.
    ///
    /// # Safety
    /// As [`add_product`].
    unsafe fn new(p: &WindowProduct<'_>, b: *const T) -> Option<Packed<T>> {
        // Each index's offsets in the two arrays of its axes.
        let offsets = |axes: &[Loop]| {
            let mut all = vec![(0isize, 0isize)];
            for &(n, s1, s2) in axes.iter().rev() {
                all = (0..n as isize)
                    .flat_map(|i| all.iter().map(move |&(o1, o2)| (o1 + i * s1, o2 + i * s2)))
                    .collect();
            }
            all
        };
        let (sums, cols) = (offsets(p.sums), offsets(p.cols));
        if cols.is_empty() || p.rows.iter().any(|r| r.0 == 0) {
            return None;
        }
        let width = cols.len().div_ceil(WIDEST) * WIDEST;
        let mut packed = vec![T::zero(); sums.len() * width];
        for (row, &(_, sb)) in packed.chunks_exact_mut(width).zip(&sums) {
            for (x, &(_, cb)) in row.iter_mut().zip(&cols) {
                // SAFETY: a summed index and a column, within B (caller).
                *x = unsafe { b.wrapping_offset(sb + cb).read() };
            }
        }
        let mut runs: Vec<(usize, usize, isize)> = Vec::new();
        for (c, &(cw, _)) in cols.iter().enumerate() {
            match runs.last_mut() {
                Some(run) if run.2 + run.1 as isize == cw => run.1 += 1,
                _ => runs.push((c, 1, cw)),
            }
        }
        let mut touched: Vec<isize> = cols.iter().map(|&(cw, _)| cw).collect();
        touched.sort_unstable();
        Some(Packed {
            sums,
            columns: cols.len(),
            width,
            packed,
            runs,
            touched,
        })
    }
}

/// `W[rows, cols] ← W[rows, cols] + alpha · Σ_sums A[rows, sums] ·
/// B[sums, cols]` (`p`), one row after another: a row's sums in registers,
/// then added into the windows, where rows may overlap. B is packed once;
/// with `p.split`, that row axis's indices go over the pool, each with its
/// rows in order.
///
/// # Safety
/// Every index of `p`'s axes addresses elements of `a` and `b` valid for
/// reads and one of `dst` valid for reads and writes, apart from them; the
/// axes number at most [`MAX_AXES`] each; the indices of the row axis
/// `p.split` address disjoint elements of `dst`.
pub(crate) unsafe fn add_product<T: Scalar>(
    p: &WindowProduct<'_>,
    a: *const T,
    b: *const T,
    dst: *mut T,
    alpha: T,
) {
    // SAFETY: the caller's promise.
    let Some(packed) = (unsafe { Packed::new(p, b) }) else {
        return;
    };
    let packed = &packed;
    match p.split {
        Some(r) => {
            let (n, sw, sa) = p.rows[r];
            let mut rest = [(0usize, 0isize, 0isize); MAX_AXES];
            rest[..r].copy_from_slice(&p.rows[..r]);
            rest[r..p.rows.len() - 1].copy_from_slice(&p.rows[r + 1..]);
            let rest = &rest[..p.rows.len() - 1];
            let (a, dst) = (SendPtr(a), SendPtr(dst));
            for_each_task(n, &|i| {
                let i = i as isize;
                // SAFETY: the rows of one index of the split axis, whose
                // elements no other index's share (caller).
                unsafe {
                    add_rows(
                        packed,
                        rest,
                        a.get().wrapping_offset(i * sa),
                        dst.get().wrapping_offset(i * sw),
                        alpha,
                    )
                }
            });
        }
        // SAFETY: the caller's promise.
        None => unsafe { add_rows(packed, p.rows, a, dst, alpha) },
    }
}

multiversion! {
/// [`add_product`] over `rows` (size, stride in the windows, stride in A),
/// B packed.
///
/// # Safety
/// As [`add_product`], `packed` made from its B.
unsafe fn add_rows<T: Scalar>(
    packed: &Packed<T>,
    rows: &[Loop],
    a: *const T,
    dst: *mut T,
    alpha: T,
) => add_rows_body;
}

/// The body of [`add_rows`], inlined into each instruction-set build: the
/// sums of 4 rows over blocks of `V` times [`LANES`] columns in registers,
/// 16 of AVX-512's 32 (8 in blocks of 16 columns when that pads fewer), 8 of
/// AVX2's 16.
///
/// # Safety
/// As [`add_rows`].
#[inline(always)]
unsafe fn add_rows_body<T: Scalar, const B: u8>(
    packed: &Packed<T>,
    rows: &[Loop],
    a: *const T,
    dst: *mut T,
    alpha: T,
) {
    let padded = |block: usize| packed.columns.div_ceil(block) * block;
    // SAFETY (each): the caller's promise.
    if B != isa::AVX512 {
        unsafe { add_blocks::<T, B, 4, 1>(packed, rows, a, dst, alpha) }
    } else if padded(2 * LANES) < padded(4 * LANES) {
        unsafe { add_blocks::<T, B, 4, 2>(packed, rows, a, dst, alpha) }
    } else {
        unsafe { add_blocks::<T, B, 4, 4>(packed, rows, a, dst, alpha) }
    }
}

/// [`add_rows_body`] for `R` rows at a time, blocks of `V` times [`LANES`]
/// columns.
///
/// # Safety
/// As [`add_rows`].
#[inline(always)]
unsafe fn add_blocks<T: Scalar, const B: u8, const R: usize, const V: usize>(
    packed: &Packed<T>,
    rows: &[Loop],
    a: *const T,
    dst: *mut T,
    alpha: T,
) {
    let block = V * LANES;
    let blocks = packed.columns.div_ceil(block);
    let width = packed.width;
    // The group's rows of sums, each `width` long, from a cache line on:
    // each block stored whole, read back in runs.
    let line = 64 / core::mem::size_of::<T>().max(1);
    let mut rows_memory = vec![T::zero(); R * width + line];
    let skip = rows_memory.as_ptr().align_offset(64).min(line);
    let group_sums = &mut rows_memory[skip..][..R * width];
    // Whether a row's elements meet those of a row `d` further on.
    let touched = &packed.touched;
    let overlaps = |d: isize| {
        touched
            .iter()
            .any(|&t| touched.binary_search(&(t + d)).is_ok())
    };
    let one = T::one();
    let madd = |s: T, x: T, y: T| {
        if isa::fuses(B) {
            s.fused_add(x, y)
        } else {
            s.add(x.mul(y))
        }
    };
    let mut rows = Apart::new(rows, overlaps);
    loop {
        // The next rows, in order (the last repeated past the end: their
        // sums are computed and left).
        let mut group = [(0isize, 0isize); R];
        let mut count = 0;
        while count < R {
            match rows.next() {
                Some(row) => group[count] = row,
                None => break,
            }
            count += 1;
        }
        if count == 0 {
            return;
        }
        for r in count..R {
            group[r] = group[count - 1];
        }
        for k in 0..blocks {
            // (In registers: copied to memory after the sums.)
            let mut acc = [[[T::zero(); LANES]; V]; R];
            let b_rows = packed.packed.chunks_exact(width);
            for (&(sa, _), b_row) in packed.sums.iter().zip(b_rows) {
                // One (vector) load per `LANES` columns, for every row.
                // SAFETY: a block of the packed row, `V · LANES` elements.
                let ys = unsafe {
                    b_row[k * block..][..block]
                        .as_ptr()
                        .cast::<[[T; LANES]; V]>()
                        .read_unaligned()
                };
                for (acc, &(_, ra)) in acc.iter_mut().zip(&group) {
                    // SAFETY: this row's element at a summed index (caller).
                    let x = unsafe { a.wrapping_offset(ra + sa).read() };
                    for (acc, ys) in acc.iter_mut().zip(ys) {
                        for (acc, y) in acc.iter_mut().zip(ys) {
                            *acc = madd(*acc, x, y);
                        }
                    }
                }
            }
            for (row, acc) in group_sums.chunks_exact_mut(width).zip(acc) {
                let row = &mut row[k * block..][..block];
                // SAFETY: `block` elements of the row, `V · LANES`.
                unsafe {
                    row.as_mut_ptr()
                        .cast::<[[T; LANES]; V]>()
                        .write_unaligned(acc)
                };
            }
        }
        for (row, &(rw, _)) in group_sums.chunks_exact_mut(width).zip(&group).take(count) {
            if alpha != one {
                for v in row.iter_mut() {
                    *v = alpha.mul(*v);
                }
            }
            for &(c, len, cw) in &packed.runs {
                // SAFETY: the run's columns address distinct elements of
                // this row of the windows (caller), and the sums are apart;
                // the rows are added one after another.
                unsafe { add_run(dst.wrapping_offset(rw + cw), 1, row[c..].as_ptr(), len) };
            }
        }
    }
}

multiversion! {
/// `dst[i] ← dst[i] + src[i]` for every index `i` within `shape`, in
/// row-major order: `src` is contiguous and row-major over `shape`, `dst`
/// at `strides`, and may address one element from several indices (windows
/// that overlap), each addition then reading what the one before wrote.
///
/// # Safety
/// `shape` and `strides` have one length, at most [`MAX_AXES`]; every index
/// addresses an element of `dst` valid for reads and writes, and `src`
/// holds the shape's element count, valid for reads and apart from `dst`.
pub(crate) unsafe fn add_tile<T: Scalar>(
    shape: &[usize],
    strides: &[isize],
    dst: *mut T,
    src: *const T,
) => add_tile_body, widest avx2;
}

/// The body of [`add_tile`], inlined into each instruction-set build.
///
/// # Safety
/// As [`add_tile`].
#[inline(always)]
unsafe fn add_tile_body<T: Scalar, const B: u8>(
    shape: &[usize],
    strides: &[isize],
    dst: *mut T,
    src: *const T,
) {
    if shape.contains(&0) {
        return;
    }
    // The innermost run: the last axis, with the ones before it that
    // continue it in `dst` as they do in `src`.
    let mut rank = shape.len();
    let (mut run, step) = match rank {
        0 => (1, 1),
        _ => (shape[rank - 1], strides[rank - 1]),
    };
    rank = rank.saturating_sub(1);
    while rank > 0 && strides[rank - 1] == run as isize * step {
        run *= shape[rank - 1];
        rank -= 1;
    }
    // The other axes as loops, `src` row-major.
    let mut loops = [(1usize, 0isize, 0isize); MAX_AXES];
    let mut next = run as isize;
    for w in (0..rank).rev() {
        loops[w] = (shape[w], strides[w], next);
        next *= shape[w] as isize;
    }
    let reach = run * step.unsigned_abs();
    let mut runs = Apart::new(&loops[..rank], |d| d.unsigned_abs() < reach);
    while let Some((d, s)) = runs.next() {
        // SAFETY: the run's `run` elements of `dst` are distinct (one
        // axis, or axes that continue each other), and `src`'s apart from
        // them (caller).
        unsafe { add_run(dst.wrapping_offset(d), step, src.wrapping_offset(s), run) }
    }
}

/// `d[k·step] ← d[k·step] + s[k]` for `k < len`.
///
/// # Safety
/// The `len` elements of `d` are distinct and valid for reads and writes,
/// those of `s` valid for reads and apart from them.
#[inline(always)]
unsafe fn add_run<T: Scalar>(d: *mut T, step: isize, s: *const T, len: usize) {
    let mut k = 0;
    if step == 1 {
        // Eight, then four at a time, each one vector (or two), whatever
        // the run's length: a compiler's vector loop would leave a short
        // run to its scalar tail. Each block is read whole before it is
        // written.
        while k + 8 <= len {
            // SAFETY: eight elements of each (caller).
            unsafe { add_block::<T, 8>(d.add(k), s.add(k)) };
            k += 8;
        }
        if k + 4 <= len {
            // SAFETY: four elements of each (caller).
            unsafe { add_block::<T, 4>(d.add(k), s.add(k)) };
            k += 4;
        }
    }
    while k < len {
        let p = d.wrapping_offset(k as isize * step);
        // SAFETY: the caller's promise.
        unsafe { p.write(p.read().add(s.add(k).read())) };
        k += 1;
    }
}

/// `d[k] ← d[k] + s[k]` for `k < W`, as one load of each, then a store.
///
/// # Safety
/// `W` elements of `d` valid for reads and writes, of `s` for reads.
#[inline(always)]
unsafe fn add_block<T: Scalar, const W: usize>(d: *mut T, s: *const T) {
    // SAFETY: the caller's promise.
    unsafe {
        let (x, y) = (
            d.cast::<[T; W]>().read_unaligned(),
            s.cast::<[T; W]>().read_unaligned(),
        );
        let sum: [T; W] = core::array::from_fn(|i| x[i].add(y[i]));
        d.cast::<[T; W]>().write_unaligned(sum);
    }
}

/// [`add_tile`] with the element type erased, for the call layer.
///
/// # Safety
/// As [`add_tile`], `dst` and `src` addressing `T`s.
pub(crate) unsafe fn add_tile_erased<T: Scalar>(
    shape: &[usize],
    strides: &[isize],
    dst: *mut (),
    src: *const (),
) {
    // SAFETY: the caller's promise.
    unsafe { add_tile::<T>(shape, strides, dst.cast(), src.cast()) }
}

/// [`add_product`] with the element type erased, for the call layer.
///
/// # Safety
/// As [`add_product`], the pointers addressing `T`s and `alpha` one.
pub(crate) unsafe fn add_product_erased<T: Scalar>(
    p: &WindowProduct<'_>,
    a: *const (),
    b: *const (),
    dst: *mut (),
    alpha: *const (),
) {
    // SAFETY: the caller's promise.
    unsafe { add_product::<T>(p, a.cast(), b.cast(), dst.cast(), alpha.cast::<T>().read()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows of 3 at step 2 over 9 elements, added one by one: each
    /// element receives the tile's values of every window covering it.
    #[test]
    fn overlapping_windows_receive_every_value() {
        let mut dst = [100.0f64; 9];
        let src: Vec<f64> = (0..12).map(f64::from).collect();
        // SAFETY: indices (w, i) < (4, 3) address 2w + i ≤ 8; `src` has 12.
        unsafe { add_tile(&[4, 3], &[2, 1], dst.as_mut_ptr(), src.as_ptr()) };
        let mut want = [100.0f64; 9];
        for w in 0..4 {
            for i in 0..3 {
                want[2 * w + i] += src[3 * w + i];
            }
        }
        assert_eq!(dst, want);
    }

    /// Axes that continue each other merge into one run; strided runs and
    /// empty shapes are handled.
    #[test]
    fn runs_merge_and_stride() {
        let mut dst = [0i64; 24];
        let src: Vec<i64> = (1..=24).collect();
        // SAFETY: a (2, 3, 4) row-major view of 24 elements, then its
        // transposed (4, 3) view at strides (1, 4) of the first 12.
        unsafe {
            add_tile(&[2, 3, 4], &[12, 4, 1], dst.as_mut_ptr(), src.as_ptr());
            add_tile(&[4, 3], &[1, 4], dst.as_mut_ptr(), src.as_ptr());
            add_tile(&[0, 3], &[1, 4], dst.as_mut_ptr(), src.as_ptr());
        }
        let mut want: Vec<i64> = (1..=24).collect();
        for i in 0..4 {
            for j in 0..3 {
                want[i + 4 * j] += src[3 * i + j];
            }
        }
        assert_eq!(dst.to_vec(), want);
    }
}
