//! Shared test support: a deliberately naive reference einsum, written from
//! numpy's semantics and independent of the library, and random operands with
//! every kind of memory layout.
//!
//! Included by test binaries with `mod common;`; not every binary uses every
//! item.
#![allow(dead_code)]

use std::fmt::Debug;

use einsum::ndarray::{
    ArrayBase, ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, RawData, ShapeBuilder, Slice,
};
use einsum::num_complex::Complex;
use rand::rngs::SmallRng;
use rand::Rng;

// ---------------------------------------------------------------------------
// Element types
// ---------------------------------------------------------------------------

/// The arithmetic the reference needs: `T`'s own, wrapping for integers.
pub trait RefScalar: Copy + PartialEq + Debug + Send + Sync + 'static {
    /// For failure messages.
    const NAME: &'static str;
    fn zero() -> Self;
    fn add(self, rhs: Self) -> Self;
    fn mul(self, rhs: Self) -> Self;
    /// An integer value in `-r..=r` (both parts of a complex number), stored
    /// as `Self` (wrapped for unsigned types).
    fn small(rng: &mut SmallRng, r: i32) -> Self;
    /// Integers: any value of the type, so that sums and products overflow
    /// and wrap. Floats and complex numbers: `small(rng, 3)`.
    fn wide(rng: &mut SmallRng) -> Self;
    /// A value the library never computes from our inputs by chance (used to
    /// pre-fill outputs and see what was or was not overwritten).
    fn garbage() -> Self;
}

/// `$t`, with wide values drawn as `$w` (`rand` draws no `isize` or
/// `usize`) and wrapped into `$t`.
macro_rules! ref_int {
    ($($t:ty: $w:ty),*) => {$(
        impl RefScalar for $t {
            const NAME: &'static str = stringify!($t);
            fn zero() -> Self { 0 }
            fn add(self, rhs: Self) -> Self { self.wrapping_add(rhs) }
            fn mul(self, rhs: Self) -> Self { self.wrapping_mul(rhs) }
            fn small(rng: &mut SmallRng, r: i32) -> Self { rng.random_range(-r..=r) as $t }
            #[allow(clippy::unnecessary_cast)]
            fn wide(rng: &mut SmallRng) -> Self { rng.random::<$w>() as $t }
            fn garbage() -> Self { 77 }
        }
    )*};
}
ref_int!(
    i8: i8, i16: i16, i32: i32, i64: i64, isize: i64,
    u8: u8, u16: u16, u32: u32, u64: u64, usize: u64
);

macro_rules! ref_float {
    ($($t:ty),*) => {$(
        impl RefScalar for $t {
            const NAME: &'static str = stringify!($t);
            fn zero() -> Self { 0.0 }
            fn add(self, rhs: Self) -> Self { self + rhs }
            fn mul(self, rhs: Self) -> Self { self * rhs }
            fn small(rng: &mut SmallRng, r: i32) -> Self { rng.random_range(-r..=r) as $t }
            fn wide(rng: &mut SmallRng) -> Self { Self::small(rng, 3) }
            fn garbage() -> Self { 1234.5 }
        }
    )*};
}
ref_float!(f32, f64);

macro_rules! ref_complex {
    ($($t:ty),*) => {$(
        impl RefScalar for Complex<$t> {
            const NAME: &'static str = concat!("Complex<", stringify!($t), ">");
            fn zero() -> Self { Complex::new(0.0, 0.0) }
            fn add(self, rhs: Self) -> Self { self + rhs }
            fn mul(self, rhs: Self) -> Self { self * rhs }
            fn small(rng: &mut SmallRng, r: i32) -> Self {
                Complex::new(rng.random_range(-r..=r) as $t, rng.random_range(-r..=r) as $t)
            }
            fn wide(rng: &mut SmallRng) -> Self { Self::small(rng, 3) }
            fn garbage() -> Self { Complex::new(1234.5, -678.25) }
        }
    )*};
}
ref_complex!(f32, f64);

