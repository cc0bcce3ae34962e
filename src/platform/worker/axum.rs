//! axum on Workers (feature `axum`, which also turns on workers-rs's `http` feature, so
//! `#[event(fetch)]` takes a [`worker::HttpRequest`]).
//!
//! - [`serve`] builds (or reuses) the isolate's [`WebApi`] from the worker's
//!   bindings, gives it to the router as [`WebApiState`] and answers the request; a
//!   configuration error is answered as the SDK answers it (a bare 500).
//! - [`Authorized<R>`] is the extractor for the authorized caller: the bearer token validated and
//!   the [`Require`]ment `R` checked, or the rejection, which is an [`Error`] and
//!   answers itself (400, 401, 403 or 503 with `WWW-Authenticate`).
//! - [`Error`] is `IntoResponse`, so handlers return `Result<_, Error>` and use `?`.
//!
//! axum asks for `Send` state and futures; a Workers isolate runs one thread, so the state is
//! wrapped in workers-rs's `SendWrapper` and handlers that await the SDK take `#[worker::send]`,
//! as workers-rs documents for any JavaScript-backed value.
//!
//! ```ignore
//! use axum::{extract::State, routing::get, Router};
//! use edge_identity::platform::worker::axum::{serve, Authorized, Require, WebApiState};
//! use edge_identity::{Error, Requirement};
//!
//! struct AccessAsUser;
//! impl Require for AccessAsUser {
//!     const REQUIREMENT: Requirement<'static> = Requirement::scope(&["access_as_user"]);
//! }
//!
//! #[worker::event(fetch)]
//! async fn fetch(req: worker::HttpRequest, env: worker::Env, ctx: worker::Context)
//!     -> worker::Result<http::Response<axum::body::Body>> {
//!     Ok(serve(Router::new().route("/me", get(me)), req, &env, ctx).await)
//! }
//!
//! #[worker::send]
//! async fn me(State(api): State<WebApiState>, caller: Authorized<AccessAsUser>) -> Result<Vec<u8>, Error> {
//!     Ok(api.call_api("Profile").get("me").for_user(&caller).bytes().await?)
//! }
//! ```
use std::marker::PhantomData;
use std::ops::Deref;

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts};
use axum::response::IntoResponse;
use tower_service::Service;
use worker::send::{SendFuture, SendWrapper};

use super::{web_api_with, Bindings};
use crate::validation::authorize::{Requirement, ValidatedToken};
use crate::{Error, WebApi};

/// The isolate's [`WebApi`] as axum state (`Clone + Send + Sync`, as axum asks: a Workers isolate
/// has one thread). Derefs to the `WebApi`; extract it with `State<WebApiState>`.
#[derive(Clone, Debug)]
pub struct WebApiState(SendWrapper<WebApi>);

impl WebApiState {
    /// Wraps `api` (already carrying the request's `wait_until`) for a router.
    pub fn new(api: WebApi) -> Self {
        WebApiState(SendWrapper::new(api))
    }
}

impl Deref for WebApiState {
    type Target = WebApi;
    fn deref(&self) -> &WebApi {
        &self.0
    }
}

/// What a route requires of its caller, as a type, for [`Authorized<R>`]: Microsoft.Identity.Web's
/// `[RequiredScope]` / `[RequiredScopeOrAppPermission]` attributes.
pub trait Require {
    /// The requirement checked after the token is validated.
    const REQUIREMENT: Requirement<'static>;
}

/// Any valid token ([`Requirement::Authenticated`]).
#[derive(Debug, Clone, Copy)]
pub struct AnyValidToken;

impl Require for AnyValidToken {
    const REQUIREMENT: Requirement<'static> = Requirement::Authenticated;
}

/// The authorized caller: its bearer token validated and `R`'s requirement met. Derefs to the
/// [`ValidatedToken`], so `.for_user(&caller)` takes it as it is.
pub struct Authorized<R: Require = AnyValidToken> {
    caller: ValidatedToken,
    requirement: PhantomData<fn() -> R>,
}

impl<R: Require> Authorized<R> {
    /// The validated token.
    pub fn into_inner(self) -> ValidatedToken {
        self.caller
    }
}

impl<R: Require> Deref for Authorized<R> {
    type Target = ValidatedToken;
    fn deref(&self) -> &ValidatedToken {
        &self.caller
    }
}

impl<R: Require> std::fmt::Debug for Authorized<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Authorized").field(&self.caller).finish()
    }
}

impl<S, R> FromRequestParts<S> for Authorized<R>
where
    S: Send + Sync,
    WebApiState: FromRef<S>,
    R: Require,
{
    type Rejection = Error;

    fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> impl std::future::Future<Output = Result<Self, Error>> + Send {
        let api = WebApiState::from_ref(state);
        // The SDK's futures hold `Rc`s of the isolate's caches; the isolate has one thread.
        SendFuture::new(async move {
            let caller = api.authorize(&*parts, R::REQUIREMENT).await?;
            Ok(Authorized { caller, requirement: PhantomData })
        })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        self.to_response().map(Body::from)
    }
}

/// Answers `req` with `router`, whose state is the isolate's [`WebApi`] built from the default
/// [`Bindings`] (see [`web_api`](super::web_api)) and carrying this request's `wait_until`.
pub async fn serve(
    router: axum::Router<WebApiState>,
    req: worker::HttpRequest,
    env: &worker::Env,
    ctx: worker::Context,
) -> http::Response<Body> {
    serve_with(router, req, env, ctx, &Bindings::default()).await
}

/// [`serve`] with other binding names.
pub async fn serve_with(
    router: axum::Router<WebApiState>,
    req: worker::HttpRequest,
    env: &worker::Env,
    ctx: worker::Context,
    bindings: &Bindings,
) -> http::Response<Body> {
    let api = match web_api_with(env, ctx, bindings) {
        Ok(api) => api,
        Err(e) => return e.into_response(),
    };
    match router.with_state(WebApiState::new(api)).call(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
