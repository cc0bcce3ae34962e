//! Counters and `Server-Timing` (issue 23, item 4): every decision counted in a [`Metrics`] sink
//! whatever the events' level and sampling, each counter naming only its event, outcome and
//! dimension (never a token, claim or correlation id), and `Server-Timing` on answers only
//! where `Events.ServerTiming` asks for it. The counters' columns are Workers Analytics
//! Engine's (`index1`, `blob1..3`, `double1..2`, its "Get started" page); the workerd half of
//! these tests is in tests/e2e/worker.test.mjs.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::{Metric, Metrics, Requirement, WebApi};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::acquisition::*;
use support::signing::TestSigner;
use support::*;

/// What a sink was given: (event, outcome, dimension, duration).
#[derive(Default)]
struct Counted(RefCell<Vec<(String, String, String, f64)>>);

impl Metrics for Counted {
    fn record(&self, metric: &Metric<'_>) {
        self.0.borrow_mut().push((
            metric.event.to_owned(),
            metric.outcome.to_string(),
            metric.dimension.to_owned(),
            metric.duration_ms,
        ));
    }
}

impl Counted {
    fn names(&self) -> Vec<(String, String, String)> {
        self.0.borrow().iter().map(|(e, o, d, _)| (e.clone(), o.clone(), d.clone())).collect()
    }
}

fn point(e: &str, o: &str, d: &str) -> (String, String, String) {
    (e.to_owned(), o.to_owned(), d.to_owned())
}

fn counting_api(events: Value) -> (Isolate, Rc<Counted>, WebApi) {
    let mut iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    let counted = Rc::new(Counted::default());
    iso.platform = iso.platform.clone().with_metrics(counted.clone());
    let api = profile_web_api(&iso, json!({"Events": events}));
    (iso, counted, api)
}

fn request(token: &str) -> http::Request<()> {
    http::Request::get("https://api.example/me")
        .header("authorization", format!("Bearer {token}"))
        .header("client-request-id", "8e6c3a2b-1f4d-4c7e-9a0b-2d3e4f5a6b7c")
        .body(())
        .unwrap()
}

#[test]
fn every_decision_is_counted_whatever_the_events_level_and_sampling() {
    for events in [json!({}), json!({"Level": "Info", "SampleRate": 0})] {
        let (iso, counted, api) = counting_api(events.clone());
        let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
        for _ in 0..2 {
            let caller =
                block_on(api.authorize(&request(&token), Requirement::Authenticated)).unwrap();
            block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
        }
        let expired =
            TestSigner::Rsa.sign("rsa", &with(entra_claims(T0), json!({"exp": T0 - 1000})));
        let _ = block_on(api.authorize(&request(&expired), Requirement::Authenticated));
        iso.web.route(&format!("{PROFILE_API}/me"), |_| json_answer(503, json!({})));
        let caller = block_on(api.authorize(&request(&token), Requirement::Authenticated)).unwrap();
        let _ = block_on(api.call_api("Profile").get("me").for_user(&caller).bytes());

        assert_eq!(
            counted.names(),
            [
                point("keys.fetched", "ok", ""),
                point("request.validated", "ok", "Bearer"),
                point("token.acquired", "provider", "on_behalf_of"),
                point("downstream.call", "2xx", "Profile"),
                point("request.validated", "verified_cache", "Bearer"),
                point("token.acquired", "memory", "on_behalf_of"),
                point("downstream.call", "2xx", "Profile"),
                point("request.refused", "token_expired", "Bearer"),
                point("request.validated", "verified_cache", "Bearer"),
                point("token.acquired", "memory", "on_behalf_of"),
                point("downstream.call", "5xx", "Profile"),
            ],
            "{events}"
        );
        // Lines follow the events' own level and sampling: none when off, warnings only at
        // a sample rate of 0.
        let lines = iso.lines.1.borrow();
        assert!(lines.iter().all(|l| l.contains("\"level\":\"warn\"")), "{lines:?}");
        assert_eq!(lines.is_empty(), events == json!({}), "{lines:?}");
    }
}

