//! The registered and Entra claims of a token whose signature has verified: lifetime (`exp`,
//! `nbf`, `iat` with clock skew), issuer (exact, Entra v1/v2, multi-tenant, per-key `issuer`),
//! audience and tenant.

use serde_json::{Map, Value};

use crate::config::{is_guid, Authority, TenantSpec, ValidationOptions};
use crate::error::{Malformation, ValidationError};
use crate::validation::jwk::Jwk;

/// The placeholder Entra puts in multi-tenant issuers (discovery and per-key `issuer`).
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Checks every claim rule. `discovery_issuer` is the authority's `issuer` from discovery,
/// `key` the key that verified the signature, `now_ms` the current time.
pub(crate) fn check(
    claims: &Map<String, Value>,
    options: &ValidationOptions,
    discovery_issuer: &str,
    key: &Jwk,
    now_ms: u64,
) -> Result<(), ValidationError> {
    check_lifetime(claims, options.clock_skew.as_secs(), now_ms)?;
    let issuer = string_claim(claims, "iss")?.ok_or(ValidationError::InvalidIssuer)?;
    let tenant = string_claim(claims, "tid")?;
    check_issuer(issuer, tenant, options, discovery_issuer)?;
    if let Some(expected) = &key.issuer {
        // Entra's per-key issuer: the key may only sign for that issuer (multi-tenant: per tenant).
        let expected = match tenant {
            Some(tid) => expected.replace(TENANT_PLACEHOLDER, tid),
            None => expected.clone(),
        };
        if expected != issuer {
            return Err(ValidationError::InvalidIssuer);
        }
    }
    check_audience(claims, &options.audiences)?;
    if let Some(allowed) = &options.allowed_tenants {
        let tid = tenant.map(str::to_ascii_lowercase).ok_or(ValidationError::TenantNotAllowed)?;
        if !allowed.contains(&tid) {
            return Err(ValidationError::TenantNotAllowed);
        }
    }
    Ok(())
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, ValidationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ValidationError::Malformed(Malformation::Claim(name))),
    }
}

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, fractions allowed.
fn time_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<f64>, ValidationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or(ValidationError::Malformed(Malformation::Claim(name))),
        Some(_) => Err(ValidationError::Malformed(Malformation::Claim(name))),
    }
}

fn check_lifetime(
    claims: &Map<String, Value>,
    skew_secs: u64,
    now_ms: u64,
) -> Result<(), ValidationError> {
    let now = now_ms as f64 / 1000.0;
    let skew = skew_secs as f64;
    let exp =
        time_claim(claims, "exp")?.ok_or(ValidationError::Malformed(Malformation::Claim("exp")))?;
    if now >= exp + skew {
        return Err(ValidationError::Expired);
    }
    if let Some(nbf) = time_claim(claims, "nbf")? {
        if now + skew < nbf {
            return Err(ValidationError::NotYetValid);
        }
    }
    if let Some(iat) = time_claim(claims, "iat")? {
        if now + skew < iat {
            return Err(ValidationError::IssuedInFuture);
        }
    }
    Ok(())
}

fn check_issuer(
    issuer: &str,
    tenant: Option<&str>,
    options: &ValidationOptions,
    discovery_issuer: &str,
) -> Result<(), ValidationError> {
    if options.valid_issuers.iter().any(|v| v == issuer) {
        return Ok(());
    }
    match &options.authority {
        Authority::Oidc { .. } => {
            if issuer == discovery_issuer {
                Ok(())
            } else {
                Err(ValidationError::InvalidIssuer)
            }
        }
        Authority::Entra { instance, tenant: spec } => {
            let tid = tenant.filter(|t| is_guid(t)).ok_or(ValidationError::TenantNotAllowed)?;
            let expected_tenant = match spec {
                TenantSpec::Id(id) => Some(id.clone()),
                TenantSpec::Domain(_) => entra_tenant_of(discovery_issuer, instance),
                TenantSpec::Multi(_) => None,
            };
            if let Some(expected) = expected_tenant {
                if !expected.eq_ignore_ascii_case(tid) {
                    return Err(ValidationError::TenantNotAllowed);
                }
            }
            // The issuer's tenant segment must be the token's own `tid`: a token from one tenant
            // can't claim another tenant's issuer.
            let accepted = [
                format!("{instance}{tid}/v2.0"),
                format!("https://sts.windows.net/{tid}/"),
                discovery_issuer.replace(TENANT_PLACEHOLDER, tid),
            ];
            if accepted.iter().any(|a| a == issuer) {
                Ok(())
            } else {
                Err(ValidationError::InvalidIssuer)
            }
        }
    }
}

/// The tenant id in an Entra v2 issuer `{instance}{tid}/v2.0`.
fn entra_tenant_of(issuer: &str, instance: &str) -> Option<String> {
    let tid = issuer.strip_prefix(instance)?.strip_suffix("/v2.0")?;
    is_guid(tid).then(|| tid.to_ascii_lowercase())
}

fn check_audience(claims: &Map<String, Value>, accepted: &[String]) -> Result<(), ValidationError> {
    let matches = |a: &str| accepted.iter().any(|x| x == a);
    match claims.get("aud") {
        Some(Value::String(aud)) if matches(aud) => Ok(()),
        Some(Value::String(_)) | None => Err(ValidationError::InvalidAudience),
        Some(Value::Array(list)) => {
            let list: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
            let list = list.ok_or(ValidationError::Malformed(Malformation::Claim("aud")))?;
            if list.into_iter().any(matches) {
                Ok(())
            } else {
                Err(ValidationError::InvalidAudience)
            }
        }
        Some(_) => Err(ValidationError::Malformed(Malformation::Claim("aud"))),
    }
}
