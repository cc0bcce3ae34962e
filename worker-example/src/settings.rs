//! Reading the deployment's settings: the `IDENTITY_CONFIG` var (JSON with the `AzureAd` and
//! `DownstreamApis` sections), the `CLIENT_SECRET` secret and the optional `TOKEN_CACHE_KEY`
//! secret. Platform-free, so it is tested natively. A problem names the var or field.

use edge_identity::config::Secret;
use edge_identity::{AcquisitionOptions, ConfigError, IdentityConfig};

/// The downstream APIs the routes call, by the names they have in `DownstreamApis`.
pub const PROFILE: &str = "Profile";
/// See [`PROFILE`].
pub const PARTNER: &str = "Partner";

/// Everything the worker needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration document.
    pub config: IdentityConfig,
    /// Token acquisition options, with the secrets applied.
    pub acquisition: AcquisitionOptions,
    /// Whether cache entries are sealed (`TOKEN_CACHE_KEY` is set).
    pub sealed: bool,
}

impl Settings {
    /// Reads and checks the settings from the worker's vars and secrets.
    pub fn from_values(
        identity_config: Option<&str>,
        client_secret: Option<&str>,
        cache_key: Option<&str>,
    ) -> Result<Settings, ConfigError> {
        let text = identity_config.filter(|t| !t.trim().is_empty()).ok_or_else(|| ConfigError {
            field: "IDENTITY_CONFIG".into(),
            problem: "is not set (a JSON var with the AzureAd and DownstreamApis sections)".into(),
        })?;
        let config = IdentityConfig::from_json(text)?;
        for name in [PROFILE, PARTNER] {
            if !config.downstream_apis.contains_key(name) {
                return Err(ConfigError {
                    field: format!("DownstreamApis.{name}"),
                    problem: "is required by this worker's routes".into(),
                });
            }
        }
        let mut acquisition = AcquisitionOptions::from_config(&config)?;
        match client_secret.filter(|s| !s.is_empty()) {
            Some(secret) => {
                acquisition = acquisition.with_client_secret(Secret::new(secret), "CLIENT_SECRET")?
            }
            None if acquisition.credential.is_none() => {
                return Err(ConfigError {
                    field: "CLIENT_SECRET".into(),
                    problem: "is not set (wrangler secret put CLIENT_SECRET, or .dev.vars locally)"
                        .into(),
                })
            }
            None => {}
        }
        let sealed = cache_key.is_some_and(|k| !k.is_empty());
        if let Some(key) = cache_key.filter(|k| !k.is_empty()) {
            acquisition = acquisition.with_cache_seal_secret(Secret::new(key), "TOKEN_CACHE_KEY")?;
        }
        Ok(Settings { config, acquisition, sealed })
    }

    /// The answer for a configuration problem: 500, naming the field, never a value.
    pub fn error_response(error: &ConfigError) -> http::Response<Vec<u8>> {
        let body = serde_json::json!({
            "error": "server_misconfigured",
            "error_description": format!("configuration error: {error}"),
            "field": error.field,
        });
        let mut response = http::Response::new(serde_json::to_vec(&body).unwrap_or_default());
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "AzureAd": {"Authority": "http://127.0.0.1:9/", "ClientId": "edge-api"},
        "DownstreamApis": {
            "Profile": {"BaseUrl": "http://127.0.0.1:9/profile", "Scopes": ["api://profile/read"]},
            "Partner": {"BaseUrl": "http://127.0.0.1:9/partner", "Scopes": ["api://partner/read"]}
        }
    }"#;

    #[test]
    fn good_settings_are_read_with_their_secrets() {
        let s = Settings::from_values(Some(GOOD), Some("s3cret"), Some(&"k".repeat(32))).unwrap();
        assert!(s.sealed && s.acquisition.credential.is_some());
    }

    #[test]
    fn every_settings_problem_names_the_var_or_field() {
        let field = |c: Option<&str>, s: Option<&str>, k: Option<&str>| {
            Settings::from_values(c, s, k).unwrap_err().field
        };
        assert_eq!(field(None, Some("s"), None), "IDENTITY_CONFIG");
        assert_eq!(field(Some("{"), Some("s"), None), "(document)");
        assert_eq!(field(Some(GOOD), None, None), "CLIENT_SECRET");
        assert_eq!(field(Some(GOOD), Some("s"), Some("short")), "TOKEN_CACHE_KEY");
        let no_partner = GOOD.replace("\"Partner\"", "\"Other\"");
        assert_eq!(field(Some(&no_partner), Some("s"), None), "DownstreamApis.Partner");
        let no_client = GOOD.replace("\"ClientId\": \"edge-api\"", "\"X\": 1");
        assert_eq!(field(Some(&no_client), Some("s"), None), "AzureAd.ClientId");
    }

    #[test]
    fn the_error_answer_names_the_field_and_never_the_secret() {
        let err = Settings::from_values(Some(GOOD), Some("s"), Some("too-short-secret")).unwrap_err();
        let answer = Settings::error_response(&err);
        let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!((answer.status().as_u16(), body["field"].as_str()), (500, Some("TOKEN_CACHE_KEY")));
        assert!(!body.to_string().contains("too-short-secret"));
    }
}
