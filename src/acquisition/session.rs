//! Long-running sessions (Microsoft.Identity.Web's long-running OBO with
//! `LongRunningWebApiSessionKey`): work that continues after the user's token has expired.
//!
//! [`TokenAcquirer::start_session`] exchanges the user's token once, keeping the refresh token
//! the provider returns in a [`SessionRecord`] under the session key (sealed in the store like
//! every shared value). [`TokenAcquirer::token_for_session`] then gets tokens for the session,
//! refreshing with that refresh token (and keeping a rotated one), after the user's token has
//! expired. [`TokenAcquirer::end_session`] deletes the session's cached tokens and leaves a
//! tombstone that every isolate honours.
//!
//! A session is bound to the user who started it (tenant and object id) and to the apps the
//! starter named ([`SessionStart::continued_by_app`]): starting a session under a key another
//! user holds is refused, and so is continuing a session as anyone else (both answer as an
//! unknown session, 404, so a key's existence is not disclosed). Refreshes of one session run
//! one at a time in an isolate, each reading the record afresh, so a rotated refresh token is
//! never used twice or lost, whatever scopes they are for.
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
    allocated_session_key, canonical_scopes, session_record_key, short_hash, token_key, TokenKind,
};
use crate::cache::{CacheKey, SessionRecord};
use crate::event::Level;
use crate::platform::millis;
use crate::secret::RefreshToken;
use crate::validation::authorize::ValidatedToken;

/// Which key a new session is stored under. `Debug` never shows a key: whoever holds it (with
/// the right token) continues the session.
#[derive(Clone, PartialEq, Eq)]
pub enum SessionKey {
    /// Let the SDK derive one from the incoming token (`AllocateForMe`); it is returned in
    /// [`Session::key`]. Starting twice with the same token gives the same session.
    AllocateForMe,
    /// A key the host chose (a job id, say).
    Key(String),
}

/// How to start a session: under which key, and which apps may continue it besides the user who
/// starts it. `SessionKey::AllocateForMe.into()` is a session only its starter may continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStart {
    /// The key.
    pub key: SessionKey,
    /// Client ids of the apps whose app-only tokens may continue the session (a scheduler).
    pub apps: Vec<String>,
}

impl SessionStart {
    /// Also lets the app with client id `client_id` continue the session with an app-only
    /// token (`azp` in v2.0 tokens, `appid` in v1.0 tokens).
    pub fn continued_by_app(mut self, client_id: impl Into<String>) -> Self {
        self.apps.push(client_id.into());
        self
    }
}

impl From<SessionKey> for SessionStart {
    fn from(key: SessionKey) -> Self {
        SessionStart { key, apps: Vec::new() }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("key", &"***").field("token", &self.token).finish()
    }
}

/// Who a validated token speaks for, as a session records it.
fn owner_of(user: &ValidatedToken) -> String {
    match (user.tenant_id(), user.object_id()) {
        (Some(tid), Some(oid)) => format!("{tid}/{oid}"),
        _ => {
            format!("{}/{}", user.issuer().unwrap_or_default(), user.subject().unwrap_or_default())
        }
    }
}

/// The client id of the app an app-only token was issued to.
fn app_of(caller: &ValidatedToken) -> Option<&str> {
    caller.authorized_party()
}

/// Whether `caller` may use the session `record`: its owner (a user token), or an allowed app.
fn may_continue(record: &SessionRecord, caller: &ValidatedToken) -> bool {
    if caller.is_app_only() {
        app_of(caller).is_some_and(|app| record.apps.iter().any(|a| a == app))
    } else {
        !record.owner.is_empty() && record.owner == owner_of(caller)
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionKey::AllocateForMe => f.write_str("AllocateForMe"),
            SessionKey::Key(_) => f.write_str("Key(***)"),
        }
    }
}

/// A started session. `Debug` never shows its key.
#[derive(Clone)]
pub struct Session {
    /// The key to continue it with.
    pub key: String,
    /// The first token, for the scopes the session was started with.
    pub token: AcquiredToken,
}

type SessionMutex = std::sync::Arc<futures_util::lock::Mutex<()>>;

/// Per session record, one refresh at a time in this isolate, so a rotated refresh token is
/// never used twice nor lost between two refreshes of one session (for different scopes, say).
#[derive(Default)]
pub(super) struct SessionLocks(std::cell::RefCell<std::collections::HashMap<String, SessionMutex>>);

impl SessionLocks {
    fn lock_for(&self, record_key: &CacheKey) -> SessionMutex {
        self.0.borrow_mut().entry(record_key.as_str().to_owned()).or_default().clone()
    }

