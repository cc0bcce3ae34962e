//! Calling named downstream APIs (`DownstreamApis` in the configuration) for the user, for the
//! app, or for a long-running session: Microsoft.Identity.Web's `IDownstreamApi` and
//! `IAuthorizationHeaderProvider`, for the edge.
//!
//! - [`DownstreamApis::call_api`] builds a call that reads aloud (`call_api("Profile").get("me")
//!   .for_user(&caller).json()`, see [`call`]); [`DownstreamApis::call`] gives the raw response; [`get_json`](DownstreamApis::get_json),
//!   [`post_json`](DownstreamApis::post_json), [`put_json`](DownstreamApis::put_json),
//!   [`patch_json`](DownstreamApis::patch_json) and [`delete`](DownstreamApis::delete) map
//!   non-success answers to [`DownstreamError`] and bodies to serde types;
//!   [`authorization_header`](DownstreamApis::authorization_header) is for hosts that fetch
//!   themselves.
//! - Each call has its timeout (the platform's HTTP client aborts it; Workers: `AbortSignal`)
//!   and passes a correlation id on as `x-correlation-id`.
//! - A 401 carrying a claims challenge (`error="insufficient_claims"`) is retried once with a
//!   token acquired for those claims.
//! - Several calls in one request run concurrently with any `join`; they share the cache and
//!   the single flight.

pub mod call;
pub mod error;
pub mod options;

pub use call::{DownstreamCall, ReadyCall};

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::acquisition::claims::challenge_from_www_authenticate;
use crate::acquisition::{AcquiredToken, Session, SessionStart, TokenAcquirer, TokenRequest};
use crate::event::{Level, Step, Trace};
use crate::platform::{Background, HttpError, PassedBody, PassedBodyTimeout, ResponseLimit};
use crate::validation::authorize::ValidatedToken;
pub use error::DownstreamError;
pub use options::{DownstreamApiOptions, GRAPH};

/// The header a correlation id is passed on in.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// Whom a call is made for. `Debug` never shows a session key.
#[derive(Clone, Copy)]
pub enum CallAs<'a> {
    /// On behalf of the caller whose token this is.
    User(&'a ValidatedToken),
    /// As the app itself.
    App,
    /// For the long-running session stored under `key`, continued by `caller` (the user who
    /// started it, or an app it allows).
    Session {
        /// The session key.
        key: &'a str,
        /// Who continues it.
        caller: &'a ValidatedToken,
    },
}

impl CallAs<'_> {
    /// The trace of the request this call is made for, where events are on.
    fn trace(&self) -> Option<&Trace> {
        match self {
            CallAs::User(caller) | CallAs::Session { caller, .. } => caller.trace(),
            CallAs::App => None,
        }
    }
}

impl fmt::Debug for CallAs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallAs::User(user) => f.debug_tuple("User").field(user).finish(),
            CallAs::App => f.write_str("App"),
            CallAs::Session { caller, .. } => {
                f.debug_struct("Session").field("key", &"***").field("caller", caller).finish()
            }
        }
    }
}

/// Per-call overrides of an API's configuration. `Debug` shows header names and the body's
/// length, never header values or the body (they may carry a caller's credentials or data).
#[derive(Clone, Default)]
pub struct CallOptions {
    /// The path below the base URL (default: the API's `RelativePath`).
    pub relative_path: Option<String>,
    /// The method (default: the API's `HttpMethod`).
    pub method: Option<Method>,
    /// The scopes (default: the API's `Scopes`).
    pub scopes: Option<Vec<String>>,
    /// The timeout (default: the API's `TimeoutMs`).
    pub timeout: Option<Duration>,
    /// Extra headers.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Passed on as `x-correlation-id`, and to the token endpoint as `client-request-id`.
    pub correlation_id: Option<String>,
    /// The request body and its content type.
    pub body: Option<(Vec<u8>, String)>,
    /// For app tokens of multi-tenant apps: the tenant to ask.
    pub tenant: Option<String>,
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("CallOptions")
            .field("relative_path", &self.relative_path)
            .field("method", &self.method)
            .field("scopes", &self.scopes)
            .field("timeout", &self.timeout)
            .field("headers", &header_names)
            .field("correlation_id", &self.correlation_id)
            .field("body_bytes", &self.body.as_ref().map(|(body, _)| body.len()))
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl CallOptions {
    /// Options with the path set.
    pub fn path(path: impl Into<String>) -> CallOptions {
        CallOptions { relative_path: Some(path.into()), ..CallOptions::default() }
    }

    /// Sets the method.
    pub fn with_method(mut self, method: Method) -> CallOptions {
        self.method = Some(method);
        self
    }

    /// Sets a JSON body.
    pub fn with_json_body(mut self, body: Vec<u8>) -> CallOptions {
        self.body = Some((body, "application/json".into()));
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> CallOptions {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> CallOptions {
        self.timeout = Some(timeout);
        self
    }
}

/// A downstream API's answer.
pub struct DownstreamResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl fmt::Debug for DownstreamResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownstreamResponse")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl DownstreamResponse {
    /// `Ok(self)` for a 2xx answer, the [`DownstreamError`] it maps to otherwise.
    pub fn success(self) -> Result<DownstreamResponse, DownstreamError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(DownstreamError::Status { status: self.status, body: self.body })
        }
    }

