#!/usr/bin/env python3
"""Times the cases of benches/einsum.rs in numpy and prints one Markdown table
with criterion's medians beside them.

    RAYON_NUM_THREADS=1 cargo bench --bench einsum
    python3 benches/compare_numpy.py

numpy runs single-threaded (threadpoolctl limits its BLAS to one thread),
except for the `_2t` case, which gets two threads like the Rust rows.
Criterion's results are read from target/criterion/<group>/<id>/new/estimates.json
(median, ns); a missing one prints as "—". The verdicts of the bench's own
correctness checks (target/criterion/checks.json) mark wrong results with ✗,
and a wrong result never counts as the "best other Rust".

Options: --no-install (do not pip-install missing modules), --rust-only (skip
the numpy timings), --only SUBSTRING (cases whose group contains it),
--time SECONDS (target time per numpy measurement, default 0.5).

One core against two threads, with no numpy:

    RAYON_NUM_THREADS=1 cargo bench --bench einsum -- --save-baseline one
    RAYON_NUM_THREADS=2 cargo bench --bench einsum -- --save-baseline two
    python3 benches/compare_numpy.py --threads one two
"""

import argparse
import datetime
import importlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (group, subscripts, shapes, dtype, threads, kind, amount[, options])
#   kind "flop": amount is the FLOP count; "byte": the bytes the case must
#   move at least (operands read once, output written once). options: the
#   crate's options after the subscripts (`beta = 1.0`, `reduce = max`),
#   which np.einsum has no equivalent of: such a case's np.einsum and
#   opt_einsum columns stay empty rather than time another operation.
N4, NB, N24 = 4, 64, 24
CASES = [
    ("matmul_4x4_f64", "ij,jk->ik", [(4, 4), (4, 4)], "f8", 1, "flop", 2 * 4**3),
    ("matmul_64_f64", "ij,jk->ik", [(64, 64), (64, 64)], "f8", 1, "flop", 2 * 64**3),
    ("matmul_256_f64", "ij,jk->ik", [(256, 256), (256, 256)], "f8", 1, "flop", 2 * 256**3),
    ("matmul_1024_f64", "ij,jk->ik", [(1024, 1024), (1024, 1024)], "f8", 1, "flop", 2 * 1024**3),
    ("matmul_1024_f32", "ij,jk->ik", [(1024, 1024), (1024, 1024)], "f4", 1, "flop", 2 * 1024**3),
    ("matmul_1024_f64_2t", "ij,jk->ik", [(1024, 1024), (1024, 1024)], "f8", 2, "flop", 2 * 1024**3),
    ("matmul_256_i64", "ij,jk->ik", [(256, 256), (256, 256)], "i8", 1, "flop", 2 * 256**3),
    ("matmul_17_u8", "ij,jk->ik", [(17, 17), (17, 17)], "u1", 1, "flop", 2 * 17**3),
    ("matmul_17_u32", "ij,jk->ik", [(17, 17), (17, 17)], "u4", 1, "flop", 2 * 17**3),
    ("matmul_256_u8", "ij,jk->ik", [(256, 256), (256, 256)], "u1", 1, "flop", 2 * 256**3),
    ("matmul_256_u32", "ij,jk->ik", [(256, 256), (256, 256)], "u4", 1, "flop", 2 * 256**3),
    ("bmm_64x64_f64", "bij,bjk->bik", [(NB, 64, 64), (NB, 64, 64)], "f8", 1, "flop", 2 * NB * 64**3),
    ("tc_abcd_dcef_24", "abcd,dcef->abef", [(N24,) * 4, (N24,) * 4], "f8", 1, "flop", 2 * N24**6),
    ("tc_abcd_cdef_24", "abcd,cdef->abef", [(N24,) * 4, (N24,) * 4], "f8", 1, "flop", 2 * N24**6),
    # Shapes off the usual GEMM ones: a tall matrix times a small one, a
    # dense layer reading its weights transposed, a convolution's input
    # gradient with 8 output channels (over windows, as below).
    ("nd_dc_14400", "nd,dc->nc", [(14400, 16), (16, 8)], "f8", 1, "flop", 2 * 14400 * 16 * 8),
    ("dense_64_784_128", "bi,oi->bo", [(64, 784), (128, 784)], "f8", 1, "flop", 2 * 64 * 784 * 128),
    ("conv_dx_c8", "bxyijd,ijcd->bxyc", [(8, 30, 30, 16), (3, 3, 8, 16)], "f8", 1, "flop",
     2 * 8 * 28 * 28 * 8 * 144),
    ("trace_2000", "ii->", [(2000, 2000)], "f8", 1, "byte", 8 * 2000),
    ("diag_2000", "ii->i", [(2000, 2000)], "f8", 1, "byte", 16 * 2000),
    ("sum_ijk_k_200", "ijk->k", [(200, 200, 200)], "f8", 1, "byte", 8 * (200**3 + 200)),
    ("outer_2000", "i,j->ij", [(2000,), (2000,)], "f8", 1, "byte", 8 * (2000**2 + 2 * 2000)),
    ("dot_1e7", "i,i->", [(10**7,), (10**7,)], "f8", 1, "byte", 16 * 10**7),
    ("transpose_4000", "ij->ji", [(4000, 4000)], "f8", 1, "byte", 16 * 4000**2),
    ("permute_abc_cab", "abc->cab", [(250, 256, 250)], "f8", 1, "byte", 16 * 250 * 256 * 250),
    ("permute_abcd_dcab", "abcd->dcab", [(60, 70, 60, 66)], "f8", 1, "byte", 16 * 60 * 70 * 60 * 66),
    # Over window views (built by `windowed` below): a strided convolution and
    # a 3×3 filter.
    ("conv_b8", "bxyijc,ijcd->bxyd", [(8, 221, 221, 3), (4, 4, 3, 5)], "f8", 1, "flop",
     2 * 8 * 109 * 109 * 5 * 48),
    ("conv_b64", "bxyijc,ijcd->bxyd", [(64, 221, 221, 3), (4, 4, 3, 5)], "f8", 1, "flop",
     2 * 64 * 109 * 109 * 5 * 48),
    ("sobel_1024", "xyij,ij->xy", [(1024, 1024), (3, 3)], "f8", 1, "byte", 8 * (1024**2 + 1022**2)),
    # Three or more operands, FLOPs of the cheapest order.
    ("chain_skinny", "ij,jk,kl->il", [(1000, 10), (10, 1000), (1000, 10)], "f8", 1, "flop", 400_000),
    ("chain_256", "ij,jk,kl->il", [(256, 256)] * 3, "f8", 1, "flop", 4 * 256**3),
    ("network5_32", "ab,bcd,de,ecf,fa->", [(32, 32), (32, 8, 32), (32, 32), (32, 8, 32), (32, 32)], "f8", 1,
     "flop", 1_116_160),
    ("bilinear_2000", "i,ij,j->", [(2000,), (2000, 2000), (2000,)], "f8", 1, "flop", 2 * (2000**2 + 2000)),
    # Added into an existing array; the last shape is the output's.
    ("accumulate_dense_64_784_128", "bi,oi->bo", [(64, 784), (128, 784), (64, 128)], "f8", 1, "flop",
     2 * 64 * 784 * 128, "beta = 1.0"),
    ("accumulate_hadamard_1000", "ij,ij->ij", [(1000, 1000)] * 3, "f8", 1, "byte", 4 * 8 * 1000**2, "beta = 1.0"),
    ("accumulate_matmul_24", "ij,jk->ik", [(24, 24)] * 3, "f8", 1, "flop", 2 * 24**3, "beta = 1.0"),
    # The gradients of conv_b64 from dy (64, 109, 109, 5): the input's, added
    # into overlapping windows of dx; the filter's, over windows of x.
    ("conv_dx_scatter_b64", "bxyd,ijcd->bxyijc", [(64, 109, 109, 5), (4, 4, 3, 5)], "f8", 1, "flop",
     2 * 64 * 109 * 109 * 5 * 48, "beta = 1.0"),
    ("conv_dw_b64", "bxyijc,bxyd->ijcd", [(64, 221, 221, 3), (64, 109, 109, 5)], "f8", 1, "flop",
     2 * 64 * 109 * 109 * 5 * 48),
    # 2×2 max-pooling at stride 2 of conv_b64's output.
    ("maxpool_b64", "bxyijc->bxyc", [(64, 109, 109, 5)], "f8", 1, "byte", 8 * 64 * 5 * (109**2 + 54**2),
     "reduce = max"),
]
CASES = [c + ("",) * (8 - len(c)) for c in CASES]

