//! # edge-identity
//!
//! Protect a WebAssembly edge function (Cloudflare Workers first, Fermyon Spin second) with the
//! caller's OAuth 2.0 access token, and call downstream APIs on that user's behalf — what
//! Microsoft.Identity.Web's `AddMicrosoftIdentityWebApi`, `RequiredScope`,
//! `EnableTokenAcquisitionToCallDownstreamApi` and `AddDownstreamApis` do for ASP.NET Core, for
//! the edge and without tokio.
//!
//! ## The front door
//!
//! One [`WebApi`] per isolate holds validation, acquisition and the downstream APIs. On Workers
//! `platform::worker::web_api(&env, ctx)` builds it from the worker's bindings on first use and
//! keeps it; on Spin `platform::spin::web_api()` builds it from Spin variables. A route
//! authorizes its request in one call and calls APIs by name; every failure is an [`Error`]
//! that is its own answer:
//!
//! ```no_run
//! # async fn route(api: edge_identity::WebApi, request: http::Request<Vec<u8>>)
//! #     -> Result<http::Response<Vec<u8>>, edge_identity::Error> {
//! use edge_identity::Requirement;
//!
//! let caller = api.authorize(&request, Requirement::scope(&["access_as_user"])).await?;
//! let profile = api.call_api("Profile").get("me").for_user(&caller).bytes().await?;
//! Ok(http::Response::new(profile))
//! # }
//! ```
//!
//! A long-running job starts a session with the user's token and continues it later, after
//! that token has expired, as the user (only the user and the apps it names may):
//!
//! ```no_run
//! # async fn job(api: edge_identity::WebApi, caller: edge_identity::ValidatedToken,
//! #     scheduler: edge_identity::ValidatedToken) -> Result<(), edge_identity::Error> {
//! use edge_identity::{SessionKey, SessionStart};
//!
//! let start = SessionStart::from(SessionKey::AllocateForMe).continued_by_app(api.client_id());
//! let session = api.start_session(&caller, "Partner", start).await?;
//! // … later, in the app's scheduler, with its app-only token:
//! api.call_api("Partner").post("api/process").for_session(&session.key, &scheduler).bytes().await?;
//! # Ok(()) }
//! ```
//!
//! A route that answers with a downstream API's answer as it came can leave the body unread:
//! on Workers it streams through without entering wasm memory (`worker-example/src/routes.rs`
//! compiles and runs this in workerd; it is shown here as text because it needs the `worker`
//! feature's target):
//!
//! ```text
//! // Workers (feature `worker`): `req` is the `web_sys::Request` workerd hands over.
//! use edge_identity::platform::worker::pass_on;
//!
//! let caller = api.authorize(&req, Requirement::scope(&["access_as_user"])).await?;
//! let profile = api.call_api("Profile").get("me").for_user(&caller).pass_through().await?;
//! return pass_on(profile); // its status, Content-Type and body stream
//! ```
//!
//! With axum on Workers (feature `axum`), the authorized caller is an extractor,
//! `Authorized<R>`, and `Error` is `IntoResponse`: see `platform::worker::axum`.
//! `examples/` holds one small worker per flow, each run end to end in workerd by the tests.
//!
//! The sections below are the floors beneath that door, for hosts that assemble their own.
//!
//! ## Validate the caller's token
//!
//! A request arrives with `Authorization: Bearer <token>`. A [`TokenValidator`]:
//!
//! 1. reads the header (`validation/bearer.rs`) and parses the JWT strictly (`validation/parse.rs`):
//!    size cap, three segments, canonical base64url, JSON objects without repeated members,
//!    no `crit`, no embedded (`jwk`, `x5c`) or remote (`jku`, `x5u`) keys;
//! 2. checks `alg` against an allow-list (RS/PS 256–512, ES256/384, EdDSA; never `none` or `HS*`);
//! 3. finds the key in the issuer's JWK Set, fetched through OIDC discovery and cached per isolate
//!    and in a shared key-value store, refetched once for an unknown `kid` (`validation/keys.rs`);
//! 4. verifies the signature with WebCrypto (`crypto.subtle`) on Workers or pure Rust elsewhere;
//! 5. checks `exp`/`nbf`/`iat` with clock skew, that it is an access token and not an ID token,
//!    the issuer (exact, Entra v1/v2, multi-tenant with `{tenantid}`), the audience and the
//!    tenant;
//! 6. leaves the route to require scopes or app roles ([`ValidatedToken::require_scope`]).
//!
//! Which claims hold the scopes and roles, what makes a token app-only and what marks an ID
//! token is each provider's own: [`Provider`] (`AzureAd.Provider`) picks the rules once per
//! validator. Any OpenID Connect issuer is `Generic` (RFC 9068 access tokens):
//!
//! ```
//! use edge_identity::{IdentityConfig, Provider};
//!
//! let config = IdentityConfig::from_json(r#"{"AzureAd": {
//!     "Authority": "https://sso.example.com/realms/shop", "Provider": "Keycloak",
//!     "ClientId": "orders-api", "Audience": "orders-api"}}"#).unwrap();
//! let options = config.azure_ad.validation_options().unwrap();
//! assert_eq!(options.provider, Provider::Keycloak);
//! ```
//!
//! Every failure is a [`ValidationError`] that answers itself:
//! [`ValidationError::to_response`] gives 401 with
//! `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`, 403 with
//! `error="insufficient_scope", scope="..."`, or 503 when the issuer's keys can't be had.
//!
//! ```
//! # #[cfg(feature = "rust-crypto")]
//! # fn main() {
//! use std::rc::Rc;
//! use edge_identity::{platform::*, IdentityConfig, TokenValidator};
//!
//! # struct MyHttp;
//! # impl HttpClient for MyHttp {
//! #     fn send(&self, _: http::Request<Vec<u8>>, _: std::time::Duration)
//! #         -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
//! #         Box::pin(async { Err(HttpError::Transport("offline example".into())) })
//! #     }
//! # }
//! let config = IdentityConfig::from_json(r#"{ "AzureAd": {
//!     "Instance": "https://login.microsoftonline.com/",
//!     "TenantId": "organizations",
//!     "ClientId": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
//!     "AllowedTenants": ["72f988bf-86f1-41af-91ab-2d7cd011db47"]
//! } }"#).expect("valid configuration");
//!
//! // The seal secret (a host secret, TOKEN_CACHE_KEY) authenticates everything shared through the store.
//! let seal = edge_identity::SealSecret::new(
//!     edge_identity::Secret::new("0123456789abcdef0123456789abcdef"), "TOKEN_CACHE_KEY",
//! ).expect("at least 32 characters");
//! let platform = Platform::new(
//!     Rc::new(MyHttp),                                  // Workers: platform::worker::WorkerFetch
//!     Rc::new(rust_crypto::RustCrypto),         // Workers: platform::webcrypto::WebCrypto
//!     Rc::new(SystemClock),                             // Workers: platform::webcrypto::JsClock
//! ).with_store(Rc::new(MemoryStore::new()), Some(&seal)); // Workers: platform::worker::WorkersKv
//! let validator = TokenValidator::from_config(&config.azure_ad, platform).expect("valid options");
//!
//! let outcome = futures::executor::block_on(validator.validate_authorization(Some("Bearer not.a.jwt")));
//! let response = outcome.unwrap_err().to_response();
//! assert_eq!(response.status(), 401);
//! assert!(response.headers()["www-authenticate"].to_str().unwrap()
//!     .starts_with("Bearer error=\"invalid_token\""));
//! # }
//! # #[cfg(not(feature = "rust-crypto"))]
//! # fn main() {}
//! ```
//!
//! ### DPoP-bound tokens and protected-resource metadata
//!
//! Where `AzureAd.Dpop.Mode` takes them (`Allowed`: the default for every provider but Entra),
//! a request may come as `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449): the
//! token must be bound to the proof's key (`cnf.jkt`), and the proof is checked on every request
//! ([`dpop`]: its signature, `htm`, `htu`, `iat`, `ath`, the thumbprint; replay per isolate and
//! through the sealed store). [`ValidatedToken::scheme`] says which scheme came. A refusal is a
//! [`Refusal`]: the [`ValidationError`] with every scheme's challenge and the
//! `resource_metadata` URL, and [`TokenValidator::resource_metadata`] answers
//! `/.well-known/oauth-protected-resource` (RFC 9728, [`resource_metadata`]):
//!
//! ```
//! # #[cfg(feature = "rust-crypto")]
//! # fn main() {
//! use std::rc::Rc;
//! use edge_identity::{platform::*, IdentityConfig, TokenValidator};
//! # struct Offline;
//! # impl HttpClient for Offline {
//! #     fn send(&self, _: http::Request<Vec<u8>>, _: std::time::Duration)
//! #         -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
//! #         Box::pin(async { Err(HttpError::Transport("offline example".into())) })
//! #     }
//! # }
//! let config = IdentityConfig::from_json(r#"{"AzureAd": {
//!     "Authority": "https://idp.example.com", "ClientId": "orders-api",
//!     "PublicUrl": "https://api.example.com", "ScopesSupported": ["orders.read"],
//!     "Dpop": {"Mode": "Required"}}}"#).unwrap();
//! let platform = Platform::new(Rc::new(Offline), Rc::new(rust_crypto::RustCrypto), Rc::new(SystemClock));
//! let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
//!
//! // A bearer token where DPoP is required: 401 with only a DPoP challenge.
//! let request = http::Request::get("https://api.example.com/orders")
//!     .header("authorization", "Bearer eyJ...").body(()).unwrap();
//! let refusal = futures::executor::block_on(validator.validate_request(&request)).unwrap_err();
//! assert_eq!(refusal.code(), "dpop_required");
//! assert!(refusal.challenges()[0].starts_with("DPoP error=\"invalid_token\""));
//!
//! // The metadata an MCP-style client reads first.
//! let metadata = http::Request::get("https://api.example.com/.well-known/oauth-protected-resource")
//!     .body(()).unwrap();
//! let answer = validator.resource_metadata(&metadata).expect("the metadata path");
//! let doc: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
//! assert_eq!(doc["authorization_servers"][0], "https://idp.example.com");
//! assert_eq!(doc["dpop_bound_access_tokens_required"], true);
//! # }
//! # #[cfg(not(feature = "rust-crypto"))]
//! # fn main() {}
//! ```
//!
//! ## Acquire tokens for downstream APIs
//!
//! A [`TokenAcquirer`] (one per isolate; clones share it) gets tokens from the identity provider
//! and caches them in isolate memory and the platform's key-value store (`cache/`), sealed with
//! AES-256-GCM (without a seal secret the store is not used). Every flow answers with a typed
//! [`AcquisitionError`] whose `to_response()` a route can return as is (a 401 consent or claims
//! challenge, 503 when the provider is down).
//!
//! ```no_run
//! use edge_identity::{
//!     AcquisitionError, SessionKey, SessionStart, TokenAcquirer, TokenRequest, ValidatedToken,
//! };
//!
//! // On behalf of the caller: the Entra OBO grant, or RFC 8693 token exchange with a generic
//! // `Authority` (configuration, not code, picks the flavour).
//! async fn for_the_user(acquirer: &TokenAcquirer, user: &ValidatedToken)
//!     -> Result<String, AcquisitionError> {
//!     acquirer.authorization_header_for_user(user, &TokenRequest::new(["api://partner/read"])).await
//! }
//!
//! // As the app itself (client credentials).
//! async fn for_the_app(acquirer: &TokenAcquirer) -> Result<String, AcquisitionError> {
//!     acquirer.authorization_header_for_app(&TokenRequest::new(["api://partner/.default"])).await
//! }
//!
//! // A long-running session: start it while the user's token is valid, naming the scheduler
//! // app that may continue it; continue it later (after that token expired) with the
//! // scheduler's app-only token; end it when the work is done.
//! async fn background_job(
//!     acquirer: &TokenAcquirer,
//!     user: &ValidatedToken,
//!     scheduler: &ValidatedToken,
//! ) -> Result<(), AcquisitionError> {
//!     let request = TokenRequest::new(["api://partner/process"]);
//!     let start = SessionStart::from(SessionKey::AllocateForMe).continued_by_app("scheduler-id");
//!     let session = acquirer.start_session(user, start, &request).await?;
//!     // ... hours later, the scheduler (an app-only token from `scheduler-id`):
//!     let token = acquirer.token_for_session(scheduler, &session.key, &request).await?;
//!     # let _ = token;
//!     acquirer.end_session(scheduler, &session.key).await?;
//!     Ok(())
//! }
//! ```
//!
//! ## Call named downstream APIs
//!
//! [`DownstreamApis`] reads the `DownstreamApis` section (`BaseUrl`, `Scopes`, `RelativePath`,
//! `HttpMethod`, `RequestAppToken`, `TimeoutMs`, `Headers`; plus a built-in `graph` preset) and
//! calls an API by name for the user, the app or a session, with JSON helpers, per-call timeouts,
//! correlation ids, one retry for a claims challenge, and the outcome mapped for the client
//! (400/404 through, other failures 502, timeout 504).
//!
//! ```no_run
//! use edge_identity::{CallAs, DownstreamApis, ValidatedToken};
//! use serde_json::{json, Value};
//!
//! async fn dashboard(apis: &DownstreamApis, user: &ValidatedToken) -> http::Response<Vec<u8>> {
//!     // Two calls at once; they share the token cache and its single flight.
//!     let (profile, data) = futures_util::future::join(
//!         apis.get_json::<Value>("Profile", CallAs::User(user), Some("me")),
//!         apis.get_json::<Value>("Partner", CallAs::User(user), Some("api/data")),
//!     ).await;
//!     match (profile, data) {
//!         (Ok(profile), Ok(data)) => http::Response::new(
//!             serde_json::to_vec(&json!({"profile": profile, "data": data})).unwrap_or_default()),
//!         (Err(e), _) | (_, Err(e)) => e.to_response(),
//!     }
//! }
//! ```
//!
//! ## What operators see: events and correlation
//!
//! With `"Events": {"Level": "Info"}` in the configuration, every decision is one JSON line on
//! the platform's log ([`platform::Logger::event`]: `console.log` on Workers, stderr on Spin):
//! `request.validated` / `request.refused`, `token.acquired` (and from which tier) /
//! `token.failed`, `downstream.call`. Each carries the request's correlation id ([`Trace`]:
//! the caller's `client-request-id` or W3C `traceparent`, else a new one), which also goes to the
//! token endpoint as `client-request-id`, downstream as a new span of the caller's trace, and into
//! every refusal's body. Off (the default), nothing is built.
//!
//! ```
//! use edge_identity::{Event, Level, Trace};
//!
//! let trace = Trace::from_headers(
//!     Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), None, [0; 16]);
//! assert_eq!(trace.correlation_id, "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
//! let line = Event::new("request.refused", Level::Warn, Some(trace.correlation_id.as_str().into()))
//!     .with("code", "token_expired")
//!     .to_json_line();
//! assert!(line.starts_with(r#"{"source":"edge-identity","event":"request.refused""#));
//! ```
//!
//! **Counters.** The same events, every one (no level, no sampling), go to a [`Metrics`] sink
//! where the platform has one ([`Platform::with_metrics`](platform::Platform::with_metrics)):
//! on Workers, an Analytics Engine dataset bound as `IDENTITY_METRICS`, which
//! `web_api(&env, ctx)` picks up. Each is a [`Metric`]: the event, its outcome and dimension,
//! its duration. **`Server-Timing`** (`"Events": {"ServerTiming": true}`) puts the request's
//! step timings ([`Step`]) on refusals and `pass_through` answers, and gives them to a route as
//! [`ValidatedToken::server_timing`].
//!
//! ```
//! use std::cell::RefCell;
//! use edge_identity::{Event, Level, Metric, Metrics};
//!
//! #[derive(Default)]
//! struct Counter(RefCell<Vec<String>>);
//! impl Metrics for Counter {
//!     fn record(&self, metric: &Metric<'_>) {
//!         self.0.borrow_mut().push(format!("{} {} {}", metric.event, metric.outcome, metric.dimension));
//!     }
//! }
//! let counter = Counter::default();
//! let event = Event::new("downstream.call", Level::Warn, None).with("api", "Graph").with("status", 503);
//! counter.record(&event.metric());
//! assert_eq!(counter.0.borrow()[0], "downstream.call 5xx Graph");
//! ```
//!
//! ## Platforms
//!
//! The core talks to its host only through the traits in [`platform`]; adapters are features:
//!
//! | feature | adapters |
//! |---|---|
//! | `webcrypto` | `crypto.subtle` (verify, sign, AES-GCM, random), `Date.now()` clock (any JavaScript host) |
//! | `worker` | `webcrypto` + `fetch`, Workers KV, `ctx.wait_until`, `console.warn`, Analytics Engine counters, `web_api(&env, ctx)` |
//! | `rust-crypto` | RustCrypto verification, signing, AES-GCM and OS random (Spin, native) |
//! | `spin` | `rust-crypto` + Spin outbound HTTP, key-value store (with expiry in values) and variables (wasm32-wasip2) |
//! | `axum` | `worker` + workers-rs's `http` feature: `platform::worker::axum` (`serve`, the `Authorized<R>` extractor, `Error` as `IntoResponse`) |
//! | `coordinator` | `worker` + the coordinator Durable Object class, `platform::worker::coordinator::EdgeIdentityCoordinator` |
//!
//! ## Beyond one isolate
//!
//! Workers KV is eventually consistent, so on KV alone each isolate asks the provider for a
//! user's token once, and a session's end or owner reaches other locations late. A Worker that
//! turns on `coordinator`, exports the class (`pub use
//! edge_identity::platform::worker::coordinator::EdgeIdentityCoordinator;`) and binds a namespace
//! of it as `IDENTITY_COORDINATOR` gets, from the same `web_api(&env, ctx)`: one provider call per
//! token across isolates, and long-running sessions whose owner, end and refresh token are the
//! same everywhere at once. On any other host, [`platform::Coordinator`] is the seam to implement;
//! without one, nothing changes.
//!
//! ```text
//! [[durable_objects.bindings]]
//! name = "IDENTITY_COORDINATOR"
//! class_name = "EdgeIdentityCoordinator"
//!
//! [[migrations]]
//! tag = "v1"
//! new_sqlite_classes = ["EdgeIdentityCoordinator"]
//! ```
//!
//! See `docs/ARCHITECTURE.md` for where each concern lives.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

