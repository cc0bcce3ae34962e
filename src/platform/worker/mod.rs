//! Cloudflare Workers: outbound HTTP through `Fetch`, Workers KV as the shared store,
//! `console.warn` as the [`Logger`], `ctx.wait_until` as the [`Background`] runner, and
//! [`platform`] to assemble them with WebCrypto and `Date.now()`; [`web_api`] builds the
//! isolate's [`WebApi`](crate::WebApi) from the worker's bindings, and [`axum`] (feature `axum`)
//! serves an axum router with it.

mod analytics_engine;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "coordinator")]
#[cfg_attr(docsrs, doc(cfg(feature = "coordinator")))]
pub mod coordinator;
mod coordinator_client;
pub use analytics_engine::AnalyticsEngineMetrics;
pub use coordinator_client::WorkerCoordinator;

use std::rc::Rc;
use std::time::Duration;

use crate::secret::SealSecret;
use crate::settings::{CLIENT_SECRET, IDENTITY_CONFIG, TOKEN_CACHE_KEY, TOKEN_CACHE_KEY_PREVIOUS};

use super::webcrypto::{JsClock, WebCrypto};
use super::{
    Background, CryptoError, HostBody, HttpClient, HttpError, KeyValueStore, LocalFuture, Logger,
    PassedBody, Platform, StoreError,
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
/// the body read up to the request's [`response_limit`](super::response_limit) (at most
/// [`WORKERS_MAX_RESPONSE_BYTES`]): a larger `Content-Length` is refused before reading, and a
/// body without one, or an encoded one (counted decoded), is read chunk by chunk into one
/// buffer and cancelled at the limit.
///
/// Each call crosses into JavaScript once (an inline-JS `fetchCapped`): the request goes in as a few
/// strings and one `Uint8Array`, and the status, the headers (one string) and the body come back
/// together. Building the init object, iterating the response headers and reading a chunked
/// body from Rust took a crossing per field, header and chunk, and each awaited promise a
/// wasm-bindgen future: `bash bench/profile.sh` showed them among the largest costs of a warm
/// `GET /api/me`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerFetch;

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export async function fetchCapped(url, method, headerLines, body, timeoutMs, limit, passSuccess, bodyMs) {
  const headers = [];
  for (const line of headerLines.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  const init = { method, headers, redirect: 'manual' };
  // The call's timeout. workerd pipes a returned body natively, beyond this signal's reach, so it
  // never cuts a passed body after the status was sent. A passed body with its own time limit
  // (bodyMs) instead gets one controller: the call's timer until the status arrives, then the
  // body's timer over a native identity pipe it can cut. The pipe costs every call (about 12 %
  // of the example's warm requests per second), so it is only taken when a limit is set.
  const controller = passSuccess && bodyMs > 0 ? new AbortController() : null;
  const callTimer = controller && setTimeout(() => controller.abort(timeUp()), timeoutMs);
  init.signal = controller ? controller.signal : AbortSignal.timeout(timeoutMs);
  if (body !== undefined) init.body = body;
  const response = await fetch(url, init);
  let lines = '';
  for (const [name, value] of response.headers) lines += `${name}:${value}\n`;
  if (passSuccess && response.ok) {
    if (controller === null || response.body === null) return [response.status, lines, response.body, true];
    clearTimeout(callTimer);
    const bodyTimer = setTimeout(() => controller.abort(timeUp()), bodyMs);
    const pipe = typeof IdentityTransformStream === 'function' ? new IdentityTransformStream() : new TransformStream();
    response.body.pipeTo(pipe.writable, { signal: controller.signal }).then(() => clearTimeout(bodyTimer), () => {});
    return [response.status, lines, pipe.readable, true];
  }
  // Content-Length counts the bytes on the wire; fetch decodes gzip, deflate and br itself, so
  // an encoded body is counted while it is read, never trusted by its header.
  const declared = response.headers.get('content-length');
  const encoding = response.headers.get('content-encoding');
  const identity = encoding === null || /^\s*(identity)?\s*$/i.test(encoding);
  if (identity && declared !== null && /^\s*\d+\s*$/.test(declared)) {
    if (Number(declared) > limit) {
      response.body?.cancel();
      return [response.status, lines, null];
    }
    return [response.status, lines, new Uint8Array(await response.arrayBuffer())];
  }
  if (response.body === null) return [response.status, lines, new Uint8Array(0)];
  // Read into one buffer that grows (doubling, never past the limit), not a list of chunks
  // copied once more at the end: a large body is held about once, not twice.
  const reader = response.body.getReader();
  let buffer = new Uint8Array(Math.min(limit, 64 * 1024));
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > limit) {
      reader.cancel();
      return [response.status, lines, null];
    }
    if (length + value.length > buffer.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(buffer.length * 2, length + value.length)));
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(value, length);
    length += value.length;
  }
  return [response.status, lines, buffer.subarray(0, length)];
}

