//! Hooks where Microsoft.Identity.Web has `JwtBearerEvents` and `OnTokenAcquired` (issue 23):
//! a validated token refused by the host's own rule (the tenant allow-list), every refusal told
//! to the host, the challenge changed by it, every acquired token told with its tier.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use edge_identity::{Requirement, TokenSource, ValidationError, ValidationHooks, WebApi};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::acquisition::*;
use support::signing::TestSigner;
use support::*;

fn api(iso: &Isolate) -> WebApi {
    profile_web_api(iso, json!({}))
}

fn request(token: &str) -> http::Request<()> {
    http::Request::get("https://api.example/me")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap()
}

#[test]
fn a_validated_token_is_refused_by_the_hosts_own_rule_and_the_challenge_is_the_hosts() {
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    let api = api(&iso);
    let failures = Rc::new(RefCell::new(Vec::new()));
    let seen = failures.clone();
    api.set_hooks(ValidationHooks {
        // The common tenant allow-list: only this one subject may call.
        on_token_validated: Some(Rc::new(|token| match token.subject() {
            Some("subject-of-the-user") => Ok(()),
            _ => Err(ValidationError::TenantNotAllowed),
        })),
        on_authentication_failed: Some(Rc::new(move |refusal| {
            seen.borrow_mut().push(refusal.code());
        })),
        on_challenge: Some(Rc::new(|refusal| {
            refusal.challenges_mut().push("Basic realm=\"legacy\"".to_owned());
            refusal.body_members_mut().insert("support".into(), json!("https://help.example"));
        })),
    });
    let allowed = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    assert!(block_on(api.authorize(&request(&allowed), Requirement::Authenticated)).is_ok());

    let other =
        TestSigner::Rsa.sign("rsa", &with(entra_claims(T0), json!({"sub": "someone-else"})));
    let refused =
        block_on(api.authorize(&request(&other), Requirement::Authenticated)).unwrap_err();
    assert_eq!(refused.code(), "token_tenant_not_allowed");
    let response = refused.to_response();
    assert_eq!(response.status(), 401);
    let challenges: Vec<_> = response.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[1], "Basic realm=\"legacy\"");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["support"], "https://help.example");
    assert_eq!(body["code"], "token_tenant_not_allowed", "the SDK's own members are kept");

    // The route's requirement failing is a refusal the hooks see too; so is no token at all.
    let _ = block_on(api.authorize(&request(&allowed), Requirement::scope(&["admin"])));
    let _ = block_on(
        api.authorize(&http::Request::get("/").body(()).unwrap(), Requirement::Authenticated),
    );
    assert_eq!(
        *failures.borrow(),
        ["token_tenant_not_allowed", "insufficient_scope", "token_missing"]
    );
}

#[test]
fn every_acquired_token_is_told_with_where_it_came_from() {
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    let api = api(&iso);
    let told = Rc::new(RefCell::new(Vec::new()));
    let sink = told.clone();
    api.set_on_token_acquired(Rc::new(move |token| sink.borrow_mut().push(token.source())));
    let token = TestSigner::Rsa.sign("rsa", &entra_claims(T0));
    let caller = block_on(api.authorize(&request(&token), Requirement::Authenticated)).unwrap();
    for _ in 0..2 {
        block_on(api.call_api("Profile").get("me").for_user(&caller).bytes()).unwrap();
    }
    assert_eq!(*told.borrow(), [TokenSource::Provider, TokenSource::Memory]);
}