EINSUM_IDS = ("einsum", "einsum_into")
# This crate's own rows: never "other Rust" (`einsum_fixed` is `einsum!` with
# the sizes bound, `einsum_into_fixed` `einsum_into!` with them,
# `einsum_seq` two-operand `einsum!` calls in the cheapest order by hand; all
# shown in the detailed table).
OWN_IDS = EINSUM_IDS + ("einsum_fixed", "einsum_into_fixed", "einsum_seq")
# The gradient and accumulation cases time einsum! used without the option
# too (a temporary added in, one call per window offset, a column array and
# a loop, a dilated convolution): also this crate's.
OWN_IDS += ("einsum_plus_temporary", "einsum_slices", "einsum_columns_loop", "einsum_dilated")
# Rows that time another operation as a yardstick (a copy of the case's
# bytes, the forward pass of the gradient's convolution): never "other Rust".
YARDSTICK_IDS = ("copy", "copy_pool", "einsum_forward")
# Other processes' load (CPUs) above which a case's numbers are flagged.
BUSY = 0.2
# The ids the bench has, in the order of the detailed table; an id found
# under target/criterion that is not listed here is shown after them.
KNOWN_IDS = [
    "einsum",
    "einsum_fixed",
    "einsum_into",
    "einsum_into_fixed",
    "einsum_seq",
    "einsum_plus_temporary",
    "einsum_slices",
    "einsum_columns_loop",
    "einsum_dilated",
    "ndarray_dot",
    "ndarray",
    "ndarray_einsum",
    "einsum_derive",
    "hand_loop",
    "hand_loop_into",
    "gemm_1t",
    "gemm_rayon",
    "matrixmultiply_1t",
    "gemm_split2",
    "matrixmultiply_split2",
    "gemm_strided",
    "gemm_copy",
    "gemm_pretransposed",
    "gemm_permuted",
    "ndarray_scaled_add",
    "ndarray_general_mat_mul",
    "ndarray_zip",
    "ndarray_fold",
    "copy_windows",
    "einsum_forward",
    "copy",
    "copy_pool",
]


