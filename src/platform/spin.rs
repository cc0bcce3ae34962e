//! Fermyon Spin (wasm32-wasip2 with WASI 0.3, spin-sdk 7): outbound HTTP through
//! `spin_sdk::http::send` with a timeout on the WASI monotonic clock, Spin's key-value store (no
//! TTL in Spin: wrapped in a [`TtlEnvelope`]), Spin variables as the config source, and
//! [`platform`] to assemble them with the pure-Rust crypto backend. Every host call is async
//! (WASI 0.3), so [`platform`], [`web_api`], [`SpinKv::open`] and [`variable`] are too.
//!
//! Spin has no `wait_until`: [`platform`] sets no [`Background`](super::Background), so the SDK
//! refreshes a token inline once it reaches the expiry margin instead of in the background.
//!
//! **Instances are reused.** A WASI 0.3 host (Spin 4, `wasmtime serve`) may hand one component
//! instance request after request, and several requests at once. [`web_api`] therefore keeps the
//! [`WebApi`](crate::WebApi) (its key sets, verified-token cache and token cache: isolate memory,
//! L1) for the instance's life, and it holds nothing of a caller's. A host may as well start a
//! new instance for any request, so the key-value store (L2) still carries keys, tokens and a
//! provider's back-off between instances. Concurrent requests in one instance are separate
//! component-model tasks: one task must never wait on a future another owns (wit-bindgen's
//! runtime refuses a wake-up from another task), so [`platform`] makes the SDK join another
//! request's work by looking for its outcome on the waiting request's own timer
//! ([`Platform::join_poll_interval`]), as on Workers.

use crate::secret::SealSecret;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::FutureExt as _;
use http_body_util::BodyExt as _;

use super::rust_crypto::RustCrypto;
use super::ttl_envelope::TtlEnvelope;
use super::{Clock, HttpClient, HttpError, KeyValueStore, LocalFuture, Platform, StoreError};

/// How often a request looks for the outcome of work another request in the same instance
/// started (a key-set fetch, a token request): on its own WASI timer, never on the other
/// request's future.
pub const JOIN_POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The wall clock for time, the WASI 0.3 monotonic clock (`wait-for`) for waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinClock;

impl Clock for SpinClock {
    fn now_millis(&self) -> u64 {
        super::SystemClock.now_millis()
    }

    fn sleep(&self, duration: Duration) -> LocalFuture<'_, ()> {
        Box::pin(spin_sdk::time::sleep(duration))
    }
}

/// Outbound HTTP with `spin_sdk::http::send` (`wasi:http/client@0.3.0`), given up at the
/// timeout. The hosts it may reach are the component's `allowed_outbound_hosts`. wasi:http
/// follows no redirects (a 3xx comes back as it is), and the body is read frame by frame,
/// stopped at the request's [`response_limit`](super::response_limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHttp;

/// The response's status, headers and at most `limit` bytes of body.
async fn read_capped(
    response: spin_sdk::http::Response,
    limit: usize,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    let (parts, mut incoming) = response.into_parts();
    let mut body = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| HttpError::Transport(e.to_string()))?;
        // Trailers are not part of the body the SDK reads.
        let Ok(chunk) = frame.into_data() else { continue };
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(HttpError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(http::Response::from_parts(parts, body))
}

impl HttpClient for SpinHttp {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let limit = super::response_limit(&request);
            let request =
                request.map(|body| spin_sdk::http::FullBody::new(bytes::Bytes::from(body)));
            let exchange = async move {
                let response = spin_sdk::http::send(request)
                    .await
                    .map_err(|e| HttpError::Transport(e.to_string()))?;
                read_capped(response, limit).await
            };
            // Dropping the exchange at the deadline cancels the host's request.
            match select(Box::pin(exchange), spin_sdk::time::sleep(timeout).boxed_local()).await {
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
    pub async fn open(label: &str) -> Result<Self, StoreError> {
        spin_sdk::key_value::Store::open(label)
            .await
            .map(|store| SpinKv { store })
            .map_err(|e| StoreError(format!("can't open key-value store {label}: {e}")))
    }
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl KeyValueStore for SpinKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move { self.store.get(key).await.map_err(store_error) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        _ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.store.set(key, value).await.map_err(store_error) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.store.delete(key).await.map_err(store_error) })
    }
}

/// A Spin variable (`[variables]` / `[component.x.variables]` in `spin.toml`), or `None` when
/// it is not defined or empty.
pub async fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).await.ok().filter(|v| !v.is_empty())
}

