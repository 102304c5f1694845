//! Kernels: the code that reads operands and writes results, once every shape
//! has been checked.

/// Defines `unsafe fn $name`, which runs `$body` (an `#[inline(always)]`
/// function of the same signature and safety contract, plus a last
/// [`Build`] argument) built for AVX-512, for AVX2 or for the build's own
/// target, whichever this CPU runs ([`isa`]): one `#[target_feature]`
/// wrapper per instruction set, as matrixmultiply does, written once here.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        unsafe fn $name:ident<$($g:ident: $bound:path),* $(; const $c:ident: $ct:ty)?>(
            $($arg:ident: $ty:ty),* $(,)?
        ) => $body:ident;
    ) => {
        $(#[$meta])*
        unsafe fn $name<$($g: $bound),* $(, const $c: $ct)?>($($arg: $ty),*) {
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
            unsafe fn avx512<$($g: $bound),* $(, const $c: $ct)?>($($arg: $ty),*) {
                // SAFETY: the caller's promise.
                unsafe { $body::<$($g,)* $($c,)? 2>($($arg,)* $crate::kernel::Build::<2>) }
            }
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<$($g: $bound),* $(, const $c: $ct)?>($($arg: $ty),*) {
                // SAFETY: the caller's promise.
                unsafe { $body::<$($g,)* $($c,)? 1>($($arg,)* $crate::kernel::Build::<1>) }
            }
            match $crate::kernel::isa() {
                // SAFETY: `isa` found the CPU has these features; the
                // caller's promise is passed on.
                #[cfg(all(target_arch = "x86_64", not(miri)))]
                $crate::kernel::Isa::Avx512 => unsafe { avx512::<$($g,)* $($c)?>($($arg),*) },
                // SAFETY: as above.
                #[cfg(all(target_arch = "x86_64", not(miri)))]
                $crate::kernel::Isa::Avx2 => unsafe { avx2::<$($g,)* $($c)?>($($arg),*) },
                // SAFETY: the caller's promise.
                _ => unsafe { $body::<$($g,)* $($c,)? 0>($($arg,)* $crate::kernel::Build::<0>) },
            }
        }
    };
}

use core::cell::RefCell;

use crate::scalar::Scalar;

mod gemm;
mod nest;
mod run;
#[cfg(all(target_arch = "x86_64", not(miri)))]
mod skinny512;

pub(crate) use nest::{contract, contract_here};

/// Which build of a [`multiversion!`] body runs (2: AVX-512, 1: AVX2, 0:
/// baseline). Each build is then its own instance of the body, with its own
/// copies of the closures inside, which the compiler inlines into that build
/// and compiles with its registers. One shared closure, called from three
/// builds, would stay out of line, in baseline code.
#[derive(Clone, Copy)]
pub(crate) struct Build<const B: u8>;

/// A pointer that may cross to a pool thread.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<P>(pub(crate) P);

impl<P: Copy> SendPtr<P> {
    /// The pointer (a method, so closures capture the whole `SendPtr`).
    pub(crate) fn get(self) -> P {
        self.0
    }
}

// SAFETY: a `SendPtr` only carries operand and output addresses to the pool
// threads of one call; each kernel that sends one splits the work so that
// distinct tasks write disjoint output elements and only read the operands,
// and the call returns after every task has finished.
unsafe impl<P> Send for SendPtr<P> {}
// SAFETY: as above.
unsafe impl<P> Sync for SendPtr<P> {}

thread_local! {
    /// Each thread's working memory for kernels that need more than belongs
    /// on the stack: allocated by the thread's first such call, then kept,
    /// so later calls allocate nothing (as `gemm` keeps its own). In `u128`
    /// words, aligned for every element type.
    static SCRATCH: RefCell<Vec<u128>> = const { RefCell::new(Vec::new()) };
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
        // SAFETY: the words are initialized, 16-byte aligned (as every
        // `Scalar` needs at most), and `len` elements of `T` fit in them;
        // every bit pattern is a valid `Scalar` (integers, floats and pairs
        // of floats, none with padding), and the slice borrows `v`
        // uniquely for as long as it lives.
        unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<T>(), len) }
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(view(&mut v)),
        Err(_) => f(view(&mut Vec::new())),
    })
}

/// Threads of the rayon pool that large work may spread over.
///
/// Under Miri, two: there the tasks of a split run on threads of their own
/// ([`for_each_task`]), so that Miri checks the split's pointer
/// arithmetic and the tasks against each other for data races.
pub(crate) fn pool_threads() -> usize {
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
pub(crate) fn for_each_task(n: usize, f: &(dyn Fn(usize) + Sync)) {
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

/// The instruction sets the hot kernels are also built for, each behind a
/// `#[target_feature]` wrapper around an `#[inline(always)]` body, as
/// matrixmultiply does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// Under Miri and off x86-64 only the baseline is ever picked.
#[cfg_attr(any(miri, not(target_arch = "x86_64")), allow(dead_code))]
pub(crate) enum Isa {
    /// AVX-512 F, DQ, VL and BW.
    Avx512,
    /// AVX2 with FMA.
    Avx2,
    /// The build's own target, and everything under Miri.
    Baseline,
}

/// The widest of [`Isa`] this CPU runs (detected once, then cached by std).
#[inline]
pub(crate) fn isa() -> Isa {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512bw")
        {
            return Isa::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
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
