//! A hostile shared store. Whoever can write the KV namespace (another Worker bound to it, an API
//! token with KV edit rights) puts values of their choosing under every key the SDK writes: a
//! key set with a key of their own, a downstream token under a user's cache key, entries swapped
//! between users and kinds, fetch times in the future, truncated, oversized, old-format and
//! random values. None is ever believed, and none makes a request fail: validation and token
//! acquisition fall back on the issuer, and the hostile value is deleted or replaced.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{KeyValueStore, MemoryStore, NoLogger, Platform, SealedStore};
use edge_identity::{IdentityConfig, SessionKey, TokenRequest, TokenValidator, ValidationError};
use edge_identity::{SealSecret, Secret};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::acquisition::{config, user, Isolate, ScriptedWeb, SEAL_SECRET};
use support::signing::TestSigner;
use support::*;

const PARTNER: &str = "api://partner/read";

fn seal() -> SealSecret {
    SealSecret::new(Secret::new(SEAL_SECRET), "TOKEN_CACHE_KEY").unwrap()
}

/// `value` sealed as the SDK would seal it under `key` (with the deployment's own secret): for
/// hostile *contents* that only a bug or a replay could produce.
fn sealed_by_us(store: &Rc<MemoryStore>, key: &str, value: &Value) {
    let sealed = SealedStore::new(store.clone(), &seal(), Rc::new(RustCrypto), Rc::new(NoLogger));
    block_on(sealed.put(key, serde_json::to_vec(value).unwrap(), Duration::from_secs(3600)))
        .unwrap();
}

/// The hostile values, by name, for a key whose legitimate (sealed) value is `legit`.
fn hostile_values(legit: &[u8], other_kinds_value: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut flipped = legit.to_vec();
    if let Some(last) = flipped.last_mut() {
        *last ^= 0x01;
    }
    let random: Vec<u8> =
        (0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    vec![
        ("a flipped bit", flipped),
        ("truncated", legit[..legit.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("oversized", [legit, &vec![b'A'; 2 * 1024 * 1024]].concat()),
        ("random bytes", random),
        ("another kind's entry", other_kinds_value.to_vec()),
        ("the previous sealed frame", [b"EI1s".as_slice(), &legit[4..]].concat()),
    ]
}

// ---------------------------------------------------------------------------------------------
// The issuer's documents.

struct Validation {
    idp: Rc<ScriptedIdp>,
    clock: Rc<ManualClock>,
    store: Rc<MemoryStore>,
}

impl Validation {
    fn new() -> Validation {
        let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::ec(1).public_jwk("k1")]));
        Validation { idp, clock: rc(ManualClock::at_secs(T0)), store: rc(MemoryStore::new()) }
    }

    /// A new isolate on the shared store.
    fn isolate(&self) -> TokenValidator {
        let platform = Platform::new(self.idp.clone(), Rc::new(RustCrypto), self.clock.clone())
            .with_store(self.store.clone(), Some(&seal()));
        let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
        TokenValidator::from_config(&config.azure_ad, platform).unwrap()
    }

    fn legit(&self) -> String {
        TestSigner::ec(1).sign("k1", &entra_claims(self.clock.secs()))
    }
}

/// The attacker's key, as the planted set publishes it, and a token it signed.
fn attacker() -> (Value, String) {
    let key = TestSigner::ec(66).public_jwk("k1");
    let token = TestSigner::ec(66).sign("k1", &with(entra_claims(T0), json!({"roles": ["Admin"]})));
    (key, token)
}

#[test]
fn a_planted_key_set_never_verifies_a_token_in_any_entry_format() {
    let (attacker_key, forged) = attacker();
    let planted_entry = |format: u64| {
        json!({
            "format": format,
            "metadata_url": metadata_url(TENANT),
            "fetched_at_ms": T0 * 1000,
            "discovery": {"issuer": v2_issuer(TENANT), "jwks_uri": jwks_url(TENANT)},
            "jwks": {"keys": [attacker_key.clone()]},
        })
    };
    for (what, bytes) in [
        (
            "clear, the format this SDK used to write",
            serde_json::to_vec(&planted_entry(1)).unwrap(),
        ),
        ("clear, the current format", serde_json::to_vec(&planted_entry(2)).unwrap()),
    ] {
        let world = Validation::new();
        let key = world.isolate().key_source().store_key().to_owned();
        world.store.overwrite(&key, bytes);
        let cold = world.isolate();
        assert_eq!(
            block_on(cold.validate(&forged)).unwrap_err(),
            ValidationError::InvalidSignature,
            "{what}: the planted key is not used"
        );
        assert!(block_on(cold.validate(&world.legit())).is_ok(), "{what}: the issuer's keys are");
        assert_eq!(world.idp.jwks_fetches(), 1, "{what}: fetched from the issuer");
        assert!(world.store.entry(&key).unwrap().0.starts_with(b"EI3s"), "{what}: replaced");
    }
}

