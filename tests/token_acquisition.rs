//! Token acquisition at the HTTP seam: the exact wire format of every grant and client
//! credential, every identity error and the answer it gives, and the retry rules.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edge_identity::platform::HttpError;
use edge_identity::ProviderFailure;
use edge_identity::{AcquisitionError, AcquisitionOptions, IdentityConfig, TokenRequest};
use futures::executor::block_on;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::Verifier as _;
use serde_json::{json, Value};
use support::acquisition::*;
use support::signing_keys::RFC7515_A2_PKCS8_B64;
use support::*;

const PARTNER: &str = "api://partner/read";

fn isolate() -> Isolate {
    Isolate::new(ScriptedWeb::new(), rc(ManualClock::at_secs(T0)), None)
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment).unwrap(),
    )
    .unwrap()
}

#[test]
fn the_obo_request_has_the_entra_wire_format() {
    let iso = isolate();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    let token =
        block_on(acquirer.token_for_user(&user, &TokenRequest::new(["b.scope", PARTNER]))).unwrap();
    assert_eq!(token.secret(), "at-1");
    let requests = iso.web.token_requests();
    assert_eq!(requests.len(), 1);
    let seen = &requests[0];
    assert_eq!(
        (seen.method.as_str(), seen.url.as_str()),
        ("POST", token_endpoint(TENANT).as_str())
    );
    assert_eq!(seen.header("content-type").unwrap(), "application/x-www-form-urlencoded");
    let form = seen.form();
    assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(form["requested_token_use"], "on_behalf_of");
    assert_eq!(form["assertion"], user.token().expose());
    assert_eq!(form["scope"], format!("{PARTNER} b.scope"));
    assert_eq!((form["client_id"].as_str(), form["client_secret"].as_str()), (CLIENT_ID, SECRET));
    assert!(!form.contains_key("claims"));
}

#[test]
fn an_app_only_caller_is_never_exchanged_on_a_users_behalf() {
    // Entra's app-only token (idtyp app, roles, no scp): there is no user to act for, so the
    // SDK refuses before any request, whatever the grant, and answers 403.
    let iso = isolate();
    let app = user_at(
        T0,
        json!({"idtyp": "app", "scp": null, "roles": ["Jobs.Resume"], "sub": "a1b2c3d4-0000-4000-8000-000000000001"}),
    );
    assert!(app.is_app_only());
    for grant in ["JwtBearer", "TokenExchange"] {
        let acquirer = iso.acquirer(&config(json!({"OnBehalfOfGrant": grant}), json!({})));
        let err =
            block_on(acquirer.token_for_user(&app, &TokenRequest::new([PARTNER]))).unwrap_err();
        assert_eq!(err, AcquisitionError::AppOnlyCaller, "{grant}");
        assert_eq!((err.status().as_u16(), err.code()), (403, "app_only_caller"));
    }
    assert!(iso.web.token_requests().is_empty(), "nothing was sent to the token endpoint");
}

#[test]
fn a_caller_bound_to_its_key_is_not_exchanged_for_an_unbound_token_unless_configured() {
    // RFC 9449 §6.1's `cnf.jkt` shape: the SDK proves no key at the token endpoint, so On-Behalf-Of
    // or token exchange would turn a DPoP-bound caller into a bearer token downstream.
    let iso = isolate();
    let bound = user_at(T0, json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}));
    assert!(bound.is_sender_constrained());
    for grant in ["JwtBearer", "TokenExchange"] {
        let acquirer = iso.acquirer(&config(json!({"OnBehalfOfGrant": grant}), json!({})));
        let err =
            block_on(acquirer.token_for_user(&bound, &TokenRequest::new([PARTNER]))).unwrap_err();
        assert_eq!(err, AcquisitionError::BoundCaller, "{grant}");
        assert_eq!((err.status().as_u16(), err.code()), (403, "bound_caller"));
    }
    assert!(iso.web.token_requests().is_empty(), "nothing was sent to the token endpoint");

    let knowingly =
        iso.acquirer(&config(json!({"Dpop": {"ExchangeBoundTokens": true}}), json!({})));
    block_on(knowingly.token_for_user(&bound, &TokenRequest::new([PARTNER]))).unwrap();
    assert_eq!(iso.web.token_requests().len(), 1);
}

