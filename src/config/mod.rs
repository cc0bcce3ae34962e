//! Configuration in the shape Microsoft.Identity.Web users know: an `AzureAd` section
//! (`Instance`, `TenantId`, `ClientId`, `Audience`/`Audiences`, `ClientCredentials`, ...), read
//! from JSON, checked into [`ValidationOptions`] with errors that name the offending field.
//!
//! ```
//! use edge_identity::IdentityConfig;
//!
//! let config = IdentityConfig::from_json(r#"{
//!   "AzureAd": {
//!     "Instance": "https://login.microsoftonline.com/",
//!     "TenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
//!     "ClientId": "6e74172b-be56-4843-9ff4-e66a39bb12e3"
//!   }
//! }"#).unwrap();
//! let options = config.azure_ad.validation_options().unwrap();
//! assert_eq!(options.audiences, ["6e74172b-be56-4843-9ff4-e66a39bb12e3",
//!                                "api://6e74172b-be56-4843-9ff4-e66a39bb12e3"]);
//!
//! let err = IdentityConfig::from_json(r#"{"AzureAd": {"TenantId": "common", "ClientId": 5}}"#)
//!     .unwrap_err();
//! assert_eq!(err.field, "AzureAd.ClientId");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

mod resolve;

use crate::config_error::ConfigError;
use crate::secret::Secret;
use crate::validation::authority::is_metadata_url;

/// The public-cloud Entra instance, used when `Instance` is not set.
pub const DEFAULT_INSTANCE: &str = "https://login.microsoftonline.com/";

/// The whole configuration document: `{"AzureAd": {...}, "DownstreamApis": {...},
/// "TokenCache": {...}}`. Only `AzureAd` is required; other top-level sections are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct IdentityConfig {
    /// The `AzureAd` section: who this API is and whose tokens it accepts.
    #[serde(rename = "AzureAd")]
    pub azure_ad: AzureAdConfig,
    /// The `DownstreamApis` section: the APIs this API calls, by name.
    #[serde(rename = "DownstreamApis", default)]
    pub downstream_apis: BTreeMap<String, DownstreamApiConfig>,
    /// The `TokenCache` section: bounds and margins of the token cache.
    #[serde(rename = "TokenCache", default)]
    pub token_cache: TokenCacheConfig,
    /// The `Events` section: the structured events the SDK writes ([`Event`](crate::Event)).
    #[serde(rename = "Events", default)]
    pub events: EventsConfig,
}

/// The `Events` section: `{"Level": "Info", "SampleRate": 0.1, "Claims": ["tid"],
/// "ServerTiming": false}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EventsConfig {
    /// `Off` (the default), `Warn` (refusals and failures) or `Info` (every decision).
    #[serde(default)]
    pub level: Option<String>,
    /// The share of requests whose `info` events are written, 0 to 1 (default 1).
    #[serde(default)]
    pub sample_rate: Option<f64>,
    /// The claims written verbatim with a validated request (default `["tid"]`). `oid` is
    /// written only as a hash, whatever this says.
    #[serde(default)]
    pub claims: Option<Vec<String>>,
    /// Whether answers carry a `Server-Timing` header with what validation, token acquisition
    /// and downstream calls took (default `false`: it tells every caller).
    #[serde(default)]
    pub server_timing: bool,
}

/// One entry of `DownstreamApis`, in the Microsoft.Identity.Web shape:
/// `{"BaseUrl": "https://graph.microsoft.com/v1.0", "Scopes": ["User.Read"], "RelativePath": "me"}`.
/// `Debug` shows header names, never their values (an API key may be one).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct DownstreamApiConfig {
    /// The API's base URL (`https`, or `http` to a loopback host for local development).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The scopes a token for this API is requested with.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The default path below `BaseUrl`.
    #[serde(default)]
    pub relative_path: Option<String>,
    /// The default method (`GET` unless set).
    #[serde(default)]
    pub http_method: Option<String>,
    /// Call as the application (client credentials) instead of on behalf of the user.
    #[serde(default)]
    pub request_app_token: bool,
    /// Timeout of one call, in milliseconds (default 10000): up to the response's status for a
    /// body passed on unread, the whole answer otherwise.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// How long a body passed on unread (`pass_through`) may take to stream to the client after
    /// its status was sent, in milliseconds (default: no limit of its own; on Workers a limit
    /// costs a pipe per call, about 12 % of the example's warm requests per second).
    #[serde(default)]
    pub body_timeout_ms: Option<u64>,
    /// Extra request headers sent on every call.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// RFC 8693 token exchange only: the `audience` parameter for this API.
    #[serde(default)]
    pub audience: Option<String>,
    /// RFC 8693 token exchange only: the `resource` parameter for this API.
    #[serde(default)]
    pub resource: Option<String>,
    /// The largest response body read from this API, in bytes (default 4 MiB); a longer one is
    /// cut off while it is read and the call fails (502).
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
}

