//! [`ValidationOptions`]: the resolved, checked options a [`TokenValidator`](super::TokenValidator)
//! runs with (resolved from the configuration in `config/resolve.rs`).

use std::time::Duration;

use crate::jose::Algorithm;
use crate::validation::authority::Authority;
use crate::validation::provider::Provider;

/// Resolved, checked options for token validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationOptions {
    /// This API's client id.
    pub client_id: String,
    /// Whose tokens are accepted.
    pub authority: Authority,
    /// Whose token shapes: scopes, roles, app-only and ID-token rules.
    pub provider: Provider,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// Entra without a configured `Audience`/`Audiences`: the audience follows the token's
    /// version, as Microsoft.Identity.Web decides it: `ClientId` for `ver` 2.0, `api://{ClientId}`
    /// for `ver` 1.0, and a token with neither version is refused.
    pub audiences_by_token_version: bool,
    /// Issuers accepted in addition to the authority's own.
    pub valid_issuers: Vec<String>,
    /// Accepted header `typ` values (lower case, without `application/`), if restricted.
    pub valid_types: Option<Vec<String>>,
    /// Accepted tenant ids, if restricted.
    pub allowed_tenants: Option<Vec<String>>,
    /// Whether tokens with neither `scp` nor `roles` are accepted.
    pub allow_acl_authorization: bool,
    /// Clock skew tolerated on time claims.
    pub clock_skew: Duration,
    /// Largest token accepted, in bytes.
    pub max_token_bytes: usize,
    /// How long a key set is used before refetching.
    pub key_set_max_age: Duration,
    /// Least time between two fetches caused by unknown `kid`s.
    pub key_refresh_cooldown: Duration,
    /// Timeout for one metadata request.
    pub metadata_timeout: Duration,
    /// Accepted signing algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Verified tokens kept per isolate (0: none).
    pub verified_cache_max_entries: usize,
    /// Bytes the verified tokens may take.
    pub verified_cache_max_bytes: usize,
    /// DPoP (RFC 9449): whether and how sender-constrained tokens are taken.
    pub dpop: DpopOptions,
    /// The URL clients call this API at (`AzureAd.PublicUrl`): the `resource` of its
    /// protected-resource metadata (RFC 9728), and the scheme and host DPoP proofs' `htu` must
    /// name behind a proxy. `None`: the URL each request arrived at.
    pub public_url: Option<url::Url>,
    /// The scopes the protected-resource metadata announces (`scopes_supported`).
    pub scopes_supported: Vec<String>,
}

/// Whether an API takes DPoP-bound tokens (RFC 9449) and how it checks their proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopOptions {
    /// Off, allowed next to bearer tokens, or required.
    pub mode: DpopMode,
    /// The signature algorithms a proof may use (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// How old a proof's `iat` may be; its `jti` is remembered for as long.
    pub proof_max_age: Duration,
    /// How far in the future a proof's `iat` may be (clients' clocks differ).
    pub proof_clock_skew: Duration,
    /// Whether proofs must carry a nonce this API issued (`DPoP-Nonce`, RFC 9449 §8).
    pub nonce: bool,
    /// Whether a token bound to a key (`cnf`) is taken as a bearer token without proof: only for
    /// a deployment that checks the binding elsewhere (mutual TLS at a proxy, RFC 8705).
    pub bound_tokens_as_bearer: bool,
    /// Whether proofs are remembered in the shared store too (where one is bound), so another
    /// isolate refuses a replay; otherwise in the isolate only.
    pub replay_across_isolates: bool,
}

/// How an API treats DPoP (`AzureAd.Dpop.Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopMode {
    /// Only `Authorization: Bearer`; a bound token is refused (RFC 9449 §7.2). The default with
    /// Entra, which issues no DPoP-bound tokens.
    Off,
    /// `Authorization: DPoP` with its proof, and unbound bearer tokens. The default for every
    /// other provider.
    Allowed,
    /// `Authorization: DPoP` only.
    Required,
}

impl DpopOptions {
    /// The algorithms a proof may use by default: those RFC 9449's examples and providers use.
    pub const DEFAULT_ALGORITHMS: [Algorithm; 4] =
        [Algorithm::ES256, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA];

    /// The defaults for `mode`: the default algorithms, proofs up to 300 s old and 60 s ahead,
    /// no nonce, bound tokens never bearer tokens.
    pub fn new(mode: DpopMode) -> DpopOptions {
        DpopOptions {
            mode,
            algorithms: DpopOptions::DEFAULT_ALGORITHMS.to_vec(),
            proof_max_age: Duration::from_secs(300),
            proof_clock_skew: Duration::from_secs(60),
            nonce: false,
            bound_tokens_as_bearer: false,
            replay_across_isolates: true,
        }
    }

    /// The `algs` value of a `DPoP` challenge: the accepted algorithms, space-separated.
    pub fn algs(&self) -> String {
        self.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>().join(" ")
    }
}
