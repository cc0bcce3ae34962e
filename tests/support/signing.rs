//! Native token minting for tests, with the RFC example keys and extra P-256 keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::signature::{SignatureEncoding, Signer as _};
use serde_json::{json, Value};

use super::signing_keys::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("test key is base64url")
}

/// A key the tests sign with.
pub enum TestSigner {
    /// RS256 with the RFC 7515 A.2 key.
    Rsa,
    /// ES256 with a P-256 key made from a 32-byte scalar.
    Ec(p256::ecdsa::SigningKey),
    /// EdDSA with the RFC 8037 key.
    Ed(ed25519_dalek::SigningKey),
}

fn rsa_key() -> rsa::RsaPrivateKey {
    let n = |s: &str| rsa::BigUint::from_bytes_be(&unb64(s));
    rsa::RsaPrivateKey::from_components(
        n(RFC7515_A2_N),
        n("AQAB"),
        n(RFC7515_A2_D),
        vec![n(RFC7515_A2_P), n(RFC7515_A2_Q)],
    )
    .expect("RFC 7515 A.2 key")
}

impl TestSigner {
    /// The RFC 7515 A.3 P-256 key.
    pub fn rfc_ec() -> Self {
        TestSigner::Ec(p256::ecdsa::SigningKey::from_slice(&unb64(RFC7515_A3_D)).unwrap())
    }

    /// Another P-256 key, distinct for each `seed` in 1..=200.
    pub fn ec(seed: u8) -> Self {
        let mut scalar = [0x11u8; 32];
        scalar[31] = seed;
        TestSigner::Ec(p256::ecdsa::SigningKey::from_slice(&scalar).unwrap())
    }

    pub fn rfc_ed() -> Self {
        let seed: [u8; 32] = unb64(RFC8037_D).try_into().unwrap();
        TestSigner::Ed(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn alg(&self) -> &'static str {
        match self {
            TestSigner::Rsa => "RS256",
            TestSigner::Ec(_) => "ES256",
            TestSigner::Ed(_) => "EdDSA",
        }
    }

    /// The public JWK, with `kid` and `use: sig`.
    pub fn public_jwk(&self, kid: &str) -> Value {
        match self {
            TestSigner::Rsa => rsa_public_jwk(kid),
            TestSigner::Ec(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": kid,
                    "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
            }
            TestSigner::Ed(k) => json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "kid": kid,
                "x": b64(k.verifying_key().as_bytes())}),
        }
    }

    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        match self {
            TestSigner::Rsa => {
                let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa_key());
                key.sign(message).to_vec()
            }
            TestSigner::Ec(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            TestSigner::Ed(k) => {
                use ed25519_dalek::Signer;
                k.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// A compact JWS of `claims` with exactly `header` as the protected header.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(header).unwrap()),
            b64(&serde_json::to_vec(claims).unwrap())
        );
        let signature = self.sign_bytes(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }

    /// A token with header `{"typ": "JWT", "alg": <own alg>, "kid": kid}`.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        self.sign_with_header(&json!({"typ": "JWT", "alg": self.alg(), "kid": kid}), claims)
    }

    /// Signs raw header and payload bytes (for malformed-JSON cases).
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = self.sign_bytes(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }
}
