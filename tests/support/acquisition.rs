//! Test doubles for token acquisition and downstream calls at the HTTP seam: a scripted web
//! (token endpoint, discovery, downstream APIs) that records every request, validated user
//! tokens minted with the RFC test key, a background spawner the test drives, and a logger
//! that keeps its lines.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{
    Background, HttpClient, HttpError, KeyValueStore, LocalFuture, Logger, Platform, ResponseLimit,
};
use edge_identity::{IdentityConfig, TokenAcquirer, TokenValidator, ValidatedToken};
use edge_identity::{SealSecret, Secret};
use serde_json::{json, Value};

use super::signing::TestSigner;
use super::*;

pub fn token_endpoint(tenant: &str) -> String {
    format!("{INSTANCE}{tenant}/oauth2/v2.0/token")
}

/// One request as the scripted web saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub url: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    pub timeout: Duration,
    /// The body limit the SDK set on the request ([`edge_identity::platform::ResponseLimit`]).
    pub response_limit: Option<usize>,
}

impl Seen {
    /// The form parameters of a token request.
    pub fn form(&self) -> BTreeMap<String, String> {
        form_decode(std::str::from_utf8(&self.body).unwrap())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
}

pub fn form_decode(text: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

pub type Answer = Result<http::Response<Vec<u8>>, HttpError>;
type Handler = Rc<dyn Fn(&Seen) -> Answer>;

pub fn json_answer(status: u16, body: Value) -> Answer {
    Ok(http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap())
}

/// A web scripted per URL: queued answers first, then the URL's handler. Token endpoints mint
/// `at-<n>` / `rt-<n>` tokens by default.
#[derive(Default)]
pub struct ScriptedWeb {
    pub seen: RefCell<Vec<Seen>>,
    queued: RefCell<HashMap<String, VecDeque<Answer>>>,
    handlers: RefCell<HashMap<String, Handler>>,
    minted: Cell<u64>,
    pub token_endpoints: RefCell<Vec<String>>,
    pub expires_in: Cell<u64>,
    pub refresh_in: Cell<Option<u64>>,
    pub issue_refresh_tokens: Cell<bool>,
    /// Extra polls every answer takes, so many requests can be in flight at once.
    pub latency_polls: Cell<u32>,
}

impl ScriptedWeb {
    pub fn new() -> Rc<Self> {
        let web = ScriptedWeb::default();
        web.expires_in.set(3600);
        web.issue_refresh_tokens.set(true);
        web.token_endpoints
            .borrow_mut()
            .extend([token_endpoint(TENANT), token_endpoint(OTHER_TENANT)]);
        Rc::new(web)
    }

    pub fn queue(&self, url: &str, answer: Answer) {
        self.queued.borrow_mut().entry(url.to_owned()).or_default().push_back(answer);
    }

    pub fn route(&self, url: &str, handler: impl Fn(&Seen) -> Answer + 'static) {
        self.handlers.borrow_mut().insert(url.to_owned(), Rc::new(handler));
    }

    /// Requests to any token endpoint.
    pub fn token_requests(&self) -> Vec<Seen> {
        let endpoints = self.token_endpoints.borrow();
        self.seen.borrow().iter().filter(|s| endpoints.contains(&s.url)).cloned().collect()
    }

    pub fn requests_to(&self, url_prefix: &str) -> Vec<Seen> {
        self.seen.borrow().iter().filter(|s| s.url.starts_with(url_prefix)).cloned().collect()
    }

    fn mint(&self, seen: &Seen) -> Answer {
        let n = self.minted.get() + 1;
        self.minted.set(n);
        let form = seen.form();
        let mut body = json!({
            "token_type": "Bearer",
            "expires_in": self.expires_in.get(),
            "access_token": format!("at-{n}"),
            "scope": form.get("scope").cloned().unwrap_or_default(),
        });
        if let Some(r) = self.refresh_in.get() {
            body["refresh_in"] = json!(r);
        }
        if self.issue_refresh_tokens.get() && form["grant_type"] != "client_credentials" {
            body["refresh_token"] = json!(format!("rt-{n}"));
        }
        json_answer(200, body)
    }
}

impl HttpClient for ScriptedWeb {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response_limit = parts.extensions.get::<ResponseLimit>().map(|l| l.0);
            let seen = Seen {
                method: parts.method.to_string(),
                url: parts.uri.to_string(),
                headers: parts.headers,
                body,
                timeout,
                response_limit,
            };
            self.seen.borrow_mut().push(seen.clone());
            yield_now().await;
            for _ in 0..self.latency_polls.get() {
                yield_now().await;
            }
            let queued = self.queued.borrow_mut().get_mut(&seen.url).and_then(VecDeque::pop_front);
            if let Some(answer) = queued {
                return answer;
            }
            let handler = self.handlers.borrow().get(&seen.url).cloned();
            if let Some(handler) = handler {
                return handler(&seen);
            }
            if self.token_endpoints.borrow().contains(&seen.url) {
                return self.mint(&seen);
            }
            json_answer(404, json!({"error": "not_found"}))
        })
    }
}