function timeUp() {
  return new DOMException('the call timed out', 'TimeoutError');
}
"#)]
extern "C" {
    /// `fetch` with the SDK's rules, answering `[status, "name:value\n"…, body or null when
    /// over `limit`]`; with `pass_success`, a 2xx answer is `[status, lines, its ReadableStream
    /// or null, true]`, its body unread. Header names and values never hold a newline or NUL
    /// (neither `http` nor `fetch` allows one), and a name never holds a colon.
    #[wasm_bindgen::prelude::wasm_bindgen(js_name = fetchCapped)]
    fn fetch_capped(
        url: &str,
        method: &str,
        header_lines: &str,
        body: JsValue,
        timeout_ms: f64,
        limit: f64,
        pass_success: bool,
        body_ms: f64,
    ) -> js_sys::Promise;
}

fn transport(e: impl std::fmt::Display) -> HttpError {
    HttpError::Transport(e.to_string())
}

fn js_transport(what: &str) -> HttpError {
    HttpError::Transport(format!("fetch failed: {what}"))
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

/// Sends `request` through [`fetch_capped`]: the response's status and headers, its body as
/// JavaScript left it (bytes, or `null` past the limit), and whether that body is a 2xx's,
/// passed unread (only with `pass_success`).
async fn exchange(
    request: &http::Request<Vec<u8>>,
    timeout: Duration,
    pass_success: bool,
) -> Result<(http::response::Builder, JsValue, bool), HttpError> {
    let mut header_lines = String::new();
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(transport)?;
        header_lines.push_str(name.as_str());
        header_lines.push(':');
        header_lines.push_str(value);
        header_lines.push('\n');
    }
    let body = match request.body().as_slice() {
        [] => JsValue::UNDEFINED,
        bytes => js_sys::Uint8Array::from(bytes).into(),
    };
    let millis = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1);
    // 0: no limit of its own for a passed body.
    let body_millis = super::passed_body_timeout(request)
        .map_or(0, |t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX).max(1));
    let answer = fetch_capped(
        &request.uri().to_string(),
        request.method().as_str(),
        &header_lines,
        body,
        f64::from(millis),
        workers_limit(request) as f64,
        pass_success,
        f64::from(body_millis),
    );
    let answer: js_sys::Array = JsFuture::from(answer)
        .await
        .map_err(|e| rejection(&e))?
        .dyn_into()
        .map_err(|_| js_transport("fetch gave no answer"))?;
    let status = answer.get(0).as_f64().map_or(0, |s| s as u16);
    let mut builder = http::Response::builder().status(status);
    for line in answer.get(1).as_string().unwrap_or_default().lines() {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name, value);
        }
    }
    Ok((builder, answer.get(2), answer.get(3).is_truthy()))
}

/// The most body bytes one fetch reads on Workers, whatever the request's
/// [`ResponseLimit`](super::ResponseLimit) (`MaxResponseBytes` allows up to 64 MiB): the body is
/// held once in JavaScript and once in wasm, within an isolate's 128 MB with room to spare.
pub const WORKERS_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The body limit of `request` on Workers: its own, at most [`WORKERS_MAX_RESPONSE_BYTES`].
fn workers_limit(request: &http::Request<Vec<u8>>) -> usize {
    super::response_limit(request).min(WORKERS_MAX_RESPONSE_BYTES)
}

/// A body [`fetch_capped`] read: its bytes, or [`HttpError::TooLarge`] for the `null` it gives
/// past the limit.
fn read_body(body: JsValue, request: &http::Request<Vec<u8>>) -> Result<Vec<u8>, HttpError> {
    if body.is_null() {
        return Err(HttpError::TooLarge { limit: workers_limit(request) });
    }
    let body: js_sys::Uint8Array =
        body.dyn_into().map_err(|_| js_transport("fetch gave no body"))?;
    Ok(body.to_vec())
}