    /// The body as `T` (an empty body reads as JSON `null`, for `()` or `Option<T>`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DownstreamError> {
        let body: &[u8] = if self.body.is_empty() { b"null" } else { &self.body };
        serde_json::from_slice(body).map_err(|_| DownstreamError::UnexpectedBody)
    }
}

/// A downstream API's success answer whose body was left unread where the host could (see
/// [`ReadyCall::pass_through`]): for a route that answers with it as it came. Its `Debug` shows
/// the status and the kind of body, never header values or the body.
pub struct PassedResponse {
    /// The status (a 2xx).
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body: the host's own, unread, or bytes where the host has no such body.
    pub body: PassedBody,
    /// This request's `Server-Timing` value (its validation, token and downstream steps), for
    /// the route's answer, where `Events.ServerTiming` is on. The downstream API's own
    /// `Server-Timing`, if it sent one, stays in `headers`.
    pub server_timing: Option<String>,
}

impl fmt::Debug for PassedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassedResponse")
            .field("status", &self.status)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// Whether a call reads every body, or leaves a success body to the host.
#[derive(Debug, Clone, Copy)]
enum Reading {
    Whole,
    Pass,
}

/// The configured downstream APIs and the acquirer that gets their tokens. Cheap to clone.
#[derive(Clone)]
pub struct DownstreamApis {
    acquirer: TokenAcquirer,
    apis: std::rc::Rc<BTreeMap<String, DownstreamApiOptions>>,
}

impl fmt::Debug for DownstreamApis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownstreamApis").field("apis", &self.apis.keys()).finish_non_exhaustive()
    }
}

impl DownstreamApis {
    /// The APIs in `apis`, plus the `graph` preset unless `apis` defines `graph`.
    pub fn new(acquirer: TokenAcquirer, mut apis: BTreeMap<String, DownstreamApiOptions>) -> Self {
        apis.entry(GRAPH.to_owned()).or_insert_with(DownstreamApiOptions::graph);
        DownstreamApis { acquirer, apis: std::rc::Rc::new(apis) }
    }

    /// A clone whose token refreshes run on `background` (Workers: `ctx.wait_until`).
    pub fn with_background(&self, background: std::rc::Rc<dyn Background>) -> Self {
        DownstreamApis {
            acquirer: self.acquirer.with_background(background),
            apis: self.apis.clone(),
        }
    }

