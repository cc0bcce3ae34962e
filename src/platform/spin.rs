//! Fermyon Spin (wasm32-wasip2, spin-sdk 5.2.0): outbound HTTP through `spin_sdk::http::send`
//! with a timeout on the WASI monotonic clock, Spin's key-value store (no TTL in Spin: wrapped in
//! a [`TtlEnvelope`]), Spin variables as the config source, and [`platform`] to assemble them with
//! the pure-Rust crypto backend.
//!
//! Spin has no `wait_until`: [`platform`] sets no [`Background`](super::Background), so the SDK
//! refreshes a token inline once it reaches the expiry margin instead of in the background.
//! Spin runs one request per component instance, so isolate memory (L1) does not outlive a
//! request; the key-value store (L2) is what spares the identity provider.

use crate::secret::SealSecret;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::{select, Either};
use wasi::clocks::monotonic_clock;

use super::rust_crypto::RustCrypto;
use super::ttl_envelope::TtlEnvelope;
use super::{Clock, HttpClient, HttpError, KeyValueStore, LocalFuture, Platform, StoreError};

/// Resolves once the WASI monotonic clock has passed `deadline` (nanoseconds), waking through
/// Spin's executor.
struct Sleep {
    deadline: u64,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if monotonic_clock::now() >= self.deadline {
            return Poll::Ready(());
        }
        spin_executor::push_waker(
            monotonic_clock::subscribe_instant(self.deadline),
            cx.waker().clone(),
        );
        Poll::Pending
    }
}

fn sleep(duration: Duration) -> Sleep {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    Sleep { deadline: monotonic_clock::now().saturating_add(nanos) }
}

/// The wall clock for time, the monotonic clock for waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinClock;

impl Clock for SpinClock {
    fn now_millis(&self) -> u64 {
        super::SystemClock.now_millis()
    }

    fn sleep(&self, duration: Duration) -> LocalFuture<'_, ()> {
        Box::pin(sleep(duration))
    }
}

/// Outbound HTTP with `spin_sdk::http::send`, given up at the timeout. The hosts it may reach
/// are the component's `allowed_outbound_hosts`. wasi:http's outgoing handler follows no
/// redirects (a 3xx comes back as it is), and the body is read as a stream, stopped at the
/// request's [`response_limit`](super::response_limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHttp;

/// The response's status, headers and at most `limit` bytes of body.
async fn read_capped(
    response: spin_sdk::http::IncomingResponse,
    limit: usize,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    use futures_util::StreamExt;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers().entries() {
        builder = builder.header(name, value);
    }
    let mut body = Vec::new();
    let mut stream = Box::pin(response.take_body_stream());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| HttpError::Transport(e.to_string()))?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(HttpError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    builder.body(body).map_err(|e| HttpError::Transport(e.to_string()))
}

impl HttpClient for SpinHttp {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let limit = super::response_limit(&request);
            let exchange = async move {
                let response = spin_sdk::http::send::<_, spin_sdk::http::IncomingResponse>(request)
                    .await
                    .map_err(|e| HttpError::Transport(e.to_string()))?;
                read_capped(response, limit).await
            };
            match select(Box::pin(exchange), sleep(timeout)).await {
                Either::Left((outcome, _)) => outcome,
                Either::Right(_) => Err(HttpError::Timeout),
            }
        })
    }
}

/// A Spin key-value store. It keeps values forever; use it through [`TtlEnvelope`] (as
/// [`platform`] does) so the SDK's time-to-live holds.
pub struct SpinKv {
    store: spin_sdk::key_value::Store,
}

impl std::fmt::Debug for SpinKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpinKv(..)")
    }
}

impl SpinKv {
    /// Opens the store labelled `label` in the component's `key_value_stores`.
    pub fn open(label: &str) -> Result<Self, StoreError> {
        spin_sdk::key_value::Store::open(label)
            .map(|store| SpinKv { store })
            .map_err(|e| StoreError(format!("can't open key-value store {label}: {e}")))
    }
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl KeyValueStore for SpinKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move { self.store.get(key).map_err(store_error) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        _ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.store.set(key, &value).map_err(store_error) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.store.delete(key).map_err(store_error) })
    }
}

