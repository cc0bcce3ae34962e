//! Structured events (issue 23) at the HTTP seam: one JSON line per decision with the request's
//! correlation id and durations, the W3C trace continued downstream and `client-request-id`
//! sent to Entra, nothing built when off, and no token, secret or `oid` in any line (every
//! credential of the run searched for in every line, the held-out check).
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use edge_identity::{HostSettings, Requirement, WebApi};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::acquisition::*;
use support::signing::TestSigner;
use support::*;

// W3C Trace Context §3.2's example header.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn api(iso: &Isolate, events: Value) -> WebApi {
    profile_web_api(iso, json!({"Events": events}))
}

fn request(token: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut builder = http::Request::get("https://api.example/me")
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn events(iso: &Isolate) -> Vec<Value> {
    iso.lines.1.borrow().iter().map(|line| serde_json::from_str(line).unwrap()).collect()
}

fn isolate() -> Isolate {
    Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None)
}

#[test]
fn a_users_request_is_one_line_per_decision_under_its_callers_trace() {
    let iso = isolate();
    let api = api(&iso, json!({"Level": "Info"}));
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let request = request(&token, &[("traceparent", TRACEPARENT)]);
    for _ in 0..2 {
        let caller =
            block_on(api.authorize(&request, Requirement::scope(&["access_as_user"]))).unwrap();
        assert_eq!(caller.correlation_id(), Some("4bf92f35-77b3-4da6-a3ce-929d0e0e4736"));
        block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
    }
    let lines = events(&iso);
    let names: Vec<&str> = lines.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "keys.fetched",
            "request.validated",
            "token.acquired",
            "downstream.call",
            "request.validated",
            "token.acquired",
            "downstream.call",
        ]
    );
    // The key set's fetch belongs to no request; every request's lines carry its trace.
    let lines: Vec<Value> = lines.into_iter().filter(|e| e["event"] != "keys.fetched").collect();
    for event in &lines {
        assert_eq!(event["correlation_id"], "4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "{event}");
        assert_eq!(event["source"], "edge-identity");
    }
    let validated = &lines[0];
    assert_eq!(validated["tid"], TENANT, "the allow-listed claim");
    assert_eq!(validated["scheme"], "Bearer");
    assert_eq!(validated["oid_hash"].as_str().map(str::len), Some(16));
    assert!(validated.get("oid").is_none() && validated.get("sub").is_none());
    assert!(validated["validation_ms"].is_u64());
    // The first sight is verified; the repeat comes from the verified-token cache (issue 22:
    // what the Spin reuse tests read from outside the component).
    assert_eq!(validated["verified_cache"], false);
    assert_eq!(lines[3]["verified_cache"], true, "the repeat token was taken from the cache");
    assert_eq!(
        (lines[1]["grant"].as_str(), lines[1]["tier"].as_str()),
        (Some("on_behalf_of"), Some("provider"))
    );
    assert_eq!(lines[4]["tier"], "memory", "the repeat request's token came from memory");
    assert_eq!(
        (lines[2]["api"].as_str(), lines[2]["status"].as_u64()),
        (Some("Profile"), Some(200))
    );

    // Downstream: the caller's trace continued as a new span; Entra: the correlation GUID.
    let seen = iso.web.seen.borrow();
    let call = seen.iter().find(|s| s.url.starts_with(PROFILE_API)).unwrap();
    let traceparent = call.headers["traceparent"].to_str().unwrap();
    assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{traceparent}");
    assert!(traceparent.ends_with("-01"));
    assert_ne!(traceparent, TRACEPARENT, "a new span of the caller's trace");
    let token_request = seen.iter().find(|s| s.url == token_endpoint(TENANT)).unwrap();
    assert_eq!(token_request.headers["client-request-id"], "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
}

#[test]
fn a_refused_request_is_a_warning_with_its_code_and_the_answer_carries_the_correlation_id() {
    let iso = isolate();
    let api = api(&iso, json!({"Level": "Warn"}));
    let expired = TestSigner::Rsa.sign("rsa", &with(entra_claims(T0), json!({"exp": T0 - 1000})));
    let guid = "8e6c3a2b-1f4d-4c7e-9a0b-2d3e4f5a6b7c";
    let refused =
        block_on(api.authorize(
            &request(&expired, &[("client-request-id", guid)]),
            Requirement::Authenticated,
        ))
        .unwrap_err();
    let body: Value = serde_json::from_slice(refused.to_response().body()).unwrap();
    assert_eq!(body["correlation_id"], guid);
    let lines = events(&iso);
    assert_eq!(lines.len(), 1, "Warn writes the refusal only");
    assert_eq!(lines[0]["event"], "request.refused");
    assert_eq!(lines[0]["level"], "warn");
    assert_eq!(lines[0]["code"], "token_expired");
    assert_eq!(lines[0]["status"], 401);
    assert_eq!(lines[0]["correlation_id"], guid);

    // A valid request under Warn: nothing.
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    block_on(api.authorize(&request(&token, &[]), Requirement::Authenticated)).unwrap();
    assert_eq!(events(&iso).len(), 1);
}

#[test]
fn a_route_requirement_refusing_a_valid_token_is_a_refusal_with_its_403_code() {
    // RFC 6750 §3.1: a token valid but short of the route's scope is `insufficient_scope`, 403.
    // The operator's "top refusal codes" (README, Operating it) count `request.refused` lines,
    // so this refusal has one too, after the token's own `request.validated`.
    let iso = isolate();
    let api = api(&iso, json!({"Level": "Info"}));
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let guid = "8e6c3a2b-1f4d-4c7e-9a0b-2d3e4f5a6b7c";
    let refused = block_on(api.authorize(
        &request(&token, &[("client-request-id", guid)]),
        Requirement::scope(&["Admin.All"]),
    ))
    .unwrap_err();
    assert_eq!(refused.to_response().status(), 403);
    let lines = events(&iso);
    let named: Vec<_> = lines.iter().map(|l| l["event"].as_str().unwrap_or_default()).collect();
    assert_eq!(named, ["keys.fetched", "request.validated", "request.refused"], "{lines:?}");
    let refusal = &lines[2];
    assert_eq!(refusal["code"], "insufficient_scope");
    assert_eq!(refusal["status"], 403);
    assert_eq!(refusal["scheme"], "Bearer");
    assert_eq!(refusal["correlation_id"], guid);
    assert_eq!(refusal["validation_ms"], lines[1]["validation_ms"], "the token's own validation");
}

#[test]
fn a_requirement_checked_after_authorize_is_refused_and_written_as_authorize_refuses() {
    // A route whose requirement depends on who called (a scope for users, an app role for a
    // scheduler: the Spin example's resume) lets the token in with `Authenticated` and checks
    // the rest with `WebApi::require`: its 403 is authorize's own, and is written and counted.
    let iso = isolate();
    let api = api(&iso, json!({"Level": "Info"}));
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let guid = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
    let req = request(&token, &[("client-request-id", guid)]);
    let caller = block_on(api.authorize(&req, Requirement::Authenticated)).unwrap();
    api.require(&req, &caller, Requirement::scope(&["access_as_user"])).unwrap();
    assert_eq!(events(&iso).len(), 2, "a requirement met writes nothing more");

    let refused = api.require(&req, &caller, Requirement::app_role(&["Jobs.Resume"])).unwrap_err();
    let direct = block_on(api.authorize(&req, Requirement::app_role(&["Jobs.Resume"])))
        .unwrap_err()
        .to_response();
    let answer = refused.to_response();
    assert_eq!(answer.status(), 403);
    assert_eq!(
        answer.headers().get("www-authenticate"),
        direct.headers().get("www-authenticate"),
        "the same challenge as authorize's"
    );
    let lines = events(&iso);
    let named: Vec<_> = lines.iter().map(|l| l["event"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        named,
        [
            "keys.fetched",
            "request.validated",
            "request.refused",
            "request.validated",
            "request.refused"
        ],
        "{lines:?}"
    );
    assert_eq!(lines[2]["code"], "insufficient_scope");
    assert_eq!(lines[2]["status"], 403);
    assert_eq!(lines[2]["correlation_id"], guid);
    let body: Value = serde_json::from_slice(answer.body()).unwrap();
    assert_eq!(body["correlation_id"], guid, "the refusal carries the request's id");
}

#[test]
fn off_writes_nothing_and_sends_no_trace_headers() {
    let iso = isolate();
    let api = api(&iso, json!({}));
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let caller =
        block_on(api.authorize(
            &request(&token, &[("traceparent", TRACEPARENT)]),
            Requirement::Authenticated,
        ))
        .unwrap();
    assert_eq!(caller.correlation_id(), None);
    block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
    assert!(iso.lines.1.borrow().is_empty());
    let seen = iso.web.seen.borrow();
    assert!(seen.iter().all(|s| !s.headers.contains_key("traceparent")));
    assert!(seen.iter().all(|s| !s.headers.contains_key("client-request-id")));
    let expired = TestSigner::Rsa.sign("rsa", &with(entra_claims(T0), json!({"exp": T0 - 1000})));
    let refused =
        block_on(api.authorize(&request(&expired, &[]), Requirement::Authenticated)).unwrap_err();
    let body: Value = serde_json::from_slice(refused.to_response().body()).unwrap();
    assert!(body.get("correlation_id").is_none());
}

#[test]
fn no_token_secret_or_oid_appears_in_any_event() {
    // The held-out check: every credential this run handled, searched for in every line.
    let iso = isolate();
    let api = api(&iso, json!({"Level": "Info", "Claims": ["tid", "azp"]}));
    let claims = entra_claims(T0);
    let token = TestSigner::Rsa.sign("rsa", &claims);
    let caller =
        block_on(api.authorize(&request(&token, &[]), Requirement::Authenticated)).unwrap();
    block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
    let expired = TestSigner::Rsa.sign("rsa", &with(claims.clone(), json!({"exp": T0 - 1000})));
    let _ = block_on(api.authorize(&request(&expired, &[]), Requirement::Authenticated));
    let _ = block_on(api.authorize(&request("not.a.jwt", &[]), Requirement::Authenticated));

    let oid = claims["oid"].as_str().unwrap().to_owned();
    let mut held_out = vec![token.clone(), expired.clone(), SECRET.to_owned(), oid];
    held_out.extend(token.split('.').map(str::to_owned));
    held_out.extend((1..=5).flat_map(|n| [format!("at-{n}"), format!("rt-{n}")]));
    let lines = iso.lines.1.borrow();
    assert!(lines.len() >= 4, "{lines:?}");
    for line in lines.iter() {
        for secret in &held_out {
            assert!(!line.contains(secret.as_str()), "{secret} in {line}");
        }
    }
    assert!(lines.iter().any(|l| l.contains("\"azp\":\"client-app-id\"")), "an allow-listed claim");
}

#[test]
fn the_events_section_names_its_field_when_wrong() {
    for (events, field) in [
        (json!({"Level": "Loud"}), "Events.Level"),
        (json!({"SampleRate": 2.0}), "Events.SampleRate"),
        (json!({"Claims": ["oid"]}), "Events.Claims[0]"),
    ] {
        let config = json!({"AzureAd": {"Instance": INSTANCE, "TenantId": TENANT, "ClientId": CLIENT_ID},
            "Events": events});
        let settings =
            HostSettings::from_values(Some(&config.to_string()), Some(SECRET), None).unwrap();
        let iso = isolate();
        let err = WebApi::new(settings, iso.platform.clone()).unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn the_key_set_fetched_and_served_stale_are_events_too() {
    let iso = isolate();
    let api = api(&iso, json!({"Level": "Info"}));
    let long_lived = with(entra_claims(T0), json!({"exp": T0 + 86_400}));
    let token = TestSigner::Rsa.sign("rsa", &long_lived);
    block_on(api.authorize(&request(&token, &[]), Requirement::Authenticated)).unwrap();
    let fetched: Vec<Value> =
        events(&iso).into_iter().filter(|e| e["event"] == "keys.fetched").collect();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0]["keys"], 1);

    // Past the key set's max age, with the issuer down: the held set is served, and said so.
    iso.web.route(&metadata_url(TENANT), |_| json_answer(503, json!({"error": "down"})));
    iso.clock.advance(std::time::Duration::from_secs(12 * 3600 + 60));
    let other = TestSigner::Rsa.sign("rsa", &with(long_lived, json!({"uti": "another"})));
    block_on(api.authorize(&request(&other, &[]), Requirement::Authenticated)).unwrap();
    let lines = events(&iso);
    let failed = lines.iter().find(|e| e["event"] == "keys.fetch_failed").expect("fetch failed");
    assert_eq!(failed["level"], "warn");
    let stale = lines.iter().find(|e| e["event"] == "keys.served_stale").expect("served stale");
    assert!(stale["age_s"].as_u64().unwrap() >= 12 * 3600);
}

#[test]
fn a_failing_store_is_one_warning_per_outage() {
    // The store as a KV outage answers (support::FailingStore): the first failure is an event,
    // not every failed operation.
    let iso =
        Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(rc(FailingStore)));
    let api = api(&iso, json!({"Level": "Warn"}));
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let caller =
        block_on(api.authorize(&request(&token, &[]), Requirement::Authenticated)).unwrap();
    block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
    let failed: Vec<Value> =
        events(&iso).into_iter().filter(|e| e["event"] == "store.failed").collect();
    assert_eq!(failed.len(), 1, "{:?}", events(&iso));
    assert_eq!(failed[0]["level"], "warn");
    assert!(failed[0]["reason"].as_str().unwrap().contains("KV unavailable"));
}
