#!/usr/bin/env python3
"""Measures what `einsum` costs a crate's build, and prints one Markdown report.

    python3 benches/build_cost.py            # 3 runs of each build, medians
    python3 benches/build_cost.py --quick    # 1 run of each, to try it out
    python3 benches/build_cost.py --only d --profiles release

Everything happens in scratch crates in a temporary directory (removed at the
end unless --keep), with the workspace's own facade crate (`FACADE`, today
`einsum`) by path. Dependencies are fetched first (`cargo fetch`), and every
timed build runs `--frozen`, so the network is never timed. Builds run with
`CARGO_INCREMENTAL=0` (a dependency from crates.io is never built
incrementally, and a rebuild of the user's crate should not reuse a cache of
itself) and without a `RUSTC_WRAPPER`.

a. Clean build of a proc-macro crate with its dependency tree: `einsum-macro`
   next to `thiserror-impl` (latest 2.x) and `serde_derive` (latest 1.x), each
   the only dependency of an otherwise empty crate, in debug and release, in a
   fresh `CARGO_TARGET_DIR` for every run. The headline is the wall time of the
   whole tree; the macro crate's own compile time and syn's come from
   `cargo build --timings` (its HTML report's unit data). Which syn, with
   which features, each tree pulls is read from `cargo tree`.
b. Two crates of 100 `einsum!`-family calls against the same crate with the
   calls removed, with the first call alone, and with the first call on u8
   alone, a type whose kernels are compiled where called (same
   dependencies, the facade prebuilt in the target dir): `touch
   src/lib.rs`, rebuild, timed.
   `calls` holds 100 varied calls (every form, element type, operand kind,
   fixed sizes); `mix10` ten call sites each of ten common f64 expressions.
   The differences are what the calls add to a build, and what the first
   call of an element type adds (the run-time kernels it instantiates).
   Targets: each 100-call crate adds at most 5 s to a release build, the
   first call at most 0.5 s.
c. The code the calls generate: the crate's `-Zunpretty=expanded` output
   with and without the calls (needs a nightly toolchain; skipped with a
   note without one), the `.text` size of the rlibs, debug and release, and
   the largest functions of the release rlib, summed over their instances.
d. A fresh binary crate's clean build, the facade against its two big
   dependencies: two binary crates with the same `src/main.rs` but for its
   `use` lines and the product of two `Array2<f64>`, one depending on the
   facade alone and computing it with `einsum!("ij,jk->ik", ...)`, the other
   on `ndarray` 0.17 and `gemm` 0.19 (the features einsum-core uses) and
   computing it with `a.dot(&b)`; both binaries run once and must agree.
   Each is built from clean (a fresh `CARGO_TARGET_DIR` per run), in debug
   and release. Reported: the wall times, the facade/base ratio against its
   targets (release at most 1.5x, debug at most 1.3x), and, from
   `cargo build --timings`, when the units on the way to the binary start and
   how long each takes (einsum-macro, einsum-core, einsum-runtime, gemm, ...).

Options: --quick (1 run each), --runs N, --keep (keep the scratch directory
and print it), --only a,b,c,d (the parts to run), --profiles debug,release
(the profiles to build), --workdir DIR (instead of a new temporary directory
under /tmp), --toolchain NAME (nightly toolchain for part c, default
`nightly`), --write-results (also append the report, as a dated section, to
benches/RESULTS.md).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MACRO_DIR = ROOT / "einsum-macro"
RESULTS = ROOT / "benches" / "RESULTS.md"

# The workspace's facade package: the name a user's Cargo.toml depends on and
# the crate name the macros' output refers to. A rename of the package is a
# change of this line.
FACADE = "einsum"
FACADE_CRATE = FACADE.replace("-", "_")
FACADE_DEP = f'{FACADE} = {{ path = "{ROOT}" }}'

# The proc-macro crates compared in part a: (label, crate name, dependency
# line in Cargo.toml, the crate's name in cargo's unit data).
PROBES = [
    ("einsum-macro (this workspace)", "einsum-macro",
     f'einsum-macro = {{ path = "{MACRO_DIR}" }}'),
    ("thiserror-impl 2.x", "thiserror-impl", 'thiserror-impl = "2"'),
    ("serde_derive 1.x", "serde_derive", 'serde_derive = "1"'),
]

PROFILES = [("debug", []), ("release", ["--release"])]


# --------------------------------------------------------------------------
# The 100 calls of part b.
#
# Each entry: (form, subscripts, element type, fixed-size bindings, operand
# kinds, output kind). Operand kinds, one letter per operand (default all
# "A"): A `&ArrayN<T>` (for a term with `...`, one axis more than its
# labels), D `&ArrayD<T>`, V `ArrayViewN<'_, T>` by value, S `&[T]`,
# W `&Vec<T>`, Z `&Array0<T>`. Output kinds of the `_into` forms: A
# `&mut ArrayN<T>`, V `ArrayViewMutN<'_, T>`, D `&mut ArrayD<T>`.
# Forms: e `einsum!`, t `try_einsum!`, i `einsum_into!`, ti
# `try_einsum_into!`, p `einsum_path!`.
F64, F32, I32, I64, U8 = "f64", "f32", "i32", "i64", "u8"
C64, C32 = "Complex<f64>", "Complex<f32>"
CALLS = [
    # Two operands: products, contractions, outer and element-wise.
    ("e", "ij,jk->ik", F64, "", "", ""),
    ("e", "ij,jk->ik", F32, "", "", ""),
    ("e", "ij,jk->ik", I64, "", "", ""),
    ("e", "ij,jk->ik", C64, "", "", ""),
    ("e", "ij,jk", F64, "", "VV", ""),
    ("e", "ij,kj->ik", F64, "", "", ""),
    ("e", "ji,jk->ik", F32, "", "", ""),
    ("e", "ij,j->i", F64, "", "AS", ""),
    ("e", "i,ij->j", F32, "", "", ""),
    ("e", "ijk,jil->kl", F64, "", "", ""),
    ("e", "i,j->ij", F64, "", "", ""),
    ("e", "i,j->ij", I32, "", "WW", ""),
    ("e", "ij,ij->ij", F64, "", "", ""),
    ("e", "ij,ij->ij", U8, "", "", ""),
    ("e", "abcd,dcef->abef", F64, "", "", ""),
    ("e", "abcd,cdef->abef", F32, "", "", ""),
    ("e", "ijk,ikl->jl", C32, "", "", ""),
    ("e", "i,i", F64, "", "SS", ""),
    ("e", "i,i->", I64, "", "WW", ""),
    ("e", "ij,ij->", F32, "", "", ""),
    ("e", "ij,jk->ki", F64, "", "", ""),
    # Batched.
    ("e", "bij,bjk->bik", F64, "", "", ""),
    ("e", "bij,bjk->bik", F32, "", "", ""),
    ("e", "bij,bjk->bik", I32, "", "", ""),
    ("e", "bhqd,bhkd->bhqk", F32, "", "", ""),
    ("e", "bhqk,bhkd->bhqd", F32, "", "", ""),
    ("e", "bij,bj->bi", F64, "", "", ""),
    ("e", "bi,bj->bij", F64, "", "", ""),
    ("e", "bij,jk->bik", C64, "", "", ""),
    # Traces and diagonals.
    ("e", "ii", F64, "", "", ""),
    ("e", "ii->", I64, "", "", ""),
    ("e", "ii->i", F64, "", "", ""),
    ("e", "iij->ij", F32, "", "", ""),
    ("e", "bii->b", F64, "", "", ""),
    ("e", "bii->bi", F32, "", "", ""),
    ("e", "ijji->", F64, "", "", ""),
    ("e", "iji->ij", F64, "", "", ""),
    ("e", "ii,i->i", F64, "", "", ""),
    # Ellipses.
    ("e", "...ij,...jk->...ik", F64, "", "", ""),
    ("e", "...ij,...jk->...ik", F32, "", "DD", ""),
    ("e", "...ii->...i", F64, "", "", ""),
    ("e", "...i->i", F64, "", "D", ""),
    ("e", "i...->...", F32, "", "", ""),
    ("e", "...ij->...ji", I32, "", "", ""),
    ("e", "ij...,jk...->ik...", F64, "", "", ""),
    ("e", "...,...->...", F64, "", "DD", ""),
    ("e", "...i,...i->...", F64, "", "", ""),
    ("e", "...ij,j->...i", C64, "", "", ""),
    # Three to five operands.
    ("e", "ij,jk,kl->il", F64, "", "", ""),
    ("e", "ij,jk,kl->il", F32, "", "", ""),
    ("e", "ij,jk,kl,lm->im", F64, "", "", ""),
    ("e", "ab,bc,cd,de,ef->af", F64, "", "", ""),
    ("e", "i,ij,j->", F64, "", "", ""),
    ("e", "ijk,jl,km->ilm", F64, "", "", ""),
    ("e", "ea,eb,ec->abc", F32, "", "", ""),
    ("e", "ij,jk,kl->il", I64, "", "", ""),
    ("e", "bij,bjk,bkl->bil", F64, "", "", ""),
    ("e", "i,i,i->", F32, "", "", ""),
    ("e", "ab,bc,ca->", F64, "", "", ""),
    ("e", "ij,jk,kl,lm,mn->in", F32, "", "", ""),
    ("e", "abc,cd,de->abe", C64, "", "", ""),
    # Scalar outputs, transpositions, sums.
    ("e", "ij->", F64, "", "", ""),
    ("e", "ijk->", F32, "", "", ""),
    ("e", "i->", I64, "", "", ""),
    ("e", "ij,ji->", F64, "", "", ""),
    ("e", "ij->ji", F64, "", "", ""),
    ("e", "ijk->kji", F32, "", "", ""),
    ("e", "ij->j", F64, "", "", ""),
    ("e", "ijk->k", I32, "", "", ""),
    ("e", "ij->i", F64, "", "", ""),
    ("e", "ijkl->ljki", F64, "", "", ""),
    ("e", ",i->i", F64, "", "ZA", ""),
    # Into an existing array.
    ("i", "ij,jk->ik", F64, "", "", "A"),
    ("i", "ij->ji", F32, "", "", "V"),
    ("i", "bij,bjk->bik", F64, "", "", "A"),
    ("i", "ij,jk,kl->il", F64, "", "", "A"),
    ("i", "i,j->ij", I32, "", "", "V"),
    ("i", "...ij,...jk->...ik", F64, "", "", "D"),
    # try_ forms and einsum_path!.
    ("t", "ij,jk->ik", F64, "", "", ""),
    ("t", "ii", F64, "", "", ""),
    ("ti", "ij,jk->ik", F64, "", "", "A"),
    ("t", "...i->i", F32, "", "", ""),
    ("p", "ij,jk,kl->il", F64, "", "", ""),
    ("p", "ab,bc,cd,de,ef->af", F64, "", "", ""),
    # Fixed sizes. `xyij,ij->xy; i = 8, j = 8`, `bxyijc,ijcd->bxyd; i = 4,
    # j = 4, c = 4`, `ij,jk->ik; j = 64` and `ijk,jk->i; j = 8, k = 8` are
    # the largest unrolled cases: 64 multiply-adds per output element.
    ("e", "ij,jk->ik", F64, "i = 4, j = 4, k = 4", "", ""),
    ("e", "ij,jk->ik", F32, "i = 4, j = 4, k = 4", "", ""),
    ("e", "xyij,ij->xy", F32, "i = 3, j = 3", "", ""),
    ("e", "xyij,ij->xy", F64, "i = 3, j = 3", "VA", ""),
    ("e", "xyij,ij->xy", F32, "i = 8, j = 8", "", ""),
    ("e", "bxyijc,ijcd->bxyd", F32, "i = 4, j = 4, c = 4", "", ""),
    ("e", "ij,jk->ik", F64, "j = 64", "", ""),
    ("e", "xyijc,ijc->xy", F64, "i = 4, j = 4, c = 3", "", ""),
    ("i", "xyij,ij->xy", F64, "i = 3, j = 3", "", "A"),
    ("e", "i,i->", F64, "i = 16", "", ""),
    ("e", "ij,jk->ik", F64, "j = K", "", ""),
    ("e", "bij,bjk->bik", F32, "j = 8", "", ""),
    ("e", "xyij,ij->xy", I32, "i = 5, j = 5", "", ""),
    ("e", "ij,j->i", C64, "j = 16", "", ""),
    ("t", "xyij,ij->xy", F64, "i = 3, j = 3", "", ""),
    ("e", "ijk,jk->i", F64, "j = 8, k = 8", "", ""),
]
assert len(CALLS) == 100, len(CALLS)

# The second mix of part b: ten call sites (ten functions) of each of ten
# common expressions on f64 arrays, as a user's code repeats a few. Its first
# call is the first of CALLS, the call `onecall` holds alone.
MIX10_EXPRS = ["ij,jk->ik", "bij,bjk->bik", "ii->i", "ij->ji", "i,j->ij", "abcd,dcef->abef",
               "ij,jk,kl->il", "...ij,...jk->...ik", "ijk->k", "xyij,ij->xy"]
MIX10 = [("e", subs, F64, "", "", "") for subs in MIX10_EXPRS for _ in range(10)]
assert MIX10[0] == CALLS[0]

HEADER = """\
//! Generated by benches/build_cost.py: {what}.
#![allow(unused_imports, clippy::all)]