def nhwc_windows(np, x):
    """The convolution's `as_strided` windows (4×4, stride 2) of an NHWC batch."""
    b, h, w, c = x.shape
    sb, sh, sw, sc = x.strides
    o = (h - 4) // 2 + 1
    return np.lib.stride_tricks.as_strided(
        x, shape=(b, o, o, 4, 4, c), strides=(sb, 2 * sh, 2 * sw, sh, sw, sc), writeable=False
    )


def windowed(np, group, ops):
    """The operands of the window cases: the convolution's windows of an NHWC
    batch, or `sliding_window_view` 3×3 windows of an image; other cases
    unchanged."""
    if group.startswith(("conv_b", "conv_dw")):
        x, other = ops
        return [nhwc_windows(np, x), other]
    if group == "sobel_1024":
        img, k = ops
        return [np.lib.stride_tricks.sliding_window_view(img, (3, 3)), k]
    if group == "conv_dx_c8":
        dy, f = ops
        # (b, x, y, d, i, j) from numpy, moved to the (b, x, y, i, j, d) of
        # `windows_nhwc`.
        win = np.lib.stride_tricks.sliding_window_view(dy, (3, 3), axis=(1, 2))
        return [np.moveaxis(win, 3, 5), f]
    return ops


def numpy_direct(np, group, ops):
    """The non-einsum numpy ways to do a case: {name: zero-argument callable}.
    The accumulations add into their last operand, as the bench adds into
    one output over and over."""
    if group.startswith("accumulate"):
        a, b, out = ops

        # `out` as a default argument, since `+=` on a closure's variable
        # would rebind it.
        def dense(out=out):
            out += a @ b.T

        def hadamard(out=out):
            out += a * b

        def matmul(out=out):
            out += a @ b

        return {
            "accumulate_dense_64_784_128": {"out += x @ w.T": dense},
            "accumulate_hadamard_1000": {"out += a * b": hadamard},
            "accumulate_matmul_24": {"out += a @ b": matmul},
        }[group]
    if group.startswith("conv_dx_scatter"):
        dy, f = ops
        b, o, _, _ = dy.shape
        k, _, c, _ = f.shape
        # conv_b64's input: its last row and column are in no window.
        h = 221
        span = 2 * (o - 1) + 1
        # Zeroed inside the timing, as the bench's `dx.fill(0.0)`.
        dx = np.empty((b, h, h, c))

        def col2im():
            cols = np.tensordot(dy, f, axes=([3], [3]))
            dx.fill(0.0)
            for i in range(k):
                for j in range(k):
                    dx[:, i : i + span : 2, j : j + span : 2, :] += cols[:, :, :, i, j, :]
            return dx

        # Where each column element lands in the flat dx, built once (it
        # depends on the shapes only).
        n_, x_, y_, i_, j_, c_ = np.ix_(*(np.arange(s) for s in (b, o, o, k, k, c)))
        flat = (((n_ * h + 2 * x_ + i_) * h + 2 * y_ + j_) * c + c_).ravel()

        def add_at():
            # One unbuffered call over every element. numpy >= 1.25 has a
            # fast path for a 1-D index; before it, ufunc.at was many times
            # slower (numpy issue 5922) and users wrote the slice loop.
            cols = np.tensordot(dy, f, axes=([3], [3]))
            dx.fill(0.0)
            np.add.at(dx.reshape(-1), flat, cols.reshape(-1))
            return dx

        return {"tensordot + 16 slice adds": col2im, "tensordot + np.add.at": add_at}
    if group.startswith("conv_dw"):
        w, dy = ops
        return {"tensordot(axes=3)": lambda: np.tensordot(w, dy, axes=([0, 1, 2], [0, 1, 2]))}
    if group.startswith("maxpool"):
        (y,) = ops
        b, h, _, c = y.shape
        o = h // 2

        def reshaped():
            # A view: splitting an axis needs no copy, even of a slice.
            return y[:, : 2 * o, : 2 * o, :].reshape(b, o, 2, o, 2, c).max(axis=(2, 4))

        def windows():
            # (b, h - 1, h - 1, c, 2, 2): the window axes come last.
            win = np.lib.stride_tricks.sliding_window_view(y, (2, 2), axis=(1, 2))
            return win[:, ::2, ::2].max(axis=(4, 5))

        return {"reshape + max": reshaped, "sliding_window_view + max": windows}
    if group.startswith("conv_b"):
        w, f = ops
        b, o = w.shape[0], w.shape[1]

        def reshaped():
            # The reshape copies the windows (as numpy must), then one matmul.
            return (w.reshape(b * o * o, 48) @ f.reshape(48, 5)).reshape(b, o, o, 5)

        return {"tensordot(axes=3)": lambda: np.tensordot(w, f, axes=3), "reshape + matmul": reshaped}
    if group == "sobel_1024":
        w, k = ops
        return {"tensordot(axes=2)": lambda: np.tensordot(w, k, axes=2)}
    if group.startswith("chain"):
        a, b, c = ops
        return {"a @ (b @ c)": lambda: a @ (b @ c)}
    if group == "bilinear_2000":
        x, m, y = ops
        return {"x @ (m @ y)": lambda: x @ (m @ y)}
    if group == "network5_32":
        a, b, d, e, f = ops

        def ordered():
            bf = np.einsum("ab,fa->bf", a, f)
            bce = np.einsum("bf,ecf->bce", bf, e)
            de = np.einsum("bce,bcd->de", bce, b)
            return np.einsum("de,de->", de, d)

        return {"einsum by hand, cheapest order": ordered}
    if group == "conv_dx_c8":
        w, f = ops
        return {"tensordot(axes=3)": lambda: np.tensordot(w, f, axes=([3, 4, 5], [0, 1, 3]))}
    if group == "nd_dc_14400":
        a, b = ops
        return {"matmul": lambda: a @ b}
    if group == "dense_64_784_128":
        x, w = ops
        return {"matmul": lambda: x @ w.T}
    if group.startswith("matmul"):
        a, b = ops
        return {"matmul": lambda: np.matmul(a, b), "tensordot": lambda: np.tensordot(a, b, 1)}
    if group.startswith("bmm"):
        a, b = ops
        return {"matmul": lambda: np.matmul(a, b)}
    if group == "tc_abcd_dcef_24":
        a, b = ops
        return {"tensordot": lambda: np.tensordot(a, b, axes=([2, 3], [1, 0]))}
    if group == "tc_abcd_cdef_24":
        a, b = ops
        n2 = N24 * N24
        return {
            "tensordot": lambda: np.tensordot(a, b, axes=([2, 3], [0, 1])),
            "matmul": lambda: (a.reshape(n2, n2) @ b.reshape(n2, n2)).reshape((N24,) * 4),
        }
    (a, *rest) = ops
    return {
        "trace_2000": {"trace": lambda: np.trace(a)},
        "diag_2000": {"diagonal().copy()": lambda: np.diagonal(a).copy()},
        "sum_ijk_k_200": {"sum(axis=(0, 1))": lambda: a.sum(axis=(0, 1))},
        "outer_2000": {"outer": lambda: np.outer(a, rest[0] if rest else a)},
        "dot_1e7": {"dot": lambda: np.dot(a, rest[0] if rest else a)},
        "transpose_4000": {"ascontiguousarray(a.T)": lambda: np.ascontiguousarray(a.T)},
        "permute_abc_cab": {"ascontiguousarray(transpose)": lambda: np.ascontiguousarray(a.transpose(2, 0, 1))},
        "permute_abcd_dcab": {"ascontiguousarray(transpose)": lambda: np.ascontiguousarray(a.transpose(3, 2, 0, 1))},
    }[group]


