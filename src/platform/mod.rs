//! The seam between the SDK's core and the platform it runs on.
//!
//! The core never names a runtime. It reaches the outside world through small traits:
//!
//! | trait | what it does | Workers | Spin / native |
//! |---|---|---|---|
//! | [`HttpClient`] | one HTTP exchange, `http::Request<Vec<u8>>` in, `http::Response<Vec<u8>>` out | `worker::Fetch` | the host's outbound HTTP |
//! | [`Clock`] | the current Unix time in milliseconds, and waiting | `Date.now()`, `setTimeout` | `SystemClock` (native) |
//! | [`SignatureVerifier`] | import a public key, verify a signature | `crypto.subtle` | RustCrypto |
//! | [`Crypto`] | the above, plus random bytes, RSA signing (client assertions) and AES-256-GCM (cache sealing) | `crypto.subtle` | RustCrypto |
//! | [`KeyValueStore`] | get / put with a time-to-live / delete | Workers KV | the host's key-value store, [`MemoryStore`] |
//! | [`Background`] | run work after the response is sent | `ctx.wait_until` | none: the SDK refreshes inline |
//! | [`Logger`] | one line of text for the operator | `console.warn` | stderr, or nothing |
//!
//! The traits are object safe and their futures are not `Send`: WebAssembly hosts run one thread
//! per isolate, so the core holds them as `Rc<dyn Trait>` and awaits them on that thread.
//! Adapters live in one module per platform, each behind a cargo feature.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use crate::event::{Event, EventOptions, Level, Metrics};
use crate::jose::{Algorithm, KeyMaterial};
use crate::secret::SealSecret;

mod memory;
pub use memory::MemoryStore;
mod sealed_store;
pub use sealed_store::{SealedEntry, SealedStore, MAX_SEALED_VALUE_BYTES};
mod ttl_envelope;
pub use ttl_envelope::TtlEnvelope;

#[cfg(feature = "rust-crypto")]
#[cfg_attr(docsrs, doc(cfg(feature = "rust-crypto")))]
pub mod rust_crypto;
#[cfg(all(feature = "spin", target_os = "wasi"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "spin", target_os = "wasi"))))]
pub mod spin;
#[cfg(feature = "webcrypto")]
#[cfg_attr(docsrs, doc(cfg(feature = "webcrypto")))]
pub mod webcrypto;
#[cfg(feature = "worker")]
#[cfg_attr(docsrs, doc(cfg(feature = "worker")))]
pub mod worker;

/// A boxed future that stays on the current thread.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why an HTTP exchange produced no response. Messages never carry request bodies or headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// No response within the time allowed.
    Timeout,
    /// The request could not be made or the connection failed.
    Transport(String),
    /// The response body was longer than the request's [`ResponseLimit`]; reading stopped there.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Timeout => f.write_str("the request timed out"),
            HttpError::Transport(why) => write!(f, "the request failed: {why}"),
            HttpError::TooLarge { limit } => {
                write!(f, "the response body is longer than {limit} bytes")
            }
        }
    }
}

/// The most response-body bytes an [`HttpClient`] reads for one request, set by the SDK on
/// every request it makes (`request.extensions()`): the adapters stop reading there and answer
/// [`HttpError::TooLarge`], so a hostile or broken server can't make an isolate buffer an
/// unbounded body. Without one, adapters apply [`DEFAULT_MAX_RESPONSE_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimit(pub usize);

/// The body limit adapters apply to a request that carries no [`ResponseLimit`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// How long a body passed on unread ([`HttpClient::send_passing_body`]'s 2xx) may take to
/// stream to the route's client, if it is limited: a request extension, like [`ResponseLimit`].
/// The call's own timeout covers the call up to the response's status and headers, never the
/// passed body (its status has been sent to the client: a slow but healthy download must not be
/// cut at the call's timeout). Past this time the body is cut (the client sees a truncated
/// answer). Without one, the body streams for as long as the server sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassedBodyTimeout(pub Duration);

/// The passed-on body time of `request`, if limited.
pub fn passed_body_timeout<B>(request: &http::Request<B>) -> Option<Duration> {
    request.extensions().get::<PassedBodyTimeout>().map(|t| t.0)
}

