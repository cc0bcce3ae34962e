//! Fermyon Spin (wasm32-wasip2, spin-sdk 5.2.0): outbound HTTP through `spin_sdk::http::send`
//! with a timeout on the WASI monotonic clock, Spin's key-value store (no TTL in Spin: wrapped in
//! a [`TtlEnvelope`]), Spin variables as the config source, and [`platform`] to assemble them with
//! the pure-Rust crypto backend.
//!
//! Spin has no `wait_until`: [`platform`] sets no [`Background`](super::Background), so the SDK
//! refreshes a token inline once it reaches the expiry margin instead of in the background.
//! Spin runs one request per component instance, so isolate memory (L1) does not outlive a
//! request; the key-value store (L2) is what spares the identity provider.

use crate::config::SealSecret;
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
/// are the component's `allowed_outbound_hosts`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinHttp;

impl HttpClient for SpinHttp {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        timeout: Duration,
    ) -> LocalFuture<'_, Result<http::Response<Vec<u8>>, HttpError>> {
        Box::pin(async move {
            let send = spin_sdk::http::send::<_, http::Response<Vec<u8>>>(request);
            match select(Box::pin(send), sleep(timeout)).await {
                Either::Left((Ok(response), _)) => Ok(response),
                Either::Left((Err(e), _)) => Err(HttpError::Transport(e.to_string())),
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
    let platform = Platform::new(Rc::new(SpinHttp), Rc::new(RustCrypto), clock.clone())
        .with_logger(Rc::new(super::StderrLogger));
    match kv_label {
        None => Ok(platform),
        Some(label) => {
            let store = Rc::new(TtlEnvelope::new(SpinKv::open(label)?, clock));
            Ok(platform.with_store(store, seal))
        }
    }
}
