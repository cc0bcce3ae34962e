//! WebCrypto (`crypto.subtle`) signature verification and a `Date.now()` clock, for any
//! JavaScript host: Cloudflare Workers (workerd), Node, browsers.
//!
//! Keys are imported once per algorithm (`importKey("jwk", ...)`, not extractable, `["verify"]`)
//! together with the algorithm parameters `verify` needs, so a warm verification is one
//! `crypto.subtle.verify` call.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use super::{Clock, CryptoError, LocalFuture, SignatureVerifier, VerifyingKey};
use crate::validation::jwk::{Algorithm, KeyMaterial};

/// The current time from `Date.now()` (`SystemTime` panics on `wasm32-unknown-unknown`).
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
}

/// The WebCrypto [`SignatureVerifier`].
#[derive(Debug, Clone)]
pub struct WebCryptoVerifier {
    subtle: SubtleCrypto,
}

/// An imported key and the `verify` parameters for its algorithm.
struct PreparedKey {
    key: CryptoKey,
    params: Object,
}

impl WebCryptoVerifier {
    /// Uses `globalThis.crypto.subtle`; fails where the host has no WebCrypto.
    pub fn new() -> Result<Self, CryptoError> {
        let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
            .ok()
            .filter(|c| c.is_object())
            .ok_or_else(|| CryptoError("this host has no globalThis.crypto".into()))?;
        let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle"))
            .ok()
            .filter(|s| s.is_object())
            .ok_or_else(|| CryptoError("this host has no crypto.subtle".into()))?;
        Ok(WebCryptoVerifier { subtle: subtle.unchecked_into() })
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
        Algorithm::EdDSA => Ok((object(&[("name", s("Ed25519"))])?, object(&[("name", s("Ed25519"))])?)),
    }
}

async fn settle(promise: Result<js_sys::Promise, JsValue>, what: &str) -> Result<JsValue, CryptoError> {
    let promise = promise.map_err(|_| CryptoError(format!("crypto.subtle.{what} threw")))?;
    JsFuture::from(promise).await.map_err(|_| CryptoError(format!("crypto.subtle.{what} rejected")))
}

impl SignatureVerifier for WebCryptoVerifier {
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
