//! DPoP (RFC 9449) at the validator: RFC 9449's own examples (tests/fixtures/dpop/rfc9449.json,
//! copied from the RFC's figures and checked there with jose), every check of §4.3 failing on
//! its own, replay in one isolate and across two sharing a store, the schemes each mode takes,
//! the challenges of §7.1 and RFC 9728, server nonces, and that the verified-token cache never
//! lets a DPoP token skip its proof.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edge_identity::dpop::{access_token_hash, check_proof, ProofContext};
use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{MemoryStore, Platform};
use edge_identity::{
    DpopError, DpopMode, DpopOptions, IdentityConfig, Scheme, TokenValidator, ValidationError,
};
use futures::executor::block_on;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::acquisition::seal_secret;
use support::signing::TestSigner;
use support::*;

const ISSUER: &str = "https://idp.example/realms/shop";
const API_URL: &str = "https://api.example.com/api/me";

fn rfc9449() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dpop/rfc9449.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 thumbprint of an EC key, written out here rather than taken from the SDK.
fn ec_thumbprint(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap(),
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    b64(&Sha256::digest(canonical.as_bytes()))
}

struct Isolate {
    clock: Rc<ManualClock>,
    validator: TokenValidator,
}

/// A Generic-authority API (RFC 9068 tokens from `ISSUER`) with `extra` in `AzureAd`, on its own
/// isolate, sharing `store` (sealed) when given.
fn isolate(extra: Value, store: Option<Rc<MemoryStore>>) -> Isolate {
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::Rsa.public_jwk("rsa")]));
    idp.discovery.replace(json!({"issuer": ISSUER, "jwks_uri": format!("{ISSUER}/certs")}));
    let idp = rc(ScriptedIdp {
        metadata_url: format!("{ISSUER}/.well-known/openid-configuration"),
        ..Rc::try_unwrap(idp).ok().unwrap()
    });
    let clock = rc(ManualClock::at_secs(T0));
    let mut platform = Platform::new(idp, Rc::new(RustCrypto), clock.clone());
    if let Some(store) = store {
        platform = platform.with_store(store, Some(&seal_secret(acquisition::SEAL_SECRET)));
    }
    let mut azure_ad = json!({"Authority": ISSUER, "ClientId": "shop-api"});
    azure_ad.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let config = IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string()).unwrap();
    let mut validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    if config.azure_ad.dpop.as_ref().is_some_and(|d| d.nonce) {
        validator = validator.with_dpop_nonce_secret(&seal_secret(acquisition::SEAL_SECRET));
    }
    Isolate { clock, validator }
}

/// The client's key: RFC 7515 A.3's P-256 key.
fn client_key() -> TestSigner {
    TestSigner::rfc_ec()
}

fn jkt_of(key: &TestSigner) -> String {
    ec_thumbprint(&key.public_jwk("any"))
}

/// An access token from `ISSUER` bound to `key` (`cnf.jkt`), as oidc-provider issues them.
fn bound_token(key: &TestSigner) -> String {
    token(json!({"cnf": {"jkt": jkt_of(key)}}))
}

fn token(extra: Value) -> String {
    let claims = with(
        json!({"iss": ISSUER, "aud": "shop-api", "exp": T0 + 600, "iat": T0, "sub": "u1",
               "client_id": "spa", "scope": "read"}),
        extra,
    );
    TestSigner::Rsa
        .sign_with_header(&json!({"alg": "RS256", "kid": "rsa", "typ": "at+jwt"}), &claims)
}

