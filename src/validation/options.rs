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
}
