//! The issuer's keys over time: rotation, the refetch cooldown, stale-if-error, single flight,
//! and sharing the documents through a key-value store so a cold isolate needs no fetch.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{KeyValueStore, MemoryStore, NoLogger, Platform, SealedStore};
use edge_identity::JwkSetError;
use edge_identity::KeySourceError;
use edge_identity::{IdentityConfig, TokenValidator, ValidationError};
use edge_identity::{SealSecret, Secret};
use futures::executor::block_on;
use futures::future::join_all;
use serde_json::json;
use support::signing::TestSigner;
use support::*;

struct Isolate {
    idp: Rc<ScriptedIdp>,
    clock: Rc<ManualClock>,
    validator: TokenValidator,
}

/// A fresh isolate: nothing cached in memory.
fn isolate(
    idp: Rc<ScriptedIdp>,
    clock: Rc<ManualClock>,
    store: Option<Rc<dyn KeyValueStore>>,
) -> Isolate {
    let mut platform = Platform::new(idp.clone(), Rc::new(RustCrypto), clock.clone());
    if let Some(store) = store {
        platform = platform.with_store(store, Some(&seal()));
    }
    let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    Isolate { idp, clock, validator }
}

fn seal() -> SealSecret {
    SealSecret::new(Secret::new("key-rotation-tests-seal-secret-32+"), "TOKEN_CACHE_KEY").unwrap()
}

/// The store entry under `key` as the SDK reads it: opened with the isolates' seal secret.
fn opened(store: &Rc<MemoryStore>, key: &str) -> serde_json::Value {
    let sealed = SealedStore::new(store.clone(), &seal(), Rc::new(RustCrypto), Rc::new(NoLogger));
    let bytes = block_on(sealed.get(key)).unwrap().expect("an entry that authenticates");
    serde_json::from_slice(&bytes).unwrap()
}

fn with_keys(seeds: &[u8]) -> Isolate {
    let keys = seeds.iter().map(|s| TestSigner::ec(*s).public_jwk(&format!("k{s}"))).collect();
    isolate(rc(ScriptedIdp::entra(TENANT, keys)), rc(ManualClock::at_secs(T0)), None)
}

fn token(seed: u8, now: u64) -> String {
    TestSigner::ec(seed).sign(&format!("k{seed}"), &entra_claims(now))
}

impl Isolate {
    fn check(&self, token: &str) -> Result<edge_identity::ValidatedToken, ValidationError> {
        block_on(self.validator.validate(token))
    }
    fn now(&self) -> u64 {
        self.clock.secs()
    }
}

#[test]
fn an_unknown_kid_causes_one_refetch_and_the_rotated_key_is_accepted() {
    let api = with_keys(&[1]);
    assert!(api.check(&token(1, api.now())).is_ok());
    assert_eq!(api.idp.jwks_fetches(), 1);

    // The issuer rotates in key 2 later on.
    api.clock.advance(Duration::from_secs(3600));
    api.idp.set_keys(vec![TestSigner::ec(1).public_jwk("k1"), TestSigner::ec(2).public_jwk("k2")]);
    assert!(api.check(&token(2, api.now())).is_ok(), "the new key is found by one refetch");
    assert_eq!(api.idp.jwks_fetches(), 2);
    assert!(api.check(&token(2, api.now())).is_ok());
    assert!(api.check(&token(1, api.now())).is_ok());
    assert_eq!(api.idp.jwks_fetches(), 2, "no further fetch once the key is known");
}

#[test]
fn a_burst_of_unknown_kids_fetches_at_most_once_per_cooldown() {
    let api = with_keys(&[1]);
    assert!(api.check(&token(1, api.now())).is_ok());
    api.clock.advance(Duration::from_secs(31));

    let forged: Vec<String> = (100..150).map(|seed| token(seed, api.now())).collect();
    let results = block_on(join_all(forged.iter().map(|t| api.validator.validate(t))));
    assert!(results.iter().all(|r| matches!(r, Err(ValidationError::UnknownKey))));
    assert_eq!(api.idp.jwks_fetches(), 2, "50 concurrent unknown kids → one refetch");

    api.clock.advance(Duration::from_secs(20));
    for t in &forged[..10] {
        assert_eq!(api.check(t).unwrap_err(), ValidationError::UnknownKey);
    }
    assert_eq!(api.idp.jwks_fetches(), 2, "still inside the 30 s cooldown");

    api.clock.advance(Duration::from_secs(11));
    for t in &forged[..10] {
        assert_eq!(api.check(t).unwrap_err(), ValidationError::UnknownKey);
    }
    assert_eq!(api.idp.jwks_fetches(), 3, "one more once the cooldown has passed");
}

