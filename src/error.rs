//! [`Error`]: every failure the SDK answers a request with, as one type, on the top floor where
//! validation's, acquisition's, downstream calls' and configuration's errors meet.

use std::fmt;

use crate::acquisition::AcquisitionError;
use crate::config_error::ConfigError;
use crate::downstream::DownstreamError;
use crate::validation::challenge::Refusal;
use crate::validation::error::ValidationError;

/// Everything the SDK answers a request with, as one type: a rejected token
/// ([`Refusal`]: a [`ValidationError`] with its challenges), a token that could not be acquired
/// ([`AcquisitionError`](crate::AcquisitionError)), a failed downstream call
/// ([`DownstreamError`](crate::DownstreamError)) or a configuration problem
/// ([`ConfigError`](crate::ConfigError)). Each has a stable [`code`](Error::code), a
/// [`status`](Error::status) and [`to_response`](Error::to_response), the complete answer, so a
/// handler can use `?` and answer the error as it is:
///
/// ```
/// use edge_identity::{Error, ValidationError};
///
/// fn handler(token: Result<(), ValidationError>) -> Result<http::Response<Vec<u8>>, Error> {
///     token?;
///     Ok(http::Response::new(b"hello".to_vec()))
/// }
/// let answer = handler(Err(ValidationError::Expired)).unwrap_or_else(http::Response::from);
/// assert_eq!(answer.status(), 401);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request's token was refused (401, 403, 400; 503 when the issuer's keys are out of
    /// reach): the reason (the [`Refusal`] dereferences to its [`ValidationError`]) and the
    /// challenges of the API that refused it.
    Validation(Refusal),
    /// No token could be acquired for a downstream call.
    Acquisition(AcquisitionError),
    /// A downstream call failed.
    Downstream(DownstreamError),
    /// The SDK is not configured correctly: a bare 500 (log the error for the field's name).
    Config(ConfigError),
}

impl Error {
    /// A stable, machine-readable code (`token_expired`, `consent_required`,
    /// `downstream_timeout`, `configuration_error`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(e) => e.code(),
            Error::Acquisition(e) => e.code(),
            Error::Downstream(e) => e.code(),
            Error::Config(_) => "configuration_error",
        }
    }

    /// The HTTP status the answer carries.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Error::Validation(e) => e.status(),
            Error::Acquisition(e) => e.status(),
            Error::Downstream(e) => e.status(),
            Error::Config(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The complete answer: status, `WWW-Authenticate` and `Retry-After` where they apply, and
    /// the JSON body. Never a token, a secret or a configuration detail.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        match self {
            Error::Validation(e) => e.to_response(),
            Error::Acquisition(e) => e.to_response(),
            Error::Downstream(e) => e.to_response(),
            Error::Config(e) => e.to_response(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Validation(e) => write!(f, "{e}"),
            Error::Acquisition(e) => write!(f, "{e}"),
            Error::Downstream(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Validation(e) => Some(e),
            Error::Acquisition(e) => Some(e),
            Error::Downstream(e) => Some(e),
            Error::Config(e) => Some(e),
        }
    }
}

impl From<ValidationError> for Error {
    /// A refusal answered with the error's own `Bearer` challenge (see [`Refusal`]).
    fn from(e: ValidationError) -> Self {
        Error::Validation(Refusal::from(e))
    }
}

impl From<Refusal> for Error {
    fn from(e: Refusal) -> Self {
        Error::Validation(e)
    }
}

impl From<AcquisitionError> for Error {
    fn from(e: AcquisitionError) -> Self {
        Error::Acquisition(e)
    }
}

impl From<DownstreamError> for Error {
    fn from(e: DownstreamError) -> Self {
        Error::Downstream(e)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<Error> for http::Response<Vec<u8>> {
    fn from(e: Error) -> Self {
        e.to_response()
    }
}
