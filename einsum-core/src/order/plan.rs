//! What `einsum_path!` shows: an order's steps and costs, as numpy's
//! `einsum_path` prints them.

use std::fmt;

use super::search::{step_flops, volume, Order, ALONE};
use crate::spec::Spec;

/// The contraction order [`einsum_path!`](../einsum/macro.einsum_path.html)
/// chose for some operands, with its costs, shown as numpy's `einsum_path`
/// shows its own.
///
/// ```
/// use einsum::einsum_path;
/// use einsum::ndarray::Array2;
///
/// let a = Array2::<f64>::zeros((1000, 10));
/// let b = Array2::<f64>::zeros((10, 1000));
/// let c = Array2::<f64>::zeros((1000, 10));
/// let plan = einsum_path!("ij,jk,kl->il", &a, &b, &c);
/// assert_eq!(plan.naive_flops(), 300_000_000);
/// assert_eq!(plan.flops(), 400_000);
/// assert_eq!(plan.steps()[0].subscripts(), "jk,kl->jl");
/// println!("{plan}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    subscripts: String,
    naive: u128,
    flops: u128,
    largest: u128,
    naive_scaling: u32,
    steps: Vec<PlanStep>,
}

/// One step of a [`Plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanStep {
    subscripts: String,
    flops: u128,
    scaling: u32,
    remaining: String,
}

impl PlanStep {
    /// The step as an einsum of its own (`"jk,kl->jl"`).
    pub fn subscripts(&self) -> &str {
        &self.subscripts
    }

    /// Its FLOPs, counted as opt_einsum counts them.
    pub fn flops(&self) -> u128 {
        self.flops
    }

    /// How many axes it loops over.
    pub fn scaling(&self) -> u32 {
        self.scaling
    }

    /// The terms left after it, as one expression.
    pub fn remaining(&self) -> &str {
        &self.remaining
    }
}

impl Plan {
    /// The whole expression.
    pub fn subscripts(&self) -> &str {
        &self.subscripts
    }

    /// FLOPs of the one loop nest over every axis.
    pub fn naive_flops(&self) -> u128 {
        self.naive
    }

    /// FLOPs of the steps that run: the pairwise steps, or the nest when no
    /// order beats it.
    pub fn flops(&self) -> u128 {
        self.flops
    }

    /// `naive_flops / flops`.
    pub fn speedup(&self) -> f64 {
        self.naive as f64 / self.flops.max(1) as f64
    }

    /// Elements of the largest array a step writes, the result included.
    pub fn largest_intermediate(&self) -> u128 {
        self.largest
    }

    /// The steps in the order they run: one, the nest itself, when the
    /// expression runs as one loop nest.
    pub fn steps(&self) -> &[PlanStep] {
        &self.steps
    }

    /// The plan of `order` for `spec`: `axis_char` names each axis
    /// (labels, then `...` dimensions), `masks` are the operands' axes.
    pub(crate) fn describe(
        spec: &Spec,
        order: &Order,
        sizes: &[usize],
        masks: &[u64],
        out: u64,
        out_axes: &[u8],
    ) -> Plan {
        // Letters for the `...` dimensions: the first unused ones.
        let spare: Vec<char> = ('a'..='z')
            .chain('A'..='Z')
            .filter(|c| !spec.labels.contains(&(*c as u8)))
            .collect();
        let name = |u: usize| {
            if u < spec.labels.len() {
                spec.labels[u] as char
            } else {
                spare.get(u - spec.labels.len()).copied().unwrap_or('?')
            }
        };
        let by_mask = |m: u64| -> String {
            (0..64)
                .filter(|&u| m >> u & 1 == 1)
                .map(|u| name(u as usize))
                .collect()
        };
        let output: String = out_axes.iter().map(|&u| name(usize::from(u))).collect();
        let all = masks.iter().fold(out, |m, &x| m | x);
        let naive_scaling = all.count_ones();
        let mut terms: Vec<String> = (0..masks.len())
            .map(|k| spec.inputs[k].text.to_string())
            .collect();
        let mut steps = Vec::new();
        if !order.pairwise() {
            steps.push(PlanStep {
                subscripts: spec.subscripts.to_string(),
                flops: order.naive,
                scaling: naive_scaling,
                remaining: format!("{output}->{output}"),
            });
        } else {
            let mut live: Vec<usize> = (0..masks.len()).collect();
            let last = order.len - 1;
            for (t, s) in order.steps().iter().enumerate() {
                let result = if t == last {
                    output.clone()
                } else {
                    by_mask(s.keep)
                };
                let mut ins = vec![terms[usize::from(s.a)].clone()];
                live.retain(|&x| x != usize::from(s.a));
                let mut union = slot_mask(order, masks, s.a);
                if s.b != ALONE {
                    ins.push(terms[usize::from(s.b)].clone());
                    live.retain(|&x| x != usize::from(s.b));
                    union |= slot_mask(order, masks, s.b);
                }
                union |= s.keep;
                terms.push(result.clone());
                live.push(terms.len() - 1);
                let rest: Vec<&str> = live.iter().map(|&x| terms[x].as_str()).collect();
                steps.push(PlanStep {
                    subscripts: format!("{}->{}", ins.join(","), result),
                    flops: step_flops(sizes, union, s.keep),
                    scaling: union.count_ones(),
                    remaining: format!("{}->{}", rest.join(","), output),
                });
            }
        }
        Plan {
            subscripts: spec.subscripts.to_string(),
            naive: order.naive,
            flops: if order.pairwise() {
                order.flops
            } else {
                order.naive
            },
            largest: if order.pairwise() {
                order.largest
            } else {
                volume(sizes, out)
            },
            naive_scaling,
            steps,
        }
    }
}

/// The axes of a slot of `order`: an operand's, or a step's result.
fn slot_mask(order: &Order, masks: &[u64], slot: u8) -> u64 {
    let s = usize::from(slot);
    if s < masks.len() {
        masks[s]
    } else {
        order.steps[s - masks.len()].keep
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt_scaling = self.steps.iter().map(|s| s.scaling).max().unwrap_or(0);
        writeln!(f, "  Complete contraction:  {}", self.subscripts)?;
        writeln!(f, "         Naive scaling:  {}", self.naive_scaling)?;
        writeln!(f, "     Optimized scaling:  {opt_scaling}")?;
        writeln!(f, "      Naive FLOP count:  {:.3e}", self.naive as f64)?;
        writeln!(f, "  Optimized FLOP count:  {:.3e}", self.flops as f64)?;
        writeln!(f, "   Theoretical speedup:  {:.3}", self.speedup())?;
        writeln!(
            f,
            "  Largest intermediate:  {:.3e} elements",
            self.largest as f64
        )?;
        let rule = "-".repeat(74);
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "{:<9}{:>12}   {:<24}{:>26}",
            "scaling", "FLOPs", "current", "remaining"
        )?;
        writeln!(f, "{rule}")?;
        for s in &self.steps {
            writeln!(
                f,
                "{:>4}     {:>12.3e}   {:<24}{:>26}",
                s.scaling, s.flops as f64, s.subscripts, s.remaining
            )?;
        }
        Ok(())
    }
}
