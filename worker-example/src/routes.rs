//! The Worker's entry point and routes (Workers only).

use std::cell::RefCell;
use std::rc::Rc;

use edge_identity::platform::worker::{
    authorize, error_response, platform, to_worker_response, WaitUntil,
};
use edge_identity::platform::Background;
use edge_identity::{
    CallAs, ConfigError, DownstreamApis, Requirement, SessionKey, SessionStart, TokenAcquirer,
    TokenRequest, TokenValidator, ValidatedToken, ValidationError,
};
use serde_json::{json, Value};
use worker::{console_error, console_log, event, Context, Env, Method, Request, Response, Result};

use crate::settings::{load, PARTNER, PROFILE};

/// What lives as long as the isolate: the validator's keys and the token cache.
struct App {
    validator: TokenValidator,
    apis: DownstreamApis,
}

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

fn optional(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
}

/// The isolate's app, built on first use. A configuration problem is not cached: the next
/// request tries again (a redeploy with fixed settings starts a new isolate anyway).
fn app(env: &Env) -> std::result::Result<Rc<App>, ConfigError> {
    if let Some(app) = APP.with(|a| a.borrow().clone()) {
        return Ok(app);
    }
    let settings = load(
        optional(env, "IDENTITY_CONFIG").as_deref(),
        optional(env, "CLIENT_SECRET").as_deref(),
        optional(env, "TOKEN_CACHE_KEY").as_deref(),
    )?;
    let platform = platform(env, Some("TOKEN_CACHE"), settings.seal_secret.as_ref())
        .map_err(|e| ConfigError { field: "TOKEN_CACHE".into(), problem: e.to_string() })?;
    let validator = TokenValidator::from_config(&settings.config.azure_ad, platform.clone())?;
    let acquirer = TokenAcquirer::new(platform, settings.acquisition);
    let apis = DownstreamApis::from_config(acquirer, &settings.config)?;
    let app = Rc::new(App { validator, apis });
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    Ok(app)
}

fn answer(response: http::Response<Vec<u8>>) -> Result<Response> {
    to_worker_response(response)
}

fn json_response(status: u16, value: &Value) -> Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if req.method() == Method::Get && segments == ["healthz"] {
        return json_response(200, &json!({"status": "ok"}));
    }
    let app = match app(&env) {
        Ok(app) => app,
        Err(e) => {
            console_error!("edge-identity example: {e}");
            return answer(e.to_response());
        }
    };
    let background: Rc<dyn Background> = Rc::new(WaitUntil::new(ctx));
    let apis = app.apis.with_background(background.clone());
    let mut req = req;
    let caller = match authorize(&app.validator, &req, Requirement::Authenticated).await {
        Ok(caller) => caller,
        Err(e) => return error_response(&e),
    };
    match (req.method(), segments.as_slice()) {
        (Method::Get, ["api", "me"]) => me(&apis, &caller).await,
        (Method::Get, ["api", "dashboard"]) => dashboard(&apis, &caller).await,
        (Method::Post, ["api", "process"]) => {
            let body = match json_body(&mut req).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            process(&apis, &caller, &body).await
        }
        (Method::Post, ["api", "jobs"]) => {
            let body = match json_body(&mut req).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            start_job(&apis, &caller, body, background).await
        }
        (Method::Post, ["api", "jobs", key, "resume"]) => resume_job(&apis, &caller, key).await,
        _ => json_response(404, &json!({"error": "not_found"})),
    }
}

/// The request's JSON body (an empty body is `{}`), or a 400 answer.
async fn json_body(req: &mut Request) -> std::result::Result<Value, Result<Response>> {
    let text = req.text().await.map_err(Err)?;
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(&text).map_err(|_| {
        json_response(
            400,
            &json!({"error": "invalid_request", "error_description": "the body is not JSON"}),
        )
    })
}

fn require_user(caller: &ValidatedToken) -> std::result::Result<(), Result<Response>> {
    Requirement::scope(&["access_as_user"]).check(caller).map_err(|e| answer(e.to_response()))
}

async fn me(apis: &DownstreamApis, caller: &ValidatedToken) -> Result<Response> {
    if let Err(response) = require_user(caller) {
        return response;
    }
    match apis.get_json::<Value>(PROFILE, CallAs::User(caller), Some("me")).await {
        Ok(profile) => json_response(200, &profile),
        Err(e) => answer(e.to_response()),
    }
}

async fn dashboard(apis: &DownstreamApis, caller: &ValidatedToken) -> Result<Response> {
    if let Err(response) = require_user(caller) {
        return response;
    }
    let (profile, data) = futures_util::future::join(
        apis.get_json::<Value>(PROFILE, CallAs::User(caller), Some("me")),
        apis.get_json::<Value>(PARTNER, CallAs::User(caller), Some("api/data")),
    )
    .await;
    match (profile, data) {
        (Ok(profile), Ok(data)) => json_response(200, &json!({"profile": profile, "data": data})),
        (Err(e), _) | (_, Err(e)) => answer(e.to_response()),
    }
}

async fn process(apis: &DownstreamApis, caller: &ValidatedToken, body: &Value) -> Result<Response> {
    if let Err(response) = require_user(caller) {
        return response;
    }
    match apis
        .post_json::<Value, Value>(PARTNER, CallAs::User(caller), Some("api/process"), body)
        .await
    {
        Ok(result) => json_response(200, &result),
        Err(e) => answer(e.to_response()),
    }
}

async fn start_job(
    apis: &DownstreamApis,
    caller: &ValidatedToken,
    body: Value,
    background: Rc<dyn Background>,
) -> Result<Response> {
    if let Err(response) = require_user(caller) {
        return response;
    }
    let scopes = match apis.api(PARTNER) {
        Ok(api) => api.scopes.clone(),
        Err(e) => return answer(e.to_response()),
    };
    // Jobs are resumed by this API's own scheduler: client credentials as this app, so its
    // app-only tokens carry this app's client id. Only it and the user may continue the session.
    let acquirer = apis.acquirer();
    let start = SessionStart::from(SessionKey::AllocateForMe)
        .continued_by_app(acquirer.options().client_id.clone());
    let session = match acquirer.start_session(caller, start, &TokenRequest::new(scopes)).await {
        Ok(session) => session,
        Err(e) => return answer(e.to_response()),
    };
    let key = session.key.clone();
    let apis = apis.clone();
    let caller = caller.clone();
    background.spawn(Box::pin(async move {
        let job = json!({"sessionKey": key, "job": body});
        let who = CallAs::Session { key: &key, caller: &caller };
        match apis.post_json::<Value, Value>(PARTNER, who, Some("api/process"), &job).await {
            Ok(_) => console_log!("edge-identity example: job started"),
            Err(e) => {
                console_error!("edge-identity example: the job's first call failed: {}", e.code())
            }
        }
    }));
    json_response(202, &json!({"sessionKey": session.key}))
}

async fn resume_job(apis: &DownstreamApis, caller: &ValidatedToken, key: &str) -> Result<Response> {
    let only_apps =
        ValidationError::InsufficientScope { scopes: vec![], roles: vec!["Jobs.Resume".into()] };
    if !caller.is_app_only() {
        return answer(only_apps.to_response());
    }
    if let Err(e) = caller.require_app_role(&["Jobs.Resume"]) {
        return answer(e.to_response());
    }
    let job = json!({"sessionKey": key});
    match apis
        .post_json::<Value, Value>(
            PARTNER,
            CallAs::Session { key, caller },
            Some("api/process/complete"),
            &job,
        )
        .await
    {
        Ok(result) => json_response(200, &result),
        Err(e) => answer(e.to_response()),
    }
}
