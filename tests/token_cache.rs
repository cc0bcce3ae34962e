//! The token cache: hits and misses in memory and in the store, the expiry margin, background
//! refresh, single flight, a failing store, sealing at rest and tamper detection.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{KeyValueStore, MemoryStore};
use edge_identity::{AcquisitionOptions, TokenAcquirer, TokenRequest};
use edge_identity::{SealSecret, Secret};
use futures::executor::block_on;
use futures::future::join_all;
use serde_json::json;
use support::acquisition::*;
use support::*;

const PARTNER: &str = "api://partner/read";
const CACHE_KEY_SECRET: &str = "0123456789abcdef0123456789abcdef-seal";

/// The token endpoint's 429 with `Retry-After: retry_after` and `body`.
fn too_many_requests(retry_after: &str, body: &[u8]) -> Answer {
    Ok(http::Response::builder()
        .status(429)
        .header("retry-after", retry_after)
        .body(body.to_vec())
        .unwrap())
}

fn request() -> TokenRequest {
    TokenRequest::new([PARTNER])
}

fn with_store() -> (Isolate, Rc<MemoryStore>) {
    let store = rc(MemoryStore::new());
    (Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone())), store)
}

/// A new isolate on `store` and `web`, sealing with `secret`, and its acquirer.
fn sealed_acquirer(iso: &Isolate, store: &Rc<MemoryStore>, secret: &str) -> TokenAcquirer {
    let options = AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap();
    let isolate = Isolate::sealed_with(iso.web.clone(), iso.clock.clone(), store.clone(), secret);
    TokenAcquirer::new(isolate.platform.clone(), options)
}

#[test]
fn a_second_request_is_served_from_memory_without_a_provider_call() {
    let (iso, _) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    let first = block_on(acquirer.token_for_user(&user, &request())).unwrap();
    let second = block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!((first.secret(), second.secret()), ("at-1", "at-1"));
    assert!(!first.from_cache() && second.from_cache());
    assert_eq!(iso.web.token_requests().len(), 1);
    let stats = acquirer.stats();
    assert_eq!((stats.cache.l1_hits, stats.cache.l2_writes, stats.token_requests), (1, 1, 1));
}

#[test]
fn a_cold_isolate_is_served_from_the_store_without_a_provider_call() {
    let (iso, store) = with_store();
    let user = user();
    block_on(iso.acquirer(&config(json!({}), json!({}))).token_for_user(&user, &request()))
        .unwrap();

    let web = ScriptedWeb::new();
    let cold = Isolate::new(web.clone(), iso.clock.clone(), Some(store.clone()));
    let acquirer = cold.acquirer(&config(json!({}), json!({})));
    let token = block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!(token.secret(), "at-1");
    assert_eq!(web.token_requests().len(), 0);
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    let stats = acquirer.stats().cache;
    assert_eq!((stats.l2_hits, stats.l1_hits, stats.l2_reads), (1, 1, 1), "the store fills memory");
}

#[test]
fn the_store_entry_lives_for_the_token_lifetime_minus_the_margin_and_never_shows_the_token() {
    let (iso, store) = with_store();
    let user = user();
    block_on(iso.acquirer(&config(json!({}), json!({}))).token_for_user(&user, &request()))
        .unwrap();
    let keys = store.keys();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].starts_with("edge-identity/v1/token/user/"));
    assert!(!keys[0].contains(user.token().expose()) && !keys[0].contains("partner"));
    let (_, ttl) = store.entry(&keys[0]).unwrap();
    assert_eq!(ttl, Duration::from_secs(3600 - 300));
}

