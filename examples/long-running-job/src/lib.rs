#![cfg(target_arch = "wasm32")]
//! A long-running job (Microsoft.Identity.Web's long-running OBO sessions): `POST /jobs` starts
//! a session with the caller's token; `POST /jobs/{key}/run` continues it later, even after that
//! token has expired, with this app's own app-only token (a scheduler holding `Jobs.Resume`).
use edge_identity::platform::worker::{error_response, to_worker_response, web_api};
use edge_identity::{Error, Requirement, SessionKey, SessionStart, WebApi};
use worker::{event, Context, Env, Request, Response, Result, Router};

type Answer = std::result::Result<http::Response<Vec<u8>>, Error>;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let api = match web_api(&env, ctx) {
        Ok(api) => api,
        Err(e) => return error_response(&e),
    };
    Router::with_data(api)
        .post_async("/jobs", |req, ctx| async move { answer(start(&ctx.data, &req).await) })
        .post_async("/jobs/:key/run", |req, ctx| async move {
            let key = ctx.param("key").cloned().unwrap_or_default();
            answer(run(&ctx.data, &req, &key).await)
        })
        .run(req, env)
        .await
}

fn answer(answer: Answer) -> Result<Response> {
    match answer {
        Ok(response) => to_worker_response(response),
        Err(e) => error_response(&e),
    }
}

async fn start(api: &WebApi, req: &Request) -> Answer {
    let caller = api.authorize(req, Requirement::scope(&["access_as_user"])).await?;
    // The user's refresh token is kept (sealed) under the session key. Only the user and this
    // app's app-only tokens may continue the session.
    let start = SessionStart::from(SessionKey::AllocateForMe).continued_by_app(api.client_id());
    let session = api.start_session(&caller, "Partner", start).await?;
    let body = serde_json::json!({ "sessionKey": session.key }).to_string();
    let mut response = http::Response::new(body.into_bytes());
    *response.status_mut() = http::StatusCode::ACCEPTED;
    Ok(response)
}

async fn run(api: &WebApi, req: &Request, key: &str) -> Answer {
    let scheduler = api.authorize(req, Requirement::app_role(&["Jobs.Resume"])).await?;
    // A token for the user (refreshed from the session), not for the scheduler.
    let call = api.call_api("Partner").post("api/process/complete");
    let call = call.json_body(&serde_json::json!({ "sessionKey": key }))?;
    Ok(http::Response::new(call.for_session(key, &scheduler).bytes().await?))
}
