//! Running an [`Order`]: each step through the kernels of one or two
//! operands, intermediates in one buffer allocated once per call.
//!
//! An intermediate is a row-major array over its axes in id order. Its room
//! in the buffer is reused once the step that reads it is done: each new
//! intermediate takes the lowest offset where it overlaps no intermediate
//! still to be read. The last step writes the caller's output (or the new
//! array, or the scalar) directly.

use super::resolve::Layout;
use crate::axes::Axis;
use crate::desc::Scale;
use crate::element::Kernels;
use crate::kernel;
use crate::limits::MAX_WORK;
use crate::order::{volume, Order, Step, ALONE, MAX_STEPS};
use crate::trace::{mark, KernelPath};

/// Where each intermediate lives in the buffer, and the buffer's length in
/// elements; `None` if the count overflows `usize`. Slots from `count` on
/// are intermediates.
fn place(order: &Order, sizes: &[usize], count: usize) -> Option<([usize; MAX_STEPS], usize)> {
    let steps = order.steps();
    let last = steps.len() - 1;
    let mut offset = [0usize; MAX_STEPS];
    let mut len = [0usize; MAX_STEPS];
    // The step that reads each intermediate.
    let mut read_at = [usize::MAX; MAX_STEPS];
    for (t, s) in steps.iter().enumerate() {
        for slot in [s.a, s.b] {
            if slot != ALONE && usize::from(slot) >= count {
                read_at[usize::from(slot) - count] = t;
            }
        }
    }
    let mut total = 0usize;
    for t in 0..last {
        let n = usize::try_from(volume(sizes, steps[t].keep)).ok()?;
        len[t] = n;
        // Intermediates made before and read at or after this step.
        let mut at = 0usize;
        loop {
            let clash = (0..t).find(|&u| {
                read_at[u] >= t && len[u] > 0 && offset[u] < at + n && at < offset[u] + len[u]
            });
            match clash {
                Some(u) => at = offset[u] + len[u],
                None => break,
            }
        }
        offset[t] = at;
        total = total.max(at.checked_add(n)?);
    }
    Some((offset, total))
}

/// The stride of axis `id` in a row-major intermediate over `keep` (axes in
/// id order), 0 if it does not have the axis.
fn row_major(sizes: &[usize], keep: u64, id: usize) -> isize {
    if keep >> id & 1 == 0 {
        return 0;
    }
    let inner = keep & !((2u64 << id).wrapping_sub(1));
    // Fits: the whole buffer's byte count fits `isize` (`run`).
    volume(sizes, inner) as isize
}

/// Runs `order` over the operands `ops` (as `layout` describes them, one
/// pointer per operand of the call) into
/// `out`, whose strides `layout` has.
///
/// Returns `false`, having written nothing, when the intermediates would not
/// fit in memory, or a step would have more points than
/// [`MAX_WORK`]; the caller then runs the one loop nest, if that is not
/// too much work itself. On `true` every output element has been written,
/// by the last step's [`kernel::contract`], which alone is scaled by
/// `scale`.
///
/// # Safety
/// As for `kernel::contract` over `layout` in `kernels`: the operands'
/// elements, of the type `kernels` was made for, valid for reads at every
/// index within their shapes under the layout's strides, `out` valid for
/// writes at every output index, distinct, not overlapping an operand.
pub(super) unsafe fn contract_in_order<const K: usize, const N: usize>(
    layout: &Layout<K, N>,
    ops: &[*const ()],
    order: &Order,
    out: *mut (),
    kernels: &Kernels,
    scale: Option<Scale>,
) -> bool {
    mark(KernelPath::Pairwise);
    let axes = layout.axes();
    let mut sizes = [0usize; N];
    for (s, a) in sizes.iter_mut().zip(axes) {
        *s = a.size;
    }
    let sizes = &sizes[..axes.len()];
    let count = ops.len();
    let Some((offset, total)) = place(order, sizes, count) else {
        return false;
    };
    let size = kernels.size;
    let Some(bytes) = total
        .checked_mul(size)
        .filter(|&b| b <= isize::MAX as usize)
    else {
        return false;
    };
    let steps = order.steps();
    let last = steps.len() - 1;
    let keep_of = |slot: u8| -> u64 {
        let s = usize::from(slot);
        if s < count {
            layout.present()[s]
        } else {
            steps[s - count].keep
        }
    };
    let union_of =
        |&Step { a, b, keep }: &Step| keep_of(a) | if b == ALONE { 0 } else { keep_of(b) } | keep;
    // Each step is a loop nest of its own, and must be one a kernel can count.
    if steps.iter().any(|s| volume(sizes, union_of(s)) > MAX_WORK) {
        return false;
    }
    // Asked for, not demanded: a refusal leaves the call to the nest. In
    // 16-byte words, aligned for every element type (`Pod`), left
    // uninitialized: each step writes its intermediate before one reads it.
    let mut buffer: Vec<u128> = Vec::new();
    if buffer.try_reserve_exact(bytes.div_ceil(16)).is_err() {
        return false;
    }
    let base = buffer.as_mut_ptr().cast::<u8>();
    // The address of element `at` of the buffer, `size` bytes each.
    let element = |at: usize| base.wrapping_add(at * size).cast::<()>();
    // The first element and the stride along axis `id` of a slot.
    let ptr_of = |slot: u8| -> *const () {
        let s = usize::from(slot);
        if s < count {
            ops[s]
        } else {
            element(offset[s - count]).cast_const()
        }
    };
    let stride_of = |slot: u8, id: usize| -> isize {
        let s = usize::from(slot);
        if s < count {
            axes[id].strides[s]
        } else {
            row_major(sizes, steps[s - count].keep, id)
        }
    };
    for (t, &Step { a, b, keep }) in steps.iter().enumerate() {
        // (Only the last step, into the caller's output, is scaled.)
        let (target, out_stride, scale): (*mut (), &dyn Fn(usize) -> isize, _) = if t == last {
            (out, &|id| axes[id].out, scale)
        } else {
            (
                element(offset[t]),
                &move |id| row_major(sizes, keep, id),
                None,
            )
        };
        let union = union_of(&steps[t]);
        if b == ALONE {
            let mut table = [Axis::<1>::EMPTY; N];
            let mut n = 0;
            for id in (0..axes.len()).filter(|&id| union >> id & 1 == 1) {
                table[n] = Axis {
                    size: sizes[id],
                    strides: [stride_of(a, id)],
                    out: out_stride(id),
                    summed: keep >> id & 1 == 0,
                };
                n += 1;
            }
            // SAFETY: the operand is one of the call's (caller) or an
            // intermediate written by an earlier step, read within its
            // shape at its own strides; the target is the caller's output
            // or this step's room in the buffer, which overlaps no
            // intermediate still to be read (`place`) and no operand.
            unsafe { kernel::contract(kernels, &mut table[..n], [ptr_of(a)], target, scale) };
        } else {
            let mut table = [Axis::<2>::EMPTY; N];
            let mut n = 0;
            for id in (0..axes.len()).filter(|&id| union >> id & 1 == 1) {
                table[n] = Axis {
                    size: sizes[id],
                    strides: [stride_of(a, id), stride_of(b, id)],
                    out: out_stride(id),
                    summed: keep >> id & 1 == 0,
                };
                n += 1;
            }
            // SAFETY: as above, for both operands.
            unsafe {
                kernel::contract(
                    kernels,
                    &mut table[..n],
                    [ptr_of(a), ptr_of(b)],
                    target,
                    scale,
                )
            };
        }
    }
    drop(buffer);
    true
}