/// The `TokenCache` section. Every member is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TokenCacheConfig {
    /// Most tokens kept in isolate memory (default 1000).
    #[serde(default)]
    pub max_entries: Option<u64>,
    /// Most bytes of tokens kept in isolate memory (default 4 MiB).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// A cached token is served only while more than this many seconds of life are left
    /// (default 300).
    #[serde(default)]
    pub expiry_margin_seconds: Option<u64>,
    /// How long a long-running session is kept after its last use, in days (default 90).
    #[serde(default)]
    pub session_max_idle_days: Option<u64>,
}

impl fmt::Debug for DownstreamApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownstreamApiConfig")
            .field("base_url", &self.base_url)
            .field("scopes", &self.scopes)
            .field("relative_path", &self.relative_path)
            .field("http_method", &self.http_method)
            .field("request_app_token", &self.request_app_token)
            .field("timeout_ms", &self.timeout_ms)
            .field("body_timeout_ms", &self.body_timeout_ms)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl IdentityConfig {
    /// Reads the configuration from JSON text. Errors name the field and never echo values.
    pub fn from_json(text: &str) -> Result<IdentityConfig, ConfigError> {
        from_json_redacted(text)
    }
}

/// One entry of `ClientCredentials` (`{"SourceType": "ClientSecret", "ClientSecret": "..."}`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialDescription {
    /// `ClientSecret`, `Base64Encoded` (a certificate with its private key), or `SignedAssertion`.
    pub source_type: String,
    /// The client secret, for `ClientSecret`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The certificate and key, base64-encoded, for `Base64Encoded`.
    #[serde(default)]
    pub base64_encoded_value: Option<Secret>,
    /// A signed client assertion supplied by the host (federated credentials), for `SignedAssertion`.
    #[serde(default)]
    pub signed_assertion: Option<Secret>,
}

