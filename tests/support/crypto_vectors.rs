//! Checks run against any [`Crypto`] backend, so the pure-Rust and WebCrypto suites defend the
//! same properties with the same vectors: RSA client-assertion signing (RS256, PS256),
//! AES-256-GCM sealing, and random bytes. Each function panics with a message on failure.

use base64::Engine as _;
use edge_identity::platform::{AssertionAlgorithm, Crypto, SEAL_NONCE_LEN, SEAL_TAG_LEN};
use edge_identity::{internals::Jwk, Algorithm};

use super::signing_keys::{rsa_public_jwk, RFC7515_A2_PKCS8_B64, RSA_1024_PKCS8_B64};
use super::vectors::rfc_examples;

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("a base64 test constant")
}

fn b64url(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("a base64url test constant")
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("a hex test constant"))
        .collect()
}

/// The RFC 7515 A.2 PKCS#8 key.
pub fn rfc7515_a2_pkcs8() -> Vec<u8> {
    b64(RFC7515_A2_PKCS8_B64)
}

/// The 1024-bit PKCS#8 key.
pub fn rsa_1024_pkcs8() -> Vec<u8> {
    b64(RSA_1024_PKCS8_B64)
}

/// RFC 7515 Appendix A.2: `(signing input, signature)`.
pub fn rfc7515_a2_signing_input_and_signature() -> (String, Vec<u8>) {
    let (_, _, jws) = rfc_examples()
        .into_iter()
        .find(|(name, _, _)| name.contains("A.2"))
        .expect("the RFC 7515 A.2 example");
    let (input, signature) = jws.rsplit_once('.').expect("a compact JWS");
    (input.to_owned(), b64url(signature))
}

/// RS256 (RSASSA-PKCS1-v1_5) is deterministic: the A.2 key signing the A.2 input gives exactly
/// the RFC's signature, and that signature verifies with the backend's own verifier.
pub async fn rs256_signing_reproduces_rfc7515_a2(crypto: &dyn Crypto) {
    let (input, expected) = rfc7515_a2_signing_input_and_signature();
    let key = crypto
        .import_signing_key(&rfc7515_a2_pkcs8(), AssertionAlgorithm::RS256)
        .await
        .expect("the 2048-bit A.2 key imports for RS256");
    let signature = crypto.sign(&key, input.as_bytes()).await.expect("signs");
    assert_eq!(signature, expected, "RS256 signature differs from RFC 7515 A.2");
    // Deterministic: a second signature is the same bytes.
    let again = crypto.sign(&key, input.as_bytes()).await.expect("signs");
    assert_eq!(again, expected);
}

/// PS256 signatures are 256 bytes, verify under the public key with the backend's own
/// `import_key`/`verify`, fail for another message, and differ from one another (random salt).
pub async fn ps256_signatures_verify_and_use_a_fresh_salt(crypto: &dyn Crypto) {
    let message = b"eyJhbGciOiJQUzI1NiJ9.eyJhdWQiOiJodHRwczovL2xvZ2luIn0";
    let key = crypto
        .import_signing_key(&rfc7515_a2_pkcs8(), AssertionAlgorithm::PS256)
        .await
        .expect("the 2048-bit A.2 key imports for PS256");
    let first = crypto.sign(&key, message).await.expect("signs");
    let second = crypto.sign(&key, message).await.expect("signs");
    assert_eq!((first.len(), second.len()), (256, 256));
    assert_ne!(first, second, "two PS256 signatures must differ (random salt)");

    let public = Jwk::from_value(&rsa_public_jwk("k1")).expect("the A.2 public JWK");
    let verifying = crypto
        .import_key(&public.material, Algorithm::PS256)
        .await
        .expect("the A.2 public key imports for PS256");
    for signature in [&first, &second] {
        assert_eq!(
            crypto.verify(Algorithm::PS256, &verifying, message, signature).await,
            Ok(true),
            "a PS256 signature does not verify"
        );
    }
    assert_eq!(
        crypto.verify(Algorithm::PS256, &verifying, b"another message", &first).await,
        Ok(false),
        "a PS256 signature verifies for another message"
    );
}

/// A 1024-bit key is refused for both algorithms, and so is anything that is not a PKCS#8 RSA
/// private key: an error, never a panic, and no key bytes in the message.
pub async fn undersized_or_malformed_signing_keys_are_refused(crypto: &dyn Crypto) {
    let small = rsa_1024_pkcs8();
    for alg in [AssertionAlgorithm::RS256, AssertionAlgorithm::PS256] {
        let refused = crypto.import_signing_key(&small, alg).await;
        let error = refused.expect_err("a 1024-bit RSA key must be refused");
        assert!(
            !error.0.contains(&RSA_1024_PKCS8_B64[400..440]),
            "the error quotes the key: {error}"
        );
    }
    let a2 = rfc7515_a2_pkcs8();
    let mut flipped = a2.clone();
    flipped[0] ^= 0xff;
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"-----BEGIN PRIVATE KEY-----".to_vec()),
        ("zeros", vec![0; 1218]),
        ("truncated", a2[..a2.len() / 2].to_vec()),
        ("bad tag", flipped),
    ];
    for (name, der) in garbage {
        for alg in [AssertionAlgorithm::RS256, AssertionAlgorithm::PS256] {
            assert!(
                crypto.import_signing_key(&der, alg).await.is_err(),
                "{name} DER imported for {alg:?}"
            );
        }
    }
}

