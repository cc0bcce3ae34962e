//! Cloudflare Workers: outbound HTTP through `Fetch`, Workers KV as the shared store,
//! `console.warn` as the [`Logger`], `ctx.wait_until` as the [`Background`] runner, and
//! [`platform`] to assemble them with WebCrypto and `Date.now()`; [`web_api`] builds the
//! isolate's [`WebApi`](crate::WebApi) from the worker's bindings, and [`axum`] (feature `axum`)
//! serves an axum router with it.

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

use std::rc::Rc;
use std::time::Duration;

use crate::config::SealSecret;

use super::webcrypto::{JsClock, WebCrypto};
use super::{
    Background, CryptoError, HttpClient, HttpError, KeyValueStore, LocalFuture, Logger, Platform,
    StoreError,
};
use futures_util::future::{select, Either};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How often a request waiting for another request's key fetch or token request checks for its
/// outcome: workerd cancels a request that waits only on another request's I/O.
pub const JOIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Workers KV refuses a shorter `expiration_ttl`.
pub const KV_MIN_TTL: Duration = Duration::from_secs(60);

/// Outbound HTTP with the Workers `fetch`, aborted at the timeout by `AbortSignal.timeout`,
/// with `redirect: "manual"` (the Workers default is to follow: a 3xx is returned as it is, so a
/// token request's credential or a downstream call's token never goes to another origin), and
/// the body read up to the request's [`response_limit`](super::response_limit): a larger
/// `Content-Length` is refused before reading, and a body without one is read chunk by chunk and
/// cancelled at the limit.
///
/// It talks to `fetch` directly (a plain init object, one signal, the body as one
/// `Uint8Array`) rather than through workers-rs's request and response wrappers: the bench
/// (`bench/`) measured the wrappers plus a `setTimeout`-based timer at roughly twice the cost
/// of a JavaScript `fetch` per call.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerFetch;

fn transport(e: impl std::fmt::Display) -> HttpError {
    HttpError::Transport(e.to_string())
}

fn js_transport(what: &str) -> HttpError {
    HttpError::Transport(format!("fetch failed: {what}"))
}

/// `fetch(url, {method, headers, body, signal})` as a promise.
fn start_fetch(
    request: &http::Request<Vec<u8>>,
    timeout: Duration,
) -> Result<js_sys::Promise, HttpError> {
    let init = js_sys::Object::new();
    let set = |name: &str, value: &JsValue| {
        js_sys::Reflect::set(&init, &JsValue::from_str(name), value)
            .map(|_| ())
            .map_err(|_| js_transport("could not build the request"))
    };
    set("method", &JsValue::from_str(request.method().as_str()))?;
    set("redirect", &JsValue::from_str("manual"))?;
    let headers = js_sys::Array::new();
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(transport)?;
        headers.push(&js_sys::Array::of2(
            &JsValue::from_str(name.as_str()),
            &JsValue::from_str(value),
        ));
    }
    set("headers", &headers)?;
    if !request.body().is_empty() {
        set("body", &js_sys::Uint8Array::from(request.body().as_slice()))?;
    }
    let millis = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1);
    set("signal", &web_sys::AbortSignal::timeout_with_u32(millis))?;
    let fetch: js_sys::Function =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| js_transport("this host has no fetch"))?;
    let uri = request.uri().to_string();
    fetch
        .call2(&JsValue::UNDEFINED, &JsValue::from_str(&uri), &init)
        .map_err(|_| js_transport("fetch threw"))?
        .dyn_into()
        .map_err(|_| js_transport("fetch gave no promise"))
}

/// A rejected fetch: `TimeoutError` (the signal fired) is a timeout, anything else transport.
fn rejection(error: &JsValue) -> HttpError {
    let name =
        js_sys::Reflect::get(error, &JsValue::from_str("name")).ok().and_then(|n| n.as_string());
    match name.as_deref() {
        Some("TimeoutError") | Some("AbortError") => HttpError::Timeout,
        _ => js_transport(
            &js_sys::Reflect::get(error, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "the request was rejected".into()),
        ),
    }
}

