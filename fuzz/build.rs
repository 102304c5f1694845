//! Generates the expressions of the differential fuzz campaign.
//!
//! From a seed, this script draws `EINSUM_FUZZ_EXPRS` random valid einsum
//! expressions and writes them to `$OUT_DIR/exprs.rs` as Rust source, which
//! `tests/fuzz.rs` includes, so the whole set is compiled once. Each
//! expression is one function that calls `einsum!`, `try_einsum!`,
//! `einsum_into!` and `try_einsum_into!` on it, with an element type, operand
//! forms (`&ArrayViewD`, views by value, statically ranked views, owned
//! arrays, `&Vec`) and an output form drawn at random. The expressions have 1
//! to 6 operands, labels from `a`-`z` and `A`-`Z`, diagonals, ellipses at the
//! start, middle or end of a term and in the output, implicit and explicit
//! mode, empty terms, scalar outputs, spaces, and fixed-size bindings
//! (`; i = 3`). A third of them are scaled: `einsum!` and `try_einsum!` take
//! `alpha = s.0`, the `_into` forms `alpha = s.0, beta = s.1`, placed among
//! the bindings, with `s` from the harness. A sixth of the expressions of
//! each ordered element type (not `Complex`) take `reduce = max` or
//! `reduce = min`, in every form, scaled or not, with fixed sizes or not.
//!
//! Then, a family of its own, `EINSUM_FUZZ_EXPRS / 4` (rounded up)
//! expressions whose `_into` forms add into windows over a larger array:
//! `windows2_mut` (an output of 4 labels, `xyij`), `windows_nhwc_mut` (6,
//! `bxyijc`) or `sliding_window_view_mut` over a 1-D or 2-D array windowed
//! along one or both axes, in either order (the array's axes, then the
//! window offsets). Their output term is the window view's axes, under
//! random labels; 1 to 3 operands share those and 0 to 2 summed labels, at
//! random or, for half of the two-operand ones, as a matrix product (each
//! output label in one operand, the summed ones in both), with diagonals,
//! spaces and bindings of the sizes the harness does not derive (window
//! lengths, unwindowed axes, summed labels). `einsum_into!` takes
//! `beta = 1` (the type's literal one, or `s.1`), `try_einsum_into!`
//! `beta = s.1` (one, or another value, which must be an error); half take
//! `alpha = s.0`; every third, if its element type is ordered, `reduce`.
//! The windows are passed by value or by `&mut`, made over an array view of
//! dynamic or static rank; the harness draws the window lengths and steps.
//!
//! Knobs (each reruns this script when it changes):
//! - `EINSUM_FUZZ_EXPRS`: how many expressions (default 60);
//! - `EINSUM_FUZZ_SEED`: the seed (default 1). Expression `k` (and windows
//!   expression `wk`) depends only on the seed and `k`, so a larger count
//!   extends a smaller one.
//!
//! The full campaign:
//!
//! ```sh
//! EINSUM_FUZZ_EXPRS=2000 EINSUM_FUZZ_SHAPES=50 cargo test --release -p einsum-fuzz -- --nocapture
//! ```

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// Expressions when `EINSUM_FUZZ_EXPRS` is not set: the run of
/// `cargo test --workspace`.
const DEFAULT_EXPRS: usize = 60;
const DEFAULT_SEED: u64 = 1;

/// Element types of the contract, and whether they are integers.
const TYPES: [(&str, bool); 14] = [
    ("f32", false),
    ("f64", false),
    ("i8", true),
    ("i16", true),
    ("i32", true),
    ("i64", true),
    ("isize", true),
    ("u8", true),
    ("u16", true),
    ("u32", true),
    ("u64", true),
    ("usize", true),
    ("einsum::num_complex::Complex<f32>", false),
    ("einsum::num_complex::Complex<f64>", false),
];

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut r = Rng(seed);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        unreachable!()
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    L(u8),
    Ell,
}

struct Expr {
    terms: Vec<Vec<Tok>>,
    /// `None`: implicit mode.
    output: Option<Vec<Tok>>,
    /// Bound labels, their sizes, and how the size is written.
    fixed: Vec<(u8, usize, String)>,
    ty: usize,
    wide: bool,
    /// Spaces in the literal (between tokens, never inside `->` or `...`).
    spaces: bool,
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn labels(t: &[Tok]) -> impl Iterator<Item = u8> + '_ {
    t.iter().filter_map(|t| match *t {
        Tok::L(c) => Some(c),
        Tok::Ell => None,
    })
}

impl Expr {
    fn any_input_ell(&self) -> bool {
        self.terms.iter().flatten().any(|t| *t == Tok::Ell)
    }

