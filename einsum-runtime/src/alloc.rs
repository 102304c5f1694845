//! New results: allocated fallibly, and given transparent huge pages when
//! large.
//!
//! A shape whose byte size fits `isize` may still be far more than the
//! machine has (a broadcast operand of 2^40 elements costs one element, its
//! outer product does not). Such a result is asked of the allocator with
//! `try_reserve`, not `Vec::with_capacity`, so that a refusal becomes an
//! error for the caller rather than an abort of the process.
//!
//! A new result is written for the first time by the kernel, and with 4 KiB
//! pages every 4 KiB of it costs a page fault: a 4000² f64 result (128 MB) is
//! 32 768 faults, about 30 ms, as long as the transposition that fills it.
//! Like numpy (which has done so since 1.16 for arrays of 4 MiB or more),
//! a result that large is marked `MADV_HUGEPAGE` before it is touched (on
//! Linux, x86-64 and AArch64), so a Linux kernel whose transparent huge pages are in `madvise` mode backs it
//! with 2 MiB pages: 64 faults, and far fewer TLB misses while it is written.
//! Elsewhere, and where the kernel declines, nothing changes.

use core::alloc::Layout;
use core::mem::MaybeUninit;

use ndarray::{Array, Dimension};

use einsum_core::Scalar;

/// The number of elements of `shape`, if they and their bytes fit `isize`.
fn elements<T>(shape: &[usize]) -> Option<usize> {
    let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    let bytes = n.checked_mul(core::mem::size_of::<T>().max(1))?;
    (bytes <= isize::MAX as usize).then_some(n)
}

/// `D`'s value for `shape`, which has `D`'s rank (any, for `IxDyn`).
fn dim_of<D: Dimension>(shape: &[usize]) -> D {
    let mut dim = D::zeros(shape.len());
    dim.slice_mut().copy_from_slice(shape);
    dim
}

/// A new array of `shape` in standard order, its elements not yet written,
/// marked for huge pages when large; `None` when its byte size overflows
/// `isize` or the allocator refuses it.
#[inline(never)]
pub(crate) fn uninit<T, D: Dimension>(shape: &[usize]) -> Option<Array<MaybeUninit<T>, D>> {
    let n = elements::<T>(shape)?;
    let mut v: Vec<MaybeUninit<T>> = Vec::new();
    v.try_reserve_exact(n).ok()?;
    // SAFETY: the capacity is at least `n` (reserved above), and a
    // `MaybeUninit<T>` needs no initialization.
    unsafe { v.set_len(n) };
    // Untouched so far: it can still get huge pages.
    advise(v.as_mut_ptr().cast(), n * core::mem::size_of::<T>());
    // SAFETY: as in `array`.
    Some(unsafe { array(shape, v) })
}

/// The array of `shape`, in standard order, of the elements of `v`.
///
/// (Unchecked: the checked constructor's test of the shape against the
/// length is a good part of what each element and dimension type a crate
/// uses costs its build.)
///
/// # Safety
/// `v` has exactly the product of `shape` elements, and their bytes fit
/// `isize` (what [`elements`] checked).
unsafe fn array<A, D: Dimension>(shape: &[usize], v: Vec<A>) -> Array<A, D> {
    debug_assert_eq!(Some(v.len()), elements::<A>(shape));
    // SAFETY: the caller's promise; standard order needs nothing more.
    unsafe { Array::from_shape_vec_unchecked(dim_of::<D>(shape), v) }
}

/// A new array of `shape` in standard order, filled with zeros (fresh pages
/// from the allocator, not written here), marked for huge pages when large;
/// `None` when its byte size overflows `isize` or the allocator refuses it.
#[inline(never)]
pub(crate) fn zeroed<T: Scalar, D: Dimension>(shape: &[usize]) -> Option<Array<T, D>> {
    let n = elements::<T>(shape)?;
    let layout = Layout::array::<T>(n).ok()?;
    let v: Vec<T> = if layout.size() == 0 {
        Vec::new()
    } else {
        // SAFETY: `layout` has a nonzero size (checked just above).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
        if ptr.is_null() {
            return None;
        }
        advise(ptr.cast(), layout.size());
        // SAFETY: `ptr` is not null (checked) and was allocated by the
        // global allocator with the layout of `n` elements of `T`, the one a
        // `Vec<T>` of capacity `n` has; its `n` elements are zero bytes,
        // which `Pod` (a bound of `Scalar`) says is `T::zero()`.
        unsafe { Vec::from_raw_parts(ptr, n, n) }
    };
    // SAFETY: `n` elements, the product of `shape`, whose bytes fit `isize`
    // (`elements`).
    Some(unsafe { array(shape, v) })
}

