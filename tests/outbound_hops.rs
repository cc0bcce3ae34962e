//! Every outbound hop is bounded: each request the SDK makes carries a body limit the adapters
//! enforce while reading ([`ResponseLimit`]), a body over it is an error of its kind, and a 3xx
//! is an error, never followed. (The adapters' own enforcement — `redirect: "manual"`, reading
//! a stream up to the limit — is tested in workerd, `tests/workerd/adapters.test.mjs`, and under
//! `wasmtime serve`, `tests/spin/spin.test.mjs`.)
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;

use edge_identity::internals::MAX_DISCOVERY_BYTES;
use edge_identity::internals::MAX_JWKS_BYTES;
use edge_identity::internals::MAX_TOKEN_RESPONSE_BYTES;
use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{HttpError, Platform, DEFAULT_MAX_RESPONSE_BYTES};
use edge_identity::{CallAs, DownstreamApis, IdentityConfig, TokenValidator, ValidationError};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::acquisition::*;
use support::signing::TestSigner;
use support::*;

const PROFILE: &str = "https://profile.example.com";
const EVIL: &str = "https://evil.example";

fn apis(iso: &Isolate) -> DownstreamApis {
    let config = config(
        json!({}),
        json!({"DownstreamApis": {
            "Profile": {"BaseUrl": PROFILE, "Scopes": ["api://profile/read"], "RelativePath": "me",
                        "MaxResponseBytes": 2048},
            "Graphish": {"BaseUrl": "https://graphish.example.com", "Scopes": ["s"]}
        }}),
    );
    DownstreamApis::from_config(iso.acquirer(&config), &config).unwrap()
}

fn redirect_to_evil() -> Answer {
    Ok(http::Response::builder()
        .status(307)
        .header("location", format!("{EVIL}/collect"))
        .body(Vec::new())
        .unwrap())
}

#[test]
fn every_request_carries_its_body_limit() {
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    iso.web.route(&format!("{PROFILE}/me"), |_| json_answer(200, json!({"name": "Ada"})));
    iso.web.route("https://graphish.example.com/", |_| json_answer(200, json!({})));
    let apis = apis(&iso);
    block_on(apis.get_json::<Value>("Profile", CallAs::User(&user()), None)).unwrap();
    block_on(apis.get_json::<Value>("Graphish", CallAs::User(&user()), Some(""))).unwrap();
    let limits: Vec<(String, Option<usize>)> =
        iso.web.seen.borrow().iter().map(|s| (s.url.clone(), s.response_limit)).collect();
    for (url, limit) in &limits {
        let expected = if url.ends_with("/token") {
            MAX_TOKEN_RESPONSE_BYTES
        } else if url.starts_with(PROFILE) {
            2048
        } else {
            DEFAULT_MAX_RESPONSE_BYTES
        };
        assert_eq!(*limit, Some(expected), "{url}");
    }
    assert_eq!(limits.len(), 4, "two token requests, two calls: {limits:?}");

    // Discovery and the key set.
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::Rsa.public_jwk("rsa")]));
    let recorder = rc(Recorder { inner: idp, limits: Default::default() });
    let platform =
        Platform::new(recorder.clone(), Rc::new(RustCrypto), rc(ManualClock::at_secs(T0)));
    let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    block_on(validator.validate(&TestSigner::Rsa.sign("rsa", &entra_claims(T0)))).unwrap();
    assert_eq!(
        *recorder.limits.borrow(),
        [Some(MAX_DISCOVERY_BYTES), Some(MAX_JWKS_BYTES)],
        "discovery, then the key set"
    );
}

/// Records each request's limit, then asks `inner`.
struct Recorder<H> {
    inner: Rc<H>,
    limits: std::cell::RefCell<Vec<Option<usize>>>,
}

impl<H: edge_identity::platform::HttpClient> edge_identity::platform::HttpClient for Recorder<H> {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: std::time::Duration,
    ) -> edge_identity::platform::LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        let limit =
            request.extensions().get::<edge_identity::platform::ResponseLimit>().map(|l| l.0);
        self.limits.borrow_mut().push(limit);
        self.inner.send(request, timeout)
    }
}

#[test]
fn a_body_over_its_limit_is_an_error_of_its_kind() {
    let too_large = || Err(HttpError::TooLarge { limit: 1 });
    // A downstream API: 502, with its own code.
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    iso.web.route(&format!("{PROFILE}/me"), move |_| too_large());
    let err =
        block_on(apis(&iso).get_json::<Value>("Profile", CallAs::User(&user()), None)).unwrap_err();
    assert_eq!((err.status().as_u16(), err.code()), (502, "downstream_response_too_large"));
    // The token endpoint: the provider is unusable, 503; not retried.
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    iso.web.route(&token_endpoint(TENANT), move |_| too_large());
    let err =
        block_on(apis(&iso).get_json::<Value>("Profile", CallAs::User(&user()), None)).unwrap_err();
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!(iso.web.token_requests().len(), 1);
}

#[test]
fn a_redirect_is_an_error_and_never_followed() {
    // A downstream API answering 307 to another origin: 502, and nothing goes there.
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    iso.web.route(&format!("{PROFILE}/me"), |_| redirect_to_evil());
    let err =
        block_on(apis(&iso).get_json::<Value>("Profile", CallAs::User(&user()), None)).unwrap_err();
    assert_eq!((err.status().as_u16(), err.code()), (502, "downstream_error"));
    // A token endpoint answering 307: the client secret is not sent anywhere else.
    let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
    iso.web.route(&token_endpoint(TENANT), |_| redirect_to_evil());
    let err =
        block_on(apis(&iso).get_json::<Value>("Profile", CallAs::User(&user()), None)).unwrap_err();
    assert!(err.status().is_server_error(), "{err:?}");
    assert!(iso.web.requests_to(EVIL).is_empty());
    // The key set's location answering 302: the keys are unavailable, not fetched from there.
    let idp = rc(ScriptedIdp::entra(TENANT, vec![]));
    let jwks = jwks_url(TENANT);
    let redirecting = rc(Redirecting { inner: idp, from: jwks });
    let platform = Platform::new(redirecting, Rc::new(RustCrypto), rc(ManualClock::at_secs(T0)));
    let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    let err =
        block_on(validator.validate(&TestSigner::Rsa.sign("rsa", &entra_claims(T0)))).unwrap_err();
    assert!(matches!(err, ValidationError::KeysUnavailable(_)), "{err:?}");
    assert_eq!(err.status(), 503);
}

/// Answers 302 to another origin for `from`, and asks `inner` for anything else.
struct Redirecting {
    inner: Rc<ScriptedIdp>,
    from: String,
}

impl edge_identity::platform::HttpClient for Redirecting {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: std::time::Duration,
    ) -> edge_identity::platform::LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        if request.uri().to_string() == self.from {
            return Box::pin(async { redirect_to_evil() });
        }
        self.inner.send(request, timeout)
    }
}
