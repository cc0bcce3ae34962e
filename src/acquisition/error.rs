//! What can go wrong acquiring a token, typed so a route can answer the client something it can
//! act on: a consent challenge (403) or claims challenge (401), a token that can't be exchanged
//! (401), a provider that is down or throttling (503), or the app's own misconfiguration (500).
//!
//! The challenges are the ones an MSAL client already handles:
//!
//! * **Consent** (and any other interaction without a claims challenge) answers as
//!   Microsoft.Identity.Web's `ReplyForbiddenWithWwwAuthenticateHeader` does from a web API:
//!   `403` with `WWW-Authenticate: Bearer consentUri="…", claims="", scopes="a,b",
//!   proposedAction="consent"`.
//! * **A claims challenge** (conditional access, continuous access evaluation) answers as
//!   Microsoft documents for claims challenges from resource APIs: `401` with
//!   `WWW-Authenticate: Bearer realm="", authorization_uri="…", client_id="…",
//!   error="insufficient_claims", claims="<base64 of the claims JSON>"`, which MSAL's
//!   `WwwAuthenticateParameters` and the MSAL.js samples read.
//!
//! The identity provider's JSON error (`error`, `error_description`, `error_codes`, `suberror`,
//! `claims`, `trace_id`, `correlation_id`) is kept in [`IdentityError`] for logs; response bodies
//! carry only fixed descriptions, the requested scopes and the claims challenge.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

/// The identity provider's error response, as parsed from the token endpoint.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IdentityError {
    /// The HTTP status of the token endpoint's answer.
    pub status: u16,
    /// The OAuth `error` code (`invalid_grant`, `consent_required`, ...).
    pub error: String,
    /// The provider's own description, truncated. For logs; never sent to the client.
    pub error_description: Option<String>,
    /// Entra's `AADSTS` numbers.
    pub error_codes: Vec<u32>,
    /// Entra's `suberror` (`consent_required`, `basic_action`, ...).
    pub suberror: Option<String>,
    /// A claims challenge the client must satisfy, as JSON text.
    pub claims: Option<String>,
    /// Entra's `trace_id`.
    pub trace_id: Option<String>,
    /// Entra's `correlation_id`.
    pub correlation_id: Option<String>,
    /// The scopes that were requested (filled in by the SDK, for the client's consent prompt).
    pub scopes: Vec<String>,
    /// This API's client id (filled in by the SDK, for the challenge's `consentUri`/`client_id`).
    pub client_id: Option<String>,
    /// The authority's authorization endpoint, where Entra's is known (filled in by the SDK).
    pub authorize_endpoint: Option<String>,
}

impl fmt::Debug for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityError")
            .field("status", &self.status)
            .field("error", &self.error)
            .field("error_codes", &self.error_codes)
            .field("suberror", &self.suberror)
            .field("trace_id", &self.trace_id)
            .field("correlation_id", &self.correlation_id)
            .field("claims", &self.claims.is_some())
            .finish_non_exhaustive()
    }
}

impl IdentityError {
    /// Whether Entra reported one of the `AADSTS` numbers in `codes`.
    pub fn has_code(&self, codes: &[u32]) -> bool {
        self.error_codes.iter().any(|c| codes.contains(c))
    }
}

/// Why the provider could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderFailure {
    /// No answer within the time budget.
    Timeout,
    /// The connection failed.
    Transport,
    /// A 5xx answer.
    Status(u16),
    /// An answer that is not the JSON a token endpoint sends.
    Unparseable(&'static str),
    /// Discovery gave no usable token endpoint.
    NoTokenEndpoint,
}

/// A token could not be acquired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcquisitionError {
    /// The user (or an admin) must consent to the scopes first (`AADSTS65001`, `consent_required`).
    ConsentRequired(Box<IdentityError>),
    /// The user must satisfy a claims challenge or interact (conditional access, MFA,
    /// `interaction_required`).
    InteractionRequired(Box<IdentityError>),
    /// The incoming token can't be exchanged: expired or invalid assertion (`AADSTS500133`,
    /// `AADSTS50013`, `invalid_grant`), or a session whose refresh token was revoked.
    InvalidGrant(Box<IdentityError>),
    /// The provider refused this app's own credential (`invalid_client`, `AADSTS7000215`, ...).
    InvalidClient(Box<IdentityError>),
    /// The provider throttled the request (429).
    Throttled {
        /// How long the provider asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The provider's error.
        details: Box<IdentityError>,
    },
    /// The provider is unavailable: 5xx, timeout, connection failure, or an unreadable answer.
    ProviderUnavailable(ProviderFailure),
    /// Another refusal (`invalid_scope`, `unauthorized_client`, ...): the app's setup is wrong.
    Rejected(Box<IdentityError>),
    /// The SDK can't make the request (no usable client credential, a signing failure, a token
    /// without the claims the request needs).
    Configuration(&'static str),
    /// No long-running session is stored under that key (never started, ended, or expired).
    SessionNotFound,
    /// The shared store could not be read, so a session's state (its owner, whether it was
    /// ended, its current refresh token) is unknown: 503, to be retried, never taken as "not
    /// found" (a scheduler would give the job up) nor acted on from stale state.
    StoreUnavailable,
    /// The caller's token is an application's own (client credentials): there is no user to
    /// act for, so it is never sent through On-Behalf-Of or token exchange.
    AppOnlyCaller,
    /// The caller's token is bound to its key (DPoP, RFC 9449; mutual TLS): exchanging it
    /// would give a downstream token that is not, so it is refused unless
    /// `AzureAd.Dpop.ExchangeBoundTokens` says otherwise.
    BoundCaller,
}

