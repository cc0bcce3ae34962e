//! Configuration resolved in one home: the JSON sections ([`IdentityConfig`]) become the
//! options each part runs on — [`ValidationOptions`] (`AzureAd`), [`AcquisitionOptions`]
//! (`AzureAd` + `TokenCache`) with its [`ClientCredential`] (`ClientCredentials`), and
//! [`DownstreamApiOptions`] (each `DownstreamApis` entry). Every
//! numeric setting's default and allowed range is in the table below; every error names the
//! field.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{
    checked_url, non_empty, AzureAdConfig, CredentialDescription, DownstreamApiConfig,
    IdentityConfig, DEFAULT_INSTANCE,
};
use crate::acquisition::TokenAcquirer;
use crate::acquisition::{
    AcquisitionOptions, Certificate, ClientAuthMethod, ClientCredential, OnBehalfOfGrant,
};
use crate::cache::CacheOptions;
use crate::config_error::ConfigError;
use crate::downstream::options::{is_reserved_header, join_below};
use crate::downstream::DownstreamApiOptions;
use crate::downstream::DownstreamApis;
use crate::event::{EventOptions, Level};
use crate::jose::media_type;
use crate::jose::Algorithm;
use crate::platform::Platform;
use crate::platform::{AssertionAlgorithm, DEFAULT_MAX_RESPONSE_BYTES};
use crate::secret::ClientSecret;
use crate::secret::Secret;
use crate::validation::authority::{is_guid, Authority, TenantSpec};
use crate::validation::options::{DpopMode, DpopOptions, ValidationOptions};
use crate::validation::parse::DEFAULT_MAX_TOKEN_BYTES;
use crate::validation::provider::Provider;
use crate::validation::TokenValidator;

const AZURE_AD: &str = "AzureAd";
const TOKEN_CACHE: &str = "TokenCache";

/// A numeric setting: its member name, its default and its allowed range (inclusive).
struct Bound {
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
}

// Every numeric setting, with its default and bounds.
const CLOCK_SKEW_SECONDS: Bound =
    Bound { name: "ClockSkewSeconds", default: 300, min: 0, max: 3600 };
const MAX_TOKEN_BYTES: Bound = Bound {
    name: "MaxTokenBytes",
    default: DEFAULT_MAX_TOKEN_BYTES as u64,
    min: 256,
    max: 1024 * 1024,
};
const KEY_SET_MAX_AGE_SECONDS: Bound =
    Bound { name: "KeySetMaxAgeSeconds", default: 12 * 3600, min: 60, max: 7 * 24 * 3600 };
const KEY_REFRESH_COOLDOWN_SECONDS: Bound =
    Bound { name: "KeyRefreshCooldownSeconds", default: 30, min: 1, max: 3600 };
const METADATA_TIMEOUT_MS: Bound =
    Bound { name: "MetadataTimeoutMs", default: 5000, min: 100, max: 60_000 };
const VERIFIED_TOKEN_CACHE_MAX_ENTRIES: Bound =
    Bound { name: "VerifiedTokenCacheMaxEntries", default: 1000, min: 0, max: 100_000 };
const VERIFIED_TOKEN_CACHE_MAX_BYTES: Bound = Bound {
    name: "VerifiedTokenCacheMaxBytes",
    default: 4 * 1024 * 1024,
    min: 0,
    max: 256 * 1024 * 1024,
};
const DPOP_PROOF_MAX_AGE_SECONDS: Bound =
    Bound { name: "ProofMaxAgeSeconds", default: 300, min: 5, max: 3600 };
const TOKEN_REQUEST_TIMEOUT_MS: Bound =
    Bound { name: "TokenRequestTimeoutMs", default: 10_000, min: 500, max: 60_000 };
const CACHE_MAX_ENTRIES: Bound =
    Bound { name: "MaxEntries", default: 1000, min: 0, max: 1_000_000 };
const CACHE_MAX_BYTES: Bound =
    Bound { name: "MaxBytes", default: 4 * 1024 * 1024, min: 0, max: 512 * 1024 * 1024 };