use {facade}::ndarray::{{
    Array0, Array1, Array2, Array3, Array4, Array5, Array6, ArrayD, ArrayView1, ArrayView2,
    ArrayView3, ArrayView4, ArrayView5, ArrayView6, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3,
    ArrayViewMut4, ArrayViewMut5, ArrayViewMut6,
}};
use {facade}::num_complex::Complex;
use {facade}::{{einsum, einsum_into, einsum_path, try_einsum, try_einsum_into, EinsumError, Plan}};

/// A size bound by a constant expression rather than a literal.
pub const K: usize = 4;
"""


def header(what):
    return HEADER.format(what=what, facade=FACADE_CRATE)


def terms_of(subscripts):
    """(input terms, output term or None) of a subscript string; each term
    is (labels, has_ellipsis)."""
    s = subscripts.replace(" ", "")
    lhs, arrow, rhs = s.partition("->")

    def term(t):
        return (t.replace("...", ""), "..." in t)

    inputs = [term(t) for t in lhs.split(",")]
    return inputs, (term(rhs) if arrow else None)


def output_of(subscripts):
    """The output term, in implicit mode as numpy's rule gives it."""
    inputs, output = terms_of(subscripts)
    if output is not None:
        return output
    labels = "".join(t for t, _ in inputs)
    once = sorted(c for c in set(labels) if labels.count(c) == 1)
    return ("".join(once), any(e for _, e in inputs))


