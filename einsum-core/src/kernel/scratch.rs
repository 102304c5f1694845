//! Each thread's working memory for kernels that need more than belongs on
//! the stack.

use core::cell::RefCell;

use crate::element::Scalar;

thread_local! {
    /// Each thread's working memory for kernels that need more than belongs
    /// on the stack: allocated by the thread's first such call, then kept,
    /// so later calls allocate nothing (as `gemm` keeps its own). In `u128`
    /// words, aligned for every element type.
    static SCRATCH: RefCell<Vec<u128>> = const { RefCell::new(Vec::new()) };

    /// Each thread's tile of results on their way into a window view
    /// ([`with_tile`]): apart from [`SCRATCH`], which the kernels computing
    /// the tile use.
    static TILE: RefCell<Vec<u128>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `bytes` bytes of this thread's tile memory, 16-byte
/// aligned (values left from earlier calls; a fresh buffer when the tile is
/// in use further up this thread's stack).
pub(crate) fn with_tile<R>(bytes: usize, f: impl FnOnce(*mut ()) -> R) -> R {
    let words = bytes.div_ceil(16);
    let view = |v: &mut Vec<u128>| {
        if v.len() < words {
            v.resize(words, 0);
        }
        v.as_mut_ptr().cast::<()>()
    };
    TILE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(view(&mut v)),
        Err(_) => f(view(&mut Vec::new())),
    })
}

/// Runs `f` with `len` elements of this thread's scratch memory (values
/// left from earlier calls; a fresh buffer when the scratch is in use
/// further up this thread's stack).
pub(crate) fn with_scratch<T: Scalar, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let words = len
        .checked_mul(core::mem::size_of::<T>())
        .expect("einsum: scratch size")
        .div_ceil(16);
    let view = |v: &mut Vec<u128>| {
        if v.len() < words {
            v.resize(words, 0);
        }
        // SAFETY: the words are initialized and 16-byte aligned, and `len`
        // elements of `T` fit in them (resized above); `Pod` (a bound of
        // `Scalar`) says `T` needs at most that alignment and that every bit
        // pattern is a value; the slice borrows `v` uniquely while it lives.
        unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<T>(), len) }
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(view(&mut v)),
        Err(_) => f(view(&mut Vec::new())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_reused_and_nests() {
        let first = with_scratch::<f64, _>(100, |s| {
            s.fill(1.5);
            // In use further up: a separate buffer, however large.
            with_scratch::<i128, _>(300, |inner| {
                inner.fill(-7);
                assert_eq!(inner.len(), 300);
            });
            assert!(s.iter().all(|&x| x == 1.5));
            s.as_ptr() as usize
        });
        // Kept for the thread: the same memory, with what was left in it.
        let again = with_scratch::<f64, _>(50, |s| {
            assert_eq!(s[49], 1.5);
            s.as_ptr() as usize
        });
        assert_eq!(first, again);
    }
}
