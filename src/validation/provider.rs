//! Each identity provider's token shapes: what makes a token app-only (client credentials, no
//! user), what marks an ID token, where delegated scopes and app permissions live, and which
//! header `typ` its access tokens carry. Chosen once per validator (`AzureAd.Provider`), never per
//! token.
//!
//! | provider | app-only when | not an access token when | roles / app permissions |
//! |---|---|---|---|
//! | `Entra` | `idtyp` = `app`; without `idtyp`: `oid` = `sub` and no `scp` | `nonce`, or neither `azp` nor `appid` | `roles` |
//! | `Generic` (RFC 9068) | no `sub`, or `sub` = `client_id` (or `azp`) | header `typ` not `at+jwt` (default `ValidTypes`), `nonce` | `roles`; app-only: `scope` too |
//! | `Auth0` | `gty` = `client-credentials`, or `sub` ends in `@clients` | neither `azp` nor `client_id`, `nonce` | `permissions`, `roles`; app-only: `scope` too |
//! | `Okta` | `sub` = `cid` | no `cid`, `nonce` | `groups`, `roles`; app-only: `scp` too |
//! | `Keycloak` | `client_id` (or `clientId`) claim, or `preferred_username` `service-account-…` | `typ` claim not `Bearer` | `realm_access.roles`, `resource_access.{ClientId}.roles` |
//! | `Cognito` | no `username` | `token_use` not `access`, `nonce` | `cognito:groups`; app-only: `scope` too |
//! | `CloudflareAccess` | `common_name` (a service token), or an empty `sub` | `type` not `app` | none (Access's policy decided) |
//!
//! Every provider also refuses `at_hash`, `c_hash` and a `typ` claim of `ID` (OpenID Connect Core
//! §3.1.3.6, §3.3.2.11; Keycloak's ID tokens). The sources of these shapes are listed in
//! `tests/fixtures/providers/README.md`.

use std::fmt;

use super::claim_set::{ClaimSet, KeptClaims, Loose};
use crate::validation::error::ValidationError;

/// Whose token shapes the API accepts (`AzureAd.Provider`). The default is `Entra` with
/// `Instance` + `TenantId`, and `Generic` with `Authority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Microsoft Entra ID (v1.0 and v2.0 access tokens).
    Entra,
    /// Any OAuth 2.0 server issuing RFC 9068 JWT access tokens (`typ: at+jwt`, `client_id`,
    /// `scope`), such as `oidc-provider`, ZITADEL, Curity, Ping or Auth0's RFC 9068 profile.
    Generic,
    /// Auth0 (its default access token profile).
    Auth0,
    /// Okta (org or custom authorization servers).
    Okta,
    /// Keycloak (realms).
    Keycloak,
    /// Amazon Cognito user pools.
    Cognito,
    /// Cloudflare Access: the application token of the `Cf-Access-Jwt-Assertion` header.
    CloudflareAccess,
}

impl Provider {
    /// Every preset, in the order the documentation lists them.
    pub const ALL: [Provider; 7] = [
        Provider::Entra,
        Provider::Generic,
        Provider::Auth0,
        Provider::Okta,
        Provider::Keycloak,
        Provider::Cognito,
        Provider::CloudflareAccess,
    ];

