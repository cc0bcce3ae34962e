//! The validator end to end at the platform seam: every rejection the SDK promises, the issuer
//! forms Entra uses, authorization, and the RFC 6750 answers.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::Platform;
use edge_identity::{IdentityConfig, TokenValidator, ValidationError};
use edge_identity::{Malformation, TokenPart};
use futures::executor::block_on;
use serde_json::{json, Value};
use support::signing::TestSigner;
use support::*;

struct Api {
    idp: Rc<ScriptedIdp>,
    clock: Rc<ManualClock>,
    validator: TokenValidator,
}

fn api_for(tenant: &str, keys: Vec<Value>, config: &str) -> Api {
    let idp = rc(ScriptedIdp::entra(tenant, keys));
    let clock = rc(ManualClock::at_secs(T0));
    let platform = Platform::new(idp.clone(), Rc::new(RustCrypto), clock.clone());
    let config = IdentityConfig::from_json(config).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    Api { idp, clock, validator }
}

/// A single-tenant API whose issuer publishes the RSA key `rsa`, a P-256 key `ec` and an
/// Ed25519 key `ed`.
fn api(extra_config: Value) -> Api {
    let keys = vec![
        TestSigner::Rsa.public_jwk("rsa"),
        TestSigner::rfc_ec().public_jwk("ec"),
        TestSigner::rfc_ed().public_jwk("ed"),
    ];
    api_for(TENANT, keys, &entra_config(extra_config))
}

impl Api {
    fn check(&self, token: &str) -> Result<edge_identity::ValidatedToken, ValidationError> {
        block_on(self.validator.validate(token))
    }
}

fn rs256(claims: &Value) -> String {
    TestSigner::Rsa.sign("rsa", claims)
}

/// An RFC 9068 access token (header `typ: at+jwt`), as the Generic preset requires by default.
fn at_jwt(claims: &Value) -> String {
    TestSigner::Rsa
        .sign_with_header(&json!({"alg": "RS256", "kid": "rsa", "typ": "at+jwt"}), claims)
}

#[test]
fn accepts_an_entra_v2_token_with_each_allowed_key_type() {
    let api = api(json!({}));
    let claims = entra_claims(T0);
    for token in [
        rs256(&claims),
        TestSigner::rfc_ec().sign("ec", &claims),
        TestSigner::rfc_ed().sign("ed", &claims),
    ] {
        let ok = api.check(&token).expect("a genuine token is accepted");
        assert_eq!(ok.tenant_id(), Some(TENANT));
        assert_eq!(ok.object_id(), Some("a1b2c3d4-0000-4000-8000-000000000001"));
        assert_eq!(ok.scopes().collect::<Vec<_>>(), ["access_as_user", "User.Read"]);
        assert_eq!(ok.token().expose(), token);
    }
    assert_eq!(api.idp.jwks_fetches(), 1, "one key set fetch serves every request");
}

#[test]
fn accepts_the_entra_v1_issuer_form_and_the_app_id_uri_audience() {
    let api = api(json!({}));
    let claims = with(
        entra_claims(T0),
        json!({"iss": format!("https://sts.windows.net/{TENANT}/"), "aud": format!("api://{CLIENT_ID}"), "ver": "1.0"}),
    );
    assert!(api.check(&rs256(&claims)).is_ok());
}

#[test]
fn lifetime_is_checked_with_the_configured_clock_skew() {
    let api = api(json!({"ClockSkewSeconds": 120}));
    let token = rs256(&entra_claims(T0));
    api.clock.advance(Duration::from_secs(3600 + 119));
    assert!(api.check(&token).is_ok(), "within the skew after exp");
    api.clock.advance(Duration::from_secs(1));
    assert_eq!(api.check(&token).unwrap_err(), ValidationError::Expired);

    let api = api_default_skew_at(T0);
    let early = rs256(&with(entra_claims(T0), json!({"nbf": T0 + 301})));
    assert_eq!(api.check(&early).unwrap_err(), ValidationError::NotYetValid);
    let within = rs256(&with(entra_claims(T0), json!({"nbf": T0 + 299})));
    assert!(api.check(&within).is_ok());
    let future = rs256(&with(entra_claims(T0), json!({"iat": T0 + 600})));
    assert_eq!(api.check(&future).unwrap_err(), ValidationError::IssuedInFuture);
}

