//! The plan: plain data that the expansion is emitted from, with no
//! `proc_macro` types, so it is unit-tested on its own.
//!
//! Every choice of what the expansion holds is made here: the terms as
//! label ids and the result's static type ([`terms`]), the run-time call's
//! entry point and tables, and the call site's own loops and row kernel
//! ([`loops`]). The emitters only turn these decisions into tokens.

pub mod loops;
pub mod terms;

pub use loops::{Loops, Product, Read, Rows, Size};
pub use terms::{stated_output, Bound, Output, PlanTerm, Terms, MAX_STATIC_RANK};

use crate::parse::Subscripts;

/// The fewest operands whose call keeps its last contraction order.
// 3: with fewer operands there is one order only, so nothing to keep.
pub const CACHE_MIN_OPERANDS: usize = 3;

/// What the macro's form asks the call for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    /// The result of the expression.
    Result,
    /// Nothing: the result is written into the caller's array.
    Into,
    /// The contraction order the run time would take, not a result.
    Path,
}

/// What the expansion evaluates to (inside a `Result` for the `try_` forms):
/// it picks the run-time entry point, and where the call site's loops write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// The contraction order (`einsum_path!`).
    Path,
    /// `()`, the result written into the caller's array.
    Into,
    /// The element type itself: the output has no axis.
    Scalar,
    /// A new array of this many axes; `None` for `IxDyn`.
    Array(Option<usize>),
}

/// How many axes the run-time tables make room for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// One entry per label.
    Labels(usize),
    /// numpy's most axes (`MAX_AXES`): a `...` stands for a number of axes
    /// known only at run time.
    MaxAxes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The character of each label id.
    pub labels: Vec<char>,
    pub inputs: Vec<PlanTerm>,
    pub output: PlanTerm,
    /// The fixed-size bindings, in the order written.
    pub fixed: Vec<Bound>,
    pub value: Value,
    pub room: Room,
    /// Whether the call keeps its last contraction order for the next call
    /// with the same sizes.
    pub cache: bool,
    /// The loops written at the call site, if any.
    pub loops: Option<Loops>,
}

