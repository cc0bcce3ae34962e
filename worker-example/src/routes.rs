//! The Worker's entry point and routes (Workers only).

use edge_identity::platform::worker::{error_response, pass_on, to_worker_response, web_api};
use edge_identity::WebApi;
use edge_identity::{
    Error, PassedResponse, Requirement, SessionKey, SessionStart, ValidationError, ValidationHooks,
};
use serde_json::{json, Value};
use worker::worker_sys::web_sys;
use worker::{console_error, console_log, event, Context, Env, Request, Response, Result};

use crate::settings::{require_apis, PARTNER, PROFILE};

/// What a user's token must grant for the user routes.
const USER: Requirement<'static> = Requirement::Scope(&["access_as_user"]);

type Answer = std::result::Result<http::Response<Vec<u8>>, Error>;

/// Takes the request as workerd hands it over (`web_sys::Request`): workers-rs's `Request` would
/// read `request.cf` and parse the URL on every request, about 5 % of a warm `/api/me` in
/// `bash bench/profile.sh`. The routes that read a body convert it.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<Response> {
    let url = req.url();
    let segments: Vec<&str> = path_of(&url).trim_matches('/').split('/').collect();
    let method = req.method();
    if method == "GET" && segments == ["healthz"] {
        return Response::from_json(&json!({"status": "ok"}));
    }
    let api = match web_api(&env, ctx).and_then(require_apis) {
        Ok(api) => api,
        Err(e) => {
            console_error!("edge-identity example: {e}"); // names the field; the caller gets a bare 500
            return error_response(&e);
        }
    };
    set_hooks_once(&api, &env);
    let answer = match (method.as_str(), segments.as_slice()) {
        // RFC 9728: how a client (an MCP client, say) finds where to get a token for this API.
        // Public, as the 401 challenges point at it.
        ("GET", [".well-known", "oauth-protected-resource", ..]) => {
            match api.resource_metadata(&req) {
                Some(metadata) => Ok(metadata),
                None => Ok(json(404, &json!({"error": "not_found"}))),
            }
        }
        ("GET", ["api", "whoami"]) => whoami(&api, &req).await,
        ("GET", ["api", "me"]) => {
            return match me(&api, &req).await {
                Ok(profile) => pass_on(profile),
                Err(e) => error_response(&e),
            }
        }
        ("GET", ["api", "dashboard"]) => dashboard(&api, &req).await,
        ("POST", ["api", "process"]) => process(&api, &mut Request::from(req)).await,
        ("POST", ["api", "jobs"]) => start_job(&api, &mut Request::from(req)).await,
        ("POST", ["api", "jobs", key, "resume"]) => resume_job(&api, &req, key).await,
        ("DELETE", ["api", "jobs", key]) => end_job(&api, &req, key).await,
        // An anonymous caller learns no routes: the token first, then the 404.
        _ => match api.authorize(&req, Requirement::Authenticated).await {
            Ok(_) => Ok(json(404, &json!({"error": "not_found"}))),
            Err(e) => Err(e),
        },
    };
    match answer {
        Ok(response) => to_worker_response(response),
        Err(e) => error_response(&e),
    }
}

/// The caller's profile, streamed through as the profile API sent it: not read into wasm, no
/// JSON round trip (`pass_on` keeps its status and `Content-Type`).
async fn me(api: &WebApi, req: &web_sys::Request) -> std::result::Result<PassedResponse, Error> {
    let caller = api.authorize(req, USER).await?;
    Ok(api.call_api(PROFILE).get("me").for_user(&caller).pass_through().await?)
}

