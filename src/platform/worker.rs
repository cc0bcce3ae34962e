//! Cloudflare Workers: outbound HTTP through `Fetch`, Workers KV as the shared store,
//! `console.warn` as the [`Logger`], `ctx.wait_until` as the [`Background`] runner, and
//! [`platform`] to assemble them with WebCrypto and `Date.now()`.

use std::rc::Rc;
use std::time::Duration;

use super::webcrypto::{JsClock, WebCrypto};
use super::{
    Background, CryptoError, HttpClient, HttpError, KeyValueStore, LocalFuture, Logger, Platform,
    StoreError,
};
use futures_util::future::{select, Either};

/// How often a request waiting for another request's key fetch or token request checks for its
/// outcome: workerd cancels a request that waits only on another request's I/O.
pub const JOIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Workers KV refuses a shorter `expiration_ttl`.
pub const KV_MIN_TTL: Duration = Duration::from_secs(60);

/// Outbound HTTP with the Workers `fetch`, aborted through an `AbortSignal` at the timeout.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerFetch;

fn transport(e: impl std::fmt::Display) -> HttpError {
    HttpError::Transport(e.to_string())
}

impl HttpClient for WorkerFetch {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let headers = worker::Headers::new();
            for (name, value) in &parts.headers {
                let value = value.to_str().map_err(transport)?;
                headers.append(name.as_str(), value).map_err(transport)?;
            }
            let mut init = worker::RequestInit::new();
            init.with_method(worker::Method::from(parts.method.as_str().to_owned()))
                .with_headers(headers);
            if !body.is_empty() {
                init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
            }
            let request =
                worker::Request::new_with_init(&parts.uri.to_string(), &init).map_err(transport)?;
            let controller = worker::AbortController::default();
            let signal = controller.signal();
            let fetch = worker::Fetch::Request(request);
            let send = fetch.send_with_signal(&signal);
            let delay = worker::Delay::from(timeout);
            let mut response = match select(Box::pin(send), delay).await {
                Either::Left((response, _)) => response.map_err(transport)?,
                Either::Right(_) => {
                    controller.abort();
                    return Err(HttpError::Timeout);
                }
            };
            let mut builder = http::Response::builder().status(response.status_code());
            for (name, value) in response.headers().entries() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(transport)?;
            builder.body(body).map_err(transport)
        })
    }
}

/// How long one KV operation may take before the cache treats it as failed.
pub const KV_TIMEOUT: Duration = Duration::from_secs(2);

/// A Workers KV namespace as the [`KeyValueStore`]. Every operation gives up after
/// [`KV_TIMEOUT`] (a `StoreError`, which the cache treats as a miss), so a slow KV never holds a
/// request longer than that.
#[derive(Clone)]
pub struct WorkersKv {
    kv: worker::kv::KvStore,
}

impl std::fmt::Debug for WorkersKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkersKv(..)")
    }
}

impl WorkersKv {
    /// Wraps a KV binding.
    pub fn new(kv: worker::kv::KvStore) -> Self {
        WorkersKv { kv }
    }
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// `operation`, or a `StoreError` once [`KV_TIMEOUT`] has passed.
async fn bounded<T>(
    operation: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match select(Box::pin(operation), worker::Delay::from(KV_TIMEOUT)).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => Err(StoreError("Workers KV did not answer in time".into())),
    }
}

impl KeyValueStore for WorkersKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(bounded(async move { self.kv.get(key).bytes().await.map_err(store_error) }))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(bounded(async move {
            self.kv
                .put_bytes(key, &value)
                .map_err(store_error)?
                .expiration_ttl(ttl.max(KV_MIN_TTL).as_secs())
                .execute()
                .await
                .map_err(store_error)
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(bounded(async move { self.kv.delete(key).await.map_err(store_error) }))
    }
}

/// A [`Logger`] writing to `console.warn`, which `wrangler tail` and the Workers logs show.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleLogger;

impl Logger for ConsoleLogger {
    fn warn(&self, message: &str) {
        worker::console_warn!("edge-identity: {message}");
    }
}

/// Runs [`Background`] work with the request's `ctx.wait_until`, so a token refresh started
/// during a request finishes after the response has been sent.
#[derive(Debug, Clone)]
pub struct WaitUntil {
    ctx: Rc<worker::Context>,
}

impl WaitUntil {
    /// Wraps the `Context` the Workers runtime handed to the `fetch` handler.
    pub fn new(ctx: worker::Context) -> Self {
        WaitUntil { ctx: Rc::new(ctx) }
    }

    /// Shares a `Context` the handler also keeps using.
    pub fn from_rc(ctx: Rc<worker::Context>) -> Self {
        WaitUntil { ctx }
    }
}

impl Background for WaitUntil {
    fn spawn(&self, work: LocalFuture<'static, ()>) {
        self.ctx.wait_until(work);
    }
}

/// The Workers platform: `fetch`, `crypto.subtle`, `Date.now()`, `console.warn`, and the KV
/// namespace bound as `kv_binding` if one is named. A named binding that is missing is an error,
/// not a silent downgrade.
pub fn platform(env: &worker::Env, kv_binding: Option<&str>) -> Result<Platform, CryptoError> {
    let platform =
        Platform::new(Rc::new(WorkerFetch), Rc::new(WebCrypto::new()?), Rc::new(JsClock))
            .with_logger(Rc::new(ConsoleLogger))
            .with_join_poll_interval(JOIN_POLL_INTERVAL);
    match kv_binding {
        None => Ok(platform),
        Some(name) => {
            let kv = env
                .kv(name)
                .map_err(|_| CryptoError(format!("no KV namespace is bound as {name}")))?;
            Ok(platform.with_store(Rc::new(WorkersKv::new(kv))))
        }
    }
}

/// Converts an SDK answer (an error response, say) into a Workers response.
pub fn to_worker_response(response: http::Response<Vec<u8>>) -> worker::Result<worker::Response> {
    let (parts, body) = response.into_parts();
    let headers = worker::Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.append(name.as_str(), value)?;
        }
    }
    Ok(worker::Response::from_bytes(body)?.with_status(parts.status.as_u16()).with_headers(headers))
}
