//! Validating incoming access tokens.
//!
//! | file | concern |
//! |---|---|
//! | [`bearer`] | the `Authorization: Bearer` header |
//! | [`parse`] | the compact JWS, refused at the first hostile shape |
//! | [`jwk`] | algorithms, public keys, whether a key fits a token |
//! | [`keys`] | discovery, the key set, its caches and rotation |
//! | [`signature`] | one signature against one key |
//! | [`claims`](self) | lifetime, issuer, audience, tenant |
//! | [`provider`] | each provider's token shapes: app-only, ID tokens, scopes and roles |
//! | [`authorize`] | scopes and app roles |
//! | [`dpop`] | a DPoP proof (RFC 9449) against its request and token; server nonces |
//! | [`replay`](self) | a DPoP proof is good once: the isolate's memory and the shared store |
//! | [`challenge`] | the answer to a refused request: every scheme's challenge, `resource_metadata` |
//! | [`resource_metadata`] | the protected-resource metadata document (RFC 9728) |
//!
//! [`TokenValidator::validate`] runs them in that order: cheap structural checks first, then the
//! key, the signature, and only then the claims of a token known to come from the issuer.

pub mod authority;
pub mod authorize;
pub mod bearer;
pub mod challenge;
mod claim_set;
mod claims;
pub mod dpop;
pub mod error;
pub mod hooks;
pub mod jwk;
pub mod keys;
pub mod options;
pub mod parse;
pub mod provider;
mod replay;
pub mod resource_metadata;
pub mod signature;
mod verified;

use std::rc::Rc;

use crate::event::{Level, Step, Trace};
use crate::platform::Platform;
use crate::secret::SealSecret;
use crate::validation::challenge::{Refusal, Scheme};
use crate::validation::error::{DpopError, ValidationError};
use crate::validation::options::{DpopMode, ValidationOptions};
use authorize::{Requirement, ValidatedToken};
use keys::{KeyLookup, KeySnapshot, KeySource, KeySourcePolicy};
use parse::Jws;

/// Most keys tried for a token without `kid` (bounds the work one request can cause).
const MAX_KEYS_TRIED_WITHOUT_KID: usize = 4;

/// Validates the access tokens of incoming requests for one API. Build one per isolate and
/// keep it: it holds the issuer's keys between requests.
///
/// ```no_run
/// # async fn example(platform: edge_identity::Platform, request: http::Request<Vec<u8>>)
/// #     -> http::Response<Vec<u8>> {
/// use edge_identity::{IdentityConfig, TokenValidator};
///
/// let config = IdentityConfig::from_json(r#"{"AzureAd": {
///     "TenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "ClientId": "my-api-client-id"}}"#)
///     .expect("configuration");
/// let validator = TokenValidator::from_config(&config.azure_ad, platform).expect("configuration");
///
/// let token = match validator.validate_request(&request).await {
///     Ok(token) => token,
///     Err(error) => return error.to_response(), // 401/403 with WWW-Authenticate, or 503
/// };
/// if let Err(error) = token.require_scope(&["access_as_user"]) {
///     return error.to_response(); // 403 insufficient_scope
/// }
/// http::Response::new(format!("hello {}", token.object_id().unwrap_or("?")).into_bytes())
/// # }
/// ```
pub struct TokenValidator {
    options: ValidationOptions,
    platform: Platform,
    keys: Rc<KeySource>,
    verified: verified::VerifiedTokens,
    /// DPoP proofs seen in this isolate, until their window ends.
    proofs: replay::SeenProofs,
    /// Where DPoP proofs must carry a server nonce: the nonces' secret.
    nonces: Option<dpop::NonceIssuer>,
    /// The DPoP proof keys imported in this isolate.
    proof_keys: dpop::ProofKeys,
    /// The host's hooks, if it set any.
    hooks: hooks::HookSlot,
}

impl std::fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenValidator").field("options", &self.options).finish_non_exhaustive()
    }
}

impl TokenValidator {
    /// A validator for checked options.
    pub fn new(options: ValidationOptions, platform: Platform) -> Self {
        let policy = KeySourcePolicy::for_authority(
            &options.authority,
            options.key_set_max_age,
            options.key_refresh_cooldown,
            options.metadata_timeout,
        )
        .for_provider(&options.authority, options.provider);
        let keys = platform.key_source(policy);
        let verified = verified::VerifiedTokens::new(
            options.verified_cache_max_entries,
            options.verified_cache_max_bytes,
        );
        TokenValidator {
            options,
            platform,
            keys,
            verified,
            proofs: replay::SeenProofs::default(),
            nonces: None,
            proof_keys: dpop::ProofKeys::default(),
            hooks: hooks::HookSlot::default(),
        }
    }

