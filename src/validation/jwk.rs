//! JSON Web Keys (RFC 7517) and key sets: parsing a published key, and the rules that decide
//! whether a key from a set may verify a given token. The vocabulary they use (algorithms,
//! curves, key material) is the ground floor's, [`crate::jose`], re-exported here.

use std::fmt;

use serde_json::{Map, Value};

use crate::base64url;

pub use crate::jose::{Algorithm, Curve, KeyMaterial, MAX_RSA_BITS, MIN_RSA_BITS};

/// Why one JWK can't be used as a public verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwkError {
    /// Not a JSON object.
    NotAnObject,
    /// `kty` missing or not a string.
    MissingKeyType,
    /// A symmetric (`oct`) key.
    Symmetric,
    /// The key carries private parameters (`d`, `p`, ...).
    Private,
    /// A key type or curve this SDK does not verify with (`kty`/`crv` named).
    Unsupported(String),
    /// A parameter is missing, not canonical base64url, or out of bounds (the parameter named).
    InvalidParameter(&'static str),
}

impl fmt::Display for JwkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwkError::NotAnObject => f.write_str("a key is not a JSON object"),
            JwkError::MissingKeyType => f.write_str("a key has no \"kty\""),
            JwkError::Symmetric => f.write_str("a symmetric key"),
            JwkError::Private => f.write_str("a key with private parameters"),
            JwkError::Unsupported(what) => write!(f, "unsupported key type or curve {what}"),
            JwkError::InvalidParameter(p) => write!(f, "key parameter \"{p}\" is invalid"),
        }
    }
}

impl std::error::Error for JwkError {}

/// Parameters whose presence makes a JWK private (RFC 7518 §6.2.2, §6.3.2, RFC 8037).
const PRIVATE_PARAMETERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// A public key from a key set, with the metadata that limits its use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`: used only to find the key, never trusted for anything else.
    pub kid: Option<String>,
    /// `alg`: when present, the only algorithm the key may verify.
    pub alg: Option<String>,
    /// `use`: when present, must be `"sig"`.
    pub key_use: Option<String>,
    /// `key_ops`: when present, must include `"verify"`.
    pub key_ops: Option<Vec<String>>,
    /// Entra's per-key `issuer`: when present, tokens it verifies must carry this issuer
    /// (with `{tenantid}` standing for the token's `tid`).
    pub issuer: Option<String>,
    /// The key itself.
    pub material: KeyMaterial,
}

impl Jwk {
    /// Parses one JWK object, accepting only public RSA, EC (P-256, P-384) and OKP (Ed25519) keys.
    pub fn from_value(value: &Value) -> Result<Jwk, JwkError> {
        let obj = value.as_object().ok_or(JwkError::NotAnObject)?;
        let kty = obj.get("kty").and_then(Value::as_str).ok_or(JwkError::MissingKeyType)?;
        if kty == "oct" || obj.contains_key("k") {
            return Err(JwkError::Symmetric);
        }
        if PRIVATE_PARAMETERS.iter().any(|p| obj.contains_key(*p)) {
            return Err(JwkError::Private);
        }
        let material = match kty {
            "RSA" => rsa_material(obj)?,
            "EC" => ec_material(obj)?,
            "OKP" => okp_material(obj)?,
            other => return Err(JwkError::Unsupported(format!("kty {other:?}"))),
        };
        let string = |name: &'static str| -> Result<Option<String>, JwkError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(JwkError::InvalidParameter(name)),
            }
        };
        let key_ops = match obj.get("key_ops") {
            None => None,
            Some(Value::Array(ops)) => Some(
                ops.iter()
                    .map(|op| op.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(JwkError::InvalidParameter("key_ops"))?,
            ),
            Some(_) => return Err(JwkError::InvalidParameter("key_ops")),
        };
        Ok(Jwk {
            kid: string("kid")?,
            alg: string("alg")?,
            key_use: string("use")?,
            key_ops,
            issuer: string("issuer")?,
            material,
        })
    }

    /// Whether this key may verify a token signed with `alg`: the key type and curve match the
    /// algorithm, and `alg`, `use` and `key_ops`, where present, allow it.
    pub fn fits(&self, alg: Algorithm) -> bool {
        alg.signature_len(&self.material).is_some()
            && self.alg.as_deref().is_none_or(|a| a == alg.name())
            && self.key_use.as_deref().is_none_or(|u| u == "sig")
            && self.key_ops.as_ref().is_none_or(|ops| ops.iter().any(|op| op == "verify"))
    }
}