// ---------------------------------------------------------------------------
// Parsing (numpy's rules; only valid subscripts are ever given)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A label character.
    L(u8),
    /// `...`
    Ell,
}

#[derive(Clone, Debug)]
pub struct Parsed {
    pub inputs: Vec<Vec<Tok>>,
    /// Explicit, or computed by numpy's implicit rule.
    pub output: Vec<Tok>,
}

fn parse_term(t: &str) -> Vec<Tok> {
    let b = t.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' {
            assert!(b[i..].starts_with(b"..."), "bad ellipsis in {t:?}");
            toks.push(Tok::Ell);
            i += 3;
        } else {
            assert!(b[i].is_ascii_alphabetic(), "bad character in {t:?}");
            toks.push(Tok::L(b[i]));
            i += 1;
        }
    }
    assert!(toks.iter().filter(|t| **t == Tok::Ell).count() <= 1);
    toks
}

pub fn parse(subscripts: &str) -> Parsed {
    let s: String = subscripts.chars().filter(|&c| c != ' ').collect();
    let (ins, out) = match s.find("->") {
        Some(p) => (&s[..p], Some(&s[p + 2..])),
        None => (&s[..], None),
    };
    let inputs: Vec<Vec<Tok>> = ins.split(',').map(parse_term).collect();
    let output = match out {
        Some(o) => parse_term(o),
        None => {
            // Labels seen exactly once (repeats inside one term count), by
            // character code, after the ellipsis dimensions if any.
            let mut count = [0usize; 128];
            let mut any_ell = false;
            for t in inputs.iter().flatten() {
                match *t {
                    Tok::L(c) => count[c as usize] += 1,
                    Tok::Ell => any_ell = true,
                }
            }
            let mut o = Vec::new();
            if any_ell {
                o.push(Tok::Ell);
            }
            o.extend((0..128u8).filter(|&c| count[c as usize] == 1).map(Tok::L));
            o
        }
    };
    Parsed { inputs, output }
}

// ---------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------

/// One axis of an operand or of the output, in terms of the iteration space.
#[derive(Clone, Copy, Debug)]
enum Ax {
    Label(u8),
    /// An ellipsis dimension, counted from the right (0 = last).
    Ell(usize),
}

/// Axes of `term` for an operand of rank `ndim`.
fn term_axes(term: &[Tok], ndim: usize) -> Vec<Ax> {
    let nlab = term.iter().filter(|t| matches!(t, Tok::L(_))).count();
    let has_ell = term.contains(&Tok::Ell);
    if has_ell {
        assert!(ndim >= nlab, "operand of rank {ndim} for term {term:?}");
    } else {
        assert_eq!(ndim, nlab, "operand rank does not match term {term:?}");
    }
    let er = ndim - nlab;
    let mut axes = Vec::with_capacity(ndim);
    for t in term {
        match *t {
            Tok::L(c) => axes.push(Ax::Label(c)),
            Tok::Ell => axes.extend((0..er).map(|j| Ax::Ell(er - 1 - j))),
        }
    }
    axes
}

/// numpy broadcasting of one more size into a resolved size.
fn merge(cur: Option<usize>, d: usize, what: &dyn Fn() -> String) -> usize {
    match cur {
        None => d,
        Some(a) if a == d => a,
        Some(1) => d,
        Some(a) if d == 1 => a,
        Some(a) => panic!("reference: size mismatch for {}: {a} vs {d}", what()),
    }
}

/// numpy's `einsum(subscripts, *ops)`, computed by the definition: one loop
/// over every combination of every distinct label and ellipsis dimension.
/// Panics on invalid input (tests only give valid input).
pub fn reference<T: RefScalar>(subscripts: &str, ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    reference_by(subscripts, ops, &|acc, v| acc.add(v))
}

