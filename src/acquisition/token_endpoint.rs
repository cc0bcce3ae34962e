//! One token request: the grant's form plus client authentication and `claims`, POSTed to the
//! token endpoint through the platform's HTTP client, with one retry on 5xx, 429 or a failed
//! connection when the time budget allows, and none on 4xx.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use super::client_assertion;
use super::client_auth::{self, ClientAuthMethod};
use super::credential::{Certificate, ClientCredential};
use super::error::{AcquisitionError, ProviderFailure};
use super::grants::{form_encode, Grant};
use super::options::AcquisitionOptions;
use super::response::{self, TokenResponse};
use crate::platform::{HttpError, Platform, ResponseLimit, SigningKey};

/// The largest token-endpoint answer read (Entra's are a few kilobytes).
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// `client_assertion_type` of signed assertions (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What one token request asks for.
pub(crate) struct TokenCall<'a> {
    pub endpoint: &'a str,
    /// How the client authenticates (`None` without a credential: the request fails).
    pub auth: Option<ClientAuthMethod>,
    pub grant: Grant<'a>,
    pub scope: &'a str,
    /// The `claims` parameter (capabilities and challenge, merged).
    pub claims: Option<String>,
    pub correlation_id: Option<&'a str>,
}

/// What the token endpoint's client keeps for the isolate: the certificate's private key,
/// imported once, and how many requests were sent.
#[derive(Default)]
pub(super) struct ClientState {
    signing_key: RefCell<Option<SigningKey>>,
    requests: Cell<u64>,
}

impl ClientState {
    /// Requests sent to the token endpoint (retries included).
    pub(super) fn requests(&self) -> u64 {
        self.requests.get()
    }
}

/// The token endpoint's client: who this app is, how it reaches the provider, and its state.
pub(super) struct Client<'a> {
    pub(super) platform: &'a Platform,
    pub(super) options: &'a AcquisitionOptions,
    pub(super) state: &'a ClientState,
}

impl Client<'_> {
    /// The certificate's private key, imported once.
    async fn signing_key(&self, certificate: &Certificate) -> Result<SigningKey, AcquisitionError> {
        if let Some(key) = self.state.signing_key.borrow().as_ref() {
            return Ok(key.clone());
        }
        let key = self
            .platform
            .crypto
            .import_signing_key(&certificate.private_key_der, certificate.algorithm)
            .await
            .map_err(|_| {
                AcquisitionError::Configuration("the certificate's private key can't be used")
            })?;
        *self.state.signing_key.borrow_mut() = Some(key.clone());
        Ok(key)
    }
}

/// Sends `call`, retrying once when that can help and time allows.
pub(super) async fn request(
    client: Client<'_>,
    call: &TokenCall<'_>,
) -> Result<TokenResponse, AcquisitionError> {
    let clock = client.platform.clock.as_ref();
    let started = clock.now_millis();
    let budget = client.options.timeout;
    let remaining =
        |now: u64| budget.saturating_sub(Duration::from_millis(now.saturating_sub(started)));

    let first = attempt(&client, call, budget).await;
    let wait = match &first {
        Err(Retryable::Yes { wait, .. }) => *wait,
        _ => return first.map_err(Retryable::into_error),
    };
    let left = remaining(clock.now_millis());
    if wait >= left || left < Duration::from_millis(100) {
        return first.map_err(Retryable::into_error);
    }
    if !wait.is_zero() {
        clock.sleep(wait).await;
    }
    let left = remaining(clock.now_millis());
    attempt(&client, call, left).await.map_err(Retryable::into_error)
}

enum Retryable {
    Yes { error: AcquisitionError, wait: Duration },
    No(AcquisitionError),
}

impl Retryable {
    fn into_error(self) -> AcquisitionError {
        match self {
            Retryable::Yes { error, .. } | Retryable::No(error) => error,
        }
    }
}

