//! One acquisition, top-down: isolate memory, then one flight per token, then the shared store,
//! then the provider (unless it asked us to wait), then the store write. Background refreshes
//! and the back-off of a throttled or unavailable provider live here too.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use super::*;

/// A provider's refusal to be asked again yet, for one token.
struct Backoff {
    until_ms: u64,
    failures: u32,
    error: AcquisitionError,
}

/// A back-off as shared through the store on hosts whose memory lasts one request
/// ([`Platform::memory_per_request`]): until when, after how many failures, and what the
/// provider answered. Sealed and authenticated like every stored value; a record claiming to
/// last longer than [`MAX_RETRY_AFTER`](super::response::MAX_RETRY_AFTER) is refused.
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedBackoff {
    #[serde(rename = "until")]
    until_ms: u64,
    #[serde(rename = "n")]
    failures: u32,
    /// The token endpoint's status: 429 (throttled), another status (unavailable), or 0 for a
    /// timeout or a failed connection.
    #[serde(rename = "st")]
    status: u16,
    /// The provider's OAuth `error` code, for logs.
    #[serde(rename = "err", default)]
    error: String,
}

impl crate::cache::Record for SharedBackoff {
    fn expires_at_ms(&self) -> u64 {
        self.until_ms
    }
    fn size(&self) -> usize {
        64 + self.error.len()
    }
    fn max_life(_: &crate::cache::CacheOptions) -> Duration {
        super::response::MAX_RETRY_AFTER.max(MAX_BACKOFF)
    }
}

impl SharedBackoff {
    /// The record of `backoff`, if it is a provider's refusal (throttled or unavailable).
    fn of(backoff: &Backoff) -> Option<SharedBackoff> {
        let (status, error) = match &backoff.error {
            AcquisitionError::Throttled { details, .. } => (429, details.error.clone()),
            AcquisitionError::ProviderUnavailable(ProviderFailure::Status(status)) => {
                (*status, String::new())
            }
            AcquisitionError::ProviderUnavailable(_) => (0, String::new()),
            _ => return None,
        };
        let error = error.chars().take(64).collect();
        Some(SharedBackoff {
            until_ms: backoff.until_ms,
            failures: backoff.failures,
            status,
            error,
        })
    }

    /// The back-off it records, answering what the provider answered.
    fn backoff(&self) -> Backoff {
        let error = match self.status {
            429 => AcquisitionError::Throttled {
                retry_after: None,
                details: Box::new(IdentityError {
                    status: 429,
                    error: self.error.clone(),
                    ..IdentityError::default()
                }),
            },
            0 => AcquisitionError::ProviderUnavailable(ProviderFailure::Transport),
            status => AcquisitionError::ProviderUnavailable(ProviderFailure::Status(status)),
        };
        Backoff { until_ms: self.until_ms, failures: self.failures, error }
    }
}

/// What the flow keeps for the isolate, per flight key (one token): the acquisition in flight,
/// the refresh scheduled after a response, and the provider's back-off.
#[derive(Default)]
pub(super) struct FlowState {
    flights: SingleFlight<Result<(Rc<CachedToken>, bool), AcquisitionError>>,
    scheduled: RefCell<HashSet<String>>,
    backoff: RefCell<HashMap<String, Backoff>>,
    background_refreshes: Cell<u64>,
    /// Whether the coordinator's last call failed (its failures are logged once per run).
    pub(super) coordinator_failing: Cell<bool>,
}

impl FlowState {
    /// Background refreshes started.
    pub(super) fn background_refreshes(&self) -> u64 {
        self.background_refreshes.get()
    }
}

