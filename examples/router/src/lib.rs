#![cfg(target_arch = "wasm32")]
//! workers-rs's `Router` with the isolate's `WebApi` as route data: `/me` calls the Profile API
//! on behalf of the caller, `/report` calls the Partner API as the app itself (client
//! credentials) for a caller with the `access_as_user` scope.
use edge_identity::platform::worker::{error_response, to_worker_response, web_api};
use edge_identity::{Error, Requirement, WebApi};
use worker::{event, Context, Env, Request, Response, Result, Router};

type Answer = std::result::Result<http::Response<Vec<u8>>, Error>;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let api = match web_api(&env, ctx) {
        Ok(api) => api,
        Err(e) => return error_response(&e),
    };
    Router::with_data(api)
        .get_async("/me", |req, ctx| async move { answer(me(&ctx.data, &req).await) })
        .get_async("/report", |req, ctx| async move { answer(report(&ctx.data, &req).await) })
        .run(req, env)
        .await
}

fn answer(answer: Answer) -> Result<Response> {
    match answer {
        Ok(response) => to_worker_response(response),
        Err(e) => error_response(&e),
    }
}

async fn me(api: &WebApi, req: &Request) -> Answer {
    let caller = api.authorize(req, Requirement::scope(&["access_as_user"])).await?;
    Ok(http::Response::new(api.call_api("Profile").get("me").for_user(&caller).bytes().await?))
}

async fn report(api: &WebApi, req: &Request) -> Answer {
    api.authorize(req, Requirement::scope(&["access_as_user"])).await?;
    // An app-only call: a client-credentials token for the Partner API, cached for the isolate.
    Ok(http::Response::new(api.call_api("Partner").get("api/data").for_app().bytes().await?))
}