# ---------------------------------------------------------------------------


def ensure_modules(names, install):
    """pip-installs the missing ones of names [(module, package)] if asked."""
    missing = [pkg for mod, pkg in names if importlib.util.find_spec(mod) is None]
    if missing and install:
        print(f"pip install {' '.join(missing)}", file=sys.stderr)
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", *missing]
        if subprocess.call(cmd) != 0:
            subprocess.call(cmd + ["--user"])
        importlib.invalidate_caches()


def try_import(mod):
    try:
        return importlib.import_module(mod)
    except ImportError:
        return None


def owned(np, r, ops):
    """numpy's einsum returns a view of its operand for `ij->ji` and `ii->i`;
    einsum! returns a new array, so such a view is copied (into C order) to
    compare like with like."""
    if isinstance(r, np.ndarray) and any(np.may_share_memory(r, o) for o in ops):
        return np.array(r, order="C", copy=True)
    return r


def median_ns(f, target):
    """Median time of one call of f, in ns, over repeated samples."""
    f()  # warm-up (first touch, path caches)
    t0 = time.perf_counter()
    f()
    t = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, int(2e-3 / t))  # each sample at least ~2 ms
    samples = max(5, min(100, int(target / (t * inner)) + 1))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            f()
        times.append((time.perf_counter_ns() - t0) / inner)
    return statistics.median(times)


