//! Why a token was refused, each with the HTTP answer a protected API gives for it (RFC 6750 §3).
//!
//! Every variant has a stable [`code`](ValidationError::code) for programs and tests to match on,
//! a fixed human description, a status and a `WWW-Authenticate` challenge. No error ever carries
//! the token, a claim value taken from it, or a secret: descriptions are static text.

use std::fmt;

use serde_json::json;

use crate::error_response::{json_response, quote_safe};

/// The part of a compact JWS a malformation was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    /// The protected header.
    Header,
    /// The payload (the claims set).
    Payload,
    /// The signature.
    Signature,
}

impl TokenPart {
    fn name(self) -> &'static str {
        match self {
            TokenPart::Header => "header",
            TokenPart::Payload => "payload",
            TokenPart::Signature => "signature",
        }
    }
}

/// How a token failed to be a well-formed JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// Not exactly three dot-separated segments.
    NotThreeSegments,
    /// A segment is not canonical unpadded base64url.
    Encoding(TokenPart),
    /// A segment is not valid JSON.
    NotJson(TokenPart),
    /// A segment is JSON but not an object.
    NotAnObject(TokenPart),
    /// A JSON object repeats a member name.
    DuplicateMember(TokenPart),
    /// `crit` is not a non-empty array of distinct strings.
    InvalidCrit,
    /// A header parameter is missing or of the wrong type (the parameter named).
    HeaderParameter(&'static str),
    /// A claim is missing or of the wrong type (the claim named).
    Claim(&'static str),
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformation::NotThreeSegments => f.write_str("the token is not a compact JWS"),
            Malformation::Encoding(p) => write!(f, "the token {} is not base64url", p.name()),
            Malformation::NotJson(p) => write!(f, "the token {} is not JSON", p.name()),
            Malformation::NotAnObject(p) => {
                write!(f, "the token {} is not a JSON object", p.name())
            }
            Malformation::DuplicateMember(p) => {
                write!(f, "the token {} repeats a member", p.name())
            }
            Malformation::InvalidCrit => f.write_str("the token header has an invalid crit"),
            Malformation::HeaderParameter(n) => {
                write!(f, "the token header parameter {n} is missing or invalid")
            }
            Malformation::Claim(n) => write!(f, "the token claim {n} is missing or invalid"),
        }
    }
}

