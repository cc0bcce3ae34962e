//! WebCrypto (`crypto.subtle`, `crypto.getRandomValues`) cryptography and a `Date.now()` /
//! `setTimeout` clock, for any JavaScript host: Cloudflare Workers (workerd), Node, browsers.
//!
//! Public keys are imported once per algorithm (`importKey("jwk", ...)`, not extractable,
//! `["verify"]`) together with the algorithm parameters `verify` needs, so a warm verification
//! is one `crypto.subtle.verify` call. Signing keys (`importKey("pkcs8", ...)`, `["sign"]`) and
//! sealing keys (`importKey("raw", ...)`, AES-GCM) are not extractable either.
//!
//! Behaves as the `rust-crypto` backend does: RSA signing keys have 2048 to 4096 bits, PS256
//! signs with a 32-byte salt, signatures are the raw bytes, a sealed value is the ciphertext
//! followed by a 16-byte tag, and one that does not authenticate opens to `None`.

use std::time::Duration;

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use super::{
    AssertionAlgorithm, Clock, Crypto, CryptoError, LocalFuture, SealingKey, SignatureVerifier,
    SigningKey, VerifyingKey, SEAL_NONCE_LEN, SEAL_TAG_LEN,
};
use crate::jose::{Algorithm, KeyMaterial, MAX_RSA_BITS, MIN_RSA_BITS};

/// The current time from `Date.now()` (`SystemTime` panics on `wasm32-unknown-unknown`), and
/// waiting with `globalThis.setTimeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_millis(&self) -> u64 {
        let now = js_sys::Date::now();
        if now.is_finite() && now > 0.0 {
            now as u64
        } else {
            0
        }
    }

    /// A promise resolved by `globalThis.setTimeout` (workerd, Node and browsers all have it;
    /// no `Window` is assumed). Resolves at once where the host has no `setTimeout`.
    fn sleep(&self, duration: Duration) -> LocalFuture<'_, ()> {
        let millis = duration.as_millis().min(i32::MAX as u128) as f64;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let global = js_sys::global();
            let scheduled = Reflect::get(&global, &JsValue::from_str("setTimeout"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .is_some_and(|set_timeout| {
                    set_timeout.call2(&global, &resolve, &JsValue::from_f64(millis)).is_ok()
                });
            if !scheduled {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        Box::pin(async move {
            let _ = JsFuture::from(promise).await;
        })
    }
}

/// The WebCrypto [`Crypto`] backend (and so [`SignatureVerifier`]).
#[derive(Debug, Clone)]
pub struct WebCrypto {
    crypto: web_sys::Crypto,
    subtle: SubtleCrypto,
}

/// An imported key and the `verify` parameters for its algorithm.
struct PreparedKey {
    key: CryptoKey,
    params: Object,
}

impl WebCrypto {
    /// Uses `globalThis.crypto` and its `subtle`; fails where the host has no WebCrypto.
    pub fn new() -> Result<Self, CryptoError> {
        let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
            .ok()
            .filter(|c| c.is_object())
            .ok_or_else(|| CryptoError("this host has no globalThis.crypto".into()))?;
        let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle"))
            .ok()
            .filter(|s| s.is_object())
            .ok_or_else(|| CryptoError("this host has no crypto.subtle".into()))?;
        Ok(WebCrypto { crypto: crypto.unchecked_into(), subtle: subtle.unchecked_into() })
    }
}

fn object(entries: &[(&str, JsValue)]) -> Result<Object, CryptoError> {
    let obj = Object::new();
    for (name, value) in entries {
        Reflect::set(&obj, &JsValue::from_str(name), value)
            .map_err(|_| CryptoError("could not build a WebCrypto parameter".into()))?;
    }
    Ok(obj)
}

fn hash_name(alg: Algorithm) -> &'static str {
    match alg.hash_len() {
        48 => "SHA-384",
        64 => "SHA-512",
        _ => "SHA-256",
    }
}

/// `(importKey algorithm, verify algorithm)` for `alg`.
fn parameters(alg: Algorithm) -> Result<(Object, Object), CryptoError> {
    let s = |v: &str| JsValue::from_str(v);
    let hash = s(hash_name(alg));
    match alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            let name = s("RSASSA-PKCS1-v1_5");
            Ok((object(&[("name", name.clone()), ("hash", hash)])?, object(&[("name", name)])?))
        }
        Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => {
            let name = s("RSA-PSS");
            let salt = JsValue::from_f64(alg.hash_len() as f64);
            Ok((
                object(&[("name", name.clone()), ("hash", hash)])?,
                object(&[("name", name), ("saltLength", salt)])?,
            ))
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let curve = s(if alg == Algorithm::ES256 { "P-256" } else { "P-384" });
            Ok((
                object(&[("name", s("ECDSA")), ("namedCurve", curve)])?,
                object(&[("name", s("ECDSA")), ("hash", hash)])?,
            ))
        }
        Algorithm::EdDSA => {
            Ok((object(&[("name", s("Ed25519"))])?, object(&[("name", s("Ed25519"))])?))
        }
    }
}

