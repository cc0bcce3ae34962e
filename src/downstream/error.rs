//! What a downstream call can end in, and the answer each gives the client, as the
//! Microsoft.Identity.Web documents map them: identity errors as the acquisition answers them
//! (401 challenge, 503), downstream 400 and 404 passed through as such, any other failure 502,
//! a timeout 504.

use std::fmt;

use serde_json::json;

use crate::acquisition::AcquisitionError;

/// A downstream call failed.
#[derive(Clone, PartialEq, Eq)]
pub enum DownstreamError {
    /// No API is configured under this name.
    UnknownApi(String),
    /// The path or a header can't be used (a path leaving the base URL, say).
    InvalidRequest(&'static str),
    /// No token could be acquired for the call.
    Acquisition(AcquisitionError),
    /// The API answered with a non-success status. The body is kept for the host, which may
    /// pass it on; the SDK's own answer does not include it.
    Status {
        /// The API's status.
        status: http::StatusCode,
        /// The API's body.
        body: Vec<u8>,
    },
    /// No answer within the call's timeout.
    Timeout,
    /// The connection failed.
    Transport,
    /// A success answer whose body is not the JSON expected.
    UnexpectedBody,
    /// The answer's body was longer than the API's `MaxResponseBytes`; reading stopped there.
    ResponseTooLarge,
    /// The request body could not be serialized.
    Serialize,
}

impl fmt::Debug for DownstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownstreamError::Status { status, body } => {
                write!(f, "Status {{ status: {status}, body: {} bytes }}", body.len())
            }
            DownstreamError::UnknownApi(name) => write!(f, "UnknownApi({name:?})"),
            DownstreamError::InvalidRequest(why) => write!(f, "InvalidRequest({why:?})"),
            DownstreamError::Acquisition(e) => write!(f, "Acquisition({e:?})"),
            DownstreamError::Timeout => f.write_str("Timeout"),
            DownstreamError::Transport => f.write_str("Transport"),
            DownstreamError::UnexpectedBody => f.write_str("UnexpectedBody"),
            DownstreamError::ResponseTooLarge => f.write_str("ResponseTooLarge"),
            DownstreamError::Serialize => f.write_str("Serialize"),
        }
    }
}

impl fmt::Display for DownstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownstreamError::Acquisition(e) => write!(f, "{e}"),
            DownstreamError::Status { status, .. } => {
                write!(f, "the downstream API answered {status}")
            }
            DownstreamError::UnknownApi(name) => {
                write!(f, "no downstream API is configured as {name:?}")
            }
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for DownstreamError {}

impl From<AcquisitionError> for DownstreamError {
    fn from(e: AcquisitionError) -> Self {
        DownstreamError::Acquisition(e)
    }
}

impl DownstreamError {
    /// The status the host should answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            DownstreamError::Acquisition(e) => e.status(),
            DownstreamError::Status { status, .. }
                if *status == http::StatusCode::BAD_REQUEST
                    || *status == http::StatusCode::NOT_FOUND =>
            {
                *status
            }
            DownstreamError::Timeout => http::StatusCode::GATEWAY_TIMEOUT,
            DownstreamError::Status { .. }
            | DownstreamError::Transport
            | DownstreamError::UnexpectedBody
            | DownstreamError::ResponseTooLarge => http::StatusCode::BAD_GATEWAY,
            DownstreamError::UnknownApi(_)
            | DownstreamError::InvalidRequest(_)
            | DownstreamError::Serialize => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code for logs and the answer's `error` member.
    pub fn code(&self) -> &'static str {
        match self {
            DownstreamError::Acquisition(e) => e.code(),
            DownstreamError::Status { status, .. } if *status == http::StatusCode::BAD_REQUEST => {
                "downstream_bad_request"
            }
            DownstreamError::Status { status, .. } if *status == http::StatusCode::NOT_FOUND => {
                "downstream_not_found"
            }
            DownstreamError::Status { .. }
            | DownstreamError::Transport
            | DownstreamError::UnexpectedBody => "downstream_error",
            DownstreamError::ResponseTooLarge => "downstream_response_too_large",
            DownstreamError::Timeout => "downstream_timeout",
            DownstreamError::UnknownApi(_)
            | DownstreamError::InvalidRequest(_)
            | DownstreamError::Serialize => "server_error",
        }
    }

    fn description(&self) -> &'static str {
        match self {
            DownstreamError::Acquisition(e) => e.description(),
            DownstreamError::Status { status, .. } if *status == http::StatusCode::BAD_REQUEST => {
                "the downstream service refused the request"
            }
            DownstreamError::Status { status, .. } if *status == http::StatusCode::NOT_FOUND => {
                "resource not found in the downstream service"
            }
            DownstreamError::Status { .. } => "the downstream service failed",
            DownstreamError::Transport => "the downstream service could not be reached",
            DownstreamError::UnexpectedBody => {
                "the downstream service answered with an unexpected body"
            }
            DownstreamError::Timeout => "the downstream service did not answer in time",
            DownstreamError::ResponseTooLarge => {
                "the downstream service answered with a body larger than allowed"
            }
            DownstreamError::UnknownApi(_) => "the downstream API is not configured",
            DownstreamError::InvalidRequest(_) => "the downstream request could not be built",
            DownstreamError::Serialize => "the downstream request body could not be serialized",
        }
    }

    /// The answer for the client. Identity errors answer as [`AcquisitionError::to_response`];
    /// the others with a JSON `{"error", "error_description"}` and no downstream content.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        if let DownstreamError::Acquisition(e) = self {
            return e.to_response();
        }
        let body = json!({ "error": self.code(), "error_description": self.description() });
        crate::error_response::json_response(self.status(), None, None, &body)
    }
}
