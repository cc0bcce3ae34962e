//! Token acquisition: tokens for downstream APIs, on behalf of the caller (Entra on-behalf-of or
//! RFC 8693 token exchange), as the app (client credentials), or for a long-running session
//! ([`session`]), served from the [token cache](crate::cache) whenever it can.
//!
//! | concern | file |
//! |---|---|
//! | the public entry point, cache-then-provider, single flight, background refresh | `acquisition/mod.rs` |
//! | each grant's form (OBO, RFC 8693, client credentials, refresh token) | `acquisition/grants/` |
//! | client authentication, `claims`, the POST and its one retry | `acquisition/token_endpoint.rs` |
//! | the signed client assertion | `acquisition/client_assertion.rs` |
//! | reading the provider's answer | `acquisition/response.rs` |
//! | typed errors and the answers they give | `acquisition/error.rs` |
//!
//! A cached token is served while more than the margin (default 5 minutes) of its life is left.
//! From its refresh point (`refresh_in` if the provider sent one, else the last quarter of its
//! life) it is still served, and refreshed through the platform's [`Background`] (Workers:
//! `ctx.wait_until`); without one (Spin) the token is simply replaced inline once it reaches
//! the margin.

pub mod claims;
pub mod client_assertion;
pub mod credential;
pub mod error;
pub mod grants;
pub mod options;
pub(crate) mod response;
pub mod session;
mod single_flight;
pub mod token_endpoint;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::cache::key::{canonical_scopes, token_key, TokenKind};
use crate::cache::{CacheKey, CacheStats, CachedToken, TokenCache};
use crate::config::{is_guid, is_metadata_url, Authority, IdentityConfig, TenantSpec};
use crate::platform::{Background, Platform, SigningKey};
use crate::validation::authorize::ValidatedToken;
use crate::validation::keys::KeySourcePolicy;

/// How long a generic authority's discovery document is used when only token acquisition asks
/// for it (token validation's `KeySetMaxAgeSeconds` applies when the validator asked first).
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// Least time between two discovery fetches that acquisition causes.
const DISCOVERY_COOLDOWN: Duration = Duration::from_secs(30);
pub use credential::{Certificate, ClientAssertionProvider, ClientCredential};
pub use error::{AcquisitionError, IdentityError, ProviderFailure};
use grants::Grant;
pub use options::{AcquisitionOptions, OnBehalfOfGrant};
pub use session::{Session, SessionKey, SessionStart};
use single_flight::{Join, SingleFlight};
use token_endpoint::TokenCall;

/// What to acquire a token for. Built with [`TokenRequest::new`] and the `with_*` methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// The scopes (`api://partner/read`, `https://graph.microsoft.com/.default`).
    pub scopes: Vec<String>,
    /// A claims challenge (JSON) to satisfy; bypasses the cache.
    pub claims: Option<String>,
    /// The tenant to ask (a GUID or domain): app tokens of multi-tenant apps need one.
    pub tenant: Option<String>,
    /// RFC 8693 `audience`.
    pub audience: Option<String>,
    /// RFC 8693 `resource`.
    pub resource: Option<String>,
    /// Sent as `client-request-id`, to correlate with the provider's logs.
    pub correlation_id: Option<String>,
    /// Skip the cache read (the answer still replaces the cached token).
    pub force_refresh: bool,
}

impl TokenRequest {
    /// A request for `scopes`.
    pub fn new<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> TokenRequest {
        TokenRequest {
            scopes: scopes.into_iter().map(Into::into).collect(),
            ..TokenRequest::default()
        }
    }

    /// Satisfies a claims challenge.
    pub fn with_claims(mut self, claims: impl Into<String>) -> TokenRequest {
        self.claims = Some(claims.into());
        self
    }