/// A proof by `key` for `method` `url` and `token`, made at `iat`, with `patch` over its claims
/// and `header` over its header.
fn proof_with(key: &TestSigner, token: &str, claims: Value, header: Value) -> String {
    let mut jwk = key.public_jwk("x");
    for member in ["kid", "use"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    let header = with(json!({"typ": "dpop+jwt", "alg": key.alg(), "jwk": jwk}), header);
    let claims = with(
        json!({"jti": format!("jti-{}", rand_suffix()), "htm": "GET", "htu": API_URL, "iat": T0,
               "ath": b64(&Sha256::digest(token.as_bytes()))}),
        claims,
    );
    key.sign_with_header(&header, &claims)
}

fn proof(key: &TestSigner, token: &str) -> String {
    proof_with(key, token, json!({}), json!({}))
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn request(authorization: &str, proofs: &[&str]) -> http::Request<()> {
    let mut builder = http::Request::get(API_URL).header("authorization", authorization);
    for proof in proofs {
        builder = builder.header("dpop", *proof);
    }
    builder.body(()).unwrap()
}

impl Isolate {
    fn dpop(
        &self,
        token: &str,
        proofs: &[&str],
    ) -> Result<edge_identity::ValidatedToken, edge_identity::Refusal> {
        block_on(self.validator.validate_request(&request(&format!("DPoP {token}"), proofs)))
    }

    fn code(&self, token: &str, proofs: &[&str]) -> &'static str {
        self.dpop(token, proofs).map(|_| ()).unwrap_err().code()
    }
}

// ---- RFC 9449's own examples ----------------------------------------------------------------

#[test]
fn rfc_9449_figure_13s_proof_passes_every_check_for_its_request_and_token() {
    let rfc = rfc9449();
    let example = &rfc["examples"][2];
    let url = url::Url::parse(example["request"]["url"].as_str().unwrap()).unwrap();
    let token = example["access_token"].as_str().unwrap();
    let jkt = rfc["jkt_section_6_1"].as_str().unwrap();
    let iat = example["payload"]["iat"].as_u64().unwrap();
    let ath = access_token_hash(token);
    let context = ProofContext { method: "GET", url: &url, ath: &ath, jkt, now_ms: iat * 1000 };
    let options = DpopOptions::new(DpopMode::Allowed);
    let proof = example["proof"].as_str().unwrap();
    let checked = block_on(check_proof(proof, context, &options, &RustCrypto)).unwrap();
    assert_eq!(checked.issued_at, iat);

    // Each part of the request or token changed: refused, for that reason.
    let check = |context: ProofContext<'_>| {
        block_on(check_proof(proof, context, &options, &RustCrypto)).unwrap_err()
    };
    assert_eq!(check(ProofContext { method: "POST", ..context }), DpopError::ProofMethod);
    let elsewhere = url::Url::parse("https://resource.example.org/other").unwrap();
    assert_eq!(check(ProofContext { url: &elsewhere, ..context }), DpopError::ProofUrl);
    let other = access_token_hash("another-token");
    assert_eq!(check(ProofContext { ath: &other, ..context }), DpopError::ProofTokenHash);
    let other_key = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    assert_eq!(check(ProofContext { jkt: other_key, ..context }), DpopError::ProofKeyMismatch);
    let late = (iat + 301) * 1000;
    assert_eq!(check(ProofContext { now_ms: late, ..context }), DpopError::ProofIssuedAt);
    let early = (iat - 61) * 1000;
    assert_eq!(check(ProofContext { now_ms: early, ..context }), DpopError::ProofIssuedAt);
    let only_rs256 = DpopOptions { algorithms: vec![edge_identity::Algorithm::RS256], ..options };
    assert_eq!(
        block_on(check_proof(proof, context, &only_rs256, &RustCrypto)).unwrap_err(),
        DpopError::ProofAlgorithm
    );
}

#[test]
fn rfc_9449s_token_endpoint_proofs_are_no_proof_at_a_resource() {
    // Figures 2 and 7 (§4.1, §5): proofs for the token endpoint carry no `ath`, so they can't
    // stand for a token at a resource server, even at their own htm/htu and time.
    let rfc = rfc9449();
    let jkt = rfc["jkt_section_6_1"].as_str().unwrap();
    for example in rfc["examples"].as_array().unwrap().iter().take(2) {
        let url = url::Url::parse(example["request"]["url"].as_str().unwrap()).unwrap();
        let iat = example["payload"]["iat"].as_u64().unwrap();
        let context =
            ProofContext { method: "POST", url: &url, ath: "any", jkt, now_ms: iat * 1000 };
        let proof = example["proof"].as_str().unwrap();
        let options = DpopOptions::new(DpopMode::Allowed);
        assert_eq!(
            block_on(check_proof(proof, context, &options, &RustCrypto)).unwrap_err(),
            DpopError::ProofTokenHash,
            "{}",
            example["figure"]
        );
    }
}

