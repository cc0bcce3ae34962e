//! What a deployment pays in key-value operations (issue 13, item 5): the store operations of
//! one request (validate the caller's token, then an On-Behalf-Of token for a downstream API)
//! in each scenario the README's cost table names. Workers KV bills every read and write, and a
//! free plan has 1,000 writes a day, so a warm isolate's request must do none.
//!
//! Shapes: Entra's discovery and key-set paths and a v2.0 delegated access token
//! (`tests/support`), the token endpoint's answers as Entra's OBO response documents them
//! (`expires_in` 3600, a refresh token), and a store that counts every call it gets.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::{KeyValueStore, LocalFuture, MemoryStore, StoreError};
use edge_identity::{TokenAcquirer, TokenRequest, TokenValidator};
use futures::executor::block_on;
use serde_json::json;
use support::acquisition::*;
use support::signing::TestSigner;
use support::*;

/// A shared store (one KV namespace) that counts what it is asked.
#[derive(Default)]
struct CountingStore {
    inner: MemoryStore,
    reads: Cell<usize>,
    writes: Cell<usize>,
}

impl CountingStore {
    /// (reads, writes) since the last call.
    fn take(&self) -> (usize, usize) {
        (self.reads.replace(0), self.writes.replace(0))
    }
}

impl KeyValueStore for CountingStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        self.writes.set(self.writes.get() + 1);
        self.inner.put(key, value, ttl)
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        self.writes.set(self.writes.get() + 1);
        self.inner.delete(key)
    }
}

/// One isolate of the API: its validator and acquirer over the shared store.
struct Worker {
    validator: TokenValidator,
    acquirer: TokenAcquirer,
    deferred: Rc<Deferred>,
}

fn isolate(web: &Rc<ScriptedWeb>, clock: &Rc<ManualClock>, store: &Rc<CountingStore>) -> Worker {
    let shared: Rc<dyn KeyValueStore> = store.clone();
    let isolate = Isolate::new(web.clone(), clock.clone(), Some(shared));
    let config = config(json!({}), json!({}));
    let validator =
        TokenValidator::from_config(&config.azure_ad, isolate.platform.clone()).unwrap();
    let deferred = rc(Deferred::default());
    let acquirer = isolate.acquirer(&config).with_background(deferred.clone());
    Worker { validator, acquirer, deferred }
}

/// The Entra tenant's discovery document and key set, as the scripted web serves them.
fn entra_web() -> Rc<ScriptedWeb> {
    let web = ScriptedWeb::new();
    let discovery = json!({
        "issuer": v2_issuer(TENANT),
        "jwks_uri": jwks_url(TENANT),
        "token_endpoint": token_endpoint(TENANT),
    });
    web.route(&metadata_url(TENANT), move |_| json_answer(200, discovery.clone()));
    web.route(&jwks_url(TENANT), |_| {
        json_answer(200, json!({"keys": [TestSigner::Rsa.public_jwk("rsa")]}))
    });
    web
}

fn user_token(oid: &str, issued_at: u64) -> String {
    TestSigner::Rsa.sign("rsa", &with(entra_claims(issued_at), json!({ "oid": oid })))
}

/// One request: validate, then the OBO token for the downstream API.
fn request(worker: &Worker, token: &str) {
    let caller = block_on(worker.validator.validate(token)).unwrap();
    block_on(
        worker.acquirer.token_for_user(&caller, &TokenRequest::new(["api://downstream/.default"])),
    )
    .unwrap();
}

#[test]
fn a_warm_isolate_request_does_no_store_operation() {
    let (web, clock, store) =
        (entra_web(), rc(ManualClock::at_secs(T0)), rc(CountingStore::default()));
    let worker = isolate(&web, &clock, &store);
    let ada = user_token("a1b2c3d4-0000-4000-8000-0000000000a1", T0);
    request(&worker, &ada);
    store.take();
    for _ in 0..10 {
        request(&worker, &ada);
    }
    assert_eq!(store.take(), (0, 0), "validation and the OBO token came from isolate memory");
}

#[test]
fn each_scenario_costs_what_the_readme_says() {
    let (web, clock, store) =
        (entra_web(), rc(ManualClock::at_secs(T0)), rc(CountingStore::default()));
    let first = isolate(&web, &clock, &store);

    // Cold: the first isolate, the first user: key set (read miss, write) + token (read miss, write).
    let ada = user_token("a1b2c3d4-0000-4000-8000-0000000000a1", T0);
    request(&first, &ada);
    assert_eq!(store.take(), (2, 2), "cold isolate, new user");

    // A new user on a warm isolate: the OBO token only.
    let bob = user_token("a1b2c3d4-0000-4000-8000-0000000000b2", T0);
    request(&first, &bob);
    assert_eq!(store.take(), (1, 1), "warm isolate, new user");

    // Another isolate (a burst spreads over several): both come from the store, nothing is written.
    let second = isolate(&web, &clock, &store);
    request(&second, &ada);
    assert_eq!(store.take(), (2, 0), "cold isolate, known user");
    request(&second, &ada);
    assert_eq!(store.take(), (0, 0), "then warm");

    // Per user per hour. The OBO token (1 h) is served until its last quarter, then refreshed
    // once after the response: one write, no read.
    clock.advance(Duration::from_secs(46 * 60));
    request(&first, &ada);
    assert_eq!(first.deferred.pending(), 1);
    first.deferred.run_all();
    assert_eq!(store.take(), (0, 1), "a background refresh writes the new token");
    // The client renews the user's own token about hourly; the OBO cache is keyed by it, so a
    // renewed token is a new OBO token: one read (miss) and one write.
    let ada_renewed = user_token("a1b2c3d4-0000-4000-8000-0000000000a1", T0 + 46 * 60);
    request(&first, &ada_renewed);
    assert_eq!(store.take(), (1, 1), "a renewed incoming token");
    request(&first, &ada_renewed);
    assert_eq!(store.take(), (0, 0));
}
