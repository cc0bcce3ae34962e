//! Long-running sessions: started from a user's request, continued by key alone after the
//! user's token expired, sealed at rest, ended on request.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::MemoryStore;
use edge_identity::{
    AcquisitionError, AcquisitionOptions, SessionKey, TokenAcquirer, TokenRequest,
};
use futures::executor::block_on;
use serde_json::json;
use support::acquisition::*;
use support::*;

const PARTNER: &str = "api://partner/process";
const SEAL: &str = "a-session-sealing-secret-of-32-chars-or-more";

fn sealed(iso: &Isolate) -> TokenAcquirer {
    let options = AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap();
    TokenAcquirer::new(iso.platform.clone(), options)
}

fn isolate(store: &Rc<MemoryStore>, clock: &Rc<ManualClock>) -> Isolate {
    Isolate::sealed_with(ScriptedWeb::new(), clock.clone(), store.clone(), SEAL)
}

/// A store and clock shared by isolates, one isolate on them, and its sealed acquirer.
fn world() -> (Rc<MemoryStore>, Rc<ManualClock>, Isolate, TokenAcquirer) {
    let store = rc(MemoryStore::new());
    let clock = rc(ManualClock::at_secs(T0));
    let iso = isolate(&store, &clock);
    let acquirer = sealed(&iso);
    (store, clock, iso, acquirer)
}

#[test]
fn a_session_allocated_for_me_continues_after_the_users_token_expired() {
    let store = rc(MemoryStore::new());
    let clock = rc(ManualClock::at_secs(T0));
    let iso = isolate(&store, &clock);
    let user = user();
    let session = block_on(sealed(&iso).start_session(
        &user,
        SessionKey::AllocateForMe,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    assert_eq!(session.token.secret(), "at-1");
    assert!(!session.key.is_empty() && !user.token().expose().contains(&session.key));
    let start = iso.web.token_requests()[0].form();
    assert_eq!(start["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(start["scope"], format!("{PARTNER} offline_access"), "a refresh token is asked for");

    // Two hours later, in another isolate: the user's token and the first token have expired.
    clock.advance(Duration::from_secs(2 * 3600));
    let later = isolate(&store, &clock);
    let token =
        block_on(sealed(&later).token_for_session(&session.key, &TokenRequest::new([PARTNER])))
            .unwrap();
    assert_eq!(token.secret(), "at-1", "the new isolate's provider mints its own numbering");
    assert!(!token.from_cache());
    let refresh = later.web.token_requests()[0].form();
    assert_eq!(refresh["grant_type"], "refresh_token");
    assert_eq!(refresh["refresh_token"], "rt-1");
    assert_eq!((refresh["scope"].as_str(), refresh["client_secret"].as_str()), (PARTNER, SECRET));
    assert!(!refresh.contains_key("assertion"), "the expired user token is not used");

    // Served from the cache now, and starting again with the same token finds the session.
    let again =
        block_on(sealed(&later).token_for_session(&session.key, &TokenRequest::new([PARTNER])))
            .unwrap();
    assert!(again.from_cache());
    assert_eq!(later.web.token_requests().len(), 1);
}

#[test]
fn a_rotated_refresh_token_is_kept_and_the_session_record_is_sealed() {
    let (store, clock, iso, acquirer) = world();
    block_on(acquirer.start_session(
        &user(),
        SessionKey::Key("job-42".into()),
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    // Every two hours the cached token has expired and the session refreshes with the refresh
    // token the provider gave last (the scripted provider rotates them).
    for expected_refresh_token in ["rt-1", "rt-2"] {
        clock.advance(Duration::from_secs(2 * 3600));
        block_on(acquirer.token_for_session("job-42", &TokenRequest::new([PARTNER]))).unwrap();
        let last = iso.web.token_requests().last().unwrap().form();
        assert_eq!(last["refresh_token"], expected_refresh_token);
    }
    for key in store.keys() {
        let (value, _) = store.entry(&key).unwrap();
        assert!(value.starts_with(b"EI2s"), "{key} is sealed");
        for secret in [&b"rt-"[..], b"at-", b"job-42"] {
            assert!(!value.windows(secret.len()).any(|w| w == secret));
        }
        assert!(!key.contains("job-42"));
    }
}

#[test]
fn ending_a_session_deletes_its_record_and_tokens() {
    let (store, _clock, _iso, acquirer) = world();
    let session = block_on(acquirer.start_session(
        &user(),
        SessionKey::AllocateForMe,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    block_on(acquirer.token_for_session(&session.key, &TokenRequest::new(["api://other/read"])))
        .unwrap();
    assert_eq!(store.keys().len(), 3, "record + two tokens");
    block_on(acquirer.end_session(&session.key));
    assert_eq!(store.keys(), Vec::<String>::new());
    let err = block_on(acquirer.token_for_session(&session.key, &TokenRequest::new([PARTNER])))
        .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound);
    assert_eq!(err.to_response().status(), 404);
}

#[test]
fn allocate_for_me_twice_with_one_token_gives_one_session() {
    let (_store, _clock, iso, acquirer) = world();
    let user = user();
    let request = TokenRequest::new([PARTNER]);
    let first =
        block_on(acquirer.start_session(&user, SessionKey::AllocateForMe, &request)).unwrap();
    let second =
        block_on(acquirer.start_session(&user, SessionKey::AllocateForMe, &request)).unwrap();
    assert_eq!(first.key, second.key);
    assert!(second.token.from_cache());
    let other =
        block_on(acquirer.start_session(&other_user(), SessionKey::AllocateForMe, &request))
            .unwrap();
    assert_ne!(first.key, other.key);
    assert_eq!(iso.web.token_requests().len(), 2);
}

#[test]
fn an_unknown_session_or_a_provider_without_refresh_tokens_is_a_typed_error() {
    let (_store, _clock, iso, acquirer) = world();
    let err = block_on(acquirer.token_for_session("never-started", &TokenRequest::new([PARTNER])))
        .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound);

    iso.web.issue_refresh_tokens.set(false);
    let err = block_on(acquirer.start_session(
        &user(),
        SessionKey::AllocateForMe,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap_err();
    assert!(matches!(err, AcquisitionError::Configuration(_)), "{err:?}");
    let err = block_on(acquirer.start_session(
        &user(),
        SessionKey::Key(" ".into()),
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap_err();
    assert!(matches!(err, AcquisitionError::Configuration(_)));
}

#[test]
fn a_revoked_session_answers_401_so_the_user_signs_in_again() {
    let (_store, clock, iso, acquirer) = world();
    let session = block_on(acquirer.start_session(
        &user(),
        SessionKey::AllocateForMe,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    iso.web.queue(
        &token_endpoint(TENANT),
        json_answer(400, json!({"error": "invalid_grant", "error_codes": [70043], "error_description": "AADSTS70043: expired"})),
    );
    let err = block_on(acquirer.token_for_session(&session.key, &TokenRequest::new([PARTNER])))
        .unwrap_err();
    assert!(matches!(err, AcquisitionError::InvalidGrant(_)), "{err:?}");
    assert_eq!(err.to_response().status(), 401);
}