fn api_default_skew_at(secs: u64) -> Api {
    let api = api(json!({}));
    assert_eq!(api.clock.secs(), secs);
    api
}

#[test]
fn exp_is_required_and_time_claims_must_be_numbers() {
    let api = api(json!({}));
    let no_exp = rs256(&with(entra_claims(T0), json!({"exp": null})));
    assert_eq!(
        api.check(&no_exp).unwrap_err(),
        ValidationError::Malformed(Malformation::Claim("exp"))
    );
    let text_exp = rs256(&with(entra_claims(T0), json!({"exp": "tomorrow"})));
    assert_eq!(
        api.check(&text_exp).unwrap_err(),
        ValidationError::Malformed(Malformation::Claim("exp"))
    );
    let text_nbf = rs256(&with(entra_claims(T0), json!({"nbf": "now"})));
    assert_eq!(
        api.check(&text_nbf).unwrap_err(),
        ValidationError::Malformed(Malformation::Claim("nbf"))
    );
}

#[test]
fn a_single_tenant_api_refuses_other_issuers_and_tenants() {
    let api = api(json!({}));
    let other_issuer = rs256(&with(entra_claims(T0), json!({"iss": "https://evil.example/v2.0"})));
    assert_eq!(api.check(&other_issuer).unwrap_err(), ValidationError::InvalidIssuer);
    let other_tenant = rs256(&with(
        entra_claims(T0),
        json!({"iss": v2_issuer(OTHER_TENANT), "tid": OTHER_TENANT}),
    ));
    assert_eq!(api.check(&other_tenant).unwrap_err(), ValidationError::TenantNotAllowed);
    let mismatched = rs256(&with(entra_claims(T0), json!({"iss": v2_issuer(OTHER_TENANT)})));
    assert_eq!(api.check(&mismatched).unwrap_err(), ValidationError::InvalidIssuer);
    let no_iss = rs256(&with(entra_claims(T0), json!({"iss": null})));
    assert_eq!(api.check(&no_iss).unwrap_err(), ValidationError::InvalidIssuer);
}

fn multi_tenant_api(extra: Value) -> Api {
    let mut issuer_bound_key = TestSigner::Rsa.public_jwk("rsa");
    issuer_bound_key["issuer"] = json!(format!("{INSTANCE}{{tenantid}}/v2.0"));
    let mut config =
        json!({"Instance": INSTANCE, "TenantId": "organizations", "ClientId": CLIENT_ID});
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    api_for("organizations", vec![issuer_bound_key], &json!({"AzureAd": config}).to_string())
}

#[test]
fn a_multi_tenant_api_substitutes_tid_into_the_issuer_and_honours_allowed_tenants() {
    let api = multi_tenant_api(json!({}));
    let from_other = rs256(&with(
        entra_claims(T0),
        json!({"iss": v2_issuer(OTHER_TENANT), "tid": OTHER_TENANT}),
    ));
    assert!(api.check(&from_other).is_ok(), "any tenant, when its issuer names its own tid");
    // A token whose issuer names one tenant and whose tid names another is refused.
    let spoofed = rs256(&with(entra_claims(T0), json!({"iss": v2_issuer(OTHER_TENANT)})));
    assert_eq!(api.check(&spoofed).unwrap_err(), ValidationError::InvalidIssuer);
    let no_guid =
        rs256(&with(entra_claims(T0), json!({"tid": "contoso", "iss": v2_issuer("contoso")})));
    assert_eq!(api.check(&no_guid).unwrap_err(), ValidationError::TenantNotAllowed);

    let restricted = multi_tenant_api(json!({"AllowedTenants": [TENANT]}));
    assert!(restricted.check(&rs256(&entra_claims(T0))).is_ok());
    assert_eq!(restricted.check(&from_other).unwrap_err(), ValidationError::TenantNotAllowed);
}