#[test]
fn no_token_claim_or_correlation_id_reaches_a_counter() {
    // The held-out check, for counters: every credential and identifier of the run searched
    // for in everything a sink was given.
    let (_iso, counted, api) = counting_api(json!({"Level": "Info", "Claims": ["tid", "azp"]}));
    let claims = entra_claims(T0);
    let token = TestSigner::Rsa.sign("rsa", &claims);
    let caller = block_on(api.authorize(&request(&token), Requirement::Authenticated)).unwrap();
    block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
    let _ = block_on(api.authorize(&request("not.a.jwt"), Requirement::Authenticated));

    let mut held_out = vec![token.clone(), SECRET.to_owned(), "8e6c3a2b".to_owned()];
    for claim in ["oid", "tid", "azp", "sub"] {
        held_out.push(claims[claim].as_str().unwrap().to_owned());
    }
    held_out.extend(token.split('.').map(str::to_owned));
    held_out.extend(["at-1".to_owned(), "rt-1".to_owned()]);
    let everything = format!("{:?}", counted.0.borrow());
    assert!(everything.contains("request.refused"), "{everything}");
    for secret in &held_out {
        assert!(!everything.contains(secret.as_str()), "{secret} in {everything}");
    }
}

#[test]
fn answers_carry_server_timing_for_each_step_when_asked() {
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    let api = profile_web_api(&iso, json!({"Events": {"ServerTiming": true}}));
    // The key set takes 5 ms to arrive, the downstream API 30 ms (the test's clock).
    let keys = json!({"keys": [TestSigner::Rsa.public_jwk("rsa")]});
    let clock = iso.clock.clone();
    iso.web.route(&jwks_url(TENANT), move |_| {
        clock.advance(Duration::from_millis(5));
        json_answer(200, keys.clone())
    });
    let clock = iso.clock.clone();
    iso.web.route(&format!("{PROFILE_API}/me"), move |_| {
        clock.advance(Duration::from_millis(30));
        json_answer(200, json!({"name": "Ada"}))
    });
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let caller = block_on(api.authorize(&request(&token), Requirement::Authenticated)).unwrap();
    assert_eq!(caller.server_timing().as_deref(), Some("identity-validation;dur=5"));
    let passed =
        block_on(api.call_api("Profile").get("me").for_user(&caller).pass_through()).unwrap();
    assert_eq!(
        passed.server_timing.as_deref(),
        Some("identity-validation;dur=5, identity-token;dur=0, identity-downstream;dur=30")
    );

    let refused =
        block_on(api.authorize(&request("not.a.jwt"), Requirement::Authenticated)).unwrap_err();
    assert_eq!(refused.to_response().headers()["server-timing"], "identity-validation;dur=0");
    assert!(iso.lines.1.borrow().is_empty(), "Server-Timing alone writes no event");
}

#[test]
fn no_server_timing_unless_asked() {
    for events in [json!({}), json!({"Level": "Info"})] {
        let (_iso, _counted, api) = counting_api(events.clone());
        let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
        let caller = block_on(api.authorize(&request(&token), Requirement::Authenticated)).unwrap();
        assert_eq!(caller.server_timing(), None, "{events}");
        let passed =
            block_on(api.call_api("Profile").get("me").for_user(&caller).pass_through()).unwrap();
        assert_eq!(passed.server_timing, None, "{events}");
        let refused =
            block_on(api.authorize(&request("x"), Requirement::Authenticated)).unwrap_err();
        assert!(!refused.to_response().headers().contains_key("server-timing"), "{events}");
    }
}

#[test]
fn server_timing_must_be_a_boolean_and_the_error_names_it() {
    let config = json!({"AzureAd": {"Instance": INSTANCE, "TenantId": TENANT, "ClientId": CLIENT_ID},
        "Events": {"ServerTiming": "yes"}});
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    let error = match edge_identity::HostSettings::from_values(
        Some(&config.to_string()),
        Some(SECRET),
        None,
    ) {
        Err(error) => error.to_string(),
        Ok(settings) => WebApi::new(settings, iso.platform.clone()).unwrap_err().to_string(),
    };
    assert!(error.contains("Events.ServerTiming"), "{error}");
}
