//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document a client (an MCP client, say)
//! reads to learn which authorization server issues tokens for this API, which scopes it
//! knows and whether it takes DPoP; and the URL every `401` challenge points at with
//! `resource_metadata` (§5.1).

use serde_json::{json, Value};

use crate::validation::options::{DpopMode, ValidationOptions};

/// The well-known path the metadata is published under (RFC 9728 §3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The resource identifier of a request at `request_url`: `AzureAd.PublicUrl` when configured,
/// else the origin the request arrived at.
pub(crate) fn resource(
    public_url: Option<&url::Url>,
    request_url: Option<&url::Url>,
) -> Option<url::Url> {
    if let Some(public) = public_url {
        return Some(public.clone());
    }
    let origin = request_url?.origin();
    if !origin.is_tuple() {
        return None;
    }
    url::Url::parse(&origin.ascii_serialization()).ok()
}

/// Where the metadata of `resource` is published: `WELL_KNOWN_PATH` inserted between its host
/// and its path (RFC 9728 §3.1), `https://api.example.com/.well-known/oauth-protected-resource`
/// for `https://api.example.com`, `…/oauth-protected-resource/mcp` for `https://example.com/mcp`.
pub fn metadata_url(resource: &url::Url) -> String {
    let origin = resource.origin().ascii_serialization();
    let path = resource.path().trim_end_matches('/');
    format!("{origin}{WELL_KNOWN_PATH}{path}")
}

/// The identifier of the resource whose metadata a request for `path` asks for (the
/// well-known path, or it followed by the resource's path), given the resource this API is
/// (`resource`); `None` when `path` is not a metadata path, or names another resource.
pub(crate) fn requested(path: &str, resource: &url::Url) -> Option<String> {
    let suffix = path.strip_prefix(WELL_KNOWN_PATH)?;
    let own = resource.path().trim_end_matches('/');
    if suffix.trim_end_matches('/') != own {
        return None;
    }
    let text = resource.as_str();
    // The identifier as configured: `https://api.example.com`, not the parser's `…com/`.
    Some(if resource.path() == "/" {
        text.trim_end_matches('/').to_owned()
    } else {
        text.to_owned()
    })
}

/// The metadata document for `resource` (RFC 9728 §2): `resource`, `authorization_servers`
/// (the authority's issuer), `scopes_supported` where configured, `bearer_methods_supported`
/// (the header only: the SDK reads tokens from nowhere else), and DPoP's
/// `dpop_signing_alg_values_supported` and `dpop_bound_access_tokens_required`.
pub fn document(options: &ValidationOptions, resource: &str) -> Value {
    let mut doc = json!({
        "resource": resource,
        "authorization_servers": [options.authority.issuer_url()],
        "bearer_methods_supported": ["header"],
    });
    if let Some(obj) = doc.as_object_mut() {
        if !options.scopes_supported.is_empty() {
            obj.insert("scopes_supported".into(), json!(options.scopes_supported));
        }
        if options.dpop.mode != DpopMode::Off {
            let algs: Vec<&str> = options.dpop.algorithms.iter().map(|a| a.name()).collect();
            obj.insert("dpop_signing_alg_values_supported".into(), json!(algs));
            obj.insert(
                "dpop_bound_access_tokens_required".into(),
                json!(options.dpop.mode == DpopMode::Required),
            );
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn the_metadata_url_inserts_the_well_known_path_as_rfc_9728_section_3_1_shows() {
        // RFC 9728 §3.1's example: resource https://resource.example.com/resource1.
        assert_eq!(
            metadata_url(&url("https://resource.example.com/resource1")),
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1"
        );
        assert_eq!(
            metadata_url(&url("https://resource.example.com")),
            "https://resource.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn only_this_resources_metadata_path_is_answered() {
        let root = url("https://api.example.com");
        assert_eq!(
            requested("/.well-known/oauth-protected-resource", &root).as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(requested("/.well-known/oauth-protected-resource/other", &root), None);
        assert_eq!(requested("/api/me", &root), None);
        let mcp = url("https://example.com/mcp");
        assert_eq!(
            requested("/.well-known/oauth-protected-resource/mcp", &mcp).as_deref(),
            Some("https://example.com/mcp")
        );
        assert_eq!(requested("/.well-known/oauth-protected-resource", &mcp), None);
    }
}