/// Work handed to `ctx.wait_until`, run when the test says.
#[derive(Default)]
pub struct Deferred(RefCell<Vec<LocalFuture<'static, ()>>>);

impl Deferred {
    pub fn pending(&self) -> usize {
        self.0.borrow().len()
    }

    pub fn run_all(&self) {
        let work: Vec<_> = self.0.borrow_mut().drain(..).collect();
        for w in work {
            futures::executor::block_on(w);
        }
    }
}

impl Background for Deferred {
    fn spawn(&self, work: LocalFuture<'static, ()>) {
        self.0.borrow_mut().push(work);
    }
}

/// Keeps every warning.
#[derive(Default)]
pub struct Lines(pub RefCell<Vec<String>>, pub RefCell<Vec<String>>);

impl Logger for Lines {
    fn warn(&self, message: &str) {
        self.0.borrow_mut().push(message.to_owned());
    }

    /// Structured events go to `.1`.
    fn event(&self, json_line: &str) {
        self.1.borrow_mut().push(json_line.to_owned());
    }
}

pub const SECRET: &str = "client-secret-value-never-logged";

/// `AzureAd` for [`TENANT`] with a client secret, plus `extra`; other sections from `sections`.
pub fn config(extra: Value, sections: Value) -> IdentityConfig {
    let mut azure_ad = json!({
        "Instance": INSTANCE, "TenantId": TENANT, "ClientId": CLIENT_ID,
        "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": SECRET}]
    });
    azure_ad.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let mut doc = json!({"AzureAd": azure_ad});
    doc.as_object_mut().unwrap().extend(sections.as_object().unwrap().clone());
    IdentityConfig::from_json(&doc.to_string()).unwrap()
}

/// An isolate: the scripted web, a manual clock, a store, a logger.
pub struct Isolate {
    pub web: Rc<ScriptedWeb>,
    pub clock: Rc<ManualClock>,
    pub lines: Rc<Lines>,
    pub platform: Platform,
}

impl Isolate {
    /// An isolate sharing `store` (sealed with [`SEAL_SECRET`]), or none.
    pub fn new(
        web: Rc<ScriptedWeb>,
        clock: Rc<ManualClock>,
        store: Option<Rc<dyn KeyValueStore>>,
    ) -> Isolate {
        let lines = Rc::new(Lines::default());
        let mut platform = Platform::new(web.clone(), Rc::new(RustCrypto), clock.clone())
            .with_logger(lines.clone());
        if let Some(store) = store {
            platform = platform.with_store(store, Some(&seal_secret(SEAL_SECRET)));
        }
        Isolate { web, clock, lines, platform }
    }

    /// An isolate sharing `store` sealed with `secret`.
    pub fn sealed_with(
        web: Rc<ScriptedWeb>,
        clock: Rc<ManualClock>,
        store: Rc<dyn KeyValueStore>,
        secret: &str,
    ) -> Isolate {
        let lines = Rc::new(Lines::default());
        let platform = Platform::new(web.clone(), Rc::new(RustCrypto), clock.clone())
            .with_logger(lines.clone())
            .with_store(store, Some(&seal_secret(secret)));
        Isolate { web, clock, lines, platform }
    }

    pub fn acquirer(&self, config: &IdentityConfig) -> TokenAcquirer {
        TokenAcquirer::from_config(self.platform.clone(), config).unwrap()
    }
}

/// The seal secret test isolates share their store with.
pub const SEAL_SECRET: &str = "0123456789abcdef0123456789abcdef-seal";

/// `secret` as a seal secret (at least 32 characters).
pub fn seal_secret(secret: &str) -> SealSecret {
    SealSecret::new(Secret::new(secret), "TOKEN_CACHE_KEY").expect("a long enough test secret")
}