/// The body limit of `request`.
pub fn response_limit<B>(request: &http::Request<B>) -> usize {
    request.extensions().get::<ResponseLimit>().map_or(DEFAULT_MAX_RESPONSE_BYTES, |l| l.0)
}

impl std::error::Error for HttpError {}

/// Sends one HTTP request and returns the whole response.
///
/// Implementations must give up after `timeout`, answering [`HttpError::Timeout`]; must not
/// follow redirects (a 3xx is returned as it is, so no credential or body is ever sent to another
/// origin); and must stop reading a body at the request's [`response_limit`], answering
/// [`HttpError::TooLarge`].
pub trait HttpClient {
    /// Sends `request` and waits at most `timeout` for the complete response.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>>;

    /// Like [`send`](Self::send), but a success (2xx) body may be left unread, as the host's
    /// own body object, for a route that passes it on to its client as it came
    /// ([`ReadyCall::pass_through`](crate::ReadyCall::pass_through)): nothing is copied into
    /// the SDK. Other statuses come with their body read (capped), as from `send`. The default
    /// reads every body; Workers' `platform::worker::WorkerFetch` hands over the stream.
    fn send_passing_body(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<PassedBody>, HttpError>> {
        Box::pin(async move {
            let response = self.send(request, timeout).await?;
            Ok(response.map(PassedBody::Bytes))
        })
    }
}

/// A response body from [`HttpClient::send_passing_body`]: read, or left in the host.
pub enum PassedBody {
    /// The body, read.
    Bytes(Vec<u8>),
    /// The host's own body object, not read (Workers: the response's `ReadableStream`).
    Host(HostBody),
}

impl fmt::Debug for PassedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassedBody::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            PassedBody::Host(_) => f.write_str("Host(..)"),
        }
    }
}

/// A host's body object, opaque to the SDK; the host's adapter that made it takes it back.
pub struct HostBody(Box<dyn Any>);

impl HostBody {
    /// Wraps a host body object.
    pub fn new<T: 'static>(body: T) -> Self {
        HostBody(Box::new(body))
    }

    /// The host body, if it is a `T`.
    pub fn downcast<T: 'static>(self) -> Option<T> {
        self.0.downcast().ok().map(|body| *body)
    }
}

/// A duration in whole milliseconds, the unit every clock reading and stored deadline uses
/// (saturating at `u64::MAX`).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The current time, as the platform knows it, and a way to wait.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// Resolves after about `duration`. The SDK waits only to honour a provider's short
    /// `Retry-After` inside a request's time budget.
    fn sleep(&self, duration: Duration) -> LocalFuture<'_, ()>;
}

/// `std::time::SystemTime`, for native code and WASI. Not for `wasm32-unknown-unknown`,
/// where `SystemTime::now()` panics: use the `webcrypto` feature's `JsClock` there.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(millis).unwrap_or(0)
    }

    /// Blocks the thread when first polled: native and WASI hosts run one request per thread
    /// or component call.
    fn sleep(&self, duration: Duration) -> LocalFuture<'_, ()> {
        Box::pin(async move { std::thread::sleep(duration) })
    }
}

macro_rules! backend_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Rc<dyn Any>);

        impl $name {
            /// Wraps a backend's own key value.
            pub fn new<T: Any>(key: T) -> Self {
                $name(Rc::new(key))
            }

            /// The backend's own key value, if it is of type `T`.
            pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
                self.0.downcast_ref::<T>()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

backend_key!(
    /// A public key imported by a [`SignatureVerifier`], in whatever form that backend keeps it
    /// (a WebCrypto `CryptoKey`, a parsed RSA key, ...). The core caches these and hands them back.
    VerifyingKey
);
backend_key!(
    /// An RSA private key imported by a [`Crypto`] backend for signing client assertions.
    /// It can't be exported or printed.
    SigningKey
);
backend_key!(
    /// An AES-256-GCM key imported by a [`Crypto`] backend for sealing cache entries.
    /// It can't be exported or printed.
    SealingKey
);

/// Why a signature backend could not do its work (as opposed to a signature that does not verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoError(pub String);

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crypto backend error: {}", self.0)
    }
}

impl std::error::Error for CryptoError {}