    /// The same validator, giving out and accepting DPoP server nonces made with `secret` (the
    /// seal secret: every isolate that holds it accepts the others' nonces). Used where
    /// `AzureAd.Dpop.Nonce` asks for nonces; without it, such a validator refuses every proof.
    pub fn with_dpop_nonce_secret(mut self, secret: &SealSecret) -> Self {
        let slot_ms = crate::platform::millis(self.options.dpop.proof_max_age);
        self.nonces = Some(dpop::NonceIssuer::new(secret.expose().as_bytes(), slot_ms));
        self
    }

    /// The options in force.
    pub fn options(&self) -> &ValidationOptions {
        &self.options
    }

    /// How many verified tokens this isolate keeps (see [`validate`](Self::validate)).
    pub fn verified_tokens(&self) -> usize {
        self.verified.len()
    }

    /// The issuer's key source (for inspection and tests).
    pub fn key_source(&self) -> &KeySource {
        &self.keys
    }

    /// Validates the access token of `request` (an `http::Request`, or any other
    /// [`AuthorizationHeaders`](bearer::AuthorizationHeaders)): `Authorization: Bearer`, or
    /// `Authorization: DPoP` with its `DPoP` proof where `AzureAd.Dpop.Mode` takes it (RFC 9449:
    /// the proof is checked on every request, replay included). A refusal carries the answer:
    /// its [`to_response`](Refusal::to_response) has every challenge the API gives.
    pub async fn validate_request(
        &self,
        request: &impl bearer::AuthorizationHeaders,
    ) -> Result<ValidatedToken, Refusal> {
        // Events on: the request's trace and start, read before anything else (sync code only,
        // so the bearer path stays one async level above `validate`).
        let traced = self
            .platform
            .events
            .as_ref()
            .map(|_| (self.trace_of(request), self.platform.clock.now_millis()));
        let mut presented = None;
        let mut outcome = self.validate_presented(request, &mut presented).await;
        let hooks = self.hooks.get();
        if let (Ok(token), Some(rule)) =
            (&outcome, hooks.as_ref().and_then(|h| h.on_token_validated.as_ref()))
        {
            if let Err(error) = rule(token) {
                outcome = Err(error);
            }
        }
        match (outcome, traced) {
            (Ok(token), None) => Ok(token),
            (Err(error), None) => Err(self.hooked(self.refusal(error, presented, request))),
            (Ok(token), Some((trace, started))) => {
                let elapsed = self.platform.clock.now_millis().saturating_sub(started);
                trace.add_timing(Step::Validation, elapsed);
                self.emit_validated(&token, &trace, elapsed);
                Ok(token.traced(trace))
            }
            (Err(error), Some((trace, started))) => {
                let elapsed = self.platform.clock.now_millis().saturating_sub(started);
                trace.add_timing(Step::Validation, elapsed);
                let refusal = self.refusal(error, presented, request);
                self.emit_refused(&refusal, presented, &trace, elapsed);
                Err(self.hooked(refusal.traced(&trace)))
            }
        }
    }

    /// Sets the hooks run on every request from now on (see [`hooks::ValidationHooks`]).
    pub fn set_hooks(&self, hooks: hooks::ValidationHooks) {
        self.hooks.set(hooks);
    }

    /// `refusal`, told to `on_authentication_failed` and passed through `on_challenge`.
    fn hooked(&self, mut refusal: Refusal) -> Refusal {
        if let Some(hooks) = self.hooks.get() {
            if let Some(failed) = &hooks.on_authentication_failed {
                failed(&refusal);
            }
            if let Some(challenge) = &hooks.on_challenge {
                challenge(&mut refusal);
            }
        }
        refusal
    }

