//! Test doubles at the platform seam (a scripted identity provider, a manual clock), Entra-shaped
//! claims, and the signature-vector runners shared by the native and WebCrypto suites.
#![allow(dead_code)]

#[cfg(all(not(target_arch = "wasm32"), feature = "rust-crypto"))]
pub mod acquisition;
pub mod crypto_vectors;
pub mod entra;
#[cfg(not(target_arch = "wasm32"))]
pub mod loopback_http;
#[cfg(not(target_arch = "wasm32"))]
pub mod node_server;
pub mod providers;
#[cfg(not(target_arch = "wasm32"))]
pub mod signing;
pub mod signing_keys;
pub mod vectors;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use edge_identity::platform::{
    Clock, HttpClient, HttpError, KeyValueStore, LocalFuture, StoreError,
};
use serde_json::{json, Value};

pub const INSTANCE: &str = "https://login.microsoftonline.com/";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const OTHER_TENANT: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
pub const CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// 2026-11-21T00:00:00Z.
pub const T0: u64 = 1_795_219_200;

pub fn v2_issuer(tenant: &str) -> String {
    format!("{INSTANCE}{tenant}/v2.0")
}

pub fn metadata_url(tenant: &str) -> String {
    format!("{INSTANCE}{tenant}/v2.0/.well-known/openid-configuration")
}

pub fn jwks_url(tenant: &str) -> String {
    format!("{INSTANCE}{tenant}/discovery/v2.0/keys")
}

/// Single-tenant Entra configuration for [`TENANT`], with `extra` members merged in.
pub fn entra_config(extra: Value) -> String {
    let mut section = json!({"Instance": INSTANCE, "TenantId": TENANT, "ClientId": CLIENT_ID});
    if let (Some(s), Some(e)) = (section.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({"AzureAd": section}).to_string()
}

/// The claims of a delegated Entra v2 access token for [`TENANT`], issued at `now`.
pub fn entra_claims(now: u64) -> Value {
    json!({
        "aud": CLIENT_ID,
        "iss": v2_issuer(TENANT),
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": "a1b2c3d4-0000-4000-8000-000000000001",
        "sub": "subject-of-the-user",
        "scp": "access_as_user User.Read",
        "ver": "2.0",
        "azp": "client-app-id"
    })
}

/// Merges `patch` into `base` (a `null` removes the member).
pub fn with(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if v.is_null() {
                b.remove(k);
            } else {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(Cell<u64>);

impl ManualClock {
    pub fn at_secs(secs: u64) -> Self {
        ManualClock(Cell::new(secs * 1000))
    }
    pub fn advance(&self, by: Duration) {
        self.0.set(self.0.get() + by.as_millis() as u64);
    }
    pub fn secs(&self) -> u64 {
        self.0.get() / 1000
    }
    /// Sets the clock, also backwards (a host whose clock was corrected).
    pub fn set_secs(&self, secs: u64) {
        self.0.set(secs * 1000);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.get()
    }

    /// Time passes at once (a test's sleep costs nothing and is visible on the clock), and
    /// other futures get a turn, as they would while a real timer runs.
    fn sleep(&self, duration: Duration) -> edge_identity::platform::LocalFuture<'_, ()> {
        self.advance(duration);
        Box::pin(yield_now())
    }
}

/// Gives other futures on the same thread a turn, as a real network round trip would.
pub struct YieldNow(bool);

pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// An identity provider scripted at the HTTP seam: serves one discovery document and one key
/// set, records every URL asked for, and can be taken down.
pub struct ScriptedIdp {
    pub metadata_url: String,
    pub discovery: RefCell<Value>,
    /// Entra: the v1.0 discovery document (`{instance}{tenant}/.well-known/openid-configuration`)
    /// and where it is served.
    pub v1_discovery: Option<(String, Value)>,
    pub jwks: RefCell<Value>,
    pub down: Cell<bool>,
    pub requests: RefCell<Vec<String>>,
    /// Requests started and not yet answered, and the most there ever were at once.
    pub in_flight: Cell<usize>,
    pub most_in_flight: Cell<usize>,
}

impl ScriptedIdp {
    pub fn entra(tenant: &str, keys: Vec<Value>) -> Self {
        ScriptedIdp {
            metadata_url: metadata_url(tenant),
            discovery: RefCell::new(json!({
                "issuer": if tenant == "common" || tenant == "organizations" {
                    format!("{INSTANCE}{{tenantid}}/v2.0")
                } else {
                    v2_issuer(tenant)
                },
                "jwks_uri": jwks_url(tenant),
                "token_endpoint": format!("{INSTANCE}{tenant}/oauth2/v2.0/token"),
            })),
            v1_discovery: Some({
                let v1_tenant = if tenant == "organizations" { "common" } else { tenant };
                let issuer = if v1_tenant == "common" { "{tenantid}" } else { v1_tenant };
                (
                    format!("{INSTANCE}{v1_tenant}/.well-known/openid-configuration"),
                    json!({
                        "issuer": format!("https://sts.windows.net/{issuer}/"),
                        "jwks_uri": format!("{INSTANCE}common/discovery/keys"),
                    }),
                )
            }),
            jwks: RefCell::new(json!({ "keys": keys })),
            down: Cell::new(false),
            requests: RefCell::new(Vec::new()),
            in_flight: Cell::new(0),
            most_in_flight: Cell::new(0),
        }
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.jwks.borrow_mut() = json!({ "keys": keys });
    }

    /// How many times the key set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        let jwks_uri = self.discovery.borrow()["jwks_uri"].as_str().unwrap_or("").to_owned();
        self.requests.borrow().iter().filter(|u| **u == jwks_uri).count()
    }

    /// How many requests reached the provider at all.
    pub fn request_count(&self) -> usize {
        self.requests.borrow().len()
    }
}

/// A provider at the HTTP seam, from fixtures: each URL it answers with its JSON document,
/// anything else a 404 (as a provider answers an unknown tenant or path). Records every URL
/// asked for.
pub struct FixtureWeb {
    pub routes: std::collections::BTreeMap<String, Value>,
    pub requests: RefCell<Vec<String>>,
}

impl FixtureWeb {
    pub fn new(routes: std::collections::BTreeMap<String, Value>) -> Self {
        FixtureWeb { routes, requests: Default::default() }
    }
}

impl HttpClient for FixtureWeb {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        let url = request.uri().to_string();
        self.requests.borrow_mut().push(url.clone());
        Box::pin(async move {
            yield_now().await;
            Ok(match self.routes.get(&url) {
                Some(document) => respond(200, document),
                None => respond(404, &json!({"error": "not_found"})),
            })
        })
    }
}

