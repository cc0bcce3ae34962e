//! The token cache: isolate memory (L1, bounded, LRU) in front of the platform's key-value store
//! (L2: Workers KV, Spin key-value, [`MemoryStore`](crate::platform::MemoryStore)).
//!
//! - A read checks L1, then L2 (and fills L1); a write goes to both. Token acquisition reads L2
//!   inside its single flight, so a burst of first requests for one token costs one store read.
//! - L2 values are JSON records, sealed by the platform's
//!   [`SealedStore`] with the cache key as associated data: a
//!   value that does not authenticate never reaches the cache. A record that does not parse, has
//!   expired, or claims a life beyond what any token or session has (a bound on times read from
//!   the store) is a miss, and is overwritten by the next write. Without a seal secret there is
//!   no L2 at all.
//! - The cache is best-effort: an L2 failure is logged once (when the store starts failing, and
//!   again when it recovers) and the caller proceeds as on a miss. No cache failure fails a
//!   request.
//!
//! Keys are computed in [`key`]; the records are [`CachedToken`] and [`SessionRecord`].

pub mod key;
pub(crate) mod lru;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::event::{Event, Level};
use crate::platform::{
    millis, KeyValueStore, Logger, Observer, SealedEntry, SealedStore, StoreError,
};
use crate::secret::{AccessToken, RefreshToken};
pub use key::CacheKey;
use lru::Lru;

/// The longest an access token read back from the store may claim to live: Entra's longest
/// configurable access-token lifetime is a day; nothing legitimate is written for longer.
pub(crate) const MAX_TOKEN_LIFE: Duration = Duration::from_secs(48 * 3600);

/// A value the cache keeps.
pub(crate) trait Record: Serialize + DeserializeOwned + 'static {
    /// When the record stops being usable, in Unix milliseconds.
    fn expires_at_ms(&self) -> u64;
    /// About how many bytes it takes in memory.
    fn size(&self) -> usize;
    /// The longest life a record of this kind can have when it is written.
    fn max_life(options: &CacheOptions) -> Duration;
}

/// A cached access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    /// The access token.
    #[serde(rename = "at")]
    pub access_token: AccessToken,
    /// When it expires, in Unix milliseconds.
    #[serde(rename = "exp")]
    pub expires_at_ms: u64,
    /// From when it should be refreshed in the background, in Unix milliseconds.
    #[serde(rename = "ref")]
    pub refresh_at_ms: u64,
    /// When it was received, in Unix milliseconds (0 when unknown): with `expires_at_ms`, its
    /// lifetime, which bounds the expiry margin for short-lived tokens.
    #[serde(rename = "iat", default)]
    pub issued_at_ms: u64,
}

impl CachedToken {
    /// The margin this token is served with: the configured one, or a quarter of its lifetime
    /// when that is shorter (a token living 300 s, Keycloak's default, would otherwise never be
    /// served from the cache under a 300 s margin).
    pub fn margin_ms(&self, configured_ms: u64) -> u64 {
        match self.expires_at_ms.checked_sub(self.issued_at_ms) {
            Some(lifetime) if self.issued_at_ms > 0 => configured_ms.min(lifetime / 4),
            _ => configured_ms,
        }
    }
}

impl Record for CachedToken {
    fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }
    fn size(&self) -> usize {
        self.access_token.expose().len() + 64
    }
    fn max_life(_: &CacheOptions) -> Duration {
        MAX_TOKEN_LIFE
    }
}

/// A long-running session: the refresh token it continues with, and what it has asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The refresh token.
    #[serde(rename = "rt")]
    pub refresh_token: RefreshToken,
    /// The tenant the session's tokens come from (Entra), if known.
    #[serde(rename = "tid", default)]
    pub tenant: Option<String>,
    /// The cache keys of the session's tokens, so ending the session can delete them.
    #[serde(rename = "keys", default)]
    pub token_keys: Vec<String>,
    /// Who started it: `{tid}/{oid}` (or `{iss}/{sub}` without them). Only they, and the apps
    /// in `apps`, may continue it.
    #[serde(rename = "own", default)]
    pub owner: String,
    /// The client ids of the apps (app-only tokens, by `azp`/`appid`) allowed to continue it.
    #[serde(rename = "apps", default)]
    pub apps: Vec<String>,
    /// A tombstone: the session was ended, and no isolate may continue or rewrite it.
    #[serde(rename = "end", default)]
    pub ended: bool,
    /// When the record lapses unless used, in Unix milliseconds.
    #[serde(rename = "exp")]
    pub expires_at_ms: u64,
}