    /// Which scheme `request` presented its token with (`presented`), and the token validated.
    async fn validate_presented(
        &self,
        request: &impl bearer::AuthorizationHeaders,
        presented: &mut Option<Scheme>,
    ) -> Result<ValidatedToken, ValidationError> {
        if self.options.provider == provider::Provider::CloudflareAccess {
            if let Some(assertion) = bearer::access_assertion(request)? {
                *presented = Some(Scheme::Bearer);
                return self.validate_bearer(&assertion).await;
            }
        }
        let values = request.authorization()?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let dpop = self.options.dpop.mode != DpopMode::Off;
        let (scheme, value) = bearer::credentials(&values, dpop)?;
        *presented = Some(scheme);
        match scheme {
            Scheme::Bearer if self.options.dpop.mode == DpopMode::Required => {
                Err(ValidationError::Dpop(DpopError::Required))
            }
            Scheme::Bearer => {
                self.validate(value).await.map_err(|e| bearer::or_not_token68(value, e))
            }
            Scheme::Dpop => self.validate_dpop(value, request).await,
        }
    }

    /// The trace of `request`: the caller's `traceparent` or `client-request-id`, else new.
    fn trace_of(&self, request: &impl bearer::AuthorizationHeaders) -> std::sync::Arc<Trace> {
        let first = |name: &str| request.header_values(name).ok().and_then(|mut v| v.pop());
        let mut random = [0u8; 16];
        if self.platform.crypto.random(&mut random).is_err() {
            random[..8].copy_from_slice(&self.platform.clock.now_millis().to_be_bytes());
            random[15] = 1;
        }
        let trace = Trace::from_headers(
            first("traceparent").as_deref(),
            first("client-request-id").as_deref(),
            random,
        );
        let answered = self.platform.events.as_ref().is_some_and(|e| e.server_timing);
        std::sync::Arc::new(trace.answered_with_server_timing(answered))
    }

    fn emit_validated(&self, token: &ValidatedToken, trace: &Trace, elapsed: u64) {
        let options = self.platform.events.clone();
        let claims = options.as_ref().map(|e| e.claims.as_slice()).unwrap_or_default();
        self.platform.emit(
            "request.validated",
            Level::Info,
            Some(&trace.correlation_id),
            |event| {
                let mut event = event
                    .with("scheme", token.scheme().name())
                    .with("app_only", token.is_app_only())
                    .with("verified_cache", token.is_remembered())
                    .with("validation_ms", elapsed);
                for name in claims {
                    if let Some(value) = token.claim_str(name) {
                        event = event.with_owned(name, value);
                    }
                }
                if let Some(oid) = token.object_id() {
                    event = event.with("oid_hash", crate::cache::key::short_hash(oid));
                }
                event
            },
        );
    }

    fn emit_refused(
        &self,
        refusal: &Refusal,
        presented: Option<Scheme>,
        trace: &Trace,
        elapsed: u64,
    ) {
        self.platform.emit("request.refused", Level::Warn, Some(&trace.correlation_id), |event| {
            event
                .with("code", refusal.code())
                .with("status", refusal.status().as_u16())
                .with("scheme", presented.map(Scheme::name))
                .with("validation_ms", elapsed)
        });
    }

    /// A DPoP request: the token (from the verified cache or checked whole), bound to a key,
    /// then the proof of that key, on every request (RFC 9449 §7.1).
    async fn validate_dpop(
        &self,
        value: &str,
        request: &impl bearer::AuthorizationHeaders,
    ) -> Result<ValidatedToken, ValidationError> {
        let token =
            self.validate_token(value).await.map_err(|e| bearer::or_not_token68(value, e))?;
        let jkt =
            token.dpop_key_thumbprint().ok_or(ValidationError::Dpop(DpopError::TokenNotBound))?;
        let mut proofs = request.header_values(dpop::DPOP_HEADER)?;
        let proof = match proofs.len() {
            0 => return Err(ValidationError::Dpop(DpopError::ProofMissing)),
            1 => proofs.pop().unwrap_or_default(),
            _ => return Err(ValidationError::Dpop(DpopError::ProofRepeated)),
        };
        // Fetch joins repeated headers with ", ": two proofs arrive as one value.
        if proof.contains(',') {
            return Err(ValidationError::Dpop(DpopError::ProofRepeated));
        }
        let unknown = ValidationError::Dpop(DpopError::RequestUnknown);
        let method = request.method().ok_or(unknown.clone())?;
        let url = self.client_url(request.url().as_deref()).ok_or(unknown)?;
        let now_ms = self.platform.clock.now_millis();
        // The token's SHA-256 is `ath`: computed once per validated token, kept with it.
        let ath = token.token_hash();
        let context = dpop::ProofContext { method: &method, url: &url, ath, jkt, now_ms };
        let dpop_options = &self.options.dpop;
        let verifier = self.platform.crypto.as_ref();
        let keys = Some(&self.proof_keys);
        let proof = dpop::check_proof_with(&proof, context, dpop_options, verifier, keys).await?;
        if dpop_options.nonce {
            let fresh = proof.nonce.as_deref().is_some_and(|nonce| {
                self.nonces.as_ref().is_some_and(|issuer| issuer.accepts(nonce, now_ms))
            });
            if !fresh {
                return Err(ValidationError::Dpop(DpopError::NonceRequired));
            }
        }
        let window_ends_ms = proof
            .issued_at
            .saturating_add(dpop_options.proof_max_age.as_secs())
            .saturating_mul(1000)
            .max(now_ms);
        let across = dpop_options.replay_across_isolates;
        let first = replay::first_use(
            &self.platform,
            &self.proofs,
            proof.replay_id,
            window_ends_ms,
            across,
        );
        if !first.await {
            return Err(ValidationError::Dpop(DpopError::ProofReplayed));
        }
        Ok(token.presented_with(Scheme::Dpop))
    }

