//! The Entra fidelity table: every token shape Entra issues (`tests/fixtures/entra/tokens/`),
//! walked through every way an API is configured against Entra, each served the discovery
//! documents and key sets Entra would serve it (`tests/fixtures/entra/discovery/`, `keys/`).
//! Shared by the pure-Rust suite (`tests/entra_fidelity.rs`) and the WebCrypto suite inside Node
//! (`tests/webcrypto.rs`): the tokens are signed with the backend under test's own `sign`, and
//! verified with its `verify`.
//!
//! Where each shape comes from is in `tests/fixtures/entra/README.md` and in each token file's
//! `source`.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use edge_identity::platform::{AssertionAlgorithm, Crypto, Platform};
use edge_identity::{IdentityConfig, TokenValidator};
use serde_json::{json, Value};

use super::{FixtureWeb, ManualClock, CLIENT_ID, INSTANCE, OTHER_TENANT, T0, TENANT};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/entra/", $path))
    };
}

/// The consumers (personal Microsoft account) tenant.
pub const CONSUMERS: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// A verified domain of [`TENANT`].
pub const DOMAIN: &str = "contoso.onmicrosoft.com";

/// Every fixture token, by file name.
pub const TOKENS: [(&str, &str); 13] = [
    ("v2-delegated", fixture!("tokens/v2-delegated.json")),
    ("v1-delegated", fixture!("tokens/v1-delegated.json")),
    ("v2-app", fixture!("tokens/v2-app.json")),
    ("v1-app", fixture!("tokens/v1-app.json")),
    ("v2-app-without-idtyp", fixture!("tokens/v2-app-without-idtyp.json")),
    ("v2-guest", fixture!("tokens/v2-guest.json")),
    ("v2-personal-account", fixture!("tokens/v2-personal-account.json")),
    ("v2-other-tenant", fixture!("tokens/v2-other-tenant.json")),
    ("v1-other-tenant", fixture!("tokens/v1-other-tenant.json")),
    ("v2-id-token", fixture!("tokens/v2-id-token.json")),
    ("v1-id-token", fixture!("tokens/v1-id-token.json")),
    (
        "hostile-org-token-signed-by-consumers-key",
        fixture!("tokens/hostile-org-token-signed-by-consumers-key.json"),
    ),
    ("v2-signed-by-app-key", fixture!("tokens/v2-signed-by-app-key.json")),
];

/// The test keys (public in Entra's shape, private as PKCS#8), by name.
pub fn test_keys() -> Value {
    serde_json::from_str(fixture!("test-keys.json")).expect("test-keys.json is JSON")
}

/// The fixture key set `name` (`keys/{name}.json`).
pub fn key_set(name: &str) -> Value {
    let text = match name {
        "common" => fixture!("keys/common.json"),
        "organizations" => fixture!("keys/organizations.json"),
        "consumers" => fixture!("keys/consumers.json"),
        "tenant" => fixture!("keys/tenant.json"),
        "tenant-appid" => fixture!("keys/tenant-appid.json"),
        other => panic!("no key set {other}"),
    };
    serde_json::from_str(text).expect("key sets are JSON")
}

fn doc(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture documents are JSON")
}