#[test]
fn one_token_asking_for_two_apis_and_two_users_asking_for_one_get_separate_entries() {
    let (iso, store) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let (alice, bob) = (user(), other_user());
    let a1 = block_on(acquirer.token_for_user(&alice, &request())).unwrap();
    let a2 = block_on(acquirer.token_for_user(&alice, &TokenRequest::new(["api://other/read"])))
        .unwrap();
    let b1 = block_on(acquirer.token_for_user(&bob, &request())).unwrap();
    assert_eq!((a1.secret(), a2.secret(), b1.secret()), ("at-1", "at-2", "at-3"));
    assert_eq!(store.keys().len(), 3);
    let forms: Vec<_> =
        iso.web.token_requests().iter().map(|s| s.form()["assertion"].clone()).collect();
    assert_eq!(forms, [alice.token().expose(), alice.token().expose(), bob.token().expose()]);
}

#[test]
fn a_token_is_not_served_once_only_the_margin_is_left() {
    let (iso, _) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(3600 - 301));
    assert!(block_on(acquirer.token_for_user(&user, &request())).unwrap().from_cache());
    iso.clock.advance(Duration::from_secs(2));
    let fresh = block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!((fresh.secret(), fresh.from_cache()), ("at-2", false));
}

#[test]
fn refresh_in_serves_the_cached_token_and_refreshes_it_in_the_background() {
    let (iso, _) = with_store();
    iso.web.refresh_in.set(Some(1800));
    let deferred = rc(Deferred::default());
    let acquirer = iso.acquirer(&config(json!({}), json!({}))).with_background(deferred.clone());
    let user = user();
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(1799));
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!(deferred.pending(), 0, "not before refresh_in");

    iso.clock.advance(Duration::from_secs(2));
    let req = request();
    let served = join_all((0..5).map(|_| acquirer.token_for_user(&user, &req)));
    for token in block_on(served) {
        assert_eq!(token.unwrap().secret(), "at-1", "the user does not wait for the refresh");
    }
    assert_eq!(deferred.pending(), 1, "one refresh is scheduled per token");
    deferred.run_all();
    assert_eq!(iso.web.token_requests().len(), 2);
    let next = block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!((next.secret(), next.from_cache()), ("at-2", true));
}

#[test]
fn without_background_work_the_token_is_served_until_the_margin_then_replaced_inline() {
    let (iso, _) = with_store();
    iso.web.refresh_in.set(Some(600));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(3000));
    assert!(block_on(acquirer.token_for_user(&user, &request())).unwrap().from_cache());
    assert_eq!((iso.web.token_requests().len(), acquirer.stats().background_refreshes), (1, 0));
    iso.clock.advance(Duration::from_secs(400));
    assert_eq!(block_on(acquirer.token_for_user(&user, &request())).unwrap().secret(), "at-2");
}

#[test]
fn the_last_quarter_of_a_tokens_life_triggers_a_background_refresh_without_refresh_in() {
    let (iso, _) = with_store();
    let deferred = rc(Deferred::default());
    let acquirer = iso.acquirer(&config(json!({}), json!({}))).with_background(deferred.clone());
    let user = user();
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(2699));
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!(deferred.pending(), 0);
    iso.clock.advance(Duration::from_secs(2));
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!(deferred.pending(), 1);
}

#[test]
fn fifty_concurrent_requests_for_one_token_make_one_provider_call() {
    let (iso, _) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    let req = request();
    let all = block_on(join_all((0..50).map(|_| acquirer.token_for_user(&user, &req))));
    assert!(all.iter().all(|t| t.as_ref().unwrap().secret() == "at-1"));
    assert_eq!(iso.web.token_requests().len(), 1);

    let err_iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    err_iso.web.latency_polls.set(100);
    err_iso.web.queue(
        &token_endpoint(TENANT),
        json_answer(400, json!({"error": "invalid_grant", "error_codes": [65001]})),
    );
    let acquirer = err_iso.acquirer(&config(json!({}), json!({})));
    let all = block_on(join_all((0..20).map(|_| acquirer.token_for_user(&user, &req))));
    let codes: Vec<_> = all
        .iter()
        .map(|r| r.as_ref().map(|t| t.secret().to_owned()).map_err(|e| e.code()))
        .collect();
    assert!(
        codes.iter().all(|r| *r == Err("consent_required")),
        "{codes:?} {}",
        err_iso.web.token_requests().len()
    );
    assert_eq!(err_iso.web.token_requests().len(), 1, "waiters share the failure too");
}