    /// The output, explicit or by numpy's implicit rule.
    fn resolved_output(&self) -> Vec<Tok> {
        if let Some(o) = &self.output {
            return o.clone();
        }
        let mut count = [0usize; 128];
        for c in self.terms.iter().flat_map(|t| labels(t)) {
            count[c as usize] += 1;
        }
        let mut o = Vec::new();
        if self.any_input_ell() {
            o.push(Tok::Ell);
        }
        o.extend((0..128u8).filter(|&c| count[c as usize] == 1).map(Tok::L));
        o
    }

    /// Distinct labels of the inputs, in order of first appearance.
    fn input_labels(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for c in self.terms.iter().flat_map(|t| labels(t)) {
            if !v.contains(&c) {
                v.push(c);
            }
        }
        v
    }

    fn subscripts(&self, rng: &mut Rng) -> String {
        let sp = |rng: &mut Rng, s: &mut String| {
            if self.spaces && rng.chance(0.3) {
                s.push(' ');
            }
        };
        let term = |rng: &mut Rng, s: &mut String, t: &[Tok]| {
            for tok in t {
                sp(rng, s);
                match *tok {
                    Tok::L(c) => s.push(c as char),
                    Tok::Ell => s.push_str("..."),
                }
            }
            sp(rng, s);
        };
        let mut s = String::new();
        for (k, t) in self.terms.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            term(rng, &mut s, t);
        }
        if let Some(o) = &self.output {
            s.push_str("->");
            term(rng, &mut s, o);
        }
        s
    }
}

/// Expression `id`, with the `id % 14`-th element type, so that every type
/// has its share even of a small set.
fn gen_expr(rng: &mut Rng, id: usize) -> Expr {
    let nops = 1 + rng.weighted(&[22, 34, 20, 12, 7, 5]);
    let pool_len = rng.range(1, 7);
    let mut pool: Vec<u8> = Vec::new();
    while pool.len() < pool_len {
        // Mostly lowercase; uppercase often enough to test the order of the
        // implicit output.
        let c = if rng.chance(0.3) {
            LETTERS[26 + rng.below(26)]
        } else {
            LETTERS[rng.below(26)]
        };
        if !pool.contains(&c) {
            pool.push(c);
        }
    }
    let use_ell = rng.chance(0.25);

    let mut terms = Vec::new();
    for _ in 0..nops {
        let mut t: Vec<Tok> = Vec::new();
        if !rng.chance(0.07) {
            let n = (1 + rng.weighted(&[25, 35, 25, 15])).min(pool.len());
            let mut pick = pool.clone();
            rng.shuffle(&mut pick);
            t.extend(pick[..n].iter().map(|&c| Tok::L(c)));
            // A diagonal: one label again (twice, rarely), at most 6 labels.
            if rng.chance(0.15) {
                for _ in 0..if rng.chance(0.15) { 2 } else { 1 } {
                    if t.len() < 6 {
                        let c = t[rng.below(t.len())];
                        let at = rng.below(t.len() + 1);
                        t.insert(at, c);
                    }
                }
            }
        }
        if use_ell && rng.chance(0.7) {
            let at = rng.below(t.len() + 1);
            t.insert(at, Tok::Ell);
        }
        terms.push(t);
    }

    let mut e = Expr {
        terms,
        output: None,
        fixed: Vec::new(),
        ty: id % TYPES.len(),
        wide: false,
        spaces: rng.chance(0.12),
    };
    e.wide = TYPES[e.ty].1 && rng.chance(0.5);

    if !rng.chance(0.3) {
        // Explicit mode.
        let mut out: Vec<Tok> = Vec::new();
        if !rng.chance(0.12) {
            let mut ls = e.input_labels();
            rng.shuffle(&mut ls);
            out.extend(ls.into_iter().filter(|_| rng.chance(0.5)).map(Tok::L));
        }
        let ell = if e.any_input_ell() {
            rng.chance(0.65)
        } else {
            rng.chance(0.05)
        };
        if ell {
            let at = rng.below(out.len() + 1);
            out.insert(at, Tok::Ell);
        }
        e.output = Some(out);
    }

    // Fixed sizes on a fair share of expressions: every summed label (so
    // that the macro writes a row kernel), or a few labels at random.
    let all = e.input_labels();
    if !all.is_empty() && rng.chance(0.3) {
        let out = e.resolved_output();
        let summed: Vec<u8> = all
            .iter()
            .copied()
            .filter(|c| !out.contains(&Tok::L(*c)))
            .collect();
        let mut chosen = if !summed.is_empty() && summed.len() <= 3 && rng.chance(0.6) {
            summed
        } else {
            let mut a = all.clone();
            rng.shuffle(&mut a);
            a.truncate(rng.range(1, a.len().min(3)));
            a
        };
        rng.shuffle(&mut chosen);
        for c in chosen {
            fix(rng, &mut e, c, 4);
        }
    }
    e
}