def disagreeing(np, dtype, results):
    """The names among results {name: array} whose array differs from the
    first one's beyond rounding (relative to the largest element)."""
    if len(results) < 2:
        return []
    (_, ref), *rest = results.items()
    ref = np.asarray(ref)
    tol = 1e-3 if dtype == "f4" else 1e-8
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    return [
        name
        for name, r in rest
        if np.shape(r) != ref.shape or not np.allclose(r, ref, rtol=tol, atol=tol * scale)
    ]


def cpu_snap():
    """(busy, total, own, cpus) CPU ticks from /proc, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
        v = [int(x) for x in lines[0].split()[1:9]]
        cpus = sum(1 for l in lines if l.startswith("cpu") and not l.startswith("cpu "))
        with open("/proc/self/stat") as f:
            g = f.read().rsplit(")", 1)[1].split()
        return sum(v) - v[3] - v[4], sum(v), int(g[11]) + int(g[12]), max(cpus, 1)
    except (OSError, ValueError, IndexError):
        return None


def other_load(a, b):
    """CPUs' worth of work done by other processes between two snapshots."""
    if a is None or b is None:
        return None
    elapsed = (b[1] - a[1]) / b[3]
    return max(0.0, ((b[0] - a[0]) - (b[2] - a[2])) / elapsed) if elapsed > 0 else None


def criterion_dir():
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "criterion"


def criterion_median(cdir, group, fid, baseline="new"):
    p = cdir / group / fid / baseline / "estimates.json"
    try:
        return json.loads(p.read_text())["median"]["point_estimate"]
    except (OSError, ValueError, KeyError):
        return None


def criterion_rate(cdir, group, fid):
    """Work per ns (G per s) of a criterion row, from its median and throughput."""
    return criterion_rate_at(cdir, group, fid, "new")



# Multiply-adds from which the crate spreads a step over the pool
# (`parallel_min_work`).
SPLIT_WORK = 128**3
# The two-thread speedup a case that splits is held to.
SCALING = 1.7
# The share of both cores' copy rate from which a case is called bound by
# memory.
MEMORY_BOUND = 0.8
# The largest pairwise step of the cases of three or more operands, in
# multiply-adds (each step splits by its own work).
LARGEST_STEP = {
    "chain_skinny": 1000 * 10 * 10,
    "chain_256": 256**3,
    "network5_32": 32**4,
    "bilinear_2000": 2000**2,
}


def split_work(group, spec, shapes):
    """Multiply-adds of a case's largest step: for one or two operands, the
    product of every label's size."""
    if group in LARGEST_STEP:
        return LARGEST_STEP[group]
    sizes = {}
    for term, shape in zip(spec.split("->")[0].split(","), shapes):
        sizes.update(zip(term, shape))
    work = 1
    for n in sizes.values():
        work *= n
    return work


