//! One downstream API's resolved options (what a `DownstreamApis` entry becomes, resolved in
//! `config/resolve.rs`), where its call URLs are built, and the built-in
//! `graph` preset (Microsoft Graph v1.0 with `User.Read`, as `AddMicrosoftGraph` gives).
//!
//! Call URLs are built by [`join_below`], which resolves a relative path with the `url` crate as
//! a browser does (dot segments, percent-encoded ones such as `.%2e` and `%2E%2E` included), and
//! a call is refused unless the result stays under `BaseUrl`: a path below the base path, never
//! another scheme, host or credentials. Encoded slashes and backslashes (`%2F`, `%5C`), which a
//! downstream server may decode into separators, are refused outright.

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
    /// Timeout of one call: up to the response's status for a body passed on unread
    /// ([`pass_through`](crate::ReadyCall::pass_through)), the whole body otherwise.
    pub timeout: Duration,
    /// How long a body passed on unread may take to stream to the client after its status
    /// (`BodyTimeoutMs`): past it the body is cut. `None` (the default): as long as the API
    /// sends it. A limit costs the Workers fetch a pipe of its own (see `BodyTimeoutMs`).
    pub body_timeout: Option<Duration>,
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
            .field("body_timeout", &self.body_timeout)
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
            body_timeout: None,
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

/// `path` resolved against `base` (no trailing `/`) by the `url` crate, as a browser resolves it
/// (the WHATWG URL standard: dot segments, percent-encoded ones included), if the result is
/// `base` itself or below it: same scheme, host, port and credentials, and a path under the
/// base path. Before resolving, what a browser keeps below the base but servers read otherwise
/// is refused: encoded separators, double-encoded dots, `;`-suffixed dot segments.
pub(crate) fn join_below(base: &str, path: &str) -> Option<String> {
    if path.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '#')
        || path.starts_with("//")
    {
        return None;
    }
    let (path_only, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    // In the path (a query value may hold any of them): encoded slashes and backslashes, which
    // servers decode into separators, and a double-encoded dot, slash or backslash (`%252e`),
    // which a server that decodes twice turns into one.
    let lower = path_only.to_ascii_lowercase();
    if ["%2f", "%5c", "%252e", "%252f", "%255c"].iter().any(|bad| lower.contains(bad)) {
        return None;
    }
    let relative = path.strip_prefix('/').unwrap_or(path);
    let mut segments = relative.split(['/', '?']);
    // A first segment with a colon is a scheme to a URL parser (`https:x`, `javascript:`).
    if segments.next().is_some_and(|first| first.contains(':')) {
        return None;
    }
    // `..;x` and `.;x`: Tomcat, Jetty and Spring drop what follows `;` and then see a dot
    // segment that a WHATWG resolver kept as a name.
    if path_only
        .split('/')
        .any(|segment| segment.split_once(';').is_some_and(|(before, _)| is_dot_segment(before)))
    {
        return None;
    }
    if relative.is_empty() && query.is_none() {
        return Some(base.to_owned());
    }
    // The base as a directory, so that a relative path resolves below it, never beside it.
    let directory = url::Url::parse(&format!("{}/", base.trim_end_matches('/'))).ok()?;
    let joined = directory.join(relative).ok()?;
    let same_origin = joined.scheme() == directory.scheme()
        && joined.host_str() == directory.host_str()
        && joined.port() == directory.port()
        && joined.username() == directory.username()
        && joined.password() == directory.password();
    (same_origin && joined.path().starts_with(directory.path())).then(|| joined.into())
}

/// `.` and `..`, each dot also as `%2e` in either case (the WHATWG URL standard's rule).
fn is_dot_segment(segment: &str) -> bool {
    segment.len() <= 6
        && matches!(segment.to_ascii_lowercase().replace("%2e", ".").as_str(), "." | "..")
}

/// Headers a call may not set, in configuration or per call: the SDK sets `Authorization`
/// (the acquired token) and the platform sets `Host` and the framing headers; a `Cookie` would
/// carry a credential the SDK does not manage to another origin's API.
pub(crate) fn is_reserved_header(name: &http::HeaderName) -> bool {
    [
        http::header::AUTHORIZATION,
        http::header::HOST,
        http::header::COOKIE,
        http::header::CONTENT_LENGTH,
        http::header::TRANSFER_ENCODING,
    ]
    .contains(name)
}

/// One path segment for a call's path (`DownstreamCall::segment`): every byte but RFC 3986's
/// unreserved set percent-encoded, so a value can add no `?`, `#`, `;` or `%` of its own.
/// `None` for `.` and `..` (which no encoding keeps from being dot segments) and for a value
/// with `/` or `\` (servers decode `%2F` and `%5C` into separators; the path refuses them).
pub(crate) fn encoded_segment(value: &str) -> Option<String> {
    /// Everything but RFC 3986's unreserved characters (ALPHA / DIGIT / `-` / `.` / `_` / `~`).
    const NOT_UNRESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    if value.is_empty() || value == "." || value == ".." || value.contains(['/', '\\']) {
        return None;
    }
    Some(percent_encoding::utf8_percent_encode(value, NOT_UNRESERVED).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IdentityConfig;
    use crate::config_error::ConfigError;

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
        assert_eq!(api.body_timeout, None, "a passed body has no limit of its own unless set");
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
        assert_eq!(
            field(r#"{"BaseUrl": "https://x", "Scopes": ["s"], "BodyTimeoutMs": 10}"#),
            "DownstreamApis.Partner.BodyTimeoutMs"
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
            // A query value may hold an encoded slash (a date, a path): only the path may not.
            ("me?$select=id&a=%2F", "https://graph.microsoft.com/v1.0/me?$select=id&a=%2F"),
            ("me?since=2024%2F01%2F01", "https://graph.microsoft.com/v1.0/me?since=2024%2F01%2F01"),
            ("files/a;v=1", "https://graph.microsoft.com/v1.0/files/a;v=1"),
            ("files/50%25", "https://graph.microsoft.com/v1.0/files/50%25"),
            ("", "https://graph.microsoft.com/v1.0"),
        ];
        for (path, expected) in staying {
            assert_eq!(api.url(Some(path)).as_deref(), Some(expected), "{path}");
        }
    }

    #[test]
    fn paths_real_servers_read_as_dot_segments_are_refused() {
        // What a WHATWG resolver keeps below BaseUrl but Tomcat, Jetty or Spring (`..;`), or a
        // server decoding twice (`%252e`), reads as a step up.
        let api = DownstreamApiOptions::graph();
        for path in [
            "..;/admin",
            "a/..;/..;/admin",
            "a/..;jsessionid=x/b",
            "a/.;/b",
            "a/%2e%2e;x/b",
            "%252e%252e/admin",
            "a/%252E%252E/b",
            "a%252fb",
            "a%255c..%255cb",
        ] {
            assert_eq!(api.url(Some(path)), None, "{path}");
        }
    }

    #[test]
    fn a_segment_value_adds_exactly_one_encoded_segment() {
        assert_eq!(
            encoded_segment("report 1..x?y#z;w%").as_deref(),
            Some("report%201..x%3Fy%23z%3Bw%25")
        );
        for dots in ["", ".", "..", "../admin", "a\\b"] {
            assert_eq!(encoded_segment(dots), None, "{dots:?}");
        }
    }

    #[test]
    fn the_old_hand_written_check_let_dot_percent_2e_through() {
        // The check this replaced compared segments with ".." and "%2e%2e" only.
        let api = DownstreamApiOptions::graph();
        assert_eq!(api.url(Some("x/.%2e/.%2e/beta/me")), None);
    }
}
