//! A downstream call as a builder that reads aloud: the API by name, then the method and path,
//! query, headers and body, then whom it is for, then what to do with the answer.
//!
//! ```no_run
//! # async fn example(apis: &edge_identity::DownstreamApis, caller: &edge_identity::ValidatedToken)
//! #     -> Result<(), edge_identity::Error> {
//! #[derive(serde::Deserialize)]
//! struct Profile { name: String }
//!
//! let me: Profile = apis.call_api("Profile").get("me").query("$select", "name")
//!     .for_user(caller).json().await?;
//! let report = apis.call_api("Reports").post("api/reports").json_body(&serde_json::json!({"month": 11}))?
//!     .for_app().bytes().await?;
//! # let _ = (me.name, report);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::options::{encoded_segment, is_reserved_header};
use super::{
    CallAs, CallOptions, DownstreamApis, DownstreamError, DownstreamResponse, PassedResponse,
};
use crate::validation::authorize::ValidatedToken;

/// A call to one named downstream API, being built. Start one with
/// [`DownstreamApis::call_api`].
#[derive(Clone)]
#[must_use = "a call does nothing until it is sent (`for_user`/`for_app`/`for_session`, then `json`, `bytes` or `response`)"]
pub struct DownstreamCall<'a> {
    apis: &'a DownstreamApis,
    name: String,
    options: CallOptions,
    query: Vec<(String, String)>,
    error: Option<DownstreamError>,
}

impl<'a> DownstreamCall<'a> {
    pub(super) fn new(apis: &'a DownstreamApis, name: &str) -> Self {
        DownstreamCall {
            apis,
            name: name.to_owned(),
            options: CallOptions::default(),
            query: Vec::new(),
            error: None,
        }
    }

    fn method_path(mut self, method: Method, path: &str) -> Self {
        self.options.method = Some(method);
        self.options.relative_path = Some(path.to_owned());
        self
    }

