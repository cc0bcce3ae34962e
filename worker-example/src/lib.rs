//! The example Cloudflare Worker: an API protected by the caller's access token that calls two
//! downstream APIs (`Profile`, `Partner`) on the caller's behalf, with edge-identity.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /healthz` | 200, no auth |
//! | `GET /.well-known/oauth-protected-resource` | the API's protected-resource metadata (RFC 9728), no token needed |
//! | `GET /api/whoami` | scope `access_as_user`; `{"sub", "scheme", "jkt"}`: `Bearer`, or `DPoP` with the bound key's thumbprint |
//! | `GET /api/me` | scope `access_as_user`; `Profile` `GET me` for the user |
//! | `GET /api/dashboard` | `Profile` and `Partner` (`GET api/data`) at once: `{"profile", "data"}` |
//! | `POST /api/process` | forwards the JSON body to `Partner` `POST api/process` |
//! | `POST /api/jobs` | starts a long-running session (keyed by the body's `jobId`, or one allocated from the token), answers 202 `{"sessionKey"}`, and makes the first `Partner` call after the response (`ctx.wait_until`) |
//! | `POST /api/jobs/{sessionKey}/resume` | app-only token with role `Jobs.Resume`; continues the session by key (after the user's token expired) with `Partner` `POST api/process/complete` |
//! | `DELETE /api/jobs/{sessionKey}` | ends the session (its user or the scheduler app): 204 |
//!
//! With a Durable Object namespace of [`EdgeIdentityCoordinator`] bound as
//! `IDENTITY_COORDINATOR` (`wrangler.toml`), sessions and token requests are coordinated across
//! isolates and locations; without it, through KV alone.
//!
//! Settings come from wrangler vars and secrets ([`settings`]); the SDK's errors are the answers.

pub mod settings;

#[cfg(target_arch = "wasm32")]
mod routes;

/// The coordinator class, exported so that `wrangler.toml` can bind it.
#[cfg(target_arch = "wasm32")]
pub use edge_identity::platform::worker::coordinator::EdgeIdentityCoordinator;