#[test]
fn a_multi_tenant_app_asks_the_callers_tenant() {
    let iso = isolate();
    let acquirer = iso.acquirer(&config(json!({"TenantId": "organizations"}), json!({})));
    let user = user_at(T0, json!({"tid": OTHER_TENANT, "iss": v2_issuer(OTHER_TENANT)}));
    block_on(acquirer.token_for_user(&user, &TokenRequest::new([PARTNER]))).unwrap();
    assert_eq!(iso.web.token_requests()[0].url, token_endpoint(OTHER_TENANT));
}

#[test]
fn client_capabilities_and_a_claims_challenge_are_merged_into_claims() {
    let iso = isolate();
    let acquirer = iso.acquirer(&config(json!({"ClientCapabilities": ["cp1"]}), json!({})));
    let user = user();
    block_on(acquirer.token_for_user(&user, &TokenRequest::new([PARTNER]))).unwrap();
    let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
    block_on(acquirer.token_for_user(&user, &TokenRequest::new([PARTNER]).with_claims(challenge)))
        .unwrap();
    let requests = iso.web.token_requests();
    assert_eq!(requests.len(), 2, "a claims challenge bypasses the cached token");
    let first: Value = serde_json::from_str(&requests[0].form()["claims"]).unwrap();
    assert_eq!(first, json!({"access_token": {"xms_cc": {"values": ["cp1"]}}}));
    let second: Value = serde_json::from_str(&requests[1].form()["claims"]).unwrap();
    assert_eq!(second["access_token"]["xms_cc"]["values"], json!(["cp1"]));
    assert_eq!(second["access_token"]["nbf"]["value"], "1700000000");
}