/// The size from which a new result is marked, numpy's threshold.
#[cfg_attr(
    not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64"),
        not(miri)
    )),
    allow(dead_code)
)]
pub(crate) const MIN_BYTES: usize = 4 << 20;

/// Asks the kernel to back the 2 MiB-aligned part of `len` bytes at `ptr`
/// with huge pages. Only a hint: the memory's contents and validity do not
/// change, and an error is ignored.
///
/// `madvise` is declared here rather than taken from the `libc` crate,
/// which would be this crate's only other dependency, for one function
/// and one constant (`MADV_HUGEPAGE` is 14 on these architectures).
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(miri)
))]
pub(crate) fn advise(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    const MADV_HUGEPAGE: core::ffi::c_int = 14;
    extern "C" {
        fn madvise(
            addr: *mut core::ffi::c_void,
            len: usize,
            advice: core::ffi::c_int,
        ) -> core::ffi::c_int;
    }
    if len < MIN_BYTES {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(len) / HUGE * HUGE;
    if end > start {
        // SAFETY: `[start, end)` lies within the caller's allocation, and
        // MADV_HUGEPAGE only changes how the kernel backs those pages, never
        // what they hold, so no Rust reference or value is affected.
        unsafe {
            madvise(start as *mut core::ffi::c_void, end - start, MADV_HUGEPAGE);
        }
    }
}

/// Elsewhere (and under Miri), nothing to do.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(miri)
)))]
pub(crate) fn advise(_ptr: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Under Miri `advise` does nothing (no system calls), and 4 MiB of
    // elements take minutes there.
    #[cfg_attr(miri, ignore)]
    fn advice_keeps_the_contents() {
        // Unaligned, written before and after the advice, and too small.
        let mut v: Vec<u64> = (0..(MIN_BYTES / 8 + 12_345) as u64).collect();
        advise(v.as_mut_ptr().wrapping_add(1).cast(), (v.len() - 1) * 8);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
        for x in v.iter_mut() {
            *x = x.wrapping_mul(3);
        }
        assert!(v.iter().enumerate().all(|(i, &x)| x == 3 * i as u64));
        let mut w = [7u8; 64];
        advise(w.as_mut_ptr(), w.len());
        assert_eq!(w, [7; 64]);
    }

    #[test]
    fn new_results_have_their_shape_in_standard_order() {
        use ndarray::{Ix2, IxDyn};
        let z = zeroed::<num_complex::Complex<f32>, Ix2>(&[3, 4]).unwrap();
        assert_eq!(z.shape(), [3, 4]);
        assert!(z.is_standard_layout());
        assert!(z.iter().all(|&x| x == num_complex::Complex::new(0.0, 0.0)));
        let z = zeroed::<i64, IxDyn>(&[2, 0, 5]).unwrap();
        assert_eq!(z.shape(), [2, 0, 5]);
        let u = uninit::<f64, IxDyn>(&[]).unwrap();
        assert_eq!((u.shape(), u.len()), (&[][..], 1));
        let u = uninit::<u8, Ix2>(&[7, 9]).unwrap();
        assert!(u.is_standard_layout() && u.len() == 63);
    }

    #[test]
    fn sizes_past_isize_are_refused_before_allocating() {
        use ndarray::Ix2;
        // Elements past `usize`, elements past `isize`, bytes past `isize`.
        for shape in [[usize::MAX, 2], [1 << 32, 1 << 31], [1 << 30, 1 << 30]] {
            assert!(zeroed::<f64, Ix2>(&shape).is_none(), "{shape:?}");
            assert!(uninit::<f64, Ix2>(&shape).is_none(), "{shape:?}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri stops at an allocation larger than the host has")]
    fn sizes_the_allocator_refuses_are_none() {
        use ndarray::Ix2;
        // 2^62 bytes: an `isize`, and more than any address space.
        let shape = [1 << 29, 1 << 30];
        assert!(zeroed::<f64, Ix2>(&shape).is_none());
        assert!(uninit::<f64, Ix2>(&shape).is_none());
    }
}