    /// A call to the API configured as `name`, to build: method and path, query, headers, body,
    /// then whom it is for, then [`json`](ReadyCall::json), [`bytes`](ReadyCall::bytes) or
    /// [`response`](ReadyCall::response).
    pub fn call_api(&self, name: &str) -> DownstreamCall<'_> {
        DownstreamCall::new(self, name)
    }

    /// The token acquirer.
    pub fn acquirer(&self) -> &TokenAcquirer {
        &self.acquirer
    }

    /// The API configured as `name`.
    pub fn api(&self, name: &str) -> Result<&DownstreamApiOptions, DownstreamError> {
        self.apis.get(name).ok_or_else(|| DownstreamError::UnknownApi(name.to_owned()))
    }

    /// `Bearer <token>` for calling `name` as `who`, for hosts that make the call themselves.
    pub async fn authorization_header(
        &self,
        name: &str,
        who: CallAs<'_>,
    ) -> Result<String, DownstreamError> {
        let api = self.api(name)?;
        let token = self.token(api, who, &CallOptions::default(), None).await?;
        Ok(token.authorization_header())
    }

    /// Starts a long-running session for `caller` with the scopes (and audience or resource)
    /// configured for `name`; continue it with [`CallAs::Session`] and the returned key.
    pub async fn start_session(
        &self,
        caller: &ValidatedToken,
        name: &str,
        start: impl Into<SessionStart>,
    ) -> Result<Session, DownstreamError> {
        let request = token_request(self.api(name)?, &CallOptions::default(), None);
        Ok(self.acquirer.start_session(caller, start, &request).await?)
    }

    async fn token(
        &self,
        api: &DownstreamApiOptions,
        who: CallAs<'_>,
        options: &CallOptions,
        claims: Option<String>,
    ) -> Result<AcquiredToken, DownstreamError> {
        let mut request = token_request(api, options, claims);
        if request.correlation_id.is_none() {
            // Entra logs the request under the caller's correlation (a GUID).
            request.correlation_id = who.trace().map(Trace::client_request_id);
        }
        let token = match (who, api.request_app_token) {
            (CallAs::App, _) | (CallAs::User(_), true) => {
                self.acquirer.token_for_app(&request).await?
            }
            (CallAs::User(user), false) => self.acquirer.token_for_user(user, &request).await?,
            (CallAs::Session { key, caller }, _) => {
                self.acquirer.token_for_session(caller, key, &request).await?
            }
        };
        Ok(token)
    }

    /// Calls `name` as `who` and returns the answer whatever its status, after one retry for a
    /// claims challenge. Identity, timeout and connection failures are errors.
    pub async fn call(
        &self,
        name: &str,
        who: CallAs<'_>,
        options: CallOptions,
    ) -> Result<DownstreamResponse, DownstreamError> {
        let (parts, body) = self.exchange(name, who, options, Reading::Whole).await?.into_parts();
        let body = match body {
            PassedBody::Bytes(bytes) => bytes,
            // `Reading::Whole` sends with `HttpClient::send`, which reads every body.
            PassedBody::Host(_) => return Err(DownstreamError::UnexpectedBody),
        };
        Ok(DownstreamResponse { status: parts.status, headers: parts.headers, body })
    }

    /// Calls `name` as `who`; a success answer's body is left to the host where it can keep it
    /// (see [`ReadyCall::pass_through`]), other statuses are the errors
    /// [`DownstreamResponse::success`] gives.
    pub(crate) async fn call_passing_body(
        &self,
        name: &str,
        who: CallAs<'_>,
        options: CallOptions,
    ) -> Result<PassedResponse, DownstreamError> {
        let (parts, body) = self.exchange(name, who, options, Reading::Pass).await?.into_parts();
        // The route answers with this response: it carries the request's `Server-Timing`.
        let server_timing = who.trace().and_then(Trace::server_timing);
        match body {
            body @ PassedBody::Host(_) if parts.status.is_success() => Ok(PassedResponse {
                status: parts.status,
                headers: parts.headers,
                body,
                server_timing,
            }),
            PassedBody::Host(_) => {
                Err(DownstreamError::Status { status: parts.status, body: Vec::new() })
            }
            PassedBody::Bytes(bytes) => {
                let response = DownstreamResponse {
                    status: parts.status,
                    headers: parts.headers,
                    body: bytes,
                };
                let response = response.success()?;
                let body = PassedBody::Bytes(response.body);
                Ok(PassedResponse {
                    status: response.status,
                    headers: response.headers,
                    body,
                    server_timing,
                })
            }
        }
    }

    /// The call and its one retry for a claims challenge, reading bodies as `reading` says.
    async fn exchange(
        &self,
        name: &str,
        who: CallAs<'_>,
        options: CallOptions,
        reading: Reading,
    ) -> Result<http::Response<PassedBody>, DownstreamError> {
        let api = self.api(name)?;
        let url = api
            .url(options.relative_path.as_deref())
            .ok_or(DownstreamError::InvalidRequest("the path leaves the API's base URL"))?;
        let platform = self.acquirer.platform();
        let started = platform.events.as_ref().map(|_| platform.clock.now_millis());
        let token = self.token(api, who, &options, None).await?;
        let sent = self.timed(who, Step::Acquisition, started);
        let response = self.send(api, &url, &token, &options, reading, who.trace()).await;
        self.timed(who, Step::Downstream, sent);
        let response = self.emit_call(name, who, started, response, false)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = claims_challenge_of(&response);
        let Some(claims) = challenge else {
            return Ok(response);
        };
        let again = started.map(|_| platform.clock.now_millis());
        let token = self.token(api, who, &options, Some(claims)).await?;
        let sent = self.timed(who, Step::Acquisition, again);
        let response = self.send(api, &url, &token, &options, reading, who.trace()).await;
        self.timed(who, Step::Downstream, sent);
        let response = self.emit_call(name, who, started, response, true)?;
        // Challenged again with a token that carries the claims: a user calling in has to step
        // up (sign in again with them). An app, or a session's scheduler, can't: the answer
        // stays the API's own.
        match (who, claims_challenge_of(&response)) {
            (CallAs::User(user), Some(claims)) => {
                let request = token_request(api, &options, None);
                let challenge =
                    self.acquirer.claims_challenge(user.tenant_id(), &request, claims).await;
                Err(challenge.into())
            }
            _ => Ok(response),
        }
    }

    /// Adds the time since `since` (where requests are observed) to `step` of the request `who`
    /// calls for, and returns the time now.
    fn timed(&self, who: CallAs<'_>, step: Step, since: Option<u64>) -> Option<u64> {
        let since = since?;
        let now = self.acquirer.platform().clock.now_millis();
        if let Some(trace) = who.trace() {
            trace.add_timing(step, now.saturating_sub(since));
        }
        Some(now)
    }

    /// Writes the `downstream.call` event of `response` (where events are on) and passes it on.
    fn emit_call(
        &self,
        name: &str,
        who: CallAs<'_>,
        started: Option<u64>,
        response: Result<http::Response<PassedBody>, DownstreamError>,
        retried: bool,
    ) -> Result<http::Response<PassedBody>, DownstreamError> {
        let Some(started) = started else { return response };
        let platform = self.acquirer.platform();
        let status = response.as_ref().map(|r| r.status().as_u16()).ok();
        let level = match status {
            Some(status) if status < 500 => Level::Info,
            _ => Level::Warn,
        };
        let correlation = who.trace().map(|t| t.correlation_id.as_str());
        let elapsed = platform.clock.now_millis().saturating_sub(started);
        platform.emit("downstream.call", level, correlation, |event| {
            let event = event
                .with("api", name)
                .with(
                    "as",
                    match who {
                        CallAs::User(_) => "user",
                        CallAs::App => "app",
                        CallAs::Session { .. } => "session",
                    },
                )
                .with("status", status)
                .with("retried_for_claims", retried)
                .with("downstream_ms", elapsed);
            match &response {
                Err(error) => event.with("code", error.code()),
                Ok(_) => event,
            }
        });
        response
    }

    async fn send(
        &self,
        api: &DownstreamApiOptions,
        url: &str,
        token: &AcquiredToken,
        options: &CallOptions,
        reading: Reading,
        trace: Option<&Trace>,
    ) -> Result<http::Response<PassedBody>, DownstreamError> {
        let invalid = |_| DownstreamError::InvalidRequest("the request could not be built");
        let mut builder = http::Request::builder()
            .method(options.method.clone().unwrap_or_else(|| api.method.clone()))
            .uri(url)
            .header(http::header::AUTHORIZATION, token.authorization_header())
            .header(http::header::ACCEPT, "application/json");
        for (name, value) in api.headers.iter().chain(options.headers.iter()) {
            builder = builder.header(name, value);
        }
        if let Some(id) = &options.correlation_id {
            builder = builder.header(CORRELATION_HEADER, id.as_str());
        } else if let Some(trace) = trace {
            builder = builder.header(CORRELATION_HEADER, trace.correlation_id.as_str());
        }
        if let Some(trace) = trace {
            // The caller's W3C trace continues downstream, as a new span of it.
            let mut span = [0u8; 8];
            let _ = self.acquirer.platform().crypto.random(&mut span);
            builder = builder.header("traceparent", trace.traceparent(span));
        }
        let body = match &options.body {
            Some((bytes, content_type)) => {
                builder = builder.header(http::header::CONTENT_TYPE, content_type.as_str());
                bytes.clone()
            }
            None => Vec::new(),
        };
        builder = builder.extension(ResponseLimit(api.max_response_bytes));
        if let Some(limit) = api.body_timeout {
            builder = builder.extension(PassedBodyTimeout(limit));
        }
        let request = builder.body(body).map_err(invalid)?;
        let timeout = options.timeout.unwrap_or(api.timeout);
        let http = &self.acquirer.platform().http;
        let sent = match reading {
            Reading::Whole => http.send(request, timeout).await.map(|r| r.map(PassedBody::Bytes)),
            Reading::Pass => http.send_passing_body(request, timeout).await,
        };
        sent.map_err(|error| match error {
            HttpError::Timeout => DownstreamError::Timeout,
            HttpError::Transport(_) => DownstreamError::Transport,
            HttpError::TooLarge { .. } => DownstreamError::ResponseTooLarge,
        })
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        name: &str,
        who: CallAs<'_>,
        method: Method,
        path: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<T, DownstreamError> {
        let mut options = CallOptions { method: Some(method), ..CallOptions::default() };
        options.relative_path = path.map(str::to_owned);
        if let Some(body) = body {
            options = options.with_json_body(body);
        }
        self.call(name, who, options).await?.success()?.json()
    }

    /// `GET` and read the JSON answer. `path` overrides the API's `RelativePath`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        name: &str,
        who: CallAs<'_>,
        path: Option<&str>,
    ) -> Result<T, DownstreamError> {
        self.call_json(name, who, Method::GET, path, None).await
    }

    /// `POST` `body` as JSON and read the JSON answer.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        who: CallAs<'_>,
        path: Option<&str>,
        body: &B,
    ) -> Result<T, DownstreamError> {
        self.send_json(name, who, Method::POST, path, body).await
    }

    /// `PUT` `body` as JSON and read the JSON answer.
    pub async fn put_json<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        who: CallAs<'_>,
        path: Option<&str>,
        body: &B,
    ) -> Result<T, DownstreamError> {
        self.send_json(name, who, Method::PUT, path, body).await
    }

    /// `PATCH` `body` as JSON and read the JSON answer.
    pub async fn patch_json<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        who: CallAs<'_>,
        path: Option<&str>,
        body: &B,
    ) -> Result<T, DownstreamError> {
        self.send_json(name, who, Method::PATCH, path, body).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        who: CallAs<'_>,
        method: Method,
        path: Option<&str>,
        body: &B,
    ) -> Result<T, DownstreamError> {
        let body = serde_json::to_vec(body).map_err(|_| DownstreamError::Serialize)?;
        self.call_json(name, who, method, path, Some(body)).await
    }

    /// `DELETE`; any success status is `Ok`.
    pub async fn delete(
        &self,
        name: &str,
        who: CallAs<'_>,
        path: Option<&str>,
    ) -> Result<(), DownstreamError> {
        self.call(
            name,
            who,
            CallOptions {
                method: Some(Method::DELETE),
                relative_path: path.map(str::to_owned),
                ..CallOptions::default()
            },
        )
        .await?
        .success()
        .map(|_| ())
    }
}

/// The token request for a call to `api`: its scopes unless the call names others, its
/// audience or resource, and the call's tenant and correlation id.
/// The claims challenge of a 401 answer (`WWW-Authenticate: Bearer error="insufficient_claims",
/// claims="…"`), decoded, if it carries one.
fn claims_challenge_of<B>(response: &http::Response<B>) -> Option<String> {
    if response.status() != StatusCode::UNAUTHORIZED {
        return None;
    }
    response
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(challenge_from_www_authenticate)
}

fn token_request(
    api: &DownstreamApiOptions,
    options: &CallOptions,
    claims: Option<String>,
) -> TokenRequest {
    let mut request =
        TokenRequest::new(options.scopes.clone().unwrap_or_else(|| api.scopes.clone()));
    request.claims = claims;
    request.audience = api.audience.clone();
    request.resource = api.resource.clone();
    request.correlation_id = options.correlation_id.clone();
    request.tenant = options.tenant.clone();
    request
}
