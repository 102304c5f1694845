//! The search for a contraction order: which pairs to contract, in which
//! order, by opt_einsum's FLOP counts.
//!
//! The input is what `call::resolve` found: the size of every
//! loop axis (labels, then `...` dimensions) and, for each operand, the set
//! of axes it varies along, as a bit mask; and the output's axes. The
//! macro numbered the labels at compile time, so nothing here looks at
//! characters: an order is a choice among masks, made from sizes.
//!
//! The costs are opt_einsum's (and numpy's `einsum_path`'s): a step over the
//! axes `U` that sums some of them costs `2 · Π_{u∈U} size(u)` FLOPs (a
//! multiply and an add per term), one that sums none `Π size(u)`; the
//! all-axes loop nest of `k` operands costs `Π size · (max(1, k − 1) + 1)`
//! when an axis is shared or summed. Steps:
//! 1. an axis in only one operand and not in the output is summed out of
//!    that operand first, alone;
//! 2. then pairs, in the order of least total FLOPs: an exact search over
//!    subsets (opt_einsum's `optimal` and `dp` find the same minimum) for up
//!    to [`EXACT_MAX`] operands, greedy beyond (opt_einsum's `greedy`: the
//!    pair sharing an axis whose result frees the most memory, then the fewer
//!    FLOPs); ties of the exact search go to the order whose largest
//!    intermediate is smaller.
//!
//! When no pairwise order costs less than the loop nest (`"ij,ij,ij->ij"`
//! costs the same either way), the nest runs: it needs no intermediate.

#[cfg(test)]
thread_local! {
    /// How many orders this thread has searched for.
    pub(super) static PLANNED: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// The most operands searched exactly; more are ordered greedily.
pub const EXACT_MAX: usize = 8;

/// The most operands contracted pairwise (numpy's former `NPY_MAXARGS`);
/// more run as one loop nest.
pub const PAIRWISE_MAX: usize = 32;

/// The most steps a plan has: one alone-sum per operand, and one fewer
/// pairs than operands.
pub(crate) const MAX_STEPS: usize = 2 * PAIRWISE_MAX;

/// No second operand: the step sums axes out of its first alone.
pub(crate) const ALONE: u8 = u8::MAX;

/// One step: contract slots `a` and `b` (or sum out of `a` alone), giving a
/// new slot, numbered after the operands in step order, over the axes
/// `keep`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub a: u8,
    pub b: u8,
    pub keep: u64,
}

/// A contraction order and its costs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Order {
    pub steps: [Step; MAX_STEPS],
    pub len: usize,
    /// FLOPs of the steps.
    pub flops: u128,
    /// FLOPs of the single loop nest.
    pub naive: u128,
    /// Elements of the largest intermediate (the result included).
    pub largest: u128,
}

impl Order {
    /// The steps in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps[..self.len]
    }

    /// Whether the pairwise steps beat the one loop nest.
    pub fn pairwise(&self) -> bool {
        self.flops < self.naive
    }
}

/// `Π size(u)` over the axes of `mask` (saturating).
pub(crate) fn volume(sizes: &[usize], mask: u64) -> u128 {
    let mut v: u128 = 1;
    let mut m = mask;
    while m != 0 {
        let u = m.trailing_zeros() as usize;
        v = v.saturating_mul(sizes[u] as u128);
        m &= m - 1;
    }
    v
}

/// opt_einsum's cost of one step over `union` that keeps `keep`.
pub(super) fn step_flops(sizes: &[usize], union: u64, keep: u64) -> u128 {
    let factor = if union & !keep != 0 { 2 } else { 1 };
    volume(sizes, union).saturating_mul(factor)
}

/// No steps: the one loop nest, whose cost is also the plan's.
pub(crate) fn nest_only(sizes: &[usize], masks: &[u64], out: u64) -> Order {
    let all = masks.iter().fold(out, |m, &x| m | x);
    let occurrences: u32 = masks.iter().map(|m| m.count_ones()).sum();
    let shared = occurrences > all.count_ones() || all & !out != 0;
    let factor = (masks.len().saturating_sub(1)).max(1) as u128 + u128::from(shared);
    let naive = volume(sizes, all).saturating_mul(factor);
    Order {
        steps: [Step {
            a: 0,
            b: 0,
            keep: 0,
        }; MAX_STEPS],
        len: 0,
        flops: naive,
        naive,
        largest: volume(sizes, out),
    }
}

