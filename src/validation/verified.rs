//! The isolate's verified tokens: a token seen and verified before is accepted again without
//! parsing it or checking its signature.
//!
//! The rules, each with a test in `tests/verified_token_cache.rs`:
//! - **Exact match.** An entry is found by a short hash (the token's last characters, which are
//!   signature bytes), but a hit needs the whole token to be equal, compared in constant time:
//!   no other token can ever hit, and a near miss is a miss that leaves the entry in place.
//! - **Lifetime.** An entry is dropped at the token's `exp`; until then the lifetime rules run
//!   again at every use (clock skew included), so a token is good until `exp` exactly as without
//!   the cache.
//! - **Keys.** An entry holds the key set that verified it. When the issuer's key set is replaced
//!   (rotation, a refresh for an unknown `kid`, max age), every entry made under the old set is
//!   dropped and its token is verified again against the new one: a key that disappeared
//!   verifies nothing more.
//! - **Bounds.** At most `AzureAd.VerifiedTokenCacheMaxEntries` entries and
//!   `AzureAd.VerifiedTokenCacheMaxBytes` bytes (token plus claims, estimated), least recently
//!   used out first; `0` entries turns the cache off.
//!
//! Only tokens that passed every check (signature, lifetime, issuer, audience, tenant, the
//! scope-or-role rule) are kept; the requirement of each route is still checked per request.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use super::authorize::ValidatedToken;
use super::keys::KeySnapshot;
use crate::cache::lru::Lru;

/// How many of the token's last characters find its entry.
const LOOKUP_SUFFIX: usize = 32;

#[derive(Clone)]
struct Entry {
    token: ValidatedToken,
    /// The key set that verified it; the entry is void once that set is replaced.
    keys: Weak<KeySnapshot>,
    /// The token's `exp`, in Unix milliseconds.
    expires_at_ms: u64,
}

/// The verified tokens of one isolate.
pub(crate) struct VerifiedTokens {
    entries: RefCell<Lru<Entry>>,
    enabled: bool,
}

impl VerifiedTokens {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        VerifiedTokens {
            entries: RefCell::new(Lru::new(max_entries, max_bytes)),
            enabled: max_entries > 0 && max_bytes > 0,
        }
    }

    /// The validated token for exactly `token`, if it was verified under `keys` (the set in
    /// force now) and its `exp` has not passed. The caller still checks its lifetime.
    pub(crate) fn get(
        &self,
        token: &str,
        keys: &Rc<KeySnapshot>,
        now_ms: u64,
    ) -> Option<ValidatedToken> {
        if !self.enabled {
            return None;
        }
        let lookup = lookup_key(token);
        let mut entries = self.entries.borrow_mut();
        let entry = entries.get(lookup)?;
        if !constant_time_eq(entry.token.token().expose().as_bytes(), token.as_bytes()) {
            // Another token with the same last characters: a miss; the entry stays.
            return None;
        }
        if !std::ptr::eq(entry.keys.as_ptr(), Rc::as_ptr(keys)) || now_ms >= entry.expires_at_ms {
            entries.remove(lookup);
            return None;
        }
        Some(entry.token)
    }

    /// Keeps `token`, verified under `keys`, until `expires_at_ms` (its `exp`).
    pub(crate) fn insert(
        &self,
        token: &ValidatedToken,
        keys: &Rc<KeySnapshot>,
        expires_at_ms: u64,
    ) {
        if !self.enabled {
            return;
        }
        let text = token.token().expose();
        // The token, its claims decoded (about the payload's size again), and bookkeeping.
        let size = text.len().saturating_mul(2).saturating_add(256);
        let entry =
            Entry { token: token.clone().remembered(), keys: Rc::downgrade(keys), expires_at_ms };
        self.entries.borrow_mut().insert(lookup_key(text), entry, size);
    }

    /// Forgets `token` (its lifetime check failed at use).
    pub(crate) fn remove(&self, token: &str) {
        self.entries.borrow_mut().remove(lookup_key(token));
    }

    /// How many tokens are kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len()
    }
}

/// The token's last characters: signature bytes, different for every token an issuer signs.
fn lookup_key(token: &str) -> &str {
    let start = token.len().saturating_sub(LOOKUP_SUFFIX);
    // Tokens that reach the cache are ASCII; `get` keeps this total for any input.
    token.get(start..).unwrap_or(token)
}

/// Equality whose time depends on the lengths only, not on where the first difference is.
/// The differences are gathered eight bytes at a time with no branch, and the verdict is
/// `subtle`'s `ct_eq` (whose optimisation barrier keeps the compiler from turning the gathering
/// into an early exit). `subtle`'s own slice comparison puts that barrier on every byte: on a
/// repeat token (~1,500 bytes, compared whole on every request) that made the repeat-token
/// validation 0.54 → 0.81 µs in workerd (`bash bench/ab-validation.sh`).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    if a.len() != b.len() {
        return false;
    }
    let word = |chunk: &[u8]| match *chunk {
        [b0, b1, b2, b3, b4, b5, b6, b7] => u64::from_ne_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        _ => 0,
    };
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = words_a
        .remainder()
        .iter()
        .zip(words_b.remainder())
        .fold(0u64, |acc, (x, y)| acc | u64::from(x ^ y));
    let differences = words_a.zip(words_b).fold(tail, |acc, (x, y)| acc | (word(x) ^ word(y)));
    differences.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
        // Every position of a longer input counts, in the eight-byte words and in the tail.
        let long: Vec<u8> = (0..37u8).collect();
        for at in 0..long.len() {
            let mut other = long.clone();
            other[at] ^= 0x40;
            assert!(!constant_time_eq(&long, &other), "a difference at {at}");
        }
        assert!(constant_time_eq(&long, &long.clone()));
    }

    #[test]
    fn lookup_key_is_total_on_any_text() {
        assert_eq!(lookup_key("short"), "short");
        let long = "x".repeat(40) + &"y".repeat(32);
        assert_eq!(lookup_key(&long), "y".repeat(32));
        // A multi-byte character across the boundary does not panic.
        let odd = "é".repeat(40);
        let _ = lookup_key(&odd);
    }
}
