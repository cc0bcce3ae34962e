//! Checking a DPoP proof (RFC 9449 §4.3) against the request it came with and the token it
//! proves: its shape, its key, its signature, `htm`, `htu`, `iat`, `ath`, and the key's
//! thumbprint against the token's `cnf.jkt`. Replay (`jti`) is `replay.rs`'s,
//! and the decision which scheme a request may use is the validator's
//! ([`TokenValidator::validate_request`](super::TokenValidator::validate_request)).
//!
//! Every check is made on the proof of every request: a token the verified-token cache
//! remembers skips its own signature check, never its proof's.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::base64url;
use crate::jose::{media_type, Algorithm};
use crate::platform::{SignatureVerifier, VerifyingKey};
use crate::validation::error::DpopError;
use crate::validation::jwk::Jwk;
use crate::validation::options::DpopOptions;
use crate::validation::parse::unique_object;

/// The header a proof comes in (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";
/// The header a server nonce is given in (RFC 9449 §8).
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Longest proof read, in bytes: an RSA-4096 `jwk` and the claims fit in a quarter of it.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted (RFC 9449 asks for 96 bits of randomness; UUIDs are 36 characters).
const MAX_JTI_BYTES: usize = 256;

/// What a request presents to be checked with its proof.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The request's method, as received (`GET`).
    pub method: &'a str,
    /// The URL the client called: the request's, with the scheme, host and port of
    /// `AzureAd.PublicUrl` where one is configured.
    pub url: &'a url::Url,
    /// The hash the proof's `ath` must be: [`access_token_hash`] of the access token presented
    /// with it.
    pub ath: &'a str,
    /// The thumbprint the token is bound to (`cnf.jkt`).
    pub jkt: &'a str,
    /// Now, in milliseconds since the epoch.
    pub now_ms: u64,
}

/// A proof that passed every check of [`check_proof`]; its replay and nonce are still to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    /// SHA-256 over the key's thumbprint and the `jti`: what replay is decided on.
    pub replay_id: [u8; 32],
    /// `iat`, in seconds.
    pub issued_at: u64,
    /// The server nonce the proof carries, if any.
    pub nonce: Option<String>,
}

/// Checks `proof` against `context` by RFC 9449 §4.3, in order of cost: its shape and `typ`,
/// `alg`, the public `jwk`, `htm`, `htu`, `iat`, `ath`, the key's thumbprint against `cnf.jkt`,
/// and last the signature. The [`TokenValidator`](super::TokenValidator) calls it for every
/// `Authorization: DPoP` request, then checks replay and nonce; it is public for hosts that
/// check a proof of a token they validated another way, and for tests.
pub async fn check_proof(
    proof: &str,
    context: ProofContext<'_>,
    options: &DpopOptions,
    verifier: &dyn SignatureVerifier,
) -> Result<CheckedProof, DpopError> {
    check_proof_with(proof, context, options, verifier, None).await
}

