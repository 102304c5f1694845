//! What the call site's own loops hold: whether they are written at all,
//! over which labels, where each size comes from, and the row kernel tried
//! before them with the labels it unrolls.

use super::terms::Terms;

/// The most labels, and operands, for which the loops are written at the
/// call site; larger expressions always take the run-time kernels.
// 12: thirteen labels of size 2 or more are over 2¹², sixteen times the
// default small_max_work (2⁸).
pub const SMALL_MAX_LABELS: usize = 12;

/// The most products per output element that bound labels are unrolled
/// into (the product of their sizes); beyond it, the expression gets no row
/// kernel.
///
/// It bounds what a call with fixed sizes adds to the build. Its row kernel
/// holds P multiply-adds per output element, P the product of the unrolled
/// sizes (at most `UNROLL_MAX`), each over one value of every operand, so it
/// reads at most k·P operand values per row for k operands: at most 384 with
/// the [`SMALL_MAX_LABELS`] (12) operands that the call site's loops allow.
/// Each read costs the expansion at most 40 + 2·r tokens, r the rank of the
/// operand read (the fetch of a value and its place in a product), so the
/// kernel adds at most `UNROLL_MAX`·Σₖ(40 + 2·rₖ) tokens to the call: 2 816
/// for a matrix times a matrix (`"ij,jk->ik"` with `j = 32`), 24 576 at most
/// for twelve operands of twelve labels. The compiler builds the kernel three
/// times (AVX-512, AVX2, the baseline), and its time grows faster than the
/// kernel: at 64 products a call cost about 1.8 s of release build, at 32 a
/// fraction of that (`benches/build_cost.py`). 32 keeps a 5×5 filter, a
/// 3×3×3 one and a 4×4 filter over two channels unrolled. The plan's
/// `tests::unrolling_is_bounded` checks the counts at the bound and one step
/// over it, the expansion's `tests::row_kernel_tokens_are_bounded` the
/// tokens.
// 32: at 64 products a call cost 1.8 s of release build, at 32 a fraction.
pub const UNROLL_MAX: usize = 32;

/// Where the call site's loops take a label's size from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// The constant of the binding at this place: a constant loop bound, so
    /// the compiler sees constant trip counts (and unrolls short loops), and
    /// every axis under the label is compared with it.
    Bound(usize),
    /// The length of the first axis the label names: `(operand, axis)`.
    Axis(usize, usize),
}

/// The loops written at the call site for small work: one loop per label,
/// the output's outside, a sum in a register inside. They run when every
/// operand's shape is exactly its labels' sizes and the work is small; else
/// the run-time path decides, and reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loops {
    /// Each label's size and where it comes from: the bound ones first, then
    /// the others in order of first appearance over the operands' axes.
    pub sizes: Vec<(u8, Size)>,
    /// The output's labels, the outer loops.
    pub output: Vec<u8>,
    /// The summed labels, the inner loops of each output element.
    pub summed: Vec<u8>,
    /// The row kernel tried before the loops, if the expression has one.
    pub rows: Option<Rows>,
    /// The expression's labels as a matrix product's, if it is one: work
    /// too large for the loops goes straight to a GEMM.
    pub product: Option<Product>,
}

/// A two-operand expression read as batched matrix products,
/// `C[b, m, n] = Σ_k A[b, m, k] · B[b, k, n]`: which label plays each part
/// (at most one each; a missing one has size 1). Every label is in one of
/// these parts, once per term; there is a K, or both an M and an N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Product {
    /// In both operands and the output.
    pub batch: Option<u8>,
    /// In the first operand and the output.
    pub m: Option<u8>,
    /// In both operands, summed.
    pub k: Option<u8>,
    /// In the second operand and the output.
    pub n: Option<u8>,
}

/// The row kernel: the output's last label runs innermost over whole rows,
/// and every summed label is bound to a literal size and unrolled into
/// straight-line multiply-adds per element: for `"xyij,ij->xy"` with
/// `i = 3, j = 3`,
/// `out[x][y] = k00·w[x][y][0][0] + k01·w[x][y][0][1] + … + k22·w[x][y][2][2]`,
/// with the nine weights and the nine window rows fetched once per row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows {
    /// The output's last label, along which rows are written.
    pub row: u8,
    /// The output's other labels, looped over around the rows; the first is
    /// the one split over the pool.
    pub outer: Vec<u8>,
    /// The summed labels with their sizes, every one unrolled.
    pub unrolled: Vec<(u8, usize)>,
    /// Per operand, the axis of `row` in its term, along which it is read as
    /// slices of unit stride; `None` for an operand read an element at a time.
    pub lines: Vec<Option<usize>>,
    /// The values a row reads, each once, in the order they are fetched.
    pub reads: Vec<Read>,
    /// One multiply-add per combination of the unrolled labels' values, in
    /// the order they are summed.
    pub combinations: Vec<Combination>,
    /// The labels whose sizes the kernel reads when it runs (loop bounds and
    /// the row length): all but the unrolled ones.
    pub sizes: Vec<u8>,
}

/// One value a row reads: a line or an element of an operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub operand: usize,
    /// The value of each unrolled label of the operand's term, in term order.
    pub at: Vec<(u8, usize)>,
}