#[test]
fn rfc_8693_token_exchange_has_the_standard_wire_format_and_discovers_its_endpoint_once() {
    let iso = isolate();
    let issuer = "https://idp.example.com/realms/edge";
    let endpoint = format!("{issuer}/protocol/openid-connect/token");
    iso.web.token_endpoints.borrow_mut().push(endpoint.clone());
    let discovery = json!({"issuer": issuer, "token_endpoint": endpoint, "jwks_uri": format!("{issuer}/certs")});
    iso.web.route(&format!("{issuer}/.well-known/openid-configuration"), move |_| {
        json_answer(200, discovery.clone())
    });
    // The discovery document and its key set are one snapshot, shared with token validation.
    iso.web.route(&format!("{issuer}/certs"), |_| json_answer(200, json!({"keys": []})));
    let config = IdentityConfig::from_json(
        &json!({"AzureAd": {"Authority": issuer, "ClientId": "edge-api",
            "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": SECRET}]}})
        .to_string(),
    )
    .unwrap();
    let acquirer = iso.acquirer(&config);
    let user = user();
    let request = TokenRequest::new(["read"])
        .with_audience("partner-api")
        .with_resource("https://partner.example.com");
    block_on(acquirer.token_for_user(&user, &request)).unwrap();
    block_on(acquirer.token_for_user(&user, &TokenRequest::new(["write"]))).unwrap();

    let discovery_fetches = iso.web.requests_to(&format!("{issuer}/.well-known")).len();
    assert_eq!(discovery_fetches, 1);
    let requests = iso.web.token_requests();
    assert_eq!(requests.len(), 2);
    let form = requests[0].form();
    assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:token-exchange");
    assert_eq!(form["subject_token"], user.token().expose());
    assert_eq!(form["subject_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    assert_eq!(form["requested_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    assert_eq!(
        (form["audience"].as_str(), form["resource"].as_str()),
        ("partner-api", "https://partner.example.com")
    );
    assert_eq!(form["scope"], "read");
    assert!(!form.contains_key("requested_token_use") && !form.contains_key("assertion"));
    assert!(!requests[1].form().contains_key("audience"));
    // The document lists no `token_endpoint_auth_methods_supported`: OpenID Connect Discovery
    // §3 says that means `client_secret_basic`, so the secret is in the header, not the form.
    let basic = format!("Basic {}", STANDARD.encode(format!("edge-api:{SECRET}")));
    assert_eq!(requests[0].header("authorization").as_deref(), Some(basic.as_str()));
    assert!(!form.contains_key("client_secret") && !form.contains_key("client_id"));
}

/// A generic authority whose discovery document lists `methods` (or none), the secret
/// credential, and optionally a configured `TokenEndpointAuthMethod`: the first token request.
fn client_credentials_request(methods: Option<Value>, configured: Option<&str>) -> Seen {
    let iso = isolate();
    let issuer = "https://idp.example/realms/shop";
    let endpoint = format!("{issuer}/token");
    iso.web.token_endpoints.borrow_mut().push(endpoint.clone());
    let mut discovery = json!({"issuer": issuer, "token_endpoint": endpoint,
        "jwks_uri": format!("{issuer}/certs")});
    if let Some(methods) = methods {
        discovery["token_endpoint_auth_methods_supported"] = methods;
    }
    iso.web.route(&format!("{issuer}/.well-known/openid-configuration"), move |_| {
        json_answer(200, discovery.clone())
    });
    iso.web.route(&format!("{issuer}/certs"), |_| json_answer(200, json!({"keys": []})));
    let mut azure_ad = json!({"Authority": issuer, "ClientId": "shop api",
        "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "p@ss:w/rd"}]});
    if let Some(method) = configured {
        azure_ad["TokenEndpointAuthMethod"] = json!(method);
    }
    let config = IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string()).unwrap();
    block_on(iso.acquirer(&config).token_for_app(&TokenRequest::new(["orders"]))).unwrap();
    iso.web.token_requests().remove(0)
}

#[test]
fn client_authentication_follows_the_servers_discovery_document_or_the_configuration() {
    // RFC 6749 §2.3.1 and Appendix B: id and secret form-urlencoded, joined by ":", base64.
    let basic = format!("Basic {}", STANDARD.encode("shop+api:p%40ss%3Aw%2Frd"));
    let in_header = |seen: &Seen| {
        seen.header("authorization").as_deref() == Some(basic.as_str())
            && !seen.form().contains_key("client_secret")
    };
    let in_form = |seen: &Seen| {
        seen.header("authorization").is_none()
            && seen.form().get("client_secret").map(String::as_str) == Some("p@ss:w/rd")
            && seen.form().get("client_id").map(String::as_str) == Some("shop api")
    };
    // Both listed: Basic, which RFC 6749 says clients SHOULD prefer.
    let both = json!(["client_secret_post", "client_secret_basic", "private_key_jwt"]);
    assert!(in_header(&client_credentials_request(Some(both.clone()), None)));
    // Only the form listed (a server that registered no Basic clients).
    assert!(in_form(&client_credentials_request(Some(json!(["client_secret_post"])), None)));
    // Configured wins over the document.
    assert!(in_form(&client_credentials_request(Some(both), Some("client_secret_post"))));
    assert!(in_header(&client_credentials_request(
        Some(json!(["client_secret_post"])),
        Some("client_secret_basic")
    )));
}

#[test]
fn a_configured_authentication_method_must_fit_the_credential_and_be_known() {
    let section = |extra: Value| {
        let mut azure_ad = json!({"Authority": "https://idp.example", "ClientId": "api",
            "ClientCredentials": [{"SourceType": "ClientSecret", "ClientSecret": "s"}]});
        for (k, v) in extra.as_object().unwrap() {
            azure_ad[k] = v.clone();
        }
        AcquisitionOptions::from_config(
            &IdentityConfig::from_json(&json!({"AzureAd": azure_ad}).to_string()).unwrap(),
        )
    };
    for bad in ["private_key_jwt", "client_secret_jwt", "basic"] {
        let err = section(json!({"TokenEndpointAuthMethod": bad})).unwrap_err();
        assert_eq!(err.field, "AzureAd.TokenEndpointAuthMethod", "{bad}");
    }
    assert!(section(json!({"TokenEndpointAuthMethod": "client_secret_basic"})).is_ok());
}

#[test]
fn app_tokens_use_client_credentials_and_multi_tenant_apps_must_name_a_tenant() {
    let iso = isolate();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let header = block_on(acquirer.authorization_header_for_app(&TokenRequest::new([
        "https://graph.microsoft.com/.default",
    ])))
    .unwrap();
    assert_eq!(header, "Bearer at-1");
    let form = iso.web.token_requests()[0].form();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
    assert!(!form.contains_key("assertion"));

    let multi = iso.acquirer(&config(json!({"TenantId": "common"}), json!({})));
    let err = block_on(multi.token_for_app(&TokenRequest::new(["x/.default"]))).unwrap_err();
    assert!(matches!(err, AcquisitionError::Configuration(_)), "{err:?}");
    block_on(multi.token_for_app(&TokenRequest::new(["x/.default"]).for_tenant(OTHER_TENANT)))
        .unwrap();
    assert_eq!(iso.web.token_requests()[1].url, token_endpoint(OTHER_TENANT));
    let err =
        block_on(multi.token_for_app(&TokenRequest::new(["x/.default"]).for_tenant("../evil")))
            .unwrap_err();
    assert!(matches!(err, AcquisitionError::Configuration(_)));
}

fn certificate_config(algorithm: &str) -> IdentityConfig {
    let certificate = b"not a real certificate, only its thumbprint matters here";
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{RFC7515_A2_PKCS8_B64}\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::engine::general_purpose::STANDARD.encode(certificate)
    );
    config(
        json!({
            "ClientCredentials": [{"SourceType": "Base64Encoded",
                "Base64EncodedValue": base64::engine::general_purpose::STANDARD.encode(pem)}],
            "ClientAssertionAlgorithm": algorithm
        }),
        json!({}),
    )
}

fn verify_assertion(assertion: &str, algorithm: &str) -> (Value, Value) {
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let key = rsa::RsaPrivateKey::from_pkcs8_der(
        &base64::engine::general_purpose::STANDARD.decode(RFC7515_A2_PKCS8_B64).unwrap(),
    )
    .unwrap()
    .to_public_key();
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let verified = match algorithm {
        "RS256" => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(signing_input.as_bytes(), &signature.as_slice().try_into().unwrap())
            .is_ok(),
        _ => rsa::pss::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(signing_input.as_bytes(), &signature.as_slice().try_into().unwrap())
            .is_ok(),
    };
    assert!(verified, "the {algorithm} assertion verifies with the certificate's key");
    (decode_segment(parts[0]), decode_segment(parts[1]))
}

#[test]
fn a_certificate_credential_sends_a_fresh_signed_assertion_for_the_token_endpoint() {
    use sha2::Digest as _;
    for algorithm in ["RS256", "PS256"] {
        let iso = isolate();
        let acquirer = iso.acquirer(&certificate_config(algorithm));
        block_on(acquirer.token_for_app(&TokenRequest::new(["a/.default"]))).unwrap();
        block_on(acquirer.token_for_app(&TokenRequest::new(["b/.default"]))).unwrap();
        let requests = iso.web.token_requests();
        let mut jtis = Vec::new();
        for seen in &requests {
            let form = seen.form();
            assert_eq!(
                form["client_assertion_type"],
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            );
            assert!(!form.contains_key("client_secret"));
            let (header, claims) = verify_assertion(&form["client_assertion"], algorithm);
            let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
                sha2::Sha256::digest(b"not a real certificate, only its thumbprint matters here"),
            );
            assert_eq!(header, json!({"alg": algorithm, "typ": "JWT", "x5t#S256": thumbprint}));
            assert_eq!(claims["aud"], token_endpoint(TENANT));
            assert_eq!(
                (claims["iss"].as_str(), claims["sub"].as_str()),
                (Some(CLIENT_ID), Some(CLIENT_ID))
            );
            assert_eq!(claims["iat"], T0);
            assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
            jtis.push(claims["jti"].as_str().unwrap().to_owned());
        }
        assert_ne!(jtis[0], jtis[1], "every assertion has its own jti");
    }
}

