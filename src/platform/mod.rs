//! The seam between the SDK's core and the platform it runs on.
//!
//! The core never names a runtime. It reaches the outside world through four small traits:
//!
//! | trait | what it does | Workers | Spin / native |
//! |---|---|---|---|
//! | [`HttpClient`] | one HTTP exchange, `http::Request<Vec<u8>>` in, `http::Response<Vec<u8>>` out | `worker::Fetch` | the host's outbound HTTP |
//! | [`Clock`] | the current Unix time in milliseconds | `Date.now()` | [`SystemClock`] |
//! | [`SignatureVerifier`] | import a public key, verify a signature | `crypto.subtle` | RustCrypto |
//! | [`KeyValueStore`] | get / put with a time-to-live / delete | Workers KV | the host's key-value store, [`MemoryStore`] |
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

use crate::validation::jwk::{Algorithm, KeyMaterial};

mod memory;
pub use memory::MemoryStore;

#[cfg(feature = "rust-crypto")]
pub mod rust_crypto;
#[cfg(feature = "webcrypto")]
pub mod webcrypto;
#[cfg(feature = "worker")]
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
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Timeout => f.write_str("the request timed out"),
            HttpError::Transport(why) => write!(f, "the request failed: {why}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Sends one HTTP request and returns the whole response.
///
/// Implementations follow no redirects on their own behalf and must give up after `timeout`,
/// answering [`HttpError::Timeout`].
pub trait HttpClient {
    /// Sends `request` and waits at most `timeout` for the complete response.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>>;
}

/// The current time, as the platform knows it.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
}

/// `std::time::SystemTime`, for native code and WASI. Not for `wasm32-unknown-unknown`,
/// where `SystemTime::now()` panics: use the `webcrypto` feature's `JsClock` there.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// A public key imported by a [`SignatureVerifier`], in whatever form that backend keeps it
/// (a WebCrypto `CryptoKey`, a parsed RSA key, ...). The core caches these and hands them back.
#[derive(Clone)]
pub struct VerifyingKey(Rc<dyn Any>);

impl VerifyingKey {
    /// Wraps a backend's own key value.
    pub fn new<T: Any>(key: T) -> Self {
        VerifyingKey(Rc::new(key))
    }

    /// The backend's own key value, if it is of type `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyingKey(..)")
    }
}

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

/// The platform services a [`TokenValidator`](crate::TokenValidator) uses.
#[derive(Clone)]
pub struct Platform {
    /// Outbound HTTP, for OIDC discovery and the key set.
    pub http: Rc<dyn HttpClient>,
    /// Signature verification.
    pub verifier: Rc<dyn SignatureVerifier>,
    /// The time source for token lifetimes and cache ages.
    pub clock: Rc<dyn Clock>,
    /// Where discovery and key-set documents are shared between isolates, if anywhere.
    pub store: Option<Rc<dyn KeyValueStore>>,
}

impl Platform {
    /// A platform without a shared store.
    pub fn new(
        http: Rc<dyn HttpClient>,
        verifier: Rc<dyn SignatureVerifier>,
        clock: Rc<dyn Clock>,
    ) -> Self {
        Platform { http, verifier, clock, store: None }
    }

    /// The same platform, sharing documents through `store`.
    pub fn with_store(mut self, store: Rc<dyn KeyValueStore>) -> Self {
        self.store = Some(store);
        self
    }
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Platform").field("store", &self.store.is_some()).finish_non_exhaustive()
    }
}