async fn attempt(
    client: &Client<'_>,
    call: &TokenCall<'_>,
    timeout: Duration,
) -> Result<TokenResponse, Retryable> {
    let (form, basic) = form(client, call).await.map_err(Retryable::No)?;
    let mut builder = http::Request::post(call.endpoint)
        .extension(ResponseLimit(MAX_TOKEN_RESPONSE_BYTES))
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::ACCEPT, "application/json");
    if let Some(authorization) = basic {
        let mut value = http::HeaderValue::from_str(&authorization).map_err(|_| {
            Retryable::No(AcquisitionError::Configuration("the client secret can't be sent"))
        })?;
        value.set_sensitive(true);
        builder = builder.header(http::header::AUTHORIZATION, value);
    }
    if let Some(id) = call.correlation_id {
        builder = builder.header("client-request-id", id);
    }
    let request = builder.body(form.into_bytes()).map_err(|_| {
        Retryable::No(AcquisitionError::Configuration("the token endpoint URL is invalid"))
    })?;
    client.state.requests.set(client.state.requests.get() + 1);
    let response = match client.platform.http.send(request, timeout).await {
        Ok(response) => response,
        Err(HttpError::Timeout) => {
            return Err(Retryable::No(AcquisitionError::ProviderUnavailable(
                ProviderFailure::Timeout,
            )))
        }
        Err(HttpError::Transport(_)) => {
            return Err(Retryable::Yes {
                error: AcquisitionError::ProviderUnavailable(ProviderFailure::Transport),
                wait: Duration::ZERO,
            })
        }
        Err(HttpError::TooLarge { .. }) => {
            return Err(Retryable::No(AcquisitionError::ProviderUnavailable(
                ProviderFailure::Unparseable("the token endpoint's answer is too large"),
            )))
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match response::parse(status, retry_after.as_deref(), response.body()) {
        Ok(token) => Ok(token),
        Err(error) if status == 429 || status >= 500 => {
            let wait =
                response::bounded_retry_after(retry_after.as_deref()).unwrap_or(Duration::ZERO);
            Err(Retryable::Yes { error, wait })
        }
        Err(error) => Err(Retryable::No(error)),
    }
}

/// The whole form: grant parameters, `client_id`, the client credential, and `claims`; and,
/// for `client_secret_basic`, the `Authorization` header that carries the credential instead.
async fn form(
    client: &Client<'_>,
    call: &TokenCall<'_>,
) -> Result<(String, Option<String>), AcquisitionError> {
    let mut params = call.grant.params(call.scope);
    let mut basic = None;
    let no_credential = AcquisitionError::Configuration(
        "no client credential is configured (AzureAd.ClientCredentials or a client secret)",
    );
    let auth = call.auth.ok_or_else(|| no_credential.clone())?;
    if auth != ClientAuthMethod::ClientSecretBasic {
        params.push(("client_id", client.options.client_id.clone()));
    }
    match &client.options.credential {
        None => return Err(no_credential),
        Some(ClientCredential::Secret(secret)) => match auth {
            ClientAuthMethod::ClientSecretBasic => {
                basic = Some(client_auth::basic_authorization(
                    &client.options.client_id,
                    secret.expose(),
                ));
            }
            _ => params.push(("client_secret", secret.expose().to_owned())),
        },
        Some(ClientCredential::SignedAssertion(assertion)) => {
            params.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()));
            params.push(("client_assertion", assertion.expose().to_owned()));
        }
        Some(ClientCredential::AssertionProvider(provider)) => {
            let assertion = provider.assertion(call.endpoint).await.map_err(|_| {
                AcquisitionError::Configuration("the client assertion provider failed")
            })?;
            params.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()));
            params.push(("client_assertion", assertion.expose().to_owned()));
        }
        Some(ClientCredential::Certificate(certificate)) => {
            let key = client.signing_key(certificate).await?;
            let now = client.platform.clock.now_millis() / 1000;
            let assertion = client_assertion::sign(
                client.platform.crypto.as_ref(),
                &key,
                certificate,
                &client.options.client_id,
                call.endpoint,
                now,
            )
            .await
            .map_err(|_| AcquisitionError::Configuration("signing the client assertion failed"))?;
            params.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()));
            params.push(("client_assertion", assertion));
        }
    }
    if let Some(claims) = &call.claims {
        params.push(("claims", claims.clone()));
    }
    Ok((form_encode(&params), basic))
}
