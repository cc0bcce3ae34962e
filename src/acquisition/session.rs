//! Long-running sessions (Microsoft.Identity.Web's long-running OBO with
//! `LongRunningWebApiSessionKey`): work that continues after the user's token has expired.
//!
//! [`TokenAcquirer::start_session`] exchanges the user's token once, keeping the refresh token
//! the provider returns in a [`SessionRecord`] under the session key (sealed in the store like
//! every cache value when a cache key secret is configured). [`TokenAcquirer::token_for_session`]
//! then gets tokens by the key alone, refreshing with that refresh token (and keeping a rotated
//! one). [`TokenAcquirer::end_session`] deletes the record and the session's cached tokens.
//!
//! With the Entra grant the SDK adds `offline_access` to the session's first request so that a
//! refresh token is issued. A session lapses after `TokenCache.SessionMaxIdleDays` without a
//! refresh. Without a key-value store, sessions live in isolate memory only.

use std::rc::Rc;
use std::time::Duration;

use super::{
    plan, AcquiredToken, AcquisitionError, OnBehalfOfGrant, Subject, TokenAcquirer, TokenRequest,
};
use crate::cache::key::{
    allocated_session_key, canonical_scopes, session_record_key, token_key, TokenKind,
};
use crate::cache::{CacheKey, SessionRecord};
use crate::config::Secret;
use crate::validation::authorize::ValidatedToken;

/// Which key a new session is stored under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKey {
    /// Let the SDK derive one from the incoming token (`AllocateForMe`); it is returned in
    /// [`Session::key`]. Starting twice with the same token gives the same session.
    AllocateForMe,
    /// A key the host chose (a job id, say).
    Key(String),
}

/// A started session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The key to continue it with.
    pub key: String,
    /// The first token, for the scopes the session was started with.
    pub token: AcquiredToken,
}

impl TokenAcquirer {
    /// Starts a long-running session for the caller and returns its key and a first token for
    /// `request.scopes`. Starting a session whose key already exists continues it.
    pub async fn start_session(
        &self,
        user: &ValidatedToken,
        key: SessionKey,
        request: &TokenRequest,
    ) -> Result<Session, AcquisitionError> {
        let session_key = match key {
            SessionKey::AllocateForMe => allocated_session_key(user.token().expose()),
            SessionKey::Key(k) if !k.trim().is_empty() => k,
            SessionKey::Key(_) => {
                return Err(AcquisitionError::Configuration("a session key must not be empty"))
            }
        };
        let record_key = self.record_key(&session_key);
        let now = self.inner.platform.clock.now_millis();
        if self.inner.cache.get::<SessionRecord>(&record_key, now).await.is_some() {
            let token = self.token_for_session(&session_key, request).await?;
            return Ok(Session { key: session_key, token });
        }

        let mut user_plan = self.user_plan(user, request).await?;
        let tenant = user.tenant_id().map(str::to_owned);
        if self.inner.options.grant == OnBehalfOfGrant::JwtBearer {
            user_plan.scope = format!("{} offline_access", user_plan.scope).trim().to_owned();
        }
        let response = self.request_token(&user_plan, None).await?;
        let Some(refresh_token) = response.refresh_token.clone() else {
            return Err(AcquisitionError::Configuration(
                "the identity provider issued no refresh token, so the session could not be kept",
            ));
        };
        let authority = self.inner.key_authority(user_plan.tenant.as_deref());
        let token_key = self.session_token_key(&session_key, &authority, request);
        let cached = Rc::new(self.cached_token(&response));
        self.store_token(&token_key, &cached).await;
        let record = SessionRecord {
            refresh_token,
            tenant,
            token_keys: vec![token_key.as_str().to_owned()],
            expires_at_ms: 0,
        };
        self.save_record(&record_key, record).await;
        Ok(Session { key: session_key, token: AcquiredToken { token: cached, from_cache: false } })
    }

    /// A token for `request.scopes` in the session stored under `key`: from the cache, or
    /// refreshed with the session's refresh token. Works after the user's token has expired.
    pub async fn token_for_session(
        &self,
        key: &str,
        request: &TokenRequest,
    ) -> Result<AcquiredToken, AcquisitionError> {
        let record_key = self.record_key(key);
        let record = self.session_record(&record_key).await?;
        let tenant = record.tenant.as_deref().filter(|t| crate::config::is_guid(t));
        let token_key = self.session_token_key(key, &self.inner.key_authority(tenant), request);
        let scope = canonical_scopes(&request.scopes);
        self.acquire(plan(Subject::Session { record_key }, tenant, scope, request, token_key)).await
    }

    /// Ends the session under `key`: deletes its record and cached tokens (memory and store).
    /// Ending an unknown session does nothing.
    pub async fn end_session(&self, key: &str) {
        let record_key = self.record_key(key);
        if let Ok(record) = self.session_record(&record_key).await {
            for token_key in &record.token_keys {
                self.inner.cache.remove(&CacheKey::from_stored(token_key)).await;
            }
        }
        self.inner.cache.remove(&record_key).await;
    }

    fn record_key(&self, session_key: &str) -> CacheKey {
        session_record_key(&self.inner.options.client_id, &self.inner.authority_id(), session_key)
    }

    fn session_token_key(
        &self,
        session_key: &str,
        authority: &str,
        request: &TokenRequest,
    ) -> CacheKey {
        let extra = request.exchange_target();
        token_key(
            TokenKind::Session { session_key },
            &self.inner.options.client_id,
            authority,
            &canonical_scopes(&request.scopes),
            &extra,
        )
    }

    pub(super) async fn session_record(
        &self,
        record_key: &CacheKey,
    ) -> Result<Rc<SessionRecord>, AcquisitionError> {
        let now = self.inner.platform.clock.now_millis();
        self.inner
            .cache
            .get::<SessionRecord>(record_key, now)
            .await
            .ok_or(AcquisitionError::SessionNotFound)
    }

    /// After a refresh: keeps a rotated refresh token, remembers the token's key, and extends
    /// the session's life.
    pub(super) async fn update_session(
        &self,
        record_key: &CacheKey,
        record: &SessionRecord,
        rotated: Option<Secret>,
        token_key: &CacheKey,
    ) {
        let mut record = record.clone();
        if let Some(refresh_token) = rotated {
            record.refresh_token = refresh_token;
        }
        if !record.token_keys.iter().any(|k| k == token_key.as_str()) {
            record.token_keys.push(token_key.as_str().to_owned());
        }
        self.save_record(record_key, record).await;
    }

    async fn save_record(&self, record_key: &CacheKey, mut record: SessionRecord) {
        let idle = self.inner.options.cache.session_max_idle;
        let now = self.inner.platform.clock.now_millis();
        record.expires_at_ms =
            now.saturating_add(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX));
        self.inner.cache.put(record_key, Rc::new(record), idle.max(Duration::from_secs(60))).await;
    }
}
