//! The example Cloudflare Worker: an API protected by the caller's access token that calls two
//! downstream APIs (`Profile`, `Partner`) on the caller's behalf, with edge-identity.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /healthz` | 200, no auth |
//! | `GET /api/me` | scope `access_as_user`; `Profile` `GET me` for the user |
//! | `GET /api/dashboard` | `Profile` and `Partner` (`GET api/data`) at once: `{"profile", "data"}` |
//! | `POST /api/process` | forwards the JSON body to `Partner` `POST api/process` |
//! | `POST /api/jobs` | starts a long-running session, answers 202 `{"sessionKey"}`, and makes the first `Partner` call after the response (`ctx.wait_until`) |
//! | `POST /api/jobs/{sessionKey}/resume` | app-only token with role `Jobs.Resume`; continues the session by key (after the user's token expired) with `Partner` `POST api/process/complete` |
//!
//! Settings come from wrangler vars and secrets ([`settings`]); the SDK's errors are the answers.

pub mod settings;

#[cfg(target_arch = "wasm32")]
mod routes;