    /// Asks `tenant`.
    pub fn for_tenant(mut self, tenant: impl Into<String>) -> TokenRequest {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sets the RFC 8693 `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> TokenRequest {
        self.audience = Some(audience.into());
        self
    }

    /// Sets the RFC 8693 `resource`.
    pub fn with_resource(mut self, resource: impl Into<String>) -> TokenRequest {
        self.resource = Some(resource.into());
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> TokenRequest {
        self.correlation_id = Some(id.into());
        self
    }

    /// The RFC 8693 `audience` and `resource`, as they enter a cache key.
    pub(crate) fn exchange_target(&self) -> String {
        format!(
            "{}\n{}",
            self.audience.as_deref().unwrap_or(""),
            self.resource.as_deref().unwrap_or("")
        )
    }
}

/// An access token for a downstream API. `Debug` never shows it.
#[derive(Clone)]
pub struct AcquiredToken {
    token: Rc<CachedToken>,
    from_cache: bool,
}

impl AcquiredToken {
    /// The token, for the `Authorization` header of the call it was acquired for.
    pub fn secret(&self) -> &str {
        self.token.access_token.expose()
    }

    /// `Bearer <token>`.
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.secret())
    }

    /// When it expires, in Unix milliseconds.
    pub fn expires_at_ms(&self) -> u64 {
        self.token.expires_at_ms
    }

    /// Whether it came from the cache rather than from the identity provider.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }
}

impl fmt::Debug for AcquiredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquiredToken")
            .field("token", &"***")
            .field("expires_at_ms", &self.token.expires_at_ms)
            .field("from_cache", &self.from_cache)
            .finish()
    }
}

/// Counters for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcquisitionStats {
    /// Requests sent to the token endpoint (retries included).
    pub token_requests: u64,
    /// Background refreshes started.
    pub background_refreshes: u64,
    /// The token cache's counters.
    pub cache: CacheStats,
}

/// What the grant of one acquisition needs, owned so it can outlive the request (single flight,
/// background refresh).
#[derive(Clone)]
enum Subject {
    User { token: String, audience: Option<String>, resource: Option<String> },
    App,
    Session { record_key: CacheKey },
}

/// One acquisition, resolved: for what, for which tenant, and where the answer is cached. The
/// token endpoint is not part of it: a cache lookup never waits on the network, so the endpoint
/// (which a generic authority's discovery document gives) is found only on a miss.
#[derive(Clone)]
struct Plan {
    subject: Subject,
    tenant: Option<String>,
    scope: String,
    claims: Option<String>,
    correlation_id: Option<String>,
    force_refresh: bool,
    key: CacheKey,
}

impl Plan {
    fn flight_key(&self) -> String {
        match &self.claims {
            None => self.key.as_str().to_owned(),
            Some(claims) => {
                format!("{}#{}", self.key.as_str(), crate::cache::key::token_hash(claims))
            }
        }
    }
}

/// A provider's refusal to be asked again yet, for one token.
struct Backoff {
    until_ms: u64,
    failures: u32,
    error: AcquisitionError,
}

/// The longest a token is not asked for again after the provider failed without a
/// `Retry-After` (the waits double from one second: 1, 2, 4, ... 60).
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub(crate) struct Inner {
    pub(crate) platform: Platform,
    pub(crate) options: AcquisitionOptions,
    pub(crate) cache: TokenCache,
    flights: SingleFlight<Result<(Rc<CachedToken>, bool), AcquisitionError>>,
    signing_key: RefCell<Option<SigningKey>>,
    scheduled_refreshes: RefCell<std::collections::HashSet<String>>,
    /// Per flight key: the provider said to wait (429 `Retry-After`) or was down; until then
    /// the same answer is given without asking it again.
    backoff: RefCell<std::collections::HashMap<String, Backoff>>,
    /// Per session record: one refresh at a time, so a rotated refresh token is never used
    /// twice nor lost between two refreshes of one session (for different scopes, say).
    session_locks: RefCell<std::collections::HashMap<String, Rc<futures_util::lock::Mutex<()>>>>,
    token_requests: Cell<u64>,
    background_refreshes: Cell<u64>,
}

impl Inner {
    pub(crate) fn count_token_request(&self) {
        self.token_requests.set(self.token_requests.get() + 1);
    }

    /// The certificate's private key, imported once.
    pub(crate) async fn signing_key(
        &self,
        certificate: &Certificate,
    ) -> Result<SigningKey, AcquisitionError> {
        if let Some(key) = self.signing_key.borrow().as_ref() {
            return Ok(key.clone());
        }
        let key = self
            .platform
            .crypto
            .import_signing_key(&certificate.private_key_der, certificate.algorithm)
            .await
            .map_err(|_| {
                AcquisitionError::Configuration("the certificate's private key can't be used")
            })?;
        *self.signing_key.borrow_mut() = Some(key.clone());
        Ok(key)
    }

    fn margin_ms(&self) -> u64 {
        u64::try_from(self.options.cache.expiry_margin.as_millis()).unwrap_or(u64::MAX)
    }

    /// A stable name of the authority, for keys that must not depend on the tenant asked.
    fn authority_id(&self) -> String {
        match &self.options.authority {
            Authority::Entra { instance, tenant, .. } => format!("{instance}{}", tenant.as_str()),
            Authority::Oidc { issuer_url } => issuer_url.clone(),
        }
    }

    /// The authority as it enters cache keys, for `tenant` when the app is multi-tenant: known
    /// without any network request (for a generic authority, its issuer URL, since its token
    /// endpoint comes from discovery).
    fn key_authority(&self, tenant: Option<&str>) -> String {
        if let Some(endpoint) = &self.options.token_endpoint {
            return endpoint.clone();
        }
        match &self.options.authority {
            Authority::Entra { instance, tenant: configured, .. } => {
                let tenant = match (configured, tenant) {
                    (TenantSpec::Multi(_), Some(t)) => t,
                    (spec, _) => spec.as_str(),
                };
                format!("{instance}{tenant}/oauth2/v2.0/token")
            }
            Authority::Oidc { issuer_url } => issuer_url.clone(),
        }
    }

    /// The token endpoint to ask, for `tenant` when the app is multi-tenant.
    async fn endpoint(&self, tenant: Option<&str>) -> Result<String, AcquisitionError> {
        if let Some(endpoint) = &self.options.token_endpoint {
            return Ok(endpoint.clone());
        }
        match &self.options.authority {
            Authority::Entra { instance, tenant: configured, .. } => {
                let tenant = match (configured, tenant) {
                    (TenantSpec::Multi(_), Some(t)) => t,
                    (spec, _) => spec.as_str(),
                };
                Ok(format!("{instance}{tenant}/oauth2/v2.0/token"))
            }
            Authority::Oidc { .. } => self.discover_endpoint().await,
        }
    }

    /// A generic authority's token endpoint, from its discovery document: the same document,
    /// fetched once per isolate and kept in the shared store, that token validation reads
    /// ([`Platform::key_source`](crate::Platform)), so a cold isolate needs no request for it.
    async fn discover_endpoint(&self) -> Result<String, AcquisitionError> {
        let unavailable = AcquisitionError::ProviderUnavailable(ProviderFailure::NoTokenEndpoint);
        let source = self.platform.key_source(KeySourcePolicy {
            metadata_url: self.options.authority.metadata_url(),
            v1_metadata_url: self.options.authority.v1_metadata_url(),
            max_age: DISCOVERY_MAX_AGE,
            cooldown: DISCOVERY_COOLDOWN,
            timeout: self.options.timeout,
        });
        let snapshot = source.current().await.map_err(|_| unavailable.clone())?;
        snapshot.token_endpoint.clone().filter(|url| is_metadata_url(url)).ok_or(unavailable)
    }
}

/// Acquires tokens for downstream APIs and caches them. Cheap to clone: clones share the
/// cache, the in-flight requests and the counters. Keep one per isolate (e.g. in a
/// `thread_local!`), and give each request's clone its [`Background`] with
/// [`with_background`](TokenAcquirer::with_background).
#[derive(Clone)]
pub struct TokenAcquirer {
    inner: Rc<Inner>,
    background: Option<Rc<dyn Background>>,
}

impl fmt::Debug for TokenAcquirer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAcquirer")
            .field("client_id", &self.inner.options.client_id)
            .field("grant", &self.inner.options.grant)
            .field("cache", &self.inner.options.cache)
            .finish_non_exhaustive()
    }
}

impl TokenAcquirer {
    /// An acquirer with resolved options.
    pub fn new(platform: Platform, options: AcquisitionOptions) -> TokenAcquirer {
        let cache =
            TokenCache::new(&options.cache, platform.store.clone(), platform.logger.clone());
        TokenAcquirer {
            inner: Rc::new(Inner {
                platform,
                options,
                cache,
                flights: SingleFlight::new(),
                signing_key: RefCell::new(None),
                scheduled_refreshes: RefCell::new(std::collections::HashSet::new()),
                backoff: RefCell::new(std::collections::HashMap::new()),
                session_locks: RefCell::new(std::collections::HashMap::new()),
                token_requests: Cell::new(0),
                background_refreshes: Cell::new(0),
            }),
            background: None,
        }
    }

    /// An acquirer from the configuration document (see [`AcquisitionOptions::from_config`]).
    pub fn from_config(
        platform: Platform,
        config: &IdentityConfig,
    ) -> Result<TokenAcquirer, crate::ConfigError> {
        Ok(TokenAcquirer::new(platform, AcquisitionOptions::from_config(config)?))
    }

    /// A clone that runs background refreshes on `background` (Workers: the request's
    /// `ctx.wait_until`).
    pub fn with_background(&self, background: Rc<dyn Background>) -> TokenAcquirer {
        TokenAcquirer { inner: self.inner.clone(), background: Some(background) }
    }

    /// The platform it runs on.
    pub fn platform(&self) -> &Platform {
        &self.inner.platform
    }

    /// The options in force.
    pub fn options(&self) -> &AcquisitionOptions {
        &self.inner.options
    }

    /// Counters since the isolate started.
    pub fn stats(&self) -> AcquisitionStats {
        AcquisitionStats {
            token_requests: self.inner.token_requests.get(),
            background_refreshes: self.inner.background_refreshes.get(),
            cache: self.inner.cache.stats(),
        }
    }

    /// A token for `request.scopes` on behalf of the caller whose validated token is `user`:
    /// the Entra on-behalf-of grant or RFC 8693 token exchange, as configured. For a
    /// multi-tenant app the request goes to the caller's tenant (`tid`).
    pub async fn token_for_user(
        &self,
        user: &ValidatedToken,
        request: &TokenRequest,
    ) -> Result<AcquiredToken, AcquisitionError> {
        let plan = self.user_plan(user, request).await?;
        self.acquire(plan).await
    }

    /// An app-only token for `request.scopes` (client credentials; Entra wants `/.default`).
    pub async fn token_for_app(
        &self,
        request: &TokenRequest,
    ) -> Result<AcquiredToken, AcquisitionError> {
        let tenant = match (&self.inner.options.authority, &request.tenant) {
            (_, Some(tenant)) => Some(checked_tenant(tenant)?),
            (Authority::Entra { tenant: TenantSpec::Multi(_), .. }, None)
                if self.inner.options.token_endpoint.is_none() =>
            {
                return Err(AcquisitionError::Configuration(
                    "a multi-tenant app's app token needs a tenant (TokenRequest::for_tenant)",
                ))
            }
            _ => None,
        };
        let authority = self.inner.key_authority(tenant);
        let scope = canonical_scopes(&request.scopes);
        let key = token_key(TokenKind::App, &self.inner.options.client_id, &authority, &scope, "");
        self.acquire(plan(Subject::App, tenant, scope, request, key)).await
    }

    /// `Bearer <token>` for the caller, for hosts that make the downstream call themselves.
    pub async fn authorization_header_for_user(
        &self,
        user: &ValidatedToken,
        request: &TokenRequest,
    ) -> Result<String, AcquisitionError> {
        Ok(self.token_for_user(user, request).await?.authorization_header())
    }

    /// `Bearer <token>` for the app.
    pub async fn authorization_header_for_app(
        &self,
        request: &TokenRequest,
    ) -> Result<String, AcquisitionError> {
        Ok(self.token_for_app(request).await?.authorization_header())
    }

    async fn user_plan(
        &self,
        user: &ValidatedToken,
        request: &TokenRequest,
    ) -> Result<Plan, AcquisitionError> {
        let incoming = user.token().expose();
        let tenant = match &request.tenant {
            Some(t) => Some(checked_tenant(t)?),
            None => user.tenant_id().filter(|t| is_guid(t)),
        };
        let authority = self.inner.key_authority(tenant);
        let scope = canonical_scopes(&request.scopes);
        let extra = request.exchange_target();
        let key = token_key(
            TokenKind::User { incoming_token: incoming },
            &self.inner.options.client_id,
            &authority,
            &scope,
            &extra,
        );
        let subject = Subject::User {
            token: incoming.to_owned(),
            audience: request.audience.clone(),
            resource: request.resource.clone(),
        };
        Ok(plan(subject, tenant, scope, request, key))
    }

    /// Memory first; then, once per key at a time (single flight), the store and the provider.
    async fn acquire(&self, plan: Plan) -> Result<AcquiredToken, AcquisitionError> {
        let now = self.inner.platform.clock.now_millis();
        if plan.claims.is_none() && !plan.force_refresh {
            if let Some(hit) = self.inner.cache.get_memory::<CachedToken>(&plan.key, now) {
                if self.usable(&hit, now) {
                    if now >= hit.refresh_at_ms {
                        self.refresh_in_background(&plan);
                    }
                    return Ok(AcquiredToken { token: hit, from_cache: true });
                }
            }
        }
        let (token, from_cache) = self.fetch_shared(plan).await?;
        Ok(AcquiredToken { token, from_cache })
    }

    /// Whether a cached token has more than the margin of life left.
    fn usable(&self, token: &CachedToken, now: u64) -> bool {
        token.expires_at_ms > now.saturating_add(token.margin_ms(self.inner.margin_ms()))
    }

    async fn fetch_shared(&self, plan: Plan) -> Result<(Rc<CachedToken>, bool), AcquisitionError> {
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
            .flights
            .run(&flight_key, join, move || Box::pin(async move { this.fetch(plan).await }))
            .await
    }

    /// Serves the cached token and refreshes it after the response, where the host allows:
    /// one scheduled refresh per token at a time.
    fn refresh_in_background(&self, plan: &Plan) {
        let Some(background) = &self.background else {
            return;
        };
        let flight_key = plan.flight_key();
        let now = self.inner.platform.clock.now_millis();
        if self.inner.flights.is_running(&flight_key)
            || self.backing_off(&flight_key, now).is_some()
            || !self.inner.scheduled_refreshes.borrow_mut().insert(flight_key.clone())
        {
            return;
        }
        self.inner.background_refreshes.set(self.inner.background_refreshes.get() + 1);
        let this = self.clone();
        // A refresh must reach the provider, not find the same token in the store.
        let plan = Plan { force_refresh: true, ..plan.clone() };
        background.spawn(Box::pin(async move {
            let outcome = this.fetch_shared(plan).await;
            this.inner.scheduled_refreshes.borrow_mut().remove(&flight_key);
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
    async fn fetch(&self, plan: Plan) -> Result<(Rc<CachedToken>, bool), AcquisitionError> {
        let inner = &self.inner;
        if plan.claims.is_none() && !plan.force_refresh {
            let now = inner.platform.clock.now_millis();
            if let Some(hit) = inner.cache.get_store::<CachedToken>(&plan.key, now).await {
                if self.usable(&hit, now) {
                    return Ok((hit, true));
                }
            }
        }
        let flight_key = plan.flight_key();
        if let Some(error) = self.backing_off(&flight_key, inner.platform.clock.now_millis()) {
            return Err(error);
        }
        let outcome = match &plan.subject {
            Subject::Session { record_key } => self.refresh_session(&plan, record_key).await,
            _ => self.request_token(&plan, None).await,
        };
        let response = match outcome {
            Ok(answer) => {
                inner.backoff.borrow_mut().remove(&flight_key);
                answer
            }
            Err(error) => {
                self.back_off(&flight_key, &error);
                return Err(error);
            }
        };
        let token = Rc::new(self.cached_token(&response));
        self.store_token(&plan.key, &token).await;
        Ok((token, false))
    }

    /// The error to answer with while `flight_key` is backing off, if it is.
    fn backing_off(&self, flight_key: &str, now: u64) -> Option<AcquisitionError> {
        let backoff = self.inner.backoff.borrow();
        let entry = backoff.get(flight_key).filter(|b| b.until_ms > now)?;
        Some(match &entry.error {
            AcquisitionError::Throttled { details, .. } => AcquisitionError::Throttled {
                retry_after: Some(Duration::from_millis(entry.until_ms - now)),
                details: details.clone(),
            },
            other => other.clone(),
        })
    }

    /// After a throttled or unavailable provider: waits its `Retry-After`, or a doubling wait.
    fn back_off(&self, flight_key: &str, error: &AcquisitionError) {
        let failures =
            self.inner.backoff.borrow().get(flight_key).map_or(0, |b| b.failures).saturating_add(1);
        let wait = match error {
            AcquisitionError::Throttled { retry_after: Some(wait), .. } => *wait,
            AcquisitionError::Throttled { .. } | AcquisitionError::ProviderUnavailable(_) => {
                Duration::from_secs(1u64 << failures.min(6).saturating_sub(1)).min(MAX_BACKOFF)
            }
            _ => return,
        };
        let now = self.inner.platform.clock.now_millis();
        let until_ms = now.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self.inner
            .backoff
            .borrow_mut()
            .insert(flight_key.to_owned(), Backoff { until_ms, failures, error: error.clone() });
    }

    /// One request to the token endpoint with `plan`'s grant (`session` holds the refresh token
    /// of a session plan), client authentication and `claims`; consent and claims challenges
    /// carry the requested scopes.
    async fn request_token(
        &self,
        plan: &Plan,
        session: Option<&crate::cache::SessionRecord>,
    ) -> Result<response::TokenResponse, AcquisitionError> {
        let inner = &self.inner;
        let grant = match (&plan.subject, session) {
            (Subject::User { token, .. }, _)
                if inner.options.grant == OnBehalfOfGrant::JwtBearer =>
            {
                Grant::OnBehalfOf { assertion: token }
            }
            (Subject::User { token, audience, resource }, _) => Grant::TokenExchange {
                subject_token: token,
                audience: audience.as_deref(),
                resource: resource.as_deref(),
            },
            (Subject::App, _) => Grant::ClientCredentials,
            (Subject::Session { .. }, Some(record)) => {
                Grant::RefreshToken { refresh_token: record.refresh_token.expose() }
            }
            (Subject::Session { .. }, None) => return Err(AcquisitionError::SessionNotFound),
        };
        let endpoint = inner.endpoint(plan.tenant.as_deref()).await?;
        let call = TokenCall {
            endpoint: &endpoint,
            grant,
            scope: &plan.scope,
            claims: claims::merge(plan.claims.as_deref(), &inner.options.client_capabilities),
            correlation_id: plan.correlation_id.as_deref(),
        };
        token_endpoint::request(inner, &call)
            .await
            .map_err(|e| for_the_client(e, &plan.scope, &endpoint, &inner.options.client_id))
    }

    /// The cache record of a fresh token: served until its margin (relative to its lifetime
    /// for short-lived tokens), refreshed from `refresh_in`, or from the last quarter of its
    /// life, or (short-lived tokens) from half its life.
    fn cached_token(&self, response: &response::TokenResponse) -> CachedToken {
        let now = self.inner.platform.clock.now_millis();
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
    async fn store_token(&self, key: &CacheKey, token: &Rc<CachedToken>) {
        let now = self.inner.platform.clock.now_millis();
        let usable_until =
            token.expires_at_ms.saturating_sub(token.margin_ms(self.inner.margin_ms()));
        if usable_until > now {
            let ttl = Duration::from_millis(usable_until - now);
            self.inner.cache.put(key, token.clone(), ttl).await;
        }
    }
}

fn plan(
    subject: Subject,
    tenant: Option<&str>,
    scope: String,
    request: &TokenRequest,
    key: CacheKey,
) -> Plan {
    Plan {
        subject,
        tenant: tenant.map(str::to_owned),
        scope,
        claims: request.claims.clone(),
        correlation_id: request.correlation_id.clone(),
        force_refresh: request.force_refresh,
        key,
    }
}

/// A tenant from a request: a GUID or a domain name, nothing that could change the URL's path.
fn checked_tenant(tenant: &str) -> Result<&str, AcquisitionError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 253
        && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !tenant.starts_with('.');
    ok.then_some(tenant)
        .ok_or(AcquisitionError::Configuration("the requested tenant is not a tenant id or domain"))
}

/// Consent and claims challenges carry what the client needs to act on them: the scopes to
/// ask for, this API's client id, and (Entra) the authorization endpoint next to the token
/// endpoint that answered.
fn for_the_client(
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
