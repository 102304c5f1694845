//! A call site's last contraction order, kept for its next call.

use std::sync::Mutex;

use super::search::{order, Order};

/// A call site's last order, kept for the next call with the same sizes.
///
/// The macro puts one in a `static` beside each call of three or more
/// operands. A call that finds it busy (another thread is reading or
/// filling it) orders without it.
pub struct OrderCache {
    last: Mutex<Option<Cached>>,
}

struct Cached {
    key: Vec<u64>,
    order: Order,
}

impl OrderCache {
    /// An empty cache.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> OrderCache {
        OrderCache {
            last: Mutex::new(None),
        }
    }

    /// The order for these sizes and masks: the cached one when they match
    /// the last call's, else a new one, which is then kept.
    pub(crate) fn order(&self, sizes: &[usize], masks: &[u64], out: u64) -> Order {
        let key = || {
            sizes
                .iter()
                .map(|&s| s as u64)
                .chain(masks.iter().copied())
                .chain([out])
        };
        if let Ok(last) = self.last.try_lock() {
            if let Some(c) = last.as_ref() {
                if c.key.iter().copied().eq(key()) {
                    return c.order;
                }
            }
        }
        let order = order(sizes, masks, out);
        if let Ok(mut last) = self.last.try_lock() {
            *last = Some(Cached {
                key: key().collect(),
                order,
            });
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::super::search::PLANNED;
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_cache_searches_once_per_sizes() {
        let cache = OrderCache::new();
        let masks = [0b011, 0b110, 0b100];
        let planned = || PLANNED.with(Cell::get);
        let before = planned();
        let first = cache.order(&[10, 20, 30], &masks, 0b101);
        for _ in 0..5 {
            assert_eq!(
                cache.order(&[10, 20, 30], &masks, 0b101).steps(),
                first.steps()
            );
        }
        assert_eq!(planned(), before + 1);
        // New sizes: a new search, then kept.
        cache.order(&[10, 2, 30], &masks, 0b101);
        cache.order(&[10, 2, 30], &masks, 0b101);
        assert_eq!(planned(), before + 2);
        // The same sizes with other axes: a new search too.
        cache.order(&[10, 2, 30], &[0b011, 0b110, 0b110], 0b101);
        assert_eq!(planned(), before + 3);
    }
}