/// Verifies JWS signatures. Backends: `webcrypto` (`crypto.subtle`) and `rust-crypto` (RustCrypto).
///
/// The core has already checked that the algorithm is allowed, that the key fits it, and that
/// the signature has the length the algorithm and key call for; backends only do the maths.
pub trait SignatureVerifier {
    /// Turns validated key material into a key this backend can verify with, for one algorithm.
    fn import_key<'a>(
        &'a self,
        material: &'a KeyMaterial,
        alg: Algorithm,
    ) -> LocalFuture<'a, Result<VerifyingKey, CryptoError>>;

    /// `Ok(true)` if `signature` is a valid `alg` signature of `message` under `key`.
    fn verify<'a>(
        &'a self,
        alg: Algorithm,
        key: &'a VerifyingKey,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>>;
}

/// The algorithms a [`Crypto`] backend signs client assertions with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssertionAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt.
    PS256,
}

impl AssertionAlgorithm {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            AssertionAlgorithm::RS256 => "RS256",
            AssertionAlgorithm::PS256 => "PS256",
        }
    }
}

/// The AES-GCM nonce length in bytes.
pub const SEAL_NONCE_LEN: usize = 12;
/// The AES-GCM tag length in bytes, appended to every sealed value.
pub const SEAL_TAG_LEN: usize = 16;

/// Everything cryptographic the SDK needs beyond verification: random bytes, RSA signatures for
/// client assertions, and AES-256-GCM for sealing cache entries. Backends: `webcrypto`
/// (`crypto.subtle`, `crypto.getRandomValues`) and `rust-crypto` (RustCrypto, the OS RNG).
pub trait Crypto: SignatureVerifier {
    /// Fills `buf` with cryptographically secure random bytes.
    fn random(&self, buf: &mut [u8]) -> Result<(), CryptoError>;

    /// Imports an RSA private key, PKCS#8 DER (`-----BEGIN PRIVATE KEY-----`), 2048 to 4096
    /// bits, for signing with `alg` only.
    fn import_signing_key<'a>(
        &'a self,
        pkcs8_der: &'a [u8],
        alg: AssertionAlgorithm,
    ) -> LocalFuture<'a, Result<SigningKey, CryptoError>>;

    /// Signs `message` with `key`, using the algorithm the key was imported for.
    fn sign<'a>(
        &'a self,
        key: &'a SigningKey,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>>;

    /// Imports a 32-byte AES-256-GCM key.
    fn import_sealing_key<'a>(
        &'a self,
        raw: &'a [u8; 32],
    ) -> LocalFuture<'a, Result<SealingKey, CryptoError>>;

    /// Encrypts `plaintext` and authenticates it with `aad`: the ciphertext followed by the
    /// [`SEAL_TAG_LEN`]-byte tag.
    fn seal<'a>(
        &'a self,
        key: &'a SealingKey,
        nonce: &'a [u8; SEAL_NONCE_LEN],
        aad: &'a [u8],
        plaintext: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>>;

    /// Decrypts what [`seal`](Crypto::seal) produced. `Ok(None)` when the value, nonce or `aad`
    /// does not authenticate (tampered, another key, too short).
    fn open<'a>(
        &'a self,
        key: &'a SealingKey,
        nonce: &'a [u8; SEAL_NONCE_LEN],
        aad: &'a [u8],
        sealed: &'a [u8],
    ) -> LocalFuture<'a, Result<Option<Vec<u8>>, CryptoError>>;
}

/// Runs work after the response has been sent (Workers: `ctx.wait_until`). Hosts without it
/// (Spin) have none, and the SDK then refreshes tokens inline once they reach the margin.
pub trait Background {
    /// Starts `work`; the host keeps the request alive until it finishes.
    fn spawn(&self, work: LocalFuture<'static, ()>);
}

/// Where the SDK writes the few lines an operator should see (a cache store failing, a key set
/// served stale), and its structured events where they are on. Lines never contain tokens,
/// secrets or claims.
pub trait Logger {
    /// Writes one warning line.
    fn warn(&self, message: &str);