/// As [`reference`], each output element's products reduced by `combine`
/// (in the order of the loop) instead of summed: `reduce = max` with
/// `|a, b| a.max(b)`. An element with no product (an empty range) is zero.
pub fn reference_by<T: RefScalar>(
    subscripts: &str,
    ops: &[ArrayViewD<'_, T>],
    combine: &dyn Fn(T, T) -> T,
) -> ArrayD<T> {
    let p = parse(subscripts);
    assert_eq!(
        p.inputs.len(),
        ops.len(),
        "operand count for {subscripts:?}"
    );

    // Resolve sizes.
    let mut label_size: [Option<usize>; 128] = [None; 128];
    let mut ell_size: Vec<Option<usize>> = Vec::new(); // from the right
    let mut op_axes = Vec::new();
    for (k, (term, op)) in p.inputs.iter().zip(ops).enumerate() {
        let axes = term_axes(term, op.ndim());
        let mut local: [Option<usize>; 128] = [None; 128];
        for (ax, &d) in axes.iter().zip(op.shape()) {
            match *ax {
                Ax::Label(c) => {
                    if let Some(prev) = local[c as usize] {
                        assert_eq!(
                            prev, d,
                            "reference: diagonal '{}' of operand {k}",
                            c as char
                        );
                    }
                    local[c as usize] = Some(d);
                }
                Ax::Ell(j) => {
                    if ell_size.len() <= j {
                        ell_size.resize(j + 1, None);
                    }
                    ell_size[j] = Some(merge(ell_size[j], d, &|| format!("ellipsis dim {j}")));
                }
            }
        }
        for c in 0..128 {
            if let Some(d) = local[c] {
                label_size[c] = Some(merge(label_size[c], d, &|| {
                    format!("label '{}'", c as u8 as char)
                }));
            }
        }
        op_axes.push(axes);
    }

    // The iteration space: labels, then ellipsis dimensions.
    let labels: Vec<u8> = (0..128u8)
        .filter(|&c| label_size[c as usize].is_some())
        .collect();
    let erank = ell_size.len();
    let mut sizes: Vec<usize> = labels
        .iter()
        .map(|&c| label_size[c as usize].unwrap())
        .collect();
    sizes.extend(ell_size.iter().map(|s| s.unwrap()));
    let pos = |ax: Ax| match ax {
        Ax::Label(c) => labels
            .iter()
            .position(|&l| l == c)
            .expect("output label not in any input"),
        Ax::Ell(j) => labels.len() + j,
    };

    let mut out_axes = Vec::new();
    for t in &p.output {
        match *t {
            Tok::L(c) => out_axes.push(pos(Ax::Label(c))),
            Tok::Ell => out_axes.extend((0..erank).map(|j| pos(Ax::Ell(erank - 1 - j)))),
        }
    }
    let out_shape: Vec<usize> = out_axes.iter().map(|&a| sizes[a]).collect();
    let mut out: ArrayD<Option<T>> = ArrayD::from_elem(IxDyn(&out_shape), None);
    let done = |out: ArrayD<Option<T>>| out.mapv(|v| v.unwrap_or_else(T::zero));

    // For each operand axis: which iteration axis indexes it, or None when
    // the operand's size there is 1 (always index 0: broadcasting).
    let op_map: Vec<Vec<Option<usize>>> = op_axes
        .iter()
        .zip(ops)
        .map(|(axes, op)| {
            axes.iter()
                .zip(op.shape())
                .map(|(&ax, &d)| if d == 1 { None } else { Some(pos(ax)) })
                .collect()
        })
        .collect();

    if sizes.contains(&0) {
        return done(out);
    }
    let mut idx = vec![0usize; sizes.len()];
    let mut bufs: Vec<Vec<usize>> = op_map.iter().map(|m| vec![0; m.len()]).collect();
    let mut obuf = vec![0usize; out_axes.len()];
    loop {
        let mut prod: Option<T> = None;
        for ((op, map), buf) in ops.iter().zip(&op_map).zip(&mut bufs) {
            for (b, m) in buf.iter_mut().zip(map) {
                *b = m.map_or(0, |a| idx[a]);
            }
            let v = op[IxDyn(buf)];
            prod = Some(match prod {
                None => v,
                Some(p) => p.mul(v),
            });
        }
        for (b, &a) in obuf.iter_mut().zip(&out_axes) {
            *b = idx[a];
        }
        let cell = &mut out[IxDyn(&obuf)];
        let v = prod.expect("at least one operand");
        *cell = Some(cell.map_or(v, |c| combine(c, v)));

        // Odometer step.
        let mut a = sizes.len();
        loop {
            if a == 0 {
                return done(out);
            }
            a -= 1;
            idx[a] += 1;
            if idx[a] < sizes[a] {
                break;
            }
            idx[a] = 0;
        }
    }
}

// ---------------------------------------------------------------------------
// Random operands with random layouts
// ---------------------------------------------------------------------------

/// How an operand's memory is laid out relative to its logical shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Contiguous,
    /// Stored in a permuted axis order, permuted back.
    Transposed,
    /// Some axes with stride < 0.
    Reversed,
    /// Every axis with a step of 2 or 3.
    Stepped,
    /// Sliced out of a larger array at an offset.
    Offset,
    /// Some axes stored with length 1 and broadcast (stride 0).
    Broadcast,
    /// All of the above at random, per axis.
    Mixed,
    /// Overlapping windows over a 1-d buffer: positive strides chosen so that
    /// different indices alias one element (numpy's `as_strided`). Read-only.
    Window,
}