    /// The URL the client called, from the URL the request arrived at: with the scheme, host
    /// and port of `AzureAd.PublicUrl` where it is configured.
    fn client_url(&self, arrived: Option<&str>) -> Option<url::Url> {
        let mut url = url::Url::parse(arrived?).ok()?;
        if let Some(public) = &self.options.public_url {
            url.set_scheme(public.scheme()).ok()?;
            url.set_host(public.host_str()).ok()?;
            url.set_port(public.port()).ok()?;
        }
        Some(url)
    }

    /// The answer to `request`, refused for `error`.
    fn refusal(
        &self,
        error: ValidationError,
        presented: Option<Scheme>,
        request: &impl bearer::AuthorizationHeaders,
    ) -> Refusal {
        let request_url = match &self.options.public_url {
            Some(_) => None,
            None => request.url().and_then(|u| url::Url::parse(&u).ok()),
        };
        let metadata =
            resource_metadata::resource(self.options.public_url.as_ref(), request_url.as_ref())
                .map(|resource| resource_metadata::metadata_url(&resource));
        let nonce = match (&error, &self.nonces) {
            (ValidationError::Dpop(DpopError::NonceRequired), Some(issuer)) => {
                Some(issuer.issue(self.platform.clock.now_millis()))
            }
            _ => None,
        };
        Refusal::new(error, &self.options.dpop, presented, metadata.as_deref(), nonce)
    }

    /// Authorizes `request` in one call: its access token validated (as
    /// [`validate_request`](Self::validate_request)), then `requirement` checked.
    /// `request` is an `http::Request`, or any other
    /// [`AuthorizationHeaders`](bearer::AuthorizationHeaders) (the Workers and Spin request
    /// types, with their features). The [`Refusal`]'s
    /// [`to_response`](Refusal::to_response) is the answer (400, 401, 403 or 503); `?` turns it
    /// into the crate's [`Error`](crate::Error) where a handler answers with that.
    ///
    /// ```no_run
    /// # async fn example(validator: &edge_identity::TokenValidator, request: http::Request<Vec<u8>>)
    /// #     -> Result<http::Response<Vec<u8>>, edge_identity::Error> {
    /// use edge_identity::Requirement;
    ///
    /// let caller = validator.authorize(&request, Requirement::scope(&["access_as_user"])).await?;
    /// Ok(http::Response::new(caller.object_id().unwrap_or_default().as_bytes().to_vec()))
    /// # }
    /// ```
    pub async fn authorize(
        &self,
        request: &impl bearer::AuthorizationHeaders,
        requirement: Requirement<'_>,
    ) -> Result<ValidatedToken, Refusal> {
        let caller = self.validate_request(request).await?;
        self.require(request, &caller, requirement)?;
        Ok(caller)
    }