/// The best order for operands of axes `masks` (sizes `sizes`) into an
/// output of axes `out`. At most [`PAIRWISE_MAX`] operands.
pub(crate) fn order(sizes: &[usize], masks: &[u64], out: u64) -> Order {
    #[cfg(test)]
    PLANNED.with(|n| n.set(n.get() + 1));
    let k = masks.len();
    assert!((1..=PAIRWISE_MAX).contains(&k), "einsum: operands to order");
    let mut o = nest_only(sizes, masks, out);
    o.flops = 0;
    o.largest = 0;

    // The operands still to contract: (slot, axes).
    let mut live: [(u8, u64); PAIRWISE_MAX] = [(0, 0); PAIRWISE_MAX];
    for (i, &m) in masks.iter().enumerate() {
        live[i] = (i as u8, m);
    }
    let mut n = k;
    let mut next_slot = k as u8;
    let mut push = |o: &mut Order, a: u8, b: u8, union: u64, keep: u64| {
        o.steps[o.len] = Step { a, b, keep };
        o.len += 1;
        o.flops = o.flops.saturating_add(step_flops(sizes, union, keep));
        o.largest = o.largest.max(volume(sizes, keep));
    };
    // 1. Axes of one operand alone, summed out of it first.
    for i in 0..n {
        let others = (0..n).filter(|&j| j != i).fold(out, |m, j| m | live[j].1);
        let (slot, m) = live[i];
        if m & !others != 0 && n > 1 {
            push(&mut o, slot, ALONE, m, m & others);
            live[i] = (next_slot, m & others);
            next_slot += 1;
        }
    }
    if n == 1 {
        let (slot, m) = live[0];
        push(&mut o, slot, ALONE, m | out, out);
        return o;
    }
    // 2. Pairs.
    if n <= EXACT_MAX {
        exact(&mut o, sizes, &live[..n], out, next_slot, &mut push);
    } else {
        while n > 1 {
            let rest = |skip: (usize, usize)| {
                (0..n)
                    .filter(|&j| j != skip.0 && j != skip.1)
                    .fold(out, |m, j| m | live[j].1)
            };
            // opt_einsum's greedy choice: among pairs that share an axis,
            // the one whose result removes the most memory (result size
            // minus both operand sizes), then the fewer FLOPs; with no
            // shared axis left, the outer product of the two smallest.
            let mut best: Option<((bool, i128, u128), usize, usize)> = None;
            for i in 0..n {
                for j in i + 1..n {
                    let (mi, mj) = (live[i].1, live[j].1);
                    let union = mi | mj;
                    let keep = union & rest((i, j));
                    let vol = |m: u64| volume(sizes, m).min(i128::MAX as u128) as i128;
                    let cost = if mi & mj != 0 {
                        (
                            false,
                            // Saturating: an intermediate's volume may be
                            // near `i128::MAX` for huge broadcast sizes.
                            vol(keep).saturating_sub(vol(mi)).saturating_sub(vol(mj)),
                            step_flops(sizes, union, keep),
                        )
                    } else {
                        (true, vol(mi).saturating_add(vol(mj)), 0)
                    };
                    if best.is_none_or(|b| cost < b.0) {
                        best = Some((cost, i, j));
                    }
                }
            }
            let (_, i, j) = best.expect("two operands at least");
            let union = live[i].1 | live[j].1;
            let keep = if n == 2 { out } else { union & rest((i, j)) };
            push(&mut o, live[i].0, live[j].0, union | keep, keep);
            live[i] = (next_slot, keep);
            next_slot += 1;
            live[j] = live[n - 1];
            n -= 1;
        }
    }
    o
}