pub const LAYOUTS: [Layout; 8] = [
    Layout::Contiguous,
    Layout::Transposed,
    Layout::Reversed,
    Layout::Stepped,
    Layout::Offset,
    Layout::Broadcast,
    Layout::Mixed,
    Layout::Window,
];

#[derive(Clone, Copy, Debug)]
struct AxisPlan {
    step: isize,
    off: usize,
    extra: usize,
    bcast: bool,
}

/// An operand (or output) that owns its storage and hands out a view of the
/// logical shape with the chosen layout.
#[derive(Clone, Debug)]
pub struct Strided<T> {
    pub layout: Layout,
    /// Storage, in storage axis order.
    base: ArrayD<T>,
    /// Storage shape with the broadcast axes stretched.
    bshape: Vec<usize>,
    /// Slice of each storage axis.
    slices: Vec<Slice>,
    /// Logical axis `i` is storage axis `inv[i]`.
    inv: Vec<usize>,
    /// For `Layout::Window`: the shape and strides over the 1-d `base`.
    window: Option<(Vec<usize>, Vec<usize>)>,
}

impl<T: RefScalar> Strided<T> {
    /// `shape` laid out as `layout`; `mutable` forbids broadcasting. Storage
    /// is filled by `fill`.
    pub fn new(
        shape: &[usize],
        layout: Layout,
        mutable: bool,
        rng: &mut SmallRng,
        fill: &mut dyn FnMut(&mut SmallRng) -> T,
    ) -> Self {
        let r = shape.len();
        if layout == Layout::Window && !mutable {
            let strides: Vec<usize> = (0..r).map(|_| rng.random_range(1..=3)).collect();
            let len = 1 + shape
                .iter()
                .zip(&strides)
                .map(|(&n, &st)| n.saturating_sub(1) * st)
                .sum::<usize>();
            let data: Vec<T> = (0..len).map(|_| fill(rng)).collect();
            let s = Strided {
                layout,
                base: ArrayD::from_shape_vec(IxDyn(&[len]), data).unwrap(),
                bshape: vec![len],
                slices: vec![Slice::new(0, None, 1)],
                inv: vec![0],
                window: Some((shape.to_vec(), strides)),
            };
            debug_assert_eq!(s.view().shape(), shape);
            return s;
        }
        let layout = if layout == Layout::Window {
            Layout::Contiguous
        } else {
            layout
        };
        let mut plans: Vec<AxisPlan> = (0..r)
            .map(|_| AxisPlan {
                step: 1,
                off: 0,
                extra: 0,
                bcast: false,
            })
            .collect();
        let mut perm: Vec<usize> = (0..r).collect(); // storage axis k holds logical perm[k]
        let shuffle = |perm: &mut Vec<usize>, rng: &mut SmallRng| {
            for i in (1..perm.len()).rev() {
                let j = rng.random_range(0..=i);
                perm.swap(i, j);
            }
        };
        match layout {
            Layout::Contiguous => {}
            Layout::Transposed => {
                if r >= 2 {
                    while perm.iter().enumerate().all(|(i, &p)| i == p) {
                        shuffle(&mut perm, rng);
                    }
                }
            }
            Layout::Reversed => {
                for p in &mut plans {
                    if rng.random_bool(0.6) {
                        p.step = -1;
                    }
                }
            }
            Layout::Stepped => {
                for p in &mut plans {
                    p.step = rng.random_range(2..=3i64) as isize;
                }
            }
            Layout::Offset => {
                for p in &mut plans {
                    p.off = rng.random_range(0..=2);
                    p.extra = rng.random_range(0..=2);
                }
            }
            Layout::Broadcast => {
                for (p, &n) in plans.iter_mut().zip(shape) {
                    p.bcast = !mutable && n >= 2 && rng.random_bool(0.5);
                }
            }
            Layout::Window => unreachable!(),
            Layout::Mixed => {
                shuffle(&mut perm, rng);
                for (p, &n) in plans.iter_mut().zip(shape) {
                    p.step = rng.random_range(1..=3i64) as isize
                        * if rng.random_bool(0.4) { -1 } else { 1 };
                    p.off = rng.random_range(0..=2);
                    p.extra = rng.random_range(0..=1);
                    p.bcast = !mutable && n >= 2 && rng.random_bool(0.2);
                }
            }
        }
        let mut inv = vec![0; r];
        for (k, &i) in perm.iter().enumerate() {
            inv[i] = k;
        }
        let mut sshape = Vec::with_capacity(r);
        let mut bshape = Vec::with_capacity(r);
        let mut slices = Vec::with_capacity(r);
        for &i in &perm {
            let (p, n) = (plans[i], shape[i]);
            if p.bcast {
                sshape.push(1);
                bshape.push(n);
                slices.push(Slice::new(0, None, p.step.signum()));
            } else {
                let span = if n == 0 {
                    0
                } else {
                    (n - 1) * p.step.unsigned_abs() + 1
                };
                let ext = p.off + span + p.extra;
                sshape.push(ext);
                bshape.push(ext);
                slices.push(Slice::new(
                    p.off as isize,
                    Some((p.off + span) as isize),
                    p.step,
                ));
            }
        }
        let len: usize = sshape.iter().product();
        let data: Vec<T> = (0..len).map(|_| fill(rng)).collect();
        let base = ArrayD::from_shape_vec(IxDyn(&sshape), data).unwrap();
        let s = Strided {
            layout,
            base,
            bshape,
            slices,
            inv,
            window: None,
        };
        debug_assert_eq!(s.view().shape(), shape);
        s
    }

