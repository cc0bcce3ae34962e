//! Parsing a compact JWS (RFC 7515 §7.1) without trusting any of it.
//!
//! Nothing here verifies anything: it turns text into a [`Jws`] or a typed
//! [`ValidationError`], and refuses every shape a validator should never get as far as
//! verifying: oversized input, anything but three segments, non-canonical base64url, headers
//! or claims that are not JSON objects or repeat a member, `crit`, embedded keys (`jwk`, `x5c`)
//! and remote key references (`jku`, `x5u`), which are never fetched.

use std::fmt;

use serde::de::{
    Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, Error as _, MapAccess, Visitor,
};
use serde_json::{Map, Value};

use super::claim_set::{
    ClaimSet, ClaimSetFor, HeaderMembers, KeptClaims, Loose, KEY_CARRYING_MEMBERS,
};
use crate::base64url;
use crate::jose::Algorithm;
use crate::validation::error::{Malformation, TokenPart, ValidationError};

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
        let header = parse_header(object(&header_bytes, TokenPart::Header)?)?;
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
        object::<UniqueObject>(&self.payload, TokenPart::Payload).map(|UniqueObject(map)| map)
    }

    /// The claims the validator reads, in one pass: accepted and refused exactly as
    /// [`claims`](Self::claims) accepts and refuses the payload.
    pub(crate) fn claim_set(&self, kept: KeptClaims) -> Result<ClaimSet, ValidationError> {
        object_seeded(&self.payload, ClaimSetFor(kept), TokenPart::Payload)
    }

    /// Reads the claims as the validator does for an Entra token (one pass, nothing kept): the
    /// bench's measure of what parsing costs.
    #[doc(hidden)]
    pub fn read_claims(&self) -> Result<(), ValidationError> {
        self.claim_set(KeptClaims::default()).map(|_| ())
    }

    /// Takes the decoded payload (the validated token keeps it for its full claims map).
    pub(crate) fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

fn decode_part(text: &str, part: TokenPart) -> Result<Vec<u8>, ValidationError> {
    base64url::decode(text).ok_or(ValidationError::Malformed(Malformation::Encoding(part)))
}

fn parse_header(header: HeaderMembers) -> Result<JwsHeader, ValidationError> {
    if let Some(crit) = &header.crit {
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
    if let Some(member) = KEY_CARRYING_MEMBERS.into_iter().find(|m| header.key_members.contains(m))
    {
        return Err(ValidationError::KeyInHeader(member));
    }
    let alg = match &header.alg {
        Some(Loose::Str(name)) => {
            Algorithm::from_name(name).ok_or(ValidationError::AlgorithmNotAllowed)?
        }
        _ => return Err(ValidationError::Malformed(Malformation::HeaderParameter("alg"))),
    };
    let optional_string = |value: Option<Loose>, name: &'static str| match value {
        None => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s)),
        Some(_) => Err(ValidationError::Malformed(Malformation::HeaderParameter(name))),
    };
    Ok(JwsHeader {
        alg,
        kid: optional_string(header.kid, "kid")?,
        typ: optional_string(header.typ, "typ")?,
    })
}

/// Parses `bytes` as a JSON object whose members are all distinct (RFC 7515 §4, RFC 7519 §4:
/// a repeated member is refused rather than resolved either way), into `T`: the whole map or
/// the members the SDK reads. `T` refuses a repeat with a custom (data) error and nothing else.
fn object<T: DeserializeOwned>(bytes: &[u8], part: TokenPart) -> Result<T, ValidationError> {
    object_seeded(bytes, std::marker::PhantomData::<T>, part)
}