impl HttpClient for WorkerFetch {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let (builder, body, _) = exchange(&request, timeout, false).await?;
            builder.body(read_body(body, &request)?).map_err(transport)
        })
    }

    /// A 2xx answer's body stays the response's `ReadableStream`, for [`pass_on`]. The call's
    /// timeout covers it up to the status, never the streamed body; with a
    /// [`PassedBodyTimeout`](super::PassedBodyTimeout), the body is cut at that time.
    fn send_passing_body(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<PassedBody>, HttpError>> {
        Box::pin(async move {
            let (builder, body, passed) = exchange(&request, timeout, true).await?;
            let body = if passed {
                PassedBody::Host(HostBody::new(body))
            } else {
                PassedBody::Bytes(read_body(body, &request)?)
            };
            builder.body(body).map_err(transport)
        })
    }
}

/// The route's response for a downstream answer from
/// [`ReadyCall::pass_through`](crate::ReadyCall::pass_through): its status, its `Content-Type`,
/// and its body, streamed through as it came when the SDK left it unread, with
/// `X-Content-Type-Options: nosniff` (and this request's `Server-Timing` where
/// `Events.ServerTiming` is on). Other headers of the
/// downstream answer (cookies, caching, CORS) are not passed on; read them from
/// `passed.headers` first if the route wants any.
pub fn pass_on(passed: crate::PassedResponse) -> worker::Result<worker::Response> {
    // The downstream API's body under this API's origin: no browser may sniff it into another
    // type (HTML from a JSON API would run as this origin's page).
    let mut builder = worker::ResponseBuilder::new()
        .with_status(passed.status.as_u16())
        .with_header("x-content-type-options", "nosniff")?;
    if let Some(content_type) = passed.headers.get(http::header::CONTENT_TYPE) {
        if let Ok(content_type) = content_type.to_str() {
            builder = builder.with_header("content-type", content_type)?;
        }
    }
    if let Some(timing) = &passed.server_timing {
        builder = builder.with_header(crate::SERVER_TIMING_HEADER, timing)?;
    }
    Ok(match passed.body {
        PassedBody::Bytes(bytes) => builder.fixed(bytes),
        PassedBody::Host(body) => match body.downcast::<JsValue>().map(JsCast::dyn_into) {
            Some(Ok(stream)) => builder.stream(stream),
            _ => builder.empty(),
        },
    })
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

    /// `console.log` of the JSON line: Workers Logs indexes its members.
    fn event(&self, json_line: &str) {
        worker::console_log!("{json_line}");
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

/// The request as workerd hands it to `#[event(fetch)]` when the handler takes
/// `web_sys::Request` (workers-rs's `FromRequest`): authorizing it reads one header and nothing
/// else. workers-rs's own `Request` reads `request.cf` (an object workerd builds on each access)
/// and the URL when it is made, on every request; `bash bench/profile.sh` measured the `cf` read
/// alone at about 5 % of a warm `GET /api/me`.
impl crate::AuthorizationHeaders for web_sys::Request {
    fn authorization(&self) -> Result<Vec<String>, crate::ValidationError> {
        // Fetch joins repeated headers with ", ": two `Authorization` headers arrive as one
        // value that is no token68 string, and are refused with a 400 like two values.
        Ok(self.headers().get("authorization").ok().flatten().into_iter().collect())
    }

    fn header_values(&self, name: &str) -> Result<Vec<String>, crate::ValidationError> {
        Ok(self.headers().get(name).ok().flatten().into_iter().collect())
    }

    fn method(&self) -> Option<String> {
        Some(web_sys::Request::method(self))
    }

    fn url(&self) -> Option<String> {
        Some(web_sys::Request::url(self))
    }
}

/// workers-rs's `Request`: the same header of the request it wraps.
impl crate::AuthorizationHeaders for worker::Request {
    fn authorization(&self) -> Result<Vec<String>, crate::ValidationError> {
        self.inner().authorization()
    }

    fn header_values(&self, name: &str) -> Result<Vec<String>, crate::ValidationError> {
        self.inner().header_values(name)
    }

    fn method(&self) -> Option<String> {
        Some(self.inner().method())
    }

    fn url(&self) -> Option<String> {
        Some(self.inner().url())
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
    /// During a rotation, the seal secret before it. Default `TOKEN_CACHE_KEY_PREVIOUS`.
    pub previous_seal_secret: String,
    /// The KV namespace binding, if any. Default `TOKEN_CACHE`.
    pub kv: Option<String>,
    /// The coordinator's Durable Object namespace binding, used if it is bound (see
    /// [`coordinator`](crate::platform::worker::WorkerCoordinator)). Default
    /// `IDENTITY_COORDINATOR`.
    pub coordinator: Option<String>,
    /// The Analytics Engine dataset binding the SDK's counters are written to, used if it is
    /// bound ([`AnalyticsEngineMetrics`]). Default `IDENTITY_METRICS`.
    pub metrics: Option<String>,
}

/// The default KV binding (the settings' own names are `HostSettings`'s).
const TOKEN_CACHE: &str = "TOKEN_CACHE";

/// The default binding of the coordinator's Durable Object namespace.
const IDENTITY_COORDINATOR: &str = "IDENTITY_COORDINATOR";

/// The default binding of the Analytics Engine dataset counters go to.
const IDENTITY_METRICS: &str = "IDENTITY_METRICS";

impl Default for Bindings {
    fn default() -> Self {
        Bindings {
            identity_config: IDENTITY_CONFIG.into(),
            client_secret: CLIENT_SECRET.into(),
            seal_secret: TOKEN_CACHE_KEY.into(),
            previous_seal_secret: TOKEN_CACHE_KEY_PREVIOUS.into(),
            kv: Some(TOKEN_CACHE.into()),
            coordinator: Some(IDENTITY_COORDINATOR.into()),
            metrics: Some(IDENTITY_METRICS.into()),
        }
    }
}

impl Bindings {
    /// Whether these are the default names, without building the default ([`web_api`] asks on
    /// every request).
    fn is_default(&self) -> bool {
        self.identity_config == IDENTITY_CONFIG
            && self.client_secret == CLIENT_SECRET
            && self.seal_secret == TOKEN_CACHE_KEY
            && self.previous_seal_secret == TOKEN_CACHE_KEY_PREVIOUS
            && self.kv.as_deref() == Some(TOKEN_CACHE)
            && self.coordinator.as_deref() == Some(IDENTITY_COORDINATOR)
            && self.metrics.as_deref() == Some(IDENTITY_METRICS)
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
    match kept_web_api(Bindings::is_default) {
        Some(api) => Ok(api.with_background(Rc::new(WaitUntil::new(ctx)))),
        None => web_api_with(env, ctx, &Bindings::default()),
    }
}

/// The isolate's kept API, if it was built with bindings that `matches` accepts.
fn kept_web_api(matches: impl Fn(&Bindings) -> bool) -> Option<crate::WebApi> {
    WEB_API
        .with(|kept| kept.borrow().as_ref().filter(|(b, _)| matches(b)).map(|(_, api)| api.clone()))
}

/// [`web_api`] with other binding names.
pub fn web_api_with(
    env: &worker::Env,
    ctx: worker::Context,
    bindings: &Bindings,
) -> Result<crate::WebApi, crate::Error> {
    let api = match kept_web_api(|kept| kept == bindings) {
        Some(api) => api,
        None => {
            let settings = crate::HostSettings::from_values(
                setting(env, &bindings.identity_config).as_deref(),
                setting(env, &bindings.client_secret).as_deref(),
                setting(env, &bindings.seal_secret).as_deref(),
            )
            .and_then(|s| {
                s.with_previous_seal_secret(setting(env, &bindings.previous_seal_secret).as_deref())
            })
            .map_err(|e| rename(e, bindings))?;
            let mut platform = platform(env, bindings.kv.as_deref(), settings.seal_secret.as_ref())
                .map_err(|e| {
                    crate::ConfigError::new(bindings.kv.clone().unwrap_or_default(), e.to_string())
                })?;
            // The coordinator, where the deployment binds one (and seals what is shared).
            if let Some(namespace) = bindings
                .coordinator
                .as_deref()
                .filter(|_| settings.seal_secret.is_some())
                .and_then(|name| env.durable_object(name).ok())
            {
                platform = platform.with_coordinator(Rc::new(WorkerCoordinator::new(namespace)));
            }
            // Counters, where the worker binds an Analytics Engine dataset.
            if let Some(dataset) =
                bindings.metrics.as_deref().and_then(|name| env.analytics_engine(name).ok())
            {
                let metrics = AnalyticsEngineMetrics::new(dataset, platform.logger.clone());
                platform = platform.with_metrics(Rc::new(metrics));
            }
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
        IDENTITY_CONFIG => bindings.identity_config.clone(),
        CLIENT_SECRET => bindings.client_secret.clone(),
        TOKEN_CACHE_KEY => bindings.seal_secret.clone(),
        TOKEN_CACHE_KEY_PREVIOUS => bindings.previous_seal_secret.clone(),
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
    let status = parts.status.as_u16();
    // A null-body status (204, 205, 304) must carry no body at all: workerd refuses even an
    // empty one (and workers-rs's `with_status` then panics).
    let response = if matches!(status, 204 | 205 | 304) {
        worker::Response::empty()?
    } else {
        worker::Response::from_bytes(body)?
    };
    Ok(response.with_status(status).with_headers(headers))
}