    /// Gives up on `stuck` for `record_key`: the next request gets a new lock. The request that
    /// holds `stuck` keeps its guard, which guards nothing any more.
    fn replace(&self, record_key: &CacheKey, stuck: &SessionMutex) -> SessionMutex {
        let mut locks = self.0.borrow_mut();
        let entry = locks.entry(record_key.as_str().to_owned()).or_default();
        if std::sync::Arc::ptr_eq(entry, stuck) {
            *entry = SessionMutex::default();
        }
        entry.clone()
    }
}

impl TokenAcquirer {
    /// Starts a long-running session for the caller and returns its key and a first token for
    /// `request.scopes`. Starting a session whose key the same user already holds continues it;
    /// a key another user holds is refused ([`AcquisitionError::SessionNotFound`]).
    pub async fn start_session(
        &self,
        user: &ValidatedToken,
        start: impl Into<SessionStart>,
        request: &TokenRequest,
    ) -> Result<Session, AcquisitionError> {
        let started = self.inner.now();
        let outcome = self.start(user, start.into(), request).await;
        let key = outcome.as_ref().map(|session| session.key.as_str());
        self.emit_session("session.started", user, key, started);
        outcome
    }

    /// The `session.started` / `session.ended` event (where events are on) of the session
    /// `outcome` names, or of its failure: the session is named by a hash of its key (the key
    /// itself may be derived from the user's token).
    fn emit_session(
        &self,
        name: &'static str,
        caller: &ValidatedToken,
        outcome: Result<&str, &AcquisitionError>,
        started: u64,
    ) {
        let platform = &self.inner.platform;
        if platform.events.is_none() {
            return;
        }
        let level = if outcome.is_err() { Level::Warn } else { Level::Info };
        let elapsed = self.inner.now().saturating_sub(started);
        platform.emit(name, level, caller.correlation_id(), |event| {
            let event =
                event.with("acquisition_ms", elapsed).with("app_only", caller.is_app_only());
            match outcome {
                Ok(key) => event.with("session_hash", short_hash(key)),
                Err(error) => event.with("code", error.code()),
            }
        });
    }

