//! One downstream API's resolved options (what a `DownstreamApis` entry becomes, resolved in
//! `config/resolve.rs`), where its call URLs are built, and the built-in
//! `graph` preset (Microsoft Graph v1.0 with `User.Read`, as `AddMicrosoftGraph` gives).
//!
//! Call URLs are built with the `url` crate, which parses and normalises a relative path as a
//! browser does (dot segments, percent-encoded ones such as `.%2e` and `%2E%2E` included), and a
//! call is refused unless the result stays under `BaseUrl`: same scheme, host and port, no
//! credentials, and a path below the base path. Encoded slashes and backslashes (`%2F`, `%5C`),
//! which a downstream server may decode into separators, are refused outright.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use crate::platform::DEFAULT_MAX_RESPONSE_BYTES;

/// The name the Microsoft Graph preset answers to, unless the configuration defines it.
pub const GRAPH: &str = "graph";

/// A downstream API, ready to call. `Debug` shows header names, never their values.
#[derive(Clone, PartialEq, Eq)]
pub struct DownstreamApiOptions {
    /// The base URL, without a trailing `/`.
    pub base_url: String,
    /// The scopes its tokens are requested with.
    pub scopes: Vec<String>,
    /// The default path below the base URL.
    pub relative_path: String,
    /// The default method.
    pub method: Method,
    /// Call as the app even when called for a user.
    pub request_app_token: bool,
    /// Timeout of one call.
    pub timeout: Duration,
    /// Headers sent on every call.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// RFC 8693 `audience`.
    pub audience: Option<String>,
    /// RFC 8693 `resource`.
    pub resource: Option<String>,
    /// The largest response body read from the API (`MaxResponseBytes`, default 4 MiB).
    pub max_response_bytes: usize,
}

