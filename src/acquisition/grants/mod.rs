//! The form bodies of the token requests, one file per grant:
//!
//! | grant | file | used for |
//! |---|---|---|
//! | Entra on-behalf-of (`jwt-bearer`) | [`on_behalf_of`] | a user's token → a token for a downstream API |
//! | RFC 8693 token exchange | [`token_exchange`] | the same, for Keycloak, Okta, Auth0, ZITADEL |
//! | client credentials | [`client_credentials`] | app-only tokens |
//! | refresh token | [`refresh_token`] | long-running sessions after the user's token expired |
//!
//! Client authentication, client capabilities / claims and the POST itself are added by
//! [`token_endpoint`](super::token_endpoint), the same for every grant.

pub mod client_credentials;
pub mod on_behalf_of;
pub mod refresh_token;
pub mod token_exchange;

use crate::validation::authorize::BearerToken;

/// One token request's grant and its grant-specific inputs, secrets still typed: they are
/// exposed only in [`params`](Grant::params), where the form body is built.
#[derive(Clone, Copy)]
pub(crate) enum Grant<'a> {
    /// Entra on-behalf-of with the caller's token as `assertion`.
    OnBehalfOf { assertion: &'a BearerToken },
    /// RFC 8693 with the caller's token as `subject_token`.
    TokenExchange {
        subject_token: &'a BearerToken,
        audience: Option<&'a str>,
        resource: Option<&'a str>,
    },
    /// The app's own token.
    ClientCredentials,
    /// A session's refresh token.
    RefreshToken { refresh_token: &'a crate::secret::RefreshToken },
}

impl Grant<'_> {
    /// The grant's form parameters for `scope` (space-separated, possibly empty).
    pub(crate) fn params(&self, scope: &str) -> Vec<(&'static str, String)> {
        match *self {
            Grant::OnBehalfOf { assertion } => on_behalf_of::params(assertion.expose(), scope),
            Grant::TokenExchange { subject_token, audience, resource } => {
                token_exchange::params(subject_token.expose(), audience, resource, scope)
            }
            Grant::ClientCredentials => client_credentials::params(scope),
            Grant::RefreshToken { refresh_token } => {
                refresh_token::params(refresh_token.expose(), scope)
            }
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of `params` (the `form_urlencoded` crate: the
/// WHATWG serializer, which RFC 6749 Appendix B's encoding is).
pub(crate) fn form_encode<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(name, value)| (name.as_ref(), value.as_ref())))
        .finish()
}

/// Appends `text` form-urlencoded (RFC 6749 Appendix B) to `out`.
pub(crate) fn form_encode_component(text: &str, out: &mut String) {
    out.extend(form_urlencoded::byte_serialize(text.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_everything_but_the_unreserved_set() {
        let form = form_encode(&[("scope", "api://x/a b"), ("k", "é&=+")]);
        assert_eq!(form, "scope=api%3A%2F%2Fx%2Fa+b&k=%C3%A9%26%3D%2B");
    }
}