const CACHE_EXPIRY_MARGIN_SECONDS: Bound =
    Bound { name: "ExpiryMarginSeconds", default: 300, min: 0, max: 3600 };
const SESSION_MAX_IDLE_DAYS: Bound =
    Bound { name: "SessionMaxIdleDays", default: 90, min: 1, max: 365 };
const DOWNSTREAM_TIMEOUT_MS: Bound =
    Bound { name: "TimeoutMs", default: 10_000, min: 100, max: 120_000 };
// Read only when set (unset: a passed body has no limit of its own), so its default is never used.
const DOWNSTREAM_BODY_TIMEOUT_MS: Bound =
    Bound { name: "BodyTimeoutMs", default: 0, min: 1000, max: 3_600_000 };
const DOWNSTREAM_MAX_RESPONSE_BYTES: Bound = Bound {
    name: "MaxResponseBytes",
    default: DEFAULT_MAX_RESPONSE_BYTES as u64,
    min: 1024,
    max: 64 * 1024 * 1024,
};

impl Bound {
    /// `value`, or the default, if within the bounds; else an error naming `section.name`.
    fn read(&self, section: &str, value: Option<u64>) -> Result<u64, ConfigError> {
        let value = value.unwrap_or(self.default);
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::new(
                format!("{section}.{}", self.name),
                format!("must be between {} and {}", self.min, self.max),
            ))
        }
    }

    fn seconds(&self, section: &str, value: Option<u64>) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(self.read(section, value)?))
    }

    fn millis(&self, section: &str, value: Option<u64>) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(self.read(section, value)?))
    }

    fn size(&self, section: &str, value: Option<u64>) -> Result<usize, ConfigError> {
        // Every bound fits a 32-bit usize.
        Ok(usize::try_from(self.read(section, value)?).unwrap_or(usize::MAX))
    }
}