/// Why an incoming request's access token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// No `Authorization: Bearer` credentials (RFC 6750: a challenge with no error code).
    MissingToken,
    /// The `Authorization` header is unusable: several of them, or a `Bearer` value that is not
    /// a token68 string.
    InvalidRequest(&'static str),
    /// The token is longer than the configured limit.
    TokenTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The token is not a well-formed JWT.
    Malformed(Malformation),
    /// The header lists critical extensions this SDK does not implement.
    UnsupportedCriticalHeader,
    /// The header carries or points at a key (`jwk`, `x5c`, `jku`, `x5u`): keys come only from
    /// the issuer's key set.
    KeyInHeader(&'static str),
    /// `alg` is not on the allow-list (`none`, `HS*`, or anything unknown or not configured).
    AlgorithmNotAllowed,
    /// The header's `typ` is not one of `ValidTypes` (`at+jwt` for RFC 9068 access tokens).
    InvalidType,
    /// No key in the issuer's key set has the token's `kid`, even after refreshing the set.
    UnknownKey,
    /// Keys were found, but none may verify this algorithm (type, `alg`, `use` or `key_ops`).
    KeyNotUsable,
    /// The signature does not verify.
    InvalidSignature,
    /// `exp` is past (beyond the clock skew).
    Expired,
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
    /// `iat` is in the future (beyond the clock skew).
    IssuedInFuture,
    /// `iss` is not an accepted issuer.
    InvalidIssuer,
    /// `aud` names none of the accepted audiences.
    InvalidAudience,
    /// `tid` is missing, not a tenant id, or not an allowed tenant.
    TenantNotAllowed,
    /// The token is not an access token: an ID token (`nonce`, `at_hash`, `c_hash`; for Entra,
    /// also no client claim `azp`/`appid`), which must never authorize an API call.
    NotAnAccessToken,
    /// The token is bound to a key (a `cnf` claim: DPoP, RFC 9449; mutual TLS, RFC 8705) and
    /// was presented as a bearer token: without the proof of that key it is refused (RFC 9449
    /// §7.2), or a stolen sender-constrained token would work as a plain one.
    SenderConstrained,
    /// The token lacks every required scope and app role.
    InsufficientScope {
        /// The delegated scopes any one of which would have been enough.
        scopes: Vec<String>,
        /// The app roles any one of which would have been enough.
        roles: Vec<String>,
    },
    /// The token has neither `scp` nor `roles`, and ACL-based authorization is not enabled.
    NoScopeOrRole,
    /// The issuer's metadata or key set could not be had and none is cached.
    KeysUnavailable(KeySourceError),
    /// The host's own rule refused a token that passed validation (an `on_token_validated`
    /// hook: a user blocked, a custom claim rule), with a fixed description of why.
    Refused(&'static str),
    /// A DPoP-bound token (RFC 9449) was not proven: its `DPoP` proof is missing or fails one of
    /// the checks of RFC 9449 §4.3, or the API takes only DPoP and a bearer token came.
    Dpop(DpopError),
}

/// Why a DPoP request (RFC 9449) was refused. Each check of §4.3 and §7.1 has its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// `Authorization: DPoP` without a `DPoP` proof header.
    ProofMissing,
    /// More than one `DPoP` header (§4.3 check 1).
    ProofRepeated,
    /// The proof is not a JWT with the members §4.2 requires (the part named).
    ProofMalformed(&'static str),
    /// The proof's `typ` is not `dpop+jwt`.
    ProofType,
    /// The proof's `alg` is not an accepted asymmetric algorithm.
    ProofAlgorithm,
    /// The proof's `jwk` is not a usable public key for its `alg` (missing, private, weak).
    ProofKey,
    /// The proof's signature does not verify with its `jwk`.
    ProofSignature,
    /// `htm` is not the request's method.
    ProofMethod,
    /// `htu` is not the request's URL (without query and fragment).
    ProofUrl,
    /// `iat` is outside the accepted window.
    ProofIssuedAt,
    /// `ath` is not the hash of the access token presented with it.
    ProofTokenHash,
    /// The proof's key is not the key the token is bound to (`cnf.jkt`).
    ProofKeyMismatch,
    /// The proof's `jti` was seen before within the window.
    ProofReplayed,
    /// The API requires a server nonce and the proof carries none, or a stale one
    /// (`use_dpop_nonce`, §8: the answer carries a fresh `DPoP-Nonce`).
    NonceRequired,
    /// `Authorization: DPoP` with a token bound to no key (no `cnf.jkt`).
    TokenNotBound,
    /// The API accepts DPoP-bound tokens only, and a bearer token came.
    Required,
    /// The host's request type gives no method and URL, so no proof can be checked.
    RequestUnknown,
}

impl DpopError {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            DpopError::ProofMissing => "dpop_proof_missing",
            DpopError::ProofRepeated => "dpop_proof_repeated",
            DpopError::ProofMalformed(_) => "dpop_proof_malformed",
            DpopError::ProofType => "dpop_proof_type_invalid",
            DpopError::ProofAlgorithm => "dpop_proof_alg_not_allowed",
            DpopError::ProofKey => "dpop_proof_key_invalid",
            DpopError::ProofSignature => "dpop_proof_signature_invalid",
            DpopError::ProofMethod => "dpop_proof_htm_mismatch",
            DpopError::ProofUrl => "dpop_proof_htu_mismatch",
            DpopError::ProofIssuedAt => "dpop_proof_iat_invalid",
            DpopError::ProofTokenHash => "dpop_proof_ath_mismatch",
            DpopError::ProofKeyMismatch => "dpop_proof_key_mismatch",
            DpopError::ProofReplayed => "dpop_proof_replayed",
            DpopError::NonceRequired => "dpop_nonce_required",
            DpopError::TokenNotBound => "dpop_token_not_bound",
            DpopError::Required => "dpop_required",
            DpopError::RequestUnknown => "dpop_request_unknown",
        }
    }

    /// The RFC 9449 / RFC 6750 `error` of the `DPoP` challenge.
    pub fn oauth_error(self) -> &'static str {
        match self {
            DpopError::NonceRequired => "use_dpop_nonce",
            DpopError::TokenNotBound | DpopError::Required => "invalid_token",
            _ => "invalid_dpop_proof",
        }
    }

    fn description(self) -> String {
        match self {
            DpopError::ProofMissing => "the DPoP proof is missing".into(),
            DpopError::ProofRepeated => "more than one DPoP proof was presented".into(),
            DpopError::ProofMalformed(why) => format!("the DPoP proof is malformed: {why}"),
            DpopError::ProofType => "the DPoP proof's typ is not dpop+jwt".into(),
            DpopError::ProofAlgorithm => "the DPoP proof's algorithm is not accepted".into(),
            DpopError::ProofKey => "the DPoP proof's jwk is not a usable public key".into(),
            DpopError::ProofSignature => "the DPoP proof's signature is invalid".into(),
            DpopError::ProofMethod => "the DPoP proof's htm is not this request's method".into(),
            DpopError::ProofUrl => "the DPoP proof's htu is not this request's URL".into(),
            DpopError::ProofIssuedAt => {
                "the DPoP proof's iat is outside the accepted window".into()
            }
            DpopError::ProofTokenHash => {
                "the DPoP proof's ath is not the hash of the access token".into()
            }
            DpopError::ProofKeyMismatch => {
                "the DPoP proof's key is not the key the token is bound to".into()
            }
            DpopError::ProofReplayed => "the DPoP proof was used before".into(),
            DpopError::NonceRequired => "a DPoP proof with the server's nonce is required".into(),
            DpopError::TokenNotBound => "the DPoP token is not bound to a key".into(),
            DpopError::Required => "this API accepts DPoP-bound tokens only".into(),
            DpopError::RequestUnknown => {
                "the request's method and URL are not known, so no DPoP proof can be checked".into()
            }
        }
    }
}