#[test]
fn an_entra_key_bound_to_an_issuer_verifies_that_tenants_v1_and_v2_tokens_only() {
    // Entra's tenant key set binds each key to the tenant's v2.0 issuer, and signs v1.0 tokens
    // (iss https://sts.windows.net/{tid}/) with the same keys: Microsoft.IdentityModel's
    // ValidateIssuerSigningKey compares the key's issuer with the token's v2.0 form.
    let mut key = TestSigner::Rsa.public_jwk("rsa");
    key["issuer"] = json!(v2_issuer(TENANT));
    let api = api_for(TENANT, vec![key], &entra_config(json!({})));
    assert!(api.check(&rs256(&entra_claims(T0))).is_ok());
    let v1 = with(
        entra_claims(T0),
        json!({"iss": format!("https://sts.windows.net/{TENANT}/"), "ver": "1.0", "aud": format!("api://{CLIENT_ID}"), "appid": "client-app-id"}),
    );
    assert!(api.check(&rs256(&v1)).is_ok(), "a v1.0 token signed by the tenant's v2.0-bound key");

    // A key bound to another tenant's issuer signs for neither form of this tenant's issuer.
    let mut foreign = TestSigner::Rsa.public_jwk("rsa");
    foreign["issuer"] = json!(v2_issuer(OTHER_TENANT));
    let api = api_for(TENANT, vec![foreign], &entra_config(json!({})));
    assert_eq!(api.check(&rs256(&entra_claims(T0))).unwrap_err(), ValidationError::InvalidIssuer);
    assert_eq!(api.check(&rs256(&v1)).unwrap_err(), ValidationError::InvalidIssuer);
}

#[test]
fn a_generic_oidc_authority_accepts_exactly_its_discovered_issuer() {
    let api = generic_api(json!({"AllowWebApiToBeAuthorizedByACL": true}));
    let claims = shop_claims(json!({}));
    assert!(api.check(&at_jwt(&claims)).is_ok());
    let other = with(claims, json!({"iss": "https://idp.example/realms/other"}));
    assert_eq!(api.check(&at_jwt(&other)).unwrap_err(), ValidationError::InvalidIssuer);
}

#[test]
fn the_audience_must_be_one_of_the_configured_ones() {
    let api = api(json!({}));
    let wrong = rs256(&with(entra_claims(T0), json!({"aud": "api://someone-else"})));
    assert_eq!(api.check(&wrong).unwrap_err(), ValidationError::InvalidAudience);
    let list = rs256(&with(entra_claims(T0), json!({"aud": ["x", CLIENT_ID]})));
    assert!(api.check(&list).is_ok());
    let missing = rs256(&with(entra_claims(T0), json!({"aud": null})));
    assert_eq!(api.check(&missing).unwrap_err(), ValidationError::InvalidAudience);
    let numeric = rs256(&with(entra_claims(T0), json!({"aud": 5})));
    assert_eq!(
        api.check(&numeric).unwrap_err(),
        ValidationError::Malformed(Malformation::Claim("aud"))
    );

    let custom = api_for(
        TENANT,
        vec![TestSigner::Rsa.public_jwk("rsa")],
        &entra_config(json!({"Audiences": ["https://api.contoso.com"]})),
    );
    assert_eq!(
        custom.check(&rs256(&entra_claims(T0))).unwrap_err(),
        ValidationError::InvalidAudience
    );
}

#[test]
fn tampered_tokens_and_signatures_from_unpublished_keys_are_refused() {
    let api = api(json!({}));
    let token = rs256(&entra_claims(T0));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = with(entra_claims(T0), json!({"scp": "admin"}));
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        forged.to_string(),
    );
    assert_eq!(api.check(&parts.join(".")).unwrap_err(), ValidationError::InvalidSignature);

    // Signed by a key the issuer never published, under the kid of one it did.
    let impostor = TestSigner::ec(9).sign("ec", &entra_claims(T0));
    assert_eq!(api.check(&impostor).unwrap_err(), ValidationError::InvalidSignature);
    // A signature of the wrong length for the key never reaches the backend.
    let short = format!("{}.{}.AAAA", parts[0], parts[1]);
    assert_eq!(api.check(&short).unwrap_err(), ValidationError::InvalidSignature);
}