async fn settle(
    promise: Result<js_sys::Promise, JsValue>,
    what: &str,
) -> Result<JsValue, CryptoError> {
    let promise = promise.map_err(|_| CryptoError(format!("crypto.subtle.{what} threw")))?;
    JsFuture::from(promise).await.map_err(|_| CryptoError(format!("crypto.subtle.{what} rejected")))
}

impl SignatureVerifier for WebCrypto {
    fn import_key<'a>(
        &'a self,
        material: &'a KeyMaterial,
        alg: Algorithm,
    ) -> LocalFuture<'a, Result<VerifyingKey, CryptoError>> {
        Box::pin(async move {
            if alg.signature_len(material).is_none() {
                return Err(CryptoError("key type does not match the algorithm".into()));
            }
            let (import_params, verify_params) = parameters(alg)?;
            let jwk_json = serde_json::to_string(&material.to_public_jwk())
                .map_err(|_| CryptoError("could not encode the key".into()))?;
            let jwk: Object = js_sys::JSON::parse(&jwk_json)
                .map_err(|_| CryptoError("could not encode the key".into()))?
                .unchecked_into();
            let usages = js_sys::Array::of1(&JsValue::from_str("verify"));
            let key = settle(
                self.subtle.import_key_with_object("jwk", &jwk, &import_params, false, &usages),
                "importKey",
            )
            .await?;
            let key: CryptoKey =
                key.dyn_into().map_err(|_| CryptoError("importKey gave no CryptoKey".into()))?;
            Ok(VerifyingKey::new(PreparedKey { key, params: verify_params }))
        })
    }

    fn verify<'a>(
        &'a self,
        _alg: Algorithm,
        key: &'a VerifyingKey,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        Box::pin(async move {
            let prepared = key
                .downcast_ref::<PreparedKey>()
                .ok_or_else(|| CryptoError("the key was imported by another backend".into()))?;
            let verdict = settle(
                self.subtle.verify_with_object_and_u8_array_and_u8_array(
                    &prepared.params,
                    &prepared.key,
                    signature,
                    message,
                ),
                "verify",
            )
            .await?;
            Ok(verdict.as_bool() == Some(true))
        })
    }
}

/// An imported RSA private key and the `sign` parameters for its algorithm.
struct PreparedSigningKey {
    key: CryptoKey,
    params: Object,
}

/// An imported AES-256-GCM key.
struct PreparedSealingKey(CryptoKey);

/// `crypto.getRandomValues` fills at most this many bytes per call.
const RANDOM_CHUNK: usize = 65_536;

/// The RSA salt length for PS256: the SHA-256 digest length (RFC 7518 §3.5).
const PS256_SALT_LEN: f64 = 32.0;

fn signing_parameters(alg: AssertionAlgorithm) -> Result<(Object, Object), CryptoError> {
    let s = |v: &str| JsValue::from_str(v);
    match alg {
        AssertionAlgorithm::RS256 => {
            let name = s("RSASSA-PKCS1-v1_5");
            Ok((
                object(&[("name", name.clone()), ("hash", s("SHA-256"))])?,
                object(&[("name", name)])?,
            ))
        }
        AssertionAlgorithm::PS256 => {
            let name = s("RSA-PSS");
            Ok((
                object(&[("name", name.clone()), ("hash", s("SHA-256"))])?,
                object(&[("name", name), ("saltLength", JsValue::from_f64(PS256_SALT_LEN))])?,
            ))
        }
    }
}

/// `{name: "AES-GCM", iv, additionalData, tagLength: 128}`.
fn gcm_parameters(nonce: &[u8; SEAL_NONCE_LEN], aad: &[u8]) -> Result<Object, CryptoError> {
    object(&[
        ("name", JsValue::from_str("AES-GCM")),
        ("iv", Uint8Array::from(&nonce[..]).into()),
        ("additionalData", Uint8Array::from(aad).into()),
        ("tagLength", JsValue::from_f64((SEAL_TAG_LEN * 8) as f64)),
    ])
}

