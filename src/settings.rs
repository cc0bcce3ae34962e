//! Settings from a host's vars and secrets, the way both example hosts keep them: a JSON
//! `IDENTITY_CONFIG` (the `AzureAd`, `DownstreamApis` and `TokenCache` sections), a
//! `CLIENT_SECRET` secret and an optional `TOKEN_CACHE_KEY` secret (Workers: wrangler vars and
//! secrets; Spin: variables). Every problem is a [`ConfigError`] naming the var or field (for the
//! operator's log), and [`ConfigError::to_response`] turns it into a bare 500 that names nothing.

use crate::acquisition::AcquisitionOptions;
use crate::config::IdentityConfig;
use crate::config_error::ConfigError;
use crate::secret::{SealSecret, Secret};

/// The names the settings are read under, and the fields their errors name (a host adapter
/// that reads them under other names renames the errors' fields).
pub(crate) const IDENTITY_CONFIG: &str = "IDENTITY_CONFIG";
pub(crate) const CLIENT_SECRET: &str = "CLIENT_SECRET";
pub(crate) const TOKEN_CACHE_KEY: &str = "TOKEN_CACHE_KEY";
pub(crate) const TOKEN_CACHE_KEY_PREVIOUS: &str = "TOKEN_CACHE_KEY_PREVIOUS";

/// Everything token validation, acquisition and downstream calls need, checked.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// The configuration document.
    pub config: IdentityConfig,
    /// Token acquisition options, with the secrets applied.
    pub acquisition: AcquisitionOptions,
    /// The secret values shared through the key-value store are sealed with
    /// (`TOKEN_CACHE_KEY`); without it nothing is shared (pass it to the platform's
    /// `with_store`, or to `platform::worker::platform` / `platform::spin::platform`).
    pub seal_secret: Option<SealSecret>,
    /// During a rotation of the seal secret, the one before it (`TOKEN_CACHE_KEY_PREVIOUS`):
    /// values it sealed are still opened, and sealed again under `seal_secret`
    /// ([`Platform::with_rotating_store`](crate::Platform::with_rotating_store)).
    pub previous_seal_secret: Option<SealSecret>,
}

impl HostSettings {
    /// Reads `IDENTITY_CONFIG`, `CLIENT_SECRET` (required unless the config has
    /// `ClientCredentials`) and `TOKEN_CACHE_KEY` (optional; at least 32 characters).
    pub fn from_values(
        identity_config: Option<&str>,
        client_secret: Option<&str>,
        cache_key: Option<&str>,
    ) -> Result<HostSettings, ConfigError> {
        let text = identity_config.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            ConfigError::new(
                IDENTITY_CONFIG,
                "is not set (JSON with the AzureAd and DownstreamApis sections)",
            )
        })?;
        let config = IdentityConfig::from_json(text)?;
        let mut acquisition = AcquisitionOptions::from_config(&config)?;
        match client_secret.filter(|s| !s.is_empty()) {
            Some(secret) => {
                acquisition = acquisition.with_client_secret(Secret::new(secret), CLIENT_SECRET)?
            }
            None if acquisition.credential.is_none() => {
                return Err(ConfigError::new(
                    CLIENT_SECRET,
                    "is not set (a host secret, or ClientCredentials in AzureAd)",
                ))
            }
            None => {}
        }
        let seal_secret = match cache_key.filter(|k| !k.is_empty()) {
            Some(key) => Some(SealSecret::new(Secret::new(key), TOKEN_CACHE_KEY)?),
            None => None,
        };
        Ok(HostSettings { config, acquisition, seal_secret, previous_seal_secret: None })
    }

    /// The same settings during a rotation of the seal secret: `previous` is the secret before
    /// the current `TOKEN_CACHE_KEY` (`TOKEN_CACHE_KEY_PREVIOUS`; empty or absent: no rotation).
    /// Rotate in three deployments: add the new secret as `TOKEN_CACHE_KEY_PREVIOUS` to every
    /// version; swap the two; remove `TOKEN_CACHE_KEY_PREVIOUS` once every version seals with
    /// the new one. A version meeting a value sealed with a secret it lacks leaves it in place.
    pub fn with_previous_seal_secret(
        mut self,
        previous: Option<&str>,
    ) -> Result<HostSettings, ConfigError> {
        self.previous_seal_secret = match previous.filter(|k| !k.is_empty()) {
            Some(key) => Some(SealSecret::new(Secret::new(key), TOKEN_CACHE_KEY_PREVIOUS)?),
            None => None,
        };
        Ok(self)
    }

    /// Fails naming `DownstreamApis.<name>` for the first of `names` the config lacks.
    pub fn require_downstream_apis(self, names: &[&str]) -> Result<HostSettings, ConfigError> {
        match names.iter().find(|n| !self.config.downstream_apis.contains_key(**n)) {
            Some(name) => Err(ConfigError::new(
                format!("DownstreamApis.{name}"),
                "is required by this application's routes",
            )),
            None => Ok(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "AzureAd": {"Authority": "http://127.0.0.1:9/", "ClientId": "edge-api"},
        "DownstreamApis": {
            "Profile": {"BaseUrl": "http://127.0.0.1:9/profile", "Scopes": ["api://profile/read"]}
        }
    }"#;

    #[test]
    fn good_settings_are_read_with_their_secrets() {
        let s =
            HostSettings::from_values(Some(GOOD), Some("s3cret"), Some(&"k".repeat(32))).unwrap();
        assert!(s.seal_secret.is_some() && s.acquisition.credential.is_some());
        assert!(s.require_downstream_apis(&["Profile"]).is_ok());
    }

    #[test]
    fn every_settings_problem_names_the_var_or_field() {
        let field = |c: Option<&str>, s: Option<&str>, k: Option<&str>| {
            HostSettings::from_values(c, s, k).unwrap_err().field
        };
        assert_eq!(field(None, Some("s"), None), "IDENTITY_CONFIG");
        assert_eq!(field(Some("{"), Some("s"), None), "(document)");
        assert_eq!(field(Some(GOOD), None, None), "CLIENT_SECRET");
        assert_eq!(field(Some(GOOD), Some("s"), Some("short")), "TOKEN_CACHE_KEY");
        let no_client = GOOD.replace("\"ClientId\": \"edge-api\"", "\"X\": 1");
        assert_eq!(field(Some(&no_client), Some("s"), None), "AzureAd.ClientId");
        let settings = HostSettings::from_values(Some(GOOD), Some("s"), None).unwrap();
        assert_eq!(
            settings.require_downstream_apis(&["Profile", "Partner"]).unwrap_err().field,
            "DownstreamApis.Partner"
        );
    }

    #[test]
    fn the_error_answer_is_a_bare_500_and_only_the_log_line_names_the_field() {
        let err =
            HostSettings::from_values(Some(GOOD), Some("s"), Some("too-short-secret")).unwrap_err();
        let answer = err.to_response();
        let body = String::from_utf8(answer.body().clone()).unwrap();
        assert_eq!(answer.status().as_u16(), 500);
        assert!(!body.contains("TOKEN_CACHE_KEY") && !body.contains("too-short"), "{body}");
        assert!(err.to_string().contains("TOKEN_CACHE_KEY"), "the log line names it");
        assert!(!err.to_string().contains("too-short-secret"));
    }
}
