//! # edge-identity
//!
//! Protect a WebAssembly edge function (Cloudflare Workers first, Fermyon Spin second) with the
//! caller's OAuth 2.0 access token — what Microsoft.Identity.Web's `AddMicrosoftIdentityWebApi`
//! and `RequiredScope` do for ASP.NET Core, for the edge and without tokio.
//!
//! ## Validate the caller's token
//!
//! A request arrives with `Authorization: Bearer <token>`. A [`TokenValidator`]:
//!
//! 1. reads the header ([`validation::bearer`]) and parses the JWT strictly ([`validation::parse`]):
//!    size cap, three segments, canonical base64url, JSON objects without repeated members,
//!    no `crit`, no embedded (`jwk`, `x5c`) or remote (`jku`, `x5u`) keys;
//! 2. checks `alg` against an allow-list (RS/PS 256–512, ES256/384, EdDSA; never `none` or `HS*`);
//! 3. finds the key in the issuer's JWK Set, fetched through OIDC discovery and cached per isolate
//!    and in a shared key-value store, refetched once for an unknown `kid` ([`validation::keys`]);
//! 4. verifies the signature with WebCrypto (`crypto.subtle`) on Workers or pure Rust elsewhere;
//! 5. checks `exp`/`nbf`/`iat` with clock skew, the issuer (exact, Entra v1/v2, multi-tenant with
//!    `{tenantid}`), the audience and the tenant;
//! 6. leaves the route to require scopes or app roles ([`ValidatedToken::require_scope`]).
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
//! use edge_identity::{config::IdentityConfig, platform::*, TokenValidator};
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
//! let platform = Platform::new(
//!     Rc::new(MyHttp),                                  // Workers: platform::worker::WorkerFetch
//!     Rc::new(rust_crypto::RustCrypto),         // Workers: platform::webcrypto::WebCrypto
//!     Rc::new(SystemClock),                             // Workers: platform::webcrypto::JsClock
//! ).with_store(Rc::new(MemoryStore::new()));            // Workers: platform::worker::WorkersKv
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
//! ## Platforms
//!
//! The core talks to its host only through the traits in [`platform`]; adapters are features:
//!
//! | feature | adapters |
//! |---|---|
//! | `webcrypto` | `crypto.subtle` verification, `Date.now()` clock (any JavaScript host) |
//! | `worker` | `webcrypto` + workers-rs `Fetch` and Workers KV |
//! | `rust-crypto` | RustCrypto verification (Spin, native) |
//!
//! See `docs/ARCHITECTURE.md` for where each concern lives.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod acquisition;
mod base64url;
pub mod cache;
pub mod config;
pub mod downstream;
pub mod error;
pub mod platform;
pub mod validation;

pub use acquisition::{
    AcquiredToken, AcquisitionError, AcquisitionOptions, SessionKey, TokenAcquirer, TokenRequest,
};
pub use downstream::{CallAs, DownstreamApis, DownstreamError};

pub use config::{AzureAdConfig, ConfigError, IdentityConfig};
pub use error::ValidationError;
pub use platform::Platform;
pub use validation::authorize::{BearerToken, ValidatedToken};
pub use validation::TokenValidator;