impl HttpClient for WorkerFetch {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let promise = start_fetch(&request, timeout)?;
            let response: web_sys::Response = JsFuture::from(promise)
                .await
                .map_err(|e| rejection(&e))?
                .dyn_into()
                .map_err(|_| js_transport("fetch gave no Response"))?;
            let mut builder = http::Response::builder().status(response.status());
            for entry in response.headers().entries().into_iter().flatten() {
                let pair: js_sys::Array = entry.unchecked_into();
                if let (Some(name), Some(value)) =
                    (pair.get(0).as_string(), pair.get(1).as_string())
                {
                    builder = builder.header(name, value);
                }
            }
            let limit = super::response_limit(&request);
            let declared = response
                .headers()
                .get("content-length")
                .ok()
                .flatten()
                .and_then(|v| v.trim().parse::<u64>().ok());
            // The body is read under the same deadline: the signal aborts a stalled stream.
            let body = match declared {
                Some(length) if length > limit as u64 => {
                    if let Some(stream) = response.body() {
                        let _ = stream.cancel();
                    }
                    return Err(HttpError::TooLarge { limit });
                }
                // With a Content-Length, fetch delivers exactly that many bytes.
                Some(_) => {
                    let buffer = response.array_buffer().map_err(|_| js_transport("no body"))?;
                    let body = JsFuture::from(buffer).await.map_err(|e| rejection(&e))?;
                    js_sys::Uint8Array::new(&body).to_vec()
                }
                None => read_capped(&response, limit).await?,
            };
            builder.body(body).map_err(transport)
        })
    }
}

/// Reads a body of unknown length chunk by chunk, cancelling the stream past `limit` bytes.
async fn read_capped(response: &web_sys::Response, limit: usize) -> Result<Vec<u8>, HttpError> {
    let Some(stream) = response.body() else { return Ok(Vec::new()) };
    let reader: JsValue = stream.get_reader().into();
    let read: js_sys::Function = js_sys::Reflect::get(&reader, &JsValue::from_str("read"))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| js_transport("the body has no reader"))?;
    let mut body = Vec::new();
    loop {
        let promise: js_sys::Promise = read
            .call0(&reader)
            .ok()
            .and_then(|p| p.dyn_into().ok())
            .ok_or_else(|| js_transport("reading the body failed"))?;
        let chunk = JsFuture::from(promise).await.map_err(|e| rejection(&e))?;
        let done = js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(body);
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value"))
            .map_err(|_| js_transport("a body chunk had no value"))?;
        let bytes = js_sys::Uint8Array::new(&value);
        if body.len().saturating_add(bytes.length() as usize) > limit {
            if let Ok(cancel) = js_sys::Reflect::get(&reader, &JsValue::from_str("cancel")) {
                if let Ok(cancel) = cancel.dyn_into::<js_sys::Function>() {
                    let _ = cancel.call0(&reader);
                }
            }
            return Err(HttpError::TooLarge { limit });
        }
        body.extend_from_slice(&bytes.to_vec());
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
/// namespace bound as `kv_binding` if one is named, sealed with `seal` (without a seal secret the
/// namespace is not used: see [`Platform::with_store`]). A named binding that is missing is an
/// error, not a silent downgrade.
pub fn platform(
    env: &worker::Env,
    kv_binding: Option<&str>,
    seal: Option<&SealSecret>,
) -> Result<Platform, CryptoError> {
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
            Ok(platform.with_store(Rc::new(WorkersKv::new(kv)), seal))
        }
    }
}

impl crate::AuthorizationHeaders for worker::Request {
    fn authorization(&self) -> Result<Vec<String>, crate::ValidationError> {
        // Fetch joins repeated headers with ", ": two `Authorization` headers arrive as one
        // value that is no token68 string, and are refused with a 400 like two values.
        Ok(self.headers().get("authorization").ok().flatten().into_iter().collect())
    }
}

