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
//!
//! [`TokenValidator::validate`] runs them in that order: cheap structural checks first, then the
//! key, the signature, and only then the claims of a token known to come from the issuer.

pub mod authority;
pub mod authorize;
pub mod bearer;
mod claim_set;
mod claims;
pub mod error;
pub mod jwk;
pub mod keys;
pub mod options;
pub mod parse;
pub mod provider;
pub mod signature;
mod verified;

use std::rc::Rc;

use crate::platform::Platform;
use crate::validation::error::ValidationError;
use crate::validation::options::ValidationOptions;
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
        TokenValidator { options, platform, keys, verified }
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

    /// Validates the bearer token of `request`: an `http::Request`, or any other
    /// [`AuthorizationHeaders`](bearer::AuthorizationHeaders).
    pub async fn validate_request(
        &self,
        request: &impl bearer::AuthorizationHeaders,
    ) -> Result<ValidatedToken, ValidationError> {
        if self.options.provider == provider::Provider::CloudflareAccess {
            if let Some(assertion) = bearer::access_assertion(request)? {
                return self.validate_bearer(&assertion).await;
            }
        }
        let values = request.authorization()?;
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        self.validate_bearer(bearer::bearer_value(&values)?).await
    }

    /// Authorizes `request` in one call: its bearer token validated, then `requirement` checked.
    /// `request` is an `http::Request`, or any other
    /// [`AuthorizationHeaders`](bearer::AuthorizationHeaders) (the Workers and Spin request
    /// types, with their features). The rejection is a [`ValidationError`] whose
    /// [`to_response`](ValidationError::to_response) is the answer (400, 401, 403 or 503); `?`
    /// turns it into the crate's [`Error`](crate::Error) where a handler answers with that.
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
    ) -> Result<ValidatedToken, ValidationError> {
        let caller = self.validate_request(request).await?;
        requirement.check(&caller)?;
        Ok(caller)
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

    /// Validates a compact JWT access token.
    ///
    /// A token this validator verified before, under the issuer's key set still in force, is
    /// accepted again without parsing or a signature check; its lifetime (`exp`, `nbf`, `iat`
    /// with clock skew) is checked again at every use, so it is good until `exp` exactly as
    /// without the cache. Only an exact match of the whole token hits; a new key set voids
    /// every entry; the cache is bounded (`AzureAd.VerifiedTokenCacheMaxEntries`, `…MaxBytes`).
    pub async fn validate(&self, token: &str) -> Result<ValidatedToken, ValidationError> {
        let now = self.platform.clock.now_millis();
        if let Some(keys) = self.keys.fresh(now) {
            if let Some(hit) = self.verified.get(token, &keys, now) {
                if let Err(e) =
                    claims::check_lifetime(hit.claim_set(), self.options.clock_skew.as_secs(), now)
                {
                    self.verified.remove(token);
                    return Err(e);
                }
                return Ok(hit);
            }
        }
        self.validate_first_sight(token).await
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
