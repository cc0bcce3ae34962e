//! Every parser, property-tested: thousands of generated and mutated inputs each — tokens,
//! JWKs and JWK Sets, discovery documents, token-endpoint answers, cache entries, session
//! records and configuration. None panics, each answers with a typed error, and no mutation of
//! a signed token is ever accepted. (proptest on stable Rust; cargo-fuzz needs nightly.)
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::rc::Rc;
use std::time::Duration;

use edge_identity::internals::Discovery;
use edge_identity::internals::Jws;
use edge_identity::internals::{Jwk, JwkSet};
use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::{KeyValueStore, MemoryStore, NoLogger, Platform, SealedStore};
use edge_identity::AcquisitionOptions;
use edge_identity::{DownstreamApis, SessionKey, TokenAcquirer, TokenRequest, TokenValidator};
use edge_identity::{IdentityConfig, SealSecret, Secret};
use futures::executor::block_on;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use support::acquisition::{
    config, json_answer, token_endpoint, user, Isolate, ScriptedWeb, SEAL_SECRET,
};
use support::signing::TestSigner;
use support::*;

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig { cases: n, failure_persistence: None, ..ProptestConfig::default() }
}

/// Member names the parsers look at, so generated objects reach past the first check.
const NAMES: &[&str] = &[
    "keys",
    "kty",
    "n",
    "e",
    "crv",
    "x",
    "y",
    "d",
    "k",
    "kid",
    "alg",
    "use",
    "key_ops",
    "x5c",
    "issuer",
    "jwks_uri",
    "token_endpoint",
    "access_token",
    "token_type",
    "expires_in",
    "refresh_in",
    "refresh_token",
    "error",
    "error_codes",
    "suberror",
    "claims",
    "at",
    "exp",
    "ref",
    "iat",
    "rt",
    "tid",
    "own",
    "apps",
    "end",
    "AzureAd",
    "Instance",
    "TenantId",
    "ClientId",
    "Authority",
    "Audience",
    "Audiences",
    "ValidIssuers",
    "AllowedTenants",
    "ValidTypes",
    "ClientCredentials",
    "SourceType",
    "ClientSecret",
    "DownstreamApis",
    "BaseUrl",
    "Scopes",
    "RelativePath",
    "Headers",
    "TokenCache",
    "MaxEntries",
    "ClockSkewSeconds",
    "RSA",
    "EC",
    "OKP",
    "P-256",
    "sig",
    "RS256",
    "ES256",
];