    async fn start(
        &self,
        user: &ValidatedToken,
        start: SessionStart,
        request: &TokenRequest,
    ) -> Result<Session, AcquisitionError> {
        let SessionStart { key, apps } = start;
        let session_key = match key {
            SessionKey::AllocateForMe => allocated_session_key(user.token().expose()),
            SessionKey::Key(k) if !k.trim().is_empty() => k,
            SessionKey::Key(_) => {
                return Err(AcquisitionError::Configuration("a session key must not be empty"))
            }
        };
        let record_key = self.record_key(&session_key);
        let (existing, version) = self.read_record(&record_key).await?;
        if let Some(record) = existing {
            if !record.ended {
                if record.owner != owner_of(user) || user.is_app_only() {
                    return Err(AcquisitionError::SessionNotFound);
                }
                let token = self.token_for_session(user, &session_key, request).await?;
                return Ok(Session { key: session_key, token });
            }
            // With a coordinator an ended key stays ended: it is never started again.
            if self.coordination().is_some() {
                return Err(AcquisitionError::SessionNotFound);
            }
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
        let record = SessionRecord {
            refresh_token,
            tenant,
            token_keys: vec![token_key.as_str().to_owned()],
            expires_at_ms: 0,
            owner: owner_of(user),
            apps,
            ended: false,
        };
        // The key is bound to its owner atomically where a coordinator says so: a start that
        // loses the race to another user's is refused, and its token is never cached under the
        // session's key. The owner's own second start continues the session.
        if !self.save_record(&record_key, record, version).await? {
            return match self.fresh_record(&record_key).await? {
                Some(r) if !r.ended && r.owner == owner_of(user) => {
                    let token = self.token_for_session(user, &session_key, request).await?;
                    Ok(Session { key: session_key, token })
                }
                _ => Err(AcquisitionError::SessionNotFound),
            };
        }
        self.store_token(&token_key, &cached).await;
        Ok(Session {
            key: session_key,
            token: AcquiredToken { token: cached, source: super::TokenSource::Provider },
        })
    }

    /// A token for `request.scopes` in the session stored under `key`, for `caller`: the user
    /// who started it (a later token of theirs) or an app it allows (an app-only token). From
    /// the cache, or refreshed with the session's refresh token; works after the user's first
    /// token has expired. Anyone else gets [`AcquisitionError::SessionNotFound`].
    pub async fn token_for_session(
        &self,
        caller: &ValidatedToken,
        key: &str,
        request: &TokenRequest,
    ) -> Result<AcquiredToken, AcquisitionError> {
        let record_key = self.record_key(key);
        let record = self.session_record(&record_key).await?;
        if !may_continue(&record, caller) {
            return Err(AcquisitionError::SessionNotFound);
        }
        let tenant = record.tenant.as_deref().filter(|t| crate::validation::authority::is_guid(t));
        let token_key = self.session_token_key(key, &self.inner.key_authority(tenant), request);
        let scope = canonical_scopes(&request.scopes);
        let mut plan = plan(Subject::Session { record_key }, tenant, scope, request, token_key);
        if let Some(id) = caller.correlation_id() {
            plan.events_id = Some(id.to_owned());
        }
        self.acquire(plan).await
    }

    /// Ends the session under `key` for `caller` (its owner or an allowed app): deletes its
    /// cached tokens (memory and store) and replaces its record with a tombstone, so no isolate
    /// continues it or writes it back. Ending an unknown session, or someone else's, does
    /// nothing (and says so no differently, so a key's existence is not disclosed).
    ///
    /// A store that can't be read, or (with a coordinator) a tombstone that can't be written, is
    /// [`AcquisitionError::StoreUnavailable`] (503): the session is not ended, and the caller
    /// should end it again. On KV alone a failed tombstone write is not seen (KV's writes are
    /// best-effort); see `SECURITY.md`.
    pub async fn end_session(
        &self,
        caller: &ValidatedToken,
        key: &str,
    ) -> Result<(), AcquisitionError> {
        let started = self.inner.now();
        let outcome = self.end(caller, key).await;
        let named = outcome.as_ref().map(|()| key);
        self.emit_session("session.ended", caller, named, started);
        outcome
    }

    async fn end(&self, caller: &ValidatedToken, key: &str) -> Result<(), AcquisitionError> {
        let record_key = self.record_key(key);
        let _one_at_a_time = self.lock_session(&record_key).await;
        // With a coordinator the tombstone goes over the version read (an end racing a refresh
        // is tried again once on the refreshed record).
        for _ in 0..2 {
            let (record, version) = self.read_record(&record_key).await?;
            let Some(record) = record.filter(|r| !r.ended && may_continue(r, caller)) else {
                return Ok(());
            };
            for token_key in &record.token_keys {
                self.inner.cache.remove(&CacheKey::from_stored(token_key)).await;
            }
            let tombstone = SessionRecord {
                refresh_token: RefreshToken::new(""),
                tenant: None,
                token_keys: Vec::new(),
                expires_at_ms: 0,
                owner: record.owner.clone(),
                apps: Vec::new(),
                ended: true,
            };
            if self.save_record(&record_key, tombstone, version).await? {
                return Ok(());
            }
        }
        Err(AcquisitionError::StoreUnavailable)
    }

    /// The session's lock, one refresh at a time. Where requests wait on their own timer
    /// (Workers), a request waits at most the acquisition budget (`TokenRequestTimeoutMs`), the
    /// single flight's escape: a holder that never resumes (workerd may leave a request's
    /// promise unsettled) must not lock the session for the isolate's life, so the waiter takes
    /// a new lock and goes on; the record is read afresh under it. Elsewhere the holder's own
    /// token request is bounded by the same budget, and waiters await it.
    async fn lock_session(&self, record_key: &CacheKey) -> futures_util::lock::OwnedMutexGuard<()> {
        let mutex = self.inner.sessions.lock_for(record_key);
        let Some(interval) = self.inner.platform.join_poll_interval else {
            return mutex.lock_owned().await;
        };
        let clock = self.inner.platform.clock.as_ref();
        let budget = crate::platform::millis(self.inner.options.timeout);
        let (mut mutex, mut since) = (mutex, clock.now_millis());
        loop {
            if let Some(guard) = mutex.try_lock_owned() {
                return guard;
            }
            if clock.now_millis().saturating_sub(since) > budget {
                // Escape: a new lock for this session (another waiter may have made it first),
                // and a new budget for waiting on it.
                mutex = self.inner.sessions.replace(record_key, &mutex);
                since = clock.now_millis();
                continue;
            }
            clock.sleep(interval).await;
        }
    }

    /// The session's record as the store has it now (another isolate may have rotated its
    /// refresh token or ended it), or as memory has it when there is no store. A store that
    /// can't be read is [`AcquisitionError::StoreUnavailable`]: the session's owner, end and
    /// refresh token are unknown, and acting as if it were absent would lose or take it over.
    async fn fresh_record(
        &self,
        record_key: &CacheKey,
    ) -> Result<Option<Rc<SessionRecord>>, AcquisitionError> {
        Ok(self.read_record(record_key).await?.0)
    }

    /// [`fresh_record`](Self::fresh_record) and the record's version: with a coordinator, the
    /// record lives there (one version, the same everywhere, at once); without one, in the
    /// store (version 0: KV has no versions).
    async fn read_record(
        &self,
        record_key: &CacheKey,
    ) -> Result<(Option<Rc<SessionRecord>>, u64), AcquisitionError> {
        let now = self.inner.now();
        if let Some(c) = self.coordination() {
            let (bytes, version) = self
                .coordinated_get(&c, record_key)
                .await
                .map_err(|_| AcquisitionError::StoreUnavailable)?;
            let record = bytes
                .and_then(|b| serde_json::from_slice::<SessionRecord>(&b).ok())
                .filter(|r| r.ended || r.expires_at_ms > now)
                .map(Rc::new);
            return Ok((record, version));
        }
        let record = if self.inner.platform.store.is_some() {
            self.inner
                .cache
                .read_store::<SessionRecord>(record_key, now)
                .await
                .map_err(|_| AcquisitionError::StoreUnavailable)?
        } else {
            self.inner.cache.get_memory::<SessionRecord>(record_key, now)
        };
        Ok((record, 0))
    }

    /// One refresh of the session under `record_key` for `plan`, one at a time per session:
    /// the record is read afresh, its refresh token used, and a rotated one kept, unless the
    /// session was ended meanwhile.
    pub(super) async fn refresh_session(
        &self,
        plan: &super::Plan,
        record_key: &CacheKey,
    ) -> Result<super::response::TokenResponse, AcquisitionError> {
        let _one_at_a_time = self.lock_session(record_key).await;
        let record = self.session_record(record_key).await?;
        let response = self.request_token(plan, Some(&record)).await?;
        // Ended in another isolate while the request ran: the token is not kept either. With a
        // coordinator the rotated refresh token is written only over the version just read, so
        // an end that lands in between wins, and the write is tried again once otherwise.
        for _ in 0..2 {
            let (current, version) = self.read_record(record_key).await?;
            let current = current.filter(|r| !r.ended).ok_or(AcquisitionError::SessionNotFound)?;
            let rotated = response.refresh_token.clone();
            if self.update_session(record_key, &current, rotated, &plan.key, version).await? {
                return Ok(response);
            }
        }
        Err(AcquisitionError::StoreUnavailable)
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

    /// The live record of the session under `record_key`, read where sessions live: the
    /// coordinator, else the store, else (no store) memory. Never from memory while there is a
    /// store: another isolate or instance may have ended the session since this one last read
    /// it, and memory would go on serving it (and its cached tokens) for the isolate's life.
    /// With the store read each time, an end is seen by the next request of every isolate that
    /// sees the store's write: at once on Spin's key-value store, within KV's delay on Workers,
    /// everywhere at once with a coordinator.
    async fn session_record(
        &self,
        record_key: &CacheKey,
    ) -> Result<Rc<SessionRecord>, AcquisitionError> {
        self.fresh_record(record_key)
            .await?
            .filter(|r| !r.ended)
            .ok_or(AcquisitionError::SessionNotFound)
    }

    /// After a refresh: keeps a rotated refresh token, remembers the token's key (with the keys
    /// already recorded), and extends the session's life.
    pub(super) async fn update_session(
        &self,
        record_key: &CacheKey,
        record: &SessionRecord,
        rotated: Option<RefreshToken>,
        token_key: &CacheKey,
        version: u64,
    ) -> Result<bool, AcquisitionError> {
        let mut record = record.clone();
        if let Some(refresh_token) = rotated {
            record.refresh_token = refresh_token;
        }
        if !record.token_keys.iter().any(|k| k == token_key.as_str()) {
            record.token_keys.push(token_key.as_str().to_owned());
        }
        self.save_record(record_key, record, version).await
    }

    /// Writes `record` for another `SessionMaxIdleDays`. With a coordinator, only over
    /// `version` (whether it was written: another isolate may have written first); without
    /// one, into the store (always "written": KV can't tell).
    async fn save_record(
        &self,
        record_key: &CacheKey,
        mut record: SessionRecord,
        version: u64,
    ) -> Result<bool, AcquisitionError> {
        let idle = self.inner.options.cache.session_max_idle;
        let now = self.inner.now();
        record.expires_at_ms = now.saturating_add(millis(idle));
        if let Some(c) = self.coordination() {
            let bytes =
                serde_json::to_vec(&record).map_err(|_| AcquisitionError::StoreUnavailable)?;
            return self
                .coordinated_put(&c, record_key, version, &bytes, idle)
                .await
                .map_err(|_| AcquisitionError::StoreUnavailable);
        }
        self.inner.cache.put(record_key, Rc::new(record), idle.max(Duration::from_secs(60))).await;
        Ok(true)
    }
}