// The rooms are private; what a user needs is re-exported below, grouped by flow. The
// platform seam (`platform`) stays a public module: custom hosts implement its traits, and each
// adapter lives in its own feature-gated submodule.
mod acquisition;
mod base64url;
mod cache;
mod config;
mod config_error;
mod downstream;
mod error;
mod error_response;
mod event;
mod jose;
pub mod platform;
mod secret;
mod settings;
mod validation;
mod web_api;

// The front door.
pub use error::Error;
pub use event::{Event, EventOptions, Level, Metric, Metrics, Step, Trace, SERVER_TIMING_HEADER};
pub use settings::HostSettings;
pub use validation::authorize::{Requirement, ValidatedToken};
pub use validation::bearer::AuthorizationHeaders;
pub use web_api::WebApi;

// Configuration (Microsoft.Identity.Web's `AzureAd`, `DownstreamApis` and token cache sections).
pub use config::{
    AzureAdConfig, CredentialDescription, DownstreamApiConfig, DpopConfig, IdentityConfig,
    TokenCacheConfig, DEFAULT_INSTANCE,
};
pub use config_error::ConfigError;
pub use secret::{SealSecret, Secret};
pub use validation::authority::{Authority, TenantSpec};
pub use validation::options::{DpopMode, DpopOptions, ValidationOptions};

