//! Transparent huge pages for large new results.
//!
//! A new result is written for the first time by the kernel, and with 4 KiB
//! pages every 4 KiB of it costs a page fault: a 4000² f64 result (128 MB) is
//! 32 768 faults, about 30 ms, as long as the transposition that fills it.
//! Like numpy (which has done so since 1.16 for arrays of 4 MiB or more),
//! a result that large is marked `MADV_HUGEPAGE` before it is touched, so a
//! Linux kernel whose transparent huge pages are in `madvise` mode backs it
//! with 2 MiB pages: 64 faults, and far fewer TLB misses while it is written.
//! Elsewhere, and where the kernel declines, nothing changes.

/// The size from which a new result is marked, numpy's threshold.
#[cfg_attr(not(all(target_os = "linux", not(miri))), allow(dead_code))]
pub(crate) const MIN_BYTES: usize = 4 << 20;

/// Asks the kernel to back the 2 MiB-aligned part of `len` bytes at `ptr`
/// with huge pages. Only a hint: the memory's contents and validity do not
/// change, and an error is ignored.
#[cfg(all(target_os = "linux", not(miri)))]
pub(crate) fn advise(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < MIN_BYTES {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(len) / HUGE * HUGE;
    if end > start {
        // SAFETY: `[start, end)` lies within the caller's allocation, and
        // MADV_HUGEPAGE only changes how the kernel backs those pages, never
        // what they hold, so no Rust reference or value is affected.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// Elsewhere (and under Miri), nothing to do.
#[cfg(not(all(target_os = "linux", not(miri))))]
pub(crate) fn advise(_ptr: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Under Miri `advise` does nothing (no system calls), and 4 MiB of
    // elements take minutes there.
    #[cfg_attr(miri, ignore)]
    fn advice_keeps_the_contents() {
        // Unaligned, written before and after the advice, and too small.
        let mut v: Vec<u64> = (0..(MIN_BYTES / 8 + 12_345) as u64).collect();
        advise(v.as_mut_ptr().wrapping_add(1).cast(), (v.len() - 1) * 8);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
        for x in v.iter_mut() {
            *x = x.wrapping_mul(3);
        }
        assert!(v.iter().enumerate().all(|(i, &x)| x == 3 * i as u64));
        let mut w = [7u8; 64];
        advise(w.as_mut_ptr(), w.len());
        assert_eq!(w, [7; 64]);
    }
}