/// A validated user token for [`TENANT`] (or the `tid` in `patch`), valid from `now` for an hour
/// (one with a `cnf` in `patch` is taken as a DPoP request would take it).
pub fn user_at(now: u64, patch: Value) -> ValidatedToken {
    let claims = with(entra_claims(now), patch);
    let tenant = claims["tid"].as_str().unwrap().to_owned();
    let idp = rc(ScriptedIdp::entra(&tenant, vec![TestSigner::Rsa.public_jwk("rsa")]));
    let clock = rc(ManualClock::at_secs(now));
    let platform = Platform::new(idp, Rc::new(RustCrypto), clock);
    let config = IdentityConfig::from_json(
        &json!({"AzureAd": {
            "Instance": INSTANCE, "TenantId": tenant, "ClientId": CLIENT_ID,
            "Dpop": {"BoundTokensAsBearer": true}
        }})
        .to_string(),
    )
    .unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    let token = TestSigner::Rsa.sign("rsa", &claims);
    futures::executor::block_on(validator.validate(&token)).unwrap()
}

/// The issuer of [`rfc9068_token`]'s tokens.
pub const RFC9068_ISSUER: &str = "https://as.example.com";

/// A token in RFC 9068's shape (header `typ: at+jwt`; `iss`, `sub`, `aud`, `client_id`,
/// `scope`, times around [`T0`]) with `patch` applied, validated by the Generic preset.
pub fn rfc9068_token(patch: Value) -> ValidatedToken {
    let claims = with(
        json!({"iss": RFC9068_ISSUER, "sub": "5ba552d67", "aud": CLIENT_ID, "client_id": "s6BhdRkqt3",
               "scope": "access_as_user", "iat": T0 - 60, "exp": T0 + 3600, "jti": "dbe39bf3"}),
        patch,
    );
    let idp = ScriptedIdp {
        metadata_url: format!("{RFC9068_ISSUER}/.well-known/openid-configuration"),
        discovery: RefCell::new(
            json!({"issuer": RFC9068_ISSUER, "jwks_uri": format!("{RFC9068_ISSUER}/jwks")}),
        ),
        v1_discovery: None,
        ..ScriptedIdp::entra(TENANT, vec![TestSigner::Rsa.public_jwk("rsa")])
    };
    let platform = Platform::new(rc(idp), Rc::new(RustCrypto), rc(ManualClock::at_secs(T0)));
    let config = IdentityConfig::from_json(
        &json!({"AzureAd": {"Authority": RFC9068_ISSUER, "ClientId": CLIENT_ID}}).to_string(),
    )
    .unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    let header = json!({"alg": "RS256", "kid": "rsa", "typ": "at+jwt"});
    let token = TestSigner::Rsa.sign_with_header(&header, &claims);
    futures::executor::block_on(validator.validate(&token)).unwrap()
}

/// The default user, token issued at [`T0`].
pub fn user() -> ValidatedToken {
    user_at(T0, json!({}))
}

/// Another user (different `oid` and token).
pub fn other_user() -> ValidatedToken {
    user_at(T0, json!({"oid": "a1b2c3d4-0000-4000-8000-000000000002", "sub": "other"}))
}

/// The downstream API [`profile_web_api`] calls (`GET me` answers `{"name": "Ada"}`).
pub const PROFILE_API: &str = "https://profile.example.com";

/// A `WebApi` for [`TENANT`] with the client secret and the `Profile` API, on `iso`: its
/// scripted web serves the Entra-shaped discovery document and key set (the `rsa` test key) and
/// [`PROFILE_API`]. `sections` are added to the configuration (`{"Events": ...}`).
pub fn profile_web_api(iso: &Isolate, sections: Value) -> edge_identity::WebApi {
    iso.web.route(&format!("{PROFILE_API}/me"), |_| json_answer(200, json!({"name": "Ada"})));
    let keys = json!({"keys": [crate::support::signing::TestSigner::Rsa.public_jwk("rsa")]});
    iso.web.route(&metadata_url(TENANT), |_| {
        json_answer(200, json!({"issuer": v2_issuer(TENANT), "jwks_uri": jwks_url(TENANT)}))
    });
    iso.web.route(&jwks_url(TENANT), move |_| json_answer(200, keys.clone()));
    let mut config = json!({"AzureAd": {"Instance": INSTANCE, "TenantId": TENANT, "ClientId": CLIENT_ID},
        "DownstreamApis": {"Profile": {"BaseUrl": PROFILE_API, "Scopes": ["api://profile/read"]}}});
    config.as_object_mut().unwrap().extend(sections.as_object().unwrap().clone());
    let settings =
        edge_identity::HostSettings::from_values(Some(&config.to_string()), Some(SECRET), None)
            .unwrap();
    edge_identity::WebApi::new(settings, iso.platform.clone()).unwrap()
}
