//! Serving through an identity-provider outage. One isolate validates a user's token and gets a
//! downstream token for them; then the provider's discovery document, key set and token endpoint
//! all go down; a new isolate on the same shared store still serves that user — validation from
//! the stored (sealed) documents, the downstream token from the stored token — without a single
//! request to the provider, for an Entra authority and for a generic OpenID Connect one (whose
//! token endpoint comes from discovery). A user with nothing cached gets a 503, not a hang.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{HttpClient, HttpError, LocalFuture, MemoryStore, Platform};
use edge_identity::{IdentityConfig, TokenAcquirer, TokenRequest, TokenValidator};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::acquisition::{json_answer, seal_secret, ScriptedWeb, SEAL_SECRET, SECRET};
use support::signing::TestSigner;
use support::*;

const GENERIC: &str = "https://idp.example.com/realms/edge";

/// The provider: the scripted web behind a switch that takes every endpoint down at once.
struct Provider {
    web: Rc<ScriptedWeb>,
    down: Cell<bool>,
    attempts_while_down: Cell<usize>,
}

impl HttpClient for Provider {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        if self.down.get() {
            self.attempts_while_down.set(self.attempts_while_down.get() + 1);
            return Box::pin(async { Err(HttpError::Transport("connection refused".into())) });
        }
        self.web.send(request, timeout)
    }
}

struct World {
    provider: Rc<Provider>,
    store: Rc<MemoryStore>,
    clock: Rc<ManualClock>,
    config: IdentityConfig,
}

impl World {
    /// An Entra authority (`TenantId`) or a generic one (`Authority`) whose documents, keys and
    /// token endpoint the scripted web serves.
    fn new(generic: bool) -> World {
        let web = ScriptedWeb::new();
        let (metadata, jwks, issuer) = if generic {
            (
                format!("{GENERIC}/.well-known/openid-configuration"),
                format!("{GENERIC}/certs"),
                GENERIC.to_owned(),
            )
        } else {
            (metadata_url(TENANT), jwks_url(TENANT), v2_issuer(TENANT))
        };
        let token_endpoint = format!("{GENERIC}/protocol/openid-connect/token");
        web.token_endpoints.borrow_mut().push(token_endpoint.clone());
        let discovery =
            json!({"issuer": issuer, "jwks_uri": jwks, "token_endpoint": token_endpoint});
        web.route(&metadata, move |_| json_answer(200, discovery.clone()));
        let keys = json!({"keys": [TestSigner::Rsa.public_jwk("rsa")]});
        web.route(&jwks, move |_| json_answer(200, keys.clone()));
        let azure_ad = if generic {
            // Entra's token shapes at a generic authority's URLs.
            json!({"Authority": GENERIC, "Provider": "Entra", "ClientId": CLIENT_ID,
                   "Audience": CLIENT_ID, "OnBehalfOfGrant": "JwtBearer"})
        } else {
            json!({"Instance": INSTANCE, "TenantId": TENANT, "ClientId": CLIENT_ID})
        };
        let mut azure_ad = azure_ad;
        azure_ad["ClientCredentials"] =
            json!([{"SourceType": "ClientSecret", "ClientSecret": SECRET}]);
        let config = IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string()).unwrap();
        World {
            provider: rc(Provider {
                web,
                down: Cell::new(false),
                attempts_while_down: Cell::new(0),
            }),
            store: rc(MemoryStore::new()),
            clock: rc(ManualClock::at_secs(T0)),
            config,
        }
    }

    /// A new isolate on the shared store: nothing in memory.
    fn isolate(&self) -> (TokenValidator, TokenAcquirer) {
        let platform =
            Platform::new(self.provider.clone(), Rc::new(RustCrypto), self.clock.clone())
                .with_store(self.store.clone(), Some(&seal_secret(SEAL_SECRET)));
        let validator =
            TokenValidator::from_config(&self.config.azure_ad, platform.clone()).unwrap();
        (validator, TokenAcquirer::from_config(platform, &self.config).unwrap())
    }

    fn token_for(&self, oid: &str, generic: bool) -> String {
        let mut claims: Value = with(entra_claims(self.clock.secs()), json!({"oid": oid}));
        if generic {
            claims["iss"] = json!(GENERIC);
        }
        TestSigner::Rsa.sign("rsa", &claims)
    }
}

fn serves_cached_users_through_the_outage(generic: bool) {
    let world = World::new(generic);
    let request = TokenRequest::new(["api://partner/read"]);
    let (validator, acquirer) = world.isolate();
    let users: Vec<String> = (1..=3)
        .map(|i| world.token_for(&format!("a1b2c3d4-0000-4000-8000-00000000000{i}"), generic))
        .collect();
    for token in &users {
        let user = block_on(validator.validate(token)).unwrap();
        block_on(acquirer.token_for_user(&user, &request)).unwrap();
    }

    world.provider.down.set(true);
    world.clock.advance(Duration::from_secs(120));
    let (validator, acquirer) = world.isolate();
    for token in &users {
        let user =
            block_on(validator.validate(token)).expect("validated from the stored documents");
        let downstream = block_on(acquirer.token_for_user(&user, &request))
            .expect("served from the stored token");
        assert!(downstream.from_cache());
    }
    assert_eq!(world.provider.attempts_while_down.get(), 0, "no request reached the provider");

    // A user with nothing cached: the provider is needed, and it is down.
    let newcomer = block_on(validator.validate(&world.token_for("new-user", generic))).unwrap();
    let err = block_on(acquirer.token_for_user(&newcomer, &request)).unwrap_err();
    assert_eq!(err.status(), 503, "{err:?}");
}

#[test]
fn a_new_isolate_serves_every_cached_user_while_an_entra_provider_is_down() {
    serves_cached_users_through_the_outage(false);
}

#[test]
fn a_new_isolate_serves_every_cached_user_while_a_generic_provider_is_down() {
    serves_cached_users_through_the_outage(true);
}

#[test]
fn validation_and_acquisition_read_one_discovery_document_per_isolate() {
    let world = World::new(true);
    let (validator, acquirer) = world.isolate();
    let user = block_on(validator.validate(&world.token_for("u1", true))).unwrap();
    block_on(acquirer.token_for_user(&user, &TokenRequest::new(["api://partner/read"]))).unwrap();
    block_on(acquirer.token_for_app(&TokenRequest::new(["api://partner/.default"]))).unwrap();
    let discovery = world.provider.web.requests_to(&format!("{GENERIC}/.well-known")).len();
    assert_eq!(discovery, 1, "one discovery for validation and acquisition together");
}