    /// Writes one structured event, a JSON line ([`Event`]). The default drops it.
    fn event(&self, json_line: &str) {
        let _ = json_line;
    }
}

/// Where the floors below the platform's owner (the key source, the token cache) write their
/// events: the platform's options, logger and counters ([`Platform::observer`]).
#[derive(Clone)]
pub(crate) struct Observer {
    options: Rc<EventOptions>,
    logger: Rc<dyn Logger>,
    metrics: Option<Rc<dyn Metrics>>,
}

impl Observer {
    /// Writes the event `name` (no request: no correlation id); see [`write_event`].
    pub(crate) fn emit(&self, name: &'static str, level: Level, fill: impl FnOnce(Event) -> Event) {
        write_event(
            Some(&self.options),
            self.metrics.as_deref(),
            self.logger.as_ref(),
            name,
            level,
            None,
            fill,
        );
    }
}

/// Counts the event `name` in `metrics` (every one) and writes it to `logger` if `options`
/// keep it for the request `correlation`: `fill` adds its members, and runs only when either
/// happens. The one place every floor's events go through ([`Platform::emit`] and
/// [`Observer::emit`]).
pub(crate) fn write_event(
    options: Option<&EventOptions>,
    metrics: Option<&dyn Metrics>,
    logger: &dyn Logger,
    name: &'static str,
    level: Level,
    correlation: Option<&str>,
    fill: impl FnOnce(Event) -> Event,
) {
    let Some(options) = options else { return };
    let keep = options.keeps(level, correlation);
    if !keep && metrics.is_none() {
        return;
    }
    let event = fill(Event::new(name, level, correlation.map(Rc::from)));
    if let Some(metrics) = metrics {
        metrics.record(&event.metric());
    }
    if keep {
        logger.event(&event.to_json_line());
    }
}

/// A [`Logger`] that discards everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLogger;

impl Logger for NoLogger {
    fn warn(&self, _message: &str) {}
}

/// A [`Logger`] writing to standard error, for native and WASI hosts.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrLogger;

impl Logger for StderrLogger {
    fn warn(&self, message: &str) {
        eprintln!("edge-identity: {message}");
    }

    fn event(&self, json_line: &str) {
        eprintln!("{json_line}");
    }
}

/// A value as a [`Coordinator`] holds it: its version (0: never written) and, if it is live,
/// its bytes; after a [`put`](Coordinator::put), whether the write was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versioned {
    /// The version now: after a successful put, the new one.
    pub version: u64,
    /// The live value, if any (a refused put: the value that won).
    pub value: Option<Vec<u8>>,
    /// Whether the put was made (always `true` for a get).
    pub written: bool,
}

/// A strongly consistent place shared by every isolate and location: versioned values with a
/// compare-and-swap, and leases. Workers: a Durable Object
/// (`platform::worker::WorkerCoordinator`). Where there is none, what the SDK shares goes through the
/// [`KeyValueStore`] alone, which promises less (see `SECURITY.md`).
///
/// Values are sealed by the SDK before they are put, and opened after they are read: a
/// coordinator never sees a token in clear. Every call must end within its own bound (the SDK
/// also times each one out) and fail with a [`StoreError`] rather than hang.
pub trait Coordinator {
    /// The value under `key`.
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Versioned, StoreError>>;
    /// Writes `value` under `key` for `ttl` if its version is still `expect`.
    fn put<'a>(
        &'a self,
        key: &'a str,
        expect: u64,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<Versioned, StoreError>>;
    /// Takes the lease on `key` for `ttl` unless another `holder` has it; whether it did.
    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<bool, StoreError>>;
    /// Gives the lease on `key` back, if `holder` has it.
    fn release<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
    ) -> LocalFuture<'a, Result<(), StoreError>>;
}

/// Why a key-value store operation failed. The SDK treats every store as best-effort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key-value store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// A key-value store shared by the isolates of one deployment (Workers KV, Spin key-value).
///
/// Keys are at most 512 bytes of URL-safe text. `ttl` is a hint: stores without expiry
/// (Spin) may keep the entry longer, so the SDK also records its own expiry inside values.
pub trait KeyValueStore {
    /// The value under `key`, or `None`.
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>>;
    /// Stores `value` under `key` for about `ttl`.
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>>;
    /// Removes `key`; removing a missing key is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>>;
}

impl<T: KeyValueStore + ?Sized> KeyValueStore for Rc<T> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        (**self).get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        (**self).put(key, value, ttl)
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        (**self).delete(key)
    }
}