/// Any JSON value, biased towards the member names and shapes the parsers know.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        proptest::sample::select(NAMES).prop_map(Value::from),
        "[A-Za-z0-9_\\-/:.{}]{0,40}".prop_map(Value::from),
        "https://[a-z]{1,8}\\.example/[a-z/{}]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(NAMES), inner), 0..8).prop_map(
                |members| {
                    Value::Object(
                        members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn any_text_parses_as_a_token_or_is_a_typed_error(text in "\\PC{0,400}") {
        let _ = Jws::parse(&text, 16 * 1024).map(|jws| (jws.claims().is_ok(), jws.header().alg));
    }

    #[test]
    fn base64url_segment_soup_parses_or_is_a_typed_error(
        parts in proptest::collection::vec("[A-Za-z0-9_\\-=+/]{0,60}", 0..5),
    ) {
        let text = parts.join(".");
        let _ = Jws::parse(&text, 16 * 1024).map(|jws| jws.claims().is_ok());
    }

    #[test]
    fn any_bytes_are_a_key_set_or_a_typed_error(document in bytes()) {
        let _ = JwkSet::parse(&document);
        let _ = Discovery::parse(&document);
    }

    #[test]
    fn any_json_is_a_key_set_a_key_a_discovery_document_or_a_typed_error(value in json_value()) {
        let document = serde_json::to_vec(&value).unwrap();
        let _ = JwkSet::parse(&document);
        let _ = JwkSet::parse(&serde_json::to_vec(&json!({"keys": [value.clone()]})).unwrap());
        let _ = Jwk::from_value(&value);
        let _ = Discovery::parse(&document);
    }

    #[test]
    fn any_json_configuration_is_checked_into_options_or_a_field_error(value in json_value()) {
        for document in [json!({"AzureAd": value.clone()}), value.clone(),
                         json!({"AzureAd": {"TenantId": "common", "ClientId": "x"}, "DownstreamApis": value.clone(), "TokenCache": value.clone()})] {
            if let Ok(config) = IdentityConfig::from_json(&document.to_string()) {
                if let Err(e) = config.azure_ad.validation_options() {
                    prop_assert!(!e.field.is_empty());
                }
                if let Err(e) = AcquisitionOptions::from_config(&config) {
                    prop_assert!(!e.field.is_empty());
                }
            }
        }
    }

    #[test]
    fn any_text_configuration_is_read_or_a_field_error(text in "\\PC{0,300}") {
        if let Err(e) = IdentityConfig::from_json(&text) {
            prop_assert!(!e.field.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn no_mutation_of_a_signed_token_is_accepted(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        thread_local! {
            static API: (TokenValidator, String) = {
                let idp = rc(ScriptedIdp::entra(TENANT, vec![TestSigner::rfc_ec().public_jwk("ec")]));
                let platform = Platform::new(idp, Rc::new(RustCrypto), rc(ManualClock::at_secs(T0)));
                let config = IdentityConfig::from_json(&entra_config(json!({}))).unwrap();
                let validator = TokenValidator::from_config(&config.azure_ad, platform).unwrap();
                (validator, TestSigner::rfc_ec().sign("ec", &entra_claims(T0)))
            };
        }
        API.with(|(validator, token)| {
            prop_assert!(block_on(validator.validate(token)).is_ok());
            let mut mutated = token.clone().into_bytes();
            for (at, byte, kind) in &edits {
                match kind {
                    0 if !mutated.is_empty() => { let i = at.index(mutated.len()); mutated[i] = *byte; }
                    1 => { let i = at.index(mutated.len() + 1); mutated.insert(i, *byte); }
                    2 if !mutated.is_empty() => { let i = at.index(mutated.len()); mutated.remove(i); }
                    _ => { let i = at.index(mutated.len() + 1); mutated.truncate(i); }
                }
            }
            let Ok(mutated) = String::from_utf8(mutated) else { return Ok(()) };
            if mutated != *token {
                prop_assert!(block_on(validator.validate(&mutated)).is_err(), "accepted {mutated}");
            }
            Ok(())
        })?;
    }
}

/// A sealed store over `MemoryStore`, with the test isolates' secret.
fn sealed(store: &Rc<MemoryStore>) -> SealedStore {
    let seal = SealSecret::new(Secret::new(SEAL_SECRET), "TOKEN_CACHE_KEY").unwrap();
    SealedStore::new(store.clone(), &seal, Rc::new(RustCrypto), Rc::new(NoLogger))
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn any_token_endpoint_answer_is_a_token_or_a_typed_error(
        status in prop_oneof![Just(200u16), Just(400), Just(401), Just(429), Just(500), 100u16..600],
        body in prop_oneof![json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()), bytes()],
        retry_after in proptest::option::of("[0-9a-zA-Z ,:]{0,12}"),
    ) {
        let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None);
        let mut answer = http::Response::builder().status(status);
        if let Some(value) = &retry_after {
            answer = answer.header("retry-after", value.as_str());
        }
        iso.web.queue(&token_endpoint(TENANT), Ok(answer.body(body).unwrap()));
        iso.web.queue(&token_endpoint(TENANT), json_answer(503, json!({})));
        let acquirer = iso.acquirer(&config(json!({}), json!({})));
        match block_on(acquirer.token_for_user(&user(), &TokenRequest::new(["api://partner/read"]))) {
            Ok(token) => prop_assert!(!token.secret().is_empty()),
            Err(e) => {
                let response = e.to_response();
                prop_assert!(response.status().as_u16() >= 400);
            }
        }
    }

    #[test]
    fn any_cache_entry_or_session_record_read_back_is_a_miss_or_a_usable_record(
        record in json_value(),
        raw in bytes(),
        seal_it in any::<bool>(),
    ) {
        // A store holding a token, an app token and a session; every entry replaced by the
        // generated value, sealed with the right secret (contents only a bug could write) or
        // raw (anything a namespace writer could put there).
        let store = rc(MemoryStore::new());
        let iso = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
        let acquirer: TokenAcquirer = iso.acquirer(&config(json!({}), json!({})));
        let request = TokenRequest::new(["api://partner/read"]);
        block_on(acquirer.token_for_user(&user(), &request)).unwrap();
        let session = block_on(acquirer.start_session(&user(), SessionKey::AllocateForMe, &request)).unwrap();
        for key in store.keys() {
            if seal_it {
                block_on(sealed(&store).put(&key, serde_json::to_vec(&record).unwrap(), Duration::from_secs(60))).unwrap();
            } else {
                store.overwrite(&key, raw.clone());
            }
        }
        let cold = Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), Some(store.clone()));
        let acquirer = cold.acquirer(&config(json!({}), json!({})));
        let token = block_on(acquirer.token_for_user(&user(), &request));
        prop_assert!(token.is_ok(), "{token:?}");
        if let Err(e) = block_on(acquirer.token_for_session(&user(), &session.key, &request)) {
            prop_assert!(e.status().as_u16() < 500 || e.status().as_u16() == 503, "{e:?}");
        }
        let apis = DownstreamApis::from_config(acquirer.clone(), &config(json!({}), json!({}))).unwrap();
        prop_assert!(apis.api("graph").is_ok());
    }
}