impl Plan {
    /// Builds the plan of checked subscripts. `bindings` are the fixed-size
    /// bindings: each one's name, a label of the expression, and its size when
    /// written as an integer literal.
    pub fn new(subs: &Subscripts, bindings: &[(&str, Option<usize>)], returns: Returns) -> Plan {
        let terms = Terms::new(subs, bindings);
        let value = match (returns, terms.output_kind()) {
            (Returns::Path, _) => Value::Path,
            (Returns::Into, _) => Value::Into,
            (Returns::Result, Output::Scalar) => Value::Scalar,
            (Returns::Result, Output::Static(n)) => Value::Array(Some(n)),
            (Returns::Result, Output::Dyn) => Value::Array(None),
        };
        let room = if terms.has_ellipsis() {
            Room::MaxAxes
        } else {
            Room::Labels(terms.labels.len())
        };
        // `einsum_path!` runs nothing, so it has nothing to loop over.
        let loops = match value {
            Value::Path => None,
            _ => loops::loops(&terms),
        };
        let Terms {
            labels,
            inputs,
            output,
            fixed,
        } = terms;
        Plan {
            cache: inputs.len() >= CACHE_MIN_OPERANDS,
            labels,
            inputs,
            output,
            fixed,
            value,
            room,
            loops,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::loops::{SMALL_MAX_LABELS, UNROLL_MAX};
    use super::*;
    use crate::parse::parse;

    /// The plan of `text` for a call of the form that `returns`, with these
    /// bindings.
    fn plan_of(text: &str, bindings: &[(&str, Option<usize>)], returns: Returns) -> Plan {
        let (subs, errors) = parse(text);
        assert!(errors.is_empty());
        Plan::new(&subs, bindings, returns)
    }

    fn plan(text: &str) -> Plan {
        plan_of(text, &[], Returns::Result)
    }

    /// The row kernel of `text` with labels bound to these literal sizes.
    fn kernel(text: &str, sizes: &[(&str, usize)]) -> Option<Rows> {
        let bindings: Vec<(&str, Option<usize>)> =
            sizes.iter().map(|&(name, n)| (name, Some(n))).collect();
        plan_of(text, &bindings, Returns::Result).loops?.rows
    }

    #[test]
    fn labels_numbered_by_first_appearance() {
        let p = plan("jk,ij->ik");
        assert_eq!(p.labels, ['j', 'k', 'i']);
        assert_eq!(p.inputs[1].labels, [2, 0]);
        assert_eq!(p.output.labels, [2, 1]);
        assert_eq!(p.value, Value::Array(Some(2)));
    }

    #[test]
    fn implicit_output_is_numpys() {
        assert_eq!(plan("ij,jk").output.text, "ik");
        assert_eq!(plan("ba").output.text, "ab");
        assert_eq!(plan("ii").output.text, "");
        assert_eq!(plan("ii").value, Value::Scalar);
        assert_eq!(plan("bA,aB").output.text, "ABab");
        assert_eq!(plan("i...,j").output.text, "...ij");
        assert_eq!(plan("...ii").value, Value::Array(None));
        assert_eq!(plan("i,i").value, Value::Scalar);
    }

    #[test]
    fn ellipsis_and_ranks() {
        let p = plan("a...b,...->...");
        assert_eq!(p.inputs[0].ellipsis, Some(1));
        assert_eq!(p.output.ellipsis, Some(0));
        assert_eq!(p.value, Value::Array(None));
        assert_eq!(plan("abcdefg->abcdefg").value, Value::Array(None));
        assert_eq!(plan("abcdef->abcdef").value, Value::Array(Some(6)));
    }

    #[test]
    fn fixed_bindings_map_to_ids() {
        let p = plan_of(
            "xyij,ij->xy",
            &[("j", Some(3)), ("i", None)],
            Returns::Result,
        );
        let bound = |label, binding, size| Bound {
            label,
            binding,
            size,
        };
        assert_eq!(p.fixed, [bound(3, 0, Some(3)), bound(2, 1, None)]);
    }

    #[test]
    fn value_follows_the_form_and_the_output() {
        assert_eq!(plan("ij,jk->ik").value, Value::Array(Some(2)));
        assert_eq!(plan("ij,ij").value, Value::Scalar);
        assert_eq!(plan("i...->...").value, Value::Array(None));
        assert_eq!(plan("abcdefg->abcdefg").value, Value::Array(None));
        // An input's `...` leaves the output as written.
        assert_eq!(plan("...->").value, Value::Scalar);
        assert_eq!(plan("i...->i").value, Value::Array(Some(1)));
        let into = plan_of("ij,jk->ik", &[], Returns::Into);
        assert_eq!(into.value, Value::Into);
        let path = plan_of("ij,ij", &[], Returns::Path);
        assert_eq!(path.value, Value::Path);
    }

    #[test]
    fn tables_have_room_for_each_label_unless_there_is_an_ellipsis() {
        assert_eq!(plan("ij,jk->ik").room, Room::Labels(3));
        assert_eq!(plan("ii").room, Room::Labels(1));
        assert_eq!(plan("i...,j").room, Room::MaxAxes);
        assert_eq!(plan("ij->...").room, Room::MaxAxes);
    }

    #[test]
    fn three_operands_keep_their_contraction_order() {
        assert!(!plan("ij,jk->ik").cache);
        assert!(plan("ij,jk,kl->il").cache);
        assert!(plan_of("ij,jk,kl->il", &[], Returns::Path).cache);
    }

    #[test]
    fn a_call_with_an_ellipsis_writes_no_loops() {
        assert!(plan("ij->ji").loops.is_some());
        assert!(plan("...ij->...").loops.is_none());
        assert!(plan("i...,j").loops.is_none());
        assert!(plan("ij->...ij").loops.is_none());
    }

    #[test]
    fn einsum_path_writes_no_loops() {
        assert!(plan_of("ij,jk->ik", &[], Returns::Path).loops.is_none());
        assert!(plan_of("ij,jk->ik", &[], Returns::Into).loops.is_some());
    }

    #[test]
    fn more_than_small_max_labels_writes_no_loops() {
        let labels = |n: usize| ('a'..='z').take(n).collect::<String>();
        assert_eq!(SMALL_MAX_LABELS, 12);
        assert!(plan(&labels(SMALL_MAX_LABELS)).loops.is_some());
        assert!(plan(&labels(SMALL_MAX_LABELS + 1)).loops.is_none());
        let operands = |n: usize| vec!["i"; n].join(",");
        assert!(plan(&operands(SMALL_MAX_LABELS)).loops.is_some());
        assert!(plan(&operands(SMALL_MAX_LABELS + 1)).loops.is_none());
    }

    /// The bound labels' sizes are constants, taken first; the others come
    /// from the first axis each labels.
    #[test]
    fn loops_take_bound_sizes_first() {
        let p = plan_of("xyij,jk->xyk", &[("j", Some(3))], Returns::Result);
        let loops = p.loops.expect("loops");
        assert_eq!(
            loops.sizes,
            [
                (3, Size::Bound(0)),
                (0, Size::Axis(0, 0)),
                (1, Size::Axis(0, 1)),
                (2, Size::Axis(0, 2)),
                (4, Size::Axis(1, 1)),
            ]
        );
        assert_eq!(loops.output, [0, 1, 4]);
        assert_eq!(loops.summed, [2, 3]);
    }

    /// Two-operand expressions that are matrix products get their parts;
    /// any other shape of expression gets none.
    #[test]
    fn matrix_products_get_their_parts() {
        let product = |text: &str| plan(text).loops.expect("loops").product;
        let p = |batch, m, k, n| Some(Product { batch, m, k, n });
        assert_eq!(product("ij,jk->ik"), p(None, Some(0), Some(1), Some(2)));
        assert_eq!(product("ij,jk->ki"), p(None, Some(0), Some(1), Some(2)));
        assert_eq!(product("bi,oi->bo"), p(None, Some(0), Some(1), Some(2)));
        assert_eq!(
            product("bij,bjk->bik"),
            p(Some(0), Some(1), Some(2), Some(3))
        );
        assert_eq!(product("ij,j->i"), p(None, Some(0), Some(1), None));
        assert_eq!(product("j,jk->k"), p(None, None, Some(0), Some(1)));
        assert_eq!(product("i,j->ij"), p(None, Some(0), None, Some(1)));
        assert_eq!(product("bi,bj->bij"), p(Some(0), Some(1), None, Some(2)));
        // Two labels in one part, a diagonal, a sum over one operand, an
        // elementwise product, three operands.
        for other in [
            "abj,jk->abk",
            "ii,ik->ik",
            "ij,k->ik",
            "ij,ij->ij",
            "i,i->i",
            "ij,jk,kl->il",
        ] {
            assert_eq!(product(other), None, "{other}");
        }
    }

    /// With `i = 3, j = 3` the kernel is one loop over output rows, and per
    /// output element nine multiply-adds in a row, with no loop over `i` or
    /// `j`: the nine window rows and nine weights are fetched once per row.
    #[test]
    fn a_fixed_3x3_filter_is_unrolled_with_9_combinations() {
        let rows = kernel("xyij,ij->xy", &[("i", 3), ("j", 3)]).expect("a row kernel");
        let (x, y, i, j) = (0, 1, 2, 3);
        assert_eq!(rows.row, y);
        assert_eq!(rows.outer, [x]);
        assert_eq!(rows.unrolled, [(i, 3), (j, 3)]);
        assert_eq!(rows.sizes, [x, y]);
        assert_eq!(rows.lines, [Some(1), None]);
        assert_eq!(rows.combinations.len(), 9);
        assert_eq!(rows.combinations[1].values, [(i, 0), (j, 1)]);
        assert_eq!(rows.combinations[8].values, [(i, 2), (j, 2)]);
        let reads = |k: usize| rows.reads.iter().filter(|r| r.operand == k).count();
        assert_eq!((reads(0), reads(1)), (9, 9));
        assert_eq!(
            rows.reads[rows.combinations[5].factors[1]].at,
            [(i, 1), (j, 2)]
        );
        // `einsum_into!` gets the same kernel, writing the caller's rows.
        let into = plan_of(
            "xyij,ij->xy",
            &[("i", Some(3)), ("j", Some(3))],
            Returns::Into,
        );
        assert_eq!(into.value, Value::Into);
        assert_eq!(into.loops.and_then(|l| l.rows), Some(rows));
    }

    /// A value shared by several combinations is read once.
    #[test]
    fn each_value_is_read_once() {
        let rows = kernel("xij,j->x", &[("i", 2), ("j", 3)]).expect("a row kernel");
        assert_eq!(rows.combinations.len(), 6);
        assert_eq!(rows.reads.len(), 6 + 3);
        assert_eq!(
            rows.combinations[0].factors[1],
            rows.combinations[3].factors[1]
        );
    }

    /// No row kernel where unrolling is not known or not bounded: a size
    /// that is not a literal, more than `UNROLL_MAX` products, a summed
    /// label left free, no output label.
    #[test]
    fn row_kernels_only_for_bounded_unrolling() {
        assert!(kernel("ij,jk->ik", &[("j", 4)]).is_some());
        assert!(kernel("ij,jk->ik", &[("j", 32)]).is_some());
        assert!(kernel("ij,jk->ik", &[("j", 33)]).is_none());
        assert!(kernel("ij,jk->ik", &[("j", 0)]).is_none());
        let unknown = plan_of("ij,jk->ik", &[("j", None)], Returns::Result);
        assert!(unknown.loops.expect("loops").rows.is_none());
        assert!(kernel("ij,jk->ik", &[("i", 4)]).is_none());
        assert!(kernel("ij,jk->ik", &[]).is_none());
        assert!(kernel("ij,ij->", &[("i", 4), ("j", 4)]).is_none());
        assert!(kernel("ii->i", &[("i", 4)]).is_none());
        assert!(kernel("xyijc,ijc->xy", &[("i", 4), ("j", 4), ("c", 2)]).is_some());
        assert!(kernel("xyijc,ijc->xy", &[("i", 4), ("j", 4), ("c", 3)]).is_none());
    }

    /// The bound written on [`UNROLL_MAX`]: at the largest unrolling allowed,
    /// the row kernel holds `UNROLL_MAX` multiply-adds per output element and
    /// reads at most k·`UNROLL_MAX` values per row for k operands; one step
    /// over it, the same call gets no kernel.
    #[test]
    fn unrolling_is_bounded() {
        let twelve = ["xa"; SMALL_MAX_LABELS].join(",");
        let twelve = format!("{twelve}->x");
        type Sizes = &'static [(&'static str, usize)];
        // (subscripts, the sizes at the bound, the same one step over it)
        let cases: [(&str, Sizes, Sizes); 6] = [
            ("ij,jk->ik", &[("j", 32)], &[("j", 33)]),
            ("xyij,ij->xy", &[("i", 4), ("j", 8)], &[("i", 4), ("j", 9)]),
            (
                "bxyijc,ijcd->bxyd",
                &[("i", 4), ("j", 4), ("c", 2)],
                &[("i", 4), ("j", 4), ("c", 3)],
            ),
            (
                "xabcde,xabcde->x",
                &[("a", 2), ("b", 2), ("c", 2), ("d", 2), ("e", 2)],
                &[("a", 2), ("b", 2), ("c", 2), ("d", 2), ("e", 3)],
            ),
            (
                "abcdefghijkl,abcdefghijkl->abcdefghij",
                &[("k", 4), ("l", 8)],
                &[("k", 4), ("l", 9)],
            ),
            // The most operands that get a kernel, each read for every
            // combination.
            (&twelve, &[("a", 32)], &[("a", 33)]),
        ];
        for (text, at, over) in cases {
            let k = plan(text).inputs.len();
            let rows = kernel(text, at).expect("a row kernel at the bound");
            assert_eq!(rows.combinations.len(), UNROLL_MAX, "{text}");
            assert!(rows.reads.len() <= k * UNROLL_MAX, "{text}");
            assert!(kernel(text, over).is_none(), "{text}");
        }
    }
}
