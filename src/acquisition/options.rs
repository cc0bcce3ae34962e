//! Resolved options for token acquisition: what the `AzureAd` and `TokenCache` sections become
//! (resolved in `config/resolve.rs`), plus the client secret a host keeps outside the JSON.

use std::time::Duration;

use super::client_auth::ClientAuthMethod;
use super::credential::ClientCredential;
use crate::cache::CacheOptions;
use crate::config_error::ConfigError;
use crate::secret::Secret;
use crate::validation::authority::Authority;
use crate::validation::provider::Provider;

/// How a user's token is exchanged for a downstream token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBehalfOfGrant {
    /// The Entra on-behalf-of grant (`jwt-bearer`, `requested_token_use=on_behalf_of`).
    JwtBearer,
    /// RFC 8693 token exchange.
    TokenExchange,
}

/// Everything a [`TokenAcquirer`](super::TokenAcquirer) needs.
#[derive(Debug, Clone)]
pub struct AcquisitionOptions {
    /// This API's client id.
    pub client_id: String,
    /// The authority tokens are requested from.
    pub authority: Authority,
    /// Whose token shapes (an app-only caller is never exchanged; Entra keeps its client
    /// authentication).
    pub provider: Provider,
    /// The configured client authentication method; otherwise chosen per request
    /// ([`ClientAuthMethod`]).
    pub auth_method: Option<ClientAuthMethod>,
    /// An explicit token endpoint; otherwise Entra's is derived and a generic authority's is
    /// read from discovery.
    pub token_endpoint: Option<String>,
    /// How user tokens are exchanged.
    pub grant: OnBehalfOfGrant,
    /// The client credential; `None` fails every acquisition with a configuration error.
    pub credential: Option<ClientCredential>,
    /// Client capabilities sent in the `claims` parameter.
    pub client_capabilities: Vec<String>,
    /// Whether a caller's token bound to a key (DPoP, mutual TLS) is exchanged: the SDK proves
    /// no key at the token endpoint, so the downstream token it gets is unbound. Off unless
    /// `AzureAd.Dpop.ExchangeBoundTokens`: a bound caller is refused (`bound_caller`).
    pub exchange_bound_tokens: bool,
    /// Time budget of one acquisition, retry included.
    pub timeout: Duration,
    /// Token cache bounds and margins.
    pub cache: CacheOptions,
}

impl AcquisitionOptions {
    /// Uses `secret` as the client secret (a host secret such as `CLIENT_SECRET`), in place of
    /// any `ClientCredentials` entry. `field` names the secret in errors.
    pub fn with_client_secret(mut self, secret: Secret, field: &str) -> Result<Self, ConfigError> {
        if secret.expose().trim().is_empty() {
            return Err(ConfigError::new(field, "must not be empty"));
        }
        self.credential =
            Some(ClientCredential::Secret(crate::secret::ClientSecret::new(secret.expose())));
        Ok(self)
    }
}
