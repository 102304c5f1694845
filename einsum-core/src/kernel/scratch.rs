//! Each thread's working memory for kernels that need more than belongs on
//! the stack.

use core::cell::RefCell;
use std::thread::LocalKey;

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

/// Runs `f` with at least `words` words of `memory`, this thread's
/// (values left from earlier calls; a fresh buffer when it is in use
/// further up this thread's stack).
fn with_words<R>(
    memory: &'static LocalKey<RefCell<Vec<u128>>>,
    words: usize,
    f: impl FnOnce(&mut [u128]) -> R,
) -> R {
    memory.with(|cell| {
        let mut fresh = Vec::new();
        let mut held = cell.try_borrow_mut();
        let v = match held {
            Ok(ref mut v) => &mut **v,
            Err(_) => &mut fresh,
        };
        if v.len() < words {
            v.resize(words, 0);
        }
        f(v)
    })
}

/// Runs `f` with `bytes` bytes of this thread's tile memory, 16-byte
/// aligned (as [`with_words`]).
pub(crate) fn with_tile<R>(bytes: usize, f: impl FnOnce(*mut ()) -> R) -> R {
    with_words(&TILE, bytes.div_ceil(16), |v| f(v.as_mut_ptr().cast()))
}

/// Runs `f` with `len` elements of this thread's scratch memory (as
/// [`with_words`]).
pub(crate) fn with_scratch<T: Scalar, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let words = len
        .checked_mul(core::mem::size_of::<T>())
        .expect("einsum: scratch size")
        .div_ceil(16);
    with_words(&SCRATCH, words, |v| {
        // SAFETY: the words are initialized and 16-byte aligned, and `len`
        // elements of `T` fit in them (`with_words`); `Pod` (a bound of
        // `Scalar`) says `T` needs at most that alignment and that every bit
        // pattern is a value; the slice borrows `v` uniquely while it lives.
        f(unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<T>(), len) })
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