#[test]
fn a_supplied_signed_assertion_is_sent_as_is() {
    let iso = isolate();
    let acquirer = iso.acquirer(&config(
        json!({"ClientCredentials": [{"SourceType": "SignedAssertion", "SignedAssertion": "federated.jwt.value"}]}),
        json!({}),
    ));
    block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap();
    let form = iso.web.token_requests()[0].form();
    assert_eq!(form["client_assertion"], "federated.jwt.value");
    assert!(!form.contains_key("client_secret"));
}

fn failing_with(status: u16, body: Value) -> (Isolate, AcquisitionError) {
    let iso = isolate();
    iso.web.queue(&token_endpoint(TENANT), json_answer(status, body.clone()));
    iso.web.queue(&token_endpoint(TENANT), json_answer(status, body));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let err =
        block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap_err();
    (iso, err)
}

/// The parameters of a `Bearer` challenge, read as MSAL's `WwwAuthenticateParameters` does:
/// comma-separated `name="value"` pairs after the scheme.
fn challenge_parameters(challenge: &str) -> std::collections::BTreeMap<String, String> {
    let rest = challenge.strip_prefix("Bearer ").expect("a Bearer challenge");
    let mut parameters = std::collections::BTreeMap::new();
    for part in rest.split("\", ") {
        let (name, value) = part.split_once("=\"").expect("name=\"value\"");
        parameters.insert(name.to_owned(), value.trim_end_matches('"').to_owned());
    }
    parameters
}

