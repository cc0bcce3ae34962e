//! The isolate-memory (L1) cache: bounded in entries and in bytes, least recently used first
//! out. O(log n) per operation.

use std::collections::{BTreeMap, HashMap};

struct Slot<V> {
    value: V,
    size: usize,
    tick: u64,
}

/// A least-recently-used map bounded by entry count and by the sum of entry sizes.
pub(crate) struct Lru<V> {
    slots: HashMap<String, Slot<V>>,
    order: BTreeMap<u64, String>,
    tick: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl<V: Clone> Lru<V> {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Lru {
            slots: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// The value under `key`, now the most recently used.
    pub(crate) fn get(&mut self, key: &str) -> Option<V> {
        let tick = self.next_tick();
        let slot = self.slots.get_mut(key)?;
        self.order.remove(&slot.tick);
        slot.tick = tick;
        self.order.insert(tick, key.to_owned());
        Some(slot.value.clone())
    }

    /// Stores `value` (of about `size` bytes), evicting the least recently used entries until
    /// both bounds hold. A value larger than the byte bound is not stored.
    pub(crate) fn insert(&mut self, key: &str, value: V, size: usize) {
        self.remove(key);
        if size > self.max_bytes || self.max_entries == 0 {
            return;
        }
        while self.slots.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.slots.remove(&oldest) {
                self.bytes -= slot.size;
            }
        }
        let tick = self.next_tick();
        self.order.insert(tick, key.to_owned());
        self.slots.insert(key.to_owned(), Slot { value, size, tick });
        self.bytes += size;
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(slot) = self.slots.remove(key) {
            self.order.remove(&slot.tick);
            self.bytes -= slot.size;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2, 1000);
        lru.insert("a", 1, 10);
        lru.insert("b", 2, 10);
        assert_eq!(lru.get("a"), Some(1));
        lru.insert("c", 3, 10);
        assert_eq!((lru.get("a"), lru.get("b"), lru.get("c")), (Some(1), None, Some(3)));
    }

    #[test]
    fn the_byte_bound_holds_and_oversized_values_are_not_kept() {
        let mut lru = Lru::new(100, 25);
        lru.insert("a", 1, 10);
        lru.insert("b", 2, 10);
        lru.insert("c", 3, 10);
        assert_eq!((lru.len(), lru.bytes()), (2, 20));
        assert_eq!(lru.get("a"), None);
        lru.insert("huge", 4, 26);
        assert_eq!(lru.get("huge"), None);
        lru.insert("b", 5, 5);
        assert_eq!((lru.get("b"), lru.bytes()), (Some(5), 15));
    }
}
