//! The registered and Entra claims of a token whose signature has verified: lifetime (`exp`,
//! `nbf`, `iat` with clock skew), that it is an access token (not an ID token, by the
//! provider's marks in [`Provider::check_access_token`](super::provider::Provider)), issuer
//! (exact, Entra v1/v2, multi-tenant, per-key `issuer`), audience and tenant.
//!
//! The Entra rules are Microsoft.IdentityModel's and Microsoft.Identity.Web's: the issuer as
//! `AadIssuerValidator` checks it, the signing key's issuer as `ValidateIssuerSigningKey` does,
//! and the default audience as `RegisterValidAudience` picks it.

use super::claim_set::{ClaimSet, Loose};
use crate::validation::authority::{is_guid, Authority, TenantSpec};
use crate::validation::error::{Malformation, ValidationError};
use crate::validation::jwk::Jwk;
use crate::validation::options::ValidationOptions;

/// The placeholder Entra puts in multi-tenant issuers (discovery and per-key `issuer`).
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The personal Microsoft account (`consumers`) tenant.
const CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The authority's issuers, from its discovery documents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Issuers<'a> {
    /// `issuer` of the (v2.0) discovery document.
    pub v2: &'a str,
    /// Entra: `issuer` of the v1.0 discovery document, when a v1.0 token needed it.
    pub v1: Option<&'a str>,
}

/// Checks every claim rule on a token whose signature `key` verified, at `now_ms`.
pub(crate) fn check(
    claims: &ClaimSet,
    options: &ValidationOptions,
    issuers: Issuers<'_>,
    key: &Jwk,
    now_ms: u64,
) -> Result<(), ValidationError> {
    check_lifetime(claims, options.clock_skew.as_secs(), now_ms)?;
    options.provider.check_access_token(claims)?;
    let issuer = string_claim(&claims.iss, "iss")?.ok_or(ValidationError::InvalidIssuer)?;
    let tenant = string_claim(&claims.tid, "tid")?;
    check_issuer(issuer, tenant, options, issuers)?;
    check_signing_key_issuer(key, issuer, tenant, issuers.v2)?;
    check_audience(claims, options)?;
    if let Some(allowed) = &options.allowed_tenants {
        let tid = tenant.map(str::to_ascii_lowercase).ok_or(ValidationError::TenantNotAllowed)?;
        if !allowed.contains(&tid) {
            return Err(ValidationError::TenantNotAllowed);
        }
    }
    Ok(())
}

/// Whether the token is an Entra v1.0 token, whose issuer is checked against the v1.0
/// discovery document: Microsoft.IdentityModel tells the versions apart by whether `iss` ends
/// in `/v2.0`.
pub(crate) fn needs_v1_issuer(claims: &ClaimSet, options: &ValidationOptions) -> bool {
    matches!(options.authority, Authority::Entra { .. })
        && ClaimSet::str_of(&claims.iss).is_some_and(|iss| !is_v2_issuer(iss))
}

fn is_v2_issuer(issuer: &str) -> bool {
    issuer.ends_with("/v2.0") || issuer.ends_with("/v2.0/")
}

/// `template` (which may hold `{tenantid}`) names `issuer` for tenant `tid`
/// (Microsoft.IdentityModel's `AadIssuerValidator.IsValidIssuer`).
fn names_issuer(template: &str, tid: &str, issuer: &str) -> bool {
    template.replace(TENANT_PLACEHOLDER, tid) == issuer
}

fn string_claim<'a>(
    claim: &'a Option<Loose>,
    name: &'static str,
) -> Result<Option<&'a str>, ValidationError> {
    match claim {
        None => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s)),
        Some(_) => Err(ValidationError::Malformed(Malformation::Claim(name))),
    }
}

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, fractions allowed.
fn time_claim(claim: &Option<Loose>, name: &'static str) -> Result<Option<f64>, ValidationError> {
    match claim {
        None => Ok(None),
        Some(Loose::Num(n)) => Some(*n)
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or(ValidationError::Malformed(Malformation::Claim(name))),
        Some(_) => Err(ValidationError::Malformed(Malformation::Claim(name))),
    }
}

