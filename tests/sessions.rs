//! Long-running sessions: started from a user's request, continued by key alone after the
//! user's token expired, sealed at rest, ended on request.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::future::Future as _;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::MemoryStore;
use edge_identity::{
    AcquisitionError, AcquisitionOptions, SessionKey, SessionStart, TokenAcquirer, TokenRequest,
};
use futures::executor::block_on;
use serde_json::json;
use support::acquisition::*;
use support::*;

const PARTNER: &str = "api://partner/process";
/// The client id of the app allowed to continue sessions in these tests.
const SCHEDULER: &str = "scheduler-app-id";

/// The scheduler's app-only token (client credentials: `idtyp` app, `azp` its client id).
fn scheduler() -> edge_identity::ValidatedToken {
    user_at(
        T0,
        json!({"scp": null, "roles": ["Jobs.Resume"], "idtyp": "app", "azp": SCHEDULER,
               "oid": "5c4e0000-0000-4000-8000-0000000000a9", "sub": "5c4e0000-0000-4000-8000-0000000000a9"}),
    )
}

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
        SessionStart::from(SessionKey::AllocateForMe).continued_by_app(SCHEDULER),
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    assert_eq!(session.token.secret(), "at-1");
    assert!(!session.key.is_empty() && !user.token().expose().contains(&session.key));
    let start = iso.web.token_requests()[0].form();
    assert_eq!(start["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(start["scope"], format!("{PARTNER} offline_access"), "a refresh token is asked for");

    // Two hours later, in another isolate, a scheduler app continues: the user's token and the
    // first token have expired.
    clock.advance(Duration::from_secs(2 * 3600));
    let later = isolate(&store, &clock);
    let token = block_on(sealed(&later).token_for_session(
        &scheduler(),
        &session.key,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    assert_eq!(token.secret(), "at-1", "the new isolate's provider mints its own numbering");
    assert!(!token.from_cache());
    let refresh = later.web.token_requests()[0].form();
    assert_eq!(refresh["grant_type"], "refresh_token");
    assert_eq!(refresh["refresh_token"], "rt-1");
    assert_eq!((refresh["scope"].as_str(), refresh["client_secret"].as_str()), (PARTNER, SECRET));
    assert!(!refresh.contains_key("assertion"), "the expired user token is not used");

    // Served from the cache now, and starting again with the same token finds the session.
    let again = block_on(sealed(&later).token_for_session(
        &scheduler(),
        &session.key,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    assert!(again.from_cache());
    assert_eq!(later.web.token_requests().len(), 1);
}

#[test]
fn an_rfc_9068_app_continues_a_session_it_was_named_for_by_its_client_id() {
    // RFC 9068 app tokens name their client in `client_id` (no `azp`): that is the app a
    // session is continued by. Another app, and the app's token for a user, are refused.
    let (_, clock, _, acquirer) = world();
    let session = block_on(acquirer.start_session(
        &user(),
        SessionStart::from(SessionKey::AllocateForMe).continued_by_app(SCHEDULER),
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    let app = |client: &str| rfc9068_token(json!({"sub": client, "client_id": client}));
    let scheduler = app(SCHEDULER);
    assert!(scheduler.is_app_only());
    let request = TokenRequest::new([PARTNER]);
    block_on(acquirer.token_for_session(&scheduler, &session.key, &request)).unwrap();
    let err = block_on(acquirer.token_for_session(&app("other-app"), &session.key, &request))
        .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound);
}

/// Runs `future` to completion, or fails after `polls` polls: a future that would wait for
/// ever fails the test instead of hanging it.
fn within_polls<F: std::future::Future>(future: F, polls: usize) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    for _ in 0..polls {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("still waiting after {polls} polls");
}

#[test]
fn a_session_refresh_whose_holder_never_resumes_locks_its_session_only_for_the_budget() {
    // Issue 19: on Workers a request waits on its own timer, and workerd may leave another
    // request's promise unsettled for ever. The session's lock gets the single flight's escape.
    let store = rc(MemoryStore::new());
    let clock = rc(ManualClock::at_secs(T0));
    let web = ScriptedWeb::new();
    let mut iso = Isolate::sealed_with(web.clone(), clock.clone(), store.clone(), SEAL);
    iso.platform = iso.platform.with_join_poll_interval(Duration::from_millis(10));
    let acquirer = sealed(&iso);
    let session = block_on(acquirer.start_session(
        &user(),
        SessionKey::Key("job-stuck".into()),
        &TokenRequest::new(["api://partner/read"]),
    ))
    .unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    let user = user();
    // The holder: its refresh's token request never answers within this test.
    web.latency_polls.set(u32::MAX);
    let read = TokenRequest::new(["api://partner/read"]);
    let mut holder = Box::pin(acquirer.token_for_session(&user, &session.key, &read));
    let waker = futures::task::noop_waker();
    for _ in 0..100 {
        assert!(holder.as_mut().poll(&mut std::task::Context::from_waker(&waker)).is_pending());
    }
    let refreshes = || {
        web.token_requests().iter().filter(|r| r.form()["grant_type"] == "refresh_token").count()
    };
    assert_eq!(refreshes(), 1, "the holder is inside its refresh, holding the lock");
    // Another scope of the same session, in another request: it waits the budget (10 s of
    // its own 10 ms polls), then escapes and refreshes.
    web.latency_polls.set(0);
    let started = clock.secs();
    let write = TokenRequest::new(["api://partner/write"]);
    let token = within_polls(acquirer.token_for_session(&user, &session.key, &write), 10_000);
    token.unwrap();
    assert_eq!(refreshes(), 2);
    assert!((10..=11).contains(&(clock.secs() - started)), "waited {} s", clock.secs() - started);
    drop(holder);
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
        block_on(acquirer.token_for_session(&user(), "job-42", &TokenRequest::new([PARTNER])))
            .unwrap();
        let last = iso.web.token_requests().last().unwrap().form();
        assert_eq!(last["refresh_token"], expected_refresh_token);
    }
    for key in store.keys() {
        let (value, _) = store.entry(&key).unwrap();
        assert!(value.starts_with(b"EI3s"), "{key} is sealed");
        for secret in [&b"rt-"[..], b"at-", b"job-42"] {
            assert!(!value.windows(secret.len()).any(|w| w == secret));
        }
        assert!(!key.contains("job-42"));
    }
}

#[test]
fn ending_a_session_deletes_its_tokens_and_leaves_only_a_tombstone() {
    let (store, _clock, _iso, acquirer) = world();
    let session = block_on(acquirer.start_session(
        &user(),
        SessionKey::AllocateForMe,
        &TokenRequest::new([PARTNER]),
    ))
    .unwrap();
    block_on(acquirer.token_for_session(
        &user(),
        &session.key,
        &TokenRequest::new(["api://other/read"]),
    ))
    .unwrap();
    assert_eq!(store.keys().len(), 3, "record + two tokens");
    block_on(acquirer.end_session(&user(), &session.key)).unwrap();
    let left = store.keys();
    assert_eq!(left.len(), 1, "only the record, now a tombstone: {left:?}");
    assert!(left[0].contains("/session/"));
    let err =
        block_on(acquirer.token_for_session(&user(), &session.key, &TokenRequest::new([PARTNER])))
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
    let err = block_on(acquirer.token_for_session(
        &user(),
        "never-started",
        &TokenRequest::new([PARTNER]),
    ))
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
    let err =
        block_on(acquirer.token_for_session(&user(), &session.key, &TokenRequest::new([PARTNER])))
            .unwrap_err();
    assert!(matches!(err, AcquisitionError::InvalidGrant(_)), "{err:?}");
    assert_eq!(err.to_response().status(), 401);
}

#[test]
fn a_session_is_continued_only_by_its_owner_and_the_apps_it_names() {
    let (_store, _clock, _iso, acquirer) = world();
    let request = TokenRequest::new([PARTNER]);
    let session = block_on(acquirer.start_session(
        &user(),
        SessionStart::from(SessionKey::Key("job-7".into())).continued_by_app(SCHEDULER),
        &request,
    ))
    .unwrap();
    assert!(block_on(acquirer.token_for_session(&user(), &session.key, &request)).is_ok());
    assert!(block_on(acquirer.token_for_session(&scheduler(), &session.key, &request)).is_ok());

    // Another user, another app, or another user's app-shaped token: refused, as not found.
    let other_app = user_at(
        T0,
        json!({"scp": null, "roles": ["Jobs.Resume"], "idtyp": "app", "azp": "another-app",
               "oid": "x", "sub": "x"}),
    );
    for (who, caller) in [("another user", other_user()), ("another app", other_app)] {
        let err =
            block_on(acquirer.token_for_session(&caller, &session.key, &request)).unwrap_err();
        assert_eq!(err, AcquisitionError::SessionNotFound, "{who}");
        assert_eq!(err.to_response().status(), 404);
        // Nor may they end it.
        block_on(acquirer.end_session(&caller, &session.key)).unwrap();
        assert!(block_on(acquirer.token_for_session(&user(), &session.key, &request)).is_ok());
    }

    // Starting a session under a key another user holds is refused too.
    let err =
        block_on(acquirer.start_session(&other_user(), SessionKey::Key("job-7".into()), &request))
            .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound);
}

#[test]
fn an_ended_session_is_refused_at_once_by_every_isolate_even_one_holding_its_token() {
    let (store, clock, iso, acquirer) = world();
    let request = TokenRequest::new([PARTNER]);
    let session = block_on(acquirer.start_session(
        &user(),
        SessionStart::from(SessionKey::AllocateForMe).continued_by_app(SCHEDULER),
        &request,
    ))
    .unwrap();
    // Another isolate has the record in memory, then the session is ended in the first one.
    let other = isolate(&store, &clock);
    let other_acquirer = sealed(&other);
    block_on(other_acquirer.token_for_session(&scheduler(), &session.key, &request)).unwrap();
    block_on(acquirer.end_session(&user(), &session.key)).unwrap();

    // At once: the other isolate still holds the record and a live token in memory, but the
    // store says ended (Spin's reused instances, or two isolates in one Workers location).
    let err = block_on(other_acquirer.token_for_session(&scheduler(), &session.key, &request))
        .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound, "ended, though memory holds its token");

    // Hours later the other isolate's token has expired: it must not refresh (and so rewrite)
    // the ended session.
    clock.advance(Duration::from_secs(2 * 3600));
    let err = block_on(other_acquirer.token_for_session(&scheduler(), &session.key, &request))
        .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound);
    assert!(
        iso.web
            .token_requests()
            .iter()
            .chain(other.web.token_requests().iter())
            .all(|r| r.form()["grant_type"] != "refresh_token"),
        "no refresh of an ended session"
    );
    let record = store.keys().into_iter().find(|k| k.contains("/session/")).expect("a tombstone");
    let fresh = isolate(&store, &clock);
    let err =
        block_on(sealed(&fresh).token_for_session(&user(), &session.key, &request)).unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound, "{record}");
}

#[test]
fn concurrent_refreshes_of_one_session_never_reuse_or_lose_a_rotated_refresh_token() {
    let (_store, clock, iso, acquirer) = world();
    let scopes = ["api://partner/read", "api://partner/write", "api://reports/read"];
    let session = block_on(acquirer.start_session(
        &user(),
        SessionKey::Key("job-9".into()),
        &TokenRequest::new([scopes[0]]),
    ))
    .unwrap();
    // A strict provider: each refresh token works once (as with rotation enforced).
    iso.web.latency_polls.set(3);
    clock.advance(Duration::from_secs(2 * 3600));
    let user = user();
    let requests: Vec<TokenRequest> = scopes.iter().map(|s| TokenRequest::new([*s])).collect();
    let calls = requests.iter().map(|r| acquirer.token_for_session(&user, &session.key, r));
    let results = block_on(futures::future::join_all(calls));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let used: Vec<String> = iso
        .web
        .token_requests()
        .iter()
        .filter(|r| r.form()["grant_type"] == "refresh_token")
        .map(|r| r.form()["refresh_token"].clone())
        .collect();
    assert_eq!(used, ["rt-1", "rt-2", "rt-3"], "each refresh used the token the last one got");
}

#[test]
fn a_session_whose_store_cannot_be_read_answers_503_never_404() {
    // A scheduler takes 404 session_not_found as final and gives the job up: a KV outage must
    // say "try again" instead (issue 20: a store error is not a miss).
    let (_store, clock, _iso, acquirer) = world();
    let user = user();
    let request = TokenRequest::new([PARTNER]);
    let session = block_on(acquirer.start_session(
        &user,
        SessionStart::from(SessionKey::AllocateForMe).continued_by_app(SCHEDULER),
        &request,
    ))
    .unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    let outage = Isolate::sealed_with(ScriptedWeb::new(), clock.clone(), rc(FailingStore), SEAL);
    let err = block_on(sealed(&outage).token_for_session(&scheduler(), &session.key, &request))
        .unwrap_err();
    assert_eq!(err.code(), "store_unavailable");
    assert_eq!(err.status(), 503);
    assert_eq!(err.retry_after(), Some(5));
    assert!(outage.web.token_requests().is_empty(), "no refresh from a state it could not read");
    // Starting a host-chosen key it can't check the owner of is refused the same way, never
    // taken as a new session.
    let err = block_on(sealed(&outage).start_session(
        &other_user(),
        SessionKey::Key(session.key.clone()),
        &request,
    ))
    .unwrap_err();
    assert_eq!(err.code(), "store_unavailable");
    assert!(outage.web.token_requests().is_empty());
}