/// The `AzureAd` section. Field names are the Microsoft.Identity.Web ones, in PascalCase.
///
/// Either `Instance` + `TenantId` (Entra ID) or `Authority` (any OpenID Connect issuer) says
/// whose tokens are accepted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AzureAdConfig {
    /// The Entra cloud instance, e.g. `https://login.microsoftonline.com/` (the default).
    #[serde(default)]
    pub instance: Option<String>,
    /// The tenant: a GUID, a verified domain, or `common` / `organizations` / `consumers` for
    /// multi-tenant apps.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Any OpenID Connect issuer URL, for providers other than Entra ID (for
    /// `CloudflareAccess`: the team domain, `https://<team>.cloudflareaccess.com`).
    #[serde(default)]
    pub authority: Option<String>,
    /// Whose token shapes are accepted: `Entra`, `Generic` (RFC 9068), `Auth0`, `Okta`,
    /// `Keycloak`, `Cognito` or `CloudflareAccess` ([`Provider`](crate::Provider)): where scopes
    /// and roles live, what makes a token app-only, what marks an ID token, the default
    /// `ValidTypes`. Default: `Entra` with `TenantId`, `Generic` with `Authority`.
    #[serde(default)]
    pub provider: Option<String>,
    /// The application (client) id of this API.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The accepted audience, when a single one (the App ID URI, say).
    #[serde(default)]
    pub audience: Option<String>,
    /// The accepted audiences. Default: `ClientId` and `api://{ClientId}`.
    #[serde(default)]
    pub audiences: Option<Vec<String>>,
    /// Issuers accepted in addition to the authority's own.
    #[serde(default)]
    pub valid_issuers: Option<Vec<String>>,
    /// For multi-tenant apps: the tenant ids whose tokens are accepted (default: any tenant).
    #[serde(default)]
    pub allowed_tenants: Option<Vec<String>>,
    /// Accept tokens with neither `scp` nor `roles` (the API authorizes callers by its own ACL).
    #[serde(default, rename = "AllowWebApiToBeAuthorizedByACL")]
    pub allow_web_api_to_be_authorized_by_acl: bool,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 300).
    #[serde(default)]
    pub clock_skew_seconds: Option<u64>,
    /// Largest token accepted, in bytes (default 16384).
    #[serde(default)]
    pub max_token_bytes: Option<usize>,
    /// How long a fetched key set is used before it is fetched again, in seconds (default 43200).
    #[serde(default)]
    pub key_set_max_age_seconds: Option<u64>,
    /// Least time between two fetches caused by an unknown `kid`, in seconds (default 30).
    #[serde(default)]
    pub key_refresh_cooldown_seconds: Option<u64>,
    /// Timeout for one discovery or key-set request, in milliseconds (default 5000).
    #[serde(default)]
    pub metadata_timeout_ms: Option<u64>,
    /// How many verified tokens an isolate keeps, so a repeat token skips the signature check
    /// (default 1000; 0 turns the cache off). See [`TokenValidator::validate`](crate::TokenValidator::validate).
    #[serde(default)]
    pub verified_token_cache_max_entries: Option<u64>,
    /// The most bytes the verified tokens take (default 4 MiB).
    #[serde(default)]
    pub verified_token_cache_max_bytes: Option<u64>,
    /// Restricts the accepted algorithms to these (default: all of [`Algorithm::ALL`](crate::jose::Algorithm::ALL)).
    #[serde(default)]
    pub valid_algorithms: Option<Vec<String>>,
    /// The accepted values of the token header's `typ` (Microsoft.IdentityModel's
    /// `ValidTypes`), compared without case and with or without `application/`: `["at+jwt"]`
    /// requires RFC 9068 access tokens. Default: any `typ`, or none.
    #[serde(default)]
    pub valid_types: Option<Vec<String>>,
    /// The credentials this API proves its identity with when it acquires tokens.
    #[serde(default)]
    pub client_credentials: Vec<CredentialDescription>,
    /// The token endpoint, for a generic `Authority` whose discovery document should not be
    /// used for it. Entra's is derived from `Instance` and the tenant.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// How the client secret or assertion reaches the token endpoint: `client_secret_basic`
    /// (HTTP Basic, RFC 6749 §2.3.1), `client_secret_post` (in the form) or `private_key_jwt`
    /// (a signed assertion, RFC 7523). Default: Entra as it expects (`client_secret_post`, or an
    /// assertion); any other authority as its discovery document's
    /// `token_endpoint_auth_methods_supported` allows, `client_secret_basic` first.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// How a user's token is exchanged: `JwtBearer` (the Entra on-behalf-of grant, the default
    /// with `TenantId`) or `TokenExchange` (RFC 8693, the default with `Authority`).
    #[serde(default)]
    pub on_behalf_of_grant: Option<String>,
    /// Client capabilities announced to Entra (e.g. `["cp1"]` for continuous access evaluation),
    /// sent in the `claims` parameter.
    #[serde(default)]
    pub client_capabilities: Vec<String>,
    /// The signature algorithm of certificate client assertions: `RS256` (default) or `PS256`.
    #[serde(default)]
    pub client_assertion_algorithm: Option<String>,
    /// Time budget of one token acquisition, retry included, in milliseconds (default 10000).
    #[serde(default)]
    pub token_request_timeout_ms: Option<u64>,
    /// Entra only: validate against this app's own signing keys, for an app registration with a
    /// claims-mapping policy (custom signing keys). Discovery is then read from
    /// `…/.well-known/openid-configuration?appid={ClientId}`, whose `jwks_uri` is the app-specific
    /// key set `…/discovery/v2.0/keys?appid={ClientId}` (default `false`).
    #[serde(default)]
    pub use_app_specific_signing_keys: bool,
    /// DPoP-bound tokens (RFC 9449): `{"Mode": "Off" | "Allowed" | "Required", ...}`. Default
    /// mode: `Off` with Entra (which issues none), `Allowed` with any other provider.
    #[serde(default)]
    pub dpop: Option<DpopConfig>,
    /// The URL clients call this API at, e.g. `https://api.example.com` or
    /// `https://example.com/mcp`: the `resource` of its protected-resource metadata (RFC 9728)
    /// and the origin DPoP proofs must name (`htu`) behind a proxy. Default: the URL each request
    /// arrived at.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The scopes the protected-resource metadata lists (`scopes_supported`). Default: none listed.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// The `AzureAd.Dpop` section (RFC 9449).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DpopConfig {
    /// `Off` (bearer tokens only; bound tokens refused), `Allowed` (DPoP and bearer) or
    /// `Required` (DPoP only).
    #[serde(default)]
    pub mode: Option<String>,
    /// The algorithms a proof may be signed with. Default: `ES256`, `RS256`, `PS256`, `EdDSA`.
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// How old a proof may be, in seconds (default 300); its `jti` is remembered that long.
    #[serde(default)]
    pub proof_max_age_seconds: Option<u64>,
    /// Require a nonce this API issued in every proof (`DPoP-Nonce`, RFC 9449 §8). Needs the
    /// seal secret (`TOKEN_CACHE_KEY`), which the nonces are made with. Default `false`.
    #[serde(default)]
    pub nonce: bool,
    /// Take a token bound to a key (`cnf`) as a bearer token without any proof: only where the
    /// binding is checked elsewhere (mutual TLS at a proxy). Default `false`.
    #[serde(default)]
    pub bound_tokens_as_bearer: bool,
    /// Exchange a caller's bound token (On-Behalf-Of, token exchange) for a downstream token
    /// that is not bound: the SDK proves no key at the token endpoint. Default `false`: a
    /// bound caller is refused with 403 `bound_caller` rather than silently turned into an
    /// unbound one.
    #[serde(default)]
    pub exchange_bound_tokens: bool,
    /// Remember each proof's `jti` in the sealed shared store too, so another isolate refuses
    /// its replay (default `true` where a store is bound). It costs a store read and write per
    /// DPoP request (Workers KV: see docs/benchmarks.md); `false` keeps replay per isolate.
    #[serde(default)]
    pub replay_across_isolates: Option<bool>,
}

