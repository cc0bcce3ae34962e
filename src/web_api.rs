//! The front door: one [`WebApi`] per isolate holds token validation, token acquisition and the
//! downstream APIs; a route authorizes its request in one call and calls APIs by name.
//!
//! On Workers, `platform::worker::web_api(&env, ctx)` builds it from the worker's bindings the
//! first time and keeps it for the isolate; on Spin, `platform::spin::web_api()` builds it from
//! Spin variables for the request (an instance serves one request there).
//!
//! ```no_run
//! # async fn route(api: edge_identity::WebApi, request: http::Request<Vec<u8>>)
//! #     -> Result<http::Response<Vec<u8>>, edge_identity::Error> {
//! use edge_identity::Requirement;
//!
//! let caller = api.authorize(&request, Requirement::scope(&["access_as_user"])).await?;
//! let profile = api.call_api("Profile").get("me").for_user(&caller).bytes().await?;
//! Ok(http::Response::new(profile))
//! # }
//! ```

use std::rc::Rc;

use crate::acquisition::{Session, SessionStart};
use crate::config_error::ConfigError;
use crate::downstream::{DownstreamApis, DownstreamCall};
use crate::error::Error;
use crate::platform::{Background, Platform};
use crate::settings::HostSettings;
use crate::validation::authorize::{Requirement, ValidatedToken};
use crate::validation::bearer::AuthorizationHeaders;
use crate::{TokenAcquirer, TokenValidator};

/// A protected web API: what Microsoft.Identity.Web's `AddMicrosoftIdentityWebApi` plus
/// `EnableTokenAcquisitionToCallDownstreamApi` plus `AddDownstreamApis` set up, as one object.
/// Cheap to clone; clones share the isolate's caches.
#[doc(alias = "AddMicrosoftIdentityWebApi")]
#[doc(alias = "TokenAcquirerFactory")]
#[doc(alias = "IDownstreamApi")]
#[derive(Clone)]
pub struct WebApi {
    validator: Rc<TokenValidator>,
    apis: DownstreamApis,
}

impl std::fmt::Debug for WebApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApi")
            .field("validator", &self.validator)
            .field("apis", &self.apis)
            .field("background", &self.acquirer().background().is_some())
            .finish()
    }
}

impl WebApi {
    /// Builds the API from checked host settings and a platform (whose store should be sealed
    /// with `settings.seal_secret`).
    pub fn new(settings: HostSettings, platform: Platform) -> Result<WebApi, Error> {
        // A seal secret rotation under way: the previous secret's values open too.
        if let (Some(previous), Some(store)) = (&settings.previous_seal_secret, &platform.store) {
            store.accept_previous(previous);
        }
        let platform = platform.with_events(settings.config.events.event_options()?);
        let mut validator =
            TokenValidator::from_config(&settings.config.azure_ad, platform.clone())?;
        if validator.options().dpop.nonce {
            // Nonces are made with the seal secret, so every isolate accepts the others'.
            let secret = settings.seal_secret.as_ref().ok_or_else(|| {
                ConfigError::new(
                    "AzureAd.Dpop.Nonce",
                    "needs the seal secret (TOKEN_CACHE_KEY) the nonces are made with",
                )
            })?;
            validator = validator.with_dpop_nonce_secret(secret);
        }
        let acquirer = TokenAcquirer::new(platform, settings.acquisition);
        let apis = DownstreamApis::from_config(acquirer, &settings.config)?;
        Ok(WebApi { validator: Rc::new(validator), apis })
    }

    /// The same API, running background work (token refreshes after the response) with
    /// `background`, such as the request's `ctx.wait_until` on Workers.
    pub fn with_background(&self, background: Rc<dyn Background>) -> WebApi {
        WebApi { validator: self.validator.clone(), apis: self.apis.with_background(background) }
    }

    /// Runs `work` after the response where the host allows it (Workers: `ctx.wait_until`),
    /// and returns `false`, leaving `work` undone, where it does not (Spin).
    pub fn spawn(&self, work: crate::platform::LocalFuture<'static, ()>) -> bool {
        match self.acquirer().background() {
            Some(background) => {
                background.spawn(work);
                true
            }
            None => false,
        }
    }

    /// Authorizes `request` in one call: its access token validated (`Bearer`, or `DPoP` with
    /// its proof where `AzureAd.Dpop` takes it), then `requirement` checked. The rejection is
    /// an [`Error`] that is its own answer (400, 401, 403 or 503, with every challenge the API
    /// gives and its `resource_metadata`).
    pub async fn authorize(
        &self,
        request: &impl AuthorizationHeaders,
        requirement: Requirement<'_>,
    ) -> Result<ValidatedToken, Error> {
        Ok(self.validator.authorize(request, requirement).await?)
    }