#[test]
fn consent_required_answers_microsoft_identity_webs_403_challenge() {
    let (iso, err) = failing_with(
        400,
        json!({"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented",
               "error_codes": [65001], "suberror": "consent_required", "trace_id": "t", "correlation_id": "c"}),
    );
    assert_eq!(iso.web.token_requests().len(), 1, "no retry on 4xx");
    assert!(matches!(err, AcquisitionError::ConsentRequired(_)), "{err:?}");
    let response = err.to_response();
    // ReplyForbiddenWithWwwAuthenticateHeader (Microsoft.Identity.Web, from a web API): 403 and
    // consentUri, claims, scopes (comma-separated), proposedAction="consent".
    assert_eq!(response.status(), 403);
    let challenge = challenge_parameters(response.headers()["www-authenticate"].to_str().unwrap());
    assert_eq!(
        challenge.keys().collect::<Vec<_>>(),
        ["claims", "consentUri", "proposedAction", "scopes"]
    );
    assert_eq!(challenge["scopes"], PARTNER);
    assert_eq!(challenge["proposedAction"], "consent");
    assert_eq!(challenge["claims"], "");
    assert!(
        challenge["consentUri"].starts_with(&format!(
            "{INSTANCE}{TENANT}/oauth2/v2.0/authorize?client_id={CLIENT_ID}&response_type=code"
        )),
        "{}",
        challenge["consentUri"]
    );
    assert!(challenge["consentUri"].ends_with(&format!("&scope=offline_access%20{PARTNER}")));
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "consent_required");
    assert_eq!(body["scopes"], json!([PARTNER]));
    assert!(!String::from_utf8_lossy(response.body()).contains("AADSTS"));
}