def thread_report(cdir, one, two, cases):
    """One core against two threads, from the criterion baselines `one` and
    `two` of the same cases: each case large enough to split either runs
    `SCALING` times faster on two, or is shown against the copy rate of both
    cores (`copy_pool`), the machine's limit for memory-bound work."""
    peak = criterion_rate_at(cdir, "machine_peak", "fma_f64", one)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    print(f"{stamp}, {cpu_model()}, {os.cpu_count()} CPUs; criterion baselines `{one}` and `{two}`")
    if peak:
        print(f"(one core's f64 multiply-add peak, `machine_peak`: {peak:.3g} GFLOP/s)")
    print()
    print("| case | work | einsum, one core | einsum, two threads | two / one | verdict |")
    print("|---|---|--:|--:|--:|---|")
    for group, spec, shapes, _, threads, kind, amount, options in cases:
        if threads > 1:
            continue
        t1 = best_of(cdir, group, one)
        t2 = best_of(cdir, group, two)
        if t1 is None or t2 is None:
            continue
        speedup = t1 / t2
        if split_work(group, spec, shapes) < SPLIT_WORK:
            verdict = "one thread (too small to split)"
        elif speedup >= SCALING:
            verdict = f"≥ {SCALING}×"
        else:
            copy2 = criterion_median(cdir, group, "copy_pool", two)
            if kind == "byte" and copy2:
                share = copy2 / t2
                verdict = (
                    f"{'memory-bound' if share >= MEMORY_BOUND else f'under {SCALING}×'}: "
                    f"{amount / t2:.3g} GB/s, copy on both cores "
                    f"{amount / copy2:.3g} GB/s ({100 * share:.0f}%)"
                )
            else:
                verdict = f"under {SCALING}×"
        print(
            f"| `{shown_spec(spec, options)}` {group} | {fmt_work(kind, amount)} | {fmt_time(t1)} | {fmt_time(t2)} "
            f"| {speedup:.2f}× | {verdict} |"
        )
    print()
    print(
        "einsum = the faster of einsum! and einsum_into!. A step of 128³ multiply-adds or more "
        "is spread over the threads; each case with one either runs "
        f"{SCALING}× faster on two or, for memory-bound cases (at {100 * MEMORY_BOUND:.0f}% or more "
        "of it), is shown against `copy_pool`, the same bytes copied on both cores."
    )


def best_of(cdir, group, baseline):
    times = [criterion_median(cdir, group, f, baseline) for f in EINSUM_IDS]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def limit_share(kind, dtype, threads, amount, mine, rust, peaks):
    """The einsum rate as a share of the machine's limit: of one core's FMA
    peak (times the threads) for float contractions, of the same group's copy
    rate for memory-bound rows; None where neither applies."""
    if mine is None:
        return None
    rate = amount / mine
    if kind == "flop":
        peak = peaks.get(dtype)
        return rate / (peak * threads) if peak else None
    copy = rust.get("copy")
    return rate / (amount / copy) if copy else None


def criterion_rate_at(cdir, group, fid, baseline):
    """Work per ns (G per s) of a criterion row of `baseline`, from its
    median and throughput."""
    ns = criterion_median(cdir, group, fid, baseline)
    try:
        t = json.loads((cdir / group / fid / baseline / "benchmark.json").read_text())["throughput"]
        amount = t.get("Elements", t.get("Bytes"))
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None
    return amount / ns if ns and amount else None


def shown_spec(spec, options):
    return f"{spec}; {options}" if options else spec


def fmt_time(ns):
    if ns is None:
        return "—"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_work(kind, amount):
    unit = "FLOP" if kind == "flop" else "B"
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if amount >= scale:
            return f"{amount / scale:.3g} {prefix}{unit}"
    return f"{amount} {unit}"


def fmt_rate(kind, amount, ns):
    if ns is None:
        return "—"
    rate = amount / ns  # per ns = G per s
    return f"{rate:.3g} {'GFLOP/s' if kind == 'flop' else 'GB/s'}"


def fmt_share(x):
    return "—" if x is None else f"{100 * x:.0f}%"


