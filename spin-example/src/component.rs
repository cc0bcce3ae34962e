//! The component's entry point and routes.

use edge_identity::platform::spin::web_api;
use edge_identity::{Error, Requirement, SessionKey, SessionStart, ValidationError, WebApi};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use spin_sdk::http::{FullBody, Request};

use crate::{MAX_BODY_BYTES, PARTNER, PROFILE};

type Response = http::Response<FullBody<bytes::Bytes>>;
type Answer = Result<Response, Error>;

fn json_bytes(status: u16, body: Vec<u8>) -> Response {
    let mut response = http::Response::new(FullBody::new(bytes::Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

fn json_response(status: u16, value: &Value) -> Response {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
}

/// `web_api()` is built from Spin variables and the `default` key-value store on the instance's
/// first request and kept while the host reuses the instance (Spin 4 / WASI 0.3): later
/// requests, and requests at once, share its key sets and caches, never a caller's state. `?`
/// answers an SDK error as it is.
#[spin_sdk::http_service]
async fn handle(req: Request) -> Answer {
    let path = req.uri().path().trim_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let method = req.method().clone();
    if method == http::Method::GET && path == "healthz" {
        return Ok(json_response(200, &json!({"status": "ok"})));
    }
    // A bare 500 for the caller; the field is named here, for the operator.
    let api = web_api().await.inspect_err(|e| eprintln!("edge-identity spin example: {e}"))?;
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "me"]) => me(&api, &req).await,
        ("GET", ["api", "dashboard"]) => dashboard(&api, &req).await,
        ("POST", ["api", "jobs"]) => start_job(&api, req).await,
        ("POST", ["api", "jobs", key, "resume"]) => resume_job(&api, &req, key).await,
        ("DELETE", ["api", "jobs", key]) => end_job(&api, &req, key).await,
        // An anonymous caller learns no route: the token first, then the 404.
        _ => {
            api.authorize(&req, Requirement::Authenticated).await?;
            Ok(json_response(404, &json!({"error": "not_found"})))
        }
    }
}

/// What a user's token must grant for the user routes.
const USER: Requirement<'static> = Requirement::Scope(&["access_as_user"]);

async fn me(api: &WebApi, req: &Request) -> Answer {
    let caller = api.authorize(req, USER).await?;
    let profile = api.call_api(PROFILE).get("me").for_user(&caller).json::<Value>().await?;
    Ok(json_response(200, &profile))
}

async fn dashboard(api: &WebApi, req: &Request) -> Answer {
    let caller = api.authorize(req, USER).await?;
    let (profile, data) = futures_util::future::join(
        api.call_api(PROFILE).get("me").for_user(&caller).json::<Value>(),
        api.call_api(PARTNER).get("api/data").for_user(&caller).json::<Value>(),
    )
    .await;
    Ok(json_response(200, &json!({"profile": profile?, "data": data?})))
}

/// Starts a long-running session for the caller (keyed by the body's `jobId`, bound to the
/// first user who starts it, or allocated from the token) that this API's scheduler may
/// continue: 202 `{"sessionKey"}`. Spin has no `wait_until`, so no call is made after the answer.
async fn start_job(api: &WebApi, req: Request) -> Answer {
    let caller = api.authorize(&req, USER).await?;
    let body = json_body(req).await?;
    let key = match body.get("jobId").and_then(Value::as_str) {
        Some(id) => SessionKey::Key(id.to_owned()),
        None => SessionKey::AllocateForMe,
    };
    let start = SessionStart::from(key).continued_by_app(api.client_id());
    let session = api.start_session(&caller, PARTNER, start).await?;
    Ok(json_response(202, &json!({"sessionKey": session.key})))
}

/// Continues a session by key: the user who started it (a token of theirs), or the scheduler
/// (an app-only token with the role `Jobs.Resume`). Anyone else: 404, as if there were none.
async fn resume_job(api: &WebApi, req: &Request, key: &str) -> Answer {
    let caller = api.authorize(req, Requirement::Authenticated).await?;
    let needed = if caller.is_app_only() { Requirement::AppRole(&["Jobs.Resume"]) } else { USER };
    api.require(req, &caller, needed)?;
    let call = api
        .call_api(PARTNER)
        .post("api/process/complete")
        .json_body(&json!({"sessionKey": key}))?;
    Ok(json_bytes(200, call.for_session(key, &caller).bytes().await?))
}

/// Ends a job's session, for its user or the scheduler app: 204.
async fn end_job(api: &WebApi, req: &Request, key: &str) -> Answer {
    let caller = api.authorize(req, Requirement::Authenticated).await?;
    api.acquirer().end_session(&caller, key).await?;
    let mut ended = json_bytes(204, Vec::new());
    ended.headers_mut().remove(http::header::CONTENT_TYPE);
    Ok(ended)
}

/// The request's JSON body (an empty body is `{}`), at most [`MAX_BODY_BYTES`], or a 400.
async fn json_body(req: Request) -> Result<Value, Error> {
    let invalid = || Error::from(ValidationError::InvalidRequest("the body is not JSON"));
    let mut body = req.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(chunk) = frame.map_err(|_| invalid())?.into_data() else { continue };
        if bytes.len().saturating_add(chunk.len()) > MAX_BODY_BYTES {
            return Err(ValidationError::InvalidRequest("the body is too large").into());
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}