/// How many expressions have each feature.
#[derive(Default)]
struct Stats {
    nops: [usize; 7],
    ellipsis: usize,
    output_ellipsis: usize,
    implicit: usize,
    diagonal: usize,
    empty_term: usize,
    scalar: usize,
    uppercase: usize,
    spaces: usize,
    fixed: usize,
    scaled: usize,
    scaled_fixed: usize,
    /// `reduce = max`, `reduce = min`, and of those, scaled and with fixed
    /// sizes.
    max: usize,
    min: usize,
    reduce_scaled: usize,
    reduce_fixed: usize,
    types: [usize; TYPES.len()],
}

impl Stats {
    fn add(&mut self, e: &Expr, s: &str, scaled: bool, reduce: Option<&str>) {
        self.nops[e.terms.len()] += 1;
        let out = e.resolved_output();
        self.ellipsis += usize::from(e.any_input_ell());
        self.output_ellipsis += usize::from(out.contains(&Tok::Ell));
        self.implicit += usize::from(e.output.is_none());
        self.diagonal += usize::from(e.terms.iter().any(|t| {
            let l: Vec<u8> = labels(t).collect();
            (1..l.len()).any(|i| l[..i].contains(&l[i]))
        }));
        self.empty_term += usize::from(e.terms.iter().any(|t| t.is_empty()));
        self.scalar += usize::from(out.is_empty());
        self.uppercase += usize::from(s.bytes().any(|b| b.is_ascii_uppercase()));
        self.spaces += usize::from(s.contains(' '));
        self.fixed += usize::from(!e.fixed.is_empty());
        self.scaled += usize::from(scaled);
        self.scaled_fixed += usize::from(scaled && !e.fixed.is_empty());
        self.max += usize::from(reduce == Some("max"));
        self.min += usize::from(reduce == Some("min"));
        self.reduce_scaled += usize::from(reduce.is_some() && scaled);
        self.reduce_fixed += usize::from(reduce.is_some() && !e.fixed.is_empty());
        self.types[e.ty] += 1;
    }

    fn render(&self, count: usize) -> String {
        let nops: Vec<String> = (1..=6).map(|n| format!("{n}: {}", self.nops[n])).collect();
        let types = type_counts(&self.types);
        format!(
            "{count} expressions; operands {}; ellipsis {}, output ellipsis {}, implicit {}, \
             diagonal {}, empty term {}, scalar output {}, uppercase {}, spaces {}, fixed sizes {}, \
             scaled {} ({} with fixed sizes), reduce = max {}, reduce = min {} ({} scaled, {} with \
             fixed sizes); types {}",
            nops.join(", "),
            self.ellipsis,
            self.output_ellipsis,
            self.implicit,
            self.diagonal,
            self.empty_term,
            self.scalar,
            self.uppercase,
            self.spaces,
            self.fixed,
            self.scaled,
            self.scaled_fixed,
            self.max,
            self.min,
            self.reduce_scaled,
            self.reduce_fixed,
            types.join(", ")
        )
    }
}

/// How an operand is passed, as the source of the argument.
fn operand(rng: &mut Rng, k: usize, term: &[Tok]) -> (String, String) {
    // (ndarray names the static ranks up to 6.)
    let static_rank = !term.contains(&Tok::Ell) && term.len() <= 6;
    let n = term.len();
    let choice = rng.weighted(&[
        30,
        20,
        if static_rank { 15 } else { 0 },
        if static_rank { 12 } else { 0 },
        8,
        if static_rank { 6 } else { 0 },
        5,
        if static_rank && n == 1 { 10 } else { 0 },
    ]);
    match choice {
        0 => (format!("&v[{k}]"), "&ArrayViewD".into()),
        1 => (format!("v[{k}].clone()"), "ArrayViewD".into()),
        2 => (
            format!("v[{k}].clone().into_dimensionality::<einsum::ndarray::Ix{n}>().unwrap()"),
            format!("ArrayView{n}"),
        ),
        3 => (
            format!("&v[{k}].clone().into_dimensionality::<einsum::ndarray::Ix{n}>().unwrap()"),
            format!("&ArrayView{n}"),
        ),
        4 => (format!("&owned(&v[{k}])"), "&ArrayD".into()),
        5 => (
            format!("&owned(&v[{k}]).into_dimensionality::<einsum::ndarray::Ix{n}>().unwrap()"),
            format!("&Array{n}"),
        ),
        6 => (format!("owned(&v[{k}])"), "ArrayD".into()),
        _ => (
            format!("&v[{k}].iter().copied().collect::<Vec<_>>()"),
            "&Vec".into(),
        ),
    }
}