/// The platform services the SDK uses: the [`TokenValidator`](crate::TokenValidator), the
/// [`TokenAcquirer`](crate::TokenAcquirer) and the [`DownstreamApis`](crate::DownstreamApis).
#[derive(Clone)]
pub struct Platform {
    /// Outbound HTTP: discovery, key sets, token requests, downstream calls.
    pub http: Rc<dyn HttpClient>,
    /// Signatures, random bytes, client-assertion signing and cache sealing.
    pub crypto: Rc<dyn Crypto>,
    /// The time source for token lifetimes and cache ages.
    pub clock: Rc<dyn Clock>,
    /// Where documents and tokens are shared between isolates, if anywhere: always a
    /// [`SealedStore`] (see [`with_store`](Platform::with_store)).
    pub store: Option<Rc<SealedStore>>,
    /// Where operator warnings go; [`NoLogger`] unless set.
    pub logger: Rc<dyn Logger>,
    /// How a request waits for work another request started (a key-set fetch, a token
    /// request): `None` awaits it directly; `Some(interval)` checks for its outcome on the
    /// waiting request's own timer. Workers needs the latter: workerd cancels a request that
    /// waits only on I/O owned by another request as hung. `worker::platform()` sets 10 ms.
    pub join_poll_interval: Option<Duration>,
    /// Whether the SDK's isolate memory may last only one request (Spin: any request may start a
    /// new instance). The SDK then keeps in the shared store what it would otherwise remember in
    /// memory between requests: a provider's back-off (its `Retry-After`), so the next request
    /// does not ask a throttled provider again. `spin::platform()` sets it.
    pub memory_per_request: bool,
    /// A strongly consistent place every isolate shares ([`Coordinator`]: on Workers, the
    /// coordinator Durable Object), if the deployment has one. With it, one isolate asks the
    /// provider for a token while the others wait for its answer, and long-running sessions
    /// (their owner, their end, their refresh token) live there, immediate everywhere. It is used
    /// only with a sealed store ([`with_store`](Platform::with_store)): what it holds is sealed.
    pub coordinator: Option<Rc<dyn Coordinator>>,
    /// Which structured events are written to the logger ([`Event`]) and whether requests are
    /// observed at all (events, [`metrics`](Platform::metrics) or `Server-Timing`); `None`:
    /// nothing is observed, and nothing is built for it.
    pub events: Option<Rc<EventOptions>>,
    /// Where every event is counted ([`Metrics`]: on Workers, an Analytics Engine dataset), if
    /// anywhere. Counting does not depend on `events`' level or sampling.
    pub metrics: Option<Rc<dyn Metrics>>,
    /// What everything built on this platform (and its clones) shares in the isolate (one
    /// discovery document and key set per authority, for validation and acquisition alike):
    /// typed by the floor that owns it, which the seam does not name (see [`Platform::shared`]).
    shared: Rc<std::cell::RefCell<Vec<Rc<dyn std::any::Any>>>>,
}

impl Platform {
    /// A platform without a shared store, logging nowhere.
    pub fn new(http: Rc<dyn HttpClient>, crypto: Rc<dyn Crypto>, clock: Rc<dyn Clock>) -> Self {
        Platform {
            http,
            crypto,
            clock,
            store: None,
            logger: Rc::new(NoLogger),
            join_poll_interval: None,
            memory_per_request: false,
            coordinator: None,
            events: None,
            metrics: None,
            shared: Rc::default(),
        }
    }

    /// The same platform, writing the structured events `options` keeps to its logger (and
    /// answering with `Server-Timing` where they say so).
    pub fn with_events(mut self, options: EventOptions) -> Self {
        let observed = options.level != Level::Off || options.server_timing;
        self.events = (observed || self.metrics.is_some()).then(|| Rc::new(options));
        self
    }

    /// The same platform, counting every event in `metrics` (whatever the events' level).
    pub fn with_metrics(mut self, metrics: Rc<dyn Metrics>) -> Self {
        self.metrics = Some(metrics);
        if self.events.is_none() {
            self.events = Some(Rc::new(EventOptions::default()));
        }
        self
    }

    /// Where the key source and the token cache write their events, if requests are observed.
    pub(crate) fn observer(&self) -> Option<Observer> {
        Some(Observer {
            options: self.events.clone()?,
            logger: self.logger.clone(),
            metrics: self.metrics.clone(),
        })
    }