#[test]
fn a_failing_store_never_fails_a_request_and_is_logged_once_per_outage() {
    let store: Rc<dyn KeyValueStore> = rc(FailingStore);
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    for user in [user(), other_user()] {
        for _ in 0..3 {
            block_on(acquirer.token_for_user(&user, &request())).unwrap();
        }
    }
    assert_eq!(iso.web.token_requests().len(), 2, "memory still serves");
    let stats = acquirer.stats().cache;
    assert!(stats.l2_errors >= 4, "{stats:?}");
    let lines = iso.lines.0.borrow();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("token cache store failed"));
}

#[test]
fn sealed_entries_hide_the_token_and_open_only_with_the_same_secret() {
    let (iso, store) = with_store();
    let user = user();
    block_on(sealed_acquirer(&iso, &store, CACHE_KEY_SECRET).token_for_user(&user, &request()))
        .unwrap();
    let key = store.keys()[0].clone();
    let (value, _) = store.entry(&key).unwrap();
    assert!(value.starts_with(b"EI3s"));
    assert!(!value.windows(4).any(|w| w == b"at-1"), "the token is not in clear");

    let same = sealed_acquirer(&iso, &store, CACHE_KEY_SECRET);
    assert_eq!(block_on(same.token_for_user(&user, &request())).unwrap().secret(), "at-1");
    assert_eq!(iso.web.token_requests().len(), 1);

    let other = sealed_acquirer(&iso, &store, "another-secret-of-at-least-32-characters");
    assert_eq!(block_on(other.token_for_user(&user, &request())).unwrap().secret(), "at-2");
    // Another secret's value may be another version's during a rotation: a miss, not deleted
    // as a forgery would be, and replaced by this version's next write.
    assert_eq!(other.stats().cache.l2_rejected, 0);
    assert_ne!(store.entry(&key).unwrap().0, value, "the unreadable entry was replaced");
}

#[test]
fn tampered_planted_swapped_and_corrupt_store_values_are_misses_and_get_replaced() {
    let user = user();
    type Mangle = fn(&MemoryStore, &str, Vec<u8>);
    let cases: [(&str, Mangle); 5] = [
        ("one flipped bit", |s, k, mut v| {
            let last = v.len() - 1;
            v[last] ^= 1;
            s.overwrite(k, v);
        }),
        ("a planted clear record (what a namespace writer could put there)", |s, k, _| {
            s.overwrite(
                k,
                br#"{"at":"planted","exp":99999999999999,"ref":99999999999999}"#.to_vec(),
            )
        }),
        ("a planted record in the previous clear frame", |s, k, _| {
            s.overwrite(
                k,
                br#"EI1p{"at":"planted","exp":99999999999999,"ref":99999999999999}"#.to_vec(),
            )
        }),
        ("garbage", |s, k, _| s.overwrite(k, b"\x00\xffnot a cache entry".to_vec())),
        ("truncated", |s, k, v| s.overwrite(k, v[..v.len() / 2].to_vec())),
    ];
    for (what, mangle) in cases {
        let (iso, store) = with_store();
        block_on(sealed_acquirer(&iso, &store, CACHE_KEY_SECRET).token_for_user(&user, &request()))
            .unwrap();
        let key = store.keys()[0].clone();
        mangle(&store, &key, store.entry(&key).unwrap().0);
        let cold = sealed_acquirer(&iso, &store, CACHE_KEY_SECRET);
        let token = block_on(cold.token_for_user(&user, &request())).unwrap();
        assert_eq!(token.secret(), "at-2", "{what}: a miss, not the stored value");
        assert!(store.entry(&key).unwrap().0.starts_with(b"EI3s"), "{what}: replaced");
    }

    // A sealed value copied under another key does not open (the key is the associated data).
    let (iso, store) = with_store();
    let acquirer = sealed_acquirer(&iso, &store, CACHE_KEY_SECRET);
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    block_on(acquirer.token_for_user(&other_user(), &request())).unwrap();
    let keys = store.keys();
    store.overwrite(&keys[1], store.entry(&keys[0]).unwrap().0);
    let cold = sealed_acquirer(&iso, &store, CACHE_KEY_SECRET);
    let mut results = Vec::new();
    for u in [user.clone(), other_user()] {
        results.push(block_on(cold.token_for_user(&u, &request())).unwrap().from_cache());
    }
    assert_eq!(results.iter().filter(|hit| !**hit).count(), 1, "the swapped entry is refused");
}

