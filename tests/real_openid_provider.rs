//! The `Generic` preset against a real, OpenID Certified authorization server: npm
//! `oidc-provider` on 127.0.0.1 (`tests/e2e/oidc-provider.mjs`), configured for RFC 9068 JWT
//! access tokens (resource indicators), client credentials, refresh tokens, one client per
//! client authentication method (the server enforces each), and the RFC 8693 grant registered
//! through its extension point. Every token here was issued by oidc-provider itself; the shapes
//! are its own (a user's access token from a real code flow, a client-credentials token, a
//! code-flow ID token).
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{MemoryStore, Platform, SystemClock};
use edge_identity::{
    AcquisitionError, AcquisitionOptions, IdentityConfig, Provider, SealSecret, Secret,
    TokenAcquirer, TokenRequest, TokenValidator, ValidationError,
};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::loopback_http::LoopbackHttp;
use support::node_server::NodeServer;

/// The scope the API's user routes require, and the daemon's token also carries.
const SCOPE: &str = "access_as_user";

struct OpenIdProvider {
    server: NodeServer,
}

impl OpenIdProvider {
    fn start() -> Self {
        OpenIdProvider { server: NodeServer::start("oidc-provider-server.mjs") }
    }

    fn get(&self, name: &str) -> String {
        self.server.announced[name].as_str().unwrap_or_else(|| panic!("{name}")).to_owned()
    }

    fn token(&self, name: &str) -> String {
        self.server.announced["tokens"][name].as_str().unwrap_or_else(|| panic!("{name}")).into()
    }

    fn client(&self, method: &str) -> Value {
        self.server.announced["clients"][method].clone()
    }

    /// The API's configuration: a Generic authority at the server, the API's resource as
    /// audience, token exchange, and `client` (with its secret or certificate) as credential.
    fn config(&self, client: &Value, method: Option<&str>) -> IdentityConfig {
        let credential = match client["secret"].as_str() {
            Some(secret) => json!({"SourceType": "ClientSecret", "ClientSecret": secret}),
            None => json!({"SourceType": "Base64Encoded",
                "Base64EncodedValue": STANDARD.encode(client["pemBundle"].as_str().unwrap())}),
        };
        let mut azure_ad = json!({
            "Authority": self.get("issuer"), "ClientId": client["id"],
            "Audience": self.get("apiResource"), "OnBehalfOfGrant": "TokenExchange",
            "ClientCredentials": [credential],
        });
        if let Some(method) = method {
            azure_ad["TokenEndpointAuthMethod"] = json!(method);
        }
        IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string()).unwrap()
    }
}

fn platform() -> Platform {
    Platform::new(Rc::new(LoopbackHttp), Rc::new(RustCrypto), Rc::new(SystemClock))
}

fn validator(config: &IdentityConfig) -> TokenValidator {
    TokenValidator::from_config(&config.azure_ad, platform()).unwrap()
}