impl AzureAdConfig {
    /// Reads the `AzureAd` section alone from JSON text.
    pub fn from_json(text: &str) -> Result<AzureAdConfig, ConfigError> {
        from_json_redacted(text).map_err(|e| ConfigError { field: prefixed(&e.field), ..e })
    }
}

impl CredentialDescription {
    pub(crate) fn check(&self, field: &str) -> Result<(), ConfigError> {
        let (needed, value) = match self.source_type.as_str() {
            "ClientSecret" => ("ClientSecret", &self.client_secret),
            "Base64Encoded" => ("Base64EncodedValue", &self.base64_encoded_value),
            "SignedAssertion" => ("SignedAssertion", &self.signed_assertion),
            _ => {
                return Err(ConfigError::new(
                    format!("{field}.SourceType"),
                    "must be ClientSecret, Base64Encoded or SignedAssertion",
                ))
            }
        };
        match value {
            Some(secret) if !secret.expose().is_empty() => Ok(()),
            _ => Err(ConfigError::new(
                format!("{field}.{needed}"),
                format!("is required when SourceType is {}", self.source_type),
            )),
        }
    }
}

fn prefixed(field: &str) -> String {
    if field.is_empty() || field == "." {
        "AzureAd".to_owned()
    } else {
        format!("AzureAd.{field}")
    }
}

