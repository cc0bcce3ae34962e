//! The Entra On-Behalf-Of request (the OAuth 2.0 JWT bearer grant, RFC 7523, with Entra's
//! `requested_token_use=on_behalf_of`): the caller's access token goes in `assertion`, and the
//! answer is a token for the downstream API's scopes, issued to the same user.

/// `grant_type` of the on-behalf-of request.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The grant's form parameters (client authentication is added separately).
pub(crate) fn params(assertion: &str, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", GRANT_TYPE.to_owned()),
        ("assertion", assertion.to_owned()),
        ("scope", scope.to_owned()),
        ("requested_token_use", "on_behalf_of".to_owned()),
    ]
}