/// AES-256-GCM Test Case 16 of D. McGrew and J. Viega, "The Galois/Counter Mode of Operation
/// (GCM)", NIST submission, 2005, Appendix B (256-bit key, 96-bit IV, 20-byte AAD, 60-byte
/// plaintext). Also cross-checked with Python `cryptography`'s AESGCM.
pub struct GcmVector {
    pub key: [u8; 32],
    pub nonce: [u8; SEAL_NONCE_LEN],
    pub aad: Vec<u8>,
    pub plaintext: Vec<u8>,
    /// Ciphertext followed by the 16-byte tag.
    pub sealed: Vec<u8>,
}

pub fn gcm_test_case_16() -> GcmVector {
    let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    let nonce = hex("cafebabefacedbaddecaf888");
    let ciphertext = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                      8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
    let tag = "76fc6ece0f4e1768cddf8853bb2d551b";
    GcmVector {
        key: key.try_into().expect("32 bytes"),
        nonce: nonce.try_into().expect("12 bytes"),
        aad: hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        plaintext: hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"),
        sealed: hex(&format!("{ciphertext}{tag}")),
    }
}

/// Sealing the GCM Test Case 16 inputs gives exactly its ciphertext and tag, and opening gives
/// the plaintext back.
pub async fn aes_256_gcm_matches_the_published_test_case_16(crypto: &dyn Crypto) {
    let v = gcm_test_case_16();
    let key = crypto.import_sealing_key(&v.key).await.expect("imports");
    let sealed = crypto.seal(&key, &v.nonce, &v.aad, &v.plaintext).await.expect("seals");
    assert_eq!(sealed, v.sealed, "ciphertext||tag differs from Test Case 16");
    assert_eq!(crypto.open(&key, &v.nonce, &v.aad, &v.sealed).await, Ok(Some(v.plaintext.clone())));
    // The empty plaintext seals to the tag alone and opens to nothing.
    let empty = crypto.seal(&key, &v.nonce, &v.aad, b"").await.expect("seals");
    assert_eq!(empty.len(), SEAL_TAG_LEN);
    assert_eq!(crypto.open(&key, &v.nonce, &v.aad, &empty).await, Ok(Some(Vec::new())));
}

/// One flipped bit anywhere (ciphertext, tag, AAD), another nonce, another key, or a value
/// shorter than a tag: `open` answers `Ok(None)`, never an error or the plaintext.
pub async fn tampered_sealed_values_do_not_open(crypto: &dyn Crypto) {
    let v = gcm_test_case_16();
    let key = crypto.import_sealing_key(&v.key).await.expect("imports");
    let tag_at = v.sealed.len() - SEAL_TAG_LEN;

    // (what was changed, nonce, aad, sealed value)
    type Case = (String, [u8; SEAL_NONCE_LEN], Vec<u8>, Vec<u8>);
    let mut cases: Vec<Case> = Vec::new();
    for (what, index) in [
        ("first ciphertext byte", 0),
        ("last ciphertext byte", tag_at - 1),
        ("first tag byte", tag_at),
        ("last tag byte", v.sealed.len() - 1),
    ] {
        let mut sealed = v.sealed.clone();
        sealed[index] ^= 0x01;
        cases.push((format!("bit flip in the {what}"), v.nonce, v.aad.clone(), sealed));
    }
    let mut aad = v.aad.clone();
    aad[3] ^= 0x80;
    cases.push(("bit flip in the AAD".into(), v.nonce, aad, v.sealed.clone()));
    cases.push(("no AAD".into(), v.nonce, Vec::new(), v.sealed.clone()));
    let mut nonce = v.nonce;
    nonce[11] ^= 0x01;
    cases.push(("another nonce".into(), nonce, v.aad.clone(), v.sealed.clone()));
    let mut missing_byte = v.sealed.clone();
    missing_byte.pop();
    cases.push(("one byte short".into(), v.nonce, v.aad.clone(), missing_byte));
    for len in [0, 1, SEAL_TAG_LEN - 1] {
        cases.push((
            format!("{len} bytes, shorter than a tag"),
            v.nonce,
            v.aad.clone(),
            v.sealed[..len].to_vec(),
        ));
    }
    for (what, nonce, aad, sealed) in &cases {
        assert_eq!(crypto.open(&key, nonce, aad, sealed).await, Ok(None), "{what} must not open");
    }

    let mut other_raw = v.key;
    other_raw[0] ^= 0x01;
    let other = crypto.import_sealing_key(&other_raw).await.expect("imports");
    assert_eq!(
        crypto.open(&other, &v.nonce, &v.aad, &v.sealed).await,
        Ok(None),
        "another key must not open"
    );
    // And the untouched value still opens.
    assert_eq!(crypto.open(&key, &v.nonce, &v.aad, &v.sealed).await, Ok(Some(v.plaintext)));
}

/// `random` fills the whole buffer (also past WebCrypto's 65 536-byte limit per call), and two
/// 32-byte draws differ.
pub fn random_fills_the_buffer_and_draws_differ(crypto: &dyn Crypto) {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    crypto.random(&mut a).expect("random bytes");
    crypto.random(&mut b).expect("random bytes");
    assert_ne!(a, [0u8; 32], "the buffer was not filled");
    assert_ne!(a, b, "two draws gave the same 32 bytes");

    let mut large = vec![0u8; 100_000];
    crypto.random(&mut large).expect("random bytes");
    for chunk in [&large[..32], &large[65_536..65_568], &large[100_000 - 32..]] {
        assert_ne!(chunk, &[0u8; 32][..], "part of a large buffer was not filled");
    }
    crypto.random(&mut []).expect("an empty buffer is fine");
}
