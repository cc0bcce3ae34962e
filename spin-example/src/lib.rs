//! The example as a Fermyon Spin HTTP component (wasm32-wasip2, WASI 0.3, spin-sdk 7): the same
//! settings, routes and answers as `worker-example` for `GET /healthz`, `GET /api/me`,
//! `GET /api/dashboard`, and long-running sessions: `POST /api/jobs` (202 `{"sessionKey"}`; no
//! call after the answer, Spin has no `wait_until`), `POST /api/jobs/{key}/resume` (the user who
//! started it, or this API's scheduler with the role `Jobs.Resume`) and `DELETE /api/jobs/{key}`.
//!
//! Differences from Workers, all inside the SDK's Spin platform: outbound HTTP through
//! `spin_sdk::http::send`, the token cache in Spin's key-value store (with expiry written into
//! each value), settings from Spin variables, pure-Rust crypto, and no background work (tokens
//! are refreshed inline at the expiry margin).

#[cfg(target_os = "wasi")]
mod component;

/// The downstream APIs the routes call, by their names in `DownstreamApis`.
pub const PROFILE: &str = "Profile";
/// See [`PROFILE`].
pub const PARTNER: &str = "Partner";
/// The largest request body a route reads (a job's JSON).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