impl Record for SessionRecord {
    fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }
    fn size(&self) -> usize {
        self.refresh_token.expose().len()
            + self.token_keys.iter().map(String::len).sum::<usize>()
            + 96
    }
    fn max_life(options: &CacheOptions) -> Duration {
        options.session_max_idle
    }
}

/// Counters for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from isolate memory.
    pub l1_hits: u64,
    /// Reads answered from the key-value store.
    pub l2_hits: u64,
    /// Reads answered by neither.
    pub misses: u64,
    /// Key-value store reads attempted.
    pub l2_reads: u64,
    /// Key-value store writes attempted.
    pub l2_writes: u64,
    /// Key-value store operations that failed.
    pub l2_errors: u64,
    /// Store values that were refused: sealed values that did not authenticate (planted,
    /// tampered, swapped, another secret's, an old format), records that did not parse, and
    /// records claiming a longer life than any is written with.
    pub l2_rejected: u64,
    /// Entries in isolate memory now.
    pub l1_entries: u64,
    /// Bytes in isolate memory now.
    pub l1_bytes: u64,
}

/// Bounds of the cache.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// Most entries in isolate memory.
    pub max_entries: usize,
    /// Most bytes in isolate memory.
    pub max_bytes: usize,
    /// A token is served only while more than this is left of its life.
    pub expiry_margin: Duration,
    /// How long a long-running session is kept after its last refresh.
    pub session_max_idle: Duration,
}

impl std::fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheOptions")
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .field("expiry_margin", &self.expiry_margin)
            .field("session_max_idle", &self.session_max_idle)
            .finish()
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_entries: 1000,
            max_bytes: 4 * 1024 * 1024,
            expiry_margin: Duration::from_secs(300),
            session_max_idle: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// L1 + L2, best-effort.
pub(crate) struct TokenCache {
    l1: RefCell<Lru<Rc<dyn Any>>>,
    store: Option<Rc<SealedStore>>,
    options: CacheOptions,
    logger: Rc<dyn Logger>,
    /// Where requests are observed: `store.failed` / `store.recovered`.
    events: Option<Observer>,
    store_failing: Cell<bool>,
    stats: Cell<CacheStats>,
}