fn from_json_redacted<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, ConfigError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        // The member being read when serde_json stopped; none (the document as a whole) for an
        // error before the first member. Past an object's last member (a document cut off), the
        // library's path ends in an unknown member `?`: the object left open is named.
        let path = e.path().to_string();
        let field = match path.trim_end_matches(".?") {
            "" | "." | "?" => DOCUMENT.to_owned(),
            path => path.to_owned(),
        };
        ConfigError::new(field, redact_quoted(&e.into_inner().to_string()))
    })?;
    // Only whitespace may follow the document.
    reader.end().map_err(|e| ConfigError::new(DOCUMENT, redact_quoted(&e.to_string())))?;
    Ok(value)
}

/// The field an error about the configuration document as a whole names.
const DOCUMENT: &str = "(document)";

/// serde's messages quote the offending value (`invalid type: string "hunter2", expected ...`)
/// without escaping it, so a misplaced secret holding a quote would end the quoted span early
/// and the rest of it would be printed. Everything from the first quote to the last is elided.
fn redact_quoted(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if first < last => {
            let (before, after) = (message.get(..=first), message.get(last..));
            format!("{}…{}", before.unwrap_or_default(), after.unwrap_or_default())
        }
        (Some(first), _) => format!("{}…", message.get(..=first).unwrap_or_default()),
        _ => message.to_owned(),
    }
}

pub(crate) fn non_empty<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, ConfigError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ConfigError::new(field, "is required and must not be empty")),
    }
}

