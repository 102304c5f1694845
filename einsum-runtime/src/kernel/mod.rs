//! Kernels: the code that reads operands and writes results, once every shape
//! has been checked.

mod gemm;
mod nest;
mod run;

pub(crate) use nest::contract;

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

/// Threads of the rayon pool that large work may spread over.
///
/// Under Miri, one: the pool's own epoch-based garbage collector
/// (crossbeam-epoch) does not pass Miri's Stacked Borrows model, so Miri
/// checks the kernels on the calling thread, and the native test suite (with
/// thresholds forcing the split) checks the parallel paths.
pub(crate) fn pool_threads() -> usize {
    if cfg!(miri) {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// The instruction sets the hot kernels are also built for, each behind a
/// `#[target_feature]` wrapper around an `#[inline(always)]` body, as
/// matrixmultiply does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