#[test]
fn every_rfc_9449_example_keys_thumbprint_is_the_section_6_1_jkt() {
    let rfc = rfc9449();
    for example in rfc["examples"].as_array().unwrap() {
        let jwk = &example["header"]["jwk"];
        assert_eq!(
            edge_identity::dpop::jwk_thumbprint(jwk).as_deref(),
            rfc["jkt_section_6_1"].as_str()
        );
    }
}

// ---- The validator: schemes, checks, replay -------------------------------------------------

#[test]
fn a_bound_token_with_its_proof_is_accepted_and_says_it_came_with_dpop() {
    let api = isolate(json!({}), None);
    let key = client_key();
    let token = bound_token(&key);
    let caller = api.dpop(&token, &[&proof(&key, &token)]).unwrap();
    assert_eq!(caller.scheme(), Scheme::Dpop);
    assert_eq!(caller.dpop_key_thumbprint(), Some(jkt_of(&key).as_str()));
    // An unbound token as a bearer token is still taken where DPoP is only allowed.
    let plain = token_unbound();
    let caller =
        block_on(api.validator.validate_request(&request(&format!("Bearer {plain}"), &[])))
            .unwrap();
    assert_eq!(caller.scheme(), Scheme::Bearer);
}

fn token_unbound() -> String {
    token(json!({}))
}

#[test]
fn the_bound_token_as_a_bearer_token_is_refused_unless_configured() {
    // RFC 9449 §7.2: the downgrade of a stolen bound token to a plain one.
    let key = client_key();
    let token = bound_token(&key);
    let bearer = request(&format!("Bearer {token}"), &[]);
    let api = isolate(json!({}), None);
    let refusal = block_on(api.validator.validate_request(&bearer)).unwrap_err();
    assert_eq!(refusal, ValidationError::SenderConstrained);
    // Also once the token is in the verified-token cache, from a DPoP request.
    api.dpop(&token, &[&proof(&key, &token)]).unwrap();
    assert_eq!(api.validator.verified_tokens(), 1);
    let refusal = block_on(api.validator.validate_request(&bearer)).unwrap_err();
    assert_eq!(refusal, ValidationError::SenderConstrained);

    let trusting = isolate(json!({"Dpop": {"BoundTokensAsBearer": true}}), None);
    assert!(block_on(trusting.validator.validate_request(&bearer)).is_ok());
}

