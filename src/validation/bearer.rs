//! Reading the access token out of a request's `Authorization` header (RFC 6750 §2.1, and
//! RFC 9449 §7.1's `DPoP` scheme), and what else of the request its checks need.

use crate::validation::challenge::Scheme;
use crate::validation::error::ValidationError;

/// The token from the values of a request's `Authorization` headers.
///
/// * none, or a scheme other than `Bearer` → [`ValidationError::MissingToken`] (401, bare challenge);
/// * several headers, or a `Bearer` value that is not a token68 → [`ValidationError::InvalidRequest`] (400).
pub fn bearer_token<'a>(authorization: &[&'a str]) -> Result<&'a str, ValidationError> {
    let token = bearer_value(authorization)?;
    if is_token68(token) {
        Ok(token)
    } else {
        Err(not_token68())
    }
}

/// The `Bearer` value of the `Authorization` headers, not yet checked to be a token68 string:
/// for a validator that checks it only when the token fails (see [`or_not_token68`]).
pub(crate) fn bearer_value<'a>(authorization: &[&'a str]) -> Result<&'a str, ValidationError> {
    let value = match authorization {
        [] => return Err(ValidationError::MissingToken),
        [one] => *one,
        _ => return Err(ValidationError::InvalidRequest("more than one Authorization header")),
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ValidationError::MissingToken);
    }
    Ok(rest.trim_start_matches(' '))
}

/// The scheme and token of the `Authorization` headers: `Bearer`, or `DPoP` where `dpop` is
/// taken (elsewhere a `DPoP` value is no credentials, as any other scheme).
pub(crate) fn credentials<'a>(
    authorization: &[&'a str],
    dpop: bool,
) -> Result<(Scheme, &'a str), ValidationError> {
    let value = match authorization {
        [] => return Err(ValidationError::MissingToken),
        [one] => *one,
        _ => return Err(ValidationError::InvalidRequest("more than one Authorization header")),
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(ValidationError::MissingToken);
    };
    Ok((scheme, rest.trim_start_matches(' ')))
}

/// `error` for a bearer `value` that failed validation, or a 400 if the value is not even a
/// token68 string. A value that validates is one: it parsed as a compact JWS (base64url and
/// dots) or equals a token that did. So checking only on failure answers exactly as checking
/// first, without a pass over every valid token.
pub(crate) fn or_not_token68(value: &str, error: ValidationError) -> ValidationError {
    if is_token68(value) {
        error
    } else {
        not_token68()
    }
}

fn not_token68() -> ValidationError {
    ValidationError::InvalidRequest("the bearer token is not a token68 string")
}

/// A request whose `Authorization` headers can be read: `http::Request`, its `Parts` and
/// `HeaderMap` (axum; and Spin's `Request`, which is an `http::Request`), and with their features
/// `web_sys::Request` and workers-rs's `Request` (Workers).
pub trait AuthorizationHeaders {
    /// Every value of the `Authorization` header, in order (several are refused with a 400).
    fn authorization(&self) -> Result<Vec<String>, ValidationError>;

    /// Every value of the header `name` (lower case): Cloudflare Access's
    /// `cf-access-jwt-assertion` and the `cookie` its `CF_Authorization` token may come in.
    /// The default has none, so a host type that does not implement it is read for
    /// `Authorization` only.
    fn header_values(&self, name: &str) -> Result<Vec<String>, ValidationError> {
        let _ = name;
        Ok(Vec::new())
    }

    /// The request's method (`GET`), which a DPoP proof's `htm` must name. The default has
    /// none: a host type that does not implement it can't take DPoP requests (they are refused
    /// with `dpop_request_unknown`).
    fn method(&self) -> Option<String> {
        None
    }

    /// The absolute URL the request arrived at, which a DPoP proof's `htu` must name and the
    /// challenges' `resource_metadata` is built from (`AzureAd.PublicUrl` overrides its scheme,
    /// host and port). The default has none.
    fn url(&self) -> Option<String> {
        None
    }
}

