//! The example as a Fermyon Spin HTTP component (wasm32-wasip2): the same settings, routes and
//! answers as `worker-example` for `GET /healthz`, `GET /api/me` and `GET /api/dashboard`.
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