#[test]
fn without_a_seal_secret_nothing_is_shared_and_that_is_logged_once() {
    let store = rc(MemoryStore::new());
    let web = ScriptedWeb::new();
    let clock = rc(ManualClock::at_secs(T0));
    let lines = Rc::new(Lines::default());
    let platform = edge_identity::Platform::new(web.clone(), Rc::new(RustCrypto), clock)
        .with_logger(lines.clone())
        .with_store(store.clone(), None);
    assert!(platform.store.is_none());
    let acquirer = TokenAcquirer::from_config(platform, &config(json!({}), json!({}))).unwrap();
    block_on(acquirer.token_for_user(&user(), &request())).unwrap();
    block_on(acquirer.token_for_user(&user(), &request())).unwrap();
    assert!(store.keys().is_empty(), "no token reached the store");
    assert_eq!(web.token_requests().len(), 1, "memory still serves the isolate");
    assert_eq!(lines.0.borrow().len(), 1);
    assert!(lines.0.borrow()[0].contains("TOKEN_CACHE_KEY"));
}

#[test]
fn a_short_seal_secret_is_refused_naming_the_secret() {
    let err = SealSecret::new(Secret::new("short"), "TOKEN_CACHE_KEY").unwrap_err();
    assert_eq!(err.field, "TOKEN_CACHE_KEY");
    assert!(!err.to_string().contains("short\""));
}

#[test]
fn isolate_memory_is_bounded_by_entries() {
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    let acquirer = iso.acquirer(&config(json!({}), json!({"TokenCache": {"MaxEntries": 2}})));
    let user = user();
    for scope in ["a", "b", "c"] {
        block_on(acquirer.token_for_user(&user, &TokenRequest::new([scope]))).unwrap();
    }
    assert_eq!(acquirer.stats().cache.l1_entries, 2);
    block_on(acquirer.token_for_user(&user, &TokenRequest::new(["a"]))).unwrap();
    assert_eq!(iso.web.token_requests().len(), 4, "the least recently used entry was evicted");
}

#[test]
fn app_tokens_are_cached_by_client_authority_and_scopes() {
    let (iso, _) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let graph = TokenRequest::new(["https://graph.microsoft.com/.default"]);
    block_on(acquirer.token_for_app(&graph)).unwrap();
    assert!(block_on(acquirer.token_for_app(&graph)).unwrap().from_cache());
    assert!(!block_on(acquirer.token_for_app(&TokenRequest::new(["x/.default"])))
        .unwrap()
        .from_cache());
    assert_eq!(iso.web.token_requests().len(), 2);
}

fn polling_isolate() -> Isolate {
    let mut iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    iso.platform = iso.platform.clone().with_join_poll_interval(Duration::from_millis(10));
    iso.web.latency_polls.set(30);
    iso
}

#[test]
fn joiners_that_poll_on_their_own_timer_still_share_one_provider_call() {
    let iso = polling_isolate();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let (user, req) = (user(), request());
    let all = block_on(join_all((0..20).map(|_| acquirer.token_for_user(&user, &req))));
    assert!(all.iter().all(|t| t.as_ref().unwrap().secret() == "at-1"));
    assert_eq!(iso.web.token_requests().len(), 1);
}

