//! What a validated token grants: its delegated scopes (`scp`) and app roles (`roles`), and the
//! checks a route makes on them, like Microsoft.Identity.Web's `RequiredScope`,
//! `RequiredScopeOrAppPermission` and the "neither scope nor role" rule.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use super::claim_set::{ClaimSet, Loose};
use super::provider::Provider;
use crate::event::Trace;
use crate::validation::challenge::Scheme;
use crate::validation::error::ValidationError;

/// An incoming access token, kept for acquiring tokens on the caller's behalf. Its `Debug` and
/// `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    pub(crate) fn new(token: &str) -> Self {
        BearerToken(token.to_owned())
    }

    /// The token text, for the one place that must send it (an On-Behalf-Of request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// What a route requires of a validated token, as Microsoft.Identity.Web's attributes say it:
/// [`RequiredScope`](Requirement::scope), an app role, or
/// [`RequiredScopeOrAppPermission`](Requirement::scope_or_app_permission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement<'a> {
    /// Any valid token (it still grants some scope or role unless ACL authorization is on).
    Authenticated,
    /// At least one of these delegated scopes (`[RequiredScope]`).
    Scope(&'a [&'a str]),
    /// At least one of these app roles.
    AppRole(&'a [&'a str]),
    /// At least one of these scopes or one of these app roles
    /// (`[RequiredScopeOrAppPermission]`).
    ScopeOrAppPermission {
        /// The delegated scopes.
        scopes: &'a [&'a str],
        /// The app roles.
        roles: &'a [&'a str],
    },
}

impl<'a> Requirement<'a> {
    /// At least one of `scopes`.
    pub const fn scope(scopes: &'a [&'a str]) -> Self {
        Requirement::Scope(scopes)
    }

    /// At least one of the app `roles`.
    pub const fn app_role(roles: &'a [&'a str]) -> Self {
        Requirement::AppRole(roles)
    }

    /// At least one of `scopes` or one of `roles`.
    pub const fn scope_or_app_permission(scopes: &'a [&'a str], roles: &'a [&'a str]) -> Self {
        Requirement::ScopeOrAppPermission { scopes, roles }
    }

    /// Whether `token` meets it; a 403 `insufficient_scope` otherwise.
    pub fn check(&self, token: &ValidatedToken) -> Result<(), ValidationError> {
        match *self {
            Requirement::Authenticated => Ok(()),
            Requirement::Scope(scopes) => token.require_scope(scopes),
            Requirement::AppRole(roles) => token.require_app_role(roles),
            Requirement::ScopeOrAppPermission { scopes, roles } => {
                token.require_scope_or_app_permission(scopes, roles)
            }
        }
    }
}

/// A token that passed validation: its claims, and the authorization checks to make on them.
///
/// Cheap to clone (clones share the claims): the isolate's verified-token cache hands out the
/// same one for every request that presents the same token.
#[derive(Clone)]
pub struct ValidatedToken(Arc<Validated>, Scheme, Option<Arc<Trace>>, Remembered);

/// Whether a [`ValidatedToken`] was handed out by the verified-token cache (a repeat sight) or
/// verified by this request (first sight): told in the `request.validated` event.
#[derive(Clone, Copy, Default)]
pub(crate) struct Remembered(pub(crate) bool);

struct Validated {
    token: BearerToken,
    /// The claims the SDK reads, parsed once during validation.
    read: ClaimSet,
    /// The decoded payload, from which [`ValidatedToken::claims`] builds the full map when asked.
    payload: Vec<u8>,
    claims: OnceLock<Map<String, Value>>,
    /// SHA-256 of the token, computed at most once: the key of tokens acquired on its behalf.
    hash: OnceLock<String>,
    /// Whether the provider's rules judge it app-only (decided once, at validation).
    app_only: bool,
    /// The roles and app permissions the provider keeps outside `roles` (none for Entra).
    extra_roles: Vec<String>,
}

