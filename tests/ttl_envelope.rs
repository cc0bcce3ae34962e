//! The expiry envelope the Spin adapter puts around Spin's key-value store (which has no TTL),
//! run natively over a `MemoryStore` that keeps everything forever, as Spin's does.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::{KeyValueStore, MemoryStore, TtlEnvelope};
use futures::executor::block_on;
use support::*;

fn envelope() -> (Rc<ManualClock>, Rc<MemoryStore>, TtlEnvelope<Rc<MemoryStore>>) {
    let clock = rc(ManualClock::at_secs(T0));
    let raw = rc(MemoryStore::new());
    (clock.clone(), raw.clone(), TtlEnvelope::new(raw, clock))
}

#[test]
fn a_value_is_served_until_its_ttl_and_then_is_a_miss_and_deleted() {
    let (clock, raw, store) = envelope();
    block_on(store.put("k", b"value".to_vec(), Duration::from_secs(60))).unwrap();
    clock.advance(Duration::from_secs(59));
    assert_eq!(block_on(store.get("k")).unwrap().as_deref(), Some(&b"value"[..]));
    clock.advance(Duration::from_secs(2));
    assert_eq!(block_on(store.get("k")).unwrap(), None);
    assert!(raw.keys().is_empty(), "the expired entry was deleted");
}

#[test]
fn the_expiry_is_stored_in_the_value_and_foreign_values_are_misses() {
    let (_, raw, store) = envelope();
    block_on(store.put("k", b"v".to_vec(), Duration::from_secs(10))).unwrap();
    let (stored, _) = raw.entry("k").unwrap();
    assert_eq!(stored.len(), 8 + 1);
    assert_eq!(u64::from_be_bytes(stored[..8].try_into().unwrap()), T0 * 1000 + 10_000);
    raw.overwrite("short", b"abc".to_vec());
    assert_eq!(block_on(store.get("short")).unwrap(), None, "no 8-byte header: a miss");
    assert_eq!(block_on(store.get("absent")).unwrap(), None);
    block_on(store.delete("k")).unwrap();
    assert!(raw.entry("k").is_none());
}
