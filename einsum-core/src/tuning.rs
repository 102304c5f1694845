//! The thresholds that choose between kernels, and (with the `test-hooks`
//! feature) a way for tests to move them so that every kernel runs on
//! small shapes.

#[cfg(feature = "test-hooks")]
use core::cell::Cell;

/// When each kernel takes over. The defaults were measured on the benches;
/// tests lower them to force a path (`with_thresholds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Multiply-adds from which a two-operand contraction goes to the GEMM
    /// kernel.
    pub gemm_min_work: usize,
    /// The smallest contracted length, and the smallest of the output's two
    /// GEMM lengths, for `gemm`: below, it is a memory-bound loop.
    pub gemm_min_len: usize,
    /// As `gemm_min_len`, for the blocked kernel of the integer types.
    pub blocked_min_len: usize,
    /// As `gemm_min_len`, for the window kernel (which also needs
    /// `gemm_min_work`): a 3×3 filter's runs of 3 are faster in `gemm`.
    pub window_min_len: usize,
    /// As `gemm_min_work`, for the skinny kernel (`f32` and `f64`, 2 to 16
    /// columns), which allocates nothing and starts in tens of nanoseconds:
    /// it takes small products that `gemm` (an allocation or more per call)
    /// does not.
    pub skinny_min_work: usize,
    /// Multiply-adds below which a contraction whose K steps by one element
    /// through both operands (`f32` and `f64`) runs as dot products, read
    /// in place: below `gemm`'s work, where `gemm`'s packing costs more
    /// than the products.
    pub dots_max_work: usize,
    /// The shortest K for the dot-product kernel.
    pub dots_min_k: usize,
    /// The fewest rows of A for which the skinny kernel takes a B whose
    /// rows are not contiguous, copying it first: with fewer, the copy
    /// costs more than the loop nest's reads of B in place.
    pub skinny_gather_min_rows: usize,
    /// Multiply-adds from which work is spread over the rayon pool.
    pub parallel_min_work: usize,
    /// The shortest axes, and the farthest strides, of a transposition done
    /// tile by tile.
    pub transpose_min_len: usize,
    /// Multiply-adds up to which an expression without `...` runs in the
    /// loops the macro wrote at the call site, with no plan at all.
    pub small_max_work: usize,
    /// The shortest output rows for which an expression with fixed sizes
    /// runs in the row kernel the macro wrote for it.
    pub rows_min_len: usize,
    /// Multiply-adds up to which a matrix product the macro read from the
    /// expression goes from the call site straight to `gemm` (above
    /// `small_max_work`).
    pub product_max_work: usize,
    /// The bytes of results a contraction into windows computes at a time
    /// before adding them into the windows: within L2, beside the rows of
    /// the operands that make them.
    pub scatter_tile_bytes: usize,
}

impl Thresholds {
    /// The measured defaults.
    pub const DEFAULT: Thresholds = Thresholds {
        gemm_min_work: 32 * 32 * 32,
        // `gemm` beats the loop nest from K = 2 on: 1000×2·2×512 takes
        // 164 µs there against 355 µs (`benches/sweep.rs`).
        gemm_min_len: 2,
        blocked_min_len: 8,
        window_min_len: 8,
        // From the smallest products on, and for outer products (K = 1),
        // the skinny kernel beats the loop nest: 100×64·64×5 in 2.0 µs
        // against 40 µs, a 10000×5 outer product in 12.7 µs against 68 µs
        // (`benches/sweep.rs`).
        skinny_min_work: 0,
        dots_max_work: 32 * 32 * 32,
        // From K = 16 on, 1×K·K×512 with B transposed took 0.4–0.7× the
        // nest's time as dot products, 4×144·144×5 0.7×; at K = 8 0.8×
        // (1×8·8×12: 1.3×), at K = 2 2.6× (`benches/sweep.rs`).
        dots_min_k: 16,
        skinny_gather_min_rows: 4,
        parallel_min_work: 128 * 128 * 128,
        transpose_min_len: 32,
        // The run-time kernels beat the call site's loops on 57 of the 65
        // sweep products of 512 to 1023 multiply-adds, on 26 of the 44 of
        // 256 to 511, and on 7 of the 40 of 128 to 255 (`benches/sweep.rs`).
        small_max_work: 256,
        rows_min_len: 8,
        product_max_work: 32 * 32 * 32,
        scatter_tile_bytes: 1 << 18,
    };

    #[cfg(feature = "test-hooks")]
    /// Every run-time kernel as eager as it can be: GEMM for every
    /// GEMM-shaped contraction, threads for all work, tiles for every
    /// transposition, and never the call site's own loops or row kernels.
    pub const EAGER: Thresholds = Thresholds {
        gemm_min_work: 0,
        gemm_min_len: 1,
        blocked_min_len: 1,
        window_min_len: 1,
        skinny_min_work: 0,
        // (The other kernels take every product; the defaults run this one.)
        dots_max_work: 0,
        dots_min_k: 1,
        skinny_gather_min_rows: 1,
        parallel_min_work: 0,
        transpose_min_len: 2,
        small_max_work: 0,
        rows_min_len: usize::MAX,
        product_max_work: 0,
        // A few elements a tile: most axes stepped, one in pieces whose
        // last is shorter.
        scatter_tile_bytes: 40,
    };
}

/// Estimated times of the ways to run a call, in picoseconds, for choices
/// made by cost rather than by a bound on one size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// The call site's loops, per output element (a sum started, stored).
    pub loops_per_output: usize,
    /// The call site's loops, per multiply-add: a sum's additions cannot
    /// be reordered, so they run one after another.
    pub loops_per_madd: usize,
    /// A matrix product sent from the call site to the GEMM kernels, once
    /// (the checks, the new array, the kernel's choice)...
    pub product_once: usize,
    /// ... and per `gemm` call (per batch index).
    pub product_per_call: usize,
}

/// The measured costs. Fitted to the sweep's products of at most 256
/// multiply-adds and 16 or more outputs, each run in the loops and as a
/// product (`benches/sweep.rs`): choosing by these, the products took 4%
/// more than the faster way's total time, where a bound of 16 outputs per
/// batch index took 9% more.
pub const COSTS: Costs = Costs {
    loops_per_output: 2_500,
    loops_per_madd: 500,
    product_once: 60_000,
    product_per_call: 30_000,
};

#[cfg(feature = "test-hooks")]
thread_local! {
    static CURRENT: Cell<Thresholds> = const { Cell::new(Thresholds::DEFAULT) };
}

/// The thresholds in force on this thread.
#[cfg(feature = "test-hooks")]
#[inline]
pub fn current() -> Thresholds {
    CURRENT.with(Cell::get)
}

/// The thresholds in force: without the test hooks, the defaults, a
/// constant the compiler folds into each comparison.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn current() -> Thresholds {
    Thresholds::DEFAULT
}

/// Runs `f` with the thresholds `t` on this thread (calls made from `f` on
/// this thread decide by them), then restores the previous ones.
#[cfg(feature = "test-hooks")]
pub fn with_thresholds<R>(t: Thresholds, f: impl FnOnce() -> R) -> R {
    struct Restore(Thresholds);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(t)));
    f()
}