/// [`object`] through a seed (what to keep decided by the caller).
fn object_seeded<'de, S: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: S,
    part: TokenPart,
) -> Result<S::Value, ValidationError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed.deserialize(&mut deserializer).and_then(|v| deserializer.end().map(|()| v));
    match parsed {
        Ok(parsed) => Ok(parsed),
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

/// `bytes` as a JSON object whose members are all distinct, or `None`: how a DPoP proof's
/// header and claims are read (the same rule as a token's, RFC 7515 §4).
pub(crate) fn unique_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    object::<UniqueObject>(bytes, TokenPart::Payload).ok().map(|o| o.0)
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The outcome of parsing `bytes` into `T`: accepted, or the error.
    fn outcome<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), ValidationError> {
        object::<T>(bytes, TokenPart::Payload).map(|_| ())
    }

    /// Pieces of JSON text, valid and not: member names the one-pass parsers read (so repeats
    /// of them happen), escapes (a name spelled with `\u` is the same name), numbers out of
    /// range, lone surrogates, nesting.
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        " ",
        "\"iss\"",
        "\"exp\"",
        "\"aud\"",
        "\"scp\"",
        "\"roles\"",
        "\"nonce\"",
        "\"alg\"",
        "\"crit\"",
        "\"jwk\"",
        "\"x\"",
        "\"\\u0069ss\"",
        "\"\\ud800\"",
        "\"a\\nb\"",
        "1",
        "-0",
        "1.5e3",
        "1e400",
        "18446744073709551616",
        "true",
        "null",
        "\"",
        "\\",
        "{\"x\":1,\"x\":2}",
    ];

    fn soup() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
            .prop_map(|pieces| pieces.concat())
    }

    /// Objects of those names with small values: well-formed, often with a repeated member.
    fn object_text() -> impl Strategy<Value = String> {
        let name = proptest::sample::select(&PIECES[7..18]);
        let value = proptest::sample::select(
            &["1", "\"s\"", "[\"a\",1]", "{}", "null", "1e400", "\"\\ud800\""][..],
        );
        proptest::collection::vec((name, value), 0..8).prop_map(|members| {
            let inner: Vec<String> = members.iter().map(|(n, v)| format!("{n}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

        /// The one-pass readers accept and refuse exactly what the map parser does, with the
        /// same error, so reading fewer members never lets more payloads through.
        #[test]
        fn one_pass_readers_accept_exactly_what_the_map_parser_accepts(
            text in prop_oneof![soup(), object_text()],
        ) {
            let reference = outcome::<UniqueObject>(text.as_bytes());
            prop_assert_eq!(&outcome::<ClaimSet>(text.as_bytes()), &reference, "claims of {}", text);
            prop_assert_eq!(&outcome::<HeaderMembers>(text.as_bytes()), &reference, "header of {}", text);
        }
    }

    #[test]
    fn a_repeat_is_found_among_many_members_whether_early_or_late() {
        // Past the names compared one by one, into the tree: repeats of early, middle and last
        // members, after objects of several sizes, and no repeat at all.
        let repeated =
            Err(ValidationError::Malformed(Malformation::DuplicateMember(TokenPart::Payload)));
        for count in [70, 100, 130, 200] {
            let members: Vec<String> = (0..count).map(|i| format!("\"m{i}\":{i}")).collect();
            let object = |extra: String| format!("{{{},{extra}}}", members.join(","));
            for repeat in [0, 3, 63, 64, 65, count - 1] {
                let text = object(format!("\"m{repeat}\":1"));
                assert_eq!(outcome::<ClaimSet>(text.as_bytes()), repeated, "{count}, m{repeat}");
                assert_eq!(outcome::<UniqueObject>(text.as_bytes()), repeated);
            }
            assert_eq!(outcome::<ClaimSet>(object(format!("\"m{count}\":1")).as_bytes()), Ok(()));
        }
    }

    #[test]
    fn a_member_spelled_with_an_escape_is_the_same_member() {
        let text = br#"{"iss":"a","\u0069ss":"b"}"#;
        assert_eq!(
            outcome::<ClaimSet>(text),
            Err(ValidationError::Malformed(Malformation::DuplicateMember(TokenPart::Payload)))
        );
    }

    #[test]
    fn a_number_out_of_range_in_a_claim_nobody_reads_is_refused_as_by_the_map_parser() {
        let text = br#"{"unread":1e400}"#;
        assert!(outcome::<UniqueObject>(text).is_err());
        assert_eq!(outcome::<ClaimSet>(text), outcome::<UniqueObject>(text));
    }
}
