//! The Workers side of the [`Coordinator`](crate::platform::Coordinator) seam: calls to the
//! coordinator Durable Object (`coordinator.rs`, its protocol) through a namespace binding, one
//! object per key.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::base64url;
use crate::platform::{Coordinator, LocalFuture, StoreError, Versioned};

/// One call, as the object reads it (`coordinator::Call`).
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Call<'a> {
    Get { key: &'a str },
    Put { key: &'a str, expect: u64, value: String, ttl_ms: u64 },
    Lease { key: &'a str, holder: &'a str, ttl_ms: u64 },
    Release { key: &'a str, holder: &'a str },
}

/// The object's answer (`coordinator::Answer`).
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    ok: bool,
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export async function coordinatorCall(namespace, key, body) {
  const stub = namespace.get(namespace.idFromName(key));
  const response = await stub.fetch('https://coordinator/v1', { method: 'POST', body });
  return [response.status, await response.text()];
}
"#)]
extern "C" {
    /// One call to the object for `key` of `namespace`: `[status, body text]`. One crossing
    /// into JavaScript per call (workers-rs's `Request`/`Stub` wrappers cost the Worker's
    /// upload several times this).
    #[wasm_bindgen::prelude::wasm_bindgen(js_name = coordinatorCall)]
    fn coordinator_call(
        namespace: &wasm_bindgen::JsValue,
        key: &str,
        body: &str,
    ) -> js_sys::Promise;
}

/// The coordinator Durable Object namespace bound to the Worker (default binding
/// `IDENTITY_COORDINATOR`). Each key is its own object (`idFromName`).
pub struct WorkerCoordinator {
    namespace: wasm_bindgen::JsValue,
}

impl std::fmt::Debug for WorkerCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerCoordinator")
    }
}

impl WorkerCoordinator {
    /// Calls the objects of `namespace`.
    pub fn new(namespace: worker::ObjectNamespace) -> WorkerCoordinator {
        WorkerCoordinator { namespace: AsRef::<wasm_bindgen::JsValue>::as_ref(&namespace).clone() }
    }

    async fn call(&self, key: &str, call: &Call<'_>) -> Result<Answer, StoreError> {
        let failed = |what: &str| StoreError(format!("coordinator: {what}"));
        let body = serde_json::to_string(call).map_err(|_| failed("the call"))?;
        let answer =
            wasm_bindgen_futures::JsFuture::from(coordinator_call(&self.namespace, key, &body))
                .await
                .map_err(|_| failed("the call was rejected"))?;
        let answer = js_sys::Array::from(&answer);
        // A status as an integer: formatting an `f64` would link the float formatter.
        let status = answer.get(0).as_f64().map_or(0, |s| s as u16);
        if status != 200 {
            return Err(StoreError(format!("coordinator answered {status}")));
        }
        let text = answer.get(1).as_string().unwrap_or_default();
        serde_json::from_str::<Answer>(&text).map_err(|_| failed("an unreadable answer"))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn decoded(value: Option<String>) -> Result<Option<Vec<u8>>, StoreError> {
    value
        .map(|v| base64url::decode(&v).ok_or_else(|| StoreError("coordinator value".into())))
        .transpose()
}

impl Coordinator for WorkerCoordinator {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Versioned, StoreError>> {
        Box::pin(async move {
            let answer = self.call(key, &Call::Get { key }).await?;
            Ok(Versioned { version: answer.version, value: decoded(answer.value)?, written: true })
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        expect: u64,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<Versioned, StoreError>> {
        Box::pin(async move {
            let call =
                Call::Put { key, expect, value: base64url::encode(&value), ttl_ms: millis(ttl) };
            let answer = self.call(key, &call).await?;
            Ok(Versioned {
                version: answer.version,
                value: decoded(answer.value)?,
                written: answer.ok,
            })
        })
    }

    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            Ok(self.call(key, &Call::Lease { key, holder, ttl_ms: millis(ttl) }).await?.ok)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.call(key, &Call::Release { key, holder }).await.map(|_| ()) })
    }
}