thread_local! {
    static HOOKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The example's hooks, set once per isolate (the `WebApi` lives as long as it): the users named
/// in the `BLOCKED_USERS` var (object ids, comma-separated: a kill switch that needs no new
/// token) are refused after their token validated, and every refusal's body says where to get
/// help.
fn set_hooks_once(api: &WebApi, env: &Env) {
    if HOOKED.with(|hooked| hooked.replace(true)) {
        return;
    }
    let blocked: Vec<String> = env
        .var("BLOCKED_USERS")
        .map(|v| v.to_string().split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    api.set_hooks(ValidationHooks {
        on_token_validated: Some(std::rc::Rc::new(move |token| match token.object_id() {
            Some(oid) if blocked.iter().any(|b| b == oid) => {
                Err(ValidationError::Refused("this user is blocked"))
            }
            _ => Ok(()),
        })),
        on_challenge: Some(std::rc::Rc::new(|refusal| {
            refusal.body_members_mut().insert("help".into(), json!("https://example.com/support"));
        })),
        ..ValidationHooks::default()
    });
}

/// Who called, and how: `Bearer`, or `DPoP` with a proof of the key the token is bound to (no
/// downstream call: a bound caller's token is not exchanged unless configured).
async fn whoami(api: &WebApi, req: &web_sys::Request) -> Answer {
    let caller = api.authorize(req, USER).await?;
    Ok(json(
        200,
        &json!({
            "sub": caller.subject(),
            "scheme": caller.scheme().name(),
            "jkt": caller.dpop_key_thumbprint(),
        }),
    ))
}

async fn dashboard(api: &WebApi, req: &web_sys::Request) -> Answer {
    let caller = api.authorize(req, USER).await?;
    let (profile, data) = futures_util::future::join(
        api.call_api(PROFILE).get("me").for_user(&caller).json::<Value>(),
        api.call_api(PARTNER).get("api/data").for_user(&caller).json::<Value>(),
    )
    .await;
    Ok(json(200, &json!({"profile": profile?, "data": data?})))
}

async fn process(api: &WebApi, req: &mut Request) -> Answer {
    let caller = api.authorize(req, USER).await?;
    let body = json_body(req).await?;
    let call = api.call_api(PARTNER).post("api/process").json_body(&body)?;
    Ok(json_bytes(call.for_user(&caller).bytes().await?))
}

async fn start_job(api: &WebApi, req: &mut Request) -> Answer {
    let caller = api.authorize(req, USER).await?;
    let body = json_body(req).await?;
    // Jobs are resumed by this API's own scheduler (client credentials as this app), so its
    // app-only tokens carry this app's client id. Only it and the user may continue the session.
    // A job may name its own id (`jobId`): the session key is then that id, bound to the first
    // user who starts it. Otherwise the SDK allocates one from the user's token.
    let key = match body.get("jobId").and_then(Value::as_str) {
        Some(id) => SessionKey::Key(id.to_owned()),
        None => SessionKey::AllocateForMe,
    };
    let start = SessionStart::from(key).continued_by_app(api.client_id());
    let session = api.start_session(&caller, PARTNER, start).await?;
    let (worker_api, key) = (api.clone(), session.key.clone());
    api.spawn(Box::pin(async move {
        let job = json!({"sessionKey": key, "job": body});
        let first_call = async {
            let call = worker_api.call_api(PARTNER).post("api/process").json_body(&job)?;
            call.for_session(&key, &caller).bytes().await
        };
        match first_call.await {
            Ok(_) => console_log!("edge-identity example: job started"),
            Err(e) => {
                console_error!("edge-identity example: the job's first call failed: {}", e.code())
            }
        }
    }));
    Ok(json(202, &json!({"sessionKey": session.key})))
}

async fn resume_job(api: &WebApi, req: &web_sys::Request, key: &str) -> Answer {
    let caller = api.authorize(req, Requirement::AppRole(&["Jobs.Resume"])).await?;
    if !caller.is_app_only() {
        let roles = vec!["Jobs.Resume".to_owned()];
        return Err(ValidationError::InsufficientScope { scopes: vec![], roles }.into());
    }
    let call = api
        .call_api(PARTNER)
        .post("api/process/complete")
        .json_body(&json!({"sessionKey": key}))?;
    Ok(json_bytes(call.for_session(key, &caller).bytes().await?))
}

/// Ends a job's session, for its user or the scheduler app: no isolate continues it after.
async fn end_job(api: &WebApi, req: &web_sys::Request, key: &str) -> Answer {
    let caller = api.authorize(req, Requirement::Authenticated).await?;
    api.acquirer().end_session(&caller, key).await?;
    let mut ended = http::Response::new(Vec::new());
    *ended.status_mut() = http::StatusCode::NO_CONTENT;
    Ok(ended)
}

/// The path of a serialized WHATWG URL (`https://host/a/b?q` → `/a/b`).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').and_then(|at| after_scheme.get(at..)).unwrap_or("/");
    path.split(['?', '#']).next().unwrap_or(path)
}

/// The request's JSON body (an empty body is `{}`), or a 400.
async fn json_body(req: &mut Request) -> std::result::Result<Value, Error> {
    let invalid = || Error::from(ValidationError::InvalidRequest("the body is not JSON"));
    let text = req.text().await.map_err(|_| invalid())?;
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(&text).map_err(|_| invalid())
}

fn json(status: u16, value: &Value) -> http::Response<Vec<u8>> {
    let mut response = json_bytes(serde_json::to_vec(value).unwrap_or_default());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response
}

fn json_bytes(body: Vec<u8>) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body);
    let json = http::HeaderValue::from_static("application/json");
    response.headers_mut().insert(http::header::CONTENT_TYPE, json);
    response
}
