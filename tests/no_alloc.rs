//! `einsum_into!` allocates nothing for one- and two-operand expressions:
//! every table of the shape checks and the loop nest lives on the stack, and
//! operands and the output are borrowed, never re-viewed (a dynamic-rank view
//! of more than 4 axes would allocate its shape).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use einsum::einsum_into;
use einsum::ndarray::{s, Array, Array1, Array2, Array4, ArrayD, IxDyn};
use einsum::windows::windows_nhwc;

struct Counting;

thread_local! {
    // Per thread, so that the test harness's and the thread pool's own
    // threads are not counted; the calls below run on the test's thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; it only
// counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn einsum_into_allocates_nothing() {
    let a = Array::from_shape_fn((30, 40), |(i, j)| (i + j) as f64);
    let b = Array::from_shape_fn((40, 20), |(i, j)| (i * j) as f64);
    let mut c = Array2::<f64>::zeros((30, 20));
    let mut rows = Array1::<f64>::zeros(30);
    let mut t = Array2::<f64>::zeros((40, 30));
    let x = ArrayD::<f64>::ones(IxDyn(&[2, 3, 4, 5, 6]));
    let mut y = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4, 5]));
    // The first call in a process may start rayon's global thread pool.
    einsum_into!(&mut c, "ij,jk->ik", &a, &b);
    let counts = [
        allocations_in(|| einsum_into!(&mut c, "ij,jk->ik", &a, &b)),
        allocations_in(|| {
            einsum_into!(
                &mut c,
                "ij,jk->ik",
                a.slice(s![.., ..;-1]),
                b.slice(s![..;-1, ..])
            );
        }),
        allocations_in(|| einsum_into!(&mut rows, "ij->i", &a)),
        allocations_in(|| einsum_into!(&mut t, "ij->ji", &a)),
        allocations_in(|| einsum_into!(&mut y, "...i->...", &x)),
    ];
    assert_eq!(counts, [0; 5]);
    assert_eq!(c, a.dot(&b));
}

/// A convolution over windows takes the narrow kernel, whose phase buffer
/// is the thread's scratch memory: allocated by the first call, reused by
/// the next.
#[test]
fn windowed_convolution_allocates_nothing_after_the_first_call() {
    let x = Array::from_shape_fn((1, 20, 40, 3), |(_, i, j, c)| (i + 2 * j + c) as f64);
    let f = Array::from_shape_fn((4, 4, 3, 5), |(i, j, c, d)| (i * j + c + d) as f64);
    let w = windows_nhwc(&x, (4, 4), (2, 2)).unwrap();
    let mut y = Array4::<f64>::zeros((1, 9, 19, 5));
    einsum_into!(&mut y, "bxyijc,ijcd->bxyd", &w, &f);
    let first = y.clone();
    y.fill(0.0);
    assert_eq!(
        allocations_in(|| einsum_into!(&mut y, "bxyijc,ijcd->bxyd", &w, &f)),
        0
    );
    assert_eq!(y, first);
    assert_eq!(y[[0, 3, 7, 2]], {
        let mut acc = 0.0;
        for i in 0..4 {
            for j in 0..4 {
                for c in 0..3 {
                    acc += x[[0, 6 + i, 14 + j, c]] * f[[i, j, c, 2]];
                }
            }
        }
        acc
    });
}