    /// Writes the event `name` for the request `correlation` if the options keep it: `fill`
    /// adds its members, and runs only then (off, nothing is built).
    pub(crate) fn emit(
        &self,
        name: &'static str,
        level: Level,
        correlation: Option<&str>,
        fill: impl FnOnce(Event) -> Event,
    ) {
        write_event(
            self.events.as_deref(),
            self.metrics.as_deref(),
            self.logger.as_ref(),
            name,
            level,
            correlation,
            fill,
        );
    }

    /// The value of type `T` shared by this platform and its clones for which `is_it` holds,
    /// made by `make` on first use. The owners above the seam decide what is shared (validation:
    /// one key source per authority, [`Platform::key_source`]); the seam only keeps it.
    pub(crate) fn shared<T: 'static>(
        &self,
        is_it: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Rc<T> {
        let found = self
            .shared
            .borrow()
            .iter()
            .filter_map(|item| item.clone().downcast::<T>().ok())
            .find(|item| is_it(item));
        if let Some(found) = found {
            return found;
        }
        let made = Rc::new(make());
        self.shared.borrow_mut().push(made.clone());
        made
    }

    /// The same platform, coordinating through `coordinator` ([`Platform::coordinator`]).
    pub fn with_coordinator(mut self, coordinator: Rc<dyn Coordinator>) -> Self {
        self.coordinator = Some(coordinator);
        self
    }

    /// The same platform, on a host whose memory lasts one request
    /// ([`memory_per_request`](Platform::memory_per_request)).
    pub fn with_memory_per_request(mut self) -> Self {
        self.memory_per_request = true;
        self
    }

    /// The same platform, waiting for other requests' work by polling every `interval`.
    pub fn with_join_poll_interval(mut self, interval: Duration) -> Self {
        self.join_poll_interval = Some(interval);
        self
    }

    /// The same platform, sharing the issuer's documents and cached tokens with other isolates
    /// through `store`, every value sealed with `seal` and authenticated when read back
    /// ([`SealedStore`]). Without a seal secret nothing security-relevant is shared: the store is
    /// not used (keys and tokens stay in isolate memory), and that is logged once, here. Set the
    /// logger first.
    pub fn with_store(self, store: Rc<dyn KeyValueStore>, seal: Option<&SealSecret>) -> Self {
        self.with_rotating_store(store, seal, None)
    }

    /// [`with_store`](Platform::with_store) during a rotation of the seal secret: values sealed
    /// with `previous` (`TOKEN_CACHE_KEY_PREVIOUS`) are opened too and sealed again under `seal`;
    /// values sealed with a secret this version does not have are left in place
    /// ([`SealedStore::with_previous`]).
    pub fn with_rotating_store(
        mut self,
        store: Rc<dyn KeyValueStore>,
        seal: Option<&SealSecret>,
        previous: Option<&SealSecret>,
    ) -> Self {
        match seal {
            Some(secret) => {
                let sealed =
                    SealedStore::new(store, secret, self.crypto.clone(), self.logger.clone());
                self.store = Some(Rc::new(match previous {
                    Some(previous) => sealed.with_previous(previous),
                    None => sealed,
                }));
            }
            None => {
                self.store = None;
                self.logger.warn(
                    "no seal secret (TOKEN_CACHE_KEY) is set: nothing is shared through the key-value \
                     store; issuer keys and tokens stay in isolate memory (a new isolate fetches \
                     the keys again, and tokens are not reused across isolates)",
                );
            }
        }
        self
    }

    /// The same platform, writing warnings to `logger`.
    pub fn with_logger(mut self, logger: Rc<dyn Logger>) -> Self {
        self.logger = logger;
        self
    }
}

/// Takes `mutex`. With a poll interval, never registers with the mutex: it retries on the
/// waiting request's own timer (see [`Platform::join_poll_interval`]).
pub(crate) async fn lock_mutex<'a, T>(
    mutex: &'a futures_util::lock::Mutex<T>,
    clock: &dyn Clock,
    poll: Option<Duration>,
) -> futures_util::lock::MutexGuard<'a, T> {
    let Some(interval) = poll else {
        return mutex.lock().await;
    };
    loop {
        if let Some(guard) = mutex.try_lock() {
            return guard;
        }
        clock.sleep(interval).await;
    }
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Platform").field("store", &self.store.is_some()).finish_non_exhaustive()
    }
}
