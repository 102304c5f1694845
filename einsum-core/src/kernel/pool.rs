//! Spreading a kernel's work over the rayon pool: the tasks, and the
//! pointers they carry.

/// Raw pointers to elements (and arrays of them), the only things a
/// [`SendPtr`] carries.
pub(crate) trait RawPtr: Copy {}
impl<T> RawPtr for *const T {}
impl<T> RawPtr for *mut T {}
impl<T, const K: usize> RawPtr for [*const T; K] {}

/// A pointer that may cross to a pool thread.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<P: RawPtr>(pub(crate) P);

impl<P: RawPtr> SendPtr<P> {
    /// The pointer (a method, so closures capture the whole `SendPtr`).
    pub(crate) fn get(self) -> P {
        self.0
    }
}

// SAFETY: a `SendPtr` only carries operand and output addresses to the pool
// threads of one call; each kernel that sends one splits the work so that
// distinct tasks write disjoint output elements and only read the operands,
// and the call returns after every task has finished.
unsafe impl<P: RawPtr> Send for SendPtr<P> {}
// SAFETY: as above.
unsafe impl<P: RawPtr> Sync for SendPtr<P> {}

/// Threads of the rayon pool that large work may spread over.
///
/// Under Miri, two: there the tasks of a split run on threads of their own
/// ([`for_each_task`]), so that Miri checks the split's pointer
/// arithmetic and the tasks against each other for data races.
pub fn pool_threads() -> usize {
    if cfg!(miri) {
        2
    } else {
        rayon::current_num_threads()
    }
}

/// Runs `f(0)`, …, `f(n - 1)` as tasks of the rayon pool (of the caller's
/// pool, inside its `install`).
///
/// The task is behind a reference, so the pool's machinery is built once,
/// in this crate, for every kernel and call site: a crate calling `einsum!`
/// instantiates none of rayon, and a dynamic call per task is nothing next
/// to the work that makes a split worth it.
///
/// Under Miri each task runs on a scoped thread of its own instead: the
/// pool's epoch-based garbage collector (crossbeam-epoch) does not pass
/// Miri's Stacked Borrows model, while plain threads let Miri check the
/// tasks for data races.
#[inline(never)]
pub fn for_each_task(n: usize, f: &(dyn Fn(usize) + Sync)) {
    #[cfg(not(miri))]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().for_each(f);
    }
    #[cfg(miri)]
    std::thread::scope(|s| {
        for i in 0..n {
            s.spawn(move || f(i));
        }
    });
}