/// The arguments of one macro call (operands, bindings and the options
/// `opts`) and a description of the operand forms (and, with options, of
/// what follows the `;`). The options go in a random order at random places
/// among the bindings, drawn from `place` so that `rng` draws what it did
/// for an unscaled expression.
fn call_args(rng: &mut Rng, e: &Expr, opts: &[&str], place: &mut Rng) -> (String, String) {
    let mut args = String::new();
    let mut forms = Vec::new();
    for (k, t) in e.terms.iter().enumerate() {
        let (a, f) = operand(rng, k, t);
        write!(args, ", {a}").unwrap();
        forms.push(format!("#{k} {f}"));
    }
    let mut after: Vec<String> = e
        .fixed
        .iter()
        .map(|(c, _, w)| format!("{} = {w}", *c as char))
        .collect();
    let mut shuffled: Vec<&str> = opts.to_vec();
    place.shuffle(&mut shuffled);
    for o in shuffled {
        let at = place.below(after.len() + 1);
        after.insert(at, o.to_string());
    }
    let mut forms = forms.join(", ");
    if !after.is_empty() {
        let after = after.join(", ");
        write!(args, "; {after}").unwrap();
        if !opts.is_empty() {
            write!(forms, "; {after}").unwrap();
        }
    }
    (args, forms)
}

/// Whether expression `id` is scaled: every third expression of each element
/// type, from an offset per type drawn from the seed, so that every type has
/// scaled expressions even in a small set.
fn is_scaled(seed: u64, id: usize) -> bool {
    let ty = id % TYPES.len();
    let offset =
        Rng::new(seed ^ 0x5ca1_ed00 ^ (ty as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)).below(3);
    (id / TYPES.len() + offset).is_multiple_of(3)
}

/// Whether element type `ty` is ordered, and so takes `reduce`: all but
/// the complex ones.
fn ordered(ty: usize) -> bool {
    !TYPES[ty].0.contains("Complex")
}