    /// The configuration name (`Entra`, `Generic`, `Auth0`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Provider::Entra => "Entra",
            Provider::Generic => "Generic",
            Provider::Auth0 => "Auth0",
            Provider::Okta => "Okta",
            Provider::Keycloak => "Keycloak",
            Provider::Cognito => "Cognito",
            Provider::CloudflareAccess => "CloudflareAccess",
        }
    }

    /// The preset of a configuration name (exact spelling).
    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The header `typ` values accepted when `ValidTypes` is not configured: `at+jwt` where the
    /// provider always issues it (RFC 9068 §4: the resource server MUST check it), any
    /// otherwise.
    pub fn default_valid_types(self) -> Option<Vec<String>> {
        match self {
            Provider::Generic => Some(vec!["at+jwt".to_owned()]),
            _ => None,
        }
    }

    /// The members of its own this provider's rules read: a token is read keeping only these
    /// (and the registered and Entra claims every read keeps).
    pub(crate) fn kept_claims(self) -> KeptClaims {
        let none = KeptClaims::default();
        match self {
            Provider::Entra => none,
            Provider::Generic => KeptClaims { client_id: true, ..none },
            Provider::Auth0 => KeptClaims { client_id: true, auth0: true, ..none },
            Provider::Okta => KeptClaims { okta: true, ..none },
            Provider::Keycloak => KeptClaims { client_id: true, keycloak: true, ..none },
            Provider::Cognito => KeptClaims { client_id: true, cognito: true, ..none },
            Provider::CloudflareAccess => KeptClaims { client_id: true, access: true, ..none },
        }
    }

    /// Whether a token must grant some scope or role (unless
    /// `AllowWebApiToBeAuthorizedByACL`). Cloudflare Access tokens carry neither: Access's
    /// policy admitted the caller.
    pub(crate) fn requires_scope_or_role(self) -> bool {
        !matches!(self, Provider::CloudflareAccess)
    }

    /// Whether the audience may be read from `client_id` where the token has no `aud`
    /// (Cognito's access tokens).
    pub(crate) fn audience_in_client_id(self) -> bool {
        matches!(self, Provider::Cognito)
    }

    /// Refuses a token this provider marks as something other than an access token (an ID token
    /// above all), whatever its audience, scopes or roles.
    pub(crate) fn check_access_token(self, claims: &ClaimSet) -> Result<(), ValidationError> {
        let str_of = ClaimSet::str_of;
        if claims.at_hash || claims.c_hash || str_of(&claims.typ) == Some("ID") {
            return Err(ValidationError::NotAnAccessToken);
        }
        let is_access_token = match self {
            Provider::Entra => !claims.nonce && (claims.azp.is_some() || claims.appid.is_some()),
            Provider::Generic => !claims.nonce,
            Provider::Auth0 => {
                !claims.nonce && (claims.azp.is_some() || claims.extra().client_id.is_some())
            }
            Provider::Okta => !claims.nonce && claims.extra().cid.is_some(),
            Provider::Keycloak => str_of(&claims.typ) == Some("Bearer"),
            Provider::Cognito => {
                !claims.nonce && str_of(&claims.extra().token_use) == Some("access")
            }
            Provider::CloudflareAccess => str_of(&claims.extra().kind) == Some("app"),
        };
        if is_access_token {
            Ok(())
        } else {
            Err(ValidationError::NotAnAccessToken)
        }
    }

    /// Whether the token was issued to an application acting as itself (client credentials).
    pub(crate) fn is_app_only(self, claims: &ClaimSet) -> bool {
        let str_of = ClaimSet::str_of;
        let sub = str_of(&claims.sub);
        match self {
            Provider::Entra => {
                match str_of(&claims.idtyp) {
                    Some("app") => return true,
                    Some("user") => return false,
                    _ => {}
                }
                // A user's token has the user's `oid` and a pairwise `sub`; an app's has its
                // service principal's `oid` as `sub` too, and no delegated scope.
                let no_scopes = claims.scope_words().next().is_none();
                match (str_of(&claims.oid), sub) {
                    (Some(oid), Some(sub)) => no_scopes && oid == sub,
                    (Some(_), None) => false,
                    (None, _) => no_scopes,
                }
            }
            Provider::Generic => match sub {
                None | Some("") => true,
                Some(sub) => {
                    str_of(&claims.extra().client_id) == Some(sub)
                        || str_of(&claims.azp) == Some(sub)
                }
            },
            Provider::Auth0 => {
                str_of(&claims.extra().gty) == Some("client-credentials")
                    || sub.is_none_or(|s| s.ends_with("@clients"))
            }
            Provider::Okta => sub.is_none_or(|s| str_of(&claims.extra().cid) == Some(s)),
            Provider::Keycloak => {
                claims.extra().client_id.is_some()
                    || claims.extra().client_id_legacy
                    || str_of(&claims.extra().preferred_username)
                        .is_some_and(|u| u.starts_with("service-account-"))
            }
            Provider::Cognito => claims.extra().username.is_none(),
            Provider::CloudflareAccess => {
                claims.extra().common_name.is_some() || sub.is_none_or(|s| s.is_empty())
            }
        }
    }

    /// The roles and app permissions the provider puts outside `roles`, for a token whose
    /// app-only judgement is `app_only` (computed once, when the token is validated). Entra's
    /// are all in `roles`: nothing is allocated for it.
    pub(crate) fn extra_roles(
        self,
        claims: &ClaimSet,
        app_only: bool,
        client_id: &str,
    ) -> Vec<String> {
        let mut roles = Vec::new();
        let strings = |claim: &Option<Loose>| {
            claim.iter().flat_map(Loose::strings).map(str::to_owned).collect::<Vec<_>>()
        };
        let words =
            |claim: &Option<Loose>| ClaimSet::words(claim).map(str::to_owned).collect::<Vec<_>>();
        match self {
            Provider::Entra | Provider::CloudflareAccess => {}
            Provider::Generic => {
                if app_only {
                    roles.extend(words(&claims.scope));
                }
            }
            Provider::Auth0 => {
                roles.extend(strings(&claims.extra().permissions));
                if app_only {
                    roles.extend(words(&claims.scope));
                }
            }
            Provider::Okta => {
                roles.extend(strings(&claims.extra().groups));
                if app_only {
                    roles.extend(strings(&claims.scp));
                    roles.extend(words(&claims.scp));
                }
            }
            Provider::Keycloak => {
                roles.extend(claims.extra().realm_roles.iter().cloned());
                if let Some((_, client_roles)) =
                    claims.extra().client_roles.iter().find(|(client, _)| client == client_id)
                {
                    roles.extend(client_roles.iter().cloned());
                }
            }
            Provider::Cognito => {
                roles.extend(strings(&claims.extra().cognito_groups));
                if app_only {
                    roles.extend(words(&claims.scope));
                }
            }
        }
        roles
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeSeed as _;

    use super::*;
    use crate::validation::claim_set::ClaimSetFor;

    #[test]
    fn a_provider_keeps_only_its_own_members() {
        let payload = br#"{"sub": "s", "groups": ["g"], "preferred_username": "service-account-x",
            "cid": "c", "client_id": "c"}"#;
        let read = |provider| {
            let mut de = serde_json::Deserializer::from_slice(payload);
            ClaimSetFor(provider).deserialize(&mut de).unwrap()
        };
        let entra = read(Provider::Entra.kept_claims());
        assert!(entra.extra.is_none(), "nothing allocated for an Entra token");
        let okta = read(Provider::Okta.kept_claims());
        let okta = okta.extra();
        assert!(okta.groups.is_some() && okta.cid.is_some() && okta.client_id.is_none());
        let all = read(KeptClaims::ALL);
        let all = all.extra();
        assert!(all.groups.is_some() && all.preferred_username.is_some());
        assert!(all.client_id.is_some());
    }
}