/// `key.algorithm.modulusLength`, if the key has one.
fn modulus_bits(key: &CryptoKey) -> Option<f64> {
    let algorithm = Reflect::get(key, &JsValue::from_str("algorithm")).ok()?;
    Reflect::get(&algorithm, &JsValue::from_str("modulusLength")).ok()?.as_f64()
}

fn other_backend() -> CryptoError {
    CryptoError("the key was imported by another backend".into())
}

impl Crypto for WebCrypto {
    fn random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        for chunk in buf.chunks_mut(RANDOM_CHUNK) {
            self.crypto
                .get_random_values_with_u8_array(chunk)
                .map_err(|_| CryptoError("crypto.getRandomValues threw".into()))?;
        }
        Ok(())
    }

    fn import_signing_key<'a>(
        &'a self,
        pkcs8_der: &'a [u8],
        alg: AssertionAlgorithm,
    ) -> LocalFuture<'a, Result<SigningKey, CryptoError>> {
        Box::pin(async move {
            let (import_params, sign_params) = signing_parameters(alg)?;
            let der = Uint8Array::from(pkcs8_der);
            let usages = js_sys::Array::of1(&JsValue::from_str("sign"));
            let imported =
                self.subtle.import_key_with_object("pkcs8", &der, &import_params, false, &usages);
            // importKey copies the bytes before it returns: wipe the JavaScript copy now.
            der.fill(0, 0, der.length());
            let imported = imported
                .map_err(|_| CryptoError("the key can't be used: importKey threw".into()))?;
            let key = JsFuture::from(imported).await.map_err(|_| {
                CryptoError("the key can't be used: not a PKCS#8 RSA private key".into())
            })?;
            let key: CryptoKey =
                key.dyn_into().map_err(|_| CryptoError("importKey gave no CryptoKey".into()))?;
            let bits = modulus_bits(&key).unwrap_or(0.0);
            if !(MIN_RSA_BITS as f64..=MAX_RSA_BITS as f64).contains(&bits) {
                return Err(CryptoError(
                    "the key can't be used: RSA signing keys must have 2048 to 4096 bits".into(),
                ));
            }
            Ok(SigningKey::new(PreparedSigningKey { key, params: sign_params }))
        })
    }

    fn sign<'a>(
        &'a self,
        key: &'a SigningKey,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        Box::pin(async move {
            let prepared = key.downcast_ref::<PreparedSigningKey>().ok_or_else(other_backend)?;
            let signature = settle(
                self.subtle.sign_with_object_and_u8_array(&prepared.params, &prepared.key, message),
                "sign",
            )
            .await?;
            Ok(Uint8Array::new(&signature).to_vec())
        })
    }

    fn import_sealing_key<'a>(
        &'a self,
        raw: &'a [u8; 32],
    ) -> LocalFuture<'a, Result<SealingKey, CryptoError>> {
        Box::pin(async move {
            let algorithm = object(&[("name", JsValue::from_str("AES-GCM"))])?;
            let usages =
                js_sys::Array::of2(&JsValue::from_str("encrypt"), &JsValue::from_str("decrypt"));
            let raw = Uint8Array::from(&raw[..]);
            let imported =
                self.subtle.import_key_with_object("raw", &raw, &algorithm, false, &usages);
            // importKey copies the bytes before it returns: wipe the JavaScript copy now.
            raw.fill(0, 0, raw.length());
            let key = settle(imported, "importKey").await?;
            let key: CryptoKey =
                key.dyn_into().map_err(|_| CryptoError("importKey gave no CryptoKey".into()))?;
            Ok(SealingKey::new(PreparedSealingKey(key)))
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
            let PreparedSealingKey(key) =
                key.downcast_ref::<PreparedSealingKey>().ok_or_else(other_backend)?;
            let params = gcm_parameters(nonce, aad)?;
            let sealed = settle(
                self.subtle.encrypt_with_object_and_u8_array(&params, key, plaintext),
                "encrypt",
            )
            .await?;
            Ok(Uint8Array::new(&sealed).to_vec())
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
            let PreparedSealingKey(key) =
                key.downcast_ref::<PreparedSealingKey>().ok_or_else(other_backend)?;
            if sealed.len() < SEAL_TAG_LEN {
                return Ok(None);
            }
            let params = gcm_parameters(nonce, aad)?;
            let promise = self
                .subtle
                .decrypt_with_object_and_u8_array(&params, key, sealed)
                .map_err(|_| CryptoError("crypto.subtle.decrypt threw".into()))?;
            // WebCrypto rejects (`OperationError`) whatever does not authenticate.
            Ok(JsFuture::from(promise).await.ok().map(|plain| Uint8Array::new(&plain).to_vec()))
        })
    }
}
