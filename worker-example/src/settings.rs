//! The worker's settings: the SDK's [`HostSettings`] from the `IDENTITY_CONFIG` var and the
//! `CLIENT_SECRET` / `TOKEN_CACHE_KEY` secrets, plus the two downstream APIs its routes call.

use edge_identity::{ConfigError, HostSettings};

/// The downstream APIs the routes call, by their names in `DownstreamApis`.
pub const PROFILE: &str = "Profile";
/// See [`PROFILE`].
pub const PARTNER: &str = "Partner";

/// Reads and checks the settings; a problem names the var or field.
pub fn load(
    identity_config: Option<&str>,
    client_secret: Option<&str>,
    cache_key: Option<&str>,
) -> Result<HostSettings, ConfigError> {
    HostSettings::from_values(identity_config, client_secret, cache_key)?
        .require_downstream_apis(&[PROFILE, PARTNER])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_worker_needs_both_downstream_apis() {
        let config = r#"{"AzureAd": {"Authority": "http://127.0.0.1:9/", "ClientId": "edge-api"},
            "DownstreamApis": {"Profile": {"BaseUrl": "http://127.0.0.1:9", "Scopes": ["s"]}}}"#;
        let err = super::load(Some(config), Some("secret"), None).unwrap_err();
        assert_eq!(err.field, "DownstreamApis.Partner");
    }
}