fn acquirer(config: &IdentityConfig) -> TokenAcquirer {
    let seal =
        SealSecret::new(Secret::new("real-openid-provider-cache-key-32ch"), "TOKEN_CACHE_KEY")
            .unwrap();
    let options = AcquisitionOptions::from_config(config).unwrap();
    TokenAcquirer::new(platform().with_store(Rc::new(MemoryStore::new()), Some(&seal)), options)
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn its_users_are_served_its_daemons_are_app_only_and_its_id_tokens_refused() {
    let op = OpenIdProvider::start();
    let config = op.config(&op.client("post"), None);
    assert_eq!(config.azure_ad.validation_options().unwrap().provider, Provider::Generic);
    let validator = validator(&config);

    let user = block_on(validator.validate(&op.token("user"))).expect("a user's RFC 9068 token");
    assert_eq!(user.subject(), Some("user-1"));
    assert!(!user.is_app_only());
    assert!(user.require_scope(&[SCOPE]).is_ok());

    // The attack: client credentials, `sub` = `client_id`, carrying the user scope.
    let app = block_on(validator.validate(&op.token("app"))).expect("the daemon's token is valid");
    assert!(app.is_app_only(), "RFC 9068 §2.2: sub = client_id is the client itself");
    assert!(app.require_scope(&[SCOPE]).is_err(), "never a delegated scope");
    assert!(app.require_app_role(&[SCOPE]).is_ok(), "but an app permission");

    // oidc-provider's ID token has no `typ` header (and a `nonce`): not an RFC 9068 token.
    assert_eq!(
        block_on(validator.validate(&op.token("idToken"))).unwrap_err(),
        ValidationError::InvalidType
    );
    assert_eq!(
        block_on(validator.validate(&op.token("otherAudience"))).unwrap_err(),
        ValidationError::InvalidAudience
    );
}

#[test]
fn its_dpop_bound_token_is_refused_as_a_bearer_token() {
    // oidc-provider with RFC 9449 enabled, asked with a DPoP proof: the token is bound to the
    // proof's key. Sent to us as a bearer token (no proof) it must be refused (§7.2), where it
    // used to be accepted and could be exchanged for an unbound downstream token.
    let op = OpenIdProvider::start();
    let token = op.token("dpopBound");
    let jkt = claims_of(&token)["cnf"]["jkt"].as_str().map(str::len);
    assert_eq!(jkt, Some(43), "the server's own shape: cnf.jkt, a base64url SHA-256");
    let validator = validator(&op.config(&op.client("post"), None));
    assert_eq!(
        block_on(validator.validate(&token)).unwrap_err(),
        ValidationError::SenderConstrained
    );
    // The same client's unbound token is accepted: only the binding is refused.
    assert!(block_on(validator.validate(&op.token("app"))).is_ok());
}

#[test]
fn each_client_authentication_method_is_accepted_by_the_real_server() {
    let op = OpenIdProvider::start();
    let exchange = TokenRequest::new(["read"]).with_resource(op.get("downstreamResource"));
    // `basic` is chosen from discovery (oidc-provider lists client_secret_basic); the others
    // are configured.
    for (client, method) in [
        ("basic", None),
        ("post", Some("client_secret_post")),
        ("privateKeyJwt", Some("private_key_jwt")),
    ] {
        let config = op.config(&op.client(client), method);
        let user = block_on(validator(&config).validate(&op.token("user"))).unwrap();
        let acquirer = acquirer(&config);
        let exchanged = block_on(acquirer.token_for_user(&user, &exchange))
            .unwrap_or_else(|e| panic!("{client}: token exchange refused: {e}"));
        let claims = claims_of(exchanged.secret());
        assert_eq!(
            (claims["sub"].as_str(), claims["aud"].as_str()),
            (Some("user-1"), Some(op.get("downstreamResource").as_str())),
            "{client}: the exchanged token is for the same user and the downstream API"
        );
        let app = block_on(acquirer.token_for_app(&TokenRequest::new([SCOPE])))
            .unwrap_or_else(|e| panic!("{client}: client credentials refused: {e}"));
        assert_eq!(claims_of(app.secret())["sub"], op.client(client)["id"], "{client}");
    }
}

#[test]
fn the_server_refuses_a_credential_of_another_kind_than_the_client_registered() {
    // oidc-provider 9 treats client_secret_basic and client_secret_post as one (its
    // lib/shared/client_auth.js): it cannot refuse one for the other, and
    // tests/e2e/generic-provider.test.mjs checks which of the two the SDK sent. What it does
    // enforce: a secret for the private_key_jwt client, an assertion for a secret client.
    let op = OpenIdProvider::start();
    let pkjwt = op.client("privateKeyJwt");
    let secret_for_pkjwt = json!({"id": pkjwt["id"], "secret": op.client("post")["secret"]});
    let mut assertion_for_post = op.client("post");
    assertion_for_post["secret"] = Value::Null;
    assertion_for_post["pemBundle"] = pkjwt["pemBundle"].clone();
    for (name, client) in [
        ("secret for a private_key_jwt client", secret_for_pkjwt),
        ("assertion for a secret client", assertion_for_post),
    ] {
        let acquirer = acquirer(&op.config(&client, None));
        let err = block_on(acquirer.token_for_app(&TokenRequest::new([SCOPE]))).unwrap_err();
        assert!(matches!(err, AcquisitionError::InvalidClient(_)), "{name}: {err:?}");
    }
}

#[test]
fn its_client_credentials_token_is_never_exchanged_as_a_user() {
    let op = OpenIdProvider::start();
    let config = op.config(&op.client("post"), None);
    let app = block_on(validator(&config).validate(&op.token("app"))).unwrap();
    let request = TokenRequest::new(["read"]).with_resource(op.get("downstreamResource"));
    let err = block_on(acquirer(&config).token_for_user(&app, &request)).unwrap_err();
    assert_eq!(err, AcquisitionError::AppOnlyCaller);
}

#[test]
fn a_key_rotated_by_restarting_the_server_is_picked_up_and_the_old_one_dropped() {
    let mut op = OpenIdProvider::start();
    let mut config = op.config(&op.client("post"), None);
    // The shortest cooldown between key-set fetches, so the test waits one second, not thirty.
    config.azure_ad.key_refresh_cooldown_seconds = Some(1);
    let validator = validator(&config);
    let old = op.token("user");
    block_on(validator.validate(&old)).expect("before the rotation");

    let rotated = op.server.command("rotate");
    assert_eq!(rotated["rotated"], true, "{rotated}");
    let new = rotated["tokens"]["user"].as_str().expect("a token signed by the new key");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let user = block_on(validator.validate(new)).expect("the new key is fetched for its kid");
    assert_eq!(user.subject(), Some("user-1"));
    // The old key is gone from the new set: its tokens no longer verify.
    assert_eq!(block_on(validator.validate(&old)).unwrap_err(), ValidationError::UnknownKey);
}
