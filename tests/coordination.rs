//! The SDK's side of the coordinator seam, natively: what acquisition and sessions do with a
//! [`Coordinator`] (a token another isolate is acquiring is taken from its hand-over, a session's
//! owner, end and rotated refresh token are the coordinator's), and what they do when it fails.
//! The coordinator here is a test double with the semantics of the SDK's Durable Object (versions
//! that only grow, a compare-and-swap, one lease holder at a time); the object itself, and two
//! real isolates on it, are tested in workerd (`tests/workerd/adapters.test.mjs`,
//! `tests/e2e/coordinator.test.mjs`).
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::{Coordinator, LocalFuture, MemoryStore, StoreError, Versioned};
use edge_identity::{AcquisitionOptions, SessionKey, TokenAcquirer, TokenRequest};
use futures::executor::block_on;
use serde_json::json;
use support::acquisition::*;
use support::*;

const PARTNER: &str = "api://partner/read";
const SEAL: &str = "a-coordination-sealing-secret-of-32-chars";

/// The Durable Object's semantics in memory (no expiry: the tests run within lifetimes).
#[derive(Default)]
struct MemoryCoordinator {
    values: RefCell<HashMap<String, (u64, Vec<u8>)>>,
    leases: RefCell<HashMap<String, String>>,
}

impl Coordinator for MemoryCoordinator {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Versioned, StoreError>> {
        let found = self.values.borrow().get(key).cloned();
        Box::pin(async move {
            Ok(match found {
                Some((version, value)) => Versioned { version, value: Some(value), written: true },
                None => Versioned { written: true, ..Versioned::default() },
            })
        })
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        expect: u64,
        value: Vec<u8>,
        _: Duration,
    ) -> LocalFuture<'a, Result<Versioned, StoreError>> {
        let mut values = self.values.borrow_mut();
        let current = values.get(key).cloned();
        let version = current.as_ref().map_or(0, |(v, _)| *v);
        let answer = if version == expect {
            values.insert(key.to_owned(), (version + 1, value));
            Versioned { version: version + 1, value: None, written: true }
        } else {
            Versioned { version, value: current.map(|(_, v)| v), written: false }
        };
        Box::pin(async move { Ok(answer) })
    }
    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        _: Duration,
    ) -> LocalFuture<'a, Result<bool, StoreError>> {
        let mut leases = self.leases.borrow_mut();
        let free = leases.get(key).is_none_or(|h| h == holder);
        if free {
            leases.insert(key.to_owned(), holder.to_owned());
        }
        Box::pin(async move { Ok(free) })
    }
    fn release<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        let mut leases = self.leases.borrow_mut();
        if leases.get(key).is_some_and(|h| h == holder) {
            leases.remove(key);
        }
        Box::pin(async { Ok(()) })
    }
}

/// A coordinator that fails every call, or never answers one.
struct Broken {
    hangs: bool,
}

impl Broken {
    fn answer<'a, T: 'a>(&self) -> LocalFuture<'a, Result<T, StoreError>> {
        if self.hangs {
            Box::pin(futures::future::pending())
        } else {
            Box::pin(async { Err(StoreError("down".into())) })
        }
    }
}

impl Coordinator for Broken {
    fn get<'a>(&'a self, _: &'a str) -> LocalFuture<'a, Result<Versioned, StoreError>> {
        self.answer()
    }
    fn put<'a>(
        &'a self,
        _: &'a str,
        _: u64,
        _: Vec<u8>,
        _: Duration,
    ) -> LocalFuture<'a, Result<Versioned, StoreError>> {
        self.answer()
    }
    fn lease<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Duration,
    ) -> LocalFuture<'a, Result<bool, StoreError>> {
        self.answer()
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        self.answer()
    }
}

/// An isolate: its own memory and its own KV view (as if KV had not carried the other's writes
/// yet), the shared provider and clock, and `coordinator`.
fn isolate(
    web: &Rc<ScriptedWeb>,
    clock: &Rc<ManualClock>,
    coordinator: Rc<dyn Coordinator>,
) -> TokenAcquirer {
    let iso = Isolate::sealed_with(web.clone(), clock.clone(), rc(MemoryStore::new()), SEAL);
    let options = AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap();
    TokenAcquirer::new(iso.platform.clone().with_coordinator(coordinator), options)
}

