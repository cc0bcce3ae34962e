//! The RFC 8693 token exchange request, for providers other than Entra (Keycloak, Okta, Auth0,
//! ZITADEL): the caller's access token goes in `subject_token`; `audience`, `resource` and
//! `scope` say what the new token is for.

/// `grant_type` of the token exchange request.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The type of the subject token and of the requested token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The grant's form parameters (client authentication is added separately). Empty optional
/// parameters are left out.
pub(crate) fn params(
    subject_token: &str,
    audience: Option<&str>,
    resource: Option<&str>,
    scope: &str,
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("grant_type", GRANT_TYPE.to_owned()),
        ("subject_token", subject_token.to_owned()),
        ("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()),
        ("requested_token_type", ACCESS_TOKEN_TYPE.to_owned()),
    ];
    if let Some(audience) = audience {
        params.push(("audience", audience.to_owned()));
    }
    if let Some(resource) = resource {
        params.push(("resource", resource.to_owned()));
    }
    if !scope.is_empty() {
        params.push(("scope", scope.to_owned()));
    }
    params
}