    /// `GET path` (below the API's `BaseUrl`).
    pub fn get(self, path: &str) -> Self {
        self.method_path(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(self, path: &str) -> Self {
        self.method_path(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(self, path: &str) -> Self {
        self.method_path(Method::PUT, path)
    }

    /// `PATCH path`.
    pub fn patch(self, path: &str) -> Self {
        self.method_path(Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(self, path: &str) -> Self {
        self.method_path(Method::DELETE, path)
    }

    /// Adds a query parameter (percent-encoded here).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a request header. An invalid name or value, or a reserved header (`Authorization`,
    /// `Host`, `Cookie`, `Content-Length`, `Transfer-Encoding`, as in configuration), fails the
    /// call when it is sent.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), _) if is_reserved_header(&name) => {
                self.error =
                    Some(DownstreamError::InvalidRequest("a reserved header can't be set"));
            }
            (Ok(name), Ok(value)) => self.options.headers.push((name, value)),
            _ => {
                self.error = Some(DownstreamError::InvalidRequest("a header is not valid"));
            }
        }
        self
    }

    /// Appends one path segment to the call's path, percent-encoded so that the value (a file
    /// name, an id from the request) adds exactly one segment: no `?`, `#`, `;` or `%` of its
    /// own; a value that is `.` or `..` or holds `/` or `\` fails the call. Prefer it to
    /// `format!("files/{name}")`, whose `..` would resolve upward (staying below `BaseUrl`, but
    /// reaching another resource).
    ///
    /// ```no_run
    /// # async fn example(apis: &edge_identity::DownstreamApis, caller: &edge_identity::ValidatedToken,
    /// #     name: &str) -> Result<(), edge_identity::Error> {
    /// let file = apis.call_api("Files").get("files").segment(name).for_user(caller).bytes().await?;
    /// # let _ = file; Ok(()) }
    /// ```
    pub fn segment(mut self, value: &str) -> Self {
        match encoded_segment(value) {
            Some(segment) => {
                let path = self.options.relative_path.take().unwrap_or_default();
                let path = path.trim_end_matches('/');
                self.options.relative_path =
                    Some(if path.is_empty() { segment } else { format!("{path}/{segment}") });
            }
            None => {
                self.error = Some(DownstreamError::InvalidRequest(
                    "a path segment can't be empty, . or .., or hold / or \\",
                ));
            }
        }
        self
    }

    /// Sends `body` as JSON.
    pub fn json_body<B: Serialize>(mut self, body: &B) -> Result<Self, DownstreamError> {
        let bytes = serde_json::to_vec(body).map_err(|_| DownstreamError::Serialize)?;
        self.options = std::mem::take(&mut self.options).with_json_body(bytes);
        Ok(self)
    }

    /// Sends `body` as it is, with `content_type`.
    pub fn body(mut self, body: Vec<u8>, content_type: &str) -> Self {
        self.options.body = Some((body, content_type.to_owned()));
        self
    }

    /// Overrides the API's `TimeoutMs` for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Passes `id` on as `x-correlation-id` (and `client-request-id` to the token endpoint).
    pub fn correlation_id(mut self, id: &str) -> Self {
        self.options.correlation_id = Some(id.to_owned());
        self
    }

    /// On behalf of `caller` (On-Behalf-Of, or RFC 8693 token exchange).
    pub fn for_user(self, caller: &'a ValidatedToken) -> ReadyCall<'a> {
        self.ready(CallAs::User(caller))
    }

    /// As the app itself (client credentials).
    pub fn for_app(self) -> ReadyCall<'a> {
        self.ready(CallAs::App)
    }

    /// For the long-running session `key`, continued by `caller` (its owner or an allowed app).
    pub fn for_session(self, key: &'a str, caller: &'a ValidatedToken) -> ReadyCall<'a> {
        self.ready(CallAs::Session { key, caller })
    }

    fn ready(mut self, who: CallAs<'a>) -> ReadyCall<'a> {
        if !self.query.is_empty() {
            let path = self.options.relative_path.take().unwrap_or_default();
            let query = crate::acquisition::grants::form_encode(&self.query);
            let joiner = if path.contains('?') { '&' } else { '?' };
            self.options.relative_path = Some(format!("{path}{joiner}{query}"));
        }
        ReadyCall { call: self, who }
    }
}

/// A call whose subject is known: send it with [`json`](Self::json), [`bytes`](Self::bytes)
/// or [`response`](Self::response).
#[must_use = "a call does nothing until it is sent (`json`, `bytes` or `response`)"]
pub struct ReadyCall<'a> {
    call: DownstreamCall<'a>,
    who: CallAs<'a>,
}

impl ReadyCall<'_> {
    /// Sends the call and returns the answer whatever its status, its body untouched: for a
    /// route that passes the answer on (no JSON round trip).
    pub async fn response(self) -> Result<DownstreamResponse, DownstreamError> {
        if let Some(error) = self.call.error {
            return Err(error);
        }
        self.call.apis.call(&self.call.name, self.who, self.call.options).await
    }

    /// Sends the call for a route that answers with a success answer as it came: the body is
    /// left unread where the host can keep it (Workers: the response stream, which
    /// `platform::worker::pass_on` turns into the route's response
    /// without copying it into wasm), and read otherwise. Other statuses are the errors
    /// [`bytes`](Self::bytes) gives, after the same claims-challenge retry. The response size
    /// limit applies only to bodies that are read.
    pub async fn pass_through(self) -> Result<PassedResponse, DownstreamError> {
        if let Some(error) = self.call.error {
            return Err(error);
        }
        self.call.apis.call_passing_body(&self.call.name, self.who, self.call.options).await
    }

    /// Sends the call and returns the body of a success answer; other statuses are errors.
    pub async fn bytes(self) -> Result<Vec<u8>, DownstreamError> {
        Ok(self.response().await?.success()?.body)
    }

    /// Sends the call and reads a success answer as JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, DownstreamError> {
        self.response().await?.success()?.json()
    }
}