#[test]
fn each_check_of_section_4_3_refuses_with_its_own_code() {
    let api = isolate(json!({}), None);
    let key = client_key();
    let token = bound_token(&key);
    let cases: Vec<(&str, String)> = vec![
        ("dpop_proof_htm_mismatch", proof_with(&key, &token, json!({"htm": "POST"}), json!({}))),
        (
            "dpop_proof_htu_mismatch",
            proof_with(
                &key,
                &token,
                json!({"htu": "https://api.example.com/api/other"}),
                json!({}),
            ),
        ),
        (
            "dpop_proof_htu_mismatch",
            proof_with(&key, &token, json!({"htu": "http://api.example.com/api/me"}), json!({})),
        ),
        (
            "dpop_proof_ath_mismatch",
            proof_with(&key, &token, json!({"ath": b64(&[0; 32])}), json!({})),
        ),
        ("dpop_proof_ath_mismatch", proof_with(&key, &token, json!({"ath": null}), json!({}))),
        ("dpop_proof_iat_invalid", proof_with(&key, &token, json!({"iat": T0 - 301}), json!({}))),
        ("dpop_proof_iat_invalid", proof_with(&key, &token, json!({"iat": T0 + 61}), json!({}))),
        ("dpop_proof_malformed", proof_with(&key, &token, json!({"iat": "now"}), json!({}))),
        ("dpop_proof_malformed", proof_with(&key, &token, json!({"jti": null}), json!({}))),
        ("dpop_proof_malformed", proof_with(&key, &token, json!({"jti": ""}), json!({}))),
        ("dpop_proof_type_invalid", proof_with(&key, &token, json!({}), json!({"typ": "JWT"}))),
        ("dpop_proof_type_invalid", proof_with(&key, &token, json!({}), json!({"typ": null}))),
        (
            "dpop_proof_alg_not_allowed",
            proof_with(&key, &token, json!({}), json!({"alg": "HS256"})),
        ),
        ("dpop_proof_alg_not_allowed", proof_with(&key, &token, json!({}), json!({"alg": "none"}))),
        ("dpop_proof_key_invalid", proof_with(&key, &token, json!({}), json!({"jwk": null}))),
        (
            "dpop_proof_key_invalid",
            // The private key in the proof: refused, whatever the signature.
            proof_with(&key, &token, json!({}), json!({"jwk": {"d": "ZmFrZQ"}})),
        ),
        (
            "dpop_proof_key_invalid",
            proof_with(&key, &token, json!({}), json!({"jwk": {"kty": "oct", "k": "c2VjcmV0"}})),
        ),
        ("dpop_proof_malformed", proof_with(&key, &token, json!({}), json!({"crit": ["exp"]}))),
    ];
    for (code, proof) in cases {
        assert_eq!(api.code(&token, &[&proof]), code, "{proof}");
    }

    // A signature by another key than the header's, on a token bound to the header's key.
    let other = TestSigner::ec(7);
    let header_key = client_key().public_jwk("x");
    let mut jwk = header_key.clone();
    jwk.as_object_mut().unwrap().remove("kid");
    let claims = json!({"jti": "forged", "htm": "GET", "htu": API_URL, "iat": T0,
        "ath": b64(&Sha256::digest(token.as_bytes()))});
    let forged =
        other.sign_with_header(&json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}), &claims);
    assert_eq!(api.code(&token, &[&forged]), "dpop_proof_signature_invalid");

    // The stolen token with the thief's own key and a proof valid for that key.
    let thief = TestSigner::ec(9);
    assert_eq!(api.code(&token, &[&proof(&thief, &token)]), "dpop_proof_key_mismatch");

    // No proof, two proofs, an unbound token under the DPoP scheme.
    assert_eq!(api.code(&token, &[]), "dpop_proof_missing");
    let one = proof(&key, &token);
    let refusal = api.dpop(&token, &[&one, &proof(&key, &token)]).unwrap_err();
    assert_eq!((refusal.code(), refusal.status().as_u16()), ("dpop_proof_repeated", 400));
    let unbound = token_unbound();
    assert_eq!(api.code(&unbound, &[&proof(&key, &unbound)]), "dpop_token_not_bound");
    // Nothing refused was taken as a use: the first proof is still good once.
    assert!(api.dpop(&token, &[&one]).is_ok());
}

#[test]
fn a_proof_is_good_once_per_isolate_and_across_isolates_sharing_a_store() {
    let store = rc(MemoryStore::new());
    let a = isolate(json!({}), Some(store.clone()));
    let b = isolate(json!({}), Some(store.clone()));
    let key = client_key();
    let token = bound_token(&key);
    let once = proof(&key, &token);
    assert!(a.dpop(&token, &[&once]).is_ok());
    assert_eq!(a.code(&token, &[&once]), "dpop_proof_replayed");
    assert_eq!(b.code(&token, &[&once]), "dpop_proof_replayed", "the other isolate, via the store");
    // A new proof for the same token is good.
    assert!(b.dpop(&token, &[&proof(&key, &token)]).is_ok());

    // With replay kept per isolate, the other isolate does not see the first use.
    let c = isolate(json!({"Dpop": {"ReplayAcrossIsolates": false}}), Some(store.clone()));
    let d = isolate(json!({"Dpop": {"ReplayAcrossIsolates": false}}), Some(store.clone()));
    let local = proof(&key, &token);
    assert!(c.dpop(&token, &[&local]).is_ok());
    assert_eq!(c.code(&token, &[&local]), "dpop_proof_replayed");
    assert!(d.dpop(&token, &[&local]).is_ok(), "per isolate only, as configured");

    // Once its window is over, the proof is refused for its age, not remembered forever.
    a.clock.advance(Duration::from_secs(301));
    assert_eq!(a.code(&token, &[&once]), "dpop_proof_iat_invalid");
}

