//! Token acquisition against a real third-party OAuth server on 127.0.0.1 (npm
//! `oauth2-mock-server`, wrapped by `tests/e2e/identity-provider.mjs` to check the on-behalf-of
//! assertion and client secret as Entra does): the OBO token it issues is for the downstream
//! API and the same user, the cache spares it a second call, sessions continue by refresh token,
//! and its refusals come back typed.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{HttpClient, MemoryStore, Platform, SystemClock};
use edge_identity::{
    AcquisitionError, AcquisitionOptions, IdentityConfig, SessionKey, TokenAcquirer, TokenRequest,
    TokenValidator, ValidatedToken,
};
use edge_identity::{SealSecret, Secret};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::loopback_http::LoopbackHttp;
use support::node_server::NodeServer;

const CLIENT_ID: &str = "edge-api";
const CLIENT_SECRET: &str = "local-dev-secret";
const ALICE_OID: &str = "00000000-0000-4000-8000-00000000a11c";

/// The provider; stopped by its own PID when dropped, even when a test fails.
struct Provider {
    _process: NodeServer,
    issuer: String,
}

impl Provider {
    fn start() -> Provider {
        let process = NodeServer::start("identity-provider.mjs");
        let issuer = process.announced["issuer"].as_str().expect("issuer").to_owned();
        Provider { _process: process, issuer }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.issuer))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap();
        let response =
            block_on(LoopbackHttp.send(request, Duration::from_secs(5))).expect("provider answers");
        serde_json::from_slice(response.body()).expect("JSON")
    }

    fn mint(&self, claims: Value) -> String {
        self.call("POST", "/__mint", json!({ "claims": claims }))["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn token_requests(&self, grant: &str) -> u64 {
        self.call("GET", "/__stats", json!({}))["byGrant"][grant].as_u64().unwrap_or(0)
    }

    fn config(&self, audience: &str, secret: &str) -> IdentityConfig {
        IdentityConfig::from_json(
            &json!({"AzureAd": {
                // The local identity provider issues Entra-shaped tokens at its own URLs.
                "Authority": self.issuer, "Provider": "Entra", "ClientId": CLIENT_ID,
                "Audience": audience, "OnBehalfOfGrant": "JwtBearer",
                "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": secret}]
            }})
            .to_string(),
        )
        .unwrap()
    }
}

fn platform() -> Platform {
    Platform::new(Rc::new(LoopbackHttp), Rc::new(RustCrypto), Rc::new(SystemClock))
}

fn validate(config: &IdentityConfig, token: &str) -> ValidatedToken {
    let validator = TokenValidator::from_config(&config.azure_ad, platform()).unwrap();
    block_on(validator.validate(token)).expect("the token validates")
}

fn acquirer(config: &IdentityConfig) -> TokenAcquirer {
    let options = AcquisitionOptions::from_config(config).unwrap();
    let seal =
        SealSecret::new(Secret::new("integration-test-cache-key-32-chars!"), "TOKEN_CACHE_KEY")
            .unwrap();
    TokenAcquirer::new(platform().with_store(Rc::new(MemoryStore::new()), Some(&seal)), options)
}

const OBO: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[test]
fn the_obo_token_from_a_real_provider_is_for_the_downstream_api_and_the_same_user() {
    let provider = Provider::start();
    let config = provider.config("api://edge-api", CLIENT_SECRET);
    let user = validate(&config, &provider.mint(json!({})));
    let acquirer = acquirer(&config);

    let token =
        block_on(acquirer.token_for_user(&user, &TokenRequest::new(["api://partner/read"])))
            .unwrap();
    let downstream = validate(&provider.config("api://partner", CLIENT_SECRET), token.secret());
    assert_eq!(downstream.object_id(), Some(ALICE_OID));
    assert!(downstream.require_scope(&["read"]).is_ok());
    assert_eq!(downstream.claim_str("azp"), Some(CLIENT_ID));
    assert_eq!(provider.token_requests(OBO), 1);

    let again =
        block_on(acquirer.token_for_user(&user, &TokenRequest::new(["api://partner/read"])))
            .unwrap();
    assert!(again.from_cache());
    assert_eq!(provider.token_requests(OBO), 1, "the second request made no provider call");
}