#[test]
fn none_and_hmac_algorithms_are_refused_even_when_keyed_with_the_public_key() {
    let api = api(json!({}));
    let b64 = |v: &Value| {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string())
    };
    let claims = b64(&entra_claims(T0));
    let none = format!("{}.{claims}.", b64(&json!({"alg": "none"})));
    assert_eq!(api.check(&none).unwrap_err(), ValidationError::AlgorithmNotAllowed);
    let none_sig = format!("{}.{claims}.AAAA", b64(&json!({"alg": "none", "kid": "rsa"})));
    assert_eq!(api.check(&none_sig).unwrap_err(), ValidationError::AlgorithmNotAllowed);

    // The classic confusion attack: HS256 with the RSA public key's bytes as the HMAC secret.
    use sha2::Digest;
    let header = b64(&json!({"alg": "HS256", "kid": "rsa"}));
    let input = format!("{header}.{claims}");
    let fake_mac = sha2::Sha256::digest(input.as_bytes());
    let hs = format!(
        "{input}.{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, fake_mac)
    );
    assert_eq!(api.check(&hs).unwrap_err(), ValidationError::AlgorithmNotAllowed);

    let restricted = api_for(
        TENANT,
        vec![TestSigner::rfc_ec().public_jwk("ec")],
        &entra_config(json!({"ValidAlgorithms": ["RS256"]})),
    );
    let es = TestSigner::rfc_ec().sign("ec", &entra_claims(T0));
    assert_eq!(restricted.check(&es).unwrap_err(), ValidationError::AlgorithmNotAllowed);
}

#[test]
fn a_kid_only_finds_a_key_it_never_lets_the_token_choose_the_algorithm() {
    let api = api(json!({}));
    // ES256 signature presented under the RSA key's kid: the key does not fit the algorithm.
    let header = json!({"alg": "ES256", "kid": "rsa"});
    let token = TestSigner::rfc_ec().sign_with_header(&header, &entra_claims(T0));
    assert_eq!(api.check(&token).unwrap_err(), ValidationError::KeyNotUsable);
}

/// The same bytes under a lenient decoder, but with set bits in the unused tail.
fn non_canonical(b64: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_eq!(b64.len() % 4, 3, "needs a final group with unused bits");
    let last = b64.chars().last().unwrap();
    let bumped = ALPHABET.chars().nth(ALPHABET.find(last).unwrap() + 1).unwrap();
    format!("{}{bumped}", &b64[..b64.len() - 1])
}

