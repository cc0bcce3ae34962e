//! Signature vectors run against any [`SignatureVerifier`]: Project Wycheproof's JWS cases (read
//! from `../shared/vectors/`, never copied here) and the RFC 7515 / RFC 8037 examples.

use edge_identity::internals::verify_jws;
use edge_identity::internals::Jws;
use edge_identity::platform::SignatureVerifier;
use edge_identity::Malformation;
use edge_identity::ValidationError;
use edge_identity::{internals::Jwk, Algorithm};
use serde_json::Value;

/// Where the Wycheproof vectors are expected, beside the repository.
pub const WYCHEPROOF_PATH: &str = "../shared/vectors/wycheproof/json_web_signature_test.json";

/// The Wycheproof JWS vectors, when they were beside the repository at build time (`build.rs`).
#[cfg(wycheproof_vectors)]
pub const WYCHEPROOF_JWS: Option<&str> = Some(include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/wycheproof/json_web_signature_test.json"
)));
/// The Wycheproof JWS vectors, when they were beside the repository at build time (`build.rs`).
#[cfg(not(wycheproof_vectors))]
pub const WYCHEPROOF_JWS: Option<&str> = None;

/// What a run of the Wycheproof file found.
#[derive(Debug, Default)]
pub struct WycheproofReport {
    /// Valid cases that verified.
    pub accepted: usize,
    /// Valid cases refused by policy, as expected (HS256, ES512, a key pinned to another alg).
    pub refused_by_policy: usize,
    /// Invalid cases refused.
    pub invalid_refused: usize,
    /// Cases whose verdict was not the expected one.
    pub failures: Vec<String>,
}

async fn verdict(
    verifier: &dyn SignatureVerifier,
    jws_text: &str,
    key: Option<&Value>,
) -> Result<(), ValidationError> {
    let jws = Jws::parse(jws_text, 16 * 1024)?;
    let key = key.ok_or(ValidationError::UnknownKey)?;
    let jwk = Jwk::from_value(key).map_err(|_| ValidationError::KeyNotUsable)?;
    verify_jws(verifier, &jws, &jwk).await
}

fn header_alg(jws_text: &str) -> Option<String> {
    let header = jws_text.split('.').next()?;
    let bytes = base64_decode(header)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}

/// Runs every case. Valid cases must verify unless policy refuses them, and then with the
/// specific error the policy gives; invalid cases must be refused. `None` when the vectors are
/// not beside the repository — a failure under `CI=true` (at build time), where they must be.
pub async fn run_wycheproof(verifier: &dyn SignatureVerifier) -> Option<WycheproofReport> {
    let Some(vectors) = WYCHEPROOF_JWS else {
        assert!(
            option_env!("CI") != Some("true"),
            "CI needs Project Wycheproof's vectors at {WYCHEPROOF_PATH} (the repository's sibling shared/)"
        );
        println!("skipped: Project Wycheproof's vectors are expected at {WYCHEPROOF_PATH}");
        return None;
    };
    let doc: Value = serde_json::from_str(vectors).expect("the Wycheproof file is JSON");
    let mut report = WycheproofReport::default();
    for group in doc["testGroups"].as_array().expect("testGroups") {
        let key = group.get("public");
        for case in group["tests"].as_array().expect("tests") {
            let id = case["tcId"].as_u64().unwrap_or(0);
            let jws = case["jws"].as_str().unwrap_or("");
            let got = verdict(verifier, jws, key).await;
            if case["result"] == "invalid" {
                match got {
                    Err(_) => report.invalid_refused += 1,
                    Ok(()) => report.failures.push(format!("tcId {id}: invalid case accepted")),
                }
                continue;
            }
            let alg = header_alg(jws).unwrap_or_default();
            let key_alg = key.and_then(|k| k.get("alg")).and_then(Value::as_str);
            let lenient_base64 =
                jws.bytes().any(|b| !(b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            if Algorithm::from_name(&alg).is_none() {
                // HS256 (symmetric) and ES512 are outside the allow-list. Wycheproof also calls
                // "valid" some HS256 cases with stray characters a lenient decoder skips; strict
                // base64url refuses those before the algorithm is even read.
                match got {
                    Err(ValidationError::AlgorithmNotAllowed) => report.refused_by_policy += 1,
                    Err(ValidationError::Malformed(Malformation::Encoding(_)))
                        if lenient_base64 =>
                    {
                        report.refused_by_policy += 1
                    }
                    other => report
                        .failures
                        .push(format!("tcId {id}: {alg} gave {other:?}, not AlgorithmNotAllowed")),
                }
            } else if key_alg.is_some_and(|k| k != alg) {
                // The JWK pins another algorithm: refused by key policy, yet the signature is
                // genuine — it verifies once the key's `alg` is removed.
                let mut unpinned = key.cloned().unwrap_or_default();
                unpinned.as_object_mut().map(|k| k.remove("alg"));
                let genuine = verdict(verifier, jws, Some(&unpinned)).await;
                match (got, genuine) {
                    (Err(ValidationError::KeyNotUsable), Ok(())) => report.refused_by_policy += 1,
                    other => {
                        report.failures.push(format!("tcId {id}: pinned-key case gave {other:?}"))
                    }
                }
            } else {
                match got {
                    Ok(()) => report.accepted += 1,
                    Err(e) => {
                        report.failures.push(format!("tcId {id}: valid {alg} case refused: {e:?}"))
                    }
                }
            }
        }
    }
    Some(report)
}

/// RFC 7515 A.2 (RS256), A.3 (ES256) and RFC 8037 A.4 (EdDSA): `(name, jwk, compact JWS)`.
pub fn rfc_examples() -> Vec<(&'static str, Value, String)> {
    let payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    vec![
        (
            "RFC 7515 A.2 RS256",
            serde_json::json!({"kty": "RSA", "n": super::signing_keys::RFC7515_A2_N, "e": "AQAB"}),
            format!("eyJhbGciOiJSUzI1NiJ9.{payload}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"),
        ),
        (
            "RFC 7515 A.3 ES256",
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": super::signing_keys::RFC7515_A3_X, "y": super::signing_keys::RFC7515_A3_Y}),
            format!("eyJhbGciOiJFUzI1NiJ9.{payload}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"),
        ),
        (
            "RFC 8037 A.4 EdDSA",
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": super::signing_keys::RFC8037_X}),
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg".to_owned(),
        ),
    ]
}

/// Each RFC example verifies, and the same JWS with one payload byte changed does not.
pub async fn check_rfc_examples(verifier: &dyn SignatureVerifier) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, key, jws) in rfc_examples() {
        if let Err(e) = verdict(verifier, &jws, Some(&key)).await {
            failures.push(format!("{name}: refused: {e:?}"));
        }
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        let mut payload = base64_decode(&parts[1]).unwrap();
        payload[0] ^= 1;
        parts[1] =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload);
        match verdict(verifier, &parts.join("."), Some(&key)).await {
            Err(ValidationError::InvalidSignature) => {}
            other => failures.push(format!("{name}: tampered payload gave {other:?}")),
        }
    }
    failures
}