#[test]
fn a_polling_joiner_takes_over_when_the_request_that_started_the_work_goes_away() {
    let iso = polling_isolate();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let (user, req) = (user(), request());
    let token = block_on(async {
        let mut owner = Box::pin(acquirer.token_for_user(&user, &req));
        let mut joiner = Box::pin(acquirer.token_for_user(&user, &req));
        assert!(futures::poll!(owner.as_mut()).is_pending());
        assert!(futures::poll!(joiner.as_mut()).is_pending());
        drop(owner); // the owning request was cancelled mid-flight
        joiner.await
    });
    // The abandoned request reached the provider but was never answered; the joiner sent its own.
    assert_eq!(iso.web.token_requests().len(), 2);
    assert_eq!(token.unwrap().secret(), "at-1", "the only token minted");
}

#[test]
fn a_burst_of_first_requests_for_one_token_reads_the_store_once() {
    let (iso, _) = with_store();
    iso.web.latency_polls.set(30);
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let (user, req) = (user(), request());
    let all = block_on(join_all((0..25).map(|_| acquirer.token_for_user(&user, &req))));
    assert!(all.iter().all(|t| t.as_ref().unwrap().secret() == "at-1"));
    let stats = acquirer.stats();
    assert_eq!((stats.token_requests, stats.cache.l2_reads, stats.cache.l2_writes), (1, 1, 1));
}

#[test]
fn a_token_living_less_than_the_margin_is_still_served_for_part_of_its_life() {
    // Keycloak's default access-token lifetime is 300 s: under a 300 s margin it would never be
    // served from the cache. The margin is capped at a quarter of the lifetime instead.
    let (iso, _) = with_store();
    iso.web.expires_in.set(300);
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(224));
    assert!(block_on(acquirer.token_for_user(&user, &request())).unwrap().from_cache());
    iso.clock.advance(Duration::from_secs(2));
    let fresh = block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!((fresh.secret(), fresh.from_cache()), ("at-2", false));
    // A long-lived token keeps the configured margin.
    iso.web.expires_in.set(3600);
    let other = other_user();
    block_on(acquirer.token_for_user(&other, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(3600 - 299));
    assert!(!block_on(acquirer.token_for_user(&other, &request())).unwrap().from_cache());
}