/// Entra at the HTTP seam: each URL Entra answers, with the fixture it answers with. Anything
/// else is a 404, as Entra gives for an unknown tenant or path.
pub fn entra_fixtures() -> FixtureWeb {
    {
        let app = format!("?appid={CLIENT_ID}");
        let v2 = |tenant: &str, query: &str| {
            format!("{INSTANCE}{tenant}/v2.0/.well-known/openid-configuration{query}")
        };
        let v1 = |tenant: &str, query: &str| {
            format!("{INSTANCE}{tenant}/.well-known/openid-configuration{query}")
        };
        let keys =
            |tenant: &str, query: &str| format!("{INSTANCE}{tenant}/discovery/v2.0/keys{query}");
        let tenant_v2 = doc(fixture!("discovery/v2-tenant.json"));
        let tenant_v1 = doc(fixture!("discovery/v1-tenant.json"));
        let routes = BTreeMap::from([
            // A tenant by id, and by one of its domains: Entra answers both with the tenant's
            // own document (issuer and endpoints name the tenant id).
            (v2(TENANT, ""), tenant_v2.clone()),
            (v2(DOMAIN, ""), tenant_v2),
            (v2("organizations", ""), doc(fixture!("discovery/v2-organizations.json"))),
            (v2("common", ""), doc(fixture!("discovery/v2-common.json"))),
            (v2("consumers", ""), doc(fixture!("discovery/v2-consumers.json"))),
            (v2(TENANT, &app), doc(fixture!("discovery/v2-tenant-appid.json"))),
            (v1(TENANT, ""), tenant_v1.clone()),
            (v1(DOMAIN, ""), tenant_v1.clone()),
            (v1(TENANT, &app), tenant_v1),
            (v1("common", ""), doc(fixture!("discovery/v1-common.json"))),
            (keys(TENANT, ""), key_set("tenant")),
            (keys(TENANT, &app), key_set("tenant-appid")),
            (keys("organizations", ""), key_set("organizations")),
            (keys("common", ""), key_set("common")),
            (keys("consumers", ""), key_set("consumers")),
        ]);
        FixtureWeb::new(routes)
    }
}

/// The ways an API is configured against Entra (the `AzureAd` section), by name.
pub fn configurations() -> Vec<(&'static str, Value)> {
    let base =
        |tenant: &str| json!({"Instance": INSTANCE, "TenantId": tenant, "ClientId": CLIENT_ID});
    let with = |mut v: Value, extra: Value| {
        if let (Some(v), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(e.clone());
        }
        v
    };
    vec![
        ("single tenant by id", base(TENANT)),
        ("single tenant by domain", base(DOMAIN)),
        ("organizations", base("organizations")),
        ("common", base("common")),
        (
            "common, AllowedTenants = the tenant",
            with(base("common"), json!({"AllowedTenants": [TENANT]})),
        ),
        (
            "organizations, AllowedTenants = another tenant",
            with(base("organizations"), json!({"AllowedTenants": [OTHER_TENANT]})),
        ),
        ("consumers", base("consumers")),
        (
            "single tenant, app-specific signing keys",
            with(base(TENANT), json!({"UseAppSpecificSigningKeys": true})),
        ),
    ]
}

/// What every configuration answers to every token: `"ok"` or the error code. One row per
/// configuration, in [`configurations`] order; one column per token, in [`TOKENS`] order.
#[rustfmt::skip]
pub const EXPECTED: [[&str; 13]; 8] = {
    const OK: &str = "ok";
    const UNKNOWN_KEY: &str = "token_key_unknown";
    const TENANT: &str = "token_tenant_not_allowed";
    const NOT_AT: &str = "token_not_an_access_token";
    const ISSUER: &str = "token_issuer_invalid";
    // Columns: v2-delegated, v1-delegated, v2-app, v1-app, v2-app-without-idtyp, v2-guest,
    // v2-personal-account, v2-other-tenant, v1-other-tenant, v2-id-token, v1-id-token,
    // hostile-org-token-signed-by-consumers-key, v2-signed-by-app-key.
    [
        [OK, OK, OK, OK, OK, OK, UNKNOWN_KEY, TENANT, TENANT, NOT_AT, NOT_AT, UNKNOWN_KEY, UNKNOWN_KEY], // by id
        [OK, OK, OK, OK, OK, OK, UNKNOWN_KEY, TENANT, TENANT, NOT_AT, NOT_AT, UNKNOWN_KEY, UNKNOWN_KEY], // by domain
        [OK, OK, OK, OK, OK, OK, UNKNOWN_KEY, OK, OK, NOT_AT, NOT_AT, UNKNOWN_KEY, UNKNOWN_KEY], // organizations
        [OK, OK, OK, OK, OK, OK, OK, OK, OK, NOT_AT, NOT_AT, ISSUER, UNKNOWN_KEY], // common
        [OK, OK, OK, OK, OK, OK, TENANT, TENANT, TENANT, NOT_AT, NOT_AT, ISSUER, UNKNOWN_KEY], // common + allowed
        [TENANT, TENANT, TENANT, TENANT, TENANT, TENANT, UNKNOWN_KEY, OK, OK, NOT_AT, NOT_AT, UNKNOWN_KEY, UNKNOWN_KEY], // organizations + other allowed
        [UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, OK, UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, UNKNOWN_KEY, TENANT, UNKNOWN_KEY], // consumers
        [OK, OK, OK, OK, OK, OK, UNKNOWN_KEY, TENANT, TENANT, NOT_AT, NOT_AT, UNKNOWN_KEY, OK], // app-specific keys
    ]
};