/// A JSON answer with `status`.
pub fn respond(status: u16, body: &Value) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap()
}

impl HttpClient for ScriptedIdp {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let url = request.uri().to_string();
            self.requests.borrow_mut().push(url.clone());
            self.in_flight.set(self.in_flight.get() + 1);
            self.most_in_flight.set(self.most_in_flight.get().max(self.in_flight.get()));
            yield_now().await;
            self.in_flight.set(self.in_flight.get() - 1);
            if self.down.get() {
                return Err(HttpError::Transport("connection refused".into()));
            }
            let jwks_uri = self.discovery.borrow()["jwks_uri"].as_str().unwrap_or("").to_owned();
            if url == self.metadata_url {
                Ok(respond(200, &self.discovery.borrow()))
            } else if url == jwks_uri {
                Ok(respond(200, &self.jwks.borrow()))
            } else if let Some((_, v1)) = self.v1_discovery.as_ref().filter(|(at, _)| *at == url) {
                Ok(respond(200, v1))
            } else {
                Ok(respond(404, &json!({"error": "not found"})))
            }
        })
    }
}

/// A key-value store that always fails, as a KV outage would.
pub struct FailingStore;

impl KeyValueStore for FailingStore {
    fn get<'a>(&'a self, _: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async { Err(StoreError("KV unavailable".into())) })
    }
    fn put<'a>(
        &'a self,
        _: &'a str,
        _: Vec<u8>,
        _: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError("KV unavailable".into())) })
    }
    fn delete<'a>(&'a self, _: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError("KV unavailable".into())) })
    }
}

pub fn rc<T>(value: T) -> Rc<T> {
    Rc::new(value)
}
