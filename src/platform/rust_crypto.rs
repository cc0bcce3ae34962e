//! Pure-Rust cryptography with the RustCrypto crates (`rsa`, `p256`, `p384`, `ed25519-dalek`,
//! `aes-gcm`) and the operating system's random numbers, for hosts without WebCrypto: Spin,
//! native servers, tests.
//!
//! Behaves as the `webcrypto` backend does: PSS salts must equal the digest length (RFC 7518
//! §3.5), ECDSA signatures are raw `r || s` with `0 < r, s < n`, Ed25519 is verified strictly.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use rand_core::{OsRng, RngCore as _};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Verifier as _};
use sha2::{Sha256, Sha384, Sha512};

use super::{
    AssertionAlgorithm, Crypto, CryptoError, LocalFuture, SealingKey, SignatureVerifier,
    SigningKey, VerifyingKey, SEAL_NONCE_LEN,
};
use crate::jose::{Algorithm, Curve, KeyMaterial, MAX_RSA_BITS};

/// The RustCrypto [`Crypto`] backend (and so [`SignatureVerifier`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

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

impl SignatureVerifier for RustCrypto {
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

/// An RSA private key prepared for one assertion algorithm.
enum PrivateKey {
    Rs256(rsa::pkcs1v15::SigningKey<Sha256>),
    Ps256(rsa::pss::BlindedSigningKey<Sha256>),
}

/// The smallest RSA key the SDK signs with.
const MIN_SIGNING_RSA_BITS: usize = 2048;

impl Crypto for RustCrypto {
    fn random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        OsRng
            .try_fill_bytes(buf)
            .map_err(|_| CryptoError("the operating system gave no random bytes".into()))
    }

    fn import_signing_key<'a>(
        &'a self,
        pkcs8_der: &'a [u8],
        alg: AssertionAlgorithm,
    ) -> LocalFuture<'a, Result<SigningKey, CryptoError>> {
        Box::pin(async move {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8_der)
                .map_err(|_| refused("not a PKCS#8 RSA private key"))?;
            let bits = rsa::traits::PublicKeyParts::n(&key).bits();
            if !(MIN_SIGNING_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(refused("RSA signing keys must have 2048 to 4096 bits"));
            }
            Ok(SigningKey::new(match alg {
                AssertionAlgorithm::RS256 => PrivateKey::Rs256(rsa::pkcs1v15::SigningKey::new(key)),
                AssertionAlgorithm::PS256 => {
                    PrivateKey::Ps256(rsa::pss::BlindedSigningKey::new(key))
                }
            }))
        })
    }

    fn sign<'a>(
        &'a self,
        key: &'a SigningKey,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        Box::pin(async move {
            let key = key
                .downcast_ref::<PrivateKey>()
                .ok_or_else(|| CryptoError("the key was imported by another backend".into()))?;
            let failed = |_| CryptoError("RSA signing failed".into());
            Ok(match key {
                PrivateKey::Rs256(k) => {
                    k.try_sign_with_rng(&mut OsRng, message).map_err(failed)?.to_vec()
                }
                PrivateKey::Ps256(k) => {
                    k.try_sign_with_rng(&mut OsRng, message).map_err(failed)?.to_vec()
                }
            })
        })
    }

    fn import_sealing_key<'a>(
        &'a self,
        raw: &'a [u8; 32],
    ) -> LocalFuture<'a, Result<SealingKey, CryptoError>> {
        Box::pin(async move {
            let cipher = aes_gcm::Aes256Gcm::new_from_slice(raw)
                .map_err(|_| CryptoError("AES-256-GCM needs a 32-byte key".into()))?;
            Ok(SealingKey::new(cipher))
        })
    }

    fn seal<'a>(
        &'a self,
        key: &'a SealingKey,
        nonce: &'a [u8; SEAL_NONCE_LEN],
        aad: &'a [u8],
        plaintext: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        Box::pin(async move {
            let cipher = aes_key(key)?;
            cipher
                .encrypt(&aes_gcm::Nonce::from(*nonce), Payload { msg: plaintext, aad })
                .map_err(|_| CryptoError("AES-GCM encryption failed".into()))
        })
    }

    fn open<'a>(
        &'a self,
        key: &'a SealingKey,
        nonce: &'a [u8; SEAL_NONCE_LEN],
        aad: &'a [u8],
        sealed: &'a [u8],
    ) -> LocalFuture<'a, Result<Option<Vec<u8>>, CryptoError>> {
        Box::pin(async move {
            let cipher = aes_key(key)?;
            Ok(cipher.decrypt(&aes_gcm::Nonce::from(*nonce), Payload { msg: sealed, aad }).ok())
        })
    }
}

fn aes_key(key: &SealingKey) -> Result<&aes_gcm::Aes256Gcm, CryptoError> {
    key.downcast_ref::<aes_gcm::Aes256Gcm>()
        .ok_or_else(|| CryptoError("the key was imported by another backend".into()))
}