impl AzureAdConfig {
    /// Checks the section and resolves defaults into the options token validation runs on.
    pub fn validation_options(&self) -> Result<ValidationOptions, ConfigError> {
        let client_id = non_empty(self.client_id.as_deref(), "AzureAd.ClientId")?;
        let authority = match (&self.authority, &self.tenant_id) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "AzureAd.Authority",
                    "set either Authority (any OpenID Connect issuer) or Instance and TenantId (Entra ID), not both",
                ))
            }
            (Some(authority), None) => {
                if self.use_app_specific_signing_keys {
                    return Err(ConfigError::new(
                        "AzureAd.UseAppSpecificSigningKeys",
                        "applies to Entra ID (Instance and TenantId) only",
                    ));
                }
                let url = checked_url(authority, "AzureAd.Authority")?;
                Authority::Oidc { issuer_url: url.trim_end_matches('/').to_owned() }
            }
            (None, Some(tenant)) => {
                let instance = checked_url(
                    self.instance.as_deref().unwrap_or(DEFAULT_INSTANCE),
                    "AzureAd.Instance",
                )?;
                let instance = format!("{}/", instance.trim_end_matches('/'));
                let app_specific_keys_for =
                    self.use_app_specific_signing_keys.then(|| client_id.to_owned());
                Authority::Entra { instance, tenant: TenantSpec::parse(tenant)?, app_specific_keys_for }
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "AzureAd.TenantId",
                    "is required (or set Authority for a provider other than Entra ID)",
                ))
            }
        };

        let provider = match (self.provider.as_deref(), &authority) {
            (None, Authority::Entra { .. }) => Provider::Entra,
            (None, Authority::Oidc { .. }) => Provider::Generic,
            (Some(name), _) => Provider::from_name(name).ok_or_else(|| {
                ConfigError::new(
                    "AzureAd.Provider",
                    "must be Entra, Generic, Auth0, Okta, Keycloak, Cognito or CloudflareAccess",
                )
            })?,
        };
        if matches!(authority, Authority::Entra { .. }) && provider != Provider::Entra {
            return Err(ConfigError::new(
                "AzureAd.Provider",
                "must be Entra with Instance and TenantId (set Authority for another provider)",
            ));
        }

        let audiences_by_token_version = self.audience.is_none()
            && self.audiences.is_none()
            && matches!(authority, Authority::Entra { .. });
        let audiences = match (&self.audience, &self.audiences) {
            (None, None) => vec![client_id.to_owned(), format!("api://{client_id}")],
            (one, many) => {
                let mut list = Vec::new();
                if let Some(a) = one {
                    list.push(non_empty(Some(a), "AzureAd.Audience")?.to_owned());
                }
                for (i, a) in many.iter().flatten().enumerate() {
                    list.push(non_empty(Some(a), &format!("AzureAd.Audiences[{i}]"))?.to_owned());
                }
                if list.is_empty() {
                    return Err(ConfigError::new("AzureAd.Audiences", "must not be empty"));
                }
                list
            }
        };

        let mut valid_issuers = Vec::new();
        for (i, issuer) in self.valid_issuers.iter().flatten().enumerate() {
            valid_issuers
                .push(non_empty(Some(issuer), &format!("AzureAd.ValidIssuers[{i}]"))?.to_owned());
        }

        let allowed_tenants = match &self.allowed_tenants {
            None => None,
            Some(list) => {
                let mut tenants = Vec::new();
                for (i, t) in list.iter().enumerate() {
                    if !is_guid(t) {
                        return Err(ConfigError::new(
                            format!("AzureAd.AllowedTenants[{i}]"),
                            "must be a tenant id (a GUID)",
                        ));
                    }
                    tenants.push(t.to_ascii_lowercase());
                }
                Some(tenants)
            }
        };

        let algorithms = match &self.valid_algorithms {
            None => Algorithm::ALL.to_vec(),
            Some(names) => {
                let mut algs = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    algs.push(Algorithm::from_name(name).ok_or_else(|| {
                        ConfigError::new(
                            format!("AzureAd.ValidAlgorithms[{i}]"),
                            "must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA",
                        )
                    })?);
                }
                if algs.is_empty() {
                    return Err(ConfigError::new("AzureAd.ValidAlgorithms", "must not be empty"));
                }
                algs
            }
        };

        for (i, credential) in self.client_credentials.iter().enumerate() {
            credential.check(&format!("AzureAd.ClientCredentials[{i}]"))?;
        }

        let valid_types = match &self.valid_types {
            None => provider.default_valid_types(),
            Some(types) => {
                let mut list = Vec::new();
                for (i, t) in types.iter().enumerate() {
                    let t = non_empty(Some(t), &format!("AzureAd.ValidTypes[{i}]"))?;
                    list.push(media_type(t));
                }
                if list.is_empty() {
                    return Err(ConfigError::new("AzureAd.ValidTypes", "must not be empty"));
                }
                Some(list)
            }
        };

        let dpop = self.dpop_options(provider)?;
        let public_url = match self.public_url.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => {
                let url = url::Url::parse(text).ok().filter(|u| {
                    matches!(u.scheme(), "https" | "http")
                        && u.host_str().is_some()
                        && u.query().is_none()
                        && u.fragment().is_none()
                });
                Some(url.ok_or_else(|| {
                    ConfigError::new(
                        "AzureAd.PublicUrl",
                        "must be an absolute http(s) URL without query or fragment",
                    )
                })?)
            }
        };
        let mut scopes_supported = Vec::new();
        for (i, scope) in self.scopes_supported.iter().flatten().enumerate() {
            let scope = non_empty(Some(scope), &format!("AzureAd.ScopesSupported[{i}]"))?;
            if scope.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
                return Err(ConfigError::new(
                    format!("AzureAd.ScopesSupported[{i}]"),
                    "must be one scope, without spaces or quotes",
                ));
            }
            scopes_supported.push(scope.to_owned());
        }

        Ok(ValidationOptions {
            client_id: client_id.to_owned(),
            authority,
            provider,
            audiences,
            audiences_by_token_version,
            valid_types,
            valid_issuers,
            allowed_tenants,
            allow_acl_authorization: self.allow_web_api_to_be_authorized_by_acl,
            clock_skew: CLOCK_SKEW_SECONDS.seconds(AZURE_AD, self.clock_skew_seconds)?,
            max_token_bytes: MAX_TOKEN_BYTES
                .size(AZURE_AD, self.max_token_bytes.map(|v| v as u64))?,
            key_set_max_age: KEY_SET_MAX_AGE_SECONDS
                .seconds(AZURE_AD, self.key_set_max_age_seconds)?,
            key_refresh_cooldown: KEY_REFRESH_COOLDOWN_SECONDS
                .seconds(AZURE_AD, self.key_refresh_cooldown_seconds)?,
            metadata_timeout: METADATA_TIMEOUT_MS.millis(AZURE_AD, self.metadata_timeout_ms)?,
            algorithms,
            verified_cache_max_entries: VERIFIED_TOKEN_CACHE_MAX_ENTRIES
                .size(AZURE_AD, self.verified_token_cache_max_entries)?,
            verified_cache_max_bytes: VERIFIED_TOKEN_CACHE_MAX_BYTES
                .size(AZURE_AD, self.verified_token_cache_max_bytes)?,
            dpop,
            public_url,
            scopes_supported,
        })
    }

    /// The `Dpop` section, with the defaults for `provider`.
    fn dpop_options(&self, provider: Provider) -> Result<DpopOptions, ConfigError> {
        const SECTION: &str = "AzureAd.Dpop";
        let default_mode =
            if provider == Provider::Entra { DpopMode::Off } else { DpopMode::Allowed };
        let Some(section) = &self.dpop else { return Ok(DpopOptions::new(default_mode)) };
        let mode = match section.mode.as_deref() {
            None => default_mode,
            Some("Off") => DpopMode::Off,
            Some("Allowed") => DpopMode::Allowed,
            Some("Required") => DpopMode::Required,
            Some(_) => {
                return Err(ConfigError::new(
                    format!("{SECTION}.Mode"),
                    "must be Off, Allowed or Required",
                ))
            }
        };
        let mut options = DpopOptions::new(mode);
        if let Some(names) = &section.algorithms {
            let mut algs = Vec::new();
            for (i, name) in names.iter().enumerate() {
                algs.push(Algorithm::from_name(name).ok_or_else(|| {
                    ConfigError::new(
                        format!("{SECTION}.Algorithms[{i}]"),
                        "must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA",
                    )
                })?);
            }
            if algs.is_empty() {
                return Err(ConfigError::new(format!("{SECTION}.Algorithms"), "must not be empty"));
            }
            options.algorithms = algs;
        }
        options.proof_max_age =
            DPOP_PROOF_MAX_AGE_SECONDS.seconds(SECTION, section.proof_max_age_seconds)?;
        options.nonce = section.nonce;
        options.bound_tokens_as_bearer = section.bound_tokens_as_bearer;
        options.replay_across_isolates = section.replay_across_isolates.unwrap_or(true);
        Ok(options)
    }
}

