//! Acquisition across isolates, through the platform's [`Coordinator`] (on Workers, the
//! coordinator Durable Object) when the deployment has one and a seal secret.
//!
//! - **One provider call per token, in all isolates.** Before asking the provider, an isolate
//!   takes the token's lease; the holder asks, puts the answer (sealed) in the coordinator under
//!   the token's key, and gives the lease back. An isolate that finds the lease taken waits for
//!   that answer by reading the coordinator on its own timer (never by awaiting another request's
//!   promise, which workerd cancels), and asks the provider itself only if none comes within the
//!   acquisition budget.
//! - **Bounded failure.** Every call to the coordinator gets [`COORDINATOR_TIMEOUT`]; an error or
//!   a hang is logged once and the request goes on as without a coordinator (tokens) or answers
//!   503 (sessions, in `session.rs`: acting on stale session state is worse than retrying).

use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};

use super::*;
use crate::base64url;
use crate::platform::{Coordinator, LocalFuture, SealedEntry, SealedStore, StoreError, Versioned};

/// The longest one call to the coordinator may take before the request goes on without it.
pub const COORDINATOR_TIMEOUT: Duration = Duration::from_secs(1);

/// How often an isolate waiting on another's provider call asks the coordinator again.
const LEASE_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The coordinator and the seal, when both are there.
pub(super) struct Coordination<'a> {
    pub(super) coordinator: &'a dyn Coordinator,
    pub(super) seal: &'a SealedStore,
}

/// How a lease for a token ended.
pub(super) enum Lease {
    /// This request holds it (as `holder`): it asks the provider, then hands the token over.
    Held(String),
    /// Another isolate answered meanwhile: its token.
    Served(Rc<CachedToken>),
    /// No coordination (none, failing, or the wait ran out): ask the provider as if alone.
    Alone,
}

impl TokenAcquirer {
    /// The coordinator and the seal, if the platform has both.
    pub(super) fn coordination(&self) -> Option<Coordination<'_>> {
        let platform = &self.inner.platform;
        Some(Coordination {
            coordinator: platform.coordinator.as_deref()?,
            seal: platform.store.as_deref()?,
        })
    }

    /// `call`, or a [`StoreError`] after [`COORDINATOR_TIMEOUT`]; the first failure of a run of
    /// them is logged, and so is the recovery.
    pub(super) async fn bounded<'a, T>(
        &self,
        call: LocalFuture<'a, Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let clock = &self.inner.platform.clock;
        let outcome = match select(call, clock.sleep(COORDINATOR_TIMEOUT)).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(_) => Err(StoreError("the coordinator did not answer in time".into())),
        };
        let failing = &self.inner.flow.coordinator_failing;
        match &outcome {
            Ok(_) if failing.replace(false) => {
                self.inner.platform.logger.warn("the coordinator answers again; using it");
            }
            Err(e) if !failing.replace(true) => self.inner.platform.logger.warn(&format!(
                "the coordinator failed ({e}); tokens are acquired per isolate and session \
                 operations answer 503 until it recovers"
            )),
            _ => {}
        }
        outcome
    }

    /// The live value under `key` in the coordinator, opened, with its version.
    pub(super) async fn coordinated_get(
        &self,
        c: &Coordination<'_>,
        key: &CacheKey,
    ) -> Result<(Option<Vec<u8>>, u64), StoreError> {
        let Versioned { version, value, .. } =
            self.bounded(c.coordinator.get(key.as_str())).await?;
        let Some(sealed) = value else { return Ok((None, version)) };
        match c.seal.open_sealed(key.as_str(), &sealed).await {
            SealedEntry::Open { value, .. } => Ok((Some(value), version)),
            // Another version's secret during a rotation: not readable here, not absent either.
            SealedEntry::Foreign => Err(StoreError("sealed with another seal secret".into())),
            SealedEntry::Missing => Ok((None, version)),
        }
    }

    /// Writes `value` (sealed) under `key` if its version is still `expect`; whether it did.
    pub(super) async fn coordinated_put(
        &self,
        c: &Coordination<'_>,
        key: &CacheKey,
        expect: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let sealed = c.seal.seal(key.as_str(), value).await?;
        let put = c.coordinator.put(key.as_str(), expect, sealed, ttl);
        Ok(self.bounded(put).await?.written)
    }

    /// A usable token under `key` in the coordinator, if there is one.
    async fn coordinated_token(
        &self,
        c: &Coordination<'_>,
        key: &CacheKey,
    ) -> Result<Option<Rc<CachedToken>>, StoreError> {
        let (value, _) = self.coordinated_get(c, key).await?;
        let now = self.inner.now();
        let horizon = now.saturating_add(millis(crate::cache::MAX_TOKEN_LIFE));
        Ok(value
            .and_then(|bytes| serde_json::from_slice::<CachedToken>(&bytes).ok())
            .filter(|t| t.expires_at_ms <= horizon && self.usable(t, now))
            .map(Rc::new))
    }

    /// Before asking the provider for `key`: the lease, or another isolate's answer.
    pub(super) async fn lease_token(&self, key: &CacheKey) -> Lease {
        let Some(c) = self.coordination() else { return Lease::Alone };
        let mut id = [0u8; 12];
        if self.inner.platform.crypto.random(&mut id).is_err() {
            return Lease::Alone;
        }
        let holder = base64url::encode(&id);
        let budget = self.inner.options.timeout.saturating_mul(2);
        let clock = &self.inner.platform.clock;
        // Each wait costs the coordinator two requests (the lease, the answer): not at the
        // isolate's own poll interval (10 ms on Workers), at most every LEASE_POLL_INTERVAL.
        let interval =
            self.inner.platform.join_poll_interval.unwrap_or_default().max(LEASE_POLL_INTERVAL);
        let started = clock.now_millis();
        loop {
            match self.bounded(c.coordinator.lease(key.as_str(), &holder, budget)).await {
                Err(_) => return Lease::Alone,
                Ok(true) => {
                    // Another isolate may have answered just before the lease came free.
                    return match self.coordinated_token(&c, key).await {
                        Ok(Some(token)) => {
                            let _ =
                                self.bounded(c.coordinator.release(key.as_str(), &holder)).await;
                            Lease::Served(token)
                        }
                        Ok(None) => Lease::Held(holder),
                        Err(_) => Lease::Alone,
                    };
                }
                Ok(false) => match self.coordinated_token(&c, key).await {
                    Ok(Some(token)) => return Lease::Served(token),
                    Ok(None) => {}
                    Err(_) => return Lease::Alone,
                },
            }
            if clock.now_millis().saturating_sub(started) >= millis(budget) {
                return Lease::Alone;
            }
            clock.sleep(interval).await;
        }
    }

    /// After the provider answered (or failed) under the lease `holder`: the token for the
    /// isolates waiting on it, then the lease back.
    pub(super) async fn hand_over(
        &self,
        key: &CacheKey,
        holder: &str,
        token: Option<&Rc<CachedToken>>,
    ) {
        let Some(c) = self.coordination() else { return };
        if let Some(token) = token {
            let now = self.inner.now();
            let ttl = Duration::from_millis(token.expires_at_ms.saturating_sub(now));
            if let (Ok(bytes), Ok((_, version))) =
                (serde_json::to_vec(token.as_ref()), self.coordinated_get(&c, key).await)
            {
                let _ = self.coordinated_put(&c, key, version, &bytes, ttl).await;
            }
        }
        let _ = self.bounded(c.coordinator.release(key.as_str(), holder)).await;
    }
}
