//! The JOSE vocabulary every floor uses: the signing algorithms this SDK accepts (RFC 7518),
//! elliptic curves, and public key material as a JWK carries it. The platform seam
//! ([`crate::platform`]) verifies and signs in these terms, and token validation
//! ([`crate::validation`]) reads keys and tokens into them; neither owns them.

use std::fmt;

use serde_json::{Map, Value};

use crate::base64url;

/// The JWS algorithms a token may be signed with. This list is the allow-list: `none`, every
/// `HS*` (a shared secret can't protect an API whose key set is public) and anything else is
/// refused before a key is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and a 32-byte salt.
    PS256,
    /// RSASSA-PSS with SHA-384 and a 48-byte salt.
    PS384,
    /// RSASSA-PSS with SHA-512 and a 64-byte salt.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every algorithm the SDK can verify.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The algorithm named `name` in a JWS header (`"RS256"`, ...), if it is one the SDK verifies.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The JWS name of the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The length in bytes of the digest the algorithm signs (0 for EdDSA, which hashes internally).
    pub fn hash_len(self) -> usize {
        match self {
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => 32,
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => 48,
            Algorithm::RS512 | Algorithm::PS512 => 64,
            Algorithm::EdDSA => 0,
        }
    }

    /// The exact signature length this algorithm produces with `material`, or `None` if the key
    /// is of another kind.
    pub fn signature_len(self, material: &KeyMaterial) -> Option<usize> {
        match (self, material) {
            (
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
                KeyMaterial::Rsa { n, .. },
            ) => Some(n.len()),
            (Algorithm::ES256, KeyMaterial::Ec { curve: Curve::P256, .. }) => Some(64),
            (Algorithm::ES384, KeyMaterial::Ec { curve: Curve::P384, .. }) => Some(96),
            (Algorithm::EdDSA, KeyMaterial::Ed25519 { .. }) => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An elliptic curve for ECDSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (`"P-256"`).
    P256,
    /// NIST P-384 (`"P-384"`).
    P384,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (bounds the cost of one verification).
pub const MAX_RSA_BITS: usize = 4096;

/// Validated public key material, decoded from a JWK.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An RSA public key: big-endian modulus (no leading zero bytes) and exponent.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
    },
    /// An uncompressed elliptic-curve point.
    Ec {
        /// The curve.
        curve: Curve,
        /// The x coordinate, exactly the curve's size.
        x: Vec<u8>,
        /// The y coordinate, exactly the curve's size.
        y: Vec<u8>,
    },
    /// An Ed25519 public key (32 bytes).
    Ed25519 {
        /// The encoded point.
        x: Vec<u8>,
    },
}

impl KeyMaterial {
    /// The key as a minimal public JWK object: only `kty` and the key's own parameters, the form
    /// WebCrypto's `importKey("jwk", ...)` takes without second-guessing `alg` or `use`.
    pub fn to_public_jwk(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        let mut put = |k: &str, v: String| {
            jwk.insert(k.to_owned(), Value::String(v));
        };
        match self {
            KeyMaterial::Rsa { n, e } => {
                put("kty", "RSA".into());
                put("n", base64url::encode(n));
                put("e", base64url::encode(e));
            }
            KeyMaterial::Ec { curve, x, y } => {
                put("kty", "EC".into());
                put("crv", curve.name().into());
                put("x", base64url::encode(x));
                put("y", base64url::encode(y));
            }
            KeyMaterial::Ed25519 { x } => {
                put("kty", "OKP".into());
                put("crv", "Ed25519".into());
                put("x", base64url::encode(x));
            }
        }
        jwk
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Rsa { n, .. } => write!(f, "Rsa({} bits)", n.len() * 8),
            KeyMaterial::Ec { curve, .. } => write!(f, "Ec({})", curve.name()),
            KeyMaterial::Ed25519 { .. } => f.write_str("Ed25519"),
        }
    }
}

/// A `typ` value as compared: lower case, without the `application/` prefix (RFC 7515 §4.1.9).
pub(crate) fn media_type(typ: &str) -> String {
    let lower = typ.trim().to_ascii_lowercase();
    lower.strip_prefix("application/").map(str::to_owned).unwrap_or(lower)
}