def array_type(kind, labels, ellipsis, elem, mutable=False):
    rank = len(labels) + (1 if ellipsis else 0)
    if kind == "D" or rank > 6:
        return f"&mut ArrayD<{elem}>" if mutable else f"&ArrayD<{elem}>"
    if kind == "A":
        return f"&mut Array{rank}<{elem}>" if mutable else f"&Array{rank}<{elem}>"
    if kind == "V":
        view = "ArrayViewMut" if mutable else "ArrayView"
        return f"{view}{rank}<'_, {elem}>"
    if kind == "S":
        return f"&[{elem}]"
    if kind == "W":
        return f"&Vec<{elem}>"
    if kind == "Z":
        return f"&Array0<{elem}>"
    raise ValueError(kind)


def call_fn(n, call):
    """One `pub fn` around one call."""
    form, subs, elem, fixed, kinds, out_kind = call
    inputs, _ = terms_of(subs)
    kinds = kinds or "A" * len(inputs)
    assert len(kinds) == len(inputs), call
    params = [f"a{k}: {array_type(kind, t, e, elem)}" for k, ((t, e), kind) in enumerate(zip(inputs, kinds))]
    args = [f"a{k}" for k in range(len(inputs))]
    out_labels, out_ellipsis = output_of(subs)
    if out_ellipsis or len(out_labels) > 6:
        result = f"ArrayD<{elem}>"
    elif not out_labels:
        result = elem
    else:
        result = f"Array{len(out_labels)}<{elem}>"
    literal = json.dumps(subs)
    bound = f"; {fixed}" if fixed else ""
    if form in ("i", "ti"):
        out_ty = array_type(out_kind, out_labels, out_ellipsis, elem, mutable=True)
        out_arg = "&mut out" if out_kind == "V" else "&mut *out"
        params.insert(0, f"{'mut ' if out_kind == 'V' else ''}out: {out_ty}")
        macro = "einsum_into" if form == "i" else "try_einsum_into"
        body = f"{macro}!({out_arg}, {literal}, {', '.join(args)}{bound})"
        ret = "" if form == "i" else " -> Result<(), EinsumError>"
    else:
        macro = {"e": "einsum", "t": "try_einsum", "p": "einsum_path"}[form]
        body = f"{macro}!({literal}, {', '.join(args)}{bound})"
        ret = {"e": f" -> {result}", "t": f" -> Result<{result}, EinsumError>", "p": " -> Plan"}[form]
    return f"pub fn call_{n:03}({', '.join(params)}){ret} {{\n    {body}\n}}\n"


def calls_source(calls, what):
    body = "\n".join(call_fn(n, c) for n, c in enumerate(calls))
    return header(f"{len(calls)} einsum calls, {what}, one per function") + "\n" + body


def baseline_source():
    return header("the same crate without the calls")


# --------------------------------------------------------------------------
# Running cargo.

def env_for(target_dir):
    env = dict(os.environ)
    for var in ("RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER",
                "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"):
        env.pop(var, None)
    env["CARGO_INCREMENTAL"] = "0"
    env["CARGO_TERM_COLOR"] = "never"
    env["CARGO_TARGET_DIR"] = str(target_dir)
    return env


