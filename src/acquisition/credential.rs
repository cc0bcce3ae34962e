//! How this API proves its own identity to the token endpoint: a client secret, a certificate
//! (a client assertion the SDK signs, see [`client_assertion`](super::client_assertion)), or a
//! signed assertion the host supplies (federated credentials, workload identity).

use std::fmt;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::base64url;
use crate::config_error::ConfigError;
use crate::platform::{AssertionAlgorithm, LocalFuture};
use crate::secret::ClientSecret;
use crate::secret::Secret;

/// Supplies a signed client assertion on demand (for instance a workload identity token read
/// from the host), for [`ClientCredential::AssertionProvider`].
pub trait ClientAssertionProvider {
    /// A currently valid assertion for the token endpoint `audience`.
    fn assertion<'a>(&'a self, audience: &'a str) -> LocalFuture<'a, Result<Secret, String>>;
}

/// A certificate credential: an RSA private key and the certificate's SHA-256 thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub(crate) private_key_der: Rc<Vec<u8>>,
    /// base64url(SHA-256(certificate DER)), the `x5t#S256` header of every assertion.
    pub x5t_s256: String,
    /// The assertion signature algorithm.
    pub algorithm: AssertionAlgorithm,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t_s256", &self.x5t_s256)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads a PEM bundle: a PKCS#8 `PRIVATE KEY` block and the `CERTIFICATE` it belongs to
    /// (what `openssl pkcs12 -in cert.pfx -nodes` prints). `field` names the setting in errors.
    pub fn from_pem(
        pem: &str,
        algorithm: AssertionAlgorithm,
        field: &str,
    ) -> Result<Certificate, ConfigError> {
        let key = pem_block(pem, "PRIVATE KEY").ok_or_else(|| {
            ConfigError::new(field, "must contain a PKCS#8 \"PRIVATE KEY\" PEM block (an RSA key)")
        })?;
        let certificate = pem_block(pem, "CERTIFICATE")
            .ok_or_else(|| ConfigError::new(field, "must contain a \"CERTIFICATE\" PEM block"))?;
        Ok(Certificate {
            private_key_der: Rc::new(key),
            x5t_s256: base64url::encode(&Sha256::digest(&certificate)),
            algorithm,
        })
    }
}

/// The client credential used on token requests.
#[derive(Clone)]
pub enum ClientCredential {
    /// `client_secret=...`.
    Secret(ClientSecret),
    /// A client assertion signed by the SDK with the certificate's key.
    Certificate(Certificate),
    /// A fixed signed assertion supplied by the host.
    SignedAssertion(Secret),
    /// Signed assertions fetched from the host when needed.
    AssertionProvider(Rc<dyn ClientAssertionProvider>),
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("ClientCredential::Secret(***)"),
            ClientCredential::Certificate(c) => write!(f, "ClientCredential::{c:?}"),
            ClientCredential::SignedAssertion(_) => {
                f.write_str("ClientCredential::SignedAssertion(***)")
            }
            ClientCredential::AssertionProvider(_) => {
                f.write_str("ClientCredential::AssertionProvider(..)")
            }
        }
    }
}

/// The DER bytes of the first PEM block labelled exactly `label`.
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let rest = pem.get(start..)?;
    let body = rest.get(..rest.find(&end)?)?;
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok().filter(|der| !der.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CredentialDescription;

    const PEM: &str = "junk\n-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n\
        -----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_pem_bundle_gives_the_key_and_the_certificate_thumbprint() {
        let cert = Certificate::from_pem(PEM, AssertionAlgorithm::RS256, "f").unwrap();
        assert_eq!(*cert.private_key_der, [1, 2, 3]);
        assert_eq!(cert.x5t_s256, base64url::encode(&Sha256::digest([4, 5, 6])));
        assert!(!format!("{:?}", ClientCredential::Certificate(cert)).contains("AQID"));
    }

    #[test]
    fn credential_errors_name_the_field() {
        let desc = |kind: &str, value: &str| CredentialDescription {
            source_type: kind.into(),
            client_secret: Some(Secret::new(value)),
            base64_encoded_value: Some(Secret::new(value)),
            signed_assertion: None,
        };
        let err = ClientCredential::from_config(
            &[desc("Base64Encoded", "%%%")],
            AssertionAlgorithm::RS256,
        )
        .unwrap_err();
        assert_eq!(err.field, "AzureAd.ClientCredentials[0].Base64EncodedValue");
        let no_key =
            STANDARD.encode("-----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----");
        let err = ClientCredential::from_config(
            &[desc("Base64Encoded", &no_key)],
            AssertionAlgorithm::RS256,
        )
        .unwrap_err();
        assert!(err.problem.contains("PRIVATE KEY"), "{err}");
        let err = ClientCredential::from_config(
            &[desc("SignedAssertion", "x")],
            AssertionAlgorithm::RS256,
        )
        .unwrap_err();
        assert_eq!(err.field, "AzureAd.ClientCredentials[0].SignedAssertion");
        let secret = ClientCredential::from_config(
            &[desc("ClientSecret", "s3cr3t")],
            AssertionAlgorithm::RS256,
        )
        .unwrap()
        .unwrap();
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
