//! Resolved options for token acquisition, from the `AzureAd` and `TokenCache` sections plus
//! the secrets a host keeps outside the JSON (`CLIENT_SECRET`, `TOKEN_CACHE_KEY`).

use std::time::Duration;

use super::credential::ClientCredential;
use crate::cache::CacheOptions;
use crate::config::{bounded, checked_url, Authority, ConfigError, IdentityConfig, Secret};
use crate::platform::AssertionAlgorithm;

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
    /// An explicit token endpoint; otherwise Entra's is derived and a generic authority's is
    /// read from discovery.
    pub token_endpoint: Option<String>,
    /// How user tokens are exchanged.
    pub grant: OnBehalfOfGrant,
    /// The client credential; `None` fails every acquisition with a configuration error.
    pub credential: Option<ClientCredential>,
    /// Client capabilities sent in the `claims` parameter.
    pub client_capabilities: Vec<String>,
    /// Time budget of one acquisition, retry included.
    pub timeout: Duration,
    /// Token cache bounds and margins.
    pub cache: CacheOptions,
}

impl AcquisitionOptions {
    /// Reads the `AzureAd` and `TokenCache` sections. Errors name the field.
    pub fn from_config(config: &IdentityConfig) -> Result<AcquisitionOptions, ConfigError> {
        let section = &config.azure_ad;
        let validation = section.validation_options()?;
        let grant = match section.on_behalf_of_grant.as_deref() {
            Some("JwtBearer") => OnBehalfOfGrant::JwtBearer,
            Some("TokenExchange") => OnBehalfOfGrant::TokenExchange,
            None => match validation.authority {
                Authority::Entra { .. } => OnBehalfOfGrant::JwtBearer,
                Authority::Oidc { .. } => OnBehalfOfGrant::TokenExchange,
            },
            Some(_) => {
                return Err(ConfigError::new(
                    "AzureAd.OnBehalfOfGrant",
                    "must be JwtBearer or TokenExchange",
                ))
            }
        };
        let algorithm = match section.client_assertion_algorithm.as_deref() {
            None | Some("RS256") => AssertionAlgorithm::RS256,
            Some("PS256") => AssertionAlgorithm::PS256,
            Some(_) => {
                return Err(ConfigError::new(
                    "AzureAd.ClientAssertionAlgorithm",
                    "must be RS256 or PS256",
                ))
            }
        };
        let token_endpoint = match &section.token_endpoint {
            None => None,
            Some(url) => Some(checked_url(url, "AzureAd.TokenEndpoint")?.to_owned()),
        };
        for (i, capability) in section.client_capabilities.iter().enumerate() {
            if capability.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("AzureAd.ClientCapabilities[{i}]"),
                    "must not be empty",
                ));
            }
        }
        let cache = &config.token_cache;
        Ok(AcquisitionOptions {
            client_id: validation.client_id,
            authority: validation.authority,
            token_endpoint,
            grant,
            credential: ClientCredential::from_config(&section.client_credentials, algorithm)?,
            client_capabilities: section.client_capabilities.clone(),
            timeout: Duration::from_millis(bounded(
                section.token_request_timeout_ms,
                10_000,
                500..=60_000,
                "AzureAd.TokenRequestTimeoutMs",
            )?),
            cache: CacheOptions {
                max_entries: bounded(
                    cache.max_entries,
                    1000,
                    0..=1_000_000,
                    "TokenCache.MaxEntries",
                )? as usize,
                max_bytes: bounded(
                    cache.max_bytes,
                    4 * 1024 * 1024,
                    0..=512 * 1024 * 1024,
                    "TokenCache.MaxBytes",
                )? as usize,
                expiry_margin: Duration::from_secs(bounded(
                    cache.expiry_margin_seconds,
                    300,
                    0..=3600,
                    "TokenCache.ExpiryMarginSeconds",
                )?),
                session_max_idle: Duration::from_secs(
                    bounded(
                        cache.session_max_idle_days,
                        90,
                        1..=365,
                        "TokenCache.SessionMaxIdleDays",
                    )? * 24
                        * 3600,
                ),
            },
        })
    }

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