fn required_bytes(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwkError> {
    obj.get(name)
        .and_then(Value::as_str)
        .and_then(base64url::decode)
        .ok_or(JwkError::InvalidParameter(name))
}

fn rsa_material(obj: &Map<String, Value>) -> Result<KeyMaterial, JwkError> {
    let n = required_bytes(obj, "n")?;
    let e = required_bytes(obj, "e")?;
    let first = n.iter().position(|b| *b != 0).ok_or(JwkError::InvalidParameter("n"))?;
    let n = n.get(first..).unwrap_or_default().to_vec();
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(JwkError::InvalidParameter("n"));
    }
    let e_first = e.iter().position(|b| *b != 0).ok_or(JwkError::InvalidParameter("e"))?;
    let e = e.get(e_first..).unwrap_or_default().to_vec();
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if e.len() > 4 || !odd || e == [1] {
        return Err(JwkError::InvalidParameter("e"));
    }
    Ok(KeyMaterial::Rsa { n, e })
}

fn ec_material(obj: &Map<String, Value>) -> Result<KeyMaterial, JwkError> {
    let curve = match obj.get("crv").and_then(Value::as_str) {
        Some("P-256") => Curve::P256,
        Some("P-384") => Curve::P384,
        Some(other) => return Err(JwkError::Unsupported(format!("crv {other:?}"))),
        None => return Err(JwkError::InvalidParameter("crv")),
    };
    let x = required_bytes(obj, "x")?;
    let y = required_bytes(obj, "y")?;
    if x.len() != curve.coordinate_len() {
        return Err(JwkError::InvalidParameter("x"));
    }
    if y.len() != curve.coordinate_len() {
        return Err(JwkError::InvalidParameter("y"));
    }
    Ok(KeyMaterial::Ec { curve, x, y })
}

fn okp_material(obj: &Map<String, Value>) -> Result<KeyMaterial, JwkError> {
    match obj.get("crv").and_then(Value::as_str) {
        Some("Ed25519") => {}
        Some(other) => return Err(JwkError::Unsupported(format!("crv {other:?}"))),
        None => return Err(JwkError::InvalidParameter("crv")),
    }
    let x = required_bytes(obj, "x")?;
    if x.len() != 32 {
        return Err(JwkError::InvalidParameter("x"));
    }
    Ok(KeyMaterial::Ed25519 { x })
}

/// Largest key set document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most keys accepted in one set.
pub const MAX_JWKS_KEYS: usize = 100;

/// Why a key set document was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwkSetError {
    /// Larger than [`MAX_JWKS_BYTES`].
    TooLarge,
    /// Not JSON, or not an object with a `keys` array.
    NotAKeySet,
    /// More than `MAX_JWKS_KEYS` (100) keys.
    TooManyKeys,
    /// The set contains a symmetric key: a public set must never hold a secret.
    SymmetricKey,
    /// The set contains a private key.
    PrivateKey,
}

impl fmt::Display for JwkSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwkSetError::TooLarge => "the key set document is too large",
            JwkSetError::NotAKeySet => {
                "the key set document is not a JSON object with a \"keys\" array"
            }
            JwkSetError::TooManyKeys => "the key set has too many keys",
            JwkSetError::SymmetricKey => "the key set contains a symmetric key",
            JwkSetError::PrivateKey => "the key set contains a private key",
        })
    }
}

impl std::error::Error for JwkSetError {}

/// A parsed JWK Set: the usable public keys, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    /// Keys of supported types with valid material.
    pub keys: Vec<Jwk>,
    /// How many keys were skipped (unsupported type or curve, invalid parameters).
    pub skipped: usize,
}