impl TokenCache {
    pub(crate) fn new(
        options: &CacheOptions,
        store: Option<Rc<SealedStore>>,
        logger: Rc<dyn Logger>,
        events: Option<Observer>,
    ) -> TokenCache {
        TokenCache {
            l1: RefCell::new(Lru::new(options.max_entries, options.max_bytes)),
            store,
            options: options.clone(),
            logger,
            events,
            store_failing: Cell::new(false),
            stats: Cell::new(CacheStats::default()),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let l1 = self.l1.borrow();
        let mut stats = self.stats.get();
        stats.l2_rejected += self.store.as_ref().map_or(0, |s| s.rejected());
        CacheStats { l1_entries: l1.len() as u64, l1_bytes: l1.bytes() as u64, ..stats }
    }

    fn count(&self, update: impl FnOnce(&mut CacheStats)) {
        let mut stats = self.stats.get();
        update(&mut stats);
        self.stats.set(stats);
    }

    /// Writes the event `name` where events are on and keep it (no request: no correlation id).
    fn emit(&self, name: &'static str, level: Level, fill: impl FnOnce(Event) -> Event) {
        if let Some(observer) = &self.events {
            observer.emit(name, level, fill);
        }
    }

    /// Logs the first failure of an outage and the recovery, not every failed operation.
    fn store_outcome<T>(&self, result: Result<T, StoreError>, operation: &str) -> Option<T> {
        match result {
            Ok(value) => {
                if self.store_failing.replace(false) {
                    self.logger.warn("token cache store recovered; using it again");
                    self.emit("store.recovered", Level::Info, |e| e);
                }
                Some(value)
            }
            Err(e) => {
                self.count(|s| s.l2_errors += 1);
                if !self.store_failing.replace(true) {
                    self.logger.warn(&format!(
                        "token cache store failed on {operation} ({e}); serving from memory and the identity provider until it recovers"
                    ));
                    self.emit("store.failed", Level::Warn, |event| {
                        event.with("operation", operation.to_owned()).with("reason", e.to_string())
                    });
                }
                None
            }
        }
    }

    /// The record under `key` in isolate memory, if usable at `now_ms`.
    pub(crate) fn get_memory<T: Record>(&self, key: &CacheKey, now_ms: u64) -> Option<Rc<T>> {
        let value = self.l1.borrow_mut().get(key.as_str())?;
        match value.downcast::<T>() {
            Ok(record) if record.expires_at_ms() > now_ms => {
                self.count(|s| s.l1_hits += 1);
                Some(record)
            }
            _ => {
                self.l1.borrow_mut().remove(key.as_str());
                None
            }
        }
    }

    /// The record under `key` in the store (filling memory), if usable at `now_ms`; a store
    /// that fails is a miss (it is logged once per outage).
    pub(crate) async fn get_store<T: Record>(&self, key: &CacheKey, now_ms: u64) -> Option<Rc<T>> {
        self.read_store(key, now_ms).await.unwrap_or(None)
    }

    /// Like [`get_store`](Self::get_store), but a store that fails is an error, not a miss: for
    /// state whose absence means something (a session that was never started or was ended).
    pub(crate) async fn read_store<T: Record>(
        &self,
        key: &CacheKey,
        now_ms: u64,
    ) -> Result<Option<Rc<T>>, StoreError> {
        let Some(store) = &self.store else {
            self.count(|s| s.misses += 1);
            return Ok(None);
        };
        self.count(|s| s.l2_reads += 1);
        let read = store.entry(key.as_str()).await;
        let failure = read.as_ref().err().cloned();
        let entry = self.store_outcome(read, "get");
        if let Some(failure) = failure {
            self.count(|s| s.misses += 1);
            return Err(failure);
        }
        let (bytes, stale) = match entry {
            Some(SealedEntry::Open { value, stale }) => (value, stale),
            Some(SealedEntry::Foreign) => {
                // Another version's secret (a rotation under way): not believed, not deleted,
                // and not "absent" either for callers that must know.
                self.count(|s| s.misses += 1);
                return Err(StoreError(
                    "sealed with a seal secret this version does not have".into(),
                ));
            }
            Some(SealedEntry::Missing) | None => {
                self.count(|s| s.misses += 1);
                return Ok(None);
            }
        };
        let horizon = now_ms.saturating_add(millis(T::max_life(&self.options)));
        match serde_json::from_slice::<T>(&bytes).ok().filter(|r| r.expires_at_ms() <= horizon) {
            Some(record) if record.expires_at_ms() > now_ms => {
                self.count(|s| s.l2_hits += 1);
                if stale {
                    // Opened with the previous seal secret: sealed again under the current one,
                    // for the rest of its life, so the rotation loses nothing.
                    let ttl = Duration::from_millis(record.expires_at_ms().saturating_sub(now_ms));
                    self.count(|s| s.l2_writes += 1);
                    let _ = self.store_outcome(store.put(key.as_str(), bytes, ttl).await, "put");
                }
                let record = Rc::new(record);
                let size = record.size();
                self.l1.borrow_mut().insert(key.as_str(), record.clone(), size);
                Ok(Some(record))
            }
            Some(_) => {
                // Expired: stores without expiry (Spin) keep it; remove it.
                self.count(|s| s.misses += 1);
                let _ = self.store_outcome(store.delete(key.as_str()).await, "delete");
                Ok(None)
            }
            None => {
                self.count(|s| {
                    s.l2_rejected += 1;
                    s.misses += 1
                });
                Ok(None)
            }
        }
    }

    /// Keeps `record` in isolate memory only (it is in the store already, or somewhere else).
    pub(crate) fn put_memory<T: Record>(&self, key: &CacheKey, record: Rc<T>) {
        let size = record.size();
        self.l1.borrow_mut().insert(key.as_str(), record, size);
    }

    /// Stores `record` in memory and, for `store_ttl`, in the store.
    pub(crate) async fn put<T: Record>(&self, key: &CacheKey, record: Rc<T>, store_ttl: Duration) {
        self.put_memory(key, record.clone());
        let Some(store) = &self.store else { return };
        let Ok(bytes) = serde_json::to_vec(record.as_ref()) else {
            return;
        };
        self.count(|s| s.l2_writes += 1);
        let _ = self.store_outcome(store.put(key.as_str(), bytes, store_ttl).await, "put");
    }

    /// Removes `key` from memory and from the store.
    pub(crate) async fn remove(&self, key: &CacheKey) {
        self.l1.borrow_mut().remove(key.as_str());
        if let Some(store) = &self.store {
            let _ = self.store_outcome(store.delete(key.as_str()).await, "delete");
        }
    }
}
