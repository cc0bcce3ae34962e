//! One downstream API's resolved options, from a `DownstreamApis` entry, and the built-in
//! `graph` preset (Microsoft Graph v1.0 with `User.Read`, as `AddMicrosoftGraph` gives).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use crate::config::{bounded, checked_url, ConfigError, DownstreamApiConfig};

/// The name the Microsoft Graph preset answers to, unless the configuration defines it.
pub const GRAPH: &str = "graph";

/// A downstream API, ready to call.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        }
    }

    /// Resolves the entry `name` of `DownstreamApis`. Errors name the field
    /// (`DownstreamApis.Partner.BaseUrl`).
    pub fn from_config(
        name: &str,
        config: &DownstreamApiConfig,
    ) -> Result<DownstreamApiOptions, ConfigError> {
        let field = |member: &str| format!("DownstreamApis.{name}.{member}");
        let base_url = config
            .base_url
            .as_deref()
            .ok_or_else(|| ConfigError::new(field("BaseUrl"), "is required"))?;
        let base_url = checked_url(base_url, &field("BaseUrl"))?.trim_end_matches('/').to_owned();
        let mut scopes = Vec::new();
        for (i, scope) in config.scopes.iter().flatten().enumerate() {
            if scope.trim().is_empty() || scope.contains(char::is_whitespace) {
                return Err(ConfigError::new(
                    format!("{}[{i}]", field("Scopes")),
                    "must be one scope, without spaces",
                ));
            }
            scopes.push(scope.clone());
        }
        if scopes.is_empty() {
            return Err(ConfigError::new(field("Scopes"), "is required and must not be empty"));
        }
        let method = match config.http_method.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("GET") => Method::GET,
            Some("POST") => Method::POST,
            Some("PUT") => Method::PUT,
            Some("PATCH") => Method::PATCH,
            Some("DELETE") => Method::DELETE,
            Some(_) => {
                return Err(ConfigError::new(
                    field("HttpMethod"),
                    "must be GET, POST, PUT, PATCH or DELETE",
                ))
            }
        };
        let relative_path = config.relative_path.clone().unwrap_or_default();
        if !is_relative_path(&relative_path) {
            return Err(ConfigError::new(
                field("RelativePath"),
                "must be a relative path without `..`, `//`, `\\`, `#`, spaces or control characters",
            ));
        }
        let mut headers = Vec::new();
        for (header, value) in &config.headers {
            let header_field = format!("{}.{header}", field("Headers"));
            let parsed = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| ConfigError::new(&header_field, "is not a valid header name"))?;
            if parsed == http::header::AUTHORIZATION || parsed == http::header::HOST {
                return Err(ConfigError::new(
                    &header_field,
                    "is set by the SDK and can't be configured",
                ));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| ConfigError::new(&header_field, "is not a valid header value"))?;
            headers.push((parsed, value));
        }
        Ok(DownstreamApiOptions {
            base_url,
            scopes,
            relative_path,
            method,
            request_app_token: config.request_app_token,
            timeout: Duration::from_millis(bounded(
                config.timeout_ms,
                10_000,
                100..=120_000,
                &field("TimeoutMs"),
            )?),
            headers,
            audience: config.audience.clone(),
            resource: config.resource.clone(),
        })
    }

    /// `base_url` joined with `path` (or the default path).
    pub(crate) fn url(&self, path: Option<&str>) -> Option<String> {
        let path = path.unwrap_or(&self.relative_path);
        if !is_relative_path(path) {
            return None;
        }
        let path = path.trim_start_matches('/');
        Some(if path.is_empty() {
            self.base_url.clone()
        } else {
            format!("{}/{path}", self.base_url)
        })
    }
}

/// A path that stays below the base URL: no `..` segment, no `//`, no `\`, no fragment, no
/// whitespace or control characters.
fn is_relative_path(path: &str) -> bool {
    let (path_part, _query) = path.split_once('?').unwrap_or((path, ""));
    !path.contains(|c: char| c.is_whitespace() || c.is_control() || c == '\\' || c == '#')
        && !path_part.trim_start_matches('/').contains("//")
        && !path.starts_with("//")
        && !path_part
            .split('/')
            .any(|segment| segment == ".." || segment.eq_ignore_ascii_case("%2e%2e"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IdentityConfig;

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
            field(r#"{"BaseUrl": "https://x", "Scopes": ["s"], "RelativePath": "../admin"}"#),
            "DownstreamApis.Partner.RelativePath"
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

    #[test]
    fn paths_cannot_leave_the_base_url() {
        let api = DownstreamApiOptions::graph();
        for bad in ["../x", "a/../../x", "//evil.example/x", "a b", "a#b", "a\\b", "a//b"] {
            assert_eq!(api.url(Some(bad)), None, "{bad}");
        }
    }
}