/// The absolute URL of a request with `uri`: itself when absolute (workers-rs, Spin), else
/// `https://` and the `Host` header before it (a server behind TLS termination; configure
/// `AzureAd.PublicUrl` where that is not the URL clients call).
fn absolute_url(uri: &http::Uri, headers: &http::HeaderMap) -> Option<String> {
    if uri.scheme().is_some() && uri.authority().is_some() {
        return Some(uri.to_string());
    }
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let path = uri.path_and_query().map(http::uri::PathAndQuery::as_str).unwrap_or("/");
    Some(format!("https://{host}{path}"))
}

impl AuthorizationHeaders for http::HeaderMap {
    fn authorization(&self) -> Result<Vec<String>, ValidationError> {
        self.header_values("authorization")
    }

    fn header_values(&self, name: &str) -> Result<Vec<String>, ValidationError> {
        self.get_all(name)
            .iter()
            .map(|v| v.to_str().map(str::to_owned))
            .collect::<Result<_, _>>()
            .map_err(|_| ValidationError::InvalidRequest("a credential header is not ASCII"))
    }
}

impl<B> AuthorizationHeaders for http::Request<B> {
    fn authorization(&self) -> Result<Vec<String>, ValidationError> {
        self.headers().authorization()
    }

    fn header_values(&self, name: &str) -> Result<Vec<String>, ValidationError> {
        self.headers().header_values(name)
    }

    fn method(&self) -> Option<String> {
        Some(self.method().as_str().to_owned())
    }

    fn url(&self) -> Option<String> {
        absolute_url(self.uri(), self.headers())
    }
}

impl AuthorizationHeaders for http::request::Parts {
    fn authorization(&self) -> Result<Vec<String>, ValidationError> {
        self.headers.authorization()
    }

    fn header_values(&self, name: &str) -> Result<Vec<String>, ValidationError> {
        self.headers.header_values(name)
    }

    fn method(&self) -> Option<String> {
        Some(self.method.as_str().to_owned())
    }

    fn url(&self) -> Option<String> {
        absolute_url(&self.uri, &self.headers)
    }
}

/// The header Cloudflare Access puts its application token in, on every request it lets through
/// to the origin.
pub const ACCESS_ASSERTION_HEADER: &str = "cf-access-jwt-assertion";

/// The cookie Cloudflare Access sets in the browser, holding the same token.
pub const ACCESS_COOKIE: &str = "CF_Authorization";

/// Cloudflare Access's token of `request`: the `Cf-Access-Jwt-Assertion` header, else the
/// `CF_Authorization` cookie; `None` when neither is there (then `Authorization: Bearer` is
/// read, for a client that sends the token itself). Two assertion headers are a 400.
pub(crate) fn access_assertion(
    request: &(impl AuthorizationHeaders + ?Sized),
) -> Result<Option<String>, ValidationError> {
    let mut headers = request.header_values(ACCESS_ASSERTION_HEADER)?;
    match headers.len() {
        0 => {}
        1 => return Ok(headers.pop()),
        _ => return Err(ValidationError::InvalidRequest("more than one Access assertion header")),
    }
    for cookies in request.header_values("cookie")? {
        for pair in cookies.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == ACCESS_COOKIE {
                    return Ok(Some(value.to_owned()));
                }
            }
        }
    }
    Ok(None)
}

/// RFC 7235 token68: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
///
/// A plain loop over a lookup table: a 1.4 KB token is checked byte by byte on every request,
/// and this stays a load and a test per byte at any optimisation level.
fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    let mut valid = !body.is_empty();
    for &byte in body.as_bytes() {
        valid &= TOKEN68.get(usize::from(byte)).copied().unwrap_or(false);
    }
    valid
}

/// Which bytes a token68 string may hold before its `=` padding.
// Built at compile time: an index out of range fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_value_must_be_token68() {
        assert_eq!(bearer_token(&["Bearer abc.def.ghi"]), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(&["bearer  abc"]), Ok("abc"));
        assert_eq!(bearer_token(&[]), Err(ValidationError::MissingToken));
        assert_eq!(bearer_token(&["Basic dXNlcjpwYXNz"]), Err(ValidationError::MissingToken));
        assert_eq!(bearer_token(&["Bearer"]).unwrap_err().code(), "authorization_header_invalid");
        assert_eq!(
            bearer_token(&["Bearer a b"]).unwrap_err().code(),
            "authorization_header_invalid"
        );
        assert_eq!(bearer_token(&["Bearer a", "Bearer b"]).unwrap_err().status(), 400);
    }
}
