//! Benchmark Worker: `GET /validate?backend=webcrypto|webcrypto-first|rust&k=K` validates the
//! token in the `Authorization` header K times with a warm key cache and answers how many
//! passed. `webcrypto` keeps the verified-token cache on (a repeat token), `webcrypto-first` and
//! `rust` turn it off (every validation is a first sight: parse, signature, claims). Timing is
//! taken from outside (workerd does not advance clocks during computation). Two more routes
//! split the cost: `/parse` (header + strict JWS parsing + claims JSON, no signature) and
//! `/verify` (the SDK's WebCrypto `verify` call alone, key imported once). `POST /dpop?k=K`
//! takes `{"token", "proofs": [...]}` and validates the first K of the proofs as DPoP requests
//! (`Authorization: DPoP token`, one proof each) at `https://bench/dpop`: the bound token from
//! the verified-token cache, every proof checked (`backend=dpop`: replay in the isolate;
//! `dpop-first`: no token cache, every validation a first sight).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use edge_identity::internals::bearer_token;
use edge_identity::internals::Jwk;
use edge_identity::internals::{Jws, DEFAULT_MAX_TOKEN_BYTES};
use edge_identity::platform::rust_crypto::RustCrypto;
use edge_identity::platform::webcrypto::{JsClock, WebCrypto};
use edge_identity::platform::worker::{platform, WorkerFetch};
use edge_identity::platform::Platform;
use edge_identity::platform::{SignatureVerifier, VerifyingKey};
use edge_identity::{IdentityConfig, SealSecret, Secret, TokenValidator};
use worker::{event, Context, Env, Request, Response, Result};

thread_local! {
    static VALIDATORS: RefCell<HashMap<String, Rc<TokenValidator>>> = RefCell::new(HashMap::new());
}

fn validator(env: &Env, backend: &str) -> Result<Rc<TokenValidator>> {
    if let Some(v) = VALIDATORS.with(|m| m.borrow().get(backend).cloned()) {
        return Ok(v);
    }
    let fail = |e: &dyn std::fmt::Display| worker::Error::RustError(e.to_string());
    let mut json: serde_json::Value =
        serde_json::from_str(&env.var("IDENTITY_CONFIG")?.to_string()).map_err(|e| fail(&e))?;
    if backend != "webcrypto" && backend != "dpop" {
        json["AzureAd"]["VerifiedTokenCacheMaxEntries"] = 0.into();
    }
    if backend.starts_with("dpop") {
        json["AzureAd"]["Dpop"] = serde_json::json!({"Mode": "Allowed"});
    }
    let config = IdentityConfig::from_json(&json.to_string()).map_err(|e| fail(&e))?;
    // With a `TOKEN_CACHE_KEY` var, the deployment's sealed KV (`TOKEN_CACHE`) holds the key set
    // as the example's does: a new isolate reads it there instead of calling the issuer.
    let seal = match env.var("TOKEN_CACHE_KEY") {
        Ok(key) => Some(
            SealSecret::new(Secret::new(key.to_string()), "TOKEN_CACHE_KEY")
                .map_err(|e| fail(&e))?,
        ),
        Err(_) => None,
    };
    let platform = match backend {
        "rust" => Platform::new(Rc::new(WorkerFetch), Rc::new(RustCrypto), Rc::new(JsClock)),
        _ => platform(env, seal.as_ref().map(|_| "TOKEN_CACHE"), seal.as_ref())
            .map_err(|e| fail(&e))?,
    };
    let v = Rc::new(TokenValidator::from_config(&config.azure_ad, platform).map_err(|e| fail(&e))?);
    VALIDATORS.with(|m| m.borrow_mut().insert(backend.to_owned(), v.clone()));
    Ok(v)
}

thread_local! {
    static VERIFY_KEY: RefCell<Option<(WebCrypto, VerifyingKey)>> = const { RefCell::new(None) };
}

/// The first key of the `JWKS` var, imported once into WebCrypto.
async fn verify_key(env: &Env) -> Result<(WebCrypto, VerifyingKey)> {
    if let Some(pair) = VERIFY_KEY.with(|k| k.borrow().clone()) {
        return Ok(pair);
    }
    let fail = |e: &dyn std::fmt::Debug| worker::Error::RustError(format!("{e:?}"));
    let jwks: serde_json::Value =
        serde_json::from_str(&env.var("JWKS")?.to_string()).map_err(|e| fail(&e))?;
    let jwk = Jwk::from_value(&jwks["keys"][0]).map_err(|e| fail(&e))?;
    let crypto = WebCrypto::new().map_err(|e| fail(&e))?;
    let key = crypto
        .import_key(&jwk.material, edge_identity::Algorithm::RS256)
        .await
        .map_err(|e| fail(&e))?;
    VERIFY_KEY.with(|k| *k.borrow_mut() = Some((crypto.clone(), key.clone())));
    Ok((crypto, key))
}

/// Validates the first `k` of `body`'s proofs, each as one DPoP request with `body`'s token.
async fn dpop(validator: &TokenValidator, body: &serde_json::Value, k: u32) -> u32 {
    let token = body["token"].as_str().unwrap_or_default();
    let mut passed = 0;
    let proofs = body["proofs"].as_array().map(Vec::as_slice).unwrap_or_default();
    for proof in proofs.iter().take(k as usize) {
        let request = http::Request::get("https://bench/dpop")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof.as_str().unwrap_or_default())
            .body(());
        if let Ok(request) = request {
            if validator.validate_request(&request).await.is_ok() {
                passed += 1;
            }
        }
    }
    passed
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let backend = params.get("backend").map(String::as_str).unwrap_or("webcrypto");
    let k: u32 = params.get("k").and_then(|k| k.parse().ok()).unwrap_or(1);
    let authorization = req.headers().get("authorization")?;
    let mut passed = 0u32;
    match url.path() {
        "/dpop" => {
            let body: serde_json::Value = req.json().await?;
            passed = dpop(&*validator(&env, backend)?, &body, k).await;
        }
        "/parse" => {
            for _ in 0..k {
                let values: Vec<&str> = authorization.as_deref().into_iter().collect();
                let parsed = bearer_token(&values)
                    .ok()
                    .and_then(|t| Jws::parse(t, DEFAULT_MAX_TOKEN_BYTES).ok())
                    .and_then(|jws| jws.read_claims().ok());
                if parsed.is_some() {
                    passed += 1;
                }
            }
        }
        "/verify" => {
            let (crypto, key) = verify_key(&env).await?;
            let token = authorization.as_deref().unwrap_or("").trim_start_matches("Bearer ");
            let jws = Jws::parse(token, DEFAULT_MAX_TOKEN_BYTES)
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            for _ in 0..k {
                let alg = edge_identity::Algorithm::RS256;
                if crypto.verify(alg, &key, jws.signing_input(), jws.signature()).await == Ok(true)
                {
                    passed += 1;
                }
            }
        }
        _ => {
            let validator = validator(&env, backend)?;
            for _ in 0..k {
                if validator.validate_authorization(authorization.as_deref()).await.is_ok() {
                    passed += 1;
                }
            }
        }
    }
    Response::ok(passed.to_string())
}
