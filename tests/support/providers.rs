//! The provider fidelity table: each identity provider's token shapes as its documentation
//! publishes them (`tests/fixtures/providers/*.json`; the page for each shape is in the file's
//! `source` fields and in the fixtures' README), each token validated by an API configured with
//! that provider's preset (`AzureAd.Provider`). Shared by the pure-Rust suite
//! (`tests/provider_fidelity.rs`) and the WebCrypto suite inside Node (`tests/webcrypto.rs`):
//! tokens are signed with the backend under test's `sign` and verified with its `verify`.
//!
//! Each cell is the verdict (`ok` or the error code), `is_app_only()` for accepted tokens, and
//! the authorization a route would make: the provider's delegated scope is granted to the user
//! and never to the app; the app's permission is granted to the app as an app role.

use std::collections::BTreeMap;
use std::rc::Rc;

use edge_identity::platform::{Crypto, Platform};
use edge_identity::{IdentityConfig, TokenValidator};
use serde_json::{json, Value};

use super::entra::{test_keys, FixtureSigner};
use super::{FixtureWeb, ManualClock, T0};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/providers/", $path))
    };
}

/// Every provider's fixture file, by name.
pub const PROVIDERS: [(&str, &str); 6] = [
    ("auth0", fixture!("auth0.json")),
    ("okta", fixture!("okta.json")),
    ("keycloak", fixture!("keycloak.json")),
    ("cognito", fixture!("cognito.json")),
    ("cloudflare-access", fixture!("cloudflare-access.json")),
    ("generic-rfc9068", fixture!("generic-rfc9068.json")),
];

/// A provider's fixture file.
pub fn provider(name: &str) -> Value {
    let (_, text) = PROVIDERS.iter().find(|(n, _)| *n == name).expect("a provider fixture");
    serde_json::from_str(text).expect("provider fixtures are JSON")
}

/// The test key `org` as a provider publishes an RSA key: `kty`, `use`, `kid`, `n`, `e`, `alg`
/// (no Entra `issuer` binding).
pub fn published_key() -> Value {
    let public = &test_keys()["org"]["public"];
    json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "org",
           "n": public["n"], "e": public["e"]})
}

/// The fixture's claims with its placeholder times (`0`) set around the table's clock: issued a
/// minute before [`T0`], expiring an hour after.
pub fn timed(claims: &Value) -> Value {
    let mut claims = claims.clone();
    if let Some(map) = claims.as_object_mut() {
        for (name, value) in map.iter_mut() {
            if value == &json!(0) {
                *value = match name.as_str() {
                    "exp" => json!(T0 + 3600),
                    _ => json!(T0 - 60),
                };
            }
        }
    }
    claims
}

/// The provider at the HTTP seam: its discovery document (where it has one) and its key set.
pub fn provider_web(fixture: &Value) -> FixtureWeb {
    let keys = json!({"keys": [published_key()]});
    let mut routes = BTreeMap::new();
    if let Some(url) = fixture["discovery_url"].as_str() {
        let discovery = fixture["discovery"].clone();
        let jwks_uri = discovery["jwks_uri"].as_str().expect("jwks_uri").to_owned();
        routes.insert(url.to_owned(), discovery);
        routes.insert(jwks_uri, keys.clone());
    }
    if let Some(url) = fixture["keys_url"].as_str() {
        routes.insert(url.to_owned(), keys);
    }
    FixtureWeb::new(routes)
}

/// A validator configured as the fixture says, at the table's time.
pub fn provider_validator(
    fixture: &Value,
    crypto: Rc<dyn Crypto>,
) -> (TokenValidator, Rc<FixtureWeb>) {
    let web = Rc::new(provider_web(fixture));
    let platform = Platform::new(web.clone(), crypto, Rc::new(ManualClock::at_secs(T0)));
    let config = IdentityConfig::from_json(&json!({"AzureAd": fixture["azure_ad"]}).to_string())
        .expect("fixture configurations are valid");
    (TokenValidator::from_config(&config.azure_ad, platform).expect("options"), web)
}

/// The compact JWS of a fixture token, signed with the backend under test.
pub async fn sign_token(signer: &FixtureSigner, token: &Value) -> String {
    signer.sign("org", &token["header"], &timed(&token["claims"])).await
}

/// Walks every provider's tokens through its preset; returns each cell that differs from the
/// fixture's `expect`, `app_only` or the authorization rule.
pub async fn run_table(crypto: Rc<dyn Crypto>) -> Vec<String> {
    let signer = FixtureSigner::new(crypto.clone());
    let mut failures = Vec::new();
    for (name, _) in PROVIDERS {
        let fixture = provider(name);
        let (validator, _) = provider_validator(&fixture, crypto.clone());
        let scope = fixture["delegated_scope"].as_str();
        let permission = fixture["app_permission"].as_str();
        let tokens = fixture["tokens"].as_object().expect("tokens");
        for (kind, token) in tokens {
            let expected = token["expect"].as_str().expect("expect");
            let jws = sign_token(&signer, token).await;
            let got = match validator.validate(&jws).await {
                Err(e) => e.code().to_owned(),
                // A token the fixture expects refused has no `app_only`: "ok" is the finding.
                Ok(_) if token["app_only"].is_null() => "ok".to_owned(),
                Ok(valid) => {
                    let app_only = token["app_only"].as_bool().unwrap_or_default();
                    let scope_granted = scope.is_some_and(|s| valid.require_scope(&[s]).is_ok());
                    let permission_granted =
                        permission.is_some_and(|p| valid.require_app_role(&[p]).is_ok());
                    if valid.is_app_only() != app_only {
                        format!("ok but is_app_only() = {}", valid.is_app_only())
                    } else if scope_granted == app_only && scope.is_some() {
                        format!("ok but require_scope({scope:?}) granted = {scope_granted}")
                    } else if app_only && permission.is_some() && !permission_granted {
                        format!("ok but the app permission {permission:?} is not an app role")
                    } else {
                        "ok".to_owned()
                    }
                }
            };
            if got != expected {
                failures.push(format!("{name} × {kind}: expected {expected}, got {got}"));
            }
        }
    }
    failures
}
