//! The refresh token request (RFC 6749 §6), which keeps a long-running session going after the
//! user's own token has expired.

/// The grant's form parameters (client authentication is added separately).
pub(crate) fn params(refresh_token: &str, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh_token.to_owned()),
        ("scope", scope.to_owned()),
    ]
}