impl crate::config::EventsConfig {
    /// The resolved `Events` section. Errors name the field.
    pub fn event_options(&self) -> Result<EventOptions, ConfigError> {
        let level = match self.level.as_deref() {
            None | Some("Off") => Level::Off,
            Some("Warn") => Level::Warn,
            Some("Info") => Level::Info,
            Some(_) => return Err(ConfigError::new("Events.Level", "must be Off, Warn or Info")),
        };
        let sample_rate = self.sample_rate.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&sample_rate) {
            return Err(ConfigError::new("Events.SampleRate", "must be between 0 and 1"));
        }
        let mut claims = Vec::new();
        for (i, name) in
            self.claims.clone().unwrap_or_else(|| vec!["tid".into()]).iter().enumerate()
        {
            let name = non_empty(Some(name), &format!("Events.Claims[{i}]"))?;
            if name == "oid" {
                return Err(ConfigError::new(
                    format!("Events.Claims[{i}]"),
                    "oid is written only as a hash (oid_hash)",
                ));
            }
            claims.push(name.to_owned());
        }
        Ok(EventOptions { level, sample_rate, claims, server_timing: self.server_timing })
    }
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
        let credential = ClientCredential::from_config(&section.client_credentials, algorithm)?;
        let auth_field = "AzureAd.TokenEndpointAuthMethod";
        let auth_method = match section.token_endpoint_auth_method.as_deref() {
            None => None,
            Some(name) => Some(ClientAuthMethod::from_name(name).ok_or_else(|| {
                ConfigError::new(
                    auth_field,
                    "must be client_secret_basic, client_secret_post or private_key_jwt",
                )
            })?),
        };
        if let (Some(method), Some(credential)) = (auth_method, &credential) {
            if !method.fits(credential) {
                return Err(ConfigError::new(
                    auth_field,
                    "does not fit ClientCredentials[0] (a secret is sent with client_secret_basic or client_secret_post, a certificate or assertion with private_key_jwt)",
                ));
            }
        }
        let cache = &config.token_cache;
        Ok(AcquisitionOptions {
            client_id: validation.client_id,
            authority: validation.authority,
            provider: validation.provider,
            auth_method,
            token_endpoint,
            grant,
            credential,
            client_capabilities: section.client_capabilities.clone(),
            exchange_bound_tokens: section.dpop.as_ref().is_some_and(|d| d.exchange_bound_tokens),
            timeout: TOKEN_REQUEST_TIMEOUT_MS.millis(AZURE_AD, section.token_request_timeout_ms)?,
            cache: CacheOptions {
                max_entries: CACHE_MAX_ENTRIES.size(TOKEN_CACHE, cache.max_entries)?,
                max_bytes: CACHE_MAX_BYTES.size(TOKEN_CACHE, cache.max_bytes)?,
                expiry_margin: CACHE_EXPIRY_MARGIN_SECONDS
                    .seconds(TOKEN_CACHE, cache.expiry_margin_seconds)?,
                session_max_idle: Duration::from_secs(
                    SESSION_MAX_IDLE_DAYS.read(TOKEN_CACHE, cache.session_max_idle_days)?
                        * 24
                        * 3600,
                ),
            },
        })
    }
}

