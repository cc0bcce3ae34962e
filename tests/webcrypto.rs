//! The WebCrypto backend inside a real JavaScript engine (Node's `globalThis.crypto.subtle`,
//! the same WebCrypto API workerd implements), run by `wasm-bindgen-test-runner`:
//! the same vectors as the pure-Rust backend, and a token through the whole validator.
#![cfg(all(target_arch = "wasm32", feature = "webcrypto"))]

mod support;

use std::rc::Rc;

use edge_identity::platform::webcrypto::{JsClock, WebCrypto};
use edge_identity::platform::{Clock, Platform};
use edge_identity::{IdentityConfig, TokenValidator, ValidationError};
use js_sys::{Object, Reflect, Uint8Array};
use serde_json::json;
use support::signing_keys::{rsa_private_jwk, rsa_public_jwk};
use support::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

fn verifier() -> WebCrypto {
    WebCrypto::new().expect("Node provides globalThis.crypto.subtle")
}

#[wasm_bindgen_test]
async fn every_wycheproof_case_gets_the_expected_verdict_with_webcrypto() {
    let Some(report) = vectors::run_wycheproof(&verifier()).await else { return };
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!((report.accepted, report.refused_by_policy, report.invalid_refused), (32, 14, 355));
}

#[wasm_bindgen_test]
async fn rfc_7515_and_8037_examples_verify_with_webcrypto_and_fail_when_tampered() {
    let failures = vectors::check_rfc_examples(&verifier()).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[wasm_bindgen_test]
fn js_clock_reads_date_now() {
    let now = JsClock.now_millis();
    assert!(now > 1_700_000_000_000, "Date.now() gave {now}");
}

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Signs with `crypto.subtle.sign` (RS256, the RFC 7515 A.2 key).
async fn webcrypto_rs256_token(claims: &serde_json::Value) -> String {
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap();
    let subtle: web_sys::SubtleCrypto =
        Reflect::get(&crypto, &"subtle".into()).unwrap().unchecked_into();
    let alg = Object::new();
    Reflect::set(&alg, &"name".into(), &"RSASSA-PKCS1-v1_5".into()).unwrap();
    Reflect::set(&alg, &"hash".into(), &"SHA-256".into()).unwrap();
    let jwk: Object = js_sys::JSON::parse(&rsa_private_jwk().to_string()).unwrap().unchecked_into();
    let usages = js_sys::Array::of1(&JsValue::from_str("sign"));
    let key =
        JsFuture::from(subtle.import_key_with_object("jwk", &jwk, &alg, false, &usages).unwrap())
            .await
            .unwrap();
    let signature = JsFuture::from(
        subtle
            .sign_with_object_and_u8_array(&alg, &key.unchecked_into(), input.as_bytes())
            .unwrap(),
    )
    .await
    .unwrap();
    format!("{input}.{}", b64(&Uint8Array::new(&signature).to_vec()))
}

#[wasm_bindgen_test]
async fn a_token_validates_end_to_end_with_webcrypto_and_tampering_is_caught() {
    let idp = rc(ScriptedIdp::entra(TENANT, vec![rsa_public_jwk("k1")]));
    let clock = rc(ManualClock::at_secs(T0));
    let platform = Platform::new(idp.clone(), Rc::new(verifier()), clock.clone());
    let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();

    let token = webcrypto_rs256_token(&entra_claims(T0)).await;
    let validated = validator.validate(&token).await.expect("a genuine token is accepted");
    assert_eq!(validated.tenant_id(), Some(TENANT));
    assert_eq!(idp.jwks_fetches(), 1);

    // The imported CryptoKey is reused: a second validation fetches and imports nothing.
    validator.validate(&token).await.unwrap();
    assert_eq!(idp.request_count(), 2, "discovery + keys, once");

    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = b64(with(entra_claims(T0), json!({"oid": "someone-else"})).to_string().as_bytes());
    parts[1] = &forged;
    assert_eq!(
        validator.validate(&parts.join(".")).await.unwrap_err(),
        ValidationError::InvalidSignature
    );

    clock.advance(std::time::Duration::from_secs(3600 + 301));
    assert_eq!(validator.validate(&token).await.unwrap_err(), ValidationError::Expired);
}

#[wasm_bindgen_test]
async fn every_entra_token_shape_gets_the_microsoft_identity_web_verdict_with_webcrypto() {
    // The table of tests/entra_fidelity.rs: Entra-shaped documents and tokens, signed with
    // crypto.subtle.sign and verified with crypto.subtle.verify.
    let failures = entra::run_table(Rc::new(verifier())).await;
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

#[wasm_bindgen_test]
async fn every_providers_token_shapes_get_their_verdict_under_its_preset_with_webcrypto() {
    // The table of tests/provider_fidelity.rs: Auth0, Okta, Keycloak, Cognito, Cloudflare Access
    // and RFC 9068 shapes, signed and verified with crypto.subtle.
    let failures = support::providers::run_table(Rc::new(verifier())).await;
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

// The `Crypto` checks shared with the pure-Rust backend (`tests/crypto_backend.rs`).

#[wasm_bindgen_test]
async fn rs256_signing_reproduces_rfc7515_a2_with_webcrypto() {
    crypto_vectors::rs256_signing_reproduces_rfc7515_a2(&verifier()).await;
}

#[wasm_bindgen_test]
async fn ps256_signatures_verify_and_use_a_fresh_salt_with_webcrypto() {
    crypto_vectors::ps256_signatures_verify_and_use_a_fresh_salt(&verifier()).await;
}

#[wasm_bindgen_test]
async fn undersized_or_malformed_signing_keys_are_refused_by_webcrypto() {
    crypto_vectors::undersized_or_malformed_signing_keys_are_refused(&verifier()).await;
}

#[wasm_bindgen_test]
async fn aes_256_gcm_matches_the_published_test_case_16_with_webcrypto() {
    crypto_vectors::aes_256_gcm_matches_the_published_test_case_16(&verifier()).await;
}

#[wasm_bindgen_test]
async fn tampered_sealed_values_do_not_open_with_webcrypto() {
    crypto_vectors::tampered_sealed_values_do_not_open(&verifier()).await;
}

#[wasm_bindgen_test]
fn random_fills_the_buffer_and_draws_differ_with_webcrypto() {
    crypto_vectors::random_fills_the_buffer_and_draws_differ(&verifier());
}

#[wasm_bindgen_test]
async fn js_clock_sleep_waits_on_set_timeout() {
    let before = js_sys::Date::now();
    JsClock.sleep(std::time::Duration::from_millis(50)).await;
    let waited = js_sys::Date::now() - before;
    assert!(waited >= 45.0, "sleep(50 ms) returned after {waited} ms");
    assert!(waited < 5_000.0, "sleep(50 ms) took {waited} ms");
}
