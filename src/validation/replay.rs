//! A DPoP proof is good once (RFC 9449 §11.1): its `jti` (with its key) is remembered for the
//! proof window, in the isolate and, where there is one, in the sealed shared store, so another
//! isolate refuses it too.
//!
//! What it promises: within one isolate, exactly once. Across isolates, through the store: a
//! replay is refused once the first use's write is visible to the isolate it reaches (at once
//! on Spin's store; within KV's propagation, up to 60 s, across Workers locations). A store that
//! can't be read does not fail the request: the isolate's own memory still decides, and the
//! failure is logged.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::cache::key::dpop_proof_key;
use crate::platform::{KeyValueStore, Platform, SealedEntry};

/// Most proofs an isolate remembers. Past it, the ones whose window ends first are forgotten
/// (the store, where there is one, still remembers them).
pub(crate) const MAX_REMEMBERED_PROOFS: usize = 10_000;

/// Workers KV keeps nothing for less than 60 s.
const MIN_STORE_TTL: Duration = Duration::from_secs(60);

/// The proofs this isolate has seen, until each one's window ends.
#[derive(Debug, Default)]
pub(crate) struct SeenProofs {
    until_ms: RefCell<HashMap<[u8; 32], u64>>,
}

impl SeenProofs {
    /// Records `id` until `until_ms`; `false` if it was already recorded and not yet past.
    pub(crate) fn first_use(&self, id: [u8; 32], until_ms: u64, now_ms: u64) -> bool {
        let mut seen = self.until_ms.borrow_mut();
        if seen.get(&id).is_some_and(|until| *until > now_ms) {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED_PROOFS {
            seen.retain(|_, until| *until > now_ms);
        }
        if seen.len() >= MAX_REMEMBERED_PROOFS {
            let mut by_end: Vec<u64> = seen.values().copied().collect();
            by_end.sort_unstable();
            let cut = by_end.get(MAX_REMEMBERED_PROOFS / 10).copied().unwrap_or(u64::MAX);
            seen.retain(|_, until| *until > cut);
        }
        seen.insert(id, until_ms);
        true
    }

    /// How many proofs are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.until_ms.borrow().len()
    }
}

/// Whether the proof `id` is used for the first time: in this isolate (`seen`), then, with
/// `across_isolates`, in the shared store, where it is recorded until `until_ms`.
pub(crate) async fn first_use(
    platform: &Platform,
    seen: &SeenProofs,
    id: [u8; 32],
    until_ms: u64,
    across_isolates: bool,
) -> bool {
    let now = platform.clock.now_millis();
    if !seen.first_use(id, until_ms, now) {
        return false;
    }
    let Some(store) = platform.store.as_ref().filter(|_| across_isolates) else { return true };
    let key = dpop_proof_key(&id);
    match store.entry(key.as_str()).await {
        Ok(SealedEntry::Open { .. }) => return false,
        // A value sealed with another secret, or none: no use this deployment recorded.
        Ok(SealedEntry::Missing | SealedEntry::Foreign) => {}
        Err(e) => {
            platform.logger.warn(&format!("DPoP replay check: the store can't be read ({e})"));
            return true;
        }
    }
    let ttl = Duration::from_millis(until_ms.saturating_sub(now)).max(MIN_STORE_TTL);
    if let Err(e) = store.put(key.as_str(), b"1".to_vec(), ttl).await {
        platform.logger.warn(&format!("DPoP replay check: the store can't be written ({e})"));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_refused_until_its_window_ends() {
        let seen = SeenProofs::default();
        assert!(seen.first_use([1; 32], 2_000, 1_000));
        assert!(!seen.first_use([1; 32], 2_000, 1_500));
        assert!(seen.first_use([2; 32], 2_000, 1_500));
        assert!(seen.first_use([1; 32], 3_000, 2_000), "its window is over");
    }

    #[test]
    fn memory_is_bounded_and_forgets_the_soonest_ending_first() {
        let seen = SeenProofs::default();
        for i in 0..MAX_REMEMBERED_PROOFS + 50 {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            assert!(seen.first_use(id, 10_000 + i as u64, 0));
        }
        assert!(seen.len() <= MAX_REMEMBERED_PROOFS);
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&((MAX_REMEMBERED_PROOFS + 49) as u64).to_be_bytes());
        assert!(!seen.first_use(last, 20_000, 1), "the latest proofs are still remembered");
    }
}