/// [`check_proof`], with the keys of earlier proofs already imported (`keys`): a client signs
/// every proof with the same key, and importing it into WebCrypto is a third of a check.
pub(crate) async fn check_proof_with(
    proof: &str,
    context: ProofContext<'_>,
    options: &DpopOptions,
    verifier: &dyn SignatureVerifier,
    keys: Option<&ProofKeys>,
) -> Result<CheckedProof, DpopError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::ProofMalformed("it is too long"));
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::ProofMalformed("it is not a compact JWS"));
    };
    let signing_input = proof
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(DpopError::ProofMalformed("it is not a compact JWS"))?;
    let header = decoded_object(header_b64).ok_or(DpopError::ProofMalformed("header"))?;
    let payload = decoded_object(payload_b64).ok_or(DpopError::ProofMalformed("payload"))?;
    let signature = base64url::decode(signature_b64)
        .filter(|s| !s.is_empty())
        .ok_or(DpopError::ProofMalformed("signature"))?;

    // The header: typ, alg, a public jwk, no critical extension.
    if header.contains_key("crit") {
        return Err(DpopError::ProofMalformed("crit is not supported"));
    }
    let typ = header.get("typ").and_then(Value::as_str).ok_or(DpopError::ProofType)?;
    if media_type(typ) != "dpop+jwt" {
        return Err(DpopError::ProofType);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::from_name)
        .filter(|alg| options.algorithms.contains(alg))
        .ok_or(DpopError::ProofAlgorithm)?;
    let jwk_value = header.get("jwk").ok_or(DpopError::ProofKey)?;
    let jwk = Jwk::from_value(jwk_value).map_err(|_| DpopError::ProofKey)?;
    if !jwk.fits(alg) {
        return Err(DpopError::ProofKey);
    }

    // The claims.
    let jti = string(&payload, "jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
        return Err(DpopError::ProofMalformed("jti"));
    }
    if string(&payload, "htm")? != context.method {
        return Err(DpopError::ProofMethod);
    }
    let htu = url::Url::parse(string(&payload, "htu")?).map_err(|_| DpopError::ProofUrl)?;
    if !same_target(&htu, context.url) {
        return Err(DpopError::ProofUrl);
    }
    let issued_at = issued_at(&payload)?;
    let now = context.now_ms / 1000;
    let oldest = now.saturating_sub(options.proof_max_age.as_secs());
    let newest = now.saturating_add(options.proof_clock_skew.as_secs());
    if issued_at < oldest || issued_at > newest {
        return Err(DpopError::ProofIssuedAt);
    }
    let ath = payload.get("ath").and_then(Value::as_str).ok_or(DpopError::ProofTokenHash)?;
    if ath != context.ath {
        return Err(DpopError::ProofTokenHash);
    }
    let nonce = match payload.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(DpopError::ProofMalformed("nonce")),
    };
    let thumbprint = jwk_thumbprint(jwk_value).ok_or(DpopError::ProofKey)?;
    if thumbprint != context.jkt {
        return Err(DpopError::ProofKeyMismatch);
    }

    // The signature, with the proof's own key.
    if alg.signature_len(&jwk.material) != Some(signature.len()) {
        return Err(DpopError::ProofSignature);
    }
    let key = match keys.and_then(|keys| keys.get(&thumbprint, alg)) {
        Some(key) => key,
        None => {
            let key =
                verifier.import_key(&jwk.material, alg).await.map_err(|_| DpopError::ProofKey)?;
            if let Some(keys) = keys {
                keys.insert(&thumbprint, alg, key.clone());
            }
            key
        }
    };
    match verifier.verify(alg, &key, signing_input.as_bytes(), &signature).await {
        Ok(true) => {}
        Ok(false) | Err(_) => return Err(DpopError::ProofSignature),
    }

    let mut replay = Sha256::new();
    replay.update((thumbprint.len() as u64).to_be_bytes());
    replay.update(thumbprint.as_bytes());
    replay.update(jti.as_bytes());
    Ok(CheckedProof { replay_id: replay.finalize().into(), issued_at, nonce })
}

fn decoded_object(part: &str) -> Option<Map<String, Value>> {
    unique_object(&base64url::decode(part)?)
}

fn string<'a>(claims: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, DpopError> {
    claims.get(name).and_then(Value::as_str).ok_or(DpopError::ProofMalformed(name))
}

/// `iat` as whole seconds: a JSON number (RFC 7519 NumericDate), fractions dropped.
fn issued_at(claims: &Map<String, Value>) -> Result<u64, DpopError> {
    let value = claims.get("iat").ok_or(DpopError::ProofMalformed("iat"))?;
    if let Some(seconds) = value.as_u64() {
        return Ok(seconds);
    }
    match value.as_f64() {
        // Truncation is the intent: a NumericDate's fraction is below the window's resolution.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(seconds) if (0.0..1e15).contains(&seconds) => Ok(seconds as u64),
        _ => Err(DpopError::ProofMalformed("iat")),
    }
}