/// The reduction of expression `id`, if any: every sixth expression of each
/// ordered element type, from an offset per type drawn from the seed (as
/// [`is_scaled`], from another stream), `max` or `min` from a stream of
/// its own.
fn reduction(seed: u64, id: usize) -> Option<&'static str> {
    let ty = id % TYPES.len();
    let offset =
        Rng::new(seed ^ 0x4ed0_ce00 ^ (ty as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).below(6);
    if !ordered(ty) || !(id / TYPES.len() + offset).is_multiple_of(6) {
        return None;
    }
    let mut r = Rng::new(seed ^ 0x3a1b_0c9d ^ (id as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    Some(if r.chance(0.5) { "max" } else { "min" })
}

/// The reference's reduction for `reduce`, as the harness takes it.
fn combine(reduce: Option<&str>) -> String {
    match reduce {
        Some(r) => format!("Some({r}_of::<T>)"),
        None => "None".into(),
    }
}

/// How many expressions of each element type, as `name: count` entries.
fn type_counts(counts: &[usize; TYPES.len()]) -> Vec<String> {
    TYPES
        .iter()
        .zip(counts)
        .map(|((t, _), n)| format!("{}: {n}", t.rsplit("::").next().unwrap_or(t)))
        .collect()
}

/// Binds label `c` of `e` to a size from 1 to `most`, written as a literal
/// or, now and then, as a constant expression.
fn fix(rng: &mut Rng, e: &mut Expr, c: u8, most: usize) {
    let n = rng.range(1, most);
    let written = if rng.chance(0.15) {
        format!("{} - 1", n + 1)
    } else {
        n.to_string()
    };
    e.fixed.push((c, n, written));
}

/// An expression's fixed sizes as the harness's `(label, size)` list
/// entries, and as the macro's `; label = size` bindings.
fn bindings(fixed: &[(u8, usize, String)]) -> (Vec<String>, Vec<String>) {
    let sizes = fixed
        .iter()
        .map(|(c, n, _)| format!("('{}', {n})", *c as char))
        .collect();
    let binding = fixed
        .iter()
        .map(|(c, _, w)| format!("{} = {w}", *c as char))
        .collect();
    (sizes, binding)
}

/// The output argument of `einsum_into!` and its description.
fn out_arg(rng: &mut Rng, e: &Expr) -> (String, String) {
    let out = e.resolved_output();
    if !out.contains(&Tok::Ell) && out.len() <= 6 && rng.chance(0.4) {
        let n = out.len();
        (
            format!("&mut o.view_mut().into_dimensionality::<einsum::ndarray::Ix{n}>().unwrap()"),
            format!("ArrayViewMut{n}"),
        )
    } else {
        ("&mut *o".into(), "ArrayViewMutD".into())
    }
}

// ---------------------------------------------------------------------------
// The windows family
// ---------------------------------------------------------------------------

/// The window view an expression of the windows family adds into.
#[derive(Clone, PartialEq, Eq)]
enum WinKind {
    /// `windows2_mut` over a 2-D array: `(H', W', kh, kw)`.
    Windows2,
    /// `windows_nhwc_mut` over `(B, H, W, C)`: `(B, H', W', kh, kw, C)`.
    Nhwc,
    /// `sliding_window_view_mut` over an array of this rank, windowed
    /// along these axes: the array's axes, then the window offsets.
    Sliding(usize, Vec<usize>),
}

impl WinKind {
    fn rank(&self) -> usize {
        match self {
            WinKind::Windows2 => 4,
            WinKind::Nhwc => 6,
            WinKind::Sliding(r, a) => r + a.len(),
        }
    }

    /// The view axes whose sizes the harness draws directly, and so may be
    /// bound: window lengths and the array's unwindowed axes (not the
    /// window counts, which follow from the array's length and the step).
    fn bindable(&self) -> Vec<usize> {
        match self {
            WinKind::Windows2 => vec![2, 3],
            WinKind::Nhwc => vec![0, 3, 4, 5],
            WinKind::Sliding(r, a) => (0..*r)
                .filter(|d| !a.contains(d))
                .chain(*r..r + a.len())
                .collect(),
        }
    }

    /// The harness's `Kind`.
    fn source(&self) -> String {
        match self {
            WinKind::Windows2 => "Kind::Windows2".into(),
            WinKind::Nhwc => "Kind::Nhwc".into(),
            WinKind::Sliding(r, a) => format!("Kind::Sliding({r}, &{a:?})"),
        }
    }

    fn name(&self) -> String {
        match self {
            WinKind::Windows2 => "windows2_mut".into(),
            WinKind::Nhwc => "windows_nhwc_mut".into(),
            WinKind::Sliding(r, a) => format!("sliding_window_view_mut({r}-D, axes {a:?})"),
        }
    }
}

/// An expression of the windows family.
struct Win {
    e: Expr,
    kind: WinKind,
    /// The matrix-product shape: two operands, each output label in one,
    /// the summed labels in both.
    product: bool,
}

/// Windows expression `j`, with the `j % 14`-th element type.
fn gen_windows(rng: &mut Rng, j: usize) -> Win {
    let kind = match rng.weighted(&[3, 2, 1, 3]) {
        0 => WinKind::Windows2,
        1 => WinKind::Nhwc,
        2 => WinKind::Sliding(1, vec![0]),
        _ => {
            let axes = [vec![0], vec![1], vec![0, 1], vec![1, 0]];
            WinKind::Sliding(2, axes[rng.below(4)].clone())
        }
    };
    let n = kind.rank();
    let nsum = rng.weighted(&[35, 45, 20]);
    let mut letters: Vec<u8> = Vec::new();
    while letters.len() < n + nsum {
        let c = if rng.chance(0.3) {
            LETTERS[26 + rng.below(26)]
        } else {
            LETTERS[rng.below(26)]
        };
        if !letters.contains(&c) {
            letters.push(c);
        }
    }
    let (out, summed) = letters.split_at(n);
    let nops = 1 + rng.weighted(&[30, 50, 20]);
    let product = nops == 2 && rng.chance(0.5);
    let mut sets: Vec<Vec<u8>> = vec![Vec::new(); nops];
    for &c in out {
        sets[rng.below(nops)].push(c);
    }
    for &c in summed {
        if product {
            sets[0].push(c);
            sets[1].push(c);
        } else {
            sets[rng.below(nops)].push(c);
        }
    }
    if !product {
        // Labels shared between operands.
        for &c in &letters {
            for set in sets.iter_mut() {
                if !set.contains(&c) && rng.chance(0.2) {
                    set.push(c);
                }
            }
        }
    }
    let terms = sets
        .into_iter()
        .map(|mut set| {
            rng.shuffle(&mut set);
            if !set.is_empty() && rng.chance(0.1) {
                let c = set[rng.below(set.len())];
                let at = rng.below(set.len() + 1);
                set.insert(at, c);
            }
            set.into_iter().map(Tok::L).collect()
        })
        .collect();
    let mut e = Expr {
        terms,
        output: Some(out.iter().map(|&c| Tok::L(c)).collect()),
        fixed: Vec::new(),
        ty: j % TYPES.len(),
        wide: false,
        spaces: rng.chance(0.12),
    };
    e.wide = TYPES[e.ty].1 && rng.chance(0.5);
    if rng.chance(0.3) {
        let mut can: Vec<u8> = kind.bindable().into_iter().map(|a| out[a]).collect();
        can.extend(summed);
        rng.shuffle(&mut can);
        can.truncate(rng.range(1, can.len().min(3)));
        for c in can {
            fix(rng, &mut e, c, 3);
        }
    }
    Win { e, kind, product }
}

/// How many windows expressions go with `count` others.
fn windows_count(count: usize) -> usize {
    count.div_ceil(4)
}

/// The destination of one windows call and its description: the windows
/// made by `kind`'s function over the harness's array `b` (a
/// `&mut ArrayViewMutD`, or that view with a static rank), with the
/// window lengths and steps of `g`, by value or (after `let` statements)
/// by `&mut`.
fn window_dest(rng: &mut Rng, kind: &WinKind) -> (String, String, String) {
    let (rank, dynamic) = match kind {
        WinKind::Windows2 => (2, false),
        WinKind::Nhwc => (4, false),
        WinKind::Sliding(r, _) => (*r, rng.chance(0.5)),
    };
    let (base, base_form) = if dynamic {
        ("&mut **b".to_string(), "&mut ArrayViewMutD".to_string())
    } else {
        (
            format!("b.view_mut().into_dimensionality::<einsum::ndarray::Ix{rank}>().unwrap()"),
            format!("&mut ArrayViewMut{rank}"),
        )
    };
    let call = |base: &str| match kind {
        WinKind::Windows2 => {
            format!("einsum::windows::windows2_mut({base}, g.window2(), g.step2())")
        }
        WinKind::Nhwc => {
            format!("einsum::windows::windows_nhwc_mut({base}, g.window2(), g.step2())")
        }
        WinKind::Sliding(_, a) => {
            format!("einsum::windows::sliding_window_view_mut({base}, &{a:?}, &g.window, &g.step)")
        }
    };
    if rng.chance(0.35) {
        let lets = if dynamic {
            format!("let mut w = {}.unwrap();\n            ", call(&base))
        } else {
            format!(
                "let mut base = {base};\n            let mut w = {}.unwrap();\n            ",
                call("&mut base")
            )
        };
        (
            lets,
            "&mut w".into(),
            format!("&mut {}({base_form})", kind.name()),
        )
    } else {
        let base = if dynamic {
            base
        } else {
            format!("&mut {base}")
        };
        (
            String::new(),
            format!("{}.unwrap()", call(&base)),
            format!("{}({base_form}) by value", kind.name()),
        )
    }
}

/// The type's one, as a literal.
fn one(ty: usize) -> &'static str {
    if TYPES[ty].1 {
        "1"
    } else if ordered(ty) {
        "1.0"
    } else {
        "einsum::num_complex::Complex::new(1.0, 0.0)"
    }
}

/// How many windows expressions have each feature.
#[derive(Default)]
struct WinStats {
    /// `windows2_mut`, `windows_nhwc_mut`, `sliding_window_view_mut`.
    kinds: [usize; 3],
    nops: [usize; 4],
    product: usize,
    summed: usize,
    diagonal: usize,
    fixed: usize,
    scaled: usize,
    max: usize,
    min: usize,
    by_ref: usize,
    types: [usize; TYPES.len()],
}

impl WinStats {
    fn add(&mut self, w: &Win, scaled: bool, reduce: Option<&str>, by_ref: bool) {
        self.kinds[match w.kind {
            WinKind::Windows2 => 0,
            WinKind::Nhwc => 1,
            WinKind::Sliding(..) => 2,
        }] += 1;
        self.nops[w.e.terms.len()] += 1;
        self.product += usize::from(w.product);
        let out = w.e.resolved_output();
        self.summed += usize::from(
            w.e.input_labels()
                .iter()
                .any(|c| !out.contains(&Tok::L(*c))),
        );
        self.diagonal += usize::from(w.e.terms.iter().any(|t| {
            let l: Vec<u8> = labels(t).collect();
            (1..l.len()).any(|i| l[..i].contains(&l[i]))
        }));
        self.fixed += usize::from(!w.e.fixed.is_empty());
        self.scaled += usize::from(scaled);
        self.max += usize::from(reduce == Some("max"));
        self.min += usize::from(reduce == Some("min"));
        self.by_ref += usize::from(by_ref);
        self.types[w.e.ty] += 1;
    }

    fn render(&self, count: usize) -> String {
        let nops: Vec<String> = (1..=3).map(|n| format!("{n}: {}", self.nops[n])).collect();
        let types = type_counts(&self.types);
        format!(
            "{count} windows expressions; windows2_mut {}, windows_nhwc_mut {}, \
             sliding_window_view_mut {}; operands {} ({} as a matrix product); summed labels {}, \
             diagonal {}, fixed sizes {}, alpha {}, reduce = max {}, reduce = min {}, windows by \
             &mut {}; types {}",
            self.kinds[0],
            self.kinds[1],
            self.kinds[2],
            nops.join(", "),
            self.product,
            self.summed,
            self.diagonal,
            self.fixed,
            self.scaled,
            self.max,
            self.min,
            self.by_ref,
            types.join(", ")
        )
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=EINSUM_FUZZ_EXPRS");
    println!("cargo:rerun-if-env-changed=EINSUM_FUZZ_SEED");
    let count: usize = env::var("EINSUM_FUZZ_EXPRS")
        .ok()
        .map(|v| v.trim().parse().expect("EINSUM_FUZZ_EXPRS: a number"))
        .unwrap_or(DEFAULT_EXPRS);
    let seed: u64 = env::var("EINSUM_FUZZ_SEED")
        .ok()
        .map(|v| v.trim().parse().expect("EINSUM_FUZZ_SEED: a number"))
        .unwrap_or(DEFAULT_SEED);

    let mut stats = Stats::default();
    let mut src = String::new();
    writeln!(
        src,
        "// Generated by fuzz/build.rs: {count} expressions from seed {seed}.\n"
    )
    .unwrap();
    writeln!(src, "/// The seed the expressions were drawn from.").unwrap();
    writeln!(src, "const FUZZ_SEED: u64 = {seed};\n").unwrap();
    for id in 0..count {
        // Each expression from its own stream, so that it depends only on
        // the seed and its index.
        let mut rng = Rng::new(seed ^ (id as u64).wrapping_mul(0xd134_2543_de82_ef95));
        let e = gen_expr(&mut rng, id);
        let s = e.subscripts(&mut rng);
        let scaled = is_scaled(seed, id);
        // Where the options go, from a stream of their own.
        let mut place = Rng::new(
            seed.wrapping_add(0x0a1f_ab3e) ^ (id as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
        );
        let reduce = reduction(seed, id);
        let mut alpha: Vec<String> = Vec::new();
        let mut both: Vec<String> = Vec::new();
        if scaled {
            alpha.push("alpha = s.0".into());
            both.extend(["alpha = s.0".into(), "beta = s.1".into()]);
        }
        if let Some(r) = reduce {
            alpha.push(format!("reduce = {r}"));
            both.push(format!("reduce = {r}"));
        }
        let alpha: Vec<&str> = alpha.iter().map(String::as_str).collect();
        let both: Vec<&str> = both.iter().map(String::as_str).collect();
        stats.add(&e, &s, scaled, reduce);
        let ty = TYPES[e.ty].0;
        let (fixed, binding) = bindings(&e.fixed);
        let (a_plain, f_plain) = call_args(&mut rng, &e, &alpha, &mut place);
        let (a_tried, f_tried) = call_args(&mut rng, &e, &alpha, &mut place);
        let (a_into, f_into) = call_args(&mut rng, &e, &both, &mut place);
        let (a_tinto, f_tinto) = call_args(&mut rng, &e, &both, &mut place);
        // The unscaled calls ignore `s`.
        let sp = if scaled { "s" } else { "_" };
        let (o_into, of_into) = out_arg(&mut rng, &e);
        let (o_tinto, of_tinto) = out_arg(&mut rng, &e);
        writeln!(
            src,
            r#"fn x{id}(c: &mut Checker) {{
    type T = {ty};
    let e = Expr {{
        id: {id},
        subscripts: {s:?},
        fixed: &[{fixed}],
        bindings: {bindings:?},
        wide: {wide},
        scaled: {scaled},
        reduce: {reduce_name:?},
        forms: [{f_plain:?}, {f_tried:?}, {fi:?}, {fti:?}],
    }};
    run::<T>(
        c,
        &e,
        {combine},
        &|v: &[ArrayViewD<'_, T>], {sp}: (T, T)| einsum!({s:?}{a_plain}).to_dyn(),
        &|v: &[ArrayViewD<'_, T>], {sp}: (T, T)| try_einsum!({s:?}{a_tried}).map(ToDyn::to_dyn),
        &|o: &mut ArrayViewMutD<'_, T>, v: &[ArrayViewD<'_, T>], {sp}: (T, T)| {{
            einsum_into!({o_into}, {s:?}{a_into})
        }},
        &|o: &mut ArrayViewMutD<'_, T>, v: &[ArrayViewD<'_, T>], {sp}: (T, T)| {{
            try_einsum_into!({o_tinto}, {s:?}{a_tinto})
        }},
    );
}}
"#,
            fixed = fixed.join(", "),
            bindings = binding.join(", "),
            wide = e.wide,
            fi = format!("out {of_into}, {f_into}"),
            fti = format!("out {of_tinto}, {f_tinto}"),
            reduce_name = reduce.unwrap_or(""),
            combine = combine(reduce),
        )
        .unwrap();
    }

    let wcount = windows_count(count);
    let mut wstats = WinStats::default();
    for j in 0..wcount {
        let mut rng = Rng::new(seed ^ 0x0d0f_1e1d ^ (j as u64).wrapping_mul(0xd134_2543_de82_ef95));
        let w = gen_windows(&mut rng, j);
        let e = &w.e;
        let s = e.subscripts(&mut rng);
        let mut place = Rng::new(
            seed.wrapping_add(0x77ad_d1e5) ^ (j as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
        );
        let scaled = rng.chance(0.5);
        let max = rng.chance(0.5);
        // A third, of the ordered types.
        let reduce = (ordered(e.ty) && j % 3 == 2).then_some(if max { "max" } else { "min" });
        // `einsum_into!`'s one: the literal, or `s.1`, one at run time.
        let literal = rng.chance(0.7);
        let mut opts_into = vec![if literal {
            format!("beta = {}", one(e.ty))
        } else {
            "beta = s.1".to_string()
        }];
        let mut opts_try = vec!["beta = s.1".to_string()];
        for opts in [&mut opts_into, &mut opts_try] {
            if scaled {
                opts.push("alpha = s.0".into());
            }
            if let Some(r) = reduce {
                opts.push(format!("reduce = {r}"));
            }
        }
        let opts_into: Vec<&str> = opts_into.iter().map(String::as_str).collect();
        let opts_try: Vec<&str> = opts_try.iter().map(String::as_str).collect();
        let (a_into, f_into) = call_args(&mut rng, e, &opts_into, &mut place);
        let (a_try, f_try) = call_args(&mut rng, e, &opts_try, &mut place);
        let (l_into, d_into, df_into) = window_dest(&mut rng, &w.kind);
        let (l_try, d_try, df_try) = window_dest(&mut rng, &w.kind);
        wstats.add(&w, scaled, reduce, d_into == "&mut w" || d_try == "&mut w");
        let (fixed, binding) = bindings(&e.fixed);
        // `einsum_into!` with the literal one and no alpha ignores `s`.
        let sp = if scaled || !literal { "s" } else { "_" };
        writeln!(
            src,
            r#"fn w{j}(c: &mut Checker) {{
    type T = {ty};
    let e = WinExpr {{
        id: {j},
        subscripts: {s:?},
        kind: {kind},
        fixed: &[{fixed}],
        bindings: {bindings:?},
        wide: {wide},
        scaled: {scaled},
        reduce: {reduce_name:?},
        forms: [{fi:?}, {ft:?}],
    }};
    run_windows::<T>(
        c,
        &e,
        {combine},
        &|b: &mut ArrayViewMutD<'_, T>, g: &Geom, v: &[ArrayViewD<'_, T>], {sp}: (T, T)| {{
            {l_into}einsum_into!({d_into}, {s:?}{a_into})
        }},
        &|b: &mut ArrayViewMutD<'_, T>, g: &Geom, v: &[ArrayViewD<'_, T>], s: (T, T)| {{
            {l_try}try_einsum_into!({d_try}, {s:?}{a_try})
        }},
    );
}}
"#,
            ty = TYPES[e.ty].0,
            kind = w.kind.source(),
            fixed = fixed.join(", "),
            bindings = binding.join(", "),
            wide = e.wide,
            reduce_name = reduce.unwrap_or(""),
            fi = format!("into {df_into}, {f_into}"),
            ft = format!("into {df_try}, {f_try}"),
            combine = combine(reduce),
        )
        .unwrap();
    }

    writeln!(src, "/// What the expressions cover.").unwrap();
    writeln!(src, "const COVERAGE: &str = {:?};\n", stats.render(count)).unwrap();
    writeln!(src, "/// Every expression, by index.").unwrap();
    writeln!(src, "const EXPRS: &[fn(&mut Checker)] = &[").unwrap();
    for id in 0..count {
        writeln!(src, "    x{id},").unwrap();
    }
    writeln!(src, "];\n").unwrap();
    writeln!(src, "/// What the windows expressions cover.").unwrap();
    writeln!(
        src,
        "const WINDOWS_COVERAGE: &str = {:?};\n",
        wstats.render(wcount)
    )
    .unwrap();
    writeln!(src, "/// Every windows expression, by index.").unwrap();
    writeln!(src, "const WINDOWS: &[fn(&mut Checker)] = &[").unwrap();
    for j in 0..wcount {
        writeln!(src, "    w{j},").unwrap();
    }
    writeln!(src, "];").unwrap();

    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("exprs.rs");
    fs::write(out, src).expect("write exprs.rs");
}
