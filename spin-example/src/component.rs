//! The component's entry point and routes.

use edge_identity::platform::spin::{authorize, platform, variable};
use edge_identity::{
    CallAs, DownstreamApis, Error, HostSettings, Requirement, TokenAcquirer, TokenValidator,
};
use serde_json::{json, Value};
use spin_sdk::http::{IncomingRequest, Method};

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
async fn handle(req: IncomingRequest) -> Result<http::Response<Vec<u8>>, Error> {
    let path_and_query = req.path_with_query().unwrap_or_default();
    let path = path_and_query.split('?').next().unwrap_or_default().trim_matches('/').to_owned();
    let get = matches!(req.method(), Method::Get);
    if get && path == "healthz" {
        return Ok(json_response(200, &json!({"status": "ok"})));
    }
    let (validator, apis) = services().inspect_err(|e| {
        // A bare 500 for the caller; the field is named here, for the operator.
        eprintln!("edge-identity spin example: {e}");
    })?;
    // The token, then the route, then the scope: an anonymous caller learns no route.
    let caller = authorize(&validator, &req, Requirement::Authenticated).await?;
    if !get || !matches!(path.as_str(), "api/me" | "api/dashboard") {
        return Ok(json_response(404, &json!({"error": "not_found"})));
    }
    Requirement::scope(&["access_as_user"]).check(&caller)?;
    let profile = apis.get_json::<Value>(PROFILE, CallAs::User(&caller), Some("me"));
    if path == "api/me" {
        return Ok(json_response(200, &profile.await?));
    }
    let data = apis.get_json::<Value>(PARTNER, CallAs::User(&caller), Some("api/data"));
    let (profile, data) = futures_util::future::join(profile, data).await;
    Ok(json_response(200, &json!({"profile": profile?, "data": data?})))
}
