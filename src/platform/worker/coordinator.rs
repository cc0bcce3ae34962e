//! The coordinator: a Durable Object that holds what Workers KV can't keep consistent across
//! locations (issue 20). KV is eventually consistent (a write can take 60 s or more to show
//! elsewhere, the last writer wins, there is no compare-and-swap); a Durable Object is one
//! single-threaded instance per name with transactional storage, so a read followed by a write
//! inside one of its requests is atomic (no other request is delivered while it awaits its own
//! storage: the runtime's input gates).
//!
//! What it keeps is deliberately small: **versioned values** (a compare-and-swap on a version
//! that only ever grows) and **leases** (one holder per key until a deadline). The values are
//! opaque to it: the SDK seals them (`SealedStore`) before they leave the isolate, with the key
//! as associated data, so the object's storage holds no token or refresh token in clear. The
//! SDK picks one object per key (`id_from_name(key)`: one per session, one per token being
//! acquired), never one global object, so load spreads across objects and locations.
//!
//! The protocol is JSON over the stub's `fetch` (workers-rs 0.8.7 has no RPC methods on a Rust
//! class): `POST https://coordinator/v1` with one call (`get`, `put`, `lease` or `release`,
//! tagged by `op`), answered by one JSON answer (`version`, `value`, `ok`). A call the object does
//! not understand (another protocol version) answers 400, and the SDK falls back.

use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Request, Response, Result, State};

/// The path of protocol version 1.
pub(crate) const PATH: &str = "/v1";

/// One call to the coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Call {
    /// The value under `key` and its version (0: never written).
    Get {
        /// The key.
        key: String,
    },
    /// Writes `value` under `key` for `ttl_ms` if the version is still `expect`; the answer
    /// carries the new version, or the current value when it was not.
    Put {
        /// The key.
        key: String,
        /// The version the caller read.
        expect: u64,
        /// The value, base64url (sealed by the caller).
        value: String,
        /// How long the value lives, in milliseconds.
        ttl_ms: u64,
    },
    /// Takes the lease on `key` for `ttl_ms` unless another holder has it.
    Lease {
        /// The key.
        key: String,
        /// Who asks (random per attempt).
        holder: String,
        /// How long the lease lasts, in milliseconds.
        ttl_ms: u64,
    },
    /// Gives the lease back, if `holder` has it.
    Release {
        /// The key.
        key: String,
        /// Who gives it back.
        holder: String,
    },
}

/// The answer to one [`Call`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Answer {
    /// The version now (after a successful put: the new one).
    #[serde(default)]
    pub(crate) version: u64,
    /// The value now, base64url, if there is a live one (get; a refused put).
    #[serde(default)]
    pub(crate) value: Option<String>,
    /// Whether the put or the lease was granted.
    #[serde(default)]
    pub(crate) ok: bool,
}

/// What the object stores per key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    version: u64,
    value: String,
    expires_at_ms: u64,
}

/// A lease: its holder, until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    holder: String,
    until_ms: u64,
}

pub use class::EdgeIdentityCoordinator;

/// The class itself: `#[durable_object]` generates its wasm-bindgen constructor and `fetch`,
/// which carry no documentation of their own.
#[allow(missing_docs)]
mod class {
    use worker::{durable_object, State};

    /// The Durable Object class. Export it from the Worker (`pub use
    /// edge_identity::platform::worker::coordinator::EdgeIdentityCoordinator;`) and bind a namespace
    /// of it as `IDENTITY_COORDINATOR` (see the example's `wrangler.toml`): `web_api(&env, ctx)`
    /// then uses it.
    #[durable_object(fetch)]
    pub struct EdgeIdentityCoordinator {
        pub(super) state: State,
    }
}

fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

impl DurableObject for class::EdgeIdentityCoordinator {
    fn new(state: State, _env: Env) -> Self {
        class::EdgeIdentityCoordinator { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() != PATH {
            return Response::error("unknown coordinator protocol", 400);
        }
        let Ok(call) = req.json::<Call>().await else {
            return Response::error("not a coordinator call", 400);
        };
        let storage = self.state.storage();
        let now = now_ms();
        let answer = match call {
            Call::Get { key } => {
                let entry: Option<Entry> = storage.get(&value_key(&key)).await?;
                match entry {
                    Some(e) => Answer {
                        version: e.version,
                        value: (e.expires_at_ms > now).then_some(e.value),
                        ok: true,
                    },
                    None => Answer { ok: true, ..Answer::default() },
                }
            }
            Call::Put { key, expect, value, ttl_ms } => {
                let entry: Option<Entry> = storage.get(&value_key(&key)).await?;
                let version = entry.as_ref().map_or(0, |e| e.version);
                if version != expect {
                    let value = entry.filter(|e| e.expires_at_ms > now).map(|e| e.value);
                    Answer { version, value, ok: false }
                } else {
                    let next = version.saturating_add(1);
                    let stored =
                        Entry { version: next, value, expires_at_ms: now.saturating_add(ttl_ms) };
                    storage.put(&value_key(&key), stored).await?;
                    Answer { version: next, value: None, ok: true }
                }
            }
            Call::Lease { key, holder, ttl_ms } => {
                let held: Option<Held> = storage.get(&lease_key(&key)).await?;
                let free = held.as_ref().is_none_or(|h| h.until_ms <= now || h.holder == holder);
                if free {
                    let until_ms = now.saturating_add(ttl_ms);
                    storage.put(&lease_key(&key), Held { holder, until_ms }).await?;
                }
                Answer { ok: free, ..Answer::default() }
            }
            Call::Release { key, holder } => {
                let held: Option<Held> = storage.get(&lease_key(&key)).await?;
                if held.is_some_and(|h| h.holder == holder) {
                    storage.delete(&lease_key(&key)).await?;
                }
                Answer { ok: true, ..Answer::default() }
            }
        };
        Response::from_json(&answer)
    }
}

fn value_key(key: &str) -> String {
    format!("v:{key}")
}

fn lease_key(key: &str) -> String {
    format!("l:{key}")
}