/// A Spin variable (`[variables]` / `[component.x.variables]` in `spin.toml`), or `None` when
/// it is not defined or empty.
pub fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).ok().filter(|v| !v.is_empty())
}

/// The Spin platform: `spin_sdk::http::send`, RustCrypto, the WASI clocks, standard error for
/// warnings, and the key-value store labelled `kv_label` (with expiry) if one is named, sealed
/// with `seal` (without a seal secret the store is not used: see [`Platform::with_store`]).
pub fn platform(kv_label: Option<&str>, seal: Option<&SealSecret>) -> Result<Platform, StoreError> {
    let clock: Rc<dyn Clock> = Rc::new(SpinClock);
    // Each Spin request is a new instance: nothing in memory reaches the next request.
    let platform = Platform::new(Rc::new(SpinHttp), Rc::new(RustCrypto), clock.clone())
        .with_logger(Rc::new(super::StderrLogger))
        .with_memory_per_request();
    match kv_label {
        None => Ok(platform),
        Some(label) => {
            let store = Rc::new(TtlEnvelope::new(SpinKv::open(label)?, clock));
            Ok(platform.with_store(store, seal))
        }
    }
}

/// An SDK [`Error`](crate::Error) is its own answer in a Spin handler: with
/// `Result<impl IntoResponse, edge_identity::Error>` as the handler's return type, `?` answers
/// the error as it is (its status, `WWW-Authenticate`, JSON body).
impl spin_sdk::http::IntoResponse for crate::Error {
    fn into_response(self) -> spin_sdk::http::Response {
        spin_sdk::http::IntoResponse::into_response(self.to_response())
    }
}

impl crate::AuthorizationHeaders for spin_sdk::http::IncomingRequest {
    /// Every `Authorization` value of the incoming request (spin-sdk's conversion into an
    /// `http::Request` keeps only the last of repeated headers, which would hide a second one).
    fn authorization(&self) -> Result<Vec<String>, crate::ValidationError> {
        self.header_values("authorization")
    }

    fn header_values(&self, name: &str) -> Result<Vec<String>, crate::ValidationError> {
        self.headers()
            .get(name)
            .into_iter()
            .map(String::from_utf8)
            .collect::<Result<_, _>>()
            .map_err(|_| crate::ValidationError::InvalidRequest("a credential header is not ASCII"))
    }

    fn method(&self) -> Option<String> {
        Some(spin_sdk::http::IncomingRequest::method(self).to_string())
    }

    /// The request's URL; where the host gives no scheme and authority, `https://` and the
    /// `Host` header.
    fn url(&self) -> Option<String> {
        let uri = self.uri();
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return Some(uri);
        }
        let host = self.header_values("host").ok()?.pop()?;
        Some(format!("https://{host}{uri}"))
    }
}

/// The [`WebApi`](crate::WebApi) from Spin's variables (`identity_config`, `client_secret`,
/// `token_cache_key`) and the key-value store labelled `default`. Spin runs one request per
/// instance, so it is built per request; the store carries keys and tokens between requests,
/// which is why `token_cache_key` is required here. A configuration problem (that one
/// included) is an [`Error`](crate::Error) whose answer is a bare 500.
pub fn web_api() -> Result<crate::WebApi, crate::Error> {
    let settings = crate::HostSettings::from_values(
        variable("identity_config").as_deref(),
        variable("client_secret").as_deref(),
        variable("token_cache_key").as_deref(),
    )?
    .with_previous_seal_secret(variable("token_cache_key_previous").as_deref())?;
    // Without a seal secret nothing is shared through the store, and Spin keeps no memory
    // between requests: every request, even one with a token that can never be valid, would
    // fetch the issuer's documents again (and wait on them through an outage). Refuse instead.
    if settings.seal_secret.is_none() {
        return Err(crate::ConfigError::new(
            "token_cache_key",
            "is required on Spin (at least 32 random characters): without it every request fetches the issuer's keys again",
        )
        .into());
    }
    let platform = platform(Some("default"), settings.seal_secret.as_ref())
        .map_err(|e| crate::ConfigError::new("key_value_stores", e.to_string()))?;
    crate::WebApi::new(settings, platform)
}