#[test]
fn when_the_key_server_is_down_the_cached_keys_keep_working() {
    let api = with_keys(&[1]);
    assert!(api.check(&token(1, api.now())).is_ok());
    let fetched = api.idp.request_count();

    // Past the key set's max age, with the issuer unreachable.
    api.clock.advance(Duration::from_secs(13 * 3600));
    api.idp.down.set(true);
    assert!(api.check(&token(1, api.now())).is_ok(), "stale keys serve while the issuer is down");
    // One attempt to refresh: Entra's discovery document and key set, requested together.
    assert_eq!(api.idp.request_count(), fetched + 2, "one attempt to refresh");
    assert!(api.check(&token(1, api.now())).is_ok());
    assert_eq!(
        api.idp.request_count(),
        fetched + 2,
        "a failed refresh is not retried inside the cooldown"
    );

    api.clock.advance(Duration::from_secs(31));
    api.idp.down.set(false);
    assert!(api.check(&token(1, api.now())).is_ok());
    // The first fetch, the failed attempt (which asked for the key set too) and the refresh.
    assert_eq!(api.idp.jwks_fetches(), 3, "refreshed once the issuer is back");
}

#[test]
fn the_key_set_is_refetched_after_its_max_age() {
    let api = with_keys(&[1]);
    assert!(api.check(&token(1, api.now())).is_ok());
    api.clock.advance(Duration::from_secs(12 * 3600 - 1));
    assert!(api.check(&token(1, api.now())).is_ok());
    assert_eq!(api.idp.jwks_fetches(), 1, "still fresh");
    api.clock.advance(Duration::from_secs(1));
    assert!(api.check(&token(1, api.now())).is_ok());
    assert_eq!(api.idp.jwks_fetches(), 2, "12 h is the default max age");
}

#[test]
fn concurrent_first_requests_of_a_cold_isolate_share_one_fetch() {
    let api = with_keys(&[1]);
    let tokens: Vec<String> = (0..20).map(|_| token(1, api.now())).collect();
    let results = block_on(join_all(tokens.iter().map(|t| api.validator.validate(t))));
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(api.idp.request_count(), 2, "one discovery and one key set fetch for 20 requests");
}

/// Entra's discovery documents name the key set at `{instance}{tenant}/discovery/v2.0/keys`
/// (`reference/entra/common-openid-configuration.json`), so a cold isolate asks for both at once.
#[test]
fn a_cold_isolate_requests_entras_discovery_document_and_key_set_together() {
    let api = with_keys(&[1]);
    assert!(api.check(&token(1, api.now())).is_ok());
    assert_eq!(*api.idp.requests.borrow(), vec![metadata_url(TENANT), jwks_url(TENANT)]);
    assert_eq!(
        api.idp.most_in_flight.get(),
        2,
        "the key set was requested before discovery answered"
    );
}

/// The early key set is used only if discovery names its URL: a key served there, while the
/// document points elsewhere, verifies nothing.
#[test]
fn a_key_set_at_the_expected_url_counts_only_if_discovery_names_it() {
    let real = TestSigner::ec(1).public_jwk("k1");
    let idp = rc(ScriptedIdp::entra(TENANT, vec![real]));
    let elsewhere = format!("{INSTANCE}{TENANT}/discovery/v2.0/keys-moved");
    idp.discovery.borrow_mut()["jwks_uri"] = json!(elsewhere);
    // What the expected URL serves: a key the issuer no longer names.
    let web = rc(Redirected {
        idp: idp.clone(),
        url: jwks_url(TENANT),
        keys: json!({"keys": [TestSigner::ec(9).public_jwk("k9")]}),
    });
    let platform = Platform::new(web, Rc::new(RustCrypto), rc(ManualClock::at_secs(T0)));
    let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();

    let outside = block_on(validator.validate(&token(9, T0))).unwrap_err();
    assert_eq!(outside, ValidationError::UnknownKey, "a key only the expected URL serves");
    assert!(block_on(validator.validate(&token(1, T0))).is_ok(), "the key set discovery names");
    assert!(idp.requests.borrow().contains(&elsewhere));
}

/// Answers `url` with `keys` and everything else from the scripted provider.
struct Redirected {
    idp: Rc<ScriptedIdp>,
    url: String,
    keys: serde_json::Value,
}

impl edge_identity::platform::HttpClient for Redirected {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> edge_identity::platform::LocalFuture<
        '_,
        Result<http::Response<Vec<u8>>, edge_identity::platform::HttpError>,
    > {
        if request.uri().to_string() == self.url {
            let answer = respond(200, &self.keys);
            return Box::pin(async move { Ok(answer) });
        }
        self.idp.send(request, timeout)
    }
}

#[test]
fn an_issuer_that_cannot_be_reached_with_nothing_cached_answers_503_and_is_not_hammered() {
    let api = with_keys(&[1]);
    api.idp.down.set(true);
    let err = api.check(&token(1, api.now())).unwrap_err();
    assert!(matches!(err, ValidationError::KeysUnavailable(KeySourceError::Http(_))), "{err:?}");
    let response = err.to_response();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("www-authenticate").is_none());
    // One attempt: Entra's discovery document and key set, requested together.
    assert_eq!(api.idp.request_count(), 2);
    assert!(api.check(&token(1, api.now())).is_err());
    assert_eq!(api.idp.request_count(), 2, "no retry inside the cooldown");
    api.clock.advance(Duration::from_secs(30));
    api.idp.down.set(false);
    assert!(api.check(&token(1, api.now())).is_ok());
}