/// Why discovery metadata or a key set could not be obtained. Carries no response bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySourceError {
    /// The HTTP exchange failed or timed out.
    Http(crate::platform::HttpError),
    /// The server answered with this non-success status.
    Status(u16),
    /// The discovery document is unusable (the problem named).
    Discovery(&'static str),
    /// The key set document is unusable.
    KeySet(crate::validation::jwk::JwkSetError),
}

impl fmt::Display for KeySourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySourceError::Http(e) => write!(f, "{e}"),
            KeySourceError::Status(s) => write!(f, "the server answered HTTP {s}"),
            KeySourceError::Discovery(why) => write!(f, "the discovery document {why}"),
            KeySourceError::KeySet(e) => write!(f, "{e}"),
        }
    }
}

impl ValidationError {
    /// A stable identifier for the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::MissingToken => "token_missing",
            ValidationError::InvalidRequest(_) => "authorization_header_invalid",
            ValidationError::TokenTooLarge { .. } => "token_too_large",
            ValidationError::Malformed(_) => "token_malformed",
            ValidationError::UnsupportedCriticalHeader => "token_crit_unsupported",
            ValidationError::KeyInHeader(_) => "token_key_in_header",
            ValidationError::AlgorithmNotAllowed => "token_alg_not_allowed",
            ValidationError::InvalidType => "token_type_invalid",
            ValidationError::UnknownKey => "token_key_unknown",
            ValidationError::KeyNotUsable => "token_key_not_usable",
            ValidationError::InvalidSignature => "token_signature_invalid",
            ValidationError::Expired => "token_expired",
            ValidationError::NotYetValid => "token_not_yet_valid",
            ValidationError::IssuedInFuture => "token_issued_in_future",
            ValidationError::InvalidIssuer => "token_issuer_invalid",
            ValidationError::InvalidAudience => "token_audience_invalid",
            ValidationError::TenantNotAllowed => "token_tenant_not_allowed",
            ValidationError::NotAnAccessToken => "token_not_an_access_token",
            ValidationError::SenderConstrained => "token_sender_constrained",
            ValidationError::InsufficientScope { .. } => "insufficient_scope",
            ValidationError::NoScopeOrRole => "token_has_no_scope_or_role",
            ValidationError::KeysUnavailable(_) => "signing_keys_unavailable",
            ValidationError::Refused(_) => "token_refused",
            ValidationError::Dpop(e) => e.code(),
        }
    }

    /// The HTTP status a protected API answers with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            ValidationError::InvalidRequest(_) => http::StatusCode::BAD_REQUEST,
            ValidationError::InsufficientScope { .. } | ValidationError::NoScopeOrRole => {
                http::StatusCode::FORBIDDEN
            }
            ValidationError::KeysUnavailable(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            ValidationError::Dpop(DpopError::RequestUnknown) => {
                http::StatusCode::INTERNAL_SERVER_ERROR
            }
            ValidationError::Dpop(DpopError::ProofRepeated) => http::StatusCode::BAD_REQUEST,
            _ => http::StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error` code, if the challenge carries one.
    pub fn oauth_error(&self) -> Option<&'static str> {
        match self {
            ValidationError::MissingToken | ValidationError::KeysUnavailable(_) => None,
            ValidationError::InvalidRequest(_) => Some("invalid_request"),
            ValidationError::InsufficientScope { .. } | ValidationError::NoScopeOrRole => {
                Some("insufficient_scope")
            }
            ValidationError::Dpop(DpopError::ProofRepeated) => Some("invalid_request"),
            ValidationError::Dpop(e) => Some(e.oauth_error()),
            _ => Some("invalid_token"),
        }
    }

    /// A fixed description for people. Never contains token contents.
    pub fn description(&self) -> String {
        match self {
            ValidationError::MissingToken => "no bearer token was presented".into(),
            ValidationError::InvalidRequest(why) => (*why).into(),
            ValidationError::TokenTooLarge { limit } => {
                format!("the token is longer than {limit} bytes")
            }
            ValidationError::Malformed(m) => m.to_string(),
            ValidationError::UnsupportedCriticalHeader => {
                "the token header has critical extensions that are not supported".into()
            }
            ValidationError::KeyInHeader(member) => {
                format!("the token header must not carry a key ({member})")
            }
            ValidationError::AlgorithmNotAllowed => {
                "the token signing algorithm is not allowed".into()
            }
            ValidationError::InvalidType => "the token type is not accepted".into(),
            ValidationError::UnknownKey => "the token signing key is not known".into(),
            ValidationError::KeyNotUsable => {
                "the token signing key may not be used with its algorithm".into()
            }
            ValidationError::InvalidSignature => "the token signature is invalid".into(),
            ValidationError::Expired => "the token is expired".into(),
            ValidationError::NotYetValid => "the token is not valid yet".into(),
            ValidationError::IssuedInFuture => "the token was issued in the future".into(),
            ValidationError::InvalidIssuer => "the token issuer is not accepted".into(),
            ValidationError::InvalidAudience => "the token audience is not accepted".into(),
            ValidationError::TenantNotAllowed => "the token tenant is not allowed".into(),
            ValidationError::NotAnAccessToken => "the token is not an access token".into(),
            ValidationError::SenderConstrained => {
                "the token is bound to a key and can't be used as a bearer token".into()
            }
            ValidationError::InsufficientScope { .. } => {
                "the token does not grant a required scope or app role".into()
            }
            ValidationError::NoScopeOrRole => {
                "the token has neither a scope nor an app role".into()
            }
            ValidationError::KeysUnavailable(_) => {
                "the token issuer's signing keys are temporarily unavailable".into()
            }
            ValidationError::Refused(why) => (*why).into(),
            ValidationError::Dpop(e) => e.description(),
        }
    }

    /// The scheme whose challenge carries this error: `DPoP` for a DPoP failure, else `Bearer`.
    pub fn scheme(&self) -> &'static str {
        match self {
            ValidationError::Dpop(_) => "DPoP",
            _ => "Bearer",
        }
    }

    /// The `WWW-Authenticate` header value, if the answer carries one: one challenge, in the
    /// error's [`scheme`](Self::scheme). (A [`Refusal`](crate::validation::challenge::Refusal)
    /// answers with every scheme the API accepts, and the protected-resource metadata.)
    pub fn www_authenticate(&self) -> Option<String> {
        if let ValidationError::KeysUnavailable(_) = self {
            return None;
        }
        let params = self.challenge_params();
        Some(if params.is_empty() {
            self.scheme().to_owned()
        } else {
            format!("{} {}", self.scheme(), params.join(", "))
        })
    }

    /// The challenge parameters this error adds (RFC 6750 §3): `error`, `error_description` and,
    /// for insufficient scope, `scope`; none without an error code.
    pub(crate) fn challenge_params(&self) -> Vec<String> {
        let Some(code) = self.oauth_error() else { return Vec::new() };
        let mut params = vec![
            format!("error=\"{code}\""),
            format!("error_description=\"{}\"", quote_safe(&self.description())),
        ];
        if let ValidationError::InsufficientScope { scopes, .. } = self {
            if !scopes.is_empty() {
                params.push(format!("scope=\"{}\"", quote_safe(&scopes.join(" "))));
            }
        }
        params
    }

    /// The complete HTTP answer: status, `WWW-Authenticate` where it applies, and a JSON body
    /// `{"error", "error_description", "code"}` (plus `scopes`/`roles` for insufficient scope).
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        json_response(self.status(), self.www_authenticate(), self.retry_after_secs(), &self.body())
    }

    /// The answer's `Retry-After`: 5 s while the issuer's keys are out of reach.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        matches!(self, ValidationError::KeysUnavailable(_)).then_some(5)
    }

    /// The JSON body of the answer.
    pub(crate) fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "error": self.oauth_error().unwrap_or(match self {
                ValidationError::KeysUnavailable(_) => "temporarily_unavailable",
                _ => "unauthorized",
            }),
            "error_description": self.description(),
            "code": self.code(),
        });
        if let (ValidationError::InsufficientScope { scopes, roles }, Some(obj)) =
            (self, body.as_object_mut())
        {
            obj.insert("scopes".into(), json!(scopes));
            obj.insert("roles".into(), json!(roles));
        }
        body
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::KeysUnavailable(why) => write!(f, "{} ({why})", self.description()),
            _ => f.write_str(&self.description()),
        }
    }
}

impl std::error::Error for ValidationError {}

impl From<DpopError> for ValidationError {
    fn from(e: DpopError) -> Self {
        ValidationError::Dpop(e)
    }
}
