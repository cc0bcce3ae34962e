//! The component's entry point and routes.

use edge_identity::platform::spin::web_api;
use edge_identity::{Error, Requirement};
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

/// Spin runs one request per component instance, so the API is built per request
/// (`web_api()`: Spin variables and the `default` key-value store, which carries keys and
/// tokens from one request to the next). `?` answers an SDK error as it is.
#[spin_sdk::http_component]
async fn handle(req: IncomingRequest) -> Result<http::Response<Vec<u8>>, Error> {
    let path_and_query = req.path_with_query().unwrap_or_default();
    let path = path_and_query.split('?').next().unwrap_or_default().trim_matches('/').to_owned();
    let get = matches!(req.method(), Method::Get);
    if get && path == "healthz" {
        return Ok(json_response(200, &json!({"status": "ok"})));
    }
    // A bare 500 for the caller; the field is named here, for the operator.
    let api = web_api().inspect_err(|e| eprintln!("edge-identity spin example: {e}"))?;
    // The token, then the route, then the scope: an anonymous caller learns no route.
    let caller = api.authorize(&req, Requirement::Authenticated).await?;
    if !get || !matches!(path.as_str(), "api/me" | "api/dashboard") {
        return Ok(json_response(404, &json!({"error": "not_found"})));
    }
    Requirement::scope(&["access_as_user"]).check(&caller)?;
    let profile = api.call_api(PROFILE).get("me").for_user(&caller).json::<Value>();
    if path == "api/me" {
        return Ok(json_response(200, &profile.await?));
    }
    let data = api.call_api(PARTNER).get("api/data").for_user(&caller).json::<Value>();
    let (profile, data) = futures_util::future::join(profile, data).await;
    Ok(json_response(200, &json!({"profile": profile?, "data": data?})))
}
