//! Pure-Rust signature verification with the RustCrypto crates (`rsa`, `p256`, `p384`,
//! `ed25519-dalek`), for hosts without WebCrypto: Spin, native servers, tests.
//!
//! Behaves as the `webcrypto` backend does: PSS salts must equal the digest length (RFC 7518
//! §3.5), ECDSA signatures are raw `r || s` with `0 < r, s < n`, Ed25519 is verified strictly.

use rsa::signature::Verifier as _;
use sha2::{Sha256, Sha384, Sha512};

use super::{CryptoError, LocalFuture, SignatureVerifier, VerifyingKey};
use crate::validation::jwk::{Algorithm, Curve, KeyMaterial, MAX_RSA_BITS};

/// The RustCrypto [`SignatureVerifier`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoVerifier;

/// A key prepared for exactly one algorithm.
enum PreparedKey {
    Rs256(rsa::pkcs1v15::VerifyingKey<Sha256>),
    Rs384(rsa::pkcs1v15::VerifyingKey<Sha384>),
    Rs512(rsa::pkcs1v15::VerifyingKey<Sha512>),
    Ps256(rsa::pss::VerifyingKey<Sha256>),
    Ps384(rsa::pss::VerifyingKey<Sha384>),
    Ps512(rsa::pss::VerifyingKey<Sha512>),
    Es256(p256::ecdsa::VerifyingKey),
    Es384(p384::ecdsa::VerifyingKey),
    EdDsa(ed25519_dalek::VerifyingKey),
}

fn refused(what: &str) -> CryptoError {
    CryptoError(format!("the key can't be used: {what}"))
}

fn prepare(material: &KeyMaterial, alg: Algorithm) -> Result<PreparedKey, CryptoError> {
    match (material, alg) {
        (KeyMaterial::Rsa { n, e }, _) => {
            let key = rsa::RsaPublicKey::new_with_max_size(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
                MAX_RSA_BITS,
            )
            .map_err(|_| refused("invalid RSA public key"))?;
            Ok(match alg {
                Algorithm::RS256 => PreparedKey::Rs256(rsa::pkcs1v15::VerifyingKey::new(key)),
                Algorithm::RS384 => PreparedKey::Rs384(rsa::pkcs1v15::VerifyingKey::new(key)),
                Algorithm::RS512 => PreparedKey::Rs512(rsa::pkcs1v15::VerifyingKey::new(key)),
                Algorithm::PS256 => PreparedKey::Ps256(rsa::pss::VerifyingKey::new(key)),
                Algorithm::PS384 => PreparedKey::Ps384(rsa::pss::VerifyingKey::new(key)),
                Algorithm::PS512 => PreparedKey::Ps512(rsa::pss::VerifyingKey::new(key)),
                _ => return Err(refused("an RSA key for a non-RSA algorithm")),
            })
        }
        (KeyMaterial::Ec { curve: Curve::P256, x, y }, Algorithm::ES256) => {
            let point = [&[0x04][..], x, y].concat();
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map(PreparedKey::Es256)
                .map_err(|_| refused("not a P-256 point"))
        }
        (KeyMaterial::Ec { curve: Curve::P384, x, y }, Algorithm::ES384) => {
            let point = [&[0x04][..], x, y].concat();
            p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map(PreparedKey::Es384)
                .map_err(|_| refused("not a P-384 point"))
        }
        (KeyMaterial::Ed25519 { x }, Algorithm::EdDSA) => {
            let bytes: [u8; 32] = x.as_slice().try_into().map_err(|_| refused("not 32 bytes"))?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map(PreparedKey::EdDsa)
                .map_err(|_| refused("not an Ed25519 point"))
        }
        _ => Err(refused("key type does not match the algorithm")),
    }
}

fn check(key: &PreparedKey, message: &[u8], signature: &[u8]) -> bool {
    match key {
        PreparedKey::Rs256(k) => rsa_ok(k, message, signature),
        PreparedKey::Rs384(k) => rsa_ok(k, message, signature),
        PreparedKey::Rs512(k) => rsa_ok(k, message, signature),
        PreparedKey::Ps256(k) => pss_ok(k, message, signature),
        PreparedKey::Ps384(k) => pss_ok(k, message, signature),
        PreparedKey::Ps512(k) => pss_ok(k, message, signature),
        PreparedKey::Es256(k) => p256::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|s| k.verify(message, &s).is_ok()),
        PreparedKey::Es384(k) => p384::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|s| k.verify(message, &s).is_ok()),
        PreparedKey::EdDsa(k) => ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
    }
}

fn rsa_ok<K>(key: &K, message: &[u8], signature: &[u8]) -> bool
where
    K: rsa::signature::Verifier<rsa::pkcs1v15::Signature>,
{
    rsa::pkcs1v15::Signature::try_from(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
}

fn pss_ok<K>(key: &K, message: &[u8], signature: &[u8]) -> bool
where
    K: rsa::signature::Verifier<rsa::pss::Signature>,
{
    rsa::pss::Signature::try_from(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
}

impl SignatureVerifier for RustCryptoVerifier {
    fn import_key<'a>(
        &'a self,
        material: &'a KeyMaterial,
        alg: Algorithm,
    ) -> LocalFuture<'a, Result<VerifyingKey, CryptoError>> {
        Box::pin(async move { prepare(material, alg).map(VerifyingKey::new) })
    }

    fn verify<'a>(
        &'a self,
        _alg: Algorithm,
        key: &'a VerifyingKey,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        Box::pin(async move {
            let key = key
                .downcast_ref::<PreparedKey>()
                .ok_or_else(|| CryptoError("the key was imported by another backend".into()))?;
            Ok(check(key, message, signature))
        })
    }
}