/// The names the worker's settings are read under (override any to match your `wrangler.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings {
    /// The var (or secret) holding the JSON configuration. Default `IDENTITY_CONFIG`.
    pub identity_config: String,
    /// The secret holding the client secret. Default `CLIENT_SECRET`.
    pub client_secret: String,
    /// The secret sealing what KV shares. Default `TOKEN_CACHE_KEY`.
    pub seal_secret: String,
    /// The KV namespace binding, if any. Default `TOKEN_CACHE`.
    pub kv: Option<String>,
}

impl Default for Bindings {
    fn default() -> Self {
        Bindings {
            identity_config: "IDENTITY_CONFIG".into(),
            client_secret: "CLIENT_SECRET".into(),
            seal_secret: "TOKEN_CACHE_KEY".into(),
            kv: Some("TOKEN_CACHE".into()),
        }
    }
}

thread_local! {
    /// The isolate's API, built by the first request that asks.
    static WEB_API: std::cell::RefCell<Option<(Bindings, crate::WebApi)>> =
        const { std::cell::RefCell::new(None) };
}

/// A secret, or a var of the same name (local development), if set and not empty.
fn setting(env: &worker::Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
        .filter(|v| !v.is_empty())
}

/// The isolate's [`WebApi`](crate::WebApi), built from the worker's bindings on first use and
/// kept for the isolate, with this request's `ctx.wait_until` for background work. A
/// configuration problem (a missing var or binding, a bad field) is an [`Error`](crate::Error)
/// whose answer is a bare 500; its `Display` names the var or field for the log. It is not
/// kept: the next request tries again.
pub fn web_api(env: &worker::Env, ctx: worker::Context) -> Result<crate::WebApi, crate::Error> {
    web_api_with(env, ctx, &Bindings::default())
}

/// [`web_api`] with other binding names.
pub fn web_api_with(
    env: &worker::Env,
    ctx: worker::Context,
    bindings: &Bindings,
) -> Result<crate::WebApi, crate::Error> {
    let kept = WEB_API.with(|kept| {
        kept.borrow().as_ref().filter(|(b, _)| b == bindings).map(|(_, api)| api.clone())
    });
    let api = match kept {
        Some(api) => api,
        None => {
            let settings = crate::HostSettings::from_values(
                setting(env, &bindings.identity_config).as_deref(),
                setting(env, &bindings.client_secret).as_deref(),
                setting(env, &bindings.seal_secret).as_deref(),
            )
            .map_err(|e| rename(e, bindings))?;
            let platform = platform(env, bindings.kv.as_deref(), settings.seal_secret.as_ref())
                .map_err(|e| {
                    crate::ConfigError::new(bindings.kv.clone().unwrap_or_default(), e.to_string())
                })?;
            let api = crate::WebApi::new(settings, platform)?;
            WEB_API.with(|kept| *kept.borrow_mut() = Some((bindings.clone(), api.clone())));
            api
        }
    };
    Ok(api.with_background(Rc::new(WaitUntil::new(ctx))))
}

/// Settings errors name the default var names; say the ones actually bound.
fn rename(error: crate::ConfigError, bindings: &Bindings) -> crate::ConfigError {
    let field = match error.field.as_str() {
        "IDENTITY_CONFIG" => bindings.identity_config.clone(),
        "CLIENT_SECRET" => bindings.client_secret.clone(),
        "TOKEN_CACHE_KEY" => bindings.seal_secret.clone(),
        _ => error.field.clone(),
    };
    crate::ConfigError { field, ..error }
}

/// The Workers answer for an SDK [`Error`](crate::Error): its status, `WWW-Authenticate`,
/// `Retry-After` and JSON body.
pub fn error_response(error: &crate::Error) -> worker::Result<worker::Response> {
    to_worker_response(error.to_response())
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