impl fmt::Display for AcquisitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        if let Some(e) = self.identity_error() {
            write!(f, " (provider error {}", e.error)?;
            if !e.error_codes.is_empty() {
                write!(f, ", codes {:?}", e.error_codes)?;
            }
            if let Some(trace) = &e.trace_id {
                write!(f, ", trace {trace}")?;
            }
            return f.write_str(")");
        }
        match self {
            AcquisitionError::ProviderUnavailable(why) => write!(f, " ({why:?})"),
            AcquisitionError::Configuration(why) => write!(f, ": {why}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for AcquisitionError {}

/// Entra: the user or administrator has not consented.
const CONSENT_CODES: &[u32] = &[65001, 65004];
/// Entra: the assertion expired or is invalid; the refresh token expired or was revoked.
const INVALID_GRANT_CODES: &[u32] = &[500133, 50013, 700082, 50173, 70043];
/// Entra: the client secret or assertion was refused.
const INVALID_CLIENT_CODES: &[u32] = &[7000215, 7000222, 700027, 700024, 700023, 7000112];

impl AcquisitionError {
    /// Classifies a token endpoint error answer.
    pub(crate) fn from_identity_error(
        details: IdentityError,
        retry_after: Option<Duration>,
    ) -> AcquisitionError {
        let code = details.error.as_str();
        let sub = details.suberror.as_deref();
        if details.status == 429 {
            AcquisitionError::Throttled { retry_after, details: Box::new(details) }
        } else if details.status >= 500 {
            AcquisitionError::ProviderUnavailable(ProviderFailure::Status(details.status))
        } else if details.has_code(CONSENT_CODES)
            || code == "consent_required"
            || sub == Some("consent_required")
        {
            AcquisitionError::ConsentRequired(Box::new(details))
        } else if details.claims.as_deref().is_some_and(|c| !c.is_empty())
            || code == "interaction_required"
        {
            AcquisitionError::InteractionRequired(Box::new(details))
        } else if details.has_code(INVALID_CLIENT_CODES)
            || code == "invalid_client"
            || code == "unauthorized_client" && details.has_code(&[700016])
        {
            AcquisitionError::InvalidClient(Box::new(details))
        } else if details.has_code(INVALID_GRANT_CODES) || code == "invalid_grant" {
            AcquisitionError::InvalidGrant(Box::new(details))
        } else {
            AcquisitionError::Rejected(Box::new(details))
        }
    }

    /// A stable, machine-readable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AcquisitionError::ConsentRequired(_) => "consent_required",
            AcquisitionError::InteractionRequired(e) if e.claims.is_some() => "insufficient_claims",
            AcquisitionError::InteractionRequired(_) => "interaction_required",
            AcquisitionError::InvalidGrant(_) => "invalid_grant",
            AcquisitionError::InvalidClient(_) => "invalid_client",
            AcquisitionError::Throttled { .. } => "provider_throttled",
            AcquisitionError::ProviderUnavailable(_) => "provider_unavailable",
            AcquisitionError::Rejected(_) => "token_request_rejected",
            AcquisitionError::Configuration(_) => "token_acquisition_misconfigured",
            AcquisitionError::SessionNotFound => "session_not_found",
            AcquisitionError::StoreUnavailable => "store_unavailable",
            AcquisitionError::AppOnlyCaller => "app_only_caller",
            AcquisitionError::BoundCaller => "bound_caller",
        }
    }

    /// A fixed description, safe to show to a client.
    pub fn description(&self) -> &'static str {
        match self {
            AcquisitionError::ConsentRequired(_) => {
                "the user or an administrator must consent to the scopes this API needs"
            }
            AcquisitionError::InteractionRequired(_) => {
                "the user must sign in again to satisfy the identity provider's conditions"
            }
            AcquisitionError::InvalidGrant(_) => {
                "the access token can't be used to call further APIs; get a new one"
            }
            AcquisitionError::InvalidClient(_) => "this API's credentials were refused",
            AcquisitionError::Throttled { .. } => "the identity provider is throttling requests",
            AcquisitionError::ProviderUnavailable(_) => "the identity provider is unavailable",
            AcquisitionError::Rejected(_) => "the identity provider refused the token request",
            AcquisitionError::Configuration(_) => "token acquisition is not configured correctly",
            AcquisitionError::SessionNotFound => "no session is stored under that key",
            AcquisitionError::StoreUnavailable => "the session store is unavailable",
            AcquisitionError::AppOnlyCaller => {
                "an application's own token can't be used to act on a user's behalf"
            }
            AcquisitionError::BoundCaller => {
                "a token bound to the caller's key is not exchanged for one that is not"
            }
        }
    }

    /// The HTTP status a route should answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            AcquisitionError::InteractionRequired(e) if e.claims.is_some() => {
                http::StatusCode::UNAUTHORIZED
            }
            AcquisitionError::ConsentRequired(_) | AcquisitionError::InteractionRequired(_) => {
                http::StatusCode::FORBIDDEN
            }
            AcquisitionError::InvalidGrant(_) => http::StatusCode::UNAUTHORIZED,
            AcquisitionError::Throttled { .. }
            | AcquisitionError::ProviderUnavailable(_)
            | AcquisitionError::StoreUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            AcquisitionError::SessionNotFound => http::StatusCode::NOT_FOUND,
            AcquisitionError::AppOnlyCaller | AcquisitionError::BoundCaller => {
                http::StatusCode::FORBIDDEN
            }
            AcquisitionError::InvalidClient(_)
            | AcquisitionError::Rejected(_)
            | AcquisitionError::Configuration(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The provider's error, where there is one.
    pub fn identity_error(&self) -> Option<&IdentityError> {
        match self {
            AcquisitionError::ConsentRequired(e)
            | AcquisitionError::InteractionRequired(e)
            | AcquisitionError::InvalidGrant(e)
            | AcquisitionError::InvalidClient(e)
            | AcquisitionError::Rejected(e)
            | AcquisitionError::Throttled { details: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The scopes the client should request consent for (consent and claims challenges).
    pub fn scopes(&self) -> &[String] {
        match self {
            AcquisitionError::ConsentRequired(e) | AcquisitionError::InteractionRequired(e) => {
                &e.scopes
            }
            _ => &[],
        }
    }

    /// The claims challenge the client must pass to its next token request, if any.
    pub fn claims(&self) -> Option<&str> {
        match self {
            AcquisitionError::ConsentRequired(e) | AcquisitionError::InteractionRequired(e) => {
                e.claims.as_deref()
            }
            _ => None,
        }
    }

    /// Seconds a client should wait before retrying, for 503 answers.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AcquisitionError::Throttled { retry_after, .. } => {
                Some(retry_after.map_or(5, |d| d.as_secs().max(1)))
            }
            AcquisitionError::ProviderUnavailable(_) | AcquisitionError::StoreUnavailable => {
                Some(5)
            }
            _ => None,
        }
    }

    /// The JSON body of the answer: `{"error", "error_description", "scopes"?, "claims"?}`, the
    /// shape the Microsoft.Identity.Web documents show for consent and claims challenges.
    pub fn body(&self) -> Value {
        let public_code = match self {
            AcquisitionError::Throttled { .. }
            | AcquisitionError::ProviderUnavailable(_)
            | AcquisitionError::StoreUnavailable => "temporarily_unavailable",
            AcquisitionError::InvalidGrant(_) => "invalid_token",
            AcquisitionError::InvalidClient(_)
            | AcquisitionError::Rejected(_)
            | AcquisitionError::Configuration(_) => "server_error",
            other => other.code(),
        };
        let mut body = json!({ "error": public_code, "error_description": self.description() });
        if let Some(map) = body.as_object_mut() {
            if !self.scopes().is_empty() {
                map.insert("scopes".into(), json!(self.scopes()));
            }
            if let Some(claims) = self.claims() {
                map.insert("claims".into(), json!(claims));
            }
        }
        body
    }

    /// The `WWW-Authenticate` challenge: the consent challenge (403), the claims challenge
    /// (401) and `invalid_token` (401), as described in the module documentation.
    pub fn www_authenticate(&self) -> Option<String> {
        let quoted = |name: &str, value: &str| {
            format!("{name}=\"{}\"", crate::error_response::quote_safe(value))
        };
        match self {
            AcquisitionError::InteractionRequired(e) if e.claims.is_some() => {
                let claims = base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    e.claims.as_deref().unwrap_or_default().as_bytes(),
                );
                let mut parts = vec![quoted("realm", "")];
                if let Some(endpoint) = &e.authorize_endpoint {
                    parts.push(quoted("authorization_uri", endpoint));
                }
                if let Some(client_id) = &e.client_id {
                    parts.push(quoted("client_id", client_id));
                }
                parts.push(quoted("error", "insufficient_claims"));
                parts.push(quoted("claims", &claims));
                Some(format!("Bearer {}", parts.join(", ")))
            }
            AcquisitionError::ConsentRequired(e) | AcquisitionError::InteractionRequired(e) => {
                let mut parts = Vec::new();
                if let (Some(endpoint), Some(client_id)) = (&e.authorize_endpoint, &e.client_id) {
                    let consent_uri = format!(
                        "{endpoint}?client_id={client_id}&response_type=code&redirect_uri=\
                         &response_mode=query&scope=offline_access%20{}",
                        e.scopes.join("%20")
                    );
                    parts.push(quoted("consentUri", &consent_uri));
                }
                parts.push(quoted("claims", e.claims.as_deref().unwrap_or_default()));
                parts.push(quoted("scopes", &e.scopes.join(",")));
                parts.push(quoted("proposedAction", "consent"));
                Some(format!("Bearer {}", parts.join(", ")))
            }
            AcquisitionError::InvalidGrant(_) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.description()
            )),
            _ => None,
        }
    }

    /// The complete answer for the client: status, `WWW-Authenticate` (401 and 403 challenges),
    /// `Retry-After` (503) and the JSON body.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        crate::error_response::json_response(
            self.status(),
            self.www_authenticate(),
            self.retry_after(),
            &self.body(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entra(status: u16, error: &str, codes: &[u32]) -> IdentityError {
        IdentityError {
            status,
            error: error.into(),
            error_codes: codes.to_vec(),
            ..IdentityError::default()
        }
    }

    #[test]
    fn entra_error_codes_are_classified_by_what_the_client_can_do() {
        let classify = |e| AcquisitionError::from_identity_error(e, None).code();
        assert_eq!(classify(entra(400, "invalid_grant", &[65001])), "consent_required");
        assert_eq!(classify(entra(400, "invalid_grant", &[500133])), "invalid_grant");
        assert_eq!(classify(entra(400, "invalid_grant", &[50013])), "invalid_grant");
        assert_eq!(classify(entra(401, "invalid_client", &[7000215])), "invalid_client");
        assert_eq!(classify(entra(400, "invalid_scope", &[70011])), "token_request_rejected");
        assert_eq!(classify(entra(429, "temporarily_unavailable", &[])), "provider_throttled");
        assert_eq!(classify(entra(503, "temporarily_unavailable", &[])), "provider_unavailable");
        let mut challenge = entra(400, "invalid_grant", &[50076]);
        challenge.claims = Some("{\"access_token\":{}}".into());
        assert_eq!(classify(challenge), "insufficient_claims");
    }

    #[test]
    fn consent_answer_is_microsoft_identity_webs_403_challenge_and_nothing_internal() {
        let mut details = entra(400, "invalid_grant", &[65001]);
        details.error_description =
            Some("AADSTS65001: The user or administrator ... secret-ish".into());
        details.scopes = vec!["api://partner/read".into(), "api://partner/write".into()];
        details.client_id = Some("edge-api".into());
        details.authorize_endpoint =
            Some("https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize".into());
        let response = AcquisitionError::ConsentRequired(Box::new(details)).to_response();
        assert_eq!(response.status(), 403);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert_eq!(
            challenge,
            "Bearer consentUri=\"https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize\
             ?client_id=edge-api&response_type=code&redirect_uri=&response_mode=query\
             &scope=offline_access%20api://partner/read%20api://partner/write\", claims=\"\", \
             scopes=\"api://partner/read,api://partner/write\", proposedAction=\"consent\""
        );
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["error"], "consent_required");
        assert_eq!(body["scopes"], json!(["api://partner/read", "api://partner/write"]));
        assert!(!String::from_utf8_lossy(response.body()).contains("AADSTS"));
    }

    #[test]
    fn provider_down_answers_503_with_retry_after() {
        let response =
            AcquisitionError::ProviderUnavailable(ProviderFailure::Timeout).to_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert!(response.headers().get("www-authenticate").is_none());
    }
}