    /// Checks `requirement` against `caller`, whom [`authorize`](Self::authorize) already
    /// let in for `request` with a weaker requirement: for a route that asks users for a scope
    /// and apps for an app role. A refusal is the same 403 `authorize` gives, and like it is
    /// written as a `request.refused` event, counted, and passed through the hooks
    /// ([`Requirement::check`] decides alike but observes nothing).
    ///
    /// ```no_run
    /// # async fn route(api: edge_identity::WebApi, request: http::Request<Vec<u8>>)
    /// #     -> Result<(), edge_identity::Error> {
    /// use edge_identity::Requirement;
    ///
    /// let caller = api.authorize(&request, Requirement::Authenticated).await?;
    /// let needed = if caller.is_app_only() {
    ///     Requirement::app_role(&["Jobs.Resume"])
    /// } else {
    ///     Requirement::scope(&["access_as_user"])
    /// };
    /// api.require(&request, &caller, needed)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn require(
        &self,
        request: &impl AuthorizationHeaders,
        caller: &ValidatedToken,
        requirement: Requirement<'_>,
    ) -> Result<(), Error> {
        Ok(self.validator.require(request, caller, requirement)?)
    }

    /// The answer to a request for this API's protected-resource metadata (RFC 9728) at
    /// `/.well-known/oauth-protected-resource` (followed by `AzureAd.PublicUrl`'s path where it
    /// has one); `None` for any other request. Route it first: clients read it without a token.
    ///
    /// ```no_run
    /// # async fn route(api: edge_identity::WebApi, request: http::Request<Vec<u8>>)
    /// #     -> Result<http::Response<Vec<u8>>, edge_identity::Error> {
    /// if let Some(metadata) = api.resource_metadata(&request) {
    ///     return Ok(metadata);
    /// }
    /// # Ok(http::Response::new(Vec::new()))
    /// # }
    /// ```
    pub fn resource_metadata(
        &self,
        request: &impl AuthorizationHeaders,
    ) -> Option<http::Response<Vec<u8>>> {
        self.validator.resource_metadata(request)
    }

    /// Starts a long-running session for `caller` (Microsoft.Identity.Web's
    /// `LongRunningWebApiSessionKey`) with the scopes of the downstream API `api`, and returns
    /// its key with a first token. Continue it later, after the user's token has expired, with
    /// `call_api(api)….for_session(&key, &caller)`: only the user and the apps named in
    /// `start` (such as [`client_id`](Self::client_id), this app's scheduler) may.
    pub async fn start_session(
        &self,
        caller: &ValidatedToken,
        api: &str,
        start: impl Into<SessionStart>,
    ) -> Result<Session, Error> {
        Ok(self.apis.start_session(caller, api, start).await?)
    }

    /// This API's client id (its app-only tokens carry it as `azp`/`appid`).
    pub fn client_id(&self) -> &str {
        &self.acquirer().options().client_id
    }

    /// A call to the downstream API configured as `name` (see [`DownstreamCall`]).
    pub fn call_api(&self, name: &str) -> DownstreamCall<'_> {
        self.apis.call_api(name)
    }

    /// Sets the validation hooks run on every request from now on (Microsoft.Identity.Web's
    /// `JwtBearerEvents`: [`ValidationHooks`](crate::ValidationHooks)). On Workers the
    /// `WebApi` lives as long as the isolate: set them once, where it is first built.
    pub fn set_hooks(&self, hooks: crate::ValidationHooks) {
        self.validator.set_hooks(hooks);
    }

    /// Sets the hook told of every token acquired for a downstream call from now on
    /// (Microsoft.Identity.Web's `OnTokenAcquired`; [`OnTokenAcquired`](crate::OnTokenAcquired)).
    pub fn set_on_token_acquired(&self, hook: crate::OnTokenAcquired) {
        self.acquirer().set_on_token_acquired(hook);
    }

    /// Token validation.
    pub fn validator(&self) -> &TokenValidator {
        &self.validator
    }

    /// The downstream APIs.
    pub fn downstream_apis(&self) -> &DownstreamApis {
        &self.apis
    }

    /// Token acquisition (sessions, tokens outside the named APIs).
    pub fn acquirer(&self) -> &TokenAcquirer {
        self.apis.acquirer()
    }
}