impl JwkSet {
    /// Parses a key set document. A set holding a symmetric or private key is refused whole;
    /// keys of other types, or with invalid parameters, are skipped.
    pub fn parse(document: &[u8]) -> Result<JwkSet, JwkSetError> {
        if document.len() > MAX_JWKS_BYTES {
            return Err(JwkSetError::TooLarge);
        }
        let value: Value = serde_json::from_slice(document).map_err(|_| JwkSetError::NotAKeySet)?;
        let keys = value.get("keys").and_then(Value::as_array).ok_or(JwkSetError::NotAKeySet)?;
        if keys.len() > MAX_JWKS_KEYS {
            return Err(JwkSetError::TooManyKeys);
        }
        let mut set = JwkSet::default();
        for key in keys {
            match Jwk::from_value(key) {
                Ok(jwk) => set.keys.push(jwk),
                Err(JwkError::Symmetric) => return Err(JwkSetError::SymmetricKey),
                Err(JwkError::Private) => return Err(JwkSetError::PrivateKey),
                Err(_) => set.skipped += 1,
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const N2048: &str = "orRRoH0KpfluRVZxUTVQUUqKW0YuvvcXCU-h_ugiJOY3-XRtP3yv0xh42AMltu9aFwD2WQO0aUKeidbqyIRQl7WrOTGJ25JRLtincRoSU_rNIPecFegkfz0-QuRuSMmOJUov6XZTE6A-_48X4aApOXofomqNzib0kO2BKZYV2YFMItphBCjgnH2WWFlCZvXAIdD87KCNlFoSvoLeTR7Oa0wDFFtdNJXU7VQR64eNrwX9evw-Ca2g8RJkIvWQl1oZaYFvSGmLy7obTZyuedRg2Pn4Xnl1AF2bwixOWsD3waRdElaaYoB9O5oC5aUw53MGb0U9H1tMLpz3ggKD90K51Q";

    fn rsa(extra: Value) -> Value {
        let mut key = json!({"kty": "RSA", "n": N2048, "e": "AQAB"});
        if let (Some(k), Some(extra)) = (key.as_object_mut(), extra.as_object()) {
            k.extend(extra.clone());
        }
        key
    }

    #[test]
    fn only_allow_listed_algorithm_names_are_recognised() {
        for name in ["none", "HS256", "HS384", "HS512", "ES512", "rs256", "RS256 ", ""] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
    }

    #[test]
    fn key_fits_only_when_type_alg_use_and_key_ops_allow() {
        let plain = Jwk::from_value(&rsa(json!({}))).unwrap();
        assert!(plain.fits(Algorithm::RS256) && plain.fits(Algorithm::PS512));
        assert!(!plain.fits(Algorithm::ES256) && !plain.fits(Algorithm::EdDSA));
        let pinned = Jwk::from_value(&rsa(json!({"alg": "RS256"}))).unwrap();
        assert!(pinned.fits(Algorithm::RS256) && !pinned.fits(Algorithm::PS256));
        let enc = Jwk::from_value(&rsa(json!({"use": "enc"}))).unwrap();
        assert!(!enc.fits(Algorithm::RS256));
        let ops = Jwk::from_value(&rsa(json!({"key_ops": ["encrypt"]}))).unwrap();
        assert!(!ops.fits(Algorithm::RS256));
        let ops = Jwk::from_value(&rsa(json!({"key_ops": ["sign", "verify"]}))).unwrap();
        assert!(ops.fits(Algorithm::RS256));
    }

    #[test]
    fn weak_or_malformed_key_material_is_refused() {
        let short = json!({"kty": "RSA", "n": base64url::encode(&[0xff; 128]), "e": "AQAB"});
        assert_eq!(Jwk::from_value(&short), Err(JwkError::InvalidParameter("n")));
        assert_eq!(Jwk::from_value(&rsa(json!({"e": "AQ"}))), Err(JwkError::InvalidParameter("e")));
        assert_eq!(
            Jwk::from_value(&rsa(json!({"n": "not base64!"}))),
            Err(JwkError::InvalidParameter("n"))
        );
        let ec = json!({"kty": "EC", "crv": "P-256", "x": base64url::encode(&[1; 31]), "y": base64url::encode(&[1; 32])});
        assert_eq!(Jwk::from_value(&ec), Err(JwkError::InvalidParameter("x")));
        let p521 = json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"});
        assert!(matches!(Jwk::from_value(&p521), Err(JwkError::Unsupported(_))));
        assert!(matches!(Jwk::from_value(&json!({"kty": 5})), Err(JwkError::MissingKeyType)));
        assert!(matches!(Jwk::from_value(&json!("RSA")), Err(JwkError::NotAnObject)));
    }

    #[test]
    fn a_set_holding_a_secret_or_private_key_is_refused_whole() {
        let set = |k: Value| serde_json::to_vec(&json!({"keys": [rsa(json!({})), k]})).unwrap();
        assert_eq!(
            JwkSet::parse(&set(json!({"kty": "oct", "k": "c2VjcmV0"}))),
            Err(JwkSetError::SymmetricKey)
        );
        assert_eq!(JwkSet::parse(&set(rsa(json!({"d": "AQAB"})))), Err(JwkSetError::PrivateKey));
        let parsed = JwkSet::parse(&set(json!({"kty": "XYZ"}))).unwrap();
        assert_eq!((parsed.keys.len(), parsed.skipped), (1, 1));
    }

    #[test]
    fn garbage_key_set_documents_are_typed_errors() {
        for doc in [&b"not json"[..], b"[]", b"{}", b"{\"keys\": 5}", b"\xff\xfe"] {
            assert_eq!(JwkSet::parse(doc), Err(JwkSetError::NotAKeySet));
        }
        let many = json!({"keys": vec![json!({"kty": "XYZ"}); MAX_JWKS_KEYS + 1]});
        assert_eq!(
            JwkSet::parse(&serde_json::to_vec(&many).unwrap()),
            Err(JwkSetError::TooManyKeys)
        );
        assert_eq!(JwkSet::parse(&vec![b' '; MAX_JWKS_BYTES + 1]), Err(JwkSetError::TooLarge));
    }
}
