//! Whose tokens are accepted: an Entra instance and tenant, or any OpenID Connect issuer, and the
//! URLs its documents are published at.

use crate::config_error::ConfigError;

/// Whose tokens are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// Microsoft Entra ID: an instance (with a trailing `/`) and a tenant.
    Entra {
        /// The cloud instance, e.g. `https://login.microsoftonline.com/`.
        instance: String,
        /// The tenant.
        tenant: TenantSpec,
        /// With `UseAppSpecificSigningKeys`: the client id whose app-specific key set is used.
        app_specific_keys_for: Option<String>,
    },
    /// Any OpenID Connect issuer (no trailing `/`).
    Oidc {
        /// The issuer URL discovery starts from.
        issuer_url: String,
    },
}

impl Authority {
    /// The authorization server clients get tokens from, as protected-resource metadata
    /// names it (RFC 9728 `authorization_servers`): its issuer URL, whose discovery document
    /// clients read (for Entra, the tenant's v2.0 endpoint).
    pub fn issuer_url(&self) -> String {
        match self {
            Authority::Entra { instance, tenant, .. } => {
                format!("{instance}{}/v2.0", tenant.as_str())
            }
            Authority::Oidc { issuer_url } => issuer_url.clone(),
        }
    }

    /// The OpenID Connect discovery document's URL (for Entra, the v2.0 one).
    pub fn metadata_url(&self) -> String {
        match self {
            Authority::Entra { instance, tenant, app_specific_keys_for } => format!(
                "{instance}{}/v2.0/.well-known/openid-configuration{}",
                tenant.as_str(),
                app_id_query(app_specific_keys_for)
            ),
            Authority::Oidc { issuer_url } => {
                format!("{issuer_url}/.well-known/openid-configuration")
            }
        }
    }

    /// Entra only: the v1.0 discovery document, whose `issuer` (`https://sts.windows.net/{tid}/`
    /// in the public cloud) is the issuer of v1.0 access tokens. As Microsoft.IdentityModel's
    /// `AadIssuerValidator` derives it: `organizations` reads `common`'s. `None` for `consumers`
    /// (Entra issues only v2.0 access tokens to apps that accept personal accounts) and for
    /// other authorities.
    pub fn v1_metadata_url(&self) -> Option<String> {
        let Authority::Entra { instance, tenant, app_specific_keys_for } = self else {
            return None;
        };
        let tenant = match tenant.as_str() {
            "consumers" => return None,
            "organizations" => "common",
            other => other,
        };
        Some(format!(
            "{instance}{tenant}/.well-known/openid-configuration{}",
            app_id_query(app_specific_keys_for)
        ))
    }
}

impl Authority {
    /// Entra: where the tenant's v2.0 key set is published (`{instance}{tenant}/discovery/v2.0/keys`,
    /// the `jwks_uri` of Entra's discovery documents), known before discovery is read. `None`
    /// for a tenant given by domain (its documents name the key set under the tenant id) and for
    /// other authorities.
    pub fn expected_jwks_uri(&self) -> Option<String> {
        match self {
            Authority::Entra { instance, tenant, app_specific_keys_for }
                if !matches!(tenant, TenantSpec::Domain(_)) =>
            {
                Some(format!(
                    "{instance}{}/discovery/v2.0/keys{}",
                    tenant.as_str(),
                    app_id_query(app_specific_keys_for)
                ))
            }
            _ => None,
        }
    }
}

fn app_id_query(app_id: &Option<String>) -> String {
    app_id.as_ref().map(|id| format!("?appid={id}")).unwrap_or_default()
}

/// An Entra tenant as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSpec {
    /// One tenant, by id (lower-case GUID).
    Id(String),
    /// One tenant, by verified domain; its id is learned from discovery.
    Domain(String),
    /// Any tenant: `common`, `organizations` or `consumers`.
    Multi(String),
}

impl TenantSpec {
    pub(crate) fn parse(text: &str) -> Result<TenantSpec, ConfigError> {
        let field = "AzureAd.TenantId";
        let text = text.trim();
        if text.is_empty() {
            return Err(ConfigError::new(field, "is required and must not be empty"));
        }
        let lower = text.to_ascii_lowercase();
        if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
            Ok(TenantSpec::Multi(lower))
        } else if is_guid(text) {
            Ok(TenantSpec::Id(lower))
        } else if lower.contains('.')
            && lower.split('.').all(|label| {
                !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        {
            Ok(TenantSpec::Domain(lower))
        } else {
            Err(ConfigError::new(
                field,
                "must be a tenant id (GUID), a domain name, or common / organizations / consumers",
            ))
        }
    }

    /// The tenant as it appears in URLs.
    pub fn as_str(&self) -> &str {
        match self {
            TenantSpec::Id(s) | TenantSpec::Domain(s) | TenantSpec::Multi(s) => s,
        }
    }
}

/// Whether `text` is an absolute URL the SDK may fetch metadata from: `https`, or `http` to a
/// loopback host.
pub(crate) fn is_metadata_url(text: &str) -> bool {
    let Ok(uri) = text.parse::<http::Uri>() else {
        return false;
    };
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(host)) => !host.is_empty(),
        (Some("http"), Some(host)) => matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        _ => false,
    }
}

/// Whether `text` is a GUID in its usual 8-4-4-4-12 hexadecimal form.
pub(crate) fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
