//! Validation against a real third-party OpenID Connect server (npm `oauth2-mock-server`) on
//! 127.0.0.1: discovery, JWKS and RS256 signatures produced by software this project didn't write.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{Platform, SystemClock};
use edge_identity::{IdentityConfig, TokenValidator, ValidationError};
use futures::executor::block_on;
use serde_json::Value;
use support::loopback_http::LoopbackHttp;
use support::node_server::NodeServer;

/// The server; stopped by its own PID when dropped, even if the test fails.
struct OidcServer {
    _process: NodeServer,
    issuer: String,
    tokens: Value,
}

fn start_server() -> OidcServer {
    let process = NodeServer::start("oidc-server.mjs");
    let issuer = process.announced["issuer"].as_str().expect("issuer").to_owned();
    let tokens = process.announced["tokens"].clone();
    OidcServer { _process: process, issuer, tokens }
}

fn validator_for(issuer: &str) -> TokenValidator {
    // oauth2-mock-server signs its tokens with header `typ: JWT`, not RFC 9068's `at+jwt`,
    // which the Generic preset requires by default: accept its `typ` explicitly.
    let config = IdentityConfig::from_json(&format!(
        r#"{{"AzureAd": {{"Authority": "{issuer}", "ClientId": "edge-api", "ValidTypes": ["JWT"]}}}}"#
    ))
    .expect("config");
    let platform = Platform::new(Rc::new(LoopbackHttp), Rc::new(RustCrypto), Rc::new(SystemClock));
    TokenValidator::from_config(&config.azure_ad, platform).expect("options")
}

#[test]
fn tokens_from_a_real_oidc_server_are_validated_through_its_discovery_and_jwks() {
    let server = start_server();
    assert!(server.issuer.starts_with("http://127.0.0.1:"), "{}", server.issuer);
    let validator = validator_for(&server.issuer);
    let token = |name: &str| server.tokens[name].as_str().expect(name).to_owned();

    let ok = block_on(validator.validate(&token("valid"))).expect("the server's token is accepted");
    assert_eq!(ok.subject(), Some("user-1"));
    assert_eq!(ok.issuer(), Some(server.issuer.as_str()));
    assert!(ok.require_scope(&["access_as_user"]).is_ok());

    assert_eq!(
        block_on(validator.validate(&token("expired"))).unwrap_err(),
        ValidationError::Expired
    );
    assert_eq!(
        block_on(validator.validate(&token("wrongAudience"))).unwrap_err(),
        ValidationError::InvalidAudience
    );
    assert_eq!(
        block_on(validator.validate(&token("noScope"))).unwrap_err(),
        ValidationError::NoScopeOrRole
    );

    let valid = token("valid");
    let (input, signature) = valid.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{input}.{flipped}{}", &signature[1..]);
    assert_eq!(
        block_on(validator.validate(&tampered)).unwrap_err(),
        ValidationError::InvalidSignature
    );
}

#[test]
fn a_stopped_oidc_server_leaves_nothing_cached_and_answers_503() {
    let server = start_server();
    let issuer = server.issuer.clone();
    let token = server.tokens["valid"].as_str().unwrap().to_owned();
    drop(server);
    let validator = validator_for(&issuer);
    let err = block_on(validator.validate(&token)).unwrap_err();
    assert!(matches!(err, ValidationError::KeysUnavailable(_)), "{err:?}");
    assert_eq!(err.to_response().status(), 503);
}
