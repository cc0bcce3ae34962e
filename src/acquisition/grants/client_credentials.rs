//! The client credentials request (RFC 6749 §4.4): an app-only token, for calls the API makes
//! as itself. Entra expects `/.default` scopes here (`https://graph.microsoft.com/.default`).

/// The grant's form parameters (client authentication is added separately).
pub(crate) fn params(scope: &str) -> Vec<(&'static str, String)> {
    vec![("grant_type", "client_credentials".to_owned()), ("scope", scope.to_owned())]
}