impl fmt::Debug for ValidatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedToken")
            .field("tid", &self.tenant_id())
            .field("oid", &self.object_id())
            .field("scopes", &self.scopes().collect::<Vec<_>>())
            .field("roles", &self.roles().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ValidatedToken {
    /// A token that passed validation for an API whose client id is `client_id`, read by
    /// `provider`'s rules.
    pub(crate) fn new(
        token: &str,
        read: ClaimSet,
        payload: Vec<u8>,
        provider: Provider,
        client_id: &str,
    ) -> Self {
        let app_only = provider.is_app_only(&read);
        let extra_roles = provider.extra_roles(&read, app_only, client_id);
        ValidatedToken(
            Arc::new(Validated {
                token: BearerToken::new(token),
                read,
                payload,
                claims: OnceLock::new(),
                hash: OnceLock::new(),
                app_only,
                extra_roles,
            }),
            Scheme::Bearer,
            None,
            Remembered(false),
        )
    }

    /// The same token, as the verified-token cache keeps it: every request it is handed to is a
    /// repeat sight.
    pub(crate) fn remembered(mut self) -> Self {
        self.3 = Remembered(true);
        self
    }

    /// Whether this request's token came from the verified-token cache (seen and verified
    /// before in this isolate) rather than being verified now.
    pub(crate) fn is_remembered(&self) -> bool {
        self.3 .0
    }

    /// The same token, for the request traced by `trace`.
    pub(crate) fn traced(mut self, trace: Arc<Trace>) -> Self {
        self.2 = Some(trace);
        self
    }

    /// The request's trace, where events are on (`Events.Level`): its correlation id, and the
    /// W3C trace downstream calls continue.
    pub fn trace(&self) -> Option<&Trace> {
        self.2.as_deref()
    }

    /// The `Server-Timing` value of the request so far (its validation, and the token
    /// acquisitions and downstream calls made for it), where `Events.ServerTiming` is on: for
    /// an answer the route builds itself (`pass_through` answers carry it already).
    pub fn server_timing(&self) -> Option<String> {
        self.2.as_deref().and_then(Trace::server_timing)
    }

    /// The request's correlation id, where events are on.
    pub fn correlation_id(&self) -> Option<&str> {
        self.2.as_deref().map(|t| t.correlation_id.as_str())
    }

    /// The same token, as presented with `scheme`.
    pub(crate) fn presented_with(mut self, scheme: Scheme) -> Self {
        self.1 = scheme;
        self
    }

    /// How the request presented the token: `Bearer`, or `DPoP` with a proof of the key it is
    /// bound to, checked on this request.
    pub fn scheme(&self) -> Scheme {
        self.1
    }

    /// Whether the token is bound to a key (a `cnf` claim: DPoP's `jkt`, mutual TLS's
    /// `x5t#S256`, RFC 7800).
    pub fn is_sender_constrained(&self) -> bool {
        self.0.read.cnf.is_some()
    }

    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6.1).
    pub fn dpop_key_thumbprint(&self) -> Option<&str> {
        self.0.read.cnf.as_ref().and_then(|c| c.jkt.as_deref())
    }

    /// The claims the validator's rules read.
    pub(crate) fn claim_set(&self) -> &ClaimSet {
        &self.0.read
    }

    /// SHA-256 of the token (base64url), computed once per validated token and shared by every
    /// cache key derived from it (On-Behalf-Of tokens).
    pub(crate) fn token_hash(&self) -> &str {
        self.0.hash.get_or_init(|| crate::cache::key::token_hash(self.0.token.expose()))
    }

    /// The token as presented (for On-Behalf-Of).
    pub fn token(&self) -> &BearerToken {
        &self.0.token
    }

    /// Every claim, as a JSON map. Built from the payload the first time it is asked for (the
    /// validator itself reads only the claims it checks), then kept with the token.
    pub fn claims(&self) -> &Map<String, Value> {
        // The payload was accepted by a parser held to accept exactly what this one accepts
        // (the property test in `parse.rs`), so the empty map is unreachable.
        self.0.claims.get_or_init(|| serde_json::from_slice(&self.0.payload).unwrap_or_default())
    }

    /// One string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims().get(name).and_then(Value::as_str)
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        ClaimSet::str_of(&self.0.read.iss)
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        ClaimSet::str_of(&self.0.read.sub)
    }

    /// Entra's `oid`: the caller's object id, stable across apps.
    pub fn object_id(&self) -> Option<&str> {
        ClaimSet::str_of(&self.0.read.oid)
    }

    /// Entra's `tid`: the caller's tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        ClaimSet::str_of(&self.0.read.tid)
    }

    /// The client the token was issued to: `azp` (Entra v2.0, OpenID Connect), else `appid`
    /// (Entra v1.0), `client_id` (RFC 9068, Cognito) or `cid` (Okta).
    pub(crate) fn authorized_party(&self) -> Option<&str> {
        let read = &self.0.read;
        [&read.azp, &read.appid, &read.extra().client_id, &read.extra().cid]
            .into_iter()
            .find_map(ClaimSet::str_of)
    }

    /// `exp`, in Unix seconds.
    pub fn expires_at(&self) -> Option<u64> {
        match self.0.read.exp {
            Some(Loose::Num(v)) => Some(v.max(0.0) as u64),
            _ => None,
        }
    }

    /// The delegated scopes: Entra's `scp` (space-separated), an `scp` array (Okta), and the
    /// `scope` claim of RFC 8693 and RFC 9068 (space-separated). None for an
    /// [app-only](Self::is_app_only) token: what an application holds as itself is an app
    /// permission (see [`roles`](Self::roles)), never a delegated scope.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let delegated = !self.0.app_only;
        self.0.read.scope_words().filter(move |_| delegated)
    }

    /// The app roles and permissions: `roles` (an array of strings), and where the provider
    /// keeps others ([`Provider`]): Auth0's `permissions`, Okta's `groups`, Keycloak's realm
    /// and client roles, Cognito's `cognito:groups`; and for an app-only token of a provider
    /// that grants applications scopes (Auth0, Okta, Cognito, RFC 9068), those scopes.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        let claim = self.0.read.roles.iter().flat_map(Loose::strings);
        claim.chain(self.0.extra_roles.iter().map(String::as_str))
    }

    /// Whether the token was issued to an application acting as itself (client credentials),
    /// not to an application acting for a user, decided by the configured provider's rules
    /// (`AzureAd.Provider`; the table is in the README). For Entra:
    ///
    /// * `idtyp` (Entra's optional claim, present in app-only tokens of APIs that ask for it):
    ///   `app` is app-only, `user` is delegated;
    /// * otherwise, Entra's documented rule for tokens without `idtyp`: `oid` equals `sub` and
    ///   there is no `scp` (a user's token has the user's `oid` and a pairwise `sub`).
    ///
    /// For RFC 9068 issuers (`Generic`): `sub` equals `client_id` (§2.2), or there is no `sub`.
    /// An app-only token never satisfies a delegated [`Requirement::Scope`] and is never sent
    /// through On-Behalf-Of or token exchange.
    pub fn is_app_only(&self) -> bool {
        self.0.app_only
    }

    /// `Ok` if the token has at least one of `scopes` (like `[RequiredScope]`).
    pub fn require_scope(&self, scopes: &[&str]) -> Result<(), ValidationError> {
        self.require_scope_or_app_permission(scopes, &[])
    }

    /// `Ok` if the token has at least one of `roles`.
    pub fn require_app_role(&self, roles: &[&str]) -> Result<(), ValidationError> {
        self.require_scope_or_app_permission(&[], roles)
    }

    /// `Ok` if the token has at least one of `scopes` or at least one of `roles`
    /// (like `[RequiredScopeOrAppPermission]`); otherwise a 403 `insufficient_scope`.
    pub fn require_scope_or_app_permission(
        &self,
        scopes: &[&str],
        roles: &[&str],
    ) -> Result<(), ValidationError> {
        let has_scope = self.scopes().any(|s| scopes.contains(&s));
        let has_role = self.roles().any(|r| roles.contains(&r));
        if has_scope || has_role {
            Ok(())
        } else {
            Err(ValidationError::InsufficientScope {
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            })
        }
    }

    /// The rule every token meets unless ACL authorization is enabled: it grants some scope or
    /// some role.
    pub(crate) fn has_scope_or_role(&self) -> bool {
        self.scopes().next().is_some() || self.roles().next().is_some()
    }
}
