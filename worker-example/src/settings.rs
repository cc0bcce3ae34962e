//! The worker's settings: the SDK's [`HostSettings`] from the `IDENTITY_CONFIG` var and the
//! `CLIENT_SECRET` / `TOKEN_CACHE_KEY` secrets (read by `platform::worker::web_api`), plus the
//! two downstream APIs its routes call.

use edge_identity::{ConfigError, Error, HostSettings, WebApi};

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

/// `api`, if it has both downstream APIs the routes call; otherwise a configuration error
/// naming the missing one.
pub fn require_apis(api: WebApi) -> Result<WebApi, Error> {
    for name in [PROFILE, PARTNER] {
        if api.downstream_apis().api(name).is_err() {
            let field = format!("DownstreamApis.{name}");
            return Err(ConfigError {
                field,
                problem: "is required by this worker's routes".into(),
            }
            .into());
        }
    }
    Ok(api)
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