#[test]
fn hostile_token_shapes_are_refused_with_typed_errors() {
    let api = api(json!({}));
    let signer = TestSigner::Rsa;
    let claims = entra_claims(T0);
    let good = rs256(&claims);
    let enc =
        |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
    let m = ValidationError::Malformed;
    let header_with = |extra: Value| with(json!({"alg": "RS256", "kid": "rsa"}), extra);
    let cases: Vec<(&str, String, ValidationError)> = vec![
        (
            "oversized",
            format!("{good}{}", "A".repeat(16 * 1024)),
            ValidationError::TokenTooLarge { limit: 16 * 1024 },
        ),
        (
            "two segments",
            good.rsplit_once('.').unwrap().0.to_owned(),
            m(Malformation::NotThreeSegments),
        ),
        ("four segments", format!("{good}.AAAA"), m(Malformation::NotThreeSegments)),
        ("padded base64", format!("{good}=="), m(Malformation::Encoding(TokenPart::Signature))),
        (
            "standard alphabet",
            good.replacen('-', "+", 1).replacen('_', "/", 1),
            m(Malformation::Encoding(TokenPart::Signature)),
        ),
        (
            "non-canonical trailing bits",
            format!("{}.e30.AA", non_canonical(&enc(r#"{"alg":"RS256","kid":"rs"}"#))),
            m(Malformation::Encoding(TokenPart::Header)),
        ),
        (
            "header not JSON",
            signer.sign_raw(b"{alg: RS256}", claims.to_string().as_bytes()),
            m(Malformation::NotJson(TokenPart::Header)),
        ),
        (
            "header an array",
            signer.sign_raw(b"[\"RS256\"]", claims.to_string().as_bytes()),
            m(Malformation::NotAnObject(TokenPart::Header)),
        ),
        (
            "duplicate header member",
            signer.sign_raw(
                br#"{"alg":"RS256","kid":"rsa","kid":"ec"}"#,
                claims.to_string().as_bytes(),
            ),
            m(Malformation::DuplicateMember(TokenPart::Header)),
        ),
        (
            "claims not JSON",
            signer.sign_raw(br#"{"alg":"RS256","kid":"rsa"}"#, b"hello"),
            m(Malformation::NotJson(TokenPart::Payload)),
        ),
        (
            "claims a string",
            signer.sign_raw(br#"{"alg":"RS256","kid":"rsa"}"#, b"\"hello\""),
            m(Malformation::NotAnObject(TokenPart::Payload)),
        ),
        (
            "duplicate claim",
            signer.sign_raw(
                br#"{"alg":"RS256","kid":"rsa"}"#,
                format!(r#"{{"aud":"{CLIENT_ID}","aud":"x","exp":{}}}"#, T0 + 60).as_bytes(),
            ),
            m(Malformation::DuplicateMember(TokenPart::Payload)),
        ),
        (
            "missing alg",
            signer.sign_with_header(&json!({"kid": "rsa"}), &claims),
            m(Malformation::HeaderParameter("alg")),
        ),
        (
            "kid not a string",
            signer.sign_with_header(&header_with(json!({"kid": 7})), &claims),
            m(Malformation::HeaderParameter("kid")),
        ),
        (
            "unknown crit",
            signer.sign_with_header(&header_with(json!({"crit": ["exp"], "exp": 1})), &claims),
            ValidationError::UnsupportedCriticalHeader,
        ),
        (
            "duplicate crit",
            signer.sign_with_header(&header_with(json!({"crit": ["b64", "b64"]})), &claims),
            m(Malformation::InvalidCrit),
        ),
        (
            "empty crit",
            signer.sign_with_header(&header_with(json!({"crit": []})), &claims),
            m(Malformation::InvalidCrit),
        ),
        (
            "embedded jwk",
            signer.sign_with_header(
                &header_with(json!({"jwk": TestSigner::Rsa.public_jwk("x")})),
                &claims,
            ),
            ValidationError::KeyInHeader("jwk"),
        ),
        (
            "embedded x5c",
            signer.sign_with_header(&header_with(json!({"x5c": ["MIIB"]})), &claims),
            ValidationError::KeyInHeader("x5c"),
        ),
        (
            "remote jku",
            signer.sign_with_header(
                &header_with(json!({"jku": "https://attacker.example/keys"})),
                &claims,
            ),
            ValidationError::KeyInHeader("jku"),
        ),
        (
            "remote x5u",
            signer.sign_with_header(
                &header_with(json!({"x5u": "https://attacker.example/cert"})),
                &claims,
            ),
            ValidationError::KeyInHeader("x5u"),
        ),
        ("empty", String::new(), m(Malformation::NotThreeSegments)),
        ("dots only", "..".into(), m(Malformation::NotJson(TokenPart::Header))),
    ];
    for (name, token, expected) in cases {
        assert_eq!(api.check(&token).unwrap_err(), expected, "{name}");
    }
    assert!(
        api.idp.requests.borrow().iter().all(|u| !u.contains("attacker")),
        "jku/x5u are never fetched"
    );
    assert_eq!(api.idp.request_count(), 0, "no hostile shape gets as far as a key lookup");
}

#[test]
fn arbitrary_corruptions_of_a_token_never_panic_and_are_refused() {
    let api = api(json!({}));
    let token = rs256(&entra_claims(T0)).into_bytes();
    // A small deterministic generator: bit flips, truncations, insertions, byte swaps.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"AZaz09-_.=+/ {}\"\\\x00\xff";
    for round in 0..3000 {
        let mut t = token.clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % t.len().max(1);
            match next() % 4 {
                0 => t[at] ^= 1 << (next() % 8),
                1 => t.truncate(at),
                2 => t.insert(at, alphabet[(next() as usize) % alphabet.len()]),
                _ => {
                    let last = t.len().saturating_sub(1);
                    let other = ((next() as usize) % t.len().max(1)).min(last);
                    t.swap(at.min(last), other);
                }
            }
            if t.is_empty() {
                break;
            }
        }
        if t == token {
            continue;
        }
        let text = String::from_utf8_lossy(&t);
        assert!(api.check(&text).is_err(), "round {round}: a corrupted token was accepted");
    }
}

#[test]
fn a_token_with_neither_scope_nor_role_is_refused_unless_acl_authorization_is_enabled() {
    let bare = with(entra_claims(T0), json!({"scp": null}));
    let api = api(json!({}));
    let err = api.check(&rs256(&bare)).unwrap_err();
    assert_eq!(err, ValidationError::NoScopeOrRole);
    assert_eq!(err.status(), 403);
    let acl = api_for(
        TENANT,
        vec![TestSigner::Rsa.public_jwk("rsa")],
        &entra_config(json!({"AllowWebApiToBeAuthorizedByACL": true})),
    );
    assert!(acl.check(&rs256(&bare)).is_ok());
}

#[test]
fn required_scopes_and_app_roles_answer_403_insufficient_scope() {
    let api = api(json!({}));
    let user = api.check(&rs256(&entra_claims(T0))).unwrap();
    assert!(user.require_scope(&["access_as_user"]).is_ok());
    assert!(!user.is_app_only());
    let err = user.require_scope(&["Files.Write", "Files.ReadWrite"]).unwrap_err();
    let response = err.to_response();
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", error_description=\"the token does not grant a required scope or app role\", scope=\"Files.Write Files.ReadWrite\""
    );
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scopes"], json!(["Files.Write", "Files.ReadWrite"]));

    let app = api
        .check(&rs256(&with(
            entra_claims(T0),
            json!({"scp": null, "roles": ["Jobs.Resume"], "idtyp": "app"}),
        )))
        .unwrap();
    assert!(app.is_app_only());
    assert!(app.require_app_role(&["Jobs.Resume"]).is_ok());
    assert!(app.require_scope_or_app_permission(&["access_as_user"], &["Jobs.Resume"]).is_ok());
    assert!(app.require_scope(&["access_as_user"]).is_err());
}

/// RFC 6750 §2.1: the credentials are `Bearer` and a token68 string; anything else in the header
/// is a malformed request (§3.1 `invalid_request`, 400), whatever else is wrong with it. The
/// validator checks that only when a value fails, so each case here goes through a failure.
#[test]
fn a_bearer_value_that_is_not_token68_is_a_400_and_any_other_failure_keeps_its_own_answer() {
    let api = api(json!({}));
    let answer = |value: &str| {
        block_on(api.validator.validate_authorization(Some(value)))
            .map(|_| ())
            .map_err(|e| (e.to_response().status().as_u16(), e.code()))
    };
    let not_token68 = Err((400, "authorization_header_invalid"));
    assert_eq!(answer("Bearer a b"), not_token68);
    assert_eq!(answer("Bearer abc@def.ghi.jkl"), not_token68);
    assert_eq!(answer("Bearer "), not_token68);
    assert_eq!(answer("Bearer ==="), not_token68);
    // Too large and not token68: the 400, not the size.
    assert_eq!(answer(&format!("Bearer {}", "a@".repeat(10_000))), not_token68);
    // token68 but not a JWS, or too large: the token's own 401.
    assert_eq!(answer("Bearer abc"), Err((401, "token_malformed")));
    assert_eq!(answer("Bearer abc+def/ghi~"), Err((401, "token_malformed")));
    assert_eq!(answer(&format!("Bearer {}", "a".repeat(20_000))), Err((401, "token_too_large")));
    // A valid token, a first time and again (the second time from the verified-token cache).
    let token = rs256(&entra_claims(T0));
    assert_eq!(answer(&format!("Bearer {token}")), Ok(()));
    assert_eq!(answer(&format!("Bearer {token}")), Ok(()));
}

#[test]
fn failures_answer_rfc_6750_challenges_without_echoing_the_token() {
    let api = api(json!({}));
    let missing = block_on(api.validator.validate_authorization(None)).unwrap_err();
    let r = missing.to_response();
    assert_eq!(
        (r.status().as_u16(), r.headers()["www-authenticate"].to_str().unwrap()),
        (401, "Bearer")
    );

    let token = rs256(&with(entra_claims(T0), json!({"exp": T0 - 3600})));
    let request = http::Request::get("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let err = block_on(api.validator.validate_request(&request)).unwrap_err();
    assert_eq!(err, ValidationError::Expired);
    let r = err.to_response();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"the token is expired\""
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = String::from_utf8(r.body().clone()).unwrap();
    assert!(body.contains("\"code\":\"token_expired\""), "{body}");

    let signature = token.rsplit('.').next().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    for text in [body, format!("{err:?}"), err.to_string()] {
        assert!(!text.contains(signature) && !text.contains(payload), "{text}");
    }
    let ok = api.check(&rs256(&entra_claims(T0))).unwrap();
    let debug = format!("{ok:?}");
    assert!(!debug.contains(&rs256(&entra_claims(T0))[..40]), "{debug}");
    assert!(format!("{:?}", ok.token()).contains("***"));

    let twice = http::Request::get("/")
        .header("authorization", "Bearer a")
        .header("authorization", "Bearer b")
        .body(())
        .unwrap();
    let err = block_on(api.validator.validate_request(&twice)).unwrap_err();
    assert_eq!(err.to_response().status(), 400);
}

fn generic_api(extra: Value) -> Api {
    let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::Rsa.public_jwk("rsa")]));
    idp.discovery.replace(json!({"issuer": "https://idp.example/realms/shop", "jwks_uri": "https://idp.example/realms/shop/certs"}));
    let idp = rc(ScriptedIdp {
        metadata_url: "https://idp.example/realms/shop/.well-known/openid-configuration".into(),
        ..Rc::try_unwrap(idp).ok().unwrap()
    });
    let clock = rc(ManualClock::at_secs(T0));
    let platform = Platform::new(idp.clone(), Rc::new(RustCrypto), clock.clone());
    let mut azure_ad =
        json!({"Authority": "https://idp.example/realms/shop", "ClientId": "shop-api"});
    azure_ad.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let config = IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string()).unwrap();
    let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
    Api { idp, clock, validator }
}

fn shop_claims(extra: Value) -> Value {
    with(
        json!({"iss": "https://idp.example/realms/shop", "aud": "shop-api", "exp": T0 + 60, "sub": "u1"}),
        extra,
    )
}

#[test]
fn generic_providers_scopes_count_from_scope_and_scp_arrays() {
    // RFC 8693 / RFC 9068 put scopes in a space-separated `scope`; some providers give `scp`
    // as an array.
    let api = generic_api(json!({}));
    for (shape, claims) in [
        ("scope", shop_claims(json!({"scope": "orders.read profile"}))),
        ("scp array", shop_claims(json!({"scp": ["orders.read", "profile"]}))),
    ] {
        let token = api.check(&at_jwt(&claims)).unwrap_or_else(|e| panic!("{shape}: {e}"));
        assert!(token.require_scope(&["orders.read"]).is_ok(), "{shape}");
        assert!(token.require_scope(&["orders.write"]).is_err(), "{shape}");
        assert!(!token.is_app_only(), "{shape}");
    }
    assert_eq!(
        api.check(&at_jwt(&shop_claims(json!({"scp": [5]})))).unwrap_err(),
        ValidationError::NoScopeOrRole,
        "non-string array members are not scopes"
    );
}

#[test]
fn valid_types_can_require_rfc_9068_access_tokens() {
    let api = generic_api(json!({"ValidTypes": ["at+jwt"]}));
    let claims = shop_claims(json!({"scope": "orders.read"}));
    let with_typ = |typ: Option<&str>| {
        let mut header = json!({"alg": "RS256", "kid": "rsa"});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        TestSigner::Rsa.sign_with_header(&header, &claims)
    };
    assert!(api.check(&with_typ(Some("at+jwt"))).is_ok());
    assert!(api.check(&with_typ(Some("application/AT+JWT"))).is_ok(), "RFC 7515 §4.1.9 forms");
    for typ in [Some("JWT"), Some("id_token+jwt"), None] {
        assert_eq!(api.check(&with_typ(typ)).unwrap_err(), ValidationError::InvalidType, "{typ:?}");
    }
    // Without ValidTypes the Generic preset (RFC 9068 §4: the resource server MUST check `typ`)
    // still requires `at+jwt`; a preset whose provider issues other types accepts any.
    let generic = generic_api(json!({}));
    assert_eq!(generic.check(&with_typ(Some("JWT"))).unwrap_err(), ValidationError::InvalidType);
    assert!(generic.check(&with_typ(Some("at+jwt"))).is_ok());
    let keycloak = generic_api(json!({"Provider": "Keycloak"}));
    let bearer = with(claims, json!({"typ": "Bearer"}));
    let token = TestSigner::Rsa
        .sign_with_header(&json!({"alg": "RS256", "kid": "rsa", "typ": "JWT"}), &bearer);
    assert!(keycloak.check(&token).is_ok());
}

#[test]
fn authorize_validates_and_checks_the_requirement_in_one_call() {
    use edge_identity::Requirement;
    let api = api(json!({}));
    let request = |values: &[&str]| {
        let mut builder = http::Request::get("https://api.example/x");
        for value in values {
            builder = builder.header("authorization", *value);
        }
        builder.body(()).unwrap()
    };
    let token = rs256(&entra_claims(T0));
    let bearer = format!("Bearer {token}");
    let caller = block_on(
        api.validator.authorize(&request(&[&bearer]), Requirement::scope(&["access_as_user"])),
    )
    .unwrap();
    assert_eq!(caller.tenant_id(), Some(TENANT));

    let status = |r: Result<_, edge_identity::Refusal>| {
        r.map(|_| ()).unwrap_err().to_response().status().as_u16()
    };
    let missing_scope = Requirement::scope(&["Files.Write"]);
    assert_eq!(status(block_on(api.validator.authorize(&request(&[&bearer]), missing_scope))), 403);
    let role = Requirement::scope_or_app_permission(&["Files.Write"], &["Jobs.Resume"]);
    assert_eq!(status(block_on(api.validator.authorize(&request(&[&bearer]), role))), 403);
    assert_eq!(
        status(block_on(api.validator.authorize(&request(&[]), Requirement::Authenticated))),
        401
    );
    let two = request(&[&bearer, &bearer]);
    assert_eq!(status(block_on(api.validator.authorize(&two, Requirement::Authenticated))), 400);

    // axum's extractors see the request's `Parts` (or a `HeaderMap`): the same rules hold there.
    let (parts, ()) = request(&[&bearer]).into_parts();
    assert!(
        block_on(api.validator.authorize(&parts, Requirement::scope(&["access_as_user"]))).is_ok()
    );
    let (two_parts, ()) = request(&[&bearer, &bearer]).into_parts();
    assert_eq!(
        status(block_on(api.validator.authorize(&two_parts, Requirement::Authenticated))),
        400
    );
    assert_eq!(
        status(block_on(api.validator.authorize(&two_parts.headers, Requirement::Authenticated))),
        400
    );
}

#[test]
fn one_error_type_answers_for_every_failure_and_keeps_its_source() {
    use edge_identity::{AcquisitionError, ConfigError, DownstreamError, Error};
    use std::error::Error as _;
    let cases: Vec<(Error, u16, &str)> = vec![
        (ValidationError::Expired.into(), 401, "token_expired"),
        (AcquisitionError::SessionNotFound.into(), 404, "session_not_found"),
        (DownstreamError::Timeout.into(), 504, "downstream_timeout"),
        (
            ConfigError { field: "AzureAd.ClientId".into(), problem: "is required".into() }.into(),
            500,
            "configuration_error",
        ),
    ];
    for (error, status, code) in cases {
        assert_eq!((error.status().as_u16(), error.code()), (status, code));
        let response: http::Response<Vec<u8>> = error.clone().into();
        assert_eq!(response.status().as_u16(), status);
        assert!(error.source().is_some(), "{code}: the source chain reaches the cause");
        assert!(!String::from_utf8_lossy(response.body()).contains("AzureAd"), "{code}");
    }
}

#[test]
fn a_sender_constrained_token_presented_as_a_bearer_token_is_refused() {
    // RFC 9449 §7.2: a DPoP-bound token (its `cnf.jkt`, the shape of RFC 9449 §6.1's example)
    // used as a bearer token must be refused; the same for a mutual-TLS-bound one (RFC 8705
    // §3.1's `cnf.x5t#S256`). Without the proof of the key, a stolen sender-constrained token
    // would work as a plain one (issue 21: it did, against oidc-provider's DPoP tokens).
    let api = api(json!({}));
    for cnf in [
        json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
    ] {
        let token = rs256(&with(entra_claims(T0), json!({ "cnf": cnf })));
        let err = api.check(&token).unwrap_err();
        assert_eq!(err, ValidationError::SenderConstrained, "{cnf}");
        assert_eq!(err.status(), 401);
        assert_eq!(err.code(), "token_sender_constrained");
        assert!(err.www_authenticate().unwrap().starts_with("Bearer error=\"invalid_token\""));
        // Refused again when presented again, whether or not the verified cache remembers it.
        assert_eq!(api.check(&token).unwrap_err(), ValidationError::SenderConstrained, "{cnf}");
    }
    // The same claims without `cnf` are an ordinary bearer token.
    assert!(api.check(&rs256(&entra_claims(T0))).is_ok());
}
