//! The `claims` request parameter: client capabilities (`xms_cc`, e.g. `cp1` for continuous
//! access evaluation) merged with a claims challenge, and reading a challenge from a downstream
//! API's `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The `claims` parameter to send: the challenge (a JSON object) with the client capabilities
/// merged into `access_token.xms_cc.values`, or `None` when there is neither. A challenge that
/// is not a JSON object is dropped rather than sent.
pub fn merge(challenge: Option<&str>, capabilities: &[String]) -> Option<String> {
    let mut claims = match challenge.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(map))) => map,
        _ => Map::new(),
    };
    if !capabilities.is_empty() {
        let access_token =
            claims.entry("access_token").or_insert_with(|| Value::Object(Map::new()));
        if !access_token.is_object() {
            *access_token = Value::Object(Map::new());
        }
        if let Some(access_token) = access_token.as_object_mut() {
            access_token.insert("xms_cc".into(), json!({ "values": capabilities }));
        }
    }
    (!claims.is_empty()).then(|| Value::Object(claims).to_string())
}

/// The claims challenge of a downstream 401's `WWW-Authenticate` header, decoded to JSON text,
/// when the header says `error="insufficient_claims"` and carries `claims`.
pub fn challenge_from_www_authenticate(header: &str) -> Option<String> {
    let params = bearer_params(header)?;
    let error = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("error"))?;
    if error.1 != "insufficient_claims" {
        return None;
    }
    let encoded = &params.iter().find(|(k, _)| k.eq_ignore_ascii_case("claims"))?.1;
    let decoded = STANDARD
        .decode(encoded.as_bytes())
        .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=').as_bytes()))
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    matches!(serde_json::from_str::<Value>(&text), Ok(Value::Object(_))).then_some(text)
}

/// `name=value` / `name="value"` pairs after `Bearer`.
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim_start();
    let scheme_end = rest.find(|c: char| c.is_ascii_whitespace()).unwrap_or(rest.len());
    if !rest.get(..scheme_end)?.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut chars = rest.get(scheme_end..)?.chars().peekable();
    let mut params = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace() || *c == ',') {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect::<String>();
        if name.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_merged_into_the_challenge() {
        let merged = merge(
            Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#),
            &["cp1".into()],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(v["access_token"]["xms_cc"]["values"], json!(["cp1"]));
        assert_eq!(v["access_token"]["nbf"]["value"], "1");
        assert_eq!(merge(None, &[]), None);
        assert_eq!(merge(Some("not json"), &[]), None);
    }

    #[test]
    fn an_insufficient_claims_challenge_is_read_from_www_authenticate() {
        let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
        let header = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{}""#,
            STANDARD.encode(claims)
        );
        assert_eq!(challenge_from_www_authenticate(&header).as_deref(), Some(claims));
        assert_eq!(challenge_from_www_authenticate(r#"Bearer error="invalid_token""#), None);
        assert_eq!(
            challenge_from_www_authenticate(r#"Bearer error="insufficient_claims", claims="%%""#),
            None
        );
        assert_eq!(challenge_from_www_authenticate("Basic realm=x"), None);
    }
}
