//! Expiry for key-value stores that have none (Spin's): each value is stored behind an 8-byte
//! big-endian expiry time (Unix milliseconds); a read past it is a miss, and the entry is
//! deleted. Wrapped around any [`KeyValueStore`], so it is tested natively.

use std::rc::Rc;
use std::time::Duration;

use super::{millis, Clock, KeyValueStore, LocalFuture, StoreError};

const HEADER: usize = 8;

/// A [`KeyValueStore`] that honours `ttl` on top of a store that ignores it.
pub struct TtlEnvelope<S> {
    inner: S,
    clock: Rc<dyn Clock>,
}

impl<S> std::fmt::Debug for TtlEnvelope<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TtlEnvelope(..)")
    }
}

impl<S: KeyValueStore> TtlEnvelope<S> {
    /// Wraps `inner`, reading the time from `clock`.
    pub fn new(inner: S, clock: Rc<dyn Clock>) -> Self {
        TtlEnvelope { inner, clock }
    }
}

impl<S: KeyValueStore> KeyValueStore for TtlEnvelope<S> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let Some(mut stored) = self.inner.get(key).await? else { return Ok(None) };
            let expiry = stored
                .get(..HEADER)
                .and_then(|h| <[u8; HEADER]>::try_from(h).ok())
                .map(u64::from_be_bytes);
            match expiry {
                Some(expires_at) if expires_at > self.clock.now_millis() => {
                    Ok(Some(stored.split_off(HEADER)))
                }
                // Expired, or not written by this envelope: a miss, and gone.
                _ => {
                    self.inner.delete(key).await?;
                    Ok(None)
                }
            }
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let ttl_ms = millis(ttl);
            let expires_at = self.clock.now_millis().saturating_add(ttl_ms);
            let mut stored = Vec::with_capacity(HEADER + value.len());
            stored.extend_from_slice(&expires_at.to_be_bytes());
            stored.extend_from_slice(&value);
            self.inner.put(key, stored, ttl).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}