/// Whether a proof's `htu` names `request`: the same scheme, host and port (with the scheme's
/// default filled in) and path, query and fragment ignored (RFC 9449 §4.3 check 9, with the
/// syntax-based normalisation of RFC 3986 §6.2.2 and the scheme-based of §6.2.3 that the WHATWG
/// parser applies: case of scheme and host, default ports, dot segments, an empty path as `/`).
pub fn same_target(htu: &url::Url, request: &url::Url) -> bool {
    htu.scheme() == request.scheme()
        && htu.host() == request.host()
        && htu.port_or_known_default() == request.port_or_known_default()
        && htu.path() == request.path()
        && htu.username().is_empty()
        && htu.password().is_none()
}

/// The value a proof's `ath` must have: base64url(SHA-256(the access token's ASCII)), the same
/// hash the token's cache keys use (and a validated token keeps).
pub fn access_token_hash(token: &str) -> String {
    crate::cache::key::token_hash(token)
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key as a JWK object: the
/// required members of its `kty`, in lexicographic order, without whitespace. `None` for a key
/// this SDK reads no thumbprint of (or whose required members are not strings).
pub fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&serde_json::to_string(name).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(base64url::encode(&Sha256::digest(canonical.as_bytes())))
}

/// The proof keys an isolate imported, by thumbprint and algorithm (a thumbprint is a SHA-256
/// over the key's members, so one thumbprint is one key). Bounded: past
/// [`MAX_PROOF_KEYS`], the oldest half is dropped.
#[derive(Default)]
pub(crate) struct ProofKeys {
    keys: std::cell::RefCell<Vec<(String, Algorithm, VerifyingKey)>>,
}

/// Most imported proof keys an isolate keeps.
pub(crate) const MAX_PROOF_KEYS: usize = 256;

impl ProofKeys {
    fn get(&self, thumbprint: &str, alg: Algorithm) -> Option<VerifyingKey> {
        let keys = self.keys.borrow();
        keys.iter().rev().find(|(t, a, _)| t == thumbprint && *a == alg).map(|(_, _, k)| k.clone())
    }

    fn insert(&self, thumbprint: &str, alg: Algorithm, key: VerifyingKey) {
        let mut keys = self.keys.borrow_mut();
        if keys.len() >= MAX_PROOF_KEYS {
            keys.drain(..MAX_PROOF_KEYS / 2);
        }
        keys.push((thumbprint.to_owned(), alg, key));
    }
}

impl std::fmt::Debug for ProofKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKeys").field("len", &self.keys.borrow().len()).finish()
    }
}

/// Server nonces (RFC 9449 §8): a nonce names a time slot and carries a MAC over it, so every
/// isolate that holds the same secret accepts the nonces of the others without a store. A nonce
/// is good in its slot and the next one (a slot is the proof window, at least 60 s).
#[derive(Clone)]
pub(crate) struct NonceIssuer {
    key: [u8; 32],
    slot_ms: u64,
}

impl std::fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceIssuer").field("slot_ms", &self.slot_ms).finish_non_exhaustive()
    }
}

/// Length of a nonce's MAC, in bytes.
const NONCE_MAC_LEN: usize = 16;

impl NonceIssuer {
    /// Nonces keyed from `secret` (the seal secret), in slots of `slot_ms`.
    pub(crate) fn new(secret: &[u8], slot_ms: u64) -> NonceIssuer {
        let mut key = Sha256::new();
        key.update(b"edge-identity/v1/dpop-nonce\0");
        key.update(secret);
        NonceIssuer { key: key.finalize().into(), slot_ms: slot_ms.max(60_000) }
    }

