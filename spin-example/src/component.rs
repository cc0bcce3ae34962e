//! The component's entry point and routes.

use edge_identity::platform::spin::web_api;
use edge_identity::{Error, Requirement};
use serde_json::{json, Value};
use spin_sdk::http::{FullBody, Request};

use crate::{PARTNER, PROFILE};

type Response = http::Response<FullBody<bytes::Bytes>>;

fn json_response(status: u16, value: &Value) -> Response {
    let body = bytes::Bytes::from(serde_json::to_vec(value).unwrap_or_default());
    let mut response = http::Response::new(FullBody::new(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// `web_api()` is built from Spin variables and the `default` key-value store on the instance's
/// first request and kept while the host reuses the instance (Spin 4 / WASI 0.3): later
/// requests, and requests at once, share its key sets and caches. `?` answers an SDK error as
/// it is.
#[spin_sdk::http_service]
async fn handle(req: Request) -> Result<Response, Error> {
    let path = req.uri().path().trim_matches('/').to_owned();
    let get = req.method() == http::Method::GET;
    if get && path == "healthz" {
        return Ok(json_response(200, &json!({"status": "ok"})));
    }
    // A bare 500 for the caller; the field is named here, for the operator.
    let api = web_api().await.inspect_err(|e| eprintln!("edge-identity spin example: {e}"))?;
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