#[test]
fn the_verified_token_cache_never_lets_a_dpop_token_skip_its_proof() {
    let api = isolate(json!({}), None);
    let key = client_key();
    let token = bound_token(&key);
    assert!(api.dpop(&token, &[&proof(&key, &token)]).is_ok());
    assert_eq!(api.validator.verified_tokens(), 1, "the token is remembered");
    // The remembered token, with no proof, a replayed one, a stolen key's: each refused.
    assert_eq!(api.code(&token, &[]), "dpop_proof_missing");
    assert_eq!(api.code(&token, &[&proof(&TestSigner::ec(3), &token)]), "dpop_proof_key_mismatch");
    let wrong_url =
        proof_with(&key, &token, json!({"htu": "https://evil.example/api/me"}), json!({}));
    assert_eq!(api.code(&token, &[&wrong_url]), "dpop_proof_htu_mismatch");
    // The client's key is imported now and kept: a proof naming it but signed by another key
    // is still checked against it, and refused.
    let mut jwk = key.public_jwk("x");
    jwk.as_object_mut().unwrap().remove("kid");
    let claims = json!({"jti": "forged-after-import", "htm": "GET", "htu": API_URL, "iat": T0,
        "ath": b64(&Sha256::digest(token.as_bytes()))});
    let forged = TestSigner::ec(5)
        .sign_with_header(&json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}), &claims);
    assert_eq!(api.code(&token, &[&forged]), "dpop_proof_signature_invalid");
    assert!(api.dpop(&token, &[&proof(&key, &token)]).is_ok());
}

// ---- Modes and answers ----------------------------------------------------------------------

#[test]
fn off_takes_bearer_only_and_required_takes_dpop_only() {
    let key = client_key();
    let token = bound_token(&key);
    let unbound = token_unbound();

    let off = isolate(json!({"Dpop": {"Mode": "Off"}}), None);
    let refusal = off.dpop(&token, &[&proof(&key, &token)]).unwrap_err();
    assert_eq!(refusal, ValidationError::MissingToken);
    assert_eq!(refusal.challenges().len(), 1);
    assert!(refusal.challenges()[0].starts_with("Bearer"), "{:?}", refusal.challenges());

    let required = isolate(json!({"Dpop": {"Mode": "Required"}}), None);
    let bearer = request(&format!("Bearer {unbound}"), &[]);
    let refusal = block_on(required.validator.validate_request(&bearer)).unwrap_err();
    assert_eq!(refusal.code(), "dpop_required");
    assert_eq!(refusal.challenges().len(), 1);
    assert!(refusal.challenges()[0].starts_with("DPoP error=\"invalid_token\""));
    assert!(required.dpop(&token, &[&proof(&key, &token)]).is_ok());
}

#[test]
fn entra_apis_take_no_dpop_unless_configured() {
    // Entra issues no DPoP-bound tokens: its default mode is Off, every other provider's Allowed.
    let config = |extra: Value| {
        IdentityConfig::from_json(&entra_config(extra))
            .unwrap()
            .azure_ad
            .validation_options()
            .unwrap()
    };
    assert_eq!(config(json!({})).dpop.mode, DpopMode::Off);
    assert_eq!(config(json!({"Dpop": {"Mode": "Allowed"}})).dpop.mode, DpopMode::Allowed);
    let generic = IdentityConfig::from_json(
        &json!({"AzureAd": {"Authority": ISSUER, "ClientId": "shop-api"}}).to_string(),
    )
    .unwrap();
    assert_eq!(generic.azure_ad.validation_options().unwrap().dpop.mode, DpopMode::Allowed);
    for (bad, field) in [
        (json!({"Dpop": {"Mode": "Sometimes"}}), "AzureAd.Dpop.Mode"),
        (json!({"Dpop": {"Algorithms": ["HS256"]}}), "AzureAd.Dpop.Algorithms[0]"),
        (json!({"Dpop": {"Algorithms": []}}), "AzureAd.Dpop.Algorithms"),
        (json!({"Dpop": {"ProofMaxAgeSeconds": 1}}), "AzureAd.Dpop.ProofMaxAgeSeconds"),
        (json!({"PublicUrl": "api.example.com"}), "AzureAd.PublicUrl"),
        (json!({"ScopesSupported": ["two scopes"]}), "AzureAd.ScopesSupported[0]"),
    ] {
        let err = IdentityConfig::from_json(&entra_config(bad.clone()))
            .and_then(|c| c.azure_ad.validation_options())
            .unwrap_err();
        assert_eq!(err.field, field, "{bad}");
    }
}