/// One combination of the unrolled labels' values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combination {
    /// The value of each unrolled label, the last varying fastest.
    pub values: Vec<(u8, usize)>,
    /// Per operand, its factor of the product: an index into [`Rows::reads`].
    pub factors: Vec<usize>,
}

/// The call site's loops: none with `...`, whose rank is known only at run
/// time, and none for more than [`SMALL_MAX_LABELS`] labels or operands.
pub fn loops(terms: &Terms) -> Option<Loops> {
    if terms.has_ellipsis()
        || terms.labels.len() > SMALL_MAX_LABELS
        || terms.inputs.len() > SMALL_MAX_LABELS
    {
        return None;
    }
    let mut known = vec![false; terms.labels.len()];
    let mut sizes = Vec::new();
    for b in &terms.fixed {
        known[usize::from(b.label)] = true;
        sizes.push((b.label, Size::Bound(b.binding)));
    }
    for (k, term) in terms.inputs.iter().enumerate() {
        for (a, &l) in term.labels.iter().enumerate() {
            if !known[usize::from(l)] {
                known[usize::from(l)] = true;
                sizes.push((l, Size::Axis(k, a)));
            }
        }
    }
    let output = terms.output.labels.clone();
    let summed = (0..terms.labels.len() as u8)
        .filter(|l| !output.contains(l))
        .collect();
    Some(Loops {
        sizes,
        output,
        summed,
        rows: rows(terms),
        product: product(terms),
    })
}

/// The expression's [`Product`], if it is a (batched) matrix product.
fn product(terms: &Terms) -> Option<Product> {
    let [a, b] = &terms.inputs[..] else {
        return None;
    };
    let out = &terms.output.labels;
    let once = |labels: &[u8]| {
        labels
            .iter()
            .enumerate()
            .all(|(i, l)| !labels[..i].contains(l))
    };
    if !once(&a.labels) || !once(&b.labels) || !once(out) {
        return None;
    }
    let mut p = Product {
        batch: None,
        m: None,
        k: None,
        n: None,
    };
    for l in 0..terms.labels.len() as u8 {
        let part = match (
            a.labels.contains(&l),
            b.labels.contains(&l),
            out.contains(&l),
        ) {
            (true, true, true) => &mut p.batch,
            (true, false, true) => &mut p.m,
            (true, true, false) => &mut p.k,
            (false, true, true) => &mut p.n,
            // Summed over one operand alone: not a product.
            _ => return None,
        };
        if part.replace(l).is_some() {
            return None;
        }
    }
    (p.k.is_some() || (p.m.is_some() && p.n.is_some())).then_some(p)
}

/// The row kernel, when every summed label is bound to an integer literal
/// (not zero) and the product of their sizes is at most [`UNROLL_MAX`].
/// None without fixed sizes, without an output label, or with a label twice
/// in one term. Nor with a summed label left to loop over: that is a
/// contraction, which the run-time kernels (GEMM among them) do better than
/// a loop around rows.
fn rows(terms: &Terms) -> Option<Rows> {
    let distinct = |labels: &[u8]| {
        labels
            .iter()
            .enumerate()
            .all(|(a, l)| !labels[..a].contains(l))
    };
    if terms.fixed.is_empty() || !terms.inputs.iter().all(|t| distinct(&t.labels)) {
        return None;
    }
    let (&row, outer) = terms.output.labels.split_last()?;
    let mut unrolled = Vec::new();
    let mut products = 1usize;
    for l in (0..terms.labels.len() as u8).filter(|l| !terms.output.labels.contains(l)) {
        let n = terms
            .fixed
            .iter()
            .find(|b| b.label == l)
            .and_then(|b| b.size)
            .filter(|&n| n > 0)?;
        products = products.checked_mul(n).filter(|&p| p <= UNROLL_MAX)?;
        unrolled.push((l, n));
    }
    let mut reads: Vec<Read> = Vec::new();
    let combinations = combinations(&unrolled)
        .into_iter()
        .map(|values| {
            let factors = terms
                .inputs
                .iter()
                .enumerate()
                .map(|(k, term)| {
                    let read = Read {
                        operand: k,
                        at: term
                            .labels
                            .iter()
                            .filter_map(|&l| values.iter().find(|&&(u, _)| u == l).copied())
                            .collect(),
                    };
                    match reads.iter().position(|r| *r == read) {
                        Some(r) => r,
                        None => {
                            reads.push(read);
                            reads.len() - 1
                        }
                    }
                })
                .collect();
            Combination { values, factors }
        })
        .collect();
    Some(Rows {
        row,
        outer: outer.to_vec(),
        lines: terms
            .inputs
            .iter()
            .map(|t| t.labels.iter().position(|&l| l == row))
            .collect(),
        reads,
        combinations,
        sizes: (0..terms.labels.len() as u8)
            .filter(|l| !unrolled.iter().any(|&(u, _)| u == *l))
            .collect(),
        unrolled,
    })
}

/// Every combination of values of `labels` (each `(label, size)`), the
/// last label varying fastest; one empty combination for no label.
fn combinations(labels: &[(u8, usize)]) -> Vec<Vec<(u8, usize)>> {
    labels.iter().fold(vec![Vec::new()], |acc, &(l, n)| {
        acc.iter()
            .flat_map(|c| {
                (0..n).map(move |v| {
                    let mut c = c.clone();
                    c.push((l, v));
                    c
                })
            })
            .collect()
    })
}
