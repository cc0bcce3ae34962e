#![cfg(target_arch = "wasm32")]
use edge_identity::platform::worker::{error_response, to_worker_response, web_api};
use edge_identity::{Error, Requirement};
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    match me(&req, &env, ctx).await {
        Ok(response) => to_worker_response(response),
        Err(e) => error_response(&e), // 400/401/403 (RFC 6750), 503, 502/504, a bare 500
    }
}

type Answer = std::result::Result<http::Response<Vec<u8>>, Error>;

async fn me(req: &Request, env: &Env, ctx: Context) -> Answer {
    // Built from IDENTITY_CONFIG, CLIENT_SECRET, TOKEN_CACHE_KEY and the TOKEN_CACHE KV binding
    // on first use, kept for the isolate; token refreshes run on this request's wait_until.
    let api = web_api(env, ctx)?;
    let caller = api.authorize(req, Requirement::scope(&["access_as_user"])).await?;
    // On-Behalf-Of (cached, sealed in KV), then the call; the body is passed on as it came.
    let profile = api.call_api("Profile").get("me").for_user(&caller).bytes().await?;
    Ok(http::Response::new(profile))
}