#[test]
fn challenges_name_every_scheme_taken_and_point_at_the_resource_metadata() {
    // RFC 9449 §7.2 Figure 17: where both schemes are taken, both are challenged; the error goes
    // with the scheme the request used (Figure 18). RFC 9728 §5.1: each carries
    // `resource_metadata`.
    let api = isolate(json!({}), None);
    let metadata = "https://api.example.com/.well-known/oauth-protected-resource";
    let none =
        block_on(api.validator.validate_request(&http::Request::get(API_URL).body(()).unwrap()))
            .unwrap_err();
    assert_eq!(
        none.challenges(),
        [
            format!("Bearer resource_metadata=\"{metadata}\""),
            format!("DPoP algs=\"ES256 RS256 PS256 EdDSA\", resource_metadata=\"{metadata}\""),
        ]
    );
    let response = none.to_response();
    let values: Vec<_> = response.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(values.len(), 2);

    let expired = token(json!({"exp": T0 - 1000}));
    let bearer =
        block_on(api.validator.validate_request(&request(&format!("Bearer {expired}"), &[])))
            .unwrap_err();
    assert!(bearer.challenges()[0].starts_with("Bearer error=\"invalid_token\""));
    assert!(bearer.challenges()[1].starts_with("DPoP algs="));

    let key = client_key();
    let token = bound_token(&key);
    let dpop = api.dpop(&token, &[]).unwrap_err();
    assert_eq!(dpop.challenges()[0], format!("Bearer resource_metadata=\"{metadata}\""));
    assert!(dpop.challenges()[1].starts_with("DPoP error=\"invalid_dpop_proof\""));

    // A scope refusal names the scopes to step up to (RFC 6750 §3.1), in the scheme used.
    let refusal = block_on(api.validator.authorize(
        &request(&format!("DPoP {token}"), &[&proof(&key, &token)]),
        edge_identity::Requirement::scope(&["write", "admin"]),
    ))
    .unwrap_err();
    assert_eq!(refusal.status(), 403);
    assert!(
        refusal.challenges()[1].starts_with(
            "DPoP error=\"insufficient_scope\", error_description=\"the token does not grant a required scope or app role\", scope=\"write admin\""
        ),
        "{:?}",
        refusal.challenges()
    );

    // Behind a proxy, the configured public URL is the resource.
    let proxied = isolate(json!({"PublicUrl": "https://example.com/mcp"}), None);
    let refusal = block_on(
        proxied
            .validator
            .validate_request(&http::Request::get("http://10.0.0.1/mcp").body(()).unwrap()),
    )
    .unwrap_err();
    assert!(refusal.challenges()[0].contains(
        "resource_metadata=\"https://example.com/.well-known/oauth-protected-resource/mcp\""
    ));
}

#[test]
fn behind_a_proxy_the_public_url_is_what_proofs_name() {
    let api = isolate(json!({"PublicUrl": "https://api.example.com"}), None);
    let key = client_key();
    let token = bound_token(&key);
    // The request arrives at the origin's own address; the client named the public one.
    let arrived = http::Request::get("http://10.0.0.7:8787/api/me")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof(&key, &token))
        .body(())
        .unwrap();
    assert!(block_on(api.validator.validate_request(&arrived)).is_ok());
    let named_origin =
        proof_with(&key, &token, json!({"htu": "http://10.0.0.7:8787/api/me"}), json!({}));
    let arrived = http::Request::get("http://10.0.0.7:8787/api/me")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", named_origin)
        .body(())
        .unwrap();
    assert_eq!(
        block_on(api.validator.validate_request(&arrived)).unwrap_err().code(),
        "dpop_proof_htu_mismatch"
    );
}