#[test]
fn a_claims_challenge_from_the_provider_answers_401_with_the_claims() {
    let claims = r#"{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}"#;
    let (_, err) = failing_with(
        400,
        json!({"error": "invalid_grant", "error_codes": [50076], "suberror": "basic_action", "claims": claims}),
    );
    assert_eq!(err.claims(), Some(claims));
    let response = err.to_response();
    // Microsoft's documented claims challenge from a resource API (continuous access
    // evaluation, conditional access): 401, error="insufficient_claims", claims in base64.
    assert_eq!(response.status(), 401);
    let challenge = challenge_parameters(response.headers()["www-authenticate"].to_str().unwrap());
    assert_eq!(
        challenge.keys().collect::<Vec<_>>(),
        ["authorization_uri", "claims", "client_id", "error", "realm"]
    );
    assert_eq!(challenge["error"], "insufficient_claims");
    assert_eq!(challenge["client_id"], CLIENT_ID);
    assert_eq!(challenge["authorization_uri"], format!("{INSTANCE}{TENANT}/oauth2/v2.0/authorize"));
    let decoded = base64::engine::general_purpose::STANDARD.decode(&challenge["claims"]).unwrap();
    assert_eq!(decoded, claims.as_bytes());
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        (body["error"].as_str(), body["claims"].as_str()),
        (Some("insufficient_claims"), Some(claims))
    );
}

#[test]
fn an_expired_or_invalid_assertion_answers_401_invalid_token() {
    for code in [500133, 50013] {
        let (_, err) = failing_with(400, json!({"error": "invalid_grant", "error_codes": [code]}));
        assert!(matches!(err, AcquisitionError::InvalidGrant(_)), "{code}: {err:?}");
        let response = err.to_response();
        assert_eq!(response.status(), 401);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\""));
    }
}

#[test]
fn a_refused_client_credential_answers_500_without_details() {
    let (_, err) = failing_with(401, json!({"error": "invalid_client", "error_codes": [7000215]}));
    assert!(matches!(err, AcquisitionError::InvalidClient(_)), "{err:?}");
    let response = err.to_response();
    assert_eq!(response.status(), 500);
    let body = String::from_utf8_lossy(response.body()).into_owned();
    assert!(body.contains("server_error") && !body.contains("7000215"), "{body}");
}

#[test]
fn a_failing_provider_is_retried_once_then_answers_503() {
    let (iso, err) = failing_with(503, json!({"error": "temporarily_unavailable"}));
    assert_eq!(iso.web.token_requests().len(), 2, "one retry on 5xx");
    assert!(
        matches!(err, AcquisitionError::ProviderUnavailable(ProviderFailure::Status(503))),
        "{err:?}"
    );
    let response = err.to_response();
    assert_eq!(
        (response.status().as_u16(), response.headers()["retry-after"].to_str().unwrap()),
        (503, "5")
    );

    let iso = isolate();
    iso.web.queue(&token_endpoint(TENANT), json_answer(500, json!({"error": "server_error"})));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let token = block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap();
    assert_eq!((token.secret(), iso.web.token_requests().len()), ("at-1", 2));
}