impl DownstreamApiOptions {
    /// Resolves the entry `name` of `DownstreamApis`. Errors name the field
    /// (`DownstreamApis.Partner.BaseUrl`).
    pub fn from_config(
        name: &str,
        config: &DownstreamApiConfig,
    ) -> Result<DownstreamApiOptions, ConfigError> {
        let section = format!("DownstreamApis.{name}");
        let field = |member: &str| format!("{section}.{member}");
        let base_url = config
            .base_url
            .as_deref()
            .ok_or_else(|| ConfigError::new(field("BaseUrl"), "is required"))?;
        let base_url = checked_url(base_url, &field("BaseUrl"))?.trim_end_matches('/').to_owned();
        let mut scopes = Vec::new();
        for (i, scope) in config.scopes.iter().flatten().enumerate() {
            if scope.trim().is_empty() || scope.contains(char::is_whitespace) {
                return Err(ConfigError::new(
                    format!("{}[{i}]", field("Scopes")),
                    "must be one scope, without spaces",
                ));
            }
            scopes.push(scope.clone());
        }
        if scopes.is_empty() {
            return Err(ConfigError::new(field("Scopes"), "is required and must not be empty"));
        }
        let method = match config.http_method.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("GET") => Method::GET,
            Some("POST") => Method::POST,
            Some("PUT") => Method::PUT,
            Some("PATCH") => Method::PATCH,
            Some("DELETE") => Method::DELETE,
            Some(_) => {
                return Err(ConfigError::new(
                    field("HttpMethod"),
                    "must be GET, POST, PUT, PATCH or DELETE",
                ))
            }
        };
        let relative_path = config.relative_path.clone().unwrap_or_default();
        if join_below(&base_url, &relative_path).is_none() {
            return Err(ConfigError::new(
                field("RelativePath"),
                "must be a relative path that stays below BaseUrl (no `..`, `//`, `\\`, `%2F`, `%5C`, `#`, spaces or control characters)",
            ));
        }
        let mut headers = Vec::new();
        for (header, value) in &config.headers {
            let header_field = format!("{}.{header}", field("Headers"));
            let parsed = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| ConfigError::new(&header_field, "is not a valid header name"))?;
            if is_reserved_header(&parsed) {
                return Err(ConfigError::new(
                    &header_field,
                    "is reserved (Authorization, Host, Cookie, Content-Length, Transfer-Encoding) and can't be configured",
                ));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| ConfigError::new(&header_field, "is not a valid header value"))?;
            headers.push((parsed, value));
        }
        Ok(DownstreamApiOptions {
            base_url,
            scopes,
            relative_path,
            method,
            request_app_token: config.request_app_token,
            timeout: DOWNSTREAM_TIMEOUT_MS.millis(&section, config.timeout_ms)?,
            body_timeout: config
                .body_timeout_ms
                .map(|ms| DOWNSTREAM_BODY_TIMEOUT_MS.millis(&section, Some(ms)))
                .transpose()?,
            headers,
            audience: config.audience.clone(),
            resource: config.resource.clone(),
            max_response_bytes: DOWNSTREAM_MAX_RESPONSE_BYTES
                .size(&section, config.max_response_bytes)?,
        })
    }
}