    fn mac(&self, slot: u64) -> Option<[u8; NONCE_MAC_LEN]> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(&slot.to_be_bytes());
        let full = mac.finalize().into_bytes();
        full.get(..NONCE_MAC_LEN)?.try_into().ok()
    }

    /// The nonce to give out at `now_ms`.
    pub(crate) fn issue(&self, now_ms: u64) -> String {
        let slot = now_ms / self.slot_ms;
        let mac = self.mac(slot).unwrap_or_default();
        base64url::encode(&[&slot.to_be_bytes()[..], &mac[..]].concat())
    }

    /// Whether `nonce` was issued by this secret in the slot of `now_ms` or the one before.
    pub(crate) fn accepts(&self, nonce: &str, now_ms: u64) -> bool {
        let Some(bytes) = base64url::decode(nonce) else { return false };
        let Some((slot, mac)) = bytes.split_first_chunk::<8>() else { return false };
        let slot = u64::from_be_bytes(*slot);
        let current = now_ms / self.slot_ms;
        if slot != current && slot.checked_add(1) != Some(current) {
            return false;
        }
        // Compared in constant time.
        self.mac(slot).is_some_and(|expected| bool::from(expected.as_slice().ct_eq(mac)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thumbprint_is_rfc_7638_section_3_1s_example() {
        // RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1 and its thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn thumbprint_is_rfc_9449_section_6_1s_example() {
        // RFC 9449 §4.2 Figure 4's proof key; §6.1 Figure 8 binds the example token to it.
        let jwk = json!({
            "kty": "EC",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            "crv": "P-256"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
    }

    #[test]
    fn ath_is_rfc_9449_section_7_1s_example() {
        // RFC 9449 §7.1 Figures 13 and 14: the access token and the `ath` of its proof.
        let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
        assert_eq!(access_token_hash(token), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    }

    #[test]
    fn htu_matches_up_to_normalisation_and_nothing_more() {
        let request = url::Url::parse("https://resource.example.org/protectedresource").unwrap();
        let same = [
            "https://resource.example.org/protectedresource",
            "HTTPS://Resource.Example.ORG:443/protectedresource",
            "https://resource.example.org/a/../protectedresource",
            "https://resource.example.org/protectedresource?x=1#frag",
        ];
        for htu in same {
            assert!(same_target(&url::Url::parse(htu).unwrap(), &request), "{htu}");
        }
        let other = [
            "http://resource.example.org/protectedresource",
            "https://resource.example.org:8443/protectedresource",
            "https://other.example.org/protectedresource",
            "https://resource.example.org/protectedresource/",
            "https://resource.example.org/ProtectedResource",
            "https://user@resource.example.org/protectedresource",
        ];
        for htu in other {
            assert!(!same_target(&url::Url::parse(htu).unwrap(), &request), "{htu}");
        }
    }

    #[test]
    fn a_nonce_holds_for_its_slot_and_the_next_under_its_own_secret_only() {
        let issuer = NonceIssuer::new(b"one secret", 300_000);
        let nonce = issuer.issue(1_000_000_000);
        assert!(issuer.accepts(&nonce, 1_000_000_000));
        assert!(issuer.accepts(&nonce, 1_000_000_000 + 300_000));
        assert!(!issuer.accepts(&nonce, 1_000_000_000 + 600_000), "two slots later");
        assert!(!issuer.accepts(&nonce, 1_000_000_000 - 300_000), "from the future");
        assert!(!NonceIssuer::new(b"another", 300_000).accepts(&nonce, 1_000_000_000));
        let mut forged = base64url::decode(&nonce).unwrap();
        if let Some(last) = forged.last_mut() {
            *last ^= 1;
        }
        assert!(!issuer.accepts(&base64url::encode(&forged), 1_000_000_000));
        for garbage in ["", "!!", "AAAA", &"A".repeat(200)] {
            assert!(!issuer.accepts(garbage, 1_000_000_000), "{garbage}");
        }
    }
}