#[test]
fn with_nonces_a_proof_must_carry_a_fresh_one_the_answer_gives() {
    // RFC 9449 §9 Figure 24: 401, `DPoP error="use_dpop_nonce"`, and `DPoP-Nonce`.
    let api = isolate(json!({"Dpop": {"Nonce": true}}), None);
    let key = client_key();
    let token = bound_token(&key);
    let refusal = api.dpop(&token, &[&proof(&key, &token)]).unwrap_err();
    assert_eq!(refusal.code(), "dpop_nonce_required");
    assert!(refusal.challenges()[1].starts_with("DPoP error=\"use_dpop_nonce\""));
    let response = refusal.to_response();
    assert_eq!(response.status(), 401);
    let nonce = response.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(refusal.dpop_nonce(), Some(nonce.as_str()));

    let with_nonce = proof_with(&key, &token, json!({"nonce": nonce}), json!({}));
    assert!(api.dpop(&token, &[&with_nonce]).is_ok());
    let forged =
        proof_with(&key, &token, json!({"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), json!({}));
    assert_eq!(api.code(&token, &[&forged]), "dpop_nonce_required");
    // Two proof windows later the nonce is stale.
    api.clock.advance(Duration::from_secs(600));
    let late = proof_with(&key, &token, json!({"nonce": nonce, "iat": T0 + 600}), json!({}));
    assert_eq!(api.code(&token, &[&late]), "dpop_nonce_required");
}

#[test]
fn the_protected_resource_metadata_is_answered_from_configuration() {
    // RFC 9728 §2's members; §3.1's path-suffixed form for a resource with a path.
    let api = isolate(json!({"ScopesSupported": ["read", "write"]}), None);
    let get =
        |url: &str| api.validator.resource_metadata(&http::Request::get(url).body(()).unwrap());
    let response = get("https://api.example.com/.well-known/oauth-protected-resource").unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": "https://api.example.com",
            "authorization_servers": [ISSUER],
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
            "dpop_bound_access_tokens_required": false,
        })
    );
    assert!(get("https://api.example.com/api/me").is_none());
    assert!(get("https://api.example.com/.well-known/oauth-protected-resource/other").is_none());

    let mcp = isolate(
        json!({"PublicUrl": "https://example.com/mcp", "Dpop": {"Mode": "Required"}}),
        None,
    );
    let response = mcp
        .validator
        .resource_metadata(
            &http::Request::get("https://example.com/.well-known/oauth-protected-resource/mcp")
                .body(())
                .unwrap(),
        )
        .unwrap();
    let doc: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(doc["resource"], "https://example.com/mcp");
    assert_eq!(doc["dpop_bound_access_tokens_required"], true);

    // Entra: the tenant's v2.0 issuer is the authorization server; no DPoP members by default.
    let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
    let platform = Platform::new(
        rc(ScriptedIdp::entra(TENANT, vec![])),
        Rc::new(RustCrypto),
        rc(ManualClock::at_secs(T0)),
    );
    let entra = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    let response = entra
        .resource_metadata(
            &http::Request::get("https://api.contoso.com/.well-known/oauth-protected-resource")
                .body(())
                .unwrap(),
        )
        .unwrap();
    let doc: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(doc["authorization_servers"], json!([format!("{INSTANCE}{TENANT}/v2.0")]));
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());
}

// ---- No mutated proof passes ---------------------------------------------------------------

mod mutations {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// One character of a valid proof changed, dropped or added, anywhere: refused. (The
        /// signature covers header and claims; the base64url reader takes only canonical text.)
        #[test]
        fn no_mutated_proof_passes(
            position in 0usize..1000,
            replacement in prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".to_vec()
            ),
            kind in 0u8..3,
        ) {
            let key = client_key();
            let token = bound_token(&key);
            let proof = proof_with(&key, &token, json!({"jti": "fixed"}), json!({}));
            let mut bytes = proof.clone().into_bytes();
            let at = position % bytes.len();
            match kind {
                0 => bytes[at] = replacement,
                1 => { bytes.remove(at); }
                _ => bytes.insert(at, replacement),
            }
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assume!(mutated != proof);
            let url = url::Url::parse(API_URL).unwrap();
            let jkt = jkt_of(&key);
            let ath = access_token_hash(&token);
            let context =
                ProofContext { method: "GET", url: &url, ath: &ath, jkt: &jkt, now_ms: T0 * 1000 };
            let options = DpopOptions::new(DpopMode::Allowed);
            prop_assert!(block_on(check_proof(&proof, context, &options, &RustCrypto)).is_ok());
            prop_assert!(block_on(check_proof(&mutated, context, &options, &RustCrypto)).is_err());
        }
    }
}