#[test]
fn a_key_set_entry_fetched_in_the_future_is_refused() {
    // Sealed with the deployment's own secret (a replay, or an isolate with a broken clock): a
    // fetch time a day ahead would keep a set "fresh" for a day past its max age.
    let world = Validation::new();
    let key = world.isolate().key_source().store_key().to_owned();
    let (attacker_key, forged) = attacker();
    sealed_by_us(
        &world.store,
        &key,
        &json!({
            "format": 2,
            "metadata_url": metadata_url(TENANT),
            "fetched_at_ms": (T0 + 24 * 3600) * 1000,
            "discovery": {"issuer": v2_issuer(TENANT), "jwks_uri": jwks_url(TENANT)},
            "jwks": {"keys": [attacker_key]},
        }),
    );
    let cold = world.isolate();
    assert!(block_on(cold.validate(&world.legit())).is_ok());
    assert_eq!(world.idp.jwks_fetches(), 1, "the future-dated entry was not used");
    assert_eq!(block_on(cold.validate(&forged)).unwrap_err(), ValidationError::InvalidSignature);
}

#[test]
fn hostile_values_under_the_key_set_key_are_misses_and_validation_carries_on() {
    let template = Validation::new();
    let warm = template.isolate();
    block_on(warm.validate(&template.legit())).unwrap();
    let key = warm.key_source().store_key().to_owned();
    let legit = template.store.entry(&key).unwrap().0;
    // Another kind's sealed entry: a token record, sealed with the right secret under its own key.
    let token_store = rc(MemoryStore::new());
    sealed_by_us(
        &token_store,
        "edge-identity/v1/token/user/x",
        &json!({"at": "t", "exp": 1, "ref": 1}),
    );
    let other_kind = token_store.entry("edge-identity/v1/token/user/x").unwrap().0;

    for (what, value) in hostile_values(&legit, &other_kind) {
        let world = Validation::new();
        world.store.overwrite(&key, value.clone());
        let cold = world.isolate();
        assert!(block_on(cold.validate(&world.legit())).is_ok(), "{what}: never fails a request");
        assert_eq!(world.idp.jwks_fetches(), 1, "{what}: a miss");
        let now = world.store.entry(&key).map(|(v, _)| v);
        assert_ne!(now, Some(value), "{what}: deleted or replaced");
    }
}

#[test]
fn the_v1_issuer_entry_is_authenticated_too() {
    // An Entra API's v1.0 issuer is shared like the key set; a planted one that names the
    // attacker's issuer for v1.0 tokens is not believed.
    let world = Validation::new();
    let v1_url = format!("{INSTANCE}{TENANT}/.well-known/openid-configuration");
    let v1_key = format!(
        "edge-identity/v1/oidc/{}",
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(v1_url.as_bytes()))
    );
    world.store.overwrite(
        &v1_key,
        serde_json::to_vec(&json!({"format": 2, "metadata_url": v1_url, "fetched_at_ms": T0 * 1000,
            "discovery": {"issuer": "https://evil.example/{tenantid}/", "jwks_uri": jwks_url(TENANT)}}))
        .unwrap(),
    );
    let cold = world.isolate();
    let v1 = with(
        entra_claims(T0),
        json!({"iss": format!("https://evil.example/{TENANT}/"), "ver": "1.0",
               "aud": format!("api://{CLIENT_ID}"), "appid": "client"}),
    );
    let token = TestSigner::ec(1).sign("k1", &v1);
    assert_eq!(block_on(cold.validate(&token)).unwrap_err(), ValidationError::InvalidIssuer);
    let v1_fetches = world.idp.requests.borrow().iter().filter(|u| **u == v1_url).count();
    assert_eq!(v1_fetches, 1, "read from the issuer instead");
}

// ---------------------------------------------------------------------------------------------
// Tokens and sessions.