#[test]
fn a_key_set_holding_a_symmetric_key_is_refused_whole() {
    let api = with_keys(&[1]);
    api.idp.set_keys(vec![
        TestSigner::ec(1).public_jwk("k1"),
        json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
    ]);
    let err = api.check(&token(1, api.now())).unwrap_err();
    assert_eq!(
        err,
        ValidationError::KeysUnavailable(KeySourceError::KeySet(JwkSetError::SymmetricKey))
    );
}

#[test]
fn a_cold_isolate_validates_from_the_shared_store_without_calling_the_issuer() {
    let store = rc(MemoryStore::new());
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::ec(1).public_jwk("k1")]));
    let clock = rc(ManualClock::at_secs(T0));
    let first = isolate(idp.clone(), clock.clone(), Some(store.clone()));
    assert!(first.check(&token(1, clock.secs())).is_ok());
    assert_eq!(idp.request_count(), 2);

    let key = first.validator.key_source().store_key().to_owned();
    let (_, ttl) = store.entry(&key).expect("documents shared");
    assert!(ttl >= Duration::from_secs(60));
    let stored = opened(&store, &key);
    assert_eq!(stored["fetched_at_ms"], json!(T0 * 1000));
    assert_eq!(stored["discovery"]["issuer"], json!(v2_issuer(TENANT)));

    clock.advance(Duration::from_secs(600));
    let second = isolate(idp.clone(), clock.clone(), Some(store.clone()));
    assert!(second.check(&token(1, clock.secs())).is_ok());
    assert_eq!(idp.request_count(), 2, "the new isolate made no request to the issuer");

    // Even past the max age, with the issuer down, a new isolate falls back on the stored set.
    clock.advance(Duration::from_secs(13 * 3600));
    idp.down.set(true);
    let third = isolate(idp.clone(), clock.clone(), Some(store.clone()));
    assert!(third.check(&token(1, clock.secs())).is_ok());
}

#[test]
fn a_corrupt_store_entry_is_ignored_and_replaced() {
    let store = rc(MemoryStore::new());
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::ec(1).public_jwk("k1")]));
    let clock = rc(ManualClock::at_secs(T0));
    let api = isolate(idp.clone(), clock.clone(), Some(store.clone()));
    let key = api.validator.key_source().store_key().to_owned();
    for garbage in [&b"not json"[..], br#"{"format": 1}"#, br#"{"format": 99, "jwks": {}}"#] {
        store.overwrite(&key, garbage.to_vec());
        let api = isolate(idp.clone(), clock.clone(), Some(store.clone()));
        assert!(api.check(&token(1, clock.secs())).is_ok());
        let (fresh, _) = store.entry(&key).unwrap();
        assert_ne!(fresh, garbage.to_vec(), "the bad entry was overwritten");
    }
}

#[test]
fn a_failing_store_never_fails_validation() {
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::ec(1).public_jwk("k1")]));
    let clock = rc(ManualClock::at_secs(T0));
    let api = isolate(idp.clone(), clock.clone(), Some(Rc::new(FailingStore)));
    assert!(api.check(&token(1, clock.secs())).is_ok());
    assert!(api.check(&token(1, clock.secs())).is_ok());
    assert_eq!(idp.jwks_fetches(), 1);
}

#[test]
fn where_memory_lasts_one_request_a_flood_of_unknown_kids_still_fetches_once_per_cooldown() {
    // Spin runs each request in a new instance: only the shared store carries the cooldown.
    let store = rc(MemoryStore::new());
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::ec(1).public_jwk("k1")]));
    let clock = rc(ManualClock::at_secs(T0));
    let warm = isolate(idp.clone(), clock.clone(), Some(store.clone()));
    assert!(warm.check(&token(1, clock.secs())).is_ok());
    assert_eq!(idp.jwks_fetches(), 1);
    for seed in 2..=40u8 {
        let request = isolate(idp.clone(), clock.clone(), Some(store.clone()));
        assert_eq!(
            request.check(&token(seed, clock.secs())).unwrap_err(),
            ValidationError::UnknownKey
        );
        clock.advance(Duration::from_millis(500));
    }
    assert_eq!(idp.jwks_fetches(), 2, "one refetch for 39 requests within the cooldown");
    clock.advance(Duration::from_secs(30));
    let later = isolate(idp.clone(), clock.clone(), Some(store.clone()));
    let _ = later.check(&token(99, clock.secs()));
    assert_eq!(idp.jwks_fetches(), 3, "one more once the cooldown has passed");
}