#[test]
fn a_throttled_provider_is_not_asked_again_until_its_retry_after() {
    let (iso, _) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    let throttled = || {
        Ok(http::Response::builder()
            .status(429)
            .header("retry-after", "30")
            .header("content-type", "application/json")
            .body(br#"{"error":"temporarily_unavailable","error_codes":[50196]}"#.to_vec())
            .unwrap())
    };
    // (A Retry-After longer than the request's budget is not waited for within the request.)
    iso.web.queue(&token_endpoint(TENANT), throttled());
    let err = block_on(acquirer.token_for_user(&user, &request())).unwrap_err();
    assert_eq!(err.status(), 503);
    let asked = iso.web.token_requests().len();
    for _ in 0..20 {
        let err = block_on(acquirer.token_for_user(&user, &request())).unwrap_err();
        assert_eq!(err.status(), 503);
        assert!(err.retry_after().is_some_and(|s| s <= 30), "{err:?}");
        iso.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(iso.web.token_requests().len(), asked, "not asked again within Retry-After");
    iso.clock.advance(Duration::from_secs(10));
    assert!(block_on(acquirer.token_for_user(&user, &request())).is_ok());
    assert_eq!(iso.web.token_requests().len(), asked + 1);
}

/// A Spin host may run any request in a new instance (Spin 3 ran every one so; Spin 4 reuses
/// instances but may still start one), so memory forgets a `Retry-After` before the next
/// request. Each "request" below is a new isolate on the same store, web and clock, as Spin's are.
fn request_scoped(iso: &Isolate, store: &Rc<MemoryStore>) -> TokenAcquirer {
    let options = AcquisitionOptions::from_config(&config(json!({}), json!({}))).unwrap();
    let isolate =
        Isolate::sealed_with(iso.web.clone(), iso.clock.clone(), store.clone(), CACHE_KEY_SECRET);
    TokenAcquirer::new(isolate.platform.clone().with_memory_per_request(), options)
}

#[test]
fn where_memory_lasts_one_request_a_retry_after_is_honoured_by_the_next_requests() {
    let (iso, store) = with_store();
    let user = user();
    iso.web.queue(
        &token_endpoint(TENANT),
        too_many_requests("30", br#"{"error":"temporarily_unavailable","error_codes":[50196]}"#),
    );
    let err = block_on(request_scoped(&iso, &store).token_for_user(&user, &request())).unwrap_err();
    assert_eq!(err.status(), 503);
    let asked = iso.web.token_requests().len();
    for _ in 0..10 {
        iso.clock.advance(Duration::from_secs(2));
        let err =
            block_on(request_scoped(&iso, &store).token_for_user(&user, &request())).unwrap_err();
        assert_eq!(err.status(), 503, "{err:?}");
        assert!(err.retry_after().is_some_and(|s| (1..=30).contains(&s)), "{err:?}");
    }
    assert_eq!(iso.web.token_requests().len(), asked, "no new instance asked within Retry-After");
    iso.clock.advance(Duration::from_secs(11));
    assert!(block_on(request_scoped(&iso, &store).token_for_user(&user, &request())).is_ok());
    assert_eq!(iso.web.token_requests().len(), asked + 1);
}

#[test]
fn a_shared_back_off_lasts_no_longer_than_the_longest_retry_after_the_sdk_honours() {
    // A provider asking for a year (by mistake or malice) is honoured for MAX_RETRY_AFTER
    // (300 s) by every later instance, then asked again.
    let (iso, store) = with_store();
    let user = user();
    iso.web.queue(&token_endpoint(TENANT), too_many_requests("31536000", b"{}"));
    let _ = block_on(request_scoped(&iso, &store).token_for_user(&user, &request()));
    let asked = iso.web.token_requests().len();
    iso.clock.advance(Duration::from_secs(299));
    assert!(block_on(request_scoped(&iso, &store).token_for_user(&user, &request())).is_err());
    assert_eq!(iso.web.token_requests().len(), asked, "honoured for 300 s");
    iso.clock.advance(Duration::from_secs(2));
    assert!(block_on(request_scoped(&iso, &store).token_for_user(&user, &request())).is_ok());
    assert_eq!(iso.web.token_requests().len(), asked + 1, "and not a second more");
}

#[test]
fn where_memory_outlives_requests_the_back_off_costs_no_store_operation() {
    // Workers: the isolate remembers the back-off; the store is neither read nor written for it.
    let (iso, store) = with_store();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    iso.web.queue(&token_endpoint(TENANT), too_many_requests("30", b"{}"));
    let _ = block_on(acquirer.token_for_user(&user(), &request()));
    let stats = acquirer.stats().cache;
    let _ = block_on(acquirer.token_for_user(&user(), &request()));
    assert!(!store.keys().iter().any(|k| k.contains("/backoff/")), "no back-off record written");
    assert_eq!(acquirer.stats().cache.l2_reads, stats.l2_reads + 1, "only the token is looked up");
}

#[test]
fn a_failed_background_refresh_backs_off_instead_of_retrying_on_every_request() {
    let (iso, _) = with_store();
    let deferred = rc(Deferred::default());
    let acquirer = iso.acquirer(&config(json!({}), json!({}))).with_background(deferred.clone());
    let user = user();
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    iso.clock.advance(Duration::from_secs(2701));
    iso.web.queue(&token_endpoint(TENANT), too_many_requests("120", b"{}"));
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!(deferred.pending(), 1);
    deferred.run_all();
    let asked = iso.web.token_requests().len();
    for _ in 0..10 {
        let served = block_on(acquirer.token_for_user(&user, &request())).unwrap();
        assert_eq!(served.secret(), "at-1", "the cached token is still served");
        iso.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(deferred.pending(), 0, "no refresh is scheduled while the provider said wait");
    assert_eq!(iso.web.token_requests().len(), asked);
    iso.clock.advance(Duration::from_secs(80));
    block_on(acquirer.token_for_user(&user, &request())).unwrap();
    assert_eq!(deferred.pending(), 1, "after Retry-After, one refresh again");
}
