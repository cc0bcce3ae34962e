//! Where an acquisition goes, resolved before any network request: the subject of the grant,
//! the tenant, the scopes, and the cache key (the authority named without a request); and, only
//! on a cache miss, the token endpoint (Entra's from `Instance` and the tenant, a generic
//! authority's from the discovery document validation shares).

use super::*;
use crate::validation::keys::KeySnapshot;

/// What the grant of one acquisition needs, owned so it can outlive the request (single flight,
/// background refresh).
#[derive(Clone)]
pub(super) enum Subject {
    /// The caller's validated token (a shared handle: no copy of the token per acquisition).
    User {
        caller: ValidatedToken,
        audience: Option<String>,
        resource: Option<String>,
    },
    App,
    Session {
        record_key: CacheKey,
    },
}

/// One acquisition, resolved: for what, for which tenant, and where the answer is cached. The
/// token endpoint is not part of it: a cache lookup never waits on the network, so the endpoint
/// (which a generic authority's discovery document gives) is found only on a miss.
#[derive(Clone)]
pub(super) struct Plan {
    pub(super) subject: Subject,
    pub(super) tenant: Option<String>,
    pub(super) scope: String,
    pub(super) claims: Option<String>,
    pub(super) correlation_id: Option<String>,
    /// The correlation id of the request this acquisition serves, for its events (the
    /// caller's; else `correlation_id`).
    pub(super) events_id: Option<String>,
    pub(super) force_refresh: bool,
    pub(super) key: CacheKey,
}

impl Plan {
    pub(super) fn flight_key(&self) -> String {
        match &self.claims {
            None => self.key.as_str().to_owned(),
            Some(claims) => {
                format!("{}#{}", self.key.as_str(), crate::cache::key::token_hash(claims))
            }
        }
    }
}

impl Inner {
    /// The authority as it enters cache keys, for `tenant` when the app is multi-tenant: known
    /// without any network request (for a generic authority, its issuer URL, since its token
    /// endpoint comes from discovery).
    pub(super) fn key_authority(&self, tenant: Option<&str>) -> String {
        if let Some(endpoint) = &self.options.token_endpoint {
            return endpoint.clone();
        }
        match &self.options.authority {
            Authority::Entra { instance, tenant: configured, .. } => {
                let tenant = match (configured, tenant) {
                    (TenantSpec::Multi(_), Some(t)) => t,
                    (spec, _) => spec.as_str(),
                };
                format!("{instance}{tenant}/oauth2/v2.0/token")
            }
            Authority::Oidc { issuer_url } => issuer_url.clone(),
        }
    }

    /// The token endpoint to ask, for `tenant` when the app is multi-tenant, and the discovery
    /// document it was read from, whose client authentication methods the request follows
    /// (`None` where no document was read: Entra, an explicit `TokenEndpoint`).
    pub(super) async fn endpoint(
        &self,
        tenant: Option<&str>,
    ) -> Result<(String, Option<Rc<KeySnapshot>>), AcquisitionError> {
        if let Some(endpoint) = &self.options.token_endpoint {
            return Ok((endpoint.clone(), None));
        }
        match &self.options.authority {
            Authority::Entra { instance, tenant: configured, .. } => {
                let tenant = match (configured, tenant) {
                    (TenantSpec::Multi(_), Some(t)) => t,
                    (spec, _) => spec.as_str(),
                };
                Ok((format!("{instance}{tenant}/oauth2/v2.0/token"), None))
            }
            Authority::Oidc { .. } => {
                let snapshot = self.discover().await?;
                let endpoint = snapshot.token_endpoint.clone().filter(|url| is_metadata_url(url));
                let endpoint = endpoint.ok_or(AcquisitionError::ProviderUnavailable(
                    ProviderFailure::NoTokenEndpoint,
                ))?;
                Ok((endpoint, Some(snapshot)))
            }
        }
    }

    /// A generic authority's discovery document: the same document, fetched once per isolate
    /// and kept in the shared store, that token validation reads
    /// ([`Platform::key_source`](crate::Platform)), so a cold isolate needs no request for it.
    async fn discover(&self) -> Result<Rc<KeySnapshot>, AcquisitionError> {
        let unavailable = AcquisitionError::ProviderUnavailable(ProviderFailure::NoTokenEndpoint);
        let source = self.platform.key_source(KeySourcePolicy::for_authority(
            &self.options.authority,
            DISCOVERY_MAX_AGE,
            DISCOVERY_COOLDOWN,
            self.options.timeout,
        ));
        source.current().await.map_err(|_| unavailable)
    }
}

impl TokenAcquirer {
    pub(super) async fn user_plan(
        &self,
        user: &ValidatedToken,
        request: &TokenRequest,
    ) -> Result<Plan, AcquisitionError> {
        // An application's own token is never exchanged as if a user had called: the provider
        // would issue a downstream token in the app's name that looks delegated.
        if user.is_app_only() {
            return Err(AcquisitionError::AppOnlyCaller);
        }
        // A token bound to the caller's key (DPoP, mutual TLS) is never silently turned into an
        // unbound one: the SDK proves no key at the token endpoint (README, "Bound tokens").
        if user.is_sender_constrained() && !self.inner.options.exchange_bound_tokens {
            return Err(AcquisitionError::BoundCaller);
        }
        // Only a hash of the incoming token enters the key (computed once per validated
        // token, so a repeat caller's OBO key costs no hashing); the token itself stays typed.
        let tenant = match &request.tenant {
            Some(t) => Some(checked_tenant(t)?),
            None => user.tenant_id().filter(|t| is_guid(t)),
        };
        let authority = self.inner.key_authority(tenant);
        let scope = canonical_scopes(&request.scopes);
        let extra = request.exchange_target();
        let key = token_key(
            TokenKind::User { incoming_token_hash: user.token_hash() },
            &self.inner.options.client_id,
            &authority,
            &scope,
            &extra,
        );
        let subject = Subject::User {
            caller: user.clone(),
            audience: request.audience.clone(),
            resource: request.resource.clone(),
        };
        let mut plan = plan(subject, tenant, scope, request, key);
        if let Some(trace) = user.trace() {
            // The caller's request, where events are on: Entra logs the call under it too.
            plan.correlation_id.get_or_insert_with(|| trace.client_request_id());
            plan.events_id = Some(trace.correlation_id.clone());
        }
        Ok(plan)
    }
}

pub(super) fn plan(
    subject: Subject,
    tenant: Option<&str>,
    scope: String,
    request: &TokenRequest,
    key: CacheKey,
) -> Plan {
    Plan {
        subject,
        tenant: tenant.map(str::to_owned),
        scope,
        claims: request.claims.clone(),
        correlation_id: request.correlation_id.clone(),
        events_id: request.correlation_id.clone(),
        force_refresh: request.force_refresh,
        key,
    }
}

/// A tenant from a request: a GUID or a domain name, nothing that could change the URL's path.
pub(super) fn checked_tenant(tenant: &str) -> Result<&str, AcquisitionError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 253
        && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !tenant.starts_with('.');
    ok.then_some(tenant)
        .ok_or(AcquisitionError::Configuration("the requested tenant is not a tenant id or domain"))
}
