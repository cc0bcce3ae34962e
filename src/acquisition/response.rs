//! Reading the token endpoint's answer: a token (`access_token`, `expires_in`, `refresh_in`,
//! `refresh_token`, ...) or an error ([`IdentityError`]). Anything else is refused with a typed
//! error; nothing from the body is echoed.

use std::time::Duration;

use serde_json::{Map, Value};

use super::error::{AcquisitionError, IdentityError, ProviderFailure};
use crate::secret::{AccessToken, RefreshToken};

/// Largest token endpoint answer read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest provider description kept for logs.
const MAX_DESCRIPTION_CHARS: usize = 512;
/// The lifetime assumed when a provider omits `expires_in`.
pub(crate) const DEFAULT_EXPIRES_IN: u64 = 300;
/// Longest lifetime believed (a year); longer values are clamped.
const MAX_EXPIRES_IN: u64 = 365 * 24 * 3600;

/// A token endpoint's successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenResponse {
    pub access_token: AccessToken,
    pub expires_in: u64,
    pub refresh_in: Option<u64>,
    pub refresh_token: Option<RefreshToken>,
    /// The scopes granted, if the provider said.
    pub scope: Option<String>,
}

/// Reads one token endpoint answer.
pub(crate) fn parse(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<TokenResponse, AcquisitionError> {
    let unparseable =
        |why| AcquisitionError::ProviderUnavailable(ProviderFailure::Unparseable(why));
    if status >= 500 {
        return Err(AcquisitionError::ProviderUnavailable(ProviderFailure::Status(status)));
    }
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(unparseable("the answer is too large"));
    }
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ if status == 429 => Map::new(),
        _ => return Err(unparseable("the answer is not a JSON object")),
    };
    if (200..300).contains(&status) {
        success(&object).ok_or_else(|| unparseable("the answer has no usable access_token"))
    } else {
        let details = identity_error(status, &object)
            .ok_or_else(|| unparseable("the error answer has no error code"))?;
        Err(AcquisitionError::from_identity_error(details, bounded_retry_after(retry_after)))
    }
}

/// The longest `Retry-After` the SDK honours: a provider asking for more (a year, by mistake or
/// malice) would stop every token request of the isolate and be echoed to every client.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A `Retry-After` header's delay in seconds (RFC 9110 §10.2.3), at most [`MAX_RETRY_AFTER`];
/// `None` for an absent or unreadable one (an HTTP date included: the SDK then backs off on
/// its own schedule).
pub(crate) fn bounded_retry_after(header: Option<&str>) -> Option<Duration> {
    let seconds = header?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

fn success(object: &Map<String, Value>) -> Option<TokenResponse> {
    let access_token = object.get("access_token")?.as_str().filter(|t| !t.is_empty())?;
    if let Some(kind) = object.get("token_type") {
        let kind = kind.as_str()?;
        // RFC 8693 answers may issue "N_A" for non-access tokens; only bearer tokens are usable.
        if !kind.eq_ignore_ascii_case("bearer") {
            return None;
        }
    }
    let expires_in = match object.get("expires_in") {
        None => DEFAULT_EXPIRES_IN,
        Some(v) => seconds(v)?.min(MAX_EXPIRES_IN),
    };
    let refresh_in = match object.get("refresh_in") {
        None => None,
        Some(v) => Some(seconds(v)?.min(expires_in)),
    };
    let refresh_token = match object.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(v) => Some(RefreshToken::new(v.as_str().filter(|t| !t.is_empty())?)),
    };
    let scope = object.get("scope").and_then(Value::as_str).map(str::to_owned);
    Some(TokenResponse {
        access_token: AccessToken::new(access_token),
        expires_in,
        refresh_in,
        refresh_token,
        scope,
    })
}

/// A number of seconds, as a JSON number or (as some providers send it) a numeric string.
fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn identity_error(status: u16, object: &Map<String, Value>) -> Option<IdentityError> {
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
    let error = match text("error") {
        Some(e) if !e.is_empty() => e,
        _ if status == 429 => "temporarily_unavailable".to_owned(),
        _ => return None,
    };
    let error_codes = object
        .get("error_codes")
        .and_then(Value::as_array)
        .map(|codes| codes.iter().filter_map(|c| c.as_u64()?.try_into().ok()).collect())
        .unwrap_or_default();
    Some(IdentityError {
        status,
        error,
        error_description: text("error_description")
            .map(|d| d.chars().take(MAX_DESCRIPTION_CHARS).collect()),
        error_codes,
        suberror: text("suberror"),
        claims: text("claims").filter(|c| !c.is_empty()),
        trace_id: text("trace_id"),
        correlation_id: text("correlation_id"),
        ..IdentityError::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answer_gives_token_lifetime_and_refresh_hint() {
        let body = br#"{"token_type":"Bearer","expires_in":"3599","ext_expires_in":3599,
            "refresh_in":1800,"access_token":"eyJ.a.b","refresh_token":"rt","scope":"User.Read"}"#;
        let t = parse(200, None, body).unwrap();
        assert_eq!(t.access_token.expose(), "eyJ.a.b");
        assert_eq!((t.expires_in, t.refresh_in), (3599, Some(1800)));
        assert_eq!(t.refresh_token.unwrap().expose(), "rt");
    }

    #[test]
    fn garbage_answers_are_refused_with_a_typed_error() {
        for (status, body) in [
            (200, &b"<html>"[..]),
            (200, br#"{"access_token": 5}"#),
            (200, br#"{"access_token": "x", "token_type": "N_A"}"#),
            (200, br#"{"access_token": "x", "expires_in": -1}"#),
            (200, br#"[]"#),
            (400, br#"{"error_description": "no code"}"#),
        ] {
            let err = parse(status, None, body).unwrap_err();
            assert!(
                matches!(
                    err,
                    AcquisitionError::ProviderUnavailable(ProviderFailure::Unparseable(_))
                ),
                "{status} {body:?}: {err:?}"
            );
        }
    }

    #[test]
    fn an_entra_error_keeps_every_documented_member() {
        let body = br#"{"error":"invalid_grant","error_description":"AADSTS50076: MFA",
            "error_codes":[50076],"suberror":"basic_action","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"1\"]}}}",
            "trace_id":"t-1","correlation_id":"c-1"}"#;
        let err = parse(400, None, body).unwrap_err();
        let AcquisitionError::InteractionRequired(e) = err else { panic!("{err:?}") };
        assert_eq!(e.error_codes, [50076]);
        assert_eq!(e.suberror.as_deref(), Some("basic_action"));
        assert_eq!(
            (e.trace_id.as_deref(), e.correlation_id.as_deref()),
            (Some("t-1"), Some("c-1"))
        );
        assert!(e.claims.unwrap().contains("capolids"));
    }

    #[test]
    fn throttling_keeps_retry_after_even_without_a_json_body() {
        let err = parse(429, Some("7"), b"slow down").unwrap_err();
        assert!(matches!(
            err,
            AcquisitionError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
    }
}