// Validation.
pub use jose::{Algorithm, Curve, KeyMaterial};
pub use validation::authorize::BearerToken;
pub use validation::challenge::{Refusal, Scheme};
/// DPoP proofs (RFC 9449): the checks, thumbprints and `ath` (see
/// [`TokenValidator::validate_request`]).
pub use validation::dpop;
pub use validation::error::{DpopError, KeySourceError, Malformation, TokenPart, ValidationError};
pub use validation::hooks::{
    OnAuthenticationFailed, OnChallenge, OnTokenValidated, ValidationHooks,
};
pub use validation::jwk::JwkSetError;
pub use validation::keys::KeySourcePolicy;
pub use validation::provider::Provider;
/// Protected-resource metadata (RFC 9728) (see [`TokenValidator::resource_metadata`]).
pub use validation::resource_metadata;
pub use validation::TokenValidator;

// Token acquisition.
pub use acquisition::{
    AcquiredToken, AcquisitionError, AcquisitionOptions, AcquisitionStats, Certificate,
    ClientAssertionProvider, ClientAuthMethod, ClientCredential, IdentityError, OnBehalfOfGrant,
    OnTokenAcquired, ProviderFailure, Session, SessionKey, SessionStart, TokenAcquirer,
    TokenRequest, TokenSource,
};
pub use cache::{CacheOptions, CacheStats};
pub use secret::{AccessToken, ClientSecret, RefreshToken};

// Downstream APIs.
pub use downstream::{
    CallAs, CallOptions, DownstreamApiOptions, DownstreamApis, DownstreamCall, DownstreamError,
    DownstreamResponse, PassedResponse, ReadyCall, CORRELATION_HEADER, GRAPH,
};

pub use platform::Platform;

/// Not part of the API: the parsers, limits and helpers the SDK's own tests and benchmarks
/// exercise directly. No stability promise; hidden from the documentation.
#[doc(hidden)]
pub mod internals {
    pub use crate::acquisition::token_endpoint::{CLIENT_ASSERTION_TYPE, MAX_TOKEN_RESPONSE_BYTES};
    pub use crate::jose::{MAX_RSA_BITS, MIN_RSA_BITS};
    pub use crate::validation::bearer::bearer_token;
    pub use crate::validation::jwk::{Jwk, JwkError, JwkSet, MAX_JWKS_BYTES, MAX_JWKS_KEYS};
    pub use crate::validation::keys::{parse_discovery, Discovery, MAX_DISCOVERY_BYTES};
    pub use crate::validation::parse::{Jws, JwsHeader, DEFAULT_MAX_TOKEN_BYTES};
    pub use crate::validation::signature::verify_jws;
}