impl std::fmt::Debug for DownstreamApiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownstreamApiOptions")
            .field("base_url", &self.base_url)
            .field("scopes", &self.scopes)
            .field("relative_path", &self.relative_path)
            .field("method", &self.method)
            .field("request_app_token", &self.request_app_token)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl DownstreamApiOptions {
    /// Microsoft Graph v1.0 for the signed-in user (`User.Read`).
    pub fn graph() -> DownstreamApiOptions {
        DownstreamApiOptions {
            base_url: "https://graph.microsoft.com/v1.0".into(),
            scopes: vec!["User.Read".into()],
            relative_path: "me".into(),
            method: Method::GET,
            request_app_token: false,
            timeout: Duration::from_secs(10),
            headers: Vec::new(),
            audience: None,
            resource: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// `base_url` joined with `path` (or the default path), if the result stays below it.
    pub(crate) fn url(&self, path: Option<&str>) -> Option<String> {
        join_below(&self.base_url, path.unwrap_or(&self.relative_path))
    }
}

/// `path` resolved against `base` (no trailing `/`) as a browser resolves it, if the result is
/// `base` itself or below it.
pub(crate) fn join_below(base: &str, path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    if path.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '#')
        || lower.contains("%2f")
        || lower.contains("%5c")
        || path.starts_with("//")
    {
        return None;
    }
    let base_url = url::Url::parse(&format!("{base}/")).ok()?;
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        return Some(base.to_owned());
    }
    let joined = base_url.join(path).ok()?;
    let stays = joined.scheme() == base_url.scheme()
        && joined.host_str() == base_url.host_str()
        && joined.port_or_known_default() == base_url.port_or_known_default()
        && joined.username().is_empty()
        && joined.password().is_none()
        && joined.fragment().is_none()
        && joined.path().starts_with(base_url.path());
    stays.then(|| joined.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, IdentityConfig};

    fn entry(json: &str) -> Result<DownstreamApiOptions, ConfigError> {
        let doc = format!(r#"{{"AzureAd": {{}}, "DownstreamApis": {{"Partner": {json}}}}}"#);
        let config = IdentityConfig::from_json(&doc).unwrap();
        DownstreamApiOptions::from_config("Partner", &config.downstream_apis["Partner"])
    }

    #[test]
    fn the_microsoft_identity_web_shape_is_read() {
        let api = entry(
            r#"{"BaseUrl": "https://partner.example.com/", "Scopes": ["api://p/read"],
                "RelativePath": "api/data", "HttpMethod": "post", "TimeoutMs": 2500,
                "Headers": {"x-api-version": "2"}}"#,
        )
        .unwrap();
        assert_eq!(api.url(None).unwrap(), "https://partner.example.com/api/data");
        assert_eq!(
            api.url(Some("/me?$select=id")).unwrap(),
            "https://partner.example.com/me?$select=id"
        );
        assert_eq!((api.method, api.timeout), (Method::POST, Duration::from_millis(2500)));
        assert_eq!(
            DownstreamApiOptions::graph().url(None).unwrap(),
            "https://graph.microsoft.com/v1.0/me"
        );
    }

    #[test]
    fn downstream_config_errors_name_the_field() {
        let field = |json: &str| entry(json).unwrap_err().field;
        assert_eq!(field(r#"{"Scopes": ["s"]}"#), "DownstreamApis.Partner.BaseUrl");
        assert_eq!(
            field(r#"{"BaseUrl": "ftp://x", "Scopes": ["s"]}"#),
            "DownstreamApis.Partner.BaseUrl"
        );
        assert_eq!(field(r#"{"BaseUrl": "https://x"}"#), "DownstreamApis.Partner.Scopes");
        assert_eq!(
            field(r#"{"BaseUrl": "https://x", "Scopes": ["a b"]}"#),
            "DownstreamApis.Partner.Scopes[0]"
        );
        assert_eq!(
            field(r#"{"BaseUrl": "https://x", "Scopes": ["s"], "HttpMethod": "TRACE"}"#),
            "DownstreamApis.Partner.HttpMethod"
        );
        assert_eq!(
            field(r#"{"BaseUrl": "https://x/api", "Scopes": ["s"], "RelativePath": "../admin"}"#),
            "DownstreamApis.Partner.RelativePath"
        );
        assert_eq!(
            field(r#"{"BaseUrl": "https://x", "Scopes": ["s"], "MaxResponseBytes": 10}"#),
            "DownstreamApis.Partner.MaxResponseBytes"
        );
        assert_eq!(
            field(
                r#"{"BaseUrl": "https://x", "Scopes": ["s"], "Headers": {"Authorization": "x"}}"#
            ),
            "DownstreamApis.Partner.Headers.Authorization"
        );
        assert_eq!(
            field(r#"{"BaseUrl": "https://x", "Scopes": ["s"], "TimeoutMs": 0}"#),
            "DownstreamApis.Partner.TimeoutMs"
        );
    }

    /// Paths a browser's URL parser would take out of the base (dot segments, plain and
    /// percent-encoded in every case, other origins, credentials), and the ones that stay.
    #[test]
    fn paths_cannot_leave_the_base_url() {
        let api = DownstreamApiOptions::graph(); // https://graph.microsoft.com/v1.0
        let escaping = [
            "../x",
            "a/../../x",
            "..",
            ".%2e/x",
            "%2e./x",
            "%2e%2e/x",
            "%2E%2E/x",
            "a/.%2E/.%2e/beta/me",
            "a/%2e%2E/%2E%2e/x",
            "..;/x/../../x",
            "//evil.example/x",
            "https://evil.example/x",
            "http:evil.example/x",
            "https:x",
            "javascript:alert(1)",
            "a%2f..%2f..%2fx",
            "..%2Fx",
            "a%5c..%5cx",
            "a\\..\\x",
            "@evil.example/x",
            "a b",
            "a#b",
            "a\tb",
        ];
        for bad in escaping {
            let url = api.url(Some(bad));
            assert!(
                url.as_deref().is_none_or(|u| u.starts_with("https://graph.microsoft.com/v1.0/")),
                "{bad} -> {url:?}"
            );
        }
        for refused in [
            "../x",
            ".%2e/x",
            "%2e./x",
            "%2E%2E/x",
            "//evil.example/x",
            "https://evil.example/x",
            "a%2f..%2f..%2fx",
            "a\\..\\x",
            "a#b",
            "http:evil.example/x",
        ] {
            assert_eq!(api.url(Some(refused)), None, "{refused}");
        }
        // What stays below the base is kept, normalised as a browser would.
        let staying = [
            ("me", "https://graph.microsoft.com/v1.0/me"),
            ("/me", "https://graph.microsoft.com/v1.0/me"),
            ("users/a@contoso.com", "https://graph.microsoft.com/v1.0/users/a@contoso.com"),
            ("a/./b", "https://graph.microsoft.com/v1.0/a/b"),
            ("a/x/../b", "https://graph.microsoft.com/v1.0/a/b"),
            ("a/%2e/b", "https://graph.microsoft.com/v1.0/a/b"),
            ("me?$select=id&a=%2F", "https://graph.microsoft.com/v1.0/me?$select=id&a=%2F"),
            ("", "https://graph.microsoft.com/v1.0"),
        ];
        for (path, expected) in staying {
            if path.contains("%2F") {
                // An encoded slash is refused even in the query: simpler than telling them apart.
                assert_eq!(api.url(Some(path)), None);
                continue;
            }
            assert_eq!(api.url(Some(path)).as_deref(), Some(expected), "{path}");
        }
    }

    #[test]
    fn the_old_hand_written_check_let_dot_percent_2e_through() {
        // The check this replaced compared segments with ".." and "%2e%2e" only.
        let api = DownstreamApiOptions::graph();
        assert_eq!(api.url(Some("x/.%2e/.%2e/beta/me")), None);
    }
}