impl ClientCredential {
    /// The first entry of `ClientCredentials` (Microsoft.Identity.Web uses the first that
    /// works; the SDK can't try a certificate before it is needed, so it takes the first).
    /// `Base64Encoded` is base64 of a PEM bundle, see [`Certificate::from_pem`].
    pub fn from_config(
        list: &[CredentialDescription],
        algorithm: AssertionAlgorithm,
    ) -> Result<Option<ClientCredential>, ConfigError> {
        let Some(first) = list.first() else {
            return Ok(None);
        };
        let field = "AzureAd.ClientCredentials[0]";
        first.check(field)?;
        let value = |v: &Option<Secret>| v.as_ref().map(|s| s.expose().trim().to_owned());
        Ok(Some(match first.source_type.as_str() {
            "ClientSecret" => ClientCredential::Secret(ClientSecret::new(
                value(&first.client_secret).unwrap_or_default(),
            )),
            "SignedAssertion" => ClientCredential::SignedAssertion(Secret::new(
                value(&first.signed_assertion).unwrap_or_default(),
            )),
            _ => {
                let field = format!("{field}.Base64EncodedValue");
                let encoded = value(&first.base64_encoded_value).unwrap_or_default();
                let decoded = STANDARD
                    .decode(encoded.replace(['\n', '\r', ' '], ""))
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        ConfigError::new(&field, "must be standard base64 of a PEM bundle")
                    })?;
                ClientCredential::Certificate(Certificate::from_pem(&decoded, algorithm, &field)?)
            }
        }))
    }
}

// The constructors from configuration. They live here, next to the resolution they wrap, so
// that validation, acquisition and downstream calls never import the floor above them.

impl TokenValidator {
    /// A validator for an `AzureAd` configuration section.
    pub fn from_config(config: &AzureAdConfig, platform: Platform) -> Result<Self, ConfigError> {
        Ok(Self::new(config.validation_options()?, platform))
    }
}

impl TokenAcquirer {
    /// An acquirer from the configuration document (see [`AcquisitionOptions::from_config`]).
    pub fn from_config(
        platform: Platform,
        config: &IdentityConfig,
    ) -> Result<TokenAcquirer, ConfigError> {
        Ok(TokenAcquirer::new(platform, AcquisitionOptions::from_config(config)?))
    }
}

impl DownstreamApis {
    /// The APIs of the configuration's `DownstreamApis` section. Errors name the field.
    pub fn from_config(
        acquirer: TokenAcquirer,
        config: &IdentityConfig,
    ) -> Result<Self, ConfigError> {
        let mut apis = std::collections::BTreeMap::new();
        for (name, entry) in &config.downstream_apis {
            apis.insert(name.clone(), DownstreamApiOptions::from_config(name, entry)?);
        }
        Ok(DownstreamApis::new(acquirer, apis))
    }
}
