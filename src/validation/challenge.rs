//! The answer to a refused request: a [`Refusal`] is the [`ValidationError`] with the
//! challenges of every scheme the API takes (RFC 6750 §3 `Bearer`, RFC 9449 §7.1 `DPoP` with its
//! `algs`), the protected-resource metadata's URL in each (RFC 9728 §5.1 `resource_metadata`),
//! and a fresh `DPoP-Nonce` where the API asks for one.

use std::fmt;

use crate::error_response::{json_response, quote_safe};
use crate::event::{Trace, SERVER_TIMING_HEADER};
use crate::validation::dpop::DPOP_NONCE_HEADER;
use crate::validation::error::ValidationError;
use crate::validation::options::{DpopMode, DpopOptions};

/// The authentication scheme a request presented its token with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750), or a Cloudflare Access assertion.
    Bearer,
    /// `Authorization: DPoP` with a `DPoP` proof (RFC 9449).
    Dpop,
}

impl Scheme {
    /// The scheme's name in `Authorization` and `WWW-Authenticate`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Bearer => "Bearer",
            Scheme::Dpop => "DPoP",
        }
    }
}

/// Why a request was refused, and its whole answer: the [`ValidationError`] (its code, status
/// and description) with the challenges of the API that refused it. It dereferences to the
/// error and compares equal to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    error: ValidationError,
    /// Boxed: a refusal is the error path, and `Result<ValidatedToken, Refusal>` stays small on
    /// the path every accepted request takes.
    answer: Box<Answer>,
}

/// What a refusal answers with, besides its error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Answer {
    challenges: Vec<String>,
    dpop_nonce: Option<String>,
    correlation_id: Option<String>,
    server_timing: Option<String>,
    body_members: serde_json::Map<String, serde_json::Value>,
}

impl Refusal {
    /// The reason.
    pub fn error(&self) -> &ValidationError {
        &self.error
    }

    /// The reason, without the challenges.
    pub fn into_error(self) -> ValidationError {
        self.error
    }

    /// The `WWW-Authenticate` challenges of the answer, in order (none for a 503).
    pub fn challenges(&self) -> &[String] {
        &self.answer.challenges
    }

    /// The nonce the answer gives the client for its next proof (`DPoP-Nonce`), if any.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.answer.dpop_nonce.as_deref()
    }

    /// The challenges, to change (an `on_challenge` hook): each is one `WWW-Authenticate` value.
    pub fn challenges_mut(&mut self) -> &mut Vec<String> {
        &mut self.answer.challenges
    }

    /// Members added to the answer's JSON body (an `on_challenge` hook); the SDK's own
    /// members (`error`, `error_description`, `code`, ...) are kept.
    pub fn body_members_mut(&mut self) -> &mut serde_json::Map<String, serde_json::Value> {
        &mut self.answer.body_members
    }

    /// The request's correlation id, where events are on: also in the answer's body.
    pub fn correlation_id(&self) -> Option<&str> {
        self.answer.correlation_id.as_deref()
    }

    /// The same refusal, for the request traced by `trace`: its correlation id, and its
    /// `Server-Timing` where the API answers with one.
    pub(crate) fn traced(mut self, trace: &Trace) -> Refusal {
        self.answer.correlation_id = Some(trace.correlation_id.clone());
        self.answer.server_timing = trace.server_timing();
        self
    }

    /// The answer's `Server-Timing` value, where `Events.ServerTiming` is on.
    pub fn server_timing(&self) -> Option<&str> {
        self.answer.server_timing.as_deref()
    }

    /// The complete HTTP answer: the error's status and JSON body (with `correlation_id` where
    /// events are on), every challenge, the `DPoP-Nonce` where one is given, and
    /// `Server-Timing` where `Events.ServerTiming` is on.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        let mut body = self.error.body();
        if let Some(obj) = body.as_object_mut() {
            if let Some(id) = &self.answer.correlation_id {
                obj.insert("correlation_id".into(), id.as_str().into());
            }
            for (name, value) in &self.answer.body_members {
                obj.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        let retry_after = self.error.retry_after_secs();
        let mut response = json_response(self.error.status(), None, retry_after, &body);
        let headers = response.headers_mut();
        for challenge in &self.answer.challenges {
            if let Ok(value) = http::HeaderValue::from_str(challenge) {
                headers.append(http::header::WWW_AUTHENTICATE, value);
            }
        }
        if let Some(nonce) = self.answer.dpop_nonce.as_deref() {
            if let Ok(value) = http::HeaderValue::from_str(nonce) {
                headers.insert(DPOP_NONCE_HEADER, value);
            }
        }
        if let Some(timing) = self.answer.server_timing.as_deref() {
            if let Ok(value) = http::HeaderValue::from_str(timing) {
                headers.insert(SERVER_TIMING_HEADER, value);
            }
        }
        response
    }

    /// The refusal of an API that takes bearer tokens only, with no metadata to point at: the
    /// error's own challenge.
    pub(crate) fn plain(error: ValidationError) -> Refusal {
        let challenges = error.www_authenticate().into_iter().collect();
        Refusal { error, answer: Box::new(Answer { challenges, ..Answer::default() }) }
    }

    /// The refusal of an API with `dpop` options for a request presented with `presented`
    /// (`None`: no credentials), pointing at `resource_metadata` where it is known.
    pub(crate) fn new(
        error: ValidationError,
        dpop: &DpopOptions,
        presented: Option<Scheme>,
        resource_metadata: Option<&str>,
        dpop_nonce: Option<String>,
    ) -> Refusal {
        if let ValidationError::KeysUnavailable(_) = error {
            return Refusal { error, answer: Box::default() };
        }
        let error_scheme = match (&error, presented, dpop.mode) {
            (ValidationError::Dpop(_), _, _) => Scheme::Dpop,
            (_, Some(scheme), _) => scheme,
            (_, None, DpopMode::Required) => Scheme::Dpop,
            (_, None, _) => Scheme::Bearer,
        };
        let schemes: &[Scheme] = match dpop.mode {
            DpopMode::Off => &[Scheme::Bearer],
            DpopMode::Allowed => &[Scheme::Bearer, Scheme::Dpop],
            DpopMode::Required => &[Scheme::Dpop],
        };
        let challenges = schemes
            .iter()
            .map(|&scheme| {
                let mut params = Vec::new();
                if scheme == error_scheme {
                    params.extend(error.challenge_params());
                }
                if scheme == Scheme::Dpop {
                    params.push(format!("algs=\"{}\"", dpop.algs()));
                }
                if let Some(url) = resource_metadata {
                    params.push(format!("resource_metadata=\"{}\"", quote_safe(url)));
                }
                if params.is_empty() {
                    scheme.name().to_owned()
                } else {
                    format!("{} {}", scheme.name(), params.join(", "))
                }
            })
            .collect();
        Refusal { error, answer: Box::new(Answer { challenges, dpop_nonce, ..Answer::default() }) }
    }
}

impl From<ValidationError> for Refusal {
    fn from(error: ValidationError) -> Refusal {
        Refusal::plain(error)
    }
}

impl std::ops::Deref for Refusal {
    type Target = ValidationError;

    fn deref(&self) -> &ValidationError {
        &self.error
    }
}

impl PartialEq<ValidationError> for Refusal {
    fn eq(&self, other: &ValidationError) -> bool {
        self.error == *other
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Refusal {}