#[test]
fn the_real_provider_refuses_a_wrong_secret_and_an_assertion_for_another_api() {
    let provider = Provider::start();
    let config = provider.config("api://edge-api", "wrong-secret");
    let user = validate(&config, &provider.mint(json!({})));
    let err = block_on(
        acquirer(&config).token_for_user(&user, &TokenRequest::new(["api://partner/read"])),
    )
    .unwrap_err();
    assert!(matches!(err, AcquisitionError::InvalidClient(_)), "{err:?}");
    assert_eq!(err.to_response().status(), 500);

    // A token this API accepts (it is configured to) but that was not issued to it.
    let lenient = provider.config("api://someone-else", CLIENT_SECRET);
    let user = validate(&lenient, &provider.mint(json!({"aud": "api://someone-else"})));
    let err = block_on(
        acquirer(&lenient).token_for_user(&user, &TokenRequest::new(["api://partner/read"])),
    )
    .unwrap_err();
    assert!(
        matches!(&err, AcquisitionError::InvalidGrant(e) if e.error_codes == [50013]),
        "{err:?}"
    );
    assert_eq!(err.to_response().status(), 401);
}

#[test]
fn a_session_started_against_the_real_provider_continues_with_its_refresh_token() {
    let provider = Provider::start();
    let config = provider.config("api://edge-api", CLIENT_SECRET);
    let user = validate(&config, &provider.mint(json!({})));
    let acquirer = acquirer(&config);
    let session = block_on(acquirer.start_session(
        &user,
        SessionKey::AllocateForMe,
        &TokenRequest::new(["api://partner/read"]),
    ))
    .unwrap();
    let token = block_on(acquirer.token_for_session(
        &user,
        &session.key,
        &TokenRequest::new(["api://partner/write"]),
    ))
    .unwrap();
    assert_eq!(provider.token_requests("refresh_token"), 1);
    let downstream = validate(&provider.config("api://partner", CLIENT_SECRET), token.secret());
    assert_eq!(downstream.object_id(), Some(ALICE_OID), "the session acts for the same user");
    assert!(downstream.require_scope(&["write"]).is_ok());

    block_on(acquirer.end_session(&user, &session.key)).unwrap();
    let err = block_on(acquirer.token_for_session(
        &user,
        &session.key,
        &TokenRequest::new(["api://partner/write"]),
    ))
    .unwrap_err();
    assert_eq!(err, AcquisitionError::SessionNotFound);
}

#[test]
fn app_tokens_and_a_consent_challenge_from_the_real_provider() {
    let provider = Provider::start();
    let config = provider.config("api://edge-api", CLIENT_SECRET);
    let acquirer = acquirer(&config);
    let app =
        block_on(acquirer.token_for_app(&TokenRequest::new(["api://partner/.default"]))).unwrap();
    let app = validate(&provider.config("api://partner", CLIENT_SECRET), app.secret());
    assert!(app.is_app_only() && app.require_app_role(&["Jobs.Resume"]).is_ok());

    provider.call(
        "POST",
        "/__script",
        json!({"answers": [{"status": 400, "body": {"error": "invalid_grant", "suberror": "consent_required",
            "error_codes": [65001], "error_description": "AADSTS65001: consent"}}]}),
    );
    let user = validate(&config, &provider.mint(json!({})));
    let err = block_on(acquirer.token_for_user(&user, &TokenRequest::new(["api://partner/read"])))
        .unwrap_err();
    assert_eq!(err.scopes(), ["api://partner/read"]);
    assert_eq!(err.to_response().status(), 403, "Microsoft.Identity.Web's consent answer");
}