def run(cmd, cwd, env=None, capture=True):
    """Runs a command; on failure prints its output and exits."""
    p = subprocess.run(cmd, cwd=cwd, env=env, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if p.returncode != 0:
        sys.stderr.write(f"\n$ {' '.join(map(str, cmd))}  (in {cwd})\n")
        if capture:
            sys.stderr.write(p.stdout[-20000:] + p.stderr[-20000:])
        sys.exit(f"build_cost.py: the command above failed ({p.returncode})")
    return p.stdout if capture else ""


def timed_build(crate_dir, target_dir, profile_args, extra=()):
    """Wall seconds of one `cargo build --frozen --timings`, and cargo's
    unit data from the timings report (None when it cannot be read)."""
    env = env_for(target_dir)
    cmd = ["cargo", "build", "--frozen", "--timings", *profile_args, *extra]
    t0 = time.perf_counter()
    run(cmd, crate_dir, env)
    wall = time.perf_counter() - t0
    return wall, unit_data(target_dir / "cargo-timings" / "cargo-timing.html")


def unit_data(html_path):
    """The `UNIT_DATA` array of a `cargo build --timings` report: one entry
    per compiled unit, with its name, target, duration (s) and, for
    libraries, the frontend / codegen sections."""
    try:
        text = html_path.read_text()
    except OSError:
        return None
    m = re.search(r"UNIT_DATA\s*=\s*", text)
    if not m:
        return None
    try:
        units, _ = json.JSONDecoder().raw_decode(text, m.end())
    except ValueError:
        return None
    return units


def unit_time(units, name, section=None):
    """Seconds the compilation of the library unit `name` took (the build
    script not counted), or of one of its sections ('frontend', 'codegen')."""
    if not units:
        return None
    total = None
    for u in units:
        if u.get("name") != name or "build-script" in u.get("target", ""):
            continue
        if section is None:
            total = (total or 0.0) + float(u.get("duration", 0.0))
        else:
            for sec_name, span in u.get("sections") or []:
                if sec_name == section:
                    total = (total or 0.0) + float(span["end"]) - float(span["start"])
    return total


def unit_span(units, name):
    """(start, own seconds, end) of the library or binary unit `name` in
    cargo's unit data, seconds from the start of the build; over several
    units of that name, or with `name` ending in `*` the units whose names
    start with the rest, the first start, the summed times and the last end.
    None when there is no such unit."""
    def match(n):
        return n.startswith(name[:-1]) if name.endswith("*") else n == name

    spans = [(float(u.get("start", 0.0)), float(u.get("duration", 0.0)))
             for u in units or [] if match(u.get("name", "")) and "build-script" not in u.get("target", "")]
    if not spans:
        return None
    return (min(s for s, _ in spans), sum(d for _, d in spans), max(s + d for s, d in spans))


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_s(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f} s"


def fmt_runs(xs):
    xs = [x for x in xs if x is not None]
    if len(xs) <= 1:
        return ""
    return " (" + ", ".join(f"{x:.2f}" for x in xs) + ")"


def new_crate(path, name, deps, source, extra_toml="", file="lib.rs"):
    """A crate with one source file: `src/lib.rs`, or `src/main.rs` for a
    binary."""
    (path / "src").mkdir(parents=True, exist_ok=True)
    (path / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        f"[dependencies]\n{deps}\n{extra_toml}"
    )
    (path / "src" / file).write_text(source)


def fetch(crate_dir, scratch):
    """Resolves the crate's dependencies (the newest that fit, on a first
    call) and downloads them, so that no timed build touches the network."""
    run(["cargo", "fetch"], crate_dir, env_for(scratch / "target-fetch"))


# --------------------------------------------------------------------------
# Reading ELF objects out of an rlib (an `ar` archive), for `.text` sizes.

def ar_members(data):
    if not data.startswith(b"!<arch>\n"):
        return
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        size = int(header[48:58].decode().strip())
        yield header[:16].decode(errors="replace").strip(), data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)


def text_size(obj):
    """The summed size of the `.text*` sections of an ELF object (0 for
    anything else)."""
    return sum(size for name, sh_type, _, size, _ in elf_sections(obj)
               if sh_type != 8 and (name == ".text" or name.startswith(".text.")))  # 8: NOBITS


def elf_sections(obj):
    """[(name, type, offset, size, link)] of a 64-bit little-endian ELF
    object, or [] for anything else."""
    if len(obj) < 64 or obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        return []
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", obj, 0x3A)
    if shnum == 0 or shoff == 0:
        return []
    raw = [struct.unpack_from("<IIQQQQII", obj, shoff + i * shentsize) for i in range(shnum)]
    names = obj[raw[shstrndx][4]:raw[shstrndx][4] + raw[shstrndx][5]]
    return [(names[r[0]:names.index(b"\0", r[0])].decode(errors="replace"), r[1], r[4], r[5], r[6])
            for r in raw]


def demangle(sym):
    """A readable path for a legacy-mangled Rust symbol, without its hash
    and generic arguments (`_R` v0 symbols are kept as they are)."""
    if not sym.startswith("_ZN"):
        return sym
    i, parts = 3, []
    while i < len(sym) and sym[i].isdigit():
        j = i
        while sym[j].isdigit():
            j += 1
        n = int(sym[i:j])
        part = sym[j:j + n]
        parts.append(part[1:] if part.startswith("_$") else part)
        i = j + n
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(parts)
    for code, ch in (("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$BP$", "*"), ("$C$", ","),
                     ("$u20$", " "), ("$u27$", "'"), ("$u5b$", "["), ("$u5d$", "]"),
                     ("$u7b$", "{"), ("$u7d$", "}"), ("$u3b$", ";"), ("$u2b$", "+"),
                     ("$u22$", '"'), ("..", "::"), ("$SP$", "@")):
        text = text.replace(code, ch)
    return text.lstrip("_") if text.startswith("_<") else text


