//! The verified-token cache (issue 13): a token verified before is accepted again without a
//! signature check, under four rules: expiry, key rotation, a bound, and no near-miss hit.
//!
//! Shapes: the tokens are Entra v2.0 delegated access tokens as the access-token claims
//! reference describes them (`tests/support::entra_claims`), the key sets are served at
//! Entra's discovery paths (`ScriptedIdp::entra`), and signatures are checked by the real
//! RustCrypto backend, wrapped only to count how many verifications it was asked for.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{
    AssertionAlgorithm, Crypto, CryptoError, LocalFuture, Platform, SealingKey, SignatureVerifier,
    SigningKey, VerifyingKey, SEAL_NONCE_LEN,
};
use edge_identity::{Algorithm, IdentityConfig, KeyMaterial, TokenValidator, ValidationError};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::signing::TestSigner;
use support::*;

/// RustCrypto, counting the signature verifications it performs.
#[derive(Default)]
struct CountingCrypto {
    verifications: Cell<usize>,
}

impl SignatureVerifier for CountingCrypto {
    fn import_key<'a>(
        &'a self,
        material: &'a KeyMaterial,
        alg: Algorithm,
    ) -> LocalFuture<'a, Result<VerifyingKey, CryptoError>> {
        Box::pin(async move { RustCrypto.import_key(material, alg).await })
    }

    fn verify<'a>(
        &'a self,
        alg: Algorithm,
        key: &'a VerifyingKey,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        self.verifications.set(self.verifications.get() + 1);
        Box::pin(async move { RustCrypto.verify(alg, key, message, signature).await })
    }
}

impl Crypto for CountingCrypto {
    fn random(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        RustCrypto.random(buf)
    }
    fn import_signing_key<'a>(
        &'a self,
        der: &'a [u8],
        alg: AssertionAlgorithm,
    ) -> LocalFuture<'a, Result<SigningKey, CryptoError>> {
        Box::pin(async move { RustCrypto.import_signing_key(der, alg).await })
    }
    fn sign<'a>(
        &'a self,
        key: &'a SigningKey,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        Box::pin(async move { RustCrypto.sign(key, message).await })
    }
    fn import_sealing_key<'a>(
        &'a self,
        raw: &'a [u8; 32],
    ) -> LocalFuture<'a, Result<SealingKey, CryptoError>> {
        Box::pin(async move { RustCrypto.import_sealing_key(raw).await })
    }
    fn seal<'a>(
        &'a self,
        key: &'a SealingKey,
        nonce: &'a [u8; SEAL_NONCE_LEN],
        aad: &'a [u8],
        plaintext: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        Box::pin(async move { RustCrypto.seal(key, nonce, aad, plaintext).await })
    }
    fn open<'a>(
        &'a self,
        key: &'a SealingKey,
        nonce: &'a [u8; SEAL_NONCE_LEN],
        aad: &'a [u8],
        sealed: &'a [u8],
    ) -> LocalFuture<'a, Result<Option<Vec<u8>>, CryptoError>> {
        Box::pin(async move { RustCrypto.open(key, nonce, aad, sealed).await })
    }
}

struct Api {
    idp: Rc<ScriptedIdp>,
    clock: Rc<ManualClock>,
    crypto: Rc<CountingCrypto>,
    platform: Platform,
    validator: TokenValidator,
}

fn api(extra_config: Value) -> Api {
    let keys = vec![TestSigner::Rsa.public_jwk("rsa"), TestSigner::rfc_ec().public_jwk("ec")];
    let idp = rc(ScriptedIdp::entra(TENANT, keys));
    let clock = rc(ManualClock::at_secs(T0));
    let crypto = rc(CountingCrypto::default());
    let platform = Platform::new(idp.clone(), crypto.clone(), clock.clone());
    let validator = validator(&platform, extra_config);
    Api { idp, clock, crypto, platform, validator }
}

fn validator(platform: &Platform, extra_config: Value) -> TokenValidator {
    let config = IdentityConfig::from_json(&entra_config(extra_config)).unwrap();
    TokenValidator::from_config(&config.azure_ad, platform.clone()).unwrap()
}

impl Api {
    fn check(&self, token: &str) -> Result<edge_identity::ValidatedToken, ValidationError> {
        block_on(self.validator.validate(token))
    }
    fn verifications(&self) -> usize {
        self.crypto.verifications.get()
    }
}

fn token(oid: &str) -> String {
    TestSigner::Rsa.sign("rsa", &with(entra_claims(T0), json!({ "oid": oid })))
}