/// A store on which a warm isolate has cached a user token, an app token and a session.
fn warm_store() -> (Rc<MemoryStore>, String) {
    let store = rc(MemoryStore::new());
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap();
    block_on(acquirer.token_for_app(&TokenRequest::new(["api://partner/.default"]))).unwrap();
    let session = block_on(acquirer.start_session(
        &user(),
        SessionKey::AllocateForMe,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    (store, session.key)
}

#[test]
fn planted_tokens_are_never_served_under_any_cache_key() {
    let (template, _) = warm_store();
    let keys = template.keys();
    assert!(
        keys.iter().any(|k| k.contains("/token/user/"))
            && keys.iter().any(|k| k.contains("/session/"))
    );
    // A plausible record: an hour of life left, nothing to refresh.
    let exp = (T0 + 3600) * 1000;
    let planted =
        serde_json::to_vec(&json!({"at": "planted-by-the-attacker", "exp": exp, "ref": exp,
        "rt": "planted-refresh-token", "keys": [], "tid": TENANT}))
        .unwrap();
    for key in &keys {
        let (store, session_key) = warm_store();
        store.overwrite(key, planted.clone());
        let iso =
            Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
        let acquirer = iso.acquirer(&config(json!({}), json!({})));
        let user_token =
            block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap();
        let app_token =
            block_on(acquirer.token_for_app(&TokenRequest::new(["api://partner/.default"])))
                .unwrap();
        assert_ne!(user_token.secret(), "planted-by-the-attacker", "{key}");
        assert_ne!(app_token.secret(), "planted-by-the-attacker", "{key}");
        match block_on(acquirer.token_for_session(
            &user(),
            &session_key,
            &TokenRequest::new([PARTNER]),
        )) {
            Ok(token) => assert_ne!(token.secret(), "planted-by-the-attacker", "{key}"),
            // A session record that does not authenticate is gone: not found, never a 5xx.
            Err(e) => assert_eq!(e.status(), 404, "{key}: {e}"),
        }
        assert!(acquirer.stats().cache.l2_rejected >= 1, "{key}: counted as rejected");
    }
}

#[test]
fn hostile_values_under_token_and_session_keys_are_misses_and_never_fail_a_request() {
    let (template, _) = warm_store();
    let keys = template.keys();
    let user_key = keys.iter().find(|k| k.contains("/token/user/")).unwrap().clone();
    let session_record = keys.iter().find(|k| k.contains("/session/")).unwrap().clone();
    for key in &keys {
        let legit = template.entry(key).unwrap().0;
        // Another user's or another kind's entry, copied under this key.
        let donor = if key == &user_key { &session_record } else { &user_key };
        let other = template.entry(donor).unwrap().0;
        for (what, value) in hostile_values(&legit, &other) {
            let (store, session_key) = warm_store();
            store.overwrite(key, value.clone());
            let iso =
                Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
            let acquirer = iso.acquirer(&config(json!({}), json!({})));
            block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER])))
                .unwrap_or_else(|e| panic!("{key} / {what}: {e}"));
            block_on(acquirer.token_for_app(&TokenRequest::new(["api://partner/.default"])))
                .unwrap_or_else(|e| panic!("{key} / {what}: {e}"));
            if let Err(e) = block_on(acquirer.token_for_session(
                &user(),
                &session_key,
                &TokenRequest::new([PARTNER]),
            )) {
                assert_eq!(e.status(), 404, "{key} / {what}: {e}");
            }
            let now = store.entry(key).map(|(v, _)| v);
            assert_ne!(now, Some(value), "{key} / {what}: deleted or replaced");
        }
    }
}

#[test]
fn a_sealed_token_record_claiming_a_longer_life_than_any_token_is_refused() {
    let (store, _) = warm_store();
    let key = store.keys().into_iter().find(|k| k.contains("/token/user/")).unwrap();
    let year = 365 * 24 * 3600 * 1000u64;
    sealed_by_us(
        &store,
        &key,
        &json!({"at": "replayed", "exp": T0 * 1000 + year, "ref": T0 * 1000 + year}),
    );
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let token = block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap();
    assert_ne!(token.secret(), "replayed");
    assert!(!token.from_cache());
}

// ---------------------------------------------------------------------------------------------
// A provider's back-off, shared where memory lasts one request (Spin).

/// A store holding a real back-off record (the provider answered 429), and its key.
fn throttled_store() -> (Rc<MemoryStore>, String) {
    let store = rc(MemoryStore::new());
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
    iso.web.queue(
        &support::acquisition::token_endpoint(TENANT),
        Ok(http::Response::builder()
            .status(429)
            .header("retry-after", "30")
            .body(b"{}".to_vec())
            .unwrap()),
    );
    let acquirer = edge_identity::TokenAcquirer::new(
        iso.platform.clone().with_memory_per_request(),
        edge_identity::AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap(),
    );
    let _ = block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER])));
    let key = store.keys().into_iter().find(|k| k.contains("/backoff/")).unwrap();
    (store, key)
}

/// A new request-scoped instance on `store`, asking for the user's token: whether the provider
/// was asked.
fn next_request_asks_the_provider(store: &Rc<MemoryStore>) -> bool {
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
    let acquirer = edge_identity::TokenAcquirer::new(
        iso.platform.clone().with_memory_per_request(),
        edge_identity::AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap(),
    );
    let outcome = block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER])));
    let asked = !iso.web.token_requests().is_empty();
    assert_eq!(outcome.is_ok(), asked, "{outcome:?}");
    asked
}

#[test]
fn a_shared_back_off_claiming_more_than_the_longest_retry_after_is_refused() {
    let (store, key) = throttled_store();
    assert!(!next_request_asks_the_provider(&store), "the real record is honoured");
    let day = 24 * 3600 * 1000u64;
    sealed_by_us(&store, &key, &json!({"until": T0 * 1000 + day, "n": 1, "st": 429}));
    assert!(next_request_asks_the_provider(&store), "a day-long back-off is not believed");
}

#[test]
fn hostile_values_under_the_back_off_key_never_stop_a_request() {
    let (store, key) = throttled_store();
    let legit = block_on(store.get(&key)).unwrap().unwrap();
    for (name, value) in hostile_values(&legit, b"{}") {
        let (store, key) = throttled_store();
        block_on(store.put(&key, value, Duration::from_secs(60))).unwrap();
        assert!(next_request_asks_the_provider(&store), "{name}");
    }
}