    /// Checks `requirement` against `caller`, a token already validated for `request` (by
    /// [`authorize`](Self::authorize) with a weaker requirement): for a route whose requirement
    /// depends on who called (a scope for users, an app role for apps). A refusal is what
    /// `authorize` would have answered (403 `insufficient_scope` with its challenge), written as
    /// `request.refused`, counted, and passed through the hooks. [`Requirement::check`] decides
    /// the same but observes nothing.
    pub fn require(
        &self,
        request: &impl bearer::AuthorizationHeaders,
        caller: &ValidatedToken,
        requirement: Requirement<'_>,
    ) -> Result<(), Refusal> {
        let Err(error) = requirement.check(caller) else {
            return Ok(());
        };
        let mut refusal = self.refusal(error, Some(caller.scheme()), request);
        if let Some(trace) = caller.trace() {
            // The token was validated (its `request.validated` written); the route's
            // requirement refused it, which is a refusal of its own (403 and its code).
            let elapsed = trace.step_ms(Step::Validation).unwrap_or_default();
            self.emit_refused(&refusal, Some(caller.scheme()), trace, elapsed);
            refusal = refusal.traced(trace);
        }
        Err(self.hooked(refusal))
    }

    /// The protected-resource metadata (RFC 9728) of this API as `request` reaches it: the
    /// JSON answer when `request` asks for `/.well-known/oauth-protected-resource` (or that
    /// path followed by `AzureAd.PublicUrl`'s), `None` for any other request.
    pub fn resource_metadata(
        &self,
        request: &impl bearer::AuthorizationHeaders,
    ) -> Option<http::Response<Vec<u8>>> {
        let arrived = url::Url::parse(&request.url()?).ok()?;
        if !arrived.path().starts_with(resource_metadata::WELL_KNOWN_PATH) {
            return None;
        }
        let resource =
            resource_metadata::resource(self.options.public_url.as_ref(), Some(&arrived))?;
        let identifier = resource_metadata::requested(arrived.path(), &resource)?;
        let document = resource_metadata::document(&self.options, &identifier);
        http::Response::builder()
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CACHE_CONTROL, "max-age=3600")
            .header("access-control-allow-origin", "*")
            .body(serde_json::to_vec(&document).unwrap_or_default())
            .ok()
    }

    /// Validates an `Authorization` header value (`None` when the request had none).
    pub async fn validate_authorization(
        &self,
        authorization: Option<&str>,
    ) -> Result<ValidatedToken, ValidationError> {
        let values: Vec<&str> = authorization.into_iter().collect();
        self.validate_bearer(bearer::bearer_value(&values)?).await
    }

    /// Validates the value of a `Bearer` header: a value that is not a token68 string is a 400
    /// `invalid_request` (RFC 6750 §3.1), whatever else is wrong with it.
    async fn validate_bearer(&self, value: &str) -> Result<ValidatedToken, ValidationError> {
        self.validate(value).await.map_err(|e| bearer::or_not_token68(value, e))
    }

    /// Validates a compact JWT access token presented as a bearer token. A token bound to a key
    /// (`cnf`) is refused, since no proof of that key comes with it (RFC 9449 §7.2; unless
    /// `AzureAd.Dpop.BoundTokensAsBearer`).
    ///
    /// A token this validator verified before, under the issuer's key set still in force, is
    /// accepted again without parsing or a signature check; its lifetime (`exp`, `nbf`, `iat`
    /// with clock skew) is checked again at every use, so it is good until `exp` exactly as
    /// without the cache. Only an exact match of the whole token hits; a new key set voids
    /// every entry; the cache is bounded (`AzureAd.VerifiedTokenCacheMaxEntries`, `…MaxBytes`).
    /// A DPoP token's proof is never skipped: the cache holds the token, the proof is checked
    /// on every request ([`validate_request`](Self::validate_request)).
    pub async fn validate(&self, token: &str) -> Result<ValidatedToken, ValidationError> {
        // The repeat token is answered without a nested future: this is the hot path.
        let validated = match self.remembered(token) {
            Some(hit) => hit?,
            None => self.validate_first_sight(token).await?,
        };
        if validated.is_sender_constrained() && !self.options.dpop.bound_tokens_as_bearer {
            return Err(ValidationError::SenderConstrained);
        }
        Ok(validated)
    }

    /// Validates a compact JWT access token, whatever it is bound to (the caller checks the
    /// binding), through the verified-token cache ([`validate`](Self::validate)).
    async fn validate_token(&self, token: &str) -> Result<ValidatedToken, ValidationError> {
        match self.remembered(token) {
            Some(hit) => hit,
            None => self.validate_first_sight(token).await,
        }
    }

    /// The verified-token cache's answer for `token`, if it has one: the token, or why it is no
    /// longer good (its lifetime is checked at every use).
    fn remembered(&self, token: &str) -> Option<Result<ValidatedToken, ValidationError>> {
        let now = self.platform.clock.now_millis();
        let keys = self.keys.fresh(now)?;
        let hit = self.verified.get(token, &keys, now)?;
        if let Err(e) =
            claims::check_lifetime(hit.claim_set(), self.options.clock_skew.as_secs(), now)
        {
            self.verified.remove(token);
            return Some(Err(e));
        }
        Some(Ok(hit))
    }

    /// The whole validation of a token not in the verified cache; a valid one is kept there.
    async fn validate_first_sight(&self, token: &str) -> Result<ValidatedToken, ValidationError> {
        let jws = Jws::parse(token, self.options.max_token_bytes)?;
        let alg = jws.header().alg;
        if !self.options.algorithms.contains(&alg) {
            return Err(ValidationError::AlgorithmNotAllowed);
        }
        if let Some(types) = &self.options.valid_types {
            let typ = jws.header().typ.as_deref().map(crate::jose::media_type);
            if !typ.is_some_and(|t| types.contains(&t)) {
                return Err(ValidationError::InvalidType);
            }
        }
        let claims = jws.claim_set(self.options.provider.kept_claims())?;

        let snapshot = self.keys.current().await?;
        let (snapshot, key_index) = self.verify_signature(&jws, snapshot).await?;
        let key = snapshot.keys.get(key_index).ok_or(ValidationError::UnknownKey)?;

        // Entra v1.0 tokens are checked against the v1.0 discovery document's issuer, read
        // only when such a token arrives (Microsoft.IdentityModel's AadIssuerValidator).
        let v1_issuer = if claims::needs_v1_issuer(&claims, &self.options) {
            Some(self.keys.v1_issuer().await?)
        } else {
            None
        };
        let issuers = claims::Issuers { v2: &snapshot.issuer, v1: v1_issuer.as_deref() };
        let now = self.platform.clock.now_millis();
        claims::check(&claims, &self.options, issuers, &key.jwk, now)?;

        let validated = ValidatedToken::new(
            token,
            claims,
            jws.into_payload(),
            self.options.provider,
            &self.options.client_id,
        );
        if !self.options.allow_acl_authorization
            && self.options.provider.requires_scope_or_role()
            && !validated.has_scope_or_role()
        {
            return Err(ValidationError::NoScopeOrRole);
        }
        if let Some(exp_ms) = validated.expires_at().map(|s| s.saturating_mul(1000)) {
            if exp_ms > now {
                self.verified.insert(&validated, &snapshot, exp_ms);
            }
        }
        Ok(validated)
    }

    /// Finds the key for `jws` (refreshing the set once for an unknown `kid`) and verifies the
    /// signature. Returns the set used and the index of the key that verified.
    async fn verify_signature(
        &self,
        jws: &Jws<'_>,
        snapshot: Rc<KeySnapshot>,
    ) -> Result<(Rc<KeySnapshot>, usize), ValidationError> {
        let header = jws.header();
        let mut snapshot = snapshot;
        let mut lookup_result = classify(&snapshot, header.kid.as_deref(), header.alg);
        if lookup_result == Err(ValidationError::UnknownKey) && header.kid.is_some() {
            if let Some(newer) = self.keys.refresh_for_unknown_kid(&snapshot).await {
                snapshot = newer;
                lookup_result = classify(&snapshot, header.kid.as_deref(), header.alg);
            }
        }
        let candidates = lookup_result?;
        let verifier = self.platform.crypto.as_ref();
        let mut last_error = ValidationError::InvalidSignature;
        for index in candidates.into_iter().take(MAX_KEYS_TRIED_WITHOUT_KID) {
            let Some(key) = snapshot.keys.get(index) else {
                continue;
            };
            let verified = match key.imported(verifier, header.alg).await {
                Ok(imported) => {
                    signature::verify_with_imported(verifier, jws, &key.jwk, &imported).await
                }
                Err(e) => Err(e),
            };
            match verified {
                Ok(()) => return Ok((snapshot, index)),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }
}

/// The indexes of the keys that may verify a token with `kid` and `alg`, or why there are none.
fn classify(
    snapshot: &KeySnapshot,
    kid: Option<&str>,
    alg: jwk::Algorithm,
) -> Result<Vec<usize>, ValidationError> {
    match snapshot.lookup(kid, alg) {
        KeyLookup::Found(indexes) => Ok(indexes),
        KeyLookup::NotUsable => Err(ValidationError::KeyNotUsable),
        KeyLookup::Unknown => Err(ValidationError::UnknownKey),
    }
}
