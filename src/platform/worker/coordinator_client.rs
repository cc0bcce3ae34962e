//! The Workers side of the [`Coordinator`](crate::platform::Coordinator) seam: calls to the
//! coordinator Durable Object (`coordinator.rs`, its protocol) through a namespace binding, one
//! object per key.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::platform::{Coordinator, LocalFuture, StoreError, Versioned};

/// The protocol path; kept equal to the object's (`coordinator::PATH`).
const PATH: &str = "https://coordinator/v1";

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

/// The coordinator Durable Object namespace bound to the Worker (default binding
/// `IDENTITY_COORDINATOR`). Each key is its own object (`id_from_name`).
pub struct WorkerCoordinator {
    namespace: worker::ObjectNamespace,
}

impl std::fmt::Debug for WorkerCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerCoordinator")
    }
}

impl WorkerCoordinator {
    /// Calls the objects of `namespace`.
    pub fn new(namespace: worker::ObjectNamespace) -> WorkerCoordinator {
        WorkerCoordinator { namespace }
    }

    async fn call(&self, key: &str, call: &Call<'_>) -> Result<Answer, StoreError> {
        let failed = |what: &str, e: worker::Error| StoreError(format!("coordinator {what}: {e}"));
        let stub = self
            .namespace
            .id_from_name(key)
            .and_then(|id| id.get_stub())
            .map_err(|e| failed("stub", e))?;
        let body = serde_json::to_string(call).map_err(|e| StoreError(e.to_string()))?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post).with_body(Some(body.into()));
        let request =
            worker::Request::new_with_init(PATH, &init).map_err(|e| failed("request", e))?;
        let mut response =
            stub.fetch_with_request(request).await.map_err(|e| failed("fetch", e))?;
        if response.status_code() != 200 {
            return Err(StoreError(format!("coordinator answered {}", response.status_code())));
        }
        response.json::<Answer>().await.map_err(|e| failed("answer", e))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn decoded(value: Option<String>) -> Result<Option<Vec<u8>>, StoreError> {
    value
        .map(|v| URL_SAFE_NO_PAD.decode(v).map_err(|_| StoreError("coordinator value".into())))
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
            let call = Call::Put {
                key,
                expect,
                value: URL_SAFE_NO_PAD.encode(value),
                ttl_ms: millis(ttl),
            };
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