/// Checks an absolute `https` URL (or `http` to a loopback host, for local development) with no
/// query or fragment, and returns it unchanged.
pub(crate) fn checked_url<'a>(text: &'a str, field: &str) -> Result<&'a str, ConfigError> {
    if is_metadata_url(text) && !text.contains(['?', '#']) {
        Ok(text)
    } else {
        Err(ConfigError::new(
            field,
            "must be an absolute https URL (http only for 127.0.0.1, localhost or [::1]) without query or fragment",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::jose::Algorithm;
    use crate::validation::authority::is_guid;
    use crate::validation::options::ValidationOptions;

    fn section(json: &str) -> Result<ValidationOptions, ConfigError> {
        AzureAdConfig::from_json(json)?.validation_options()
    }

    #[test]
    fn entra_single_tenant_defaults() {
        let o =
            section(r#"{"TenantId": "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "ClientId": "abc"}"#)
                .unwrap();
        assert_eq!(
            o.authority.metadata_url(),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(o.audiences, ["abc", "api://abc"]);
        assert_eq!(o.clock_skew, Duration::from_secs(300));
        assert_eq!(o.key_set_max_age, Duration::from_secs(43200));
        assert_eq!(o.key_refresh_cooldown, Duration::from_secs(30));
        assert_eq!(o.max_token_bytes, 16384);
        assert_eq!(o.algorithms, Algorithm::ALL.to_vec());
    }

    #[test]
    fn generic_oidc_authority_and_explicit_audiences() {
        let o = section(
            r#"{"Authority": "http://127.0.0.1:8080/realms/x/", "ClientId": "api", "Audiences": ["a", "b"], "Audience": "c"}"#,
        )
        .unwrap();
        assert_eq!(
            o.authority.metadata_url(),
            "http://127.0.0.1:8080/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(o.audiences, ["c", "a", "b"]);
    }

    #[test]
    fn a_type_or_syntax_error_names_the_member_being_read() {
        let cases = [
            (r#"{"AzureAd": {"ClockSkewSeconds": "five"}}"#, "AzureAd.ClockSkewSeconds"),
            (
                r#"{"AzureAd": {"ClientCredentials": [{"SourceType": "ClientSecret"}, {"SourceType": 7}]}}"#,
                "AzureAd.ClientCredentials[1].SourceType",
            ),
            (r#"{"AzureAd": {"Audiences": ["a", 5]}}"#, "AzureAd.Audiences[1]"),
            (r#"{"AzureAd": {"ClientId": "a\"b", "TenantId": 5}}"#, "AzureAd.TenantId"),
            (
                r#"{"AzureAd":
                {"ClientId": "x",
                 "TenantId": true}}"#,
                "AzureAd.TenantId",
            ),
            (r#"{"AzureAd": {"ClientId": nope}}"#, "AzureAd.ClientId"),
            // Cut off after a member: the object left open.
            (r#"{"AzureAd": {"ClientId": "x""#, "AzureAd"),
            ("{\"AzureAd\": 5}", "AzureAd"),
            // A missing member: the object that lacks it.
            (r#"{"AzureAd": {"ClientCredentials": [{}]}}"#, "AzureAd.ClientCredentials[0]"),
            ("5", "(document)"),
            ("", "(document)"),
            ("{} trailing", "(document)"),
        ];
        for (json, field) in cases {
            let err = IdentityConfig::from_json(json).unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
        }
    }

    #[test]
    fn every_config_error_names_its_field() {
        let cases = [
            (r#"{"TenantId": "common"}"#, "AzureAd.ClientId"),
            (r#"{"ClientId": "x"}"#, "AzureAd.TenantId"),
            (r#"{"ClientId": "x", "TenantId": "no spaces allowed"}"#, "AzureAd.TenantId"),
            (
                r#"{"ClientId": "x", "TenantId": "common", "Authority": "https://a"}"#,
                "AzureAd.Authority",
            ),
            (r#"{"ClientId": "x", "Authority": "http://evil.example"}"#, "AzureAd.Authority"),
            (
                r#"{"ClientId": "x", "TenantId": "common", "Instance": "ftp://x/"}"#,
                "AzureAd.Instance",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "Audiences": ["a", ""]}"#,
                "AzureAd.Audiences[1]",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "AllowedTenants": ["nope"]}"#,
                "AzureAd.AllowedTenants[0]",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "ValidAlgorithms": ["RS256", "HS256"]}"#,
                "AzureAd.ValidAlgorithms[1]",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "ClockSkewSeconds": 99999}"#,
                "AzureAd.ClockSkewSeconds",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "ClockSkewSeconds": "five"}"#,
                "AzureAd.ClockSkewSeconds",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "ClientCredentials": [{"SourceType": "ClientSecret"}]}"#,
                "AzureAd.ClientCredentials[0].ClientSecret",
            ),
            (
                r#"{"ClientId": "x", "TenantId": "common", "ClientCredentials": [{"SourceType": "Magic"}]}"#,
                "AzureAd.ClientCredentials[0].SourceType",
            ),
        ];
        for (json, field) in cases {
            let err = section(json).unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
        }
        let err = IdentityConfig::from_json("{\"AzureAd\": 5}").unwrap_err();
        assert_eq!(err.field, "AzureAd");
        let err = IdentityConfig::from_json("not json").unwrap_err();
        assert_eq!(err.field, "(document)");
    }

    #[test]
    fn config_errors_and_debug_never_show_secret_values() {
        let json =
            r#"{"ClientId": "x", "TenantId": "common", "ClockSkewSeconds": "hunter2-secret"}"#;
        let err = section(json).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let config = AzureAdConfig::from_json(
            r#"{"ClientId": "x", "TenantId": "common", "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "hunter2-secret"}]}"#,
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(
            config.client_credentials[0].client_secret.as_ref().map(Secret::expose),
            Some("hunter2-secret")
        );
    }

    #[test]
    fn a_secret_with_quotes_in_a_misplaced_field_is_never_printed() {
        for secret in [r#"hun\"ter2-secret"#, r#"a\"b\"hunter2-secret\""#, r#"\"hunter2-secret"#] {
            let json = format!(
                r#"{{"ClientId": "x", "TenantId": "common", "ClockSkewSeconds": "{secret}"}}"#
            );
            let err = section(&json).unwrap_err();
            assert_eq!(err.field, "AzureAd.ClockSkewSeconds");
            assert!(
                !err.to_string().contains("ter2") && !err.to_string().contains("secret"),
                "{err}"
            );
        }
        assert_eq!(redact_quoted("no quotes here"), "no quotes here");
        assert_eq!(redact_quoted(r#"one " quote"#), r#"one "…"#);
    }

    #[test]
    fn guids_are_recognised_strictly() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4"));
        assert!(!is_guid("72f988bf86f141af91ab2d7cd011db47"));
        assert!(!is_guid("zzf988bf-86f1-41af-91ab-2d7cd011db47"));
    }
}