/// The Spin platform: `spin_sdk::http::send`, RustCrypto, the WASI clocks, standard error for
/// warnings, and the key-value store labelled `kv_label` (with expiry) if one is named, sealed
/// with `seal` (without a seal secret the store is not used: see [`Platform::with_store`]).
///
/// Requests that need work another request in the instance started wait for it on their own
/// timer ([`JOIN_POLL_INTERVAL`]); memory is treated as lasting one request
/// ([`Platform::memory_per_request`]), since the host may start a new instance for any request.
pub async fn platform(
    kv_label: Option<&str>,
    seal: Option<&SealSecret>,
) -> Result<Platform, StoreError> {
    let clock: Rc<dyn Clock> = Rc::new(SpinClock);
    let platform = Platform::new(Rc::new(SpinHttp), Rc::new(RustCrypto), clock.clone())
        .with_logger(Rc::new(super::StderrLogger))
        .with_join_poll_interval(JOIN_POLL_INTERVAL)
        .with_memory_per_request();
    match kv_label {
        None => Ok(platform),
        Some(label) => {
            let store = Rc::new(TtlEnvelope::new(SpinKv::open(label).await?, clock));
            Ok(platform.with_store(store, seal))
        }
    }
}

/// An SDK [`Error`](crate::Error) as a WASI 0.3 response: its status, `WWW-Authenticate` and
/// JSON body.
fn wasi_response(
    error: &crate::Error,
) -> Result<spin_sdk::wasip3::http::types::Response, spin_sdk::wasip3::http::types::ErrorCode> {
    let response =
        error.to_response().map(|body| spin_sdk::http::FullBody::new(bytes::Bytes::from(body)));
    spin_sdk::http::IntoResponse::into_response(response)
}

/// An SDK [`Error`](crate::Error) is its own answer in a Spin handler.
impl spin_sdk::http::IntoResponse for crate::Error {
    fn into_response(
        self,
    ) -> Result<spin_sdk::wasip3::http::types::Response, spin_sdk::wasip3::http::types::ErrorCode>
    {
        wasi_response(&self)
    }
}

/// With `Result<impl IntoResponse, edge_identity::Error>` as an `#[http_service]` handler's
/// return type, `?` answers the error as it is (its status, `WWW-Authenticate`, JSON body).
impl From<crate::Error> for spin_sdk::http::Error {
    fn from(error: crate::Error) -> Self {
        match wasi_response(&error) {
            Ok(response) => spin_sdk::http::Error::Response(response),
            Err(code) => spin_sdk::http::Error::ErrorCode(code),
        }
    }
}

thread_local! {
    /// The instance's API, built by the first request that completes building it.
    static WEB_API: RefCell<Option<crate::WebApi>> = const { RefCell::new(None) };
}

/// The [`WebApi`](crate::WebApi) from Spin's variables (`identity_config`, `client_secret`,
/// `token_cache_key`, `token_cache_key_previous`) and the key-value store labelled `default`,
/// built on first use and kept for the component instance's life: where the host reuses the
/// instance (Spin 4, WASI 0.3), later requests share its key sets and caches. It holds nothing
/// of a caller's. Requests that arrive together before it exists each build one (none waits on
/// another's), and the first finished is kept. A changed variable takes effect in a new instance.
///
/// `token_cache_key` is required here: a host may start a new instance for any request, and the
/// store is what carries keys and tokens between instances. A configuration problem (that one
/// included) is an [`Error`](crate::Error) whose answer is a bare 500; it is not kept, and the
/// next request tries again.
pub async fn web_api() -> Result<crate::WebApi, crate::Error> {
    if let Some(api) = WEB_API.with(|kept| kept.borrow().clone()) {
        return Ok(api);
    }
    let built = build_web_api().await?;
    Ok(WEB_API.with(|kept| kept.borrow_mut().get_or_insert(built).clone()))
}

async fn build_web_api() -> Result<crate::WebApi, crate::Error> {
    let settings = crate::HostSettings::from_values(
        variable("identity_config").await.as_deref(),
        variable("client_secret").await.as_deref(),
        variable("token_cache_key").await.as_deref(),
    )?
    .with_previous_seal_secret(variable("token_cache_key_previous").await.as_deref())?;
    // Without a seal secret nothing is shared through the store, and a new instance keeps no
    // memory of the last: every request in one, even one with a token that can never be valid,
    // would fetch the issuer's documents again (and wait on them through an outage). Refuse.
    if settings.seal_secret.is_none() {
        return Err(crate::ConfigError::new(
            "token_cache_key",
            "is required on Spin (at least 32 random characters): without it every new instance fetches the issuer's keys again",
        )
        .into());
    }
    let platform = platform(Some("default"), settings.seal_secret.as_ref())
        .await
        .map_err(|e| crate::ConfigError::new("key_value_stores", e.to_string()))?;
    crate::WebApi::new(settings, platform)
}
