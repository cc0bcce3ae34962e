//! [`ConfigError`]: a configuration problem, naming the field. On the ground floor because every
//! floor checks its own settings (a seal secret's length, a credential's form) and says which.

use std::fmt;

/// A configuration problem, naming the field (`AzureAd.TenantId`, `AzureAd.Audiences[1]`, ...).
/// The message never repeats the field's value, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError { field: field.into(), problem: problem.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration field {}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The answer for a request that can't be served because of this problem: a bare 500
    /// (`{"error": "server_error"}`) that tells an anonymous caller nothing about the
    /// deployment. Log the error itself (its `Display` names the field) for the operator.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        let body = serde_json::json!({
            "error": "server_error",
            "error_description": "the service is not configured correctly",
        });
        crate::error_response::json_response(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            None,
            None,
            &body,
        )
    }
}
