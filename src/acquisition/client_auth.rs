//! How this API authenticates to the token endpoint (RFC 6749 §2.3, OpenID Connect Core §9):
//! the method is configured (`AzureAd.TokenEndpointAuthMethod`) or chosen from the server's
//! discovery document (`token_endpoint_auth_methods_supported`), and applied to one request
//! here: a secret in an HTTP Basic header or in the form, or a signed assertion in the form.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::credential::ClientCredential;
use super::error::AcquisitionError;
use super::grants::form_encode_component;
use crate::validation::provider::Provider;

/// A client authentication method, by its name in the OAuth registries (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// The secret in `Authorization: Basic` (RFC 6749 §2.3.1: id and secret each
    /// form-urlencoded, joined by `:`, then base64). What RFC 6749 says servers MUST support.
    ClientSecretBasic,
    /// The secret as `client_secret` in the form body.
    ClientSecretPost,
    /// A signed JWT assertion as `client_assertion` (RFC 7523 §2.2): a certificate credential,
    /// or an assertion the host supplies.
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// The registry name (`client_secret_basic`, `client_secret_post`, `private_key_jwt`).
    pub const fn name(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// The method of a registry name.
    pub fn from_name(name: &str) -> Option<ClientAuthMethod> {
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::PrivateKeyJwt]
            .into_iter()
            .find(|m| m.name() == name)
    }

    /// Whether `credential` can be sent this way.
    pub fn fits(self, credential: &ClientCredential) -> bool {
        let secret = matches!(credential, ClientCredential::Secret(_));
        match self {
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => secret,
            ClientAuthMethod::PrivateKeyJwt => !secret,
        }
    }
}

/// The method one request uses.
///
/// * configured: that one;
/// * a certificate or assertion credential: `private_key_jwt`;
/// * a secret, Entra (the provider) or an explicit `TokenEndpoint`: `client_secret_post`, as the
///   SDK always sent it there;
/// * a secret, any other authority: from its discovery document's
///   `token_endpoint_auth_methods_supported`, `client_secret_basic` first (RFC 6749 §2.3.1:
///   clients SHOULD prefer it), then `client_secret_post`; a document without the member means
///   `client_secret_basic` (OpenID Connect Discovery §3).
pub(crate) fn choose(
    configured: Option<ClientAuthMethod>,
    credential: &ClientCredential,
    provider: Provider,
    discovered: Option<&Discovered<'_>>,
) -> Result<ClientAuthMethod, AcquisitionError> {
    if let Some(method) = configured {
        return if method.fits(credential) {
            Ok(method)
        } else {
            Err(AcquisitionError::Configuration(
                "AzureAd.TokenEndpointAuthMethod does not fit the client credential",
            ))
        };
    }
    if !matches!(credential, ClientCredential::Secret(_)) {
        return Ok(ClientAuthMethod::PrivateKeyJwt);
    }
    let Some(discovered) = discovered.filter(|_| provider != Provider::Entra) else {
        return Ok(ClientAuthMethod::ClientSecretPost);
    };
    let Some(methods) = discovered.methods else {
        return Ok(ClientAuthMethod::ClientSecretBasic);
    };
    let supports = |m: ClientAuthMethod| methods.iter().any(|s| s == m.name());
    if supports(ClientAuthMethod::ClientSecretBasic) {
        Ok(ClientAuthMethod::ClientSecretBasic)
    } else if supports(ClientAuthMethod::ClientSecretPost) {
        Ok(ClientAuthMethod::ClientSecretPost)
    } else {
        Err(AcquisitionError::Configuration(
            "the token endpoint accepts neither client_secret_basic nor client_secret_post",
        ))
    }
}

/// What the discovery document said about client authentication.
pub(crate) struct Discovered<'a> {
    /// `token_endpoint_auth_methods_supported`, if the document has it.
    pub methods: Option<&'a [String]>,
}

/// The `Authorization` value of `client_secret_basic` (RFC 6749 §2.3.1 and Appendix B).
pub(crate) fn basic_authorization(client_id: &str, secret: &str) -> String {
    let mut credentials = String::new();
    form_encode_component(client_id, &mut credentials);
    credentials.push(':');
    form_encode_component(secret, &mut credentials);
    format!("Basic {}", STANDARD.encode(credentials))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ClientSecret;

    #[test]
    fn basic_credentials_are_form_encoded_before_base64_as_rfc_6749_appendix_b_says() {
        // RFC 6749 §2.3.1: "the client identifier is encoded using the
        // application/x-www-form-urlencoded encoding algorithm per Appendix B".
        let header = basic_authorization("my client", "p@ss:word/é");
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aword%2F%C3%A9");
    }

    #[test]
    fn a_secret_follows_the_servers_published_methods_basic_first() {
        let secret = ClientCredential::Secret(ClientSecret::new("s"));
        let list = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let choose_from = |methods: Option<Vec<String>>| {
            let discovered = Discovered { methods: methods.as_deref() };
            choose(None, &secret, Provider::Generic, Some(&discovered))
        };
        use ClientAuthMethod::*;
        assert_eq!(
            choose_from(Some(list(&["client_secret_post", "client_secret_basic"]))),
            Ok(ClientSecretBasic)
        );
        assert_eq!(
            choose_from(Some(list(&["private_key_jwt", "client_secret_post"]))),
            Ok(ClientSecretPost)
        );
        assert_eq!(choose_from(None), Ok(ClientSecretBasic));
        assert!(choose_from(Some(list(&["private_key_jwt"]))).is_err());
        // Entra keeps the form, whatever its document lists.
        let discovered = Discovered { methods: None };
        assert_eq!(choose(None, &secret, Provider::Entra, Some(&discovered)), Ok(ClientSecretPost));
        // Configured wins, but must fit the credential.
        assert_eq!(
            choose(Some(ClientSecretPost), &secret, Provider::Generic, Some(&discovered)),
            Ok(ClientSecretPost)
        );
        assert!(choose(Some(PrivateKeyJwt), &secret, Provider::Generic, None).is_err());
    }
}
