//! The component's entry point and routes.

use edge_identity::platform::spin::{platform, variable};
use edge_identity::{CallAs, DownstreamApis, HostSettings, TokenAcquirer, TokenValidator};
use serde_json::{json, Value};

use crate::{PARTNER, PROFILE};

fn json_response(status: u16, value: &Value) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(serde_json::to_vec(value).unwrap_or_default());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// Spin runs one request per component instance, so everything is built per request; the
/// key-value store is what carries keys and tokens from one request to the next.
fn services() -> Result<(TokenValidator, DownstreamApis), edge_identity::ConfigError> {
    let settings = HostSettings::from_values(
        variable("identity_config").as_deref(),
        variable("client_secret").as_deref(),
        variable("token_cache_key").as_deref(),
    )?
    .require_downstream_apis(&[PROFILE, PARTNER])?;
    let platform = platform(Some("default"), settings.seal_secret.as_ref()).map_err(|e| {
        edge_identity::ConfigError { field: "key_value_stores".into(), problem: e.to_string() }
    })?;
    let validator = TokenValidator::from_config(&settings.config.azure_ad, platform.clone())?;
    let apis = DownstreamApis::from_config(
        TokenAcquirer::new(platform, settings.acquisition),
        &settings.config,
    )?;
    Ok((validator, apis))
}

#[spin_sdk::http_component]
async fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    let path = req.uri().path().trim_matches('/').to_owned();
    if req.method() == http::Method::GET && path == "healthz" {
        return json_response(200, &json!({"status": "ok"}));
    }
    let (validator, apis) = match services() {
        Ok(services) => services,
        Err(e) => {
            eprintln!("edge-identity spin example: {e}");
            return e.to_response();
        }
    };
    let authorization =
        req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match validator.validate_authorization(authorization).await {
        Ok(caller) => caller,
        Err(e) => return e.to_response(),
    };
    if req.method() != http::Method::GET || !matches!(path.as_str(), "api/me" | "api/dashboard") {
        return json_response(404, &json!({"error": "not_found"}));
    }
    if let Err(e) = caller.require_scope(&["access_as_user"]) {
        return e.to_response();
    }
    let profile = apis.get_json::<Value>(PROFILE, CallAs::User(&caller), Some("me"));
    if path == "api/me" {
        return match profile.await {
            Ok(profile) => json_response(200, &profile),
            Err(e) => e.to_response(),
        };
    }
    let data = apis.get_json::<Value>(PARTNER, CallAs::User(&caller), Some("api/data"));
    match futures_util::future::join(profile, data).await {
        (Ok(profile), Ok(data)) => json_response(200, &json!({"profile": profile, "data": data})),
        (Err(e), _) | (_, Err(e)) => e.to_response(),
    }
}
