//! An in-process [`KeyValueStore`], for tests and for hosts without a shared store.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use super::{KeyValueStore, LocalFuture, StoreError};

/// A [`KeyValueStore`] kept in memory. Entries are not expired by time; `ttl` is recorded so
/// tests can check what a real store would have been asked to do.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RefCell<HashMap<String, (Vec<u8>, Duration)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys currently stored, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.entries.borrow().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The value and time-to-live stored under `key`.
    pub fn entry(&self, key: &str) -> Option<(Vec<u8>, Duration)> {
        self.entries.borrow().get(key).cloned()
    }

    /// Replaces the value under `key` without going through the trait (to simulate corruption).
    pub fn overwrite(&self, key: &str, value: Vec<u8>) {
        self.entries.borrow_mut().insert(key.to_owned(), (value, Duration::ZERO));
    }
}

impl KeyValueStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move { Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone())) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.entries.borrow_mut().insert(key.to_owned(), (value, ttl));
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.entries.borrow_mut().remove(key);
            Ok(())
        })
    }
}