fn request() -> TokenRequest {
    TokenRequest::new([PARTNER])
}

#[test]
fn a_token_another_isolate_acquired_is_taken_from_the_coordinator_not_the_provider() {
    let (web, clock) = (ScriptedWeb::new(), rc(ManualClock::at_secs(T0)));
    let coordinator = rc(MemoryCoordinator::default());
    let user = user();
    let first =
        block_on(isolate(&web, &clock, coordinator.clone()).token_for_user(&user, &request()))
            .unwrap();
    assert_eq!(web.token_requests().len(), 1);
    // Another isolate whose KV has not seen the token yet: served by the hand-over.
    let second =
        block_on(isolate(&web, &clock, coordinator.clone()).token_for_user(&user, &request()))
            .unwrap();
    assert_eq!(second.secret(), first.secret());
    assert_eq!(web.token_requests().len(), 1, "one provider call for both isolates");
    assert!(coordinator.leases.borrow().is_empty(), "the lease was given back");
}

#[test]
fn a_session_is_owned_ended_and_refreshed_by_the_coordinators_record_in_every_isolate() {
    let (web, clock) = (ScriptedWeb::new(), rc(ManualClock::at_secs(T0)));
    let coordinator = rc(MemoryCoordinator::default());
    let (a, b) =
        (isolate(&web, &clock, coordinator.clone()), isolate(&web, &clock, coordinator.clone()));
    let (owner, intruder) = (user(), other_user());
    block_on(a.start_session(&owner, SessionKey::Key("job-1".into()), &request())).unwrap();
    // Another user can't take the key in another isolate.
    let err = block_on(b.start_session(&intruder, SessionKey::Key("job-1".into()), &request()))
        .unwrap_err();
    assert_eq!(err.code(), "session_not_found");
    // Two hours on, b refreshes with the refresh token a was given; a then refreshes with the
    // one b was given (rotated, kept in the coordinator).
    clock.advance(Duration::from_secs(2 * 3600));
    block_on(b.token_for_session(&owner, "job-1", &request())).unwrap();
    assert_eq!(web.token_requests().last().unwrap().form()["refresh_token"], "rt-1");
    clock.advance(Duration::from_secs(2 * 3600));
    block_on(a.token_for_session(&owner, "job-1", &request())).unwrap();
    assert_eq!(web.token_requests().last().unwrap().form()["refresh_token"], "rt-2");
    // Ended through a: b, which holds the session's token in memory, refuses at once.
    block_on(a.end_session(&owner, "job-1")).unwrap();
    let err = block_on(b.token_for_session(&owner, "job-1", &request())).unwrap_err();
    assert_eq!(err.code(), "session_not_found");
    // And the key is never started again.
    let err =
        block_on(b.start_session(&owner, SessionKey::Key("job-1".into()), &request())).unwrap_err();
    assert_eq!(err.code(), "session_not_found");
}

#[test]
fn a_failing_or_hanging_coordinator_serves_tokens_per_isolate_and_answers_sessions_503() {
    for hangs in [false, true] {
        let (web, clock) = (ScriptedWeb::new(), rc(ManualClock::at_secs(T0)));
        let broken: Rc<dyn Coordinator> = rc(Broken { hangs });
        let acquirer = isolate(&web, &clock, broken.clone());
        assert!(block_on(acquirer.token_for_user(&user(), &request())).is_ok(), "hangs: {hangs}");
        let err =
            block_on(acquirer.start_session(&user(), SessionKey::Key("j".into()), &request()))
                .unwrap_err();
        assert_eq!(
            (err.code(), err.status().as_u16()),
            ("store_unavailable", 503),
            "hangs: {hangs}"
        );
        // Nor is a session "ended" that could not be: the caller hears it and ends it again.
        let err = block_on(acquirer.end_session(&user(), "j")).unwrap_err();
        assert_eq!(err.code(), "store_unavailable", "hangs: {hangs}");
    }
}