    fn apply<S: RawData>(&self, mut v: ArrayBase<S, IxDyn>) -> ArrayBase<S, IxDyn> {
        for (k, s) in self.slices.iter().enumerate() {
            v.slice_axis_inplace(Axis(k), *s);
        }
        v.permuted_axes(IxDyn(&self.inv))
    }

    /// The logical view (read-only; may contain stride-0 axes).
    pub fn view(&self) -> ArrayViewD<'_, T> {
        if let Some((shape, strides)) = &self.window {
            let data = self.base.as_slice().expect("contiguous buffer");
            return ArrayViewD::from_shape(IxDyn(shape).strides(IxDyn(strides)), data)
                .expect("window");
        }
        self.apply(self.base.broadcast(IxDyn(&self.bshape)).expect("broadcast"))
    }

    /// The logical view, mutable (only for layouts built with `mutable`).
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        assert!(self.window.is_none(), "window output");
        assert_eq!(self.base.shape(), &self.bshape[..], "broadcast output");
        let v = self.base.view_mut();
        // `apply` needs `&self` while `v` borrows `self.base` mutably.
        let (slices, inv) = (self.slices.clone(), self.inv.clone());
        let mut v = v;
        for (k, s) in slices.iter().enumerate() {
            v.slice_axis_inplace(Axis(k), *s);
        }
        v.permuted_axes(IxDyn(&inv))
    }

    /// The storage, for checking what a write did or did not touch.
    pub fn storage(&self) -> &ArrayD<T> {
        &self.base
    }

    /// `true` for every storage element the logical view can reach.
    pub fn reached(&self) -> ArrayD<bool> {
        let mut mask = ArrayD::from_elem(self.base.raw_dim(), false);
        let v = mask.view_mut();
        let mut v = self.apply(v);
        v.fill(true);
        mask
    }

    /// `shape [..] strides [..] (layout)` of the view.
    pub fn describe(&self) -> String {
        let v = self.view();
        format!(
            "shape {:?} strides {:?} ({:?})",
            v.shape(),
            v.strides(),
            self.layout
        )
    }
}

