//! Checking a JWS signature with one key: the key must fit the algorithm, the signature must
//! have exactly the length the algorithm and key produce, and the backend must verify it.

use crate::platform::{SignatureVerifier, VerifyingKey};
use crate::validation::error::ValidationError;
use crate::validation::jwk::Jwk;
use crate::validation::parse::Jws;

/// Verifies `jws` with `key`, importing the key afresh (the validator caches imports; this is
/// for one-off checks and tests).
pub async fn verify_jws(
    verifier: &dyn SignatureVerifier,
    jws: &Jws<'_>,
    key: &Jwk,
) -> Result<(), ValidationError> {
    let alg = jws.header().alg;
    if !key.fits(alg) {
        return Err(ValidationError::KeyNotUsable);
    }
    let imported =
        verifier.import_key(&key.material, alg).await.map_err(|_| ValidationError::KeyNotUsable)?;
    verify_with_imported(verifier, jws, key, &imported).await
}

/// Verifies `jws` with a key already imported for its algorithm.
pub(crate) async fn verify_with_imported(
    verifier: &dyn SignatureVerifier,
    jws: &Jws<'_>,
    key: &Jwk,
    imported: &VerifyingKey,
) -> Result<(), ValidationError> {
    let alg = jws.header().alg;
    if alg.signature_len(&key.material) != Some(jws.signature().len()) {
        return Err(ValidationError::InvalidSignature);
    }
    match verifier.verify(alg, imported, jws.signing_input(), jws.signature()).await {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(ValidationError::InvalidSignature),
    }
}