pub(crate) fn check_lifetime(
    claims: &ClaimSet,
    skew_secs: u64,
    now_ms: u64,
) -> Result<(), ValidationError> {
    let now = now_ms as f64 / 1000.0;
    let skew = skew_secs as f64;
    let exp = time_claim(&claims.exp, "exp")?
        .ok_or(ValidationError::Malformed(Malformation::Claim("exp")))?;
    if now >= exp + skew {
        return Err(ValidationError::Expired);
    }
    if let Some(nbf) = time_claim(&claims.nbf, "nbf")? {
        if now + skew < nbf {
            return Err(ValidationError::NotYetValid);
        }
    }
    if let Some(iat) = time_claim(&claims.iat, "iat")? {
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
    issuers: Issuers<'_>,
) -> Result<(), ValidationError> {
    let Authority::Entra { instance, tenant: spec, .. } = &options.authority else {
        // Any other OpenID Connect issuer: exactly its discovered issuer, or a configured one.
        if issuer == issuers.v2 || options.valid_issuers.iter().any(|v| v == issuer) {
            return Ok(());
        }
        return Err(ValidationError::InvalidIssuer);
    };
    // Entra: the tenant comes from `tid`, and must be a tenant id.
    let tid = tenant.filter(|t| is_guid(t)).ok_or(ValidationError::TenantNotAllowed)?;
    let expected_tenant = match spec {
        TenantSpec::Id(id) => Some(id.clone()),
        TenantSpec::Domain(_) => entra_tenant_of(issuers.v2, instance),
        TenantSpec::Multi(name) if name == "consumers" => Some(CONSUMERS_TENANT.to_owned()),
        TenantSpec::Multi(_) => None,
    };
    if let Some(expected) = expected_tenant {
        if !expected.eq_ignore_ascii_case(tid) {
            return Err(ValidationError::TenantNotAllowed);
        }
    }
    if options.valid_issuers.iter().any(|v| names_issuer(v, tid, issuer)) {
        return Ok(());
    }
    // v2.0 tokens against the v2.0 discovery issuer, v1.0 tokens against the v1.0 one, with the
    // token's own `tid` in place of `{tenantid}`: a token from one tenant can't claim another
    // tenant's issuer.
    let template = if is_v2_issuer(issuer) { Some(issuers.v2) } else { issuers.v1 };
    match template {
        Some(template) if names_issuer(template, tid, issuer) => Ok(()),
        _ => Err(ValidationError::InvalidIssuer),
    }
}

/// Entra's per-key `issuer`: a key may sign only for that issuer (multi-tenant: per tenant), as
/// Microsoft.IdentityModel's `AadTokenValidationParametersExtension.ValidateIssuerSigningKey`
/// decides it. Entra's v2.0 key set binds every key to a v2.0 issuer, and v1.0 tokens are signed
/// by the same keys: so the key's issuer (with the token's `tid`) must be the token's `iss` or
/// the v2.0 form of the token's issuer (the v2.0 discovery issuer with that `tid`). Where the
/// token has no `tid` (other providers), the key's issuer must be `iss` or the discovered one.
fn check_signing_key_issuer(
    key: &Jwk,
    issuer: &str,
    tenant: Option<&str>,
    v2_issuer: &str,
) -> Result<(), ValidationError> {
    let Some(key_issuer) = key.issuer.as_deref().filter(|i| !i.trim().is_empty()) else {
        return Ok(());
    };
    let (effective, v2_form) = match tenant {
        Some(tid) => {
            if !issuer.contains(tid) {
                return Err(ValidationError::InvalidIssuer);
            }
            (
                key_issuer.replace(TENANT_PLACEHOLDER, tid),
                v2_issuer.replace(TENANT_PLACEHOLDER, tid),
            )
        }
        None => (key_issuer.to_owned(), v2_issuer.to_owned()),
    };
    if effective == issuer || effective == v2_form {
        Ok(())
    } else {
        Err(ValidationError::InvalidIssuer)
    }
}

/// The tenant id in an Entra v2 issuer `{instance}{tid}/v2.0`.
fn entra_tenant_of(issuer: &str, instance: &str) -> Option<String> {
    let tid = issuer.strip_prefix(instance)?.strip_suffix("/v2.0")?;
    is_guid(tid).then(|| tid.to_ascii_lowercase())
}

/// `aud` must name an accepted audience. Entra without a configured audience follows
/// Microsoft.Identity.Web's `RegisterValidAudience`: `ClientId` for a v2.0 token,
/// `api://{ClientId}` for a v1.0 token, and a token of neither version is refused.
fn check_audience(claims: &ClaimSet, options: &ValidationOptions) -> Result<(), ValidationError> {
    let by_version;
    let accepted: &[String] = if options.audiences_by_token_version {
        by_version = match ClaimSet::str_of(&claims.ver) {
            Some("2.0") => options.client_id.clone(),
            Some("1.0") => format!("api://{}", options.client_id),
            _ => return Err(ValidationError::InvalidAudience),
        };
        std::slice::from_ref(&by_version)
    } else {
        &options.audiences
    };
    let matches = |a: &str| accepted.iter().any(|x| x == a);
    // Cognito's access tokens have no `aud`: the app client they were issued to is `client_id`
    // (AWS: "verify that the client_id claim matches the app client ID").
    let aud = match &claims.aud {
        None if options.provider.audience_in_client_id() => &claims.extra().client_id,
        aud => aud,
    };
    match aud {
        Some(Loose::Str(aud)) if matches(aud) => Ok(()),
        Some(Loose::Str(_)) | None => Err(ValidationError::InvalidAudience),
        Some(Loose::List(list)) => {
            let list: Option<Vec<&str>> = list.iter().map(Loose::as_str).collect();
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