def function_sizes(rlib):
    """[(function, bytes over its instances, instances)], largest first:
    the function symbols of the rlib's objects, grouped by demangled path."""
    sizes, counts = {}, {}
    for _, obj in ar_members(rlib.read_bytes()):
        sections = elf_sections(obj)
        for name, sh_type, off, size, link in sections:
            if sh_type != 2:  # SHT_SYMTAB
                continue
            strtab = obj[sections[link][2]:sections[link][2] + sections[link][3]]
            for k in range(size // 24):
                st_name, st_info, _other, shndx, _value, st_size = struct.unpack_from(
                    "<IBBHQQ", obj, off + 24 * k)
                if st_info & 0xF != 2 or shndx == 0 or st_size == 0:  # STT_FUNC, defined
                    continue
                sym = strtab[st_name:strtab.index(b"\0", st_name)].decode(errors="replace")
                key = demangle(sym)
                sizes[key] = sizes.get(key, 0) + st_size
                counts[key] = counts.get(key, 0) + 1
    return sorted(((k, v, counts[k]) for k, v in sizes.items()), key=lambda t: -t[1])


def rlib_sizes(path):
    """(`.text` bytes over the rlib's objects, rlib bytes)."""
    data = path.read_bytes()
    return sum(text_size(m) for _, m in ar_members(data)), len(data)


# --------------------------------------------------------------------------
# The machine.

def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    cargo = subprocess.run(["cargo", "-V"], capture_output=True, text=True).stdout.strip()
    return cpu, os.cpu_count(), rustc, cargo


def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def tree_summary(crate_dir, scratch):
    """({(name, "vX.Y.Z")} of the normal dependency tree, ["syn x.y.z: features"])."""
    env = env_for(scratch / "target-fetch")
    out = run(["cargo", "tree", "--frozen", "-e", "normal", "-e", "features",
               "--prefix", "none", "-f", "{p} | {f}"], crate_dir, env)
    packages, syns = set(), set()
    for line in out.splitlines():
        if "|" not in line:
            continue
        pkg, feats = (s.replace("(*)", "").strip() for s in line.split("|", 1))
        pkg = pkg.replace(" (*)", "").replace(" (proc-macro)", "").strip()
        parts = pkg.split()
        if len(parts) < 2 or not parts[1].startswith("v"):
            continue
        packages.add((parts[0], parts[1]))
        if parts[0] == "syn":
            syns.add(f"syn {parts[1][1:]}: {feats or '(none)'}")
    root = crate_dir.name
    return {p for p in packages if p[0] != root}, sorted(syns)


# --------------------------------------------------------------------------
# The three parts.

def part_a(scratch, runs, profiles, out):
    out.append("## a. Clean build of the proc-macro crate and its dependency tree\n")
    out.append("Each crate is the only dependency of an empty library crate, built in a fresh "
               "target directory. *Whole tree* is the wall time of `cargo build`; *macro crate* "
               "and *syn* are the units' own compile times from `cargo build --timings`.\n")
    rows, trees = [], []
    for label, name, dep in PROBES:
        crate = scratch / ("probe-" + name)
        new_crate(crate, "probe-" + name, dep, "")
        fetch(crate, scratch)
        n, syns = tree_summary(crate, scratch)
        trees.append((label, n, syns))
        for profile, args in profiles:
            walls, own, syn = [], [], []
            for r in range(runs):
                target = scratch / f"target-a-{name}-{profile}-{r}"
                wall, units = timed_build(crate, target, args)
                walls.append(wall)
                own.append(unit_time(units, name))
                syn.append(unit_time(units, "syn"))
                shutil.rmtree(target, ignore_errors=True)
                print(f"  a: {name} {profile} run {r + 1}: {wall:.2f} s", file=sys.stderr)
            rows.append((label, profile, walls, own, syn))
    out.append("| crate | profile | whole tree (wall) | macro crate | syn |")
    out.append("|---|---|--:|--:|--:|")
    for label, profile, walls, own, syn in rows:
        out.append(f"| {label} | {profile} | {fmt_s(median(walls))}{fmt_runs(walls)} | "
                   f"{fmt_s(median(own))} | {fmt_s(median(syn))} |")
    out.append("")
    out.append("Dependency trees (`cargo tree -e normal -e features`):\n")
    for label, pkgs, syns in trees:
        full = "with `full`" if any(re.search(r"\bfull\b", s) for s in syns) else "without `full`"
        out.append(f"- {label}: {len(pkgs)} crates ("
                   + ", ".join(f"{n} {v[1:]}" for n, v in sorted(pkgs))
                   + f"); {'; '.join(syns) or 'no syn'}, {full}")
    ours, serde = trees[0][1], trees[2][1]
    shared = sorted(ours & serde)
    out.append(f"- shared by einsum-macro's and serde_derive's trees: "
               + (", ".join(f"{n} {v[1:]}" for n, v in shared) or "nothing")
               + "; only einsum-macro's: "
               + (", ".join(f"{n} {v[1:]}" for n, v in sorted(ours - serde)) or "nothing")
               + "; only serde_derive's: "
               + (", ".join(f"{n} {v[1:]}" for n, v in sorted(serde - ours)) or "nothing"))
    out.append("")
    return {(label, profile): median(walls) for label, profile, walls, _, _ in rows}


# The crates of part b: none of the calls, the first call alone, the first
# call of a type whose kernels are compiled where called, the 100 varied
# calls, the 100 calls of mix10.
CRATES = ("nocalls", "onecall", "oneu8", "calls", "mix10")
# `oneu8`'s call: the product of `onecall`, on u8.
FIRST_U8 = ("e", "ij,jk->ik", U8, "", "", "")
MIXES = (("calls", CALLS, "100 varied calls"),
         ("mix10", MIX10, "ten call sites each of ten f64 expressions"))

# The targets: what each 100-call crate may add to a release build, what the
# first call may add (every profile), seconds.
MIX_TARGET_RELEASE = 5.0
FIRST_CALL_TARGET = 0.5


def calls_workspace(scratch):
    """The scratch workspace of part b: `calls` (the 100 varied calls),
    `mix10` (ten call sites of each of ten expressions), `onecall` (the first
    of them alone) and `nocalls` (none)."""
    ws = scratch / "calls-ws"
    ws.mkdir(parents=True, exist_ok=True)
    members = ", ".join(f'"{c}"' for c in CRATES)
    (ws / "Cargo.toml").write_text(f"[workspace]\nmembers = [{members}]\nresolver = \"2\"\n")
    new_crate(ws / "calls", "calls", FACADE_DEP, calls_source(CALLS, "varied"))
    new_crate(ws / "mix10", "mix10", FACADE_DEP,
              calls_source(MIX10, "ten call sites of each of ten expressions"))
    new_crate(ws / "onecall", "onecall", FACADE_DEP, header("the first call alone") + "\n"
              + call_fn(0, CALLS[0]))
    new_crate(ws / "oneu8", "oneu8", FACADE_DEP, header("the first call alone, on u8") + "\n"
              + call_fn(0, FIRST_U8))
    new_crate(ws / "nocalls", "nocalls", FACADE_DEP, baseline_source())
    fetch(ws, scratch)
    return ws


def describe(call):
    form, subs, elem, fixed, _, _ = call
    macro = {"e": "einsum!", "t": "try_einsum!", "i": "einsum_into!", "ti": "try_einsum_into!",
             "p": "einsum_path!"}[form]
    return f'`{macro}("{subs}"{"; " + fixed if fixed else ""})` on `{elem}`'


def verdict(value, target):
    if value is None:
        return "—"
    return f"≤ {target:g} s: " + ("met" if value <= target else "NOT met")


def part_b(scratch, runs, profiles, out):
    ws = calls_workspace(scratch)
    n = len(CALLS)
    out.append(f"## b. {n} `einsum!`-family calls added to a crate\n")
    out.append(f"The crate `calls` has one `pub fn` per call, {n} varied calls (every macro form, "
               "element types, operand kinds, fixed sizes); `mix10` has ten `pub fn`s each of "
               + ", ".join(f"`{e}`" for e in MIX10_EXPRS)
               + f" on `f64`, {len(MIX10)} calls; `onecall` has only the first call of both, "
               f"{describe(CALLS[0])}; `oneu8` only {describe(FIRST_U8)}, an element type "
               f"whose kernels are compiled where called; `nocalls` has none. All depend on "
               f"`{FACADE}` alone, prebuilt "
               "in the target directory; each run touches `src/lib.rs` and rebuilds only that "
               "crate. *Frontend* is the crate's time until its metadata is written (expansion, "
               "type checking), *codegen* the rest (monomorphization, LLVM).\n")
    results = {}
    rows = []
    for profile, args in profiles:
        target = scratch / f"target-b-{profile}"
        print(f"  b: prebuilding {FACADE} ({profile})", file=sys.stderr)
        results[("clean", profile)] = not target.exists()
        t0 = time.perf_counter()
        run(["cargo", "build", "--frozen", "-p", "nocalls", *args], ws, env_for(target))
        results[("prebuild", profile)] = time.perf_counter() - t0
        run(["cargo", "build", "--frozen", "--workspace", *args], ws, env_for(target))
        for crate in CRATES:
            walls, own, front, back = [], [], [], []
            for r in range(runs):
                os.utime(ws / crate / "src" / "lib.rs")
                wall, units = timed_build(ws, target, args, ["-p", crate])
                walls.append(wall)
                own.append(unit_time(units, crate))
                front.append(unit_time(units, crate, "frontend"))
                back.append(unit_time(units, crate, "codegen"))
                print(f"  b: {crate} {profile} run {r + 1}: {wall:.2f} s", file=sys.stderr)
            results[(crate, profile)] = median(walls)
            rows.append((crate, profile, walls, own, front, back))
        results[("target", profile)] = target
    out.append("| crate | profile | rebuild (wall) | crate's unit | frontend | codegen |")
    out.append("|---|---|--:|--:|--:|--:|")
    for crate, profile, walls, own, front, back in rows:
        out.append(f"| {crate} | {profile} | {fmt_s(median(walls))}{fmt_runs(walls)} | "
                   f"{fmt_s(median(own))} | {fmt_s(median(front))} | {fmt_s(median(back))} |")
    out.append("")
    out.append(f"Build of `nocalls` before the rows above, in a new target directory, that is "
               f"a clean build of `{FACADE}`'s whole tree (one run): "
               + ", ".join(f"{fmt_s(results[('prebuild', p)], 1)} ({p}"
                           + ("" if results[("clean", p)] else ", target directory reused") + ")"
                           for p, _ in profiles)
               + ".\n")
    out.append("What each crate adds to the rebuild of `nocalls` (differences of the medians "
               "above), and the targets: each 100-call crate at most "
               f"{MIX_TARGET_RELEASE:g} s in release, the first call at most "
               f"{FIRST_CALL_TARGET:g} s.\n")
    out.append("| profile | added by | added | per call | per call after the first | target |")
    out.append("|---|---|--:|--:|--:|---|")
    for profile, _ in profiles:
        base = results[("nocalls", profile)]
        first = results[("onecall", profile)] - base
        results[("first", profile)] = first
        out.append(f"| {profile} | the first call alone | {first:.2f} s | — | — | "
                   f"{verdict(first, FIRST_CALL_TARGET)} |")
        first_u8 = results[("oneu8", profile)] - base
        results[("first_u8", profile)] = first_u8
        out.append(f"| {profile} | the first call alone, on u8 | {first_u8:.2f} s | — | — | "
                   f"{verdict(first_u8, FIRST_CALL_TARGET)} |")
        for crate, calls, label in MIXES:
            added = results[(crate, profile)] - base
            rest = results[(crate, profile)] - results[("onecall", profile)]
            results[("added", crate, profile)] = added
            target = verdict(added, MIX_TARGET_RELEASE) if profile == "release" else "—"
            out.append(f"| {profile} | `{crate}`, {label} | {added:.2f} s | "
                       f"{1000 * added / len(calls):.0f} ms | "
                       f"{1000 * rest / (len(calls) - 1):.0f} ms | {target} |")
    out.append("")
    return results


def part_c(scratch, toolchain, profiles, b_results, out):
    ws = calls_workspace(scratch)
    out.append("## c. Generated code\n")
    out.append("Sizes without the calls, and what the first call alone, the 100 varied calls "
               "(`calls`) and mix10 add to them, in total and per call.\n")

    def row(what, d):
        base = d["nocalls"]
        cells = [what, f"{base}", f"{d['onecall'] - base}"]
        for crate, calls, _ in MIXES:
            cells += [f"{d[crate] - base}", f"{(d[crate] - base) / len(calls):.0f}"]
        return cells

    rows = []
    have_nightly = subprocess.run(["cargo", f"+{toolchain}", "-V"], capture_output=True).returncode == 0
    if have_nightly:
        target = scratch / "target-c-expand"
        sizes = {}
        for crate in CRATES:
            print(f"  c: expanding {crate} ({toolchain})", file=sys.stderr)
            text = run(["cargo", f"+{toolchain}", "rustc", "--frozen", "-p", crate,
                        "--profile=check", "--lib", "--", "-Zunpretty=expanded"], ws, env_for(target))
            sizes[crate] = (text.count("\n"), len(text.encode()))
            (scratch / f"{crate}.expanded.rs").write_text(text)
        for i, what in enumerate(("lines", "bytes")):
            rows.append(row(f"expansion (`-Zunpretty=expanded`), {what}",
                            {c: sizes[c][i] for c in CRATES}))
    else:
        out.append(f"No `{toolchain}` toolchain (`rustup toolchain install {toolchain} "
                   "--profile minimal` adds one): the expansion is not measured; the rlib sizes "
                   "below stand for it.\n")
    top = []
    for profile, _ in profiles:
        target = b_results.get(("target", profile)) if b_results else None
        if target is None:
            continue
        text, total = {}, {}
        for crate in CRATES:
            rlib = Path(target) / profile / f"lib{crate}.rlib"
            text[crate], total[crate] = rlib_sizes(rlib)
            if crate == "calls" and profile == "release":
                top = function_sizes(rlib)
        for what, d in ((f"{profile} rlib `.text`, bytes", text), (f"{profile} rlib, bytes", total)):
            rows.append(row(what, d))
    out.append("| measure | without calls | added by the first call | added by `calls` | per call "
               "| added by `mix10` | per call |")
    out.append("|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    out.append("")
    if top:
        whole = sum(size for _, size, _ in top)
        out.append(f"The largest functions of the release `calls` rlib, summed over their "
                   f"instances (all functions: {whole} bytes):\n")
        out.append("| function | instances | bytes | share |")
        out.append("|---|--:|--:|--:|")
        for name, size, count in top[:12]:
            out.append(f"| `{name}` | {count} | {size} | {100 * size / whole:.1f}% |")
        out.append("")


# Part d: two binary crates whose `src/main.rs` differ only in their `use`
# lines and the product. The entries are small integers, so both products are
# exact and the two binaries print the same line.
BIN_MAIN = """\
//! Generated by benches/build_cost.py: {what}.
{uses}

fn main() {{
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(96);
    let a = Array2::<f64>::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
    let b = Array2::<f64>::from_shape_fn((n, n), |(i, j)| ((i + 2 * j) % 5) as f64 - 2.0);
    let c: Array2<f64> = {product};
    println!("{{n}}x{{n}} product: sum {{}}, trace {{}}", c.sum(), c.diag().sum());
}}
"""
BIN_FACADE = "bin-facade"
BIN_BASE = "bin-base"
# The base: the facade's two big dependencies, with the features einsum-core
# asks of them.
BASE_DEPS = ('ndarray = "0.17"\n'
             'gemm = { version = "0.19", default-features = false, '
             'features = ["std", "rayon", "x86-v4"] }')
# The targets of part d: the facade crate's clean build over the base's.
RATIO_TARGETS = {"debug": 1.3, "release": 1.5}
# The units of each build whose start and own time part d reports (`gemm*`:
# gemm and its gemm-common, gemm-f16, gemm-f64, ... together).
D_UNITS = {
    BIN_FACADE: ["syn", "einsum-macro", "ndarray", "gemm*", "einsum-core", "einsum-runtime", FACADE,
                 BIN_FACADE],
    BIN_BASE: ["ndarray", "gemm*", BIN_BASE],
}


def bin_crates(scratch):
    """The two binary crates of part d, fetched: {name: directory}."""
    crates = {}
    for name, deps, uses, product, what in (
            (BIN_FACADE, FACADE_DEP,
             f"use {FACADE_CRATE}::einsum;\nuse {FACADE_CRATE}::ndarray::Array2;",
             'einsum!("ij,jk->ik", &a, &b)', f"the product through `{FACADE}`"),
            (BIN_BASE, BASE_DEPS, "use ndarray::Array2;", "a.dot(&b)",
             "the product through ndarray, gemm in the tree")):
        crate = scratch / name
        new_crate(crate, name, deps, BIN_MAIN.format(what=what, uses=uses, product=product),
                  file="main.rs")
        fetch(crate, scratch)
        crates[name] = crate
    return crates


def part_d(scratch, runs, profiles, out):
    crates = bin_crates(scratch)
    out.append(f"## d. A fresh binary crate's clean build: `{FACADE}` against `ndarray` + `gemm`\n")
    out.append(f"Two binary crates with the same `src/main.rs` but for the `use` lines and the "
               f"product of two 96×96 `Array2<f64>`: `{BIN_FACADE}` depends on `{FACADE}` alone "
               f'and calls `einsum!("ij,jk->ik", &a, &b)` once; `{BIN_BASE}` depends on '
               "`ndarray = \"0.17\"` and `gemm = 0.19` (`std`, `rayon`, `x86-v4`, as "
               "einsum-core has them) and calls `a.dot(&b)`. Each run builds a crate from "
               "clean in a fresh target directory, the two crates in turn. *Facade / base* is "
               "the ratio of the medians.\n")
    walls, units, printed = {}, {}, {}
    for profile, args in profiles:
        for r in range(runs):
            for name, crate in crates.items():
                target = scratch / f"target-d-{name}-{profile}-{r}"
                wall, u = timed_build(crate, target, args)
                walls.setdefault((name, profile), []).append(wall)
                units.setdefault((name, profile), []).append(u)
                if r == 0:
                    printed[(name, profile)] = run([str(target / profile / name)], crate).strip()
                shutil.rmtree(target, ignore_errors=True)
                print(f"  d: {name} {profile} run {r + 1}: {wall:.2f} s", file=sys.stderr)
    results = {}
    out.append(f"| profile | `{BIN_FACADE}` (wall) | `{BIN_BASE}` (wall) | facade / base | target |")
    out.append("|---|--:|--:|--:|---|")
    for profile, _ in profiles:
        ours, base = median(walls[(BIN_FACADE, profile)]), median(walls[(BIN_BASE, profile)])
        ratio = ours / base
        results[("ratio", profile)] = (ratio, ours, base)
        ok = "met" if ratio <= RATIO_TARGETS[profile] else "NOT met"
        out.append(f"| {profile} | {fmt_s(ours)}{fmt_runs(walls[(BIN_FACADE, profile)])} | "
                   f"{fmt_s(base)}{fmt_runs(walls[(BIN_BASE, profile)])} | {ratio:.2f}× | "
                   f"≤ {RATIO_TARGETS[profile]}×: {ok} |")
    out.append("")
    lines = set(printed.values())
    if len(lines) == 1:
        out.append(f"All the binaries print the same line: `{lines.pop()}`.\n")
    else:
        out.append("The binaries print DIFFERENT lines: "
                   + "; ".join(f"{n} ({p}): `{t}`" for (n, p), t in sorted(printed.items())) + "\n")
    out.append("Units on the way to each binary, from `cargo build --timings` (medians over the "
               "runs), in the order they start: when each starts, seconds from the start of the "
               "build, its own compile time and when it ends. A unit starts once the metadata of "
               "its dependencies is written, so it may start before they end. *gemm\\** is gemm "
               "and its gemm-common, gemm-f16, gemm-f64, ... crates together: the first start, "
               "the summed times, the last end.\n")
    out.append("| profile | crate | unit | starts at | own time | ends at |")
    out.append("|---|---|---|--:|--:|--:|")
    for profile, _ in profiles:
        for name in crates:
            rows = []
            for unit in D_UNITS[name]:
                spans = [unit_span(u, unit) for u in units[(name, profile)]]
                spans = [sp for sp in spans if sp]
                cells = [median([sp[k] for sp in spans]) if spans else None for k in range(3)]
                rows.append((unit, cells))
            rows.sort(key=lambda row: float("inf") if row[1][0] is None else row[1][0])
            for unit, cells in rows:
                label = unit.replace("*", "\\*")
                out.append(f"| {profile} | `{name}` | {label} | "
                           + " | ".join(fmt_s(c) for c in cells) + " |")
    out.append("")
    for profile, _ in profiles:
        own = {}
        for name in crates:
            per_run = [{u["name"]: 0.0 for u in us or []} for us in units[(name, profile)]]
            for totals, us in zip(per_run, units[(name, profile)]):
                for u in us or []:
                    totals[u["name"]] += float(u.get("duration", 0.0))
            own[name] = per_run
        only = sorted(set().union(*(set(t) for t in own[BIN_FACADE]))
                      - set().union(*(set(t) for t in own[BIN_BASE])) - {BIN_FACADE})
        sums = {name: median([sum(t.values()) for t in own[name]]) for name in crates}
        extra = median([sum(t.get(n, 0.0) for n in only) for t in own[BIN_FACADE]])
        out.append(f"- {profile}: own times summed over all units, build scripts included: "
                   f"`{BIN_FACADE}` {fmt_s(sums[BIN_FACADE])}, `{BIN_BASE}` "
                   f"{fmt_s(sums[BIN_BASE])}; units only in `{BIN_FACADE}`'s build, the binary "
                   f"aside, {fmt_s(extra)}: " + (", ".join(only) or "none"))
    out.append("")
    return results


def workspace_commit():
    """The workspace's commit, and whether its files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (", with uncommitted changes" if dirty else "")


def write_results(report, started):
    """Appends the report to benches/RESULTS.md as a section `## Build cost,
    <date>`, its own headings one level down."""
    section = [f"## Build cost, {started:%Y-%m-%d %H:%M %Z}", ""]
    for line in report[1:]:
        if line.startswith("#"):
            if section[-1].strip():
                section.append("")
            line = "#" + line
        section.append(line)
    if not RESULTS.exists():
        RESULTS.write_text("# Build-cost results of benches/build_cost.py\n")
    text = "\n".join(section).rstrip("\n") + "\n"
    with RESULTS.open("a") as f:
        f.write("\n" + text)
    print(f"Report appended to {RESULTS}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one run of each build")
    ap.add_argument("--runs", type=int, default=3, help="runs of each build (median reported)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--only", default="a,b,c,d", help="parts to run, e.g. 'a' or 'b,d'")
    ap.add_argument("--profiles", default="debug,release",
                    help="profiles to build, e.g. 'release' (default: debug,release)")
    ap.add_argument("--workdir", type=Path, help="scratch directory (default: a new one in /tmp)")
    ap.add_argument("--toolchain", default="nightly", help="nightly toolchain for part c")
    ap.add_argument("--write-results", action="store_true",
                    help=f"also append the report to {RESULTS.relative_to(ROOT)}")
    opts = ap.parse_args()
    runs = 1 if opts.quick else max(1, opts.runs)
    parts = {x.strip() for x in opts.only.split(",") if x.strip()}
    if not parts or parts - set("abcd"):
        ap.error(f"--only takes parts among a,b,c,d, not {opts.only!r}")
    wanted = {x.strip() for x in opts.profiles.split(",") if x.strip()}
    known = {name for name, _ in PROFILES}
    if not wanted or wanted - known:
        ap.error(f"--profiles takes profiles among {','.join(sorted(known))}, not {opts.profiles!r}")
    profiles = [(name, args) for name, args in PROFILES if name in wanted]

    if opts.workdir:
        scratch = opts.workdir.resolve()
        scratch.mkdir(parents=True, exist_ok=True)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="einsum-build-cost-", dir="/tmp"))
    cpu, cores, rustc, cargo = machine()
    load_before = loadavg()
    started = datetime.datetime.now().astimezone()
    out = []
    try:
        a = part_a(scratch, runs, profiles, out) if "a" in parts else None
        b = part_b(scratch, runs, profiles, out) if "b" in parts or "c" in parts else None
        if "c" in parts:
            part_c(scratch, opts.toolchain, profiles, b, out)
        d = part_d(scratch, runs, profiles, out) if "d" in parts else None
    finally:
        if not opts.keep and not opts.workdir:
            shutil.rmtree(scratch, ignore_errors=True)
    load_after = loadavg()
    minutes = (datetime.datetime.now().astimezone() - started).total_seconds() / 60

    head = [f"# Build cost of `{FACADE}`\n",
            f"- date: {started:%Y-%m-%d %H:%M %Z}",
            f"- machine: {cpu}, {cores} cores; {rustc}; {cargo}",
            f"- load average (1, 5, 15 min): {load_before} before, {load_after} after "
            f"({minutes:.1f} min)",
            f"- workspace: {workspace_commit()}",
            f"- parts: {', '.join(sorted(parts))}; profiles: {', '.join(n for n, _ in profiles)}; "
            f"runs per build: {runs} (median shown, each run in parentheses)",
            "- `CARGO_INCREMENTAL=0`, no `RUSTC_WRAPPER`, dependencies fetched beforehand\n"]
    verdicts = []
    if a:
        for profile, _ in profiles:
            ours = a.get((PROBES[0][0], profile))
            serde = a.get((PROBES[2][0], profile))
            if ours is not None and serde is not None:
                ok = "met" if ours <= serde else "NOT met"
                verdicts.append(f"- {profile}: einsum-macro's tree {ours:.2f} s against "
                                f"serde_derive's {serde:.2f} s: no slower than serde_derive: {ok}")
    if b and "b" in parts:
        for profile, _ in profiles:
            first = b[("first", profile)]
            verdicts.append(f"- {profile}: the first call adds {first:.2f} s to a rebuild "
                            f"(target: at most {FIRST_CALL_TARGET:g} s): "
                            + ("met" if first <= FIRST_CALL_TARGET else "NOT met"))
            first_u8 = b[("first_u8", profile)]
            verdicts.append(f"- {profile}: the first call on u8 adds {first_u8:.2f} s to a "
                            f"rebuild (target: at most {FIRST_CALL_TARGET:g} s): "
                            + ("met" if first_u8 <= FIRST_CALL_TARGET else "NOT met"))
        if ("added", "calls", "release") in b:
            for crate, calls, label in MIXES:
                added = b[("added", crate, "release")]
                verdicts.append(f"- release: `{crate}` ({label}) adds {added:.2f} s to a rebuild "
                                f"(target: at most {MIX_TARGET_RELEASE:g} s): "
                                + ("met" if added <= MIX_TARGET_RELEASE else "NOT met"))
    if d:
        for profile, _ in profiles:
            ratio, ours, base = d[("ratio", profile)]
            target = RATIO_TARGETS[profile]
            verdicts.append(f"- {profile}: a fresh binary crate's clean build with `{FACADE}` "
                            f"{ours:.1f} s against {base:.1f} s with ndarray and gemm alone, "
                            f"{ratio:.2f}× (target: at most {target}×): "
                            + ("met" if ratio <= target else "NOT met"))
    if verdicts:
        head += ["## Targets\n", *verdicts, ""]
    report = head + out
    print("\n".join(report))
    if opts.write_results:
        write_results(report, started)
    if opts.keep or opts.workdir:
        print(f"Scratch crates kept in {scratch}", file=sys.stderr)


if __name__ == "__main__":
    main()