#[test]
fn throttling_is_retried_after_retry_after_only_within_the_time_budget() {
    let throttled = |seconds: u64| {
        Ok(http::Response::builder()
            .status(429)
            .header("retry-after", seconds.to_string())
            .body(br#"{"error":"temporarily_unavailable"}"#.to_vec())
            .unwrap())
    };
    let iso = isolate();
    iso.web.queue(&token_endpoint(TENANT), throttled(2));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap();
    assert_eq!(iso.web.token_requests().len(), 2);
    assert_eq!(iso.clock.secs(), T0 + 2, "waited for Retry-After");

    let iso = isolate();
    iso.web.queue(&token_endpoint(TENANT), throttled(60));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let err =
        block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap_err();
    assert_eq!(iso.web.token_requests().len(), 1, "60 s does not fit the 10 s budget");
    assert!(
        matches!(err, AcquisitionError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(60))
    );
    assert_eq!(err.to_response().headers()["retry-after"], "60");
}

#[test]
fn a_retry_after_of_a_year_is_bounded_to_five_minutes_and_echoed_so() {
    // One 429 asking for a year must not stop the isolate's token requests for a year, nor be
    // passed on to clients.
    let iso = isolate();
    let year = http::Response::builder()
        .status(429)
        .header("retry-after", "31536000")
        .body(br#"{"error":"temporarily_unavailable"}"#.to_vec())
        .unwrap();
    iso.web.queue(&token_endpoint(TENANT), Ok(year));
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let request = TokenRequest::new(["https://graph.microsoft.com/.default"]);
    let err = block_on(acquirer.token_for_app(&request)).unwrap_err();
    assert!(
        matches!(err, AcquisitionError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(300)),
        "{err:?}"
    );
    assert_eq!(err.to_response().headers()["retry-after"], "300");
    // Within the five minutes, the isolate backs off without asking; after them, it asks again.
    iso.clock.advance(Duration::from_secs(299));
    assert!(block_on(acquirer.token_for_app(&request)).is_err());
    assert_eq!(iso.web.token_requests().len(), 1);
    iso.clock.advance(Duration::from_secs(2));
    block_on(acquirer.token_for_app(&request)).unwrap();
    assert_eq!(iso.web.token_requests().len(), 2);
}

#[test]
fn a_timeout_or_garbage_answer_is_provider_unavailable() {
    let iso = isolate();
    iso.web.queue(&token_endpoint(TENANT), Err(HttpError::Timeout));
    let acquirer = iso.acquirer(&config(json!({"TokenRequestTimeoutMs": 1500}), json!({})));
    let err =
        block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap_err();
    assert_eq!(err, AcquisitionError::ProviderUnavailable(ProviderFailure::Timeout));
    assert_eq!(iso.web.token_requests()[0].timeout, Duration::from_millis(1500));

    let iso = isolate();
    for _ in 0..2 {
        iso.web.queue(
            &token_endpoint(TENANT),
            Ok(http::Response::builder()
                .status(200)
                .body(b"<html>maintenance</html>".to_vec())
                .unwrap()),
        );
    }
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let err =
        block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap_err();
    assert!(
        matches!(err, AcquisitionError::ProviderUnavailable(ProviderFailure::Unparseable(_))),
        "{err:?}"
    );
    assert_eq!(err.to_response().status(), 503);
}

#[test]
fn without_a_client_credential_acquisition_is_a_configuration_error() {
    let iso = isolate();
    let acquirer = iso.acquirer(&config(json!({"ClientCredentials": []}), json!({})));
    let err =
        block_on(acquirer.token_for_user(&user(), &TokenRequest::new([PARTNER]))).unwrap_err();
    assert!(matches!(err, AcquisitionError::Configuration(_)));
    assert_eq!(iso.web.token_requests().len(), 0);
}

#[test]
fn secrets_and_tokens_never_appear_in_debug_or_errors() {
    let (_, err) = failing_with(400, json!({"error": "invalid_grant", "error_codes": [65001]}));
    let iso = isolate();
    let acquirer = iso.acquirer(&config(json!({}), json!({})));
    let user = user();
    let token = block_on(acquirer.token_for_user(&user, &TokenRequest::new([PARTNER]))).unwrap();
    let printed = format!("{err:?} {err} {acquirer:?} {token:?} {user:?} {:?}", acquirer.options());
    for secret in [SECRET, "at-1", user.token().expose()] {
        assert!(!printed.contains(secret), "{secret} leaked into {printed}");
    }
}
