//! Which kernels a call ran, recorded on the calling thread, so that tests
//! can show that each kernel path ran (natively and under Miri) on the
//! shapes meant for it.
//!
//! Only with the `test-hooks` feature: elsewhere [`mark`] does nothing, so
//! a call in a user's crate touches no thread-local for it.
//!
//! A kernel marks its bit where the call is dispatched to it, on the calling
//! thread, before any work is spread over the pool: a thread-local `or`,
//! a nanosecond against the microsecond a run-time call costs. The loops the
//! macro writes at the call site mark nothing: a call that ran only those
//! leaves the set empty.

#[cfg(feature = "test-hooks")]
use core::cell::Cell;

/// A kernel path (one bit of a [`KernelPaths`] set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum KernelPath {
    /// The row kernel the macro wrote for fixed sizes, on the calling thread.
    Rows,
    /// The row kernel, split over the pool.
    RowsSplit,
    /// The run-time loop nest, on the calling thread.
    Nest,
    /// The run-time loop nest, split over the pool.
    NestSplit,
    /// The output written tile by tile (a transposition).
    Tiles,
    /// The `gemm` crate.
    Gemm,
    /// Independent GEMMs spread over the pool: outer points, or parts of one
    /// product's output.
    GemmSplit,
    /// B copied so that K merges, then one GEMM over the whole K; or a
    /// short K of B strided along N copied into rows (marked on the
    /// thread that copies).
    PackedB,
    /// The portable blocked GEMM (element types `gemm` lacks; Miri).
    Blocked,
    /// The skinny GEMM (at most 16 columns), portable build.
    Skinny,
    /// The skinny GEMM, AVX-512 build.
    Skinny512,
    /// The window kernel (convolutions).
    Window,
    /// The window kernel, split over the pool.
    WindowSplit,
    /// Three or more operands contracted two at a time.
    Pairwise,
    /// Dot products along K, a row of A against rows of Bᵀ.
    Dots,
    /// A strided along K copied into rows first, then a GEMM kernel.
    CopiedA,
    /// A matrix product read at the call site, straight to `gemm`.
    Product,
}

/// A set of [`KernelPath`]s.
#[cfg(feature = "test-hooks")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelPaths(u32);

#[cfg(feature = "test-hooks")]
impl KernelPaths {
    /// Whether `p` is in the set.
    pub fn has(self, p: KernelPath) -> bool {
        self.0 & (1 << p as u8) != 0
    }
}

#[cfg(feature = "test-hooks")]
thread_local! {
    static TRACE: Cell<u32> = const { Cell::new(0) };
}

/// Records that this call takes `p`.
#[inline]
pub fn mark(p: KernelPath) {
    #[cfg(feature = "test-hooks")]
    TRACE.with(|t| t.set(t.get() | 1 << p as u8));
    #[cfg(not(feature = "test-hooks"))]
    let _ = p;
}

/// Runs `f` and returns what it returned with the kernel paths its calls on
/// this thread took.
#[cfg(feature = "test-hooks")]
pub fn traced<R>(f: impl FnOnce() -> R) -> (R, KernelPaths) {
    let before = TRACE.with(|t| t.replace(0));
    let r = f();
    let seen = TRACE.with(|t| t.replace(before | t.get()));
    (r, KernelPaths(seen))
}