/// Signs fixture tokens with the backend under test (RS256, PKCS#8 test keys).
pub struct FixtureSigner {
    crypto: Rc<dyn Crypto>,
    keys: Value,
}

impl FixtureSigner {
    pub fn new(crypto: Rc<dyn Crypto>) -> Self {
        FixtureSigner { crypto, keys: test_keys() }
    }

    /// The compact JWS of a fixture token file, signed by the key it names.
    pub async fn sign_fixture(&self, fixture: &str) -> String {
        let fixture: Value = serde_json::from_str(fixture).expect("token fixtures are JSON");
        self.sign(
            fixture["signed_by"].as_str().expect("signed_by"),
            &fixture["header"],
            &fixture["claims"],
        )
        .await
    }

    /// A compact JWS of `header` and `claims`, signed with test key `key`.
    pub async fn sign(&self, key: &str, header: &Value, claims: &Value) -> String {
        let der = STANDARD
            .decode(self.keys[key]["pkcs8"].as_str().expect("pkcs8"))
            .expect("pkcs8 is base64");
        let signing_key = self
            .crypto
            .import_signing_key(&der, AssertionAlgorithm::RS256)
            .await
            .expect("the test key imports");
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).expect("JSON")),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("JSON"))
        );
        let signature =
            self.crypto.sign(&signing_key, input.as_bytes()).await.expect("signing works");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// A validator for one configuration against the fixtures, at the fixtures' time.
pub fn entra_validator(
    azure_ad: &Value,
    crypto: Rc<dyn Crypto>,
) -> (TokenValidator, Rc<FixtureWeb>) {
    let entra = Rc::new(entra_fixtures());
    let platform = Platform::new(entra.clone(), crypto, Rc::new(ManualClock::at_secs(T0)));
    let config = IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string())
        .expect("table configurations are valid");
    (TokenValidator::from_config(&config.azure_ad, platform).expect("options"), entra)
}

/// Walks every token through every configuration; returns each cell whose verdict differs from
/// [`EXPECTED`] (and, for accepted tokens, whose `is_app_only` differs from the fixture's).
pub async fn run_table(crypto: Rc<dyn Crypto>) -> Vec<String> {
    let signer = FixtureSigner::new(crypto.clone());
    let mut tokens = Vec::new();
    for (name, fixture) in TOKENS {
        let app_only = serde_json::from_str::<Value>(fixture).expect("JSON")["app_only"]
            .as_bool()
            .expect("app_only");
        tokens.push((name, signer.sign_fixture(fixture).await, app_only));
    }
    let mut failures = Vec::new();
    for ((config_name, azure_ad), row) in configurations().into_iter().zip(EXPECTED) {
        let (validator, _) = entra_validator(&azure_ad, crypto.clone());
        for ((token_name, token, app_only), expected) in tokens.iter().zip(row) {
            let got = match validator.validate(token).await {
                Ok(valid) if valid.is_app_only() != *app_only => {
                    format!("ok but is_app_only() = {}", valid.is_app_only())
                }
                Ok(_) => "ok".to_owned(),
                Err(e) => e.code().to_owned(),
            };
            if got != expected {
                failures
                    .push(format!("{config_name} × {token_name}: expected {expected}, got {got}"));
            }
        }
    }
    failures
}
