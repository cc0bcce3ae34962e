//! Parsing a compact JWS (RFC 7515 §7.1) without trusting any of it.
//!
//! Nothing here verifies anything: it turns text into a [`Jws`] or a typed
//! [`ValidationError`], and refuses every shape a validator should never get as far as
//! verifying: oversized input, anything but three segments, non-canonical base64url, headers
//! or claims that are not JSON objects or repeat a member, `crit`, embedded keys (`jwk`, `x5c`)
//! and remote key references (`jku`, `x5u`), which are never fetched.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::base64url;
use crate::error::{Malformation, TokenPart, ValidationError};
use crate::jose::Algorithm;

/// Default largest token accepted, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The protected header members this SDK reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsHeader {
    /// The signing algorithm, already checked against the allow-list.
    pub alg: Algorithm,
    /// The key id: a lookup key into the issuer's key set, nothing more.
    pub kid: Option<String>,
    /// The media type (`JWT`, `at+jwt`), if any.
    pub typ: Option<String>,
}

/// A syntactically valid compact JWS whose signature has not been checked.
#[derive(Clone)]
pub struct Jws<'a> {
    signing_input: &'a str,
    header: JwsHeader,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl fmt::Debug for Jws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The payload and signature are the caller's credentials: never print them.
        f.debug_struct("Jws").field("header", &self.header).finish_non_exhaustive()
    }
}

impl<'a> Jws<'a> {
    /// Parses `token`, at most `max_len` bytes long.
    pub fn parse(token: &'a str, max_len: usize) -> Result<Jws<'a>, ValidationError> {
        if token.len() > max_len {
            return Err(ValidationError::TokenTooLarge { limit: max_len });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ValidationError::Malformed(Malformation::NotThreeSegments));
        };
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(ValidationError::Malformed(Malformation::NotThreeSegments))?;

        let header_bytes = decode_part(header_b64, TokenPart::Header)?;
        let header = parse_header(&unique_object(&header_bytes, TokenPart::Header)?)?;
        let payload = decode_part(payload_b64, TokenPart::Payload)?;
        let signature = decode_part(signature_b64, TokenPart::Signature)?;
        if signature.is_empty() {
            return Err(ValidationError::Malformed(Malformation::Encoding(TokenPart::Signature)));
        }
        Ok(Jws { signing_input, header, payload, signature })
    }

    /// The protected header.
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The bytes the signature covers: `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub fn signing_input(&self) -> &'a [u8] {
        self.signing_input.as_bytes()
    }

    /// The decoded payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The payload as a JWT claims set: a JSON object with no repeated member.
    pub fn claims(&self) -> Result<Map<String, Value>, ValidationError> {
        unique_object(&self.payload, TokenPart::Payload)
    }
}

fn decode_part(text: &str, part: TokenPart) -> Result<Vec<u8>, ValidationError> {
    base64url::decode(text).ok_or(ValidationError::Malformed(Malformation::Encoding(part)))
}

/// Header members that would make the token carry or point at its own key.
const KEY_CARRYING_MEMBERS: [&str; 4] = ["jwk", "x5c", "jku", "x5u"];

fn parse_header(header: &Map<String, Value>) -> Result<JwsHeader, ValidationError> {
    if let Some(crit) = header.get("crit") {
        let names = crit
            .as_array()
            .filter(|names| !names.is_empty())
            .and_then(|names| names.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
            .ok_or(ValidationError::Malformed(Malformation::InvalidCrit))?;
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != names.len() {
            return Err(ValidationError::Malformed(Malformation::InvalidCrit));
        }
        // This SDK implements no JWS extension, so every critical one is unknown to it.
        return Err(ValidationError::UnsupportedCriticalHeader);
    }
    if let Some(member) = KEY_CARRYING_MEMBERS.into_iter().find(|m| header.contains_key(*m)) {
        return Err(ValidationError::KeyInHeader(member));
    }
    let alg = match header.get("alg") {
        Some(Value::String(name)) => {
            Algorithm::from_name(name).ok_or(ValidationError::AlgorithmNotAllowed)?
        }
        _ => return Err(ValidationError::Malformed(Malformation::HeaderParameter("alg"))),
    };
    let optional_string = |name: &'static str| match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ValidationError::Malformed(Malformation::HeaderParameter(name))),
    };
    Ok(JwsHeader { alg, kid: optional_string("kid")?, typ: optional_string("typ")? })
}

/// Parses `bytes` as a JSON object whose members are all distinct (RFC 7515 §4, RFC 7519 §4:
/// a repeated member is refused rather than resolved either way).
fn unique_object(bytes: &[u8], part: TokenPart) -> Result<Map<String, Value>, ValidationError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match serde_json::from_slice::<UniqueObject>(bytes) {
        Ok(UniqueObject(map)) => Ok(map),
        Err(_)
            if first != Some(&b'{')
                && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() =>
        {
            Err(ValidationError::Malformed(Malformation::NotAnObject(part)))
        }
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            Err(ValidationError::Malformed(Malformation::DuplicateMember(part)))
        }
        Err(_) => Err(ValidationError::Malformed(Malformation::NotJson(part))),
    }
}

struct UniqueObject(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UniqueObjectVisitor)
    }
}

struct UniqueObjectVisitor;

impl<'de> Visitor<'de> for UniqueObjectVisitor {
    type Value = UniqueObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if map.insert(key, value).is_some() {
                return Err(A::Error::custom("repeated member"));
            }
        }
        Ok(UniqueObject(map))
    }
}
