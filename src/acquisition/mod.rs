//! Token acquisition: tokens for downstream APIs, on behalf of the caller (Entra on-behalf-of or
//! RFC 8693 token exchange), as the app (client credentials), or for a long-running session
//! ([`session`]), served from the [token cache](crate::cache) whenever it can.
//!
//! | concern | file |
//! |---|---|
//! | the public entry point: requests, acquired tokens, stats | `acquisition/mod.rs` |
//! | where a request goes: subject, tenant, cache key; the token endpoint on a miss | `acquisition/plan.rs` |
//! | the flow: memory → single flight → store → provider → store write; refresh, back-off | `acquisition/flow.rs` |
//! | long-running sessions | `acquisition/session.rs` |
//! | each grant's form (OBO, RFC 8693, client credentials, refresh token) | `acquisition/grants/` |
//! | which client authentication method a request uses (configured or discovered) | `acquisition/client_auth.rs` |
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
pub mod client_auth;
mod coordinated;
pub mod credential;
pub mod error;
mod flow;
pub mod grants;
pub mod options;
mod plan;
pub(crate) mod response;
pub mod session;
mod single_flight;
pub mod token_endpoint;

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::cache::key::{canonical_scopes, token_key, TokenKind};
use crate::cache::{CacheKey, CacheStats, CachedToken, TokenCache};
use crate::event::Level;
use crate::platform::{millis, Background, Platform};
use crate::validation::authority::{is_guid, is_metadata_url, Authority, TenantSpec};
use crate::validation::authorize::ValidatedToken;
use crate::validation::keys::KeySourcePolicy;

/// How long a generic authority's discovery document is used when only token acquisition asks
/// for it (token validation's `KeySetMaxAgeSeconds` applies when the validator asked first).
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// Least time between two discovery fetches that acquisition causes.
const DISCOVERY_COOLDOWN: Duration = Duration::from_secs(30);
pub use client_auth::ClientAuthMethod;
pub use credential::{Certificate, ClientAssertionProvider, ClientCredential};
pub use error::{AcquisitionError, IdentityError, ProviderFailure};
use grants::Grant;
pub use options::{AcquisitionOptions, OnBehalfOfGrant};
use plan::{checked_tenant, plan, Plan, Subject};
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
    source: TokenSource,
}

/// Where an acquired token came from (the `tier` of a `token.acquired` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The isolate's memory.
    Memory,
    /// The shared store, or another isolate's call handed over by the coordinator.
    Store,
    /// Another request's call to the provider, in this isolate (single flight).
    Coalesced,
    /// This request's own call to the provider.
    Provider,
}

impl TokenSource {
    /// The name written in events.
    pub fn name(self) -> &'static str {
        match self {
            TokenSource::Memory => "memory",
            TokenSource::Store => "store",
            TokenSource::Coalesced => "coalesced",
            TokenSource::Provider => "provider",
        }
    }
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

    /// Whether it came from the cache (memory or the shared store) rather than from a call to
    /// the identity provider (this request's, or another's it joined).
    pub fn from_cache(&self) -> bool {
        matches!(self.source, TokenSource::Memory | TokenSource::Store)
    }

    /// Where it came from.
    pub fn source(&self) -> TokenSource {
        self.source
    }
}

impl fmt::Debug for AcquiredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquiredToken")
            .field("token", &"***")
            .field("expires_at_ms", &self.token.expires_at_ms)
            .field("source", &self.source)
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

/// One isolate's acquisition state. The shared context (platform, options, cache) is read by
/// every flow; each child module owns its own part and is the only one to touch it.
pub(crate) struct Inner {
    pub(crate) platform: Platform,
    pub(crate) options: AcquisitionOptions,
    pub(crate) cache: TokenCache,
    /// In-flight acquisitions, scheduled refreshes, back-off (`flow.rs`).
    flow: flow::FlowState,
    /// One refresh at a time per session (`session.rs`).
    sessions: session::SessionLocks,
    /// The imported certificate key and the request counter (`token_endpoint.rs`).
    endpoint: token_endpoint::ClientState,
    /// The host's `on_token_acquired` hook, if it set one.
    on_acquired: std::cell::RefCell<Option<OnTokenAcquired>>,
}