/// Knobs of the random case generator.
#[derive(Clone, Copy, Debug)]
pub struct Gen {
    /// Upper bound on the product of all label and ellipsis sizes (sizes of 0
    /// counted as 1): the reference's work, and so the test's run time.
    pub max_work: usize,
    /// Probability that a case allows zero sizes at all.
    pub zero_case: f64,
    /// Probability that a case uses size-1 axes under labels that are larger
    /// elsewhere (numpy's label broadcasting).
    pub label_bcast_case: f64,
    /// Integer values: wide (wrapping) instead of small.
    pub wide: bool,
    /// Smallest ellipsis rank to draw (for tests that want ellipsis axes).
    pub min_ell_rank: usize,
    /// Labels whose size is given (`; i = 3` bindings): never drawn, never
    /// broadcast, never shrunk.
    pub fixed: &'static [(char, usize)],
    /// Draw every label size uniformly from this range instead (larger
    /// problems, for the kernels that only run on them).
    pub sizes: Option<(usize, usize)>,
    /// How many seeds a test runs per expression.
    pub seeds: u64,
}

impl Default for Gen {
    fn default() -> Self {
        Gen {
            max_work: 20_000,
            zero_case: 0.15,
            label_bcast_case: 0.2,
            wide: false,
            min_ell_rank: 0,
            fixed: &[],
            sizes: None,
            seeds: 20,
        }
    }
}

impl Gen {
    /// Every case has some zero-size axis.
    pub fn zero_sizes() -> Self {
        Gen {
            zero_case: 2.0,
            ..Gen::default()
        }
    }
    /// Every case has size-1 axes under labels where the generator can.
    pub fn label_bcast() -> Self {
        Gen {
            label_bcast_case: 2.0,
            ..Gen::default()
        }
    }
    pub fn wide() -> Self {
        Gen {
            wide: true,
            ..Gen::default()
        }
    }
    pub fn fixed(fixed: &'static [(char, usize)]) -> Self {
        Gen {
            fixed,
            ..Gen::default()
        }
    }
    /// Label sizes from `lo..=hi`, at most `max_work` work, `seeds` seeds.
    pub fn large(lo: usize, hi: usize, max_work: usize, seeds: u64) -> Self {
        Gen {
            sizes: Some((lo, hi)),
            max_work,
            seeds,
            zero_case: 0.0,
            label_bcast_case: 0.1,
            ..Gen::default()
        }
    }
    pub fn small_work(max_work: usize) -> Self {
        Gen {
            max_work,
            ..Gen::default()
        }
    }
}