/// The exact search: for every subset of the operands, the cheapest way to
/// contract it to one intermediate, from the cheapest ways for its two
/// parts (opt_einsum's `optimal`, by dynamic programming over subsets).
fn exact(
    o: &mut Order,
    sizes: &[usize],
    live: &[(u8, u64)],
    out: u64,
    first_slot: u8,
    push: &mut impl FnMut(&mut Order, u8, u8, u64, u64),
) {
    const SETS: usize = 1 << EXACT_MAX;
    let n = live.len();
    let full = (1usize << n) - 1;
    // The axes of each subset, and those its intermediate keeps: the ones
    // that operands outside it, or the output, still need.
    let mut axes = [0u64; SETS];
    for s in 1..=full {
        let low = s.trailing_zeros() as usize;
        axes[s] = axes[s & (s - 1)] | live[low].1;
    }
    let keep = |s: usize| {
        if s == full {
            out
        } else {
            axes[s] & (axes[full & !s] | out)
        }
    };
    // (FLOPs, largest intermediate, first part) of each subset's best way.
    let mut best = [(0u128, 0u128, 0usize); SETS];
    for s in 1..=full {
        if s.count_ones() == 1 {
            continue;
        }
        let low = s & s.wrapping_neg();
        let k = keep(s);
        let mut found: Option<(u128, u128, usize)> = None;
        // Every split into two parts, the part with the lowest operand first.
        let mut a = (s - 1) & s;
        while a != 0 {
            if a & low != 0 {
                let b = s & !a;
                let union = keep(a) | keep(b) | k;
                let flops = best[a]
                    .0
                    .saturating_add(best[b].0)
                    .saturating_add(step_flops(sizes, union, k));
                let largest = best[a].1.max(best[b].1).max(volume(sizes, k));
                if found.is_none_or(|f| (flops, largest) < (f.0, f.1)) {
                    found = Some((flops, largest, a));
                }
            }
            a = (a - 1) & s;
        }
        best[s] = found.expect("a subset of two or more operands splits");
    }
    // The steps, parts before the whole: slots are numbered as they come.
    fn emit(
        s: usize,
        best: &[(u128, u128, usize)],
        live: &[(u8, u64)],
        keep: &dyn Fn(usize) -> u64,
        next: &mut u8,
        o: &mut Order,
        push: &mut dyn FnMut(&mut Order, u8, u8, u64, u64),
    ) -> u8 {
        if s.count_ones() == 1 {
            return live[s.trailing_zeros() as usize].0;
        }
        let a = best[s].2;
        let b = s & !a;
        let sa = emit(a, best, live, keep, next, o, push);
        let sb = emit(b, best, live, keep, next, o, push);
        let k = keep(s);
        push(o, sa, sb, keep(a) | keep(b) | k, k);
        let slot = *next;
        *next += 1;
        slot
    }
    let mut next = first_slot;
    emit(full, &best, live, &keep, &mut next, o, push);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(axes: &[usize]) -> u64 {
        axes.iter().fold(0, |m, &a| m | 1 << a)
    }

    #[test]
    fn chain_order_and_costs() {
        // ij,jk,kl->il with i = 1000, j = 10, k = 1000, l = 10.
        let sizes = [1000, 10, 1000, 10];
        let masks = [bits(&[0, 1]), bits(&[1, 2]), bits(&[2, 3])];
        let o = order(&sizes, &masks, bits(&[0, 3]));
        assert_eq!(o.naive, 300_000_000);
        assert_eq!(o.flops, 400_000);
        assert_eq!(o.largest, 10_000);
        assert_eq!(
            o.steps(),
            [
                Step {
                    a: 1,
                    b: 2,
                    keep: bits(&[1, 3])
                },
                Step {
                    a: 0,
                    b: 3,
                    keep: bits(&[0, 3])
                }
            ]
        );
        assert!(o.pairwise());
    }

    #[test]
    fn lone_axes_are_summed_first() {
        // ab,bc,cd->a: d only in the third operand, so cd->c first.
        let sizes = [5, 6, 7, 8];
        let masks = [bits(&[0, 1]), bits(&[1, 2]), bits(&[2, 3])];
        let o = order(&sizes, &masks, bits(&[0]));
        assert_eq!(
            o.steps()[0],
            Step {
                a: 2,
                b: ALONE,
                keep: bits(&[2])
            }
        );
        // cd->c: 2·56; then bc,c->b: 2·42; then ab,b->a: 2·30.
        assert_eq!(o.flops, 2 * 56 + 2 * 42 + 2 * 30);
    }

    #[test]
    fn the_nest_wins_ties() {
        let sizes = [30, 40];
        let m = bits(&[0, 1]);
        let o = order(&sizes, &[m, m, m], m);
        assert_eq!((o.naive, o.flops), (3600, 2400));
        assert!(o.pairwise());
        let o = order(&sizes, &[m, m, bits(&[0])], m);
        assert!(o.flops <= o.naive);
    }

    /// The classic matrix-chain order by dynamic programming over
    /// intervals, an independent reference for chains: the least FLOPs
    /// (2·p·q·r per product) to multiply matrices of sizes `dims[i] ×
    /// dims[i + 1]`.
    fn matrix_chain(dims: &[usize]) -> u128 {
        let n = dims.len() - 1;
        let mut cost = vec![vec![0u128; n]; n];
        for len in 2..=n {
            for i in 0..=n - len {
                let j = i + len - 1;
                cost[i][j] = (i..j)
                    .map(|k| {
                        cost[i][k]
                            + cost[k + 1][j]
                            + 2 * (dims[i] * dims[k + 1] * dims[j + 1]) as u128
                    })
                    .min()
                    .unwrap();
            }
        }
        cost[0][n - 1]
    }

    fn chain(dims: &[usize]) -> Order {
        let n = dims.len() - 1;
        let masks: Vec<u64> = (0..n).map(|i| bits(&[i, i + 1])).collect();
        order(dims, &masks, bits(&[0, n]))
    }

    #[test]
    fn exact_search_matches_the_matrix_chain_order() {
        for dims in [
            vec![1000, 10, 1000, 10],
            vec![30, 35, 15, 5, 10, 20, 25],
            vec![4, 40, 4, 40, 4, 40, 4, 40, 4],
            vec![5, 100, 3, 60, 2, 70, 8, 90, 6],
        ] {
            assert_eq!(chain(&dims).flops, matrix_chain(&dims), "{dims:?}");
        }
    }

    #[test]
    fn huge_sizes_saturate_the_costs() {
        // Nine operands, so the greedy search runs: two share the axes 0,
        // 1, 2 of 2^63 each (volumes far past `i128::MAX`, as intermediates
        // of broadcast operands may be), which nothing else needs, so their
        // pair's memory saving is about -2^128; seven small operands share
        // axis 3 with the output.
        let sizes = [1 << 63, 1 << 63, 1 << 63, 3];
        let huge = bits(&[0, 1, 2]);
        let mut masks = vec![huge, huge];
        masks.extend([bits(&[3]); 7]);
        let o = order(&sizes, &masks, bits(&[3]));
        assert_eq!(o.len, masks.len() - 1);
        assert_eq!(o.naive, u128::MAX);
        // The two huge operands meet first, over 2^189 points: saturated.
        assert_eq!(
            o.steps()[0],
            Step {
                a: 0,
                b: 1,
                keep: 0
            }
        );
        assert_eq!(o.flops, u128::MAX);
        // The same operands searched exactly (eight of them) saturate too.
        let o = order(&sizes, &masks[..8], bits(&[3]));
        assert_eq!((o.flops, o.naive), (u128::MAX, u128::MAX));
    }

    #[test]
    fn greedy_beyond_the_exact_search() {
        // 12 and 16 matrices: greedy, within a quarter of the least FLOPs
        // (opt_einsum's greedy: 8320 and 23000, against 8320 and 18654),
        // and far below the nest.
        for dims in [
            (0..=12)
                .map(|i| if i % 2 == 0 { 4 } else { 40 })
                .collect::<Vec<usize>>(),
            (0..=16).map(|i| [7, 50, 3, 80, 5][i % 5]).collect(),
        ] {
            let o = chain(&dims);
            assert_eq!(o.len, dims.len() - 2);
            assert_eq!(o.steps().last().unwrap().keep, bits(&[0, dims.len() - 1]));
            let best = matrix_chain(&dims);
            assert!(
                o.flops >= best && o.flops * 4 <= best * 5,
                "{} {best}",
                o.flops
            );
            assert!(o.flops * 1000 < o.naive);
        }
    }
}