#[test]
fn a_repeat_token_is_accepted_without_a_second_signature_check() {
    let api = api(json!({}));
    let t = token("a1b2c3d4-0000-4000-8000-000000000001");
    let first = api.check(&t).unwrap();
    assert_eq!(api.verifications(), 1);
    for _ in 0..5 {
        let again = api.check(&t).unwrap();
        assert_eq!(again.token().expose(), t);
        assert_eq!(again.object_id(), first.object_id());
        assert_eq!(again.scopes().collect::<Vec<_>>(), ["access_as_user", "User.Read"]);
    }
    assert_eq!(api.verifications(), 1, "the repeats were served by the verified-token cache");
    assert_eq!(api.validator.verified_tokens(), 1);
}

#[test]
fn a_cached_token_lives_until_exp_and_its_lifetime_is_checked_at_every_use() {
    // ClockSkewSeconds 60: the token is good until exp + 60 s, as without the cache.
    let api = api(json!({"ClockSkewSeconds": 60}));
    let t = token("a1b2c3d4-0000-4000-8000-000000000002");
    api.check(&t).unwrap();
    api.clock.advance(Duration::from_secs(3599));
    api.check(&t).unwrap();
    assert_eq!(api.verifications(), 1, "one second before exp: served from the cache");

    // Past exp, within the skew: still accepted, but the entry is gone, so it is verified again.
    api.clock.advance(Duration::from_secs(30));
    api.check(&t).unwrap();
    assert_eq!(api.verifications(), 2, "no entry outlives exp");
    assert_eq!(api.validator.verified_tokens(), 0, "an expired token is not kept again");

    api.clock.advance(Duration::from_secs(31));
    assert_eq!(api.check(&t).unwrap_err(), ValidationError::Expired);
}

#[test]
fn a_cached_token_is_refused_when_the_clock_goes_back_before_its_nbf() {
    // Lifetime rules run at every use, not only on first sight: a host clock corrected to
    // before nbf (T0 - 60, no skew) refuses the cached token without verifying it again.
    let api = api(json!({"ClockSkewSeconds": 0}));
    let t = token("a1b2c3d4-0000-4000-8000-000000000003");
    api.check(&t).unwrap();
    api.clock.set_secs(T0 - 61);
    assert_eq!(api.check(&t).unwrap_err(), ValidationError::NotYetValid);
    assert_eq!(api.verifications(), 1, "refused on the cache path");
}

#[test]
fn a_new_key_set_voids_the_entries_and_a_removed_key_verifies_nothing_more() {
    let api = api(json!({}));
    let t = token("a1b2c3d4-0000-4000-8000-000000000004");
    api.check(&t).unwrap();

    // The issuer rotates: a new key `ec-new` in, the RSA key out. A token signed with the new
    // key makes the validator refetch the set (unknown kid, after the 30 s cooldown).
    api.idp.set_keys(vec![TestSigner::rfc_ec().public_jwk("ec-new")]);
    api.clock.advance(Duration::from_secs(31));
    let rotated = TestSigner::rfc_ec().sign("ec-new", &entra_claims(T0));
    api.check(&rotated).unwrap();
    assert_eq!(api.idp.jwks_fetches(), 2);

    // The cached RSA token was verified under the old set: its entry is void, and the key
    // that verified it is gone, so it is refused.
    assert_eq!(api.check(&t).unwrap_err(), ValidationError::UnknownKey);

    // A set that still holds the key: the token is verified once again under it, then cached.
    api.idp.set_keys(vec![
        TestSigner::Rsa.public_jwk("rsa"),
        TestSigner::rfc_ec().public_jwk("ec-new"),
    ]);
    api.clock.advance(Duration::from_secs(31));
    let again = TestSigner::rfc_ec().sign("ec-new", &with(entra_claims(T0), json!({"uti": "x"})));
    let _ = api.check(&TestSigner::rfc_ec().sign("ec-other", &entra_claims(T0)));
    assert_eq!(api.idp.jwks_fetches(), 3, "an unknown kid refetched the set");
    api.check(&again).unwrap();
    let before = api.verifications();
    api.check(&t).unwrap();
    api.check(&t).unwrap();
    assert_eq!(api.verifications(), before + 1, "verified once under the new set, then cached");
}