fn random_size(rng: &mut SmallRng, zeros: bool) -> usize {
    let x = rng.random_range(0..100);
    if zeros && x < 20 {
        0
    } else if x < 30 {
        1
    } else if x < 88 {
        rng.random_range(2..=4)
    } else {
        rng.random_range(5..=7)
    }
}

/// Random operands for `subscripts` with default knobs.
pub fn random_case<T: RefScalar>(subscripts: &str, rng: &mut SmallRng) -> Vec<Strided<T>> {
    random_case_with(subscripts, rng, &Gen::default())
}

/// Random operands for `subscripts`: random sizes per label and for the
/// ellipsis dimensions (with numpy broadcasting of the ellipsis and, in some
/// cases, of labels), each operand with a random layout and small integer
/// values (so that float results are exact).
pub fn random_case_with<T: RefScalar>(
    subscripts: &str,
    rng: &mut SmallRng,
    g: &Gen,
) -> Vec<Strided<T>> {
    let p = parse(subscripts);
    let nops = p.inputs.len();
    let zeros = rng.random_bool(g.zero_case.min(1.0));
    let label_bcast = rng.random_bool(g.label_bcast_case.min(1.0));

    let mut labels: Vec<u8> = p
        .inputs
        .iter()
        .flatten()
        .filter_map(|t| match t {
            Tok::L(c) => Some(*c),
            Tok::Ell => None,
        })
        .collect();
    labels.sort_unstable();
    labels.dedup();
    let any_ell = p.inputs.iter().flatten().any(|t| *t == Tok::Ell);

    let mut size = [0usize; 128];
    for &c in &labels {
        size[c as usize] = match g.sizes {
            Some((lo, hi)) => rng.random_range(lo..=hi),
            None => random_size(rng, zeros),
        };
    }
    let is_fixed = |c: u8| g.fixed.iter().any(|&(f, _)| f as u32 == u32::from(c));
    for &(f, n) in g.fixed {
        size[f as usize] = n;
    }
    let free: Vec<u8> = labels.iter().copied().filter(|&c| !is_fixed(c)).collect();
    let erank = if any_ell {
        let r = match rng.random_range(0..10) {
            0..=1 => 0,
            2..=4 => 1,
            5..=7 => 2,
            _ => 3,
        };
        r.max(g.min_ell_rank)
    } else {
        0
    };
    let mut ell: Vec<usize> = (0..erank).map(|_| random_size(rng, zeros)).collect();
    if zeros && !labels.iter().any(|&c| size[c as usize] == 0) && !ell.contains(&0) {
        // Make sure the case has a zero somewhere.
        let n = free.len() + ell.len();
        if n > 0 {
            let i = rng.random_range(0..n);
            if i < free.len() {
                size[free[i] as usize] = 0;
            } else {
                ell[i - free.len()] = 0;
            }
        }
    }
    // Cap the work.
    loop {
        let work: usize = labels
            .iter()
            .map(|&c| size[c as usize].max(1))
            .chain(ell.iter().map(|&d| d.max(1)))
            .fold(1usize, |a, b| a.saturating_mul(b));
        if work <= g.max_work {
            break;
        }
        let mut best: Option<&mut usize> = None;
        let free_sizes = size
            .iter_mut()
            .enumerate()
            .filter(|(c, _)| free.contains(&(*c as u8)))
            .map(|(_, s)| s);
        for s in free_sizes.chain(ell.iter_mut()) {
            if *s > 1 && best.as_ref().is_none_or(|b| **b < *s) {
                best = Some(s);
            }
        }
        match best {
            Some(s) => *s -= 1,
            None => break, // only fixed sizes are left to blame
        }
    }

    let range = match nops {
        0..=4 => 3,
        5..=8 => 2,
        _ => 1,
    };
    let mut fill = |rng: &mut SmallRng| {
        if g.wide {
            T::wide(rng)
        } else {
            T::small(rng, range)
        }
    };

    p.inputs
        .iter()
        .map(|term| {
            // This operand's size for each of its labels.
            let mut mine = [0usize; 128];
            for &c in &labels {
                let n = size[c as usize];
                let b = label_bcast && !is_fixed(c) && n >= 2 && rng.random_bool(0.3);
                mine[c as usize] = if b { 1 } else { n };
            }
            let mut shape = Vec::new();
            for t in term {
                match *t {
                    Tok::L(c) => shape.push(mine[c as usize]),
                    Tok::Ell => {
                        let r = if rng.random_bool(0.6) {
                            erank
                        } else {
                            rng.random_range(0..=erank)
                        };
                        for &d in &ell[erank - r..] {
                            shape.push(if rng.random_bool(0.25) { 1 } else { d });
                        }
                    }
                }
            }
            let layout = LAYOUTS[rng.random_range(0..LAYOUTS.len())];
            Strided::new(&shape, layout, false, rng, &mut fill)
        })
        .collect()
}

