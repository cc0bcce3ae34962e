//! Rotating the seal secret (`TOKEN_CACHE_KEY`) without losing what the store holds (issue 20,
//! item 2). During a gradual deployment two versions run side by side on one store: the old one
//! seals with secret A; the new one seals with B and has A as `TOKEN_CACHE_KEY_PREVIOUS`. Before,
//! each version deleted what the other had sealed, and a session's refresh token went with it.
//! Here the new version opens A's values and seals them again under B; the old version meets B's
//! values as foreign: it neither believes nor deletes them, and a session it can't read answers
//! 503 (retry), never 404 (a scheduler's "gone for good").
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{KeyValueStore, MemoryStore, Platform};
use edge_identity::{AcquisitionOptions, SessionKey, TokenAcquirer, TokenRequest};
use futures::executor::block_on;
use serde_json::json;
use support::acquisition::*;
use support::*;

const PARTNER: &str = "api://partner/process";
const SECRET_A: &str = "the-seal-secret-before-the-rotation-A";
const SECRET_B: &str = "the-seal-secret-after-the-rotation-B!";

/// One version of the deployment on the shared store, clock and provider (`web`), sealing with
/// `current` and opening `previous` too.
struct Version {
    web: Rc<ScriptedWeb>,
    acquirer: TokenAcquirer,
}

fn version(
    store: &Rc<MemoryStore>,
    clock: &Rc<ManualClock>,
    web: &Rc<ScriptedWeb>,
    current: &str,
    previous: Option<&str>,
) -> Version {
    let web = web.clone();
    let previous = previous.map(seal_secret);
    let platform = Platform::new(web.clone(), Rc::new(RustCrypto), clock.clone())
        .with_rotating_store(store.clone(), Some(&seal_secret(current)), previous.as_ref());
    let options = AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap();
    Version { web, acquirer: TokenAcquirer::new(platform, options) }
}

fn request() -> TokenRequest {
    TokenRequest::new([PARTNER])
}

/// The 8-byte key id of the value under `key` (after the 4-byte frame).
fn key_id(store: &MemoryStore, key: &str) -> Vec<u8> {
    block_on(store.get(key)).unwrap().unwrap()[4..12].to_vec()
}

#[test]
fn two_versions_side_by_side_lose_no_session_while_the_seal_secret_rotates() {
    let store = rc(MemoryStore::new());
    let clock = rc(ManualClock::at_secs(T0));
    let web = ScriptedWeb::new();
    let old = version(&store, &clock, &web, SECRET_A, None);
    let new = version(&store, &clock, &web, SECRET_B, Some(SECRET_A));
    let user = user();
    block_on(old.acquirer.start_session(&user, SessionKey::Key("job-7".into()), &request()))
        .unwrap();
    let record = store.keys().into_iter().find(|k| k.contains("/session/")).unwrap();
    let sealed_by_a = key_id(&store, &record);

    // The new version continues it: A's record opens, is refreshed with rt-1, and is sealed
    // again under B.
    clock.advance(Duration::from_secs(2 * 3600));
    block_on(new.acquirer.token_for_session(&user, "job-7", &request())).unwrap();
    assert_eq!(new.web.token_requests().last().unwrap().form()["refresh_token"], "rt-1");
    assert_ne!(key_id(&store, &record), sealed_by_a, "sealed again under the new secret");

    // The old version can't read B's record: it says "try again", leaves it, asks nobody.
    clock.advance(Duration::from_secs(2 * 3600));
    let asked = old.web.token_requests().len();
    let err = block_on(old.acquirer.token_for_session(&user, "job-7", &request())).unwrap_err();
    assert_eq!((err.status().as_u16(), err.code()), (503, "store_unavailable"));
    assert_eq!(old.web.token_requests().len(), asked);
    assert!(block_on(store.get(&record)).unwrap().is_some(), "not deleted");

    // The new version carries on with the refresh token it was given last: nothing was lost.
    block_on(new.acquirer.token_for_session(&user, "job-7", &request())).unwrap();
    assert_eq!(new.web.token_requests().last().unwrap().form()["refresh_token"], "rt-2");

    // Rollout done: a version with B alone continues it too.
    clock.advance(Duration::from_secs(2 * 3600));
    let done = version(&store, &clock, &web, SECRET_B, None);
    block_on(done.acquirer.token_for_session(&user, "job-7", &request())).unwrap();
    assert_eq!(done.web.token_requests().last().unwrap().form()["refresh_token"], "rt-3");
}

#[test]
fn a_token_sealed_with_the_previous_secret_is_served_and_sealed_again() {
    let store = rc(MemoryStore::new());
    let clock = rc(ManualClock::at_secs(T0));
    let web = ScriptedWeb::new();
    let old = version(&store, &clock, &web, SECRET_A, None);
    block_on(old.acquirer.token_for_user(&user(), &request())).unwrap();
    let new = version(&store, &clock, &web, SECRET_B, Some(SECRET_A));
    let token = block_on(new.acquirer.token_for_user(&user(), &request())).unwrap();
    assert!(token.from_cache(), "the old version's token is served, not fetched again");
    assert_eq!(new.web.token_requests().len(), 1, "only the old version's request");
    // Sealed again under B: a version with B alone reads it.
    let done = version(&store, &clock, &web, SECRET_B, None);
    assert!(block_on(done.acquirer.token_for_user(&user(), &request())).unwrap().from_cache());
    assert_eq!(done.web.token_requests().len(), 1);
}

#[test]
fn a_value_in_the_previous_frame_format_opens_and_is_sealed_again() {
    // Format 2 had no key id: `EI2s` ‖ nonce ‖ sealed. An upgrade must not drop it.
    let store = rc(MemoryStore::new());
    let clock = rc(ManualClock::at_secs(T0));
    let web = ScriptedWeb::new();
    let writer = version(&store, &clock, &web, SECRET_A, None);
    block_on(writer.acquirer.token_for_user(&user(), &request())).unwrap();
    let key = store.keys()[0].clone();
    let value = block_on(store.get(&key)).unwrap().unwrap();
    let format_2 = [&b"EI2s"[..], &value[12..]].concat();
    block_on(store.put(&key, format_2, Duration::from_secs(3600))).unwrap();

    let reader = version(&store, &clock, &web, SECRET_A, None);
    assert!(block_on(reader.acquirer.token_for_user(&user(), &request())).unwrap().from_cache());
    assert_eq!(&block_on(store.get(&key)).unwrap().unwrap()[..4], b"EI3s", "sealed again");
}

#[test]
fn a_short_previous_secret_is_refused_naming_it() {
    let settings = edge_identity::HostSettings::from_values(
        Some(r#"{"AzureAd": {"TenantId": "common", "ClientId": "c"}}"#),
        Some("secret"),
        Some(SECRET_B),
    )
    .unwrap();
    let err = settings.with_previous_seal_secret(Some("short")).unwrap_err();
    assert_eq!(err.field, "TOKEN_CACHE_KEY_PREVIOUS");
}
