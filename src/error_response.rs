//! The shape of every error answer the SDK gives: JSON, `Cache-Control: no-store`, and a
//! challenge and `Retry-After` where they apply. Each floor's error type builds its answer here.

/// A JSON answer with `Cache-Control: no-store`, and a `WWW-Authenticate` challenge and a
/// `Retry-After` when given: the shape of every error answer the SDK gives.
pub(crate) fn json_response(
    status: http::StatusCode,
    www_authenticate: Option<String>,
    retry_after_secs: Option<u64>,
    body: &serde_json::Value,
) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store");
    if let Some(challenge) = www_authenticate {
        builder = builder.header(http::header::WWW_AUTHENTICATE, challenge);
    }
    if let Some(seconds) = retry_after_secs {
        builder = builder.header(http::header::RETRY_AFTER, seconds.to_string());
    }
    let body = serde_json::to_vec(body).unwrap_or_default();
    builder.body(body).unwrap_or_else(|_| {
        // Header values are ASCII built by the SDK, so this branch is unreachable; answer a
        // bare 500 rather than panic if it ever is not.
        let mut response = http::Response::new(Vec::new());
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

/// Makes `text` safe inside an RFC 7230 quoted-string: drops `"`, `\` and anything that is not
/// printable ASCII (RFC 6750 limits `error_description` and `scope` to those characters).
pub(crate) fn quote_safe(text: &str) -> String {
    text.chars().filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\').collect()
}