/// A hook told of every token acquired (Microsoft.Identity.Web's `OnTokenAcquired`), from
/// whichever tier ([`AcquiredToken::source`]). Unset, it costs a check of an `Option`.
pub type OnTokenAcquired = Rc<dyn Fn(&AcquiredToken)>;

impl Inner {
    /// The token endpoint's client, as this isolate is configured.
    fn client(&self) -> token_endpoint::Client<'_> {
        token_endpoint::Client {
            platform: &self.platform,
            options: &self.options,
            state: &self.endpoint,
        }
    }

    fn now(&self) -> u64 {
        self.platform.clock.now_millis()
    }

    fn margin_ms(&self) -> u64 {
        millis(self.options.cache.expiry_margin)
    }

    /// A stable name of the authority, for keys that must not depend on the tenant asked.
    fn authority_id(&self) -> String {
        match &self.options.authority {
            Authority::Entra { instance, tenant, .. } => format!("{instance}{}", tenant.as_str()),
            Authority::Oidc { issuer_url } => issuer_url.clone(),
        }
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
        let cache = TokenCache::new(
            &options.cache,
            platform.store.clone(),
            platform.logger.clone(),
            platform.observer(),
        );
        TokenAcquirer {
            inner: Rc::new(Inner {
                platform,
                options,
                cache,
                flow: flow::FlowState::default(),
                sessions: session::SessionLocks::default(),
                endpoint: token_endpoint::ClientState::default(),
                on_acquired: std::cell::RefCell::new(None),
            }),
            background: None,
        }
    }

    /// Sets the hook told of every token acquired from now on ([`OnTokenAcquired`]).
    pub fn set_on_token_acquired(&self, hook: OnTokenAcquired) {
        *self.inner.on_acquired.borrow_mut() = Some(hook);
    }

    /// Tells the hook, if one is set, of `token`.
    pub(crate) fn acquired(&self, token: &AcquiredToken) {
        let hook = self.inner.on_acquired.borrow().clone();
        if let Some(hook) = hook {
            hook(token);
        }
    }

    /// A downstream API's claims challenge that stood after the SDK's retry with those claims:
    /// only the caller can satisfy it (by signing in again with `claims`), so it is answered as
    /// the provider's own claims challenge would be (401 `insufficient_claims`, the challenge,
    /// this API's client id and, for Entra, the authorization endpoint), as Microsoft documents
    /// for APIs that call APIs. `tenant` is the caller's, `request` the call's token request.
    pub(crate) async fn claims_challenge(
        &self,
        tenant: Option<&str>,
        request: &TokenRequest,
        claims: String,
    ) -> AcquisitionError {
        let details = IdentityError {
            status: 401,
            error: "interaction_required".into(),
            claims: Some(claims),
            ..IdentityError::default()
        };
        let endpoint = self.inner.endpoint(tenant).await.map(|(e, _)| e).unwrap_or_default();
        flow::for_the_client(
            AcquisitionError::InteractionRequired(Box::new(details)),
            &canonical_scopes(&request.scopes),
            &endpoint,
            &self.inner.options.client_id,
        )
    }

    /// A clone that runs background refreshes on `background` (Workers: the request's
    /// `ctx.wait_until`).
    pub fn with_background(&self, background: Rc<dyn Background>) -> TokenAcquirer {
        TokenAcquirer { inner: self.inner.clone(), background: Some(background) }
    }

    /// Where work after the response runs, if this clone was given a place.
    pub(crate) fn background(&self) -> Option<&Rc<dyn Background>> {
        self.background.as_ref()
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
            token_requests: self.inner.endpoint.requests(),
            background_refreshes: self.inner.flow.background_refreshes(),
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
}
