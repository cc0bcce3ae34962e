//! Provider fidelity with the pure-Rust backend: the token shapes Auth0, Okta, Keycloak, Amazon
//! Cognito, Cloudflare Access and RFC 9068 issuers publish (`tests/fixtures/providers/`, sources
//! in its README), each through its `AzureAd.Provider` preset: users accepted, app-only tokens
//! told apart and kept from delegated scopes, ID tokens and other tenants refused. The same
//! table runs on WebCrypto in `tests/webcrypto.rs`.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::{Provider, Requirement, ValidationError};
use futures::executor::block_on;
use serde_json::json;
use support::entra::FixtureSigner;
use support::providers::*;

fn crypto() -> Rc<RustCrypto> {
    Rc::new(RustCrypto)
}

fn token(provider_name: &str, kind: &str) -> String {
    let fixture = provider(provider_name);
    block_on(sign_token(&FixtureSigner::new(crypto()), &fixture["tokens"][kind]))
}

#[test]
fn every_providers_token_shapes_get_their_verdict_under_its_preset() {
    let failures = block_on(run_table(crypto()));
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_preset_has_a_fixture_and_is_named_in_configuration() {
    let named: Vec<&str> = PROVIDERS
        .iter()
        .map(|(name, _)| provider(name)["provider"].as_str().unwrap().to_owned())
        .map(|p| Provider::from_name(&p).expect("a preset name").name())
        .collect();
    for preset in Provider::ALL {
        // Entra's shapes have their own table (tests/entra_fidelity.rs).
        assert!(preset == Provider::Entra || named.contains(&preset.name()), "{preset}");
    }
}

#[test]
fn without_the_presets_rules_an_app_token_would_pass_as_a_user() {
    // The attack, per provider: the app-only token carries the API's delegated scope
    // (or its permission); under the Entra rules (no `oid`, a scope present) it was judged
    // delegated. Each preset must judge it app-only and refuse it a delegated scope.
    for name in ["auth0", "okta", "cognito", "generic-rfc9068"] {
        let fixture = provider(name);
        let (validator, _) = provider_validator(&fixture, crypto());
        let app = block_on(validator.validate(&token(name, "app"))).unwrap();
        let scope = fixture["delegated_scope"].as_str().unwrap();
        assert!(app.is_app_only(), "{name}");
        assert!(
            matches!(
                Requirement::scope(&[scope]).check(&app),
                Err(ValidationError::InsufficientScope { .. })
            ),
            "{name}: an app-only token never satisfies a delegated scope"
        );
        assert!(app.scopes().next().is_none(), "{name}");
        let user = block_on(validator.validate(&token(name, "user"))).unwrap();
        assert!(Requirement::scope(&[scope]).check(&user).is_ok(), "{name}");
    }
}

#[test]
fn keycloak_roles_come_from_the_realm_and_from_this_clients_resource_access_only() {
    let fixture = provider("keycloak");
    let (validator, _) = provider_validator(&fixture, crypto());
    let user = block_on(validator.validate(&token("keycloak", "user"))).unwrap();
    let roles: Vec<&str> = user.roles().collect();
    assert!(roles.contains(&"offline_access") && roles.contains(&"orders.reader"), "{roles:?}");
    // `account`'s client roles belong to another client: not this API's.
    assert!(!roles.contains(&"manage-account"), "{roles:?}");
    assert!(user.require_scope(&["orders.read"]).is_ok());
}

#[test]
fn cloudflare_access_reads_its_assertion_header_or_cookie_and_its_certs_without_discovery() {
    let fixture = provider("cloudflare-access");
    let (validator, web) = provider_validator(&fixture, crypto());
    let jwt = token("cloudflare-access", "user");
    let request = |name: &str, value: &str| {
        http::Request::get("https://app.example/").header(name, value).body(()).unwrap()
    };
    let by_header = block_on(validator.validate_request(&request("Cf-Access-Jwt-Assertion", &jwt)));
    assert_eq!(by_header.unwrap().subject(), Some("7335d417-61da-459d-899c-0a01c76a2f94"));
    let cookie = format!("theme=dark; CF_Authorization={jwt}; other=1");
    assert!(block_on(validator.validate_request(&request("cookie", &cookie))).is_ok());
    let bearer = format!("Bearer {jwt}");
    assert!(block_on(validator.validate_request(&request("authorization", &bearer))).is_ok());
    assert_eq!(
        block_on(validator.validate_request(&request("x-other", "1"))).unwrap_err(),
        ValidationError::MissingToken
    );
    // Access publishes no discovery document: only its certs were asked for.
    assert!(web.requests.borrow().iter().all(|u| u.ends_with("/cdn-cgi/access/certs")));
    // No scope or role in Access tokens: authenticated is what a route can require.
    let user = block_on(validator.validate(&jwt)).unwrap();
    assert!(Requirement::Authenticated.check(&user).is_ok());
    assert!(Requirement::scope(&["anything"]).check(&user).is_err());
}

#[test]
fn a_preset_is_refused_where_it_cannot_apply_and_names_the_field() {
    let config = |azure_ad: serde_json::Value| {
        edge_identity::IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string())
            .unwrap()
            .azure_ad
            .validation_options()
    };
    let err = config(json!({"TenantId": "common", "ClientId": "x", "Provider": "Auth0"}));
    assert_eq!(err.unwrap_err().field, "AzureAd.Provider");
    let err =
        config(json!({"Authority": "https://idp.example", "ClientId": "x", "Provider": "auth0"}));
    assert_eq!(err.unwrap_err().field, "AzureAd.Provider");
    let generic = config(json!({"Authority": "https://idp.example", "ClientId": "x"})).unwrap();
    assert_eq!(generic.provider, Provider::Generic);
    assert_eq!(generic.valid_types, Some(vec!["at+jwt".to_owned()]));
    let entra = config(json!({"TenantId": "common", "ClientId": "x"})).unwrap();
    assert_eq!((entra.provider, entra.valid_types), (Provider::Entra, None));
}