#[test]
fn a_refetch_that_finds_the_same_key_set_keeps_the_verified_tokens_and_imported_keys() {
    // Issue 19: one request with a random `kid` every cooldown made the isolate refetch the
    // same set and, with it, throw away every verified token and imported key.
    let api = api(json!({}));
    let t = token("a1b2c3d4-0000-4000-8000-000000000042");
    api.check(&t).unwrap();
    assert_eq!(api.verifications(), 1);
    for round in 1..=3 {
        api.clock.advance(Duration::from_secs(31));
        let random_kid = TestSigner::Rsa.sign(&format!("random-{round}"), &entra_claims(T0));
        assert_eq!(api.check(&random_kid).unwrap_err(), ValidationError::UnknownKey);
        assert_eq!(api.idp.jwks_fetches(), 1 + round, "each cooldown allows one refetch");
        api.check(&t).unwrap();
        assert_eq!(api.verifications(), 1, "round {round}: still served by the verified cache");
    }
    // The confirmation counts as a fetch for the key set's max age (12 h by default): no fetch
    // because the first one has aged.
    api.clock.advance(Duration::from_secs(12 * 3600 - 60));
    api.check(&TestSigner::Rsa.sign("rsa", &entra_claims(api.clock.secs()))).unwrap();
    assert_eq!(api.idp.jwks_fetches(), 4);
}

#[test]
fn the_cache_is_bounded_in_entries_and_bytes_least_recently_used_out() {
    let api = api(json!({"VerifiedTokenCacheMaxEntries": 2}));
    let [a, b, c] =
        ["01", "02", "03"].map(|n| token(&format!("a1b2c3d4-0000-4000-8000-0000000001{n}")));
    api.check(&a).unwrap();
    api.check(&b).unwrap();
    api.check(&a).unwrap(); // a is now the most recently used
    api.check(&c).unwrap(); // evicts b
    assert_eq!(api.validator.verified_tokens(), 2);
    assert_eq!(api.verifications(), 3);
    api.check(&a).unwrap();
    api.check(&c).unwrap();
    assert_eq!(api.verifications(), 3, "a and c stayed");
    api.check(&b).unwrap();
    assert_eq!(api.verifications(), 4, "b was evicted and verified again");

    // A byte bound smaller than one token keeps none.
    let small = validator(&api.platform, json!({"VerifiedTokenCacheMaxBytes": 1000}));
    block_on(small.validate(&a)).unwrap();
    assert_eq!(small.verified_tokens(), 0);

    // Zero entries turns the cache off.
    let off = validator(&api.platform, json!({"VerifiedTokenCacheMaxEntries": 0}));
    let before = api.verifications();
    block_on(off.validate(&a)).unwrap();
    block_on(off.validate(&a)).unwrap();
    assert_eq!(api.verifications(), before + 2);
}

#[test]
fn no_other_token_hits_an_entry_not_even_one_with_the_same_signature_tail() {
    let api = api(json!({}));
    let t = token("a1b2c3d4-0000-4000-8000-000000000005");
    api.check(&t).unwrap();

    // Same length, same last characters (the lookup key), one payload character changed.
    let (header, rest) = t.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut forged_payload = payload.as_bytes().to_vec();
    forged_payload[10] = if forged_payload[10] == b'A' { b'B' } else { b'A' };
    let forged = format!("{header}.{}.{signature}", String::from_utf8(forged_payload).unwrap());
    assert_eq!(forged.len(), t.len());
    assert_eq!(&forged[forged.len() - 32..], &t[t.len() - 32..]);
    assert!(api.check(&forged).is_err(), "a near miss is checked in full, and fails");

    // A token ending with the cached one, and the cached one cut short.
    assert!(api.check(&format!("x{t}")).is_err());
    assert!(api.check(&t[1..]).is_err());

    // The genuine entry is untouched by the near misses.
    let before = api.verifications();
    api.check(&t).unwrap();
    assert_eq!(api.verifications(), before);
}

#[test]
fn a_refused_token_is_never_cached_and_validators_do_not_share_entries() {
    let api = api(json!({}));
    let no_scope = TestSigner::Rsa.sign("rsa", &with(entra_claims(T0), json!({"scp": null})));
    assert_eq!(api.check(&no_scope).unwrap_err(), ValidationError::NoScopeOrRole);
    assert_eq!(api.check(&no_scope).unwrap_err(), ValidationError::NoScopeOrRole);
    assert_eq!(api.verifications(), 2, "refused tokens are checked in full every time");
    assert_eq!(api.validator.verified_tokens(), 0);

    // A token this validator accepted is not accepted by one with another audience.
    let t = token("a1b2c3d4-0000-4000-8000-000000000006");
    api.check(&t).unwrap();
    let other = validator(&api.platform, json!({"Audience": "api://another-api"}));
    assert_eq!(block_on(other.validate(&t)).unwrap_err(), ValidationError::InvalidAudience);
}
