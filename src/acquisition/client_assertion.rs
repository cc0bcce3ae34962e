//! The signed client assertion (RFC 7523, the Entra certificate credential): a JWT with
//! `alg` RS256 or PS256 and the certificate's `x5t#S256` in its header; `iss` = `sub` = the
//! client id, `aud` = the token endpoint, a random `jti`, and a short life. Signed with the
//! platform's [`Crypto`] (WebCrypto on Workers, RustCrypto elsewhere).

use serde_json::json;

use super::credential::Certificate;
use crate::base64url;
use crate::platform::{Crypto, CryptoError, SigningKey};

/// How long an assertion is valid. Entra accepts up to 10 minutes; a short life limits replay.
pub const ASSERTION_LIFETIME_SECS: u64 = 300;

/// Builds and signs one assertion. `key` is the certificate's private key as imported by
/// `crypto` for `certificate.algorithm`.
pub async fn sign(
    crypto: &dyn Crypto,
    key: &SigningKey,
    certificate: &Certificate,
    client_id: &str,
    token_endpoint: &str,
    now_secs: u64,
) -> Result<String, CryptoError> {
    let mut jti = [0u8; 16];
    crypto.random(&mut jti)?;
    let header = json!({
        "alg": certificate.algorithm.name(),
        "typ": "JWT",
        "x5t#S256": certificate.x5t_s256,
    });
    let claims = json!({
        "aud": token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "jti": base64url::encode(&jti),
        "iat": now_secs,
        "nbf": now_secs,
        "exp": now_secs + ASSERTION_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        base64url::encode(header.to_string().as_bytes()),
        base64url::encode(claims.to_string().as_bytes())
    );
    let signature = crypto.sign(key, signing_input.as_bytes()).await?;
    Ok(format!("{signing_input}.{}", base64url::encode(&signature)))
}
