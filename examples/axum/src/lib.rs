#![cfg(target_arch = "wasm32")]
//! axum on Workers: `Authorized<R>` extracts the caller that meets `R`, or answers the
//! rejection itself (400/401/403 per RFC 6750); handlers return `Result<_, Error>` with `?`.
use axum::{body::Body, extract::State, routing::get, Router};
use edge_identity::platform::worker::axum::{serve, Authorized, Require, WebApiState};
use edge_identity::{Error, Requirement};
use worker::{event, Context, Env, HttpRequest};

/// `[RequiredScope("access_as_user")]`.
struct AccessAsUser;
impl Require for AccessAsUser {
    const REQUIREMENT: Requirement<'static> = Requirement::scope(&["access_as_user"]);
}

#[event(fetch)]
async fn fetch(req: HttpRequest, env: Env, ctx: Context) -> worker::Result<http::Response<Body>> {
    let routes = Router::new().route("/me", get(me)).route("/report", get(report));
    Ok(serve(routes, req, &env, ctx).await)
}

/// The caller's profile, through On-Behalf-Of.
#[worker::send]
async fn me(
    State(api): State<WebApiState>,
    caller: Authorized<AccessAsUser>,
) -> Result<Vec<u8>, Error> {
    Ok(api.call_api("Profile").get("me").for_user(&caller).bytes().await?)
}

/// Partner data, called as the app itself (client credentials), for a caller with the scope.
#[worker::send]
async fn report(
    State(api): State<WebApiState>,
    _: Authorized<AccessAsUser>,
) -> Result<Vec<u8>, Error> {
    Ok(api.call_api("Partner").get("api/data").for_app().bytes().await?)
}