def fmt_ratio(other, mine):
    if other is None or mine is None:
        return "—"
    return f"{other / mine:.2f}×"


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--rust-only", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--time", type=float, default=0.5)
    ap.add_argument(
        "--threads",
        nargs=2,
        metavar=("ONE", "TWO"),
        help="print one core against two threads from two criterion baselines "
        "(`--save-baseline`) and stop",
    )
    args = ap.parse_args()
    if args.threads:
        thread_report(criterion_dir(), *args.threads, [c for c in CASES if args.only in c[0]])
        return

    cases = [c for c in CASES if args.only in c[0]]
    cdir = criterion_dir()
    found = {p.parent.name for p in cdir.glob("*/*/new")} if cdir.is_dir() else set()
    ALL_IDS = KNOWN_IDS + sorted(found - set(KNOWN_IDS) - {"report"})
    try:
        checks = json.loads((cdir / "checks.json").read_text())
    except (OSError, ValueError):
        checks = {}
    try:
        rust_load = {k: float(v) for k, v in json.loads((cdir / "load.json").read_text()).items()}
    except (OSError, ValueError):
        rust_load = {}

    np = oe = tpc = None
    if not args.rust_only:
        ensure_modules(
            [("numpy", "numpy"), ("opt_einsum", "opt_einsum"), ("threadpoolctl", "threadpoolctl")],
            not args.no_install,
        )
        tpc = try_import("threadpoolctl")
        if tpc is None:
            # No way to change the BLAS threads later: one thread from the start.
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = "1"
        np, oe = try_import("numpy"), try_import("opt_einsum")
        if np is None:
            print("numpy is not available: numpy columns left empty", file=sys.stderr)

    blas = ""
    if np is not None and tpc is not None:
        info = [i for i in tpc.threadpool_info() if i.get("user_api") == "blas"]
        if info:
            i = info[0]
            blas = f", BLAS {i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"

    peaks = {
        dtype: rate
        for dtype, rate in (
            ("f8", criterion_rate(cdir, "machine_peak", "fma_f64")),
            ("f4", criterion_rate(cdir, "machine_peak", "fma_f32")),
        )
        if rate
    }

    rows = []
    disagree = []
    for group, spec, shapes, dtype, threads, kind, amount, options in cases:
        rust = {fid: criterion_median(cdir, group, fid) for fid in ALL_IDS}
        wrong = {fid for fid in ALL_IDS if checks.get(f"{group}/{fid}", "ok") != "ok"}

        np_einsum = oe_contract = direct = np_load = None
        direct_name = ""
        directs = {}
        if np is not None:
            snap = cpu_snap()
            rng = np.random.default_rng(0)
            if dtype == "i8":
                ops = [rng.integers(-8, 8, size=s).astype(np.int64) for s in shapes]
            elif dtype in ("u1", "u4"):
                ops = [rng.integers(0, 4, size=s).astype(dtype) for s in shapes]
            else:
                ops = [rng.uniform(-1, 1, size=s).astype(dtype) for s in shapes]
            ops = windowed(np, group, ops)
            try:
                if threads > 1 and tpc is None:
                    raise RuntimeError("threadpoolctl missing: no 2-thread numpy run")
                with tpc.threadpool_limits(limits=threads) if tpc is not None else nullcontext():
                    ways = numpy_direct(np, group, ops)
                    if not options:
                        np_einsum = median_ns(lambda: owned(np, np.einsum(spec, *ops, optimize=True), ops), args.time)
                        if oe is not None:
                            oe_contract = median_ns(lambda: owned(np, oe.contract(spec, *ops), ops), args.time)
                    for name, f in ways.items():
                        t = median_ns(f, args.time)
                        directs[name] = t
                        if direct is None or t < direct:
                            direct, direct_name = t, name
                    results = {}
                    if len(ways) + (np_einsum is not None) > 1:
                        if np_einsum is not None:
                            results["np.einsum"] = np.einsum(spec, *ops, optimize=True)
                        for name, f in ways.items():
                            r = f()
                            if r is not None:
                                # Copied: ways may return one preallocated array.
                                results[name] = np.array(r, copy=True)
                    for name in disagreeing(np, dtype, results):
                        print(f"{group}: numpy's {name} differs from {next(iter(results))}", file=sys.stderr)
                        disagree.append(f"{group}: {name} against {next(iter(results))}")
            except RuntimeError as e:
                print(f"{group}: {e}", file=sys.stderr)
            np_load = other_load(snap, cpu_snap())
            print(f"timed {group} in numpy", file=sys.stderr)

        loads = [x for x in (rust_load.get(group), np_load) if x is not None]
        busy = max(loads) if loads else None
        rows.append(
            (group, shown_spec(spec, options), threads, kind, amount, rust, wrong, np_einsum, oe_contract, direct, direct_name, busy, directs,
             dtype)
        )

    # --- the summary table -------------------------------------------------
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    threads_note = os.environ.get("RAYON_NUM_THREADS")
    npv = f"numpy {np.__version__}" if np is not None else "numpy not run"
    oev = f", opt_einsum {oe.__version__}" if oe is not None else ""
    print(f"{now}, {cpu_model()}, {os.cpu_count()} CPUs; {npv}{oev}{blas}; Python {platform.python_version()}")
    worst = max((r[11] for r in rows if r[11] is not None), default=None)
    if worst is not None:
        print(f"(largest load from other processes while a case ran: {worst:.2f} CPUs; ‡ marks cases above {BUSY})")
    if threads_note:
        print(f"(RAYON_NUM_THREADS={threads_note} in this shell)")
    if peaks:
        print(
            "(one core's multiply-add peak in the same run, `machine_peak`: "
            + ", ".join(f"{'f64' if d == 'f8' else 'f32'} {r:.3g} GFLOP/s" for d, r in sorted(peaks.items(), reverse=True))
            + ")"
        )
    print()
    print(
        "| case | work | einsum! | einsum_into! | best other Rust | np.einsum(optimize=True) "
        "| opt_einsum.contract | numpy direct | einsum rate | of peak / of copy | other Rust / einsum "
        "| np.einsum / einsum | numpy direct / einsum |"
    )
    print("|---|---|--:|--:|---|--:|--:|---|--:|--:|--:|--:|--:|")
    for group, spec, threads, kind, amount, rust, wrong, np_e, oe_c, direct, direct_name, busy, _, dtype in rows:
        mine_vals = [rust[f] for f in EINSUM_IDS if rust[f] is not None and f not in wrong]
        mine = min(mine_vals) if mine_vals else None
        others = [
            (rust[f], f)
            for f in ALL_IDS
            if f not in OWN_IDS and f not in YARDSTICK_IDS and rust[f] is not None and f not in wrong
        ]
        best = min(others) if others else (None, "")

        def mark(fid):
            t = fmt_time(rust[fid])
            return t + " ✗" if fid in wrong and rust[fid] is not None else t

        case = f"`{spec}` {group}" + (" (2 threads)" if threads > 1 else "")
        if busy is not None and busy > BUSY:
            case += " ‡"
        print(
            f"| {case} | {fmt_work(kind, amount)} | {mark('einsum')} | {mark('einsum_into')} "
            f"| {fmt_time(best[0])}{f' ({best[1]})' if best[0] is not None else ''} "
            f"| {fmt_time(np_e)} | {fmt_time(oe_c)} "
            f"| {fmt_time(direct)}{f' ({direct_name})' if direct is not None else ''} "
            f"| {fmt_rate(kind, amount, mine)} | {fmt_share(limit_share(kind, dtype, threads, amount, mine, rust, peaks))} "
            f"| {fmt_ratio(best[0], mine)} "
            f"| {fmt_ratio(np_e, mine)} | {fmt_ratio(direct, mine)} |"
        )
    print()
    print(
        "einsum = the faster of einsum! and einsum_into!; of peak / of copy = its rate as a share of one core's "
        "multiply-add peak (times the threads) for float contractions, or of the case's own copy row for "
        "memory-bound cases; ratios are other time / einsum time "
        "(above 1× means einsum is faster). ✗ = the bench's check found the result wrong. "
        f"‡ = other processes used more than {BUSY} CPUs while the case ran (Rust or numpy): "
        "its numbers are not reliable."
    )

    # --- every numpy direct way, where a case has more than one -------------
    several = [r for r in rows if len(r[12]) > 1]
    if several:
        print()
        print("| case | numpy direct way | time | way / einsum |")
        print("|---|---|--:|--:|")
        for r in several:
            group, spec, rust, wrong, directs = r[0], r[1], r[5], r[6], r[12]
            mine_vals = [rust[f] for f in EINSUM_IDS if rust[f] is not None and f not in wrong]
            mine = min(mine_vals) if mine_vals else None
            for name, t in directs.items():
                print(f"| `{spec}` {group} | {name} | {fmt_time(t)} | {fmt_ratio(t, mine)} |")

    # --- every Rust row ----------------------------------------------------
    present = [f for f in ALL_IDS if any(r[5][f] is not None for r in rows)]
    if not present:
        print(f"\nNo criterion results under {cdir}: run `cargo bench --bench einsum` first.")
        return
    print()
    print("| case | " + " | ".join(present) + " | other load |")
    print("|---|" + "--:|" * (len(present) + 1))
    for group, spec, threads, kind, amount, rust, wrong, *_ in rows:
        load = rust_load.get(group)
        cells = []
        for f in present:
            if rust[f] is None:
                cells.append("—")
            else:
                cell = f"{fmt_time(rust[f])}<br>{fmt_rate(kind, amount, rust[f])}"
                cells.append(cell + (" ✗" if f in wrong else ""))
        load = "—" if load is None else f"{load:.2f}"
        print(f"| {group} | " + " | ".join(cells) + f" | {load} |")
    print()
    print(
        "copy = copy_from_slice of as many bytes as the case moves (half read, half written). "
        "other load = CPUs used by other processes while the Rust group ran."
    )
    bad = sorted(k for k, v in checks.items() if v != "ok" and any(k.startswith(r[0] + "/") for r in rows))
    if bad:
        print()
        print("Wrong results found by the bench's checks:")
        for k in bad:
            print(f"- {k}: {checks[k]}")
    if disagree:
        print()
        print("numpy ways whose results disagree:")
        for d in disagree:
            print(f"- {d}")


if __name__ == "__main__":
    main()