/// A mutable output of `shape` with a random layout (no broadcasting),
/// pre-filled with `T::garbage()`.
pub fn random_out<T: RefScalar>(shape: &[usize], rng: &mut SmallRng) -> Strided<T> {
    let layout = loop {
        let l = LAYOUTS[rng.random_range(0..LAYOUTS.len())];
        if l != Layout::Broadcast && l != Layout::Window {
            break l;
        }
    };
    Strided::new(shape, layout, true, rng, &mut |_| T::garbage())
}

/// `shape [..] strides [..]` of each operand.
pub fn describe_all<T: RefScalar>(ops: &[Strided<T>]) -> String {
    ops.iter()
        .enumerate()
        .map(|(k, o)| format!("#{k}: {}", o.describe()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Truncates long debug output for messages.
pub fn clip(s: String, n: usize) -> String {
    if s.len() <= n {
        s
    } else {
        let mut cut = n;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} chars)", &s[..cut], s.len())
    }
}

/// A seed derived from the subscripts, so each expression sees different
/// shapes for the same seed index; printed seeds are the index.
pub fn case_seed(subscripts: &str, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in subscripts.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The message of a caught panic.
pub fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_string()
    }
}

/// Checks an output written by `einsum_into!`: the logical view holds the
/// expected values and no storage element outside it was touched.
pub fn check_out<T: RefScalar>(out: &Strided<T>, expected: &ArrayD<T>) -> Result<(), String> {
    let got = out.view();
    if got != expected.view() {
        return Err(format!("expected {expected:?}\n  got {:?}", got.to_owned()));
    }
    let reached = out.reached();
    for (v, r) in out.storage().iter().zip(reached.iter()) {
        if !r && *v != T::garbage() {
            return Err(format!(
                "wrote outside the output view: storage {:?}",
                out.storage()
            ));
        }
    }
    Ok(())
}

/// A result of `einsum!` (a scalar `T` or an array of any dimension) as an
/// `ArrayD<T>`, for comparison with the reference.
pub trait ToDyn<T> {
    fn to_dyn(self) -> ArrayD<T>;
}

impl<T, D: einsum::ndarray::Dimension> ToDyn<T> for einsum::ndarray::Array<T, D> {
    fn to_dyn(self) -> ArrayD<T> {
        self.into_dyn()
    }
}

macro_rules! scalar_to_dyn {
    ($($t:ty),*) => {$(
        impl ToDyn<$t> for $t {
            fn to_dyn(self) -> ArrayD<$t> {
                einsum::ndarray::arr0(self).into_dyn()
            }
        }
    )*};
}
scalar_to_dyn!(
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    isize,
    u8,
    u16,
    u32,
    u64,
    usize,
    Complex<f32>,
    Complex<f64>
);