/// The longest a token is not asked for again after the provider failed without a
/// `Retry-After` (the waits double from one second: 1, 2, 4, ... 60).
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl TokenAcquirer {
    /// Memory first; then, once per key at a time (single flight), the store and the provider.
    pub(super) async fn acquire(&self, plan: Plan) -> Result<AcquiredToken, AcquisitionError> {
        let now = self.inner.now();
        if plan.claims.is_none() && !plan.force_refresh {
            if let Some(hit) = self.inner.cache.get_memory::<CachedToken>(&plan.key, now) {
                if self.usable(&hit, now) {
                    if now >= hit.refresh_at_ms {
                        self.refresh_in_background(&plan);
                    }
                    let acquired = AcquiredToken { token: hit, source: TokenSource::Memory };
                    self.emit_acquired(&plan, Ok(&acquired), now);
                    self.acquired(&acquired);
                    return Ok(acquired);
                }
            }
        }
        let events = self.inner.platform.events.is_some();
        let (event_plan, joined) = match events {
            true => (Some(plan.clone()), self.inner.flow.flights.is_running(&plan.flight_key())),
            false => (None, false),
        };
        let outcome = self.fetch_shared(plan).await;
        let acquired = outcome.map(|(token, from_store)| {
            let source = match (joined, from_store) {
                (true, _) => TokenSource::Coalesced,
                (false, true) => TokenSource::Store,
                (false, false) => TokenSource::Provider,
            };
            AcquiredToken { token, source }
        });
        if let Some(plan) = &event_plan {
            self.emit_acquired(plan, acquired.as_ref(), now);
        }
        if let Ok(token) = &acquired {
            self.acquired(token);
        }
        acquired
    }

    /// The `token.acquired` (or `token.failed`) event of `plan`, where events are on.
    fn emit_acquired(
        &self,
        plan: &Plan,
        outcome: Result<&AcquiredToken, &AcquisitionError>,
        started: u64,
    ) {
        let platform = &self.inner.platform;
        if platform.events.is_none() {
            return;
        }
        let (name, level) = match outcome {
            Ok(_) => ("token.acquired", Level::Info),
            Err(_) => ("token.failed", Level::Warn),
        };
        let elapsed = self.inner.now().saturating_sub(started);
        let grant = match (&plan.subject, self.inner.options.grant) {
            (Subject::Session { .. }, _) => "session",
            (Subject::App, _) => "client_credentials",
            (_, OnBehalfOfGrant::JwtBearer) => "on_behalf_of",
            (_, OnBehalfOfGrant::TokenExchange) => "token_exchange",
        };
        let correlation = plan.events_id.as_deref().or(plan.correlation_id.as_deref());
        platform.emit(name, level, correlation, |event| {
            let event = event.with("grant", grant).with("acquisition_ms", elapsed);
            match outcome {
                Ok(token) => event.with("tier", token.source().name()),
                Err(error) => event.with("code", error.code()),
            }
        });
    }

    /// Whether a cached token has more than the margin of life left.
    pub(super) fn usable(&self, token: &CachedToken, now: u64) -> bool {
        token.expires_at_ms > now.saturating_add(token.margin_ms(self.inner.margin_ms()))
    }

    pub(super) async fn fetch_shared(
        &self,
        plan: Plan,
    ) -> Result<(Rc<CachedToken>, bool), AcquisitionError> {
        let flight_key = plan.flight_key();
        let platform = &self.inner.platform;
        let join = match platform.join_poll_interval {
            None => Join::Await,
            Some(interval) => Join::Poll {
                clock: platform.clock.as_ref(),
                interval,
                budget: self.inner.options.timeout.saturating_mul(2),
            },
        };
        let this = self.clone();
        self.inner
            .flow
            .flights
            .run(&flight_key, join, move || Box::pin(async move { this.fetch(plan).await }))
            .await
    }

    /// Serves the cached token and refreshes it after the response, where the host allows:
    /// one scheduled refresh per token at a time.
    pub(super) fn refresh_in_background(&self, plan: &Plan) {
        let Some(background) = &self.background else {
            return;
        };
        let flight_key = plan.flight_key();
        let now = self.inner.now();
        let flow = &self.inner.flow;
        if flow.flights.is_running(&flight_key)
            || self.backing_off(&flight_key, now).is_some()
            || !flow.scheduled.borrow_mut().insert(flight_key.clone())
        {
            return;
        }
        flow.background_refreshes.set(flow.background_refreshes.get() + 1);
        let this = self.clone();
        // A refresh must reach the provider, not find the same token in the store.
        let plan = Plan { force_refresh: true, ..plan.clone() };
        background.spawn(Box::pin(async move {
            let outcome = this.fetch_shared(plan).await;
            this.inner.flow.scheduled.borrow_mut().remove(&flight_key);
            if let Err(e) = outcome {
                this.inner
                    .platform
                    .logger
                    .warn(&format!("background token refresh failed: {}", e.code()));
            }
        }));
    }

    /// The store's token for `plan`, or one provider request and the cache write; `true` when
    /// it came from the store.
    pub(super) async fn fetch(
        &self,
        plan: Plan,
    ) -> Result<(Rc<CachedToken>, bool), AcquisitionError> {
        let inner = &self.inner;
        if plan.claims.is_none() && !plan.force_refresh {
            let now = inner.now();
            if let Some(hit) = inner.cache.get_store::<CachedToken>(&plan.key, now).await {
                if self.usable(&hit, now) {
                    return Ok((hit, true));
                }
            }
        }
        let flight_key = plan.flight_key();
        if let Some(error) = self.backing_off(&flight_key, inner.now()) {
            return Err(error);
        }
        if let Some(error) = self.shared_backing_off(&flight_key).await {
            return Err(error);
        }
        // One provider call for this token in all isolates, where a coordinator says who asks.
        let mut holder = None;
        if plan.claims.is_none() && !plan.force_refresh {
            match self.lease_token(&plan.key).await {
                coordinated::Lease::Served(token) => {
                    inner.cache.put_memory(&plan.key, token.clone());
                    return Ok((token, true));
                }
                coordinated::Lease::Held(held) => holder = Some(held),
                coordinated::Lease::Alone => {}
            }
        }
        let outcome = match &plan.subject {
            Subject::Session { record_key } => self.refresh_session(&plan, record_key).await,
            _ => self.request_token(&plan, None).await,
        };
        let response = match outcome {
            Ok(answer) => {
                inner.flow.backoff.borrow_mut().remove(&flight_key);
                answer
            }
            Err(error) => {
                if let Some(holder) = &holder {
                    self.hand_over(&plan.key, holder, None).await;
                }
                self.back_off(&flight_key, &error);
                self.share_back_off(&flight_key).await;
                return Err(error);
            }
        };
        let token = Rc::new(self.cached_token(&response));
        if let Some(holder) = &holder {
            self.hand_over(&plan.key, holder, Some(&token)).await;
        }
        self.store_token(&plan.key, &token).await;
        Ok((token, false))
    }

    /// The error to answer with while `flight_key` is backing off, if it is.
    pub(super) fn backing_off(&self, flight_key: &str, now: u64) -> Option<AcquisitionError> {
        let backoff = self.inner.flow.backoff.borrow();
        let entry = backoff.get(flight_key).filter(|b| b.until_ms > now)?;
        Some(match &entry.error {
            AcquisitionError::Throttled { details, .. } => AcquisitionError::Throttled {
                retry_after: Some(Duration::from_millis(entry.until_ms - now)),
                details: details.clone(),
            },
            other => other.clone(),
        })
    }

    /// Where memory lasts one request: the back-off another request stored for `flight_key`,
    /// kept in memory too, and the error to answer with while it lasts.
    async fn shared_backing_off(&self, flight_key: &str) -> Option<AcquisitionError> {
        let inner = &self.inner;
        if !inner.platform.memory_per_request {
            return None;
        }
        let key = crate::cache::key::backoff_key(flight_key);
        let shared = inner.cache.get_store::<SharedBackoff>(&key, inner.now()).await?;
        inner.flow.backoff.borrow_mut().insert(flight_key.to_owned(), shared.backoff());
        self.backing_off(flight_key, inner.now())
    }

    /// Where memory lasts one request: stores `flight_key`'s back-off for the next requests.
    async fn share_back_off(&self, flight_key: &str) {
        let inner = &self.inner;
        if !inner.platform.memory_per_request {
            return;
        }
        let shared = inner.flow.backoff.borrow().get(flight_key).and_then(SharedBackoff::of);
        let Some(shared) = shared else { return };
        let ttl = Duration::from_millis(shared.until_ms.saturating_sub(inner.now()));
        let key = crate::cache::key::backoff_key(flight_key);
        inner.cache.put(&key, Rc::new(shared), ttl).await;
    }

    /// After a throttled or unavailable provider: waits its `Retry-After`, or a doubling wait.
    pub(super) fn back_off(&self, flight_key: &str, error: &AcquisitionError) {
        let failures = self
            .inner
            .flow
            .backoff
            .borrow()
            .get(flight_key)
            .map_or(0, |b| b.failures)
            .saturating_add(1);
        let wait = match error {
            AcquisitionError::Throttled { retry_after: Some(wait), .. } => *wait,
            AcquisitionError::Throttled { .. } | AcquisitionError::ProviderUnavailable(_) => {
                Duration::from_secs(1u64 << failures.min(6).saturating_sub(1)).min(MAX_BACKOFF)
            }
            _ => return,
        };
        let now = self.inner.now();
        let until_ms = now.saturating_add(millis(wait));
        self.inner
            .flow
            .backoff
            .borrow_mut()
            .insert(flight_key.to_owned(), Backoff { until_ms, failures, error: error.clone() });
    }

    /// One request to the token endpoint with `plan`'s grant (`session` holds the refresh token
    /// of a session plan), client authentication and `claims`; consent and claims challenges
    /// carry the requested scopes.
    pub(super) async fn request_token(
        &self,
        plan: &Plan,
        session: Option<&crate::cache::SessionRecord>,
    ) -> Result<response::TokenResponse, AcquisitionError> {
        let inner = &self.inner;
        let grant = match (&plan.subject, session) {
            (Subject::User { caller, .. }, _)
                if inner.options.grant == OnBehalfOfGrant::JwtBearer =>
            {
                Grant::OnBehalfOf { assertion: caller.token() }
            }
            (Subject::User { caller, audience, resource }, _) => Grant::TokenExchange {
                subject_token: caller.token(),
                audience: audience.as_deref(),
                resource: resource.as_deref(),
            },
            (Subject::App, _) => Grant::ClientCredentials,
            (Subject::Session { .. }, Some(record)) => {
                Grant::RefreshToken { refresh_token: &record.refresh_token }
            }
            (Subject::Session { .. }, None) => return Err(AcquisitionError::SessionNotFound),
        };
        let (endpoint, discovery) = inner.endpoint(plan.tenant.as_deref()).await?;
        let discovered = discovery
            .as_ref()
            .map(|d| client_auth::Discovered { methods: d.token_endpoint_auth_methods.as_deref() });
        let auth = match &inner.options.credential {
            Some(credential) => Some(client_auth::choose(
                inner.options.auth_method,
                credential,
                inner.options.provider,
                discovered.as_ref(),
            )?),
            None => None,
        };
        let call = TokenCall {
            endpoint: &endpoint,
            auth,
            grant,
            scope: &plan.scope,
            claims: claims::merge(plan.claims.as_deref(), &inner.options.client_capabilities),
            correlation_id: plan.correlation_id.as_deref(),
        };
        token_endpoint::request(inner.client(), &call)
            .await
            .map_err(|e| for_the_client(e, &plan.scope, &endpoint, &inner.options.client_id))
    }

    /// The cache record of a fresh token: served until its margin (relative to its lifetime
    /// for short-lived tokens), refreshed from `refresh_in`, or from the last quarter of its
    /// life, or (short-lived tokens) from half its life.
    pub(super) fn cached_token(&self, response: &response::TokenResponse) -> CachedToken {
        let now = self.inner.now();
        let lifetime = response.expires_in.saturating_mul(1000);
        let expires_at_ms = now.saturating_add(lifetime);
        let mut token = CachedToken {
            access_token: response.access_token.clone(),
            expires_at_ms,
            refresh_at_ms: now,
            issued_at_ms: now,
        };
        let margin = token.margin_ms(self.inner.margin_ms());
        let latest = expires_at_ms.saturating_sub(margin);
        let default_refresh = if margin < self.inner.margin_ms() {
            now.saturating_add(lifetime / 2)
        } else {
            expires_at_ms.saturating_sub(lifetime / 4)
        };
        token.refresh_at_ms = match response.refresh_in {
            Some(seconds) => now.saturating_add(seconds.saturating_mul(1000)),
            None => default_refresh,
        }
        .min(latest)
        .max(now);
        token
    }

    /// Caches `token` until its margin; one that can never be served from cache is not stored.
    pub(super) async fn store_token(&self, key: &CacheKey, token: &Rc<CachedToken>) {
        let now = self.inner.now();
        let usable_until =
            token.expires_at_ms.saturating_sub(token.margin_ms(self.inner.margin_ms()));
        if usable_until > now {
            let ttl = Duration::from_millis(usable_until - now);
            self.inner.cache.put(key, token.clone(), ttl).await;
        }
    }
}

/// Consent and claims challenges carry what the client needs to act on them: the scopes to
/// ask for, this API's client id, and (Entra) the authorization endpoint next to the token
/// endpoint that answered.
pub(super) fn for_the_client(
    error: AcquisitionError,
    scope: &str,
    endpoint: &str,
    client_id: &str,
) -> AcquisitionError {
    let fill = |mut e: Box<error::IdentityError>| {
        e.scopes = scope
            .split(' ')
            .filter(|s| !s.is_empty() && *s != "offline_access")
            .map(str::to_owned)
            .collect();
        e.client_id = Some(client_id.to_owned());
        e.authorize_endpoint = endpoint
            .strip_suffix("/oauth2/v2.0/token")
            .map(|authority| format!("{authority}/oauth2/v2.0/authorize"));
        e
    };
    match error {
        AcquisitionError::ConsentRequired(e) => AcquisitionError::ConsentRequired(fill(e)),
        AcquisitionError::InteractionRequired(e) => AcquisitionError::InteractionRequired(fill(e)),
        other => other,
    }
}
