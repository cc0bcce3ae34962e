//! The issuer's signing keys: OpenID Connect discovery, the JWK Set, and their caches.
//!
//! * **Where from.** `GET {authority}/.well-known/openid-configuration`, then its `jwks_uri`,
//!   through the platform's [`HttpClient`], each with a timeout.
//! * **Isolate cache.** The parsed set and every key imported into the signature backend live for
//!   the isolate's life, and are used for `key_set_max_age` (default 12 h) before refetching.
//! * **Rotation.** A token whose `kid` is not in the set causes one refetch, and such refetches
//!   happen at most once per `key_refresh_cooldown` (default 30 s), whatever the traffic.
//! * **Stale if error.** When a refetch fails, the keys already held keep being used; a failed
//!   fetch is not retried before the cooldown has passed.
//! * **Single flight.** Concurrent requests that need a fetch wait for one fetch.
//! * **Shared store.** With a store (always a [`SealedStore`]: values are authenticated when
//!   read back), both documents and their fetch time are kept there too, so a new isolate
//!   validates its first request without calling the issuer. A fetch time read back is bounded:
//!   one in the future (beyond a minute of clock skew) refuses the entry, so a stored set is
//!   never used past its max age.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::join;
use futures_util::lock::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::base64url;
use crate::event::{Event, Level};
use crate::platform::{
    lock_mutex, millis, Clock, HttpClient, KeyValueStore, Observer, ResponseLimit, SealedStore,
    SignatureVerifier, VerifyingKey,
};
use crate::validation::authority::{is_metadata_url, Authority};
use crate::validation::error::{KeySourceError, ValidationError};
use crate::validation::jwk::{Algorithm, Jwk, JwkSet, MAX_JWKS_BYTES};
use crate::validation::provider::Provider;

/// Largest discovery document accepted, in bytes.
pub const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// Version tag of the shared-store entry format; entries of another version are ignored.
const STORE_FORMAT: u64 = 3;

/// How far in the future a fetch time read from the store may be (isolates' clocks differ).
const MAX_STORE_CLOCK_SKEW_MS: u64 = 60_000;

/// Fetch behaviour of an issuer's key source (max age, cooldown, stale-if-error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySourcePolicy {
    /// The discovery document's URL.
    pub metadata_url: String,
    /// Entra: the v1.0 discovery document's URL, read (only when a v1.0 token arrives) for the
    /// issuer of v1.0 access tokens.
    pub v1_metadata_url: Option<String>,
    /// How long a fetched set is used before it is fetched again.
    pub max_age: Duration,
    /// Least time between two fetches not forced by age.
    pub cooldown: Duration,
    /// Timeout for each HTTP request.
    pub timeout: Duration,
    /// Where the key set is expected to be ([`Authority::expected_jwks_uri`]): fetched at the
    /// same time as the discovery document, saving a round trip on a cold isolate, and used only
    /// if the document names exactly this URL as its `jwks_uri`.
    pub expected_jwks_uri: Option<String>,
    /// For an issuer that publishes keys but no discovery document (Cloudflare Access): its
    /// issuer, with `metadata_url` the key set itself.
    pub issuer_without_discovery: Option<String>,
}

impl KeySourcePolicy {
    /// The policy for `authority`'s documents.
    pub fn for_authority(
        authority: &Authority,
        max_age: Duration,
        cooldown: Duration,
        timeout: Duration,
    ) -> Self {
        KeySourcePolicy {
            metadata_url: authority.metadata_url(),
            v1_metadata_url: authority.v1_metadata_url(),
            max_age,
            cooldown,
            timeout,
            expected_jwks_uri: authority.expected_jwks_uri(),
            issuer_without_discovery: None,
        }
    }

    /// The policy adjusted for `provider`: Cloudflare Access publishes its keys at
    /// `{team domain}/cdn-cgi/access/certs` and no discovery document; its issuer is the team
    /// domain.
    pub fn for_provider(mut self, authority: &Authority, provider: Provider) -> Self {
        if let (Provider::CloudflareAccess, Authority::Oidc { issuer_url }) = (provider, authority)
        {
            self.metadata_url = format!("{issuer_url}/cdn-cgi/access/certs");
            self.issuer_without_discovery = Some(issuer_url.clone());
        }
        self
    }
}

/// A key from the issuer's set, with the backend keys imported from it so far.
pub struct CachedKey {
    /// The key as published.
    pub jwk: Jwk,
    imported: RefCell<Vec<(Algorithm, VerifyingKey)>>,
}

impl CachedKey {
    fn new(jwk: Jwk) -> Self {
        CachedKey { jwk, imported: RefCell::new(Vec::new()) }
    }

    /// The backend key for `alg`, imported on first use and kept for the isolate's life.
    pub(crate) async fn imported(
        &self,
        verifier: &dyn SignatureVerifier,
        alg: Algorithm,
    ) -> Result<VerifyingKey, ValidationError> {
        if let Some((_, key)) = self.imported.borrow().iter().find(|(a, _)| *a == alg) {
            return Ok(key.clone());
        }
        let key = verifier
            .import_key(&self.jwk.material, alg)
            .await
            .map_err(|_| ValidationError::KeyNotUsable)?;
        self.imported.borrow_mut().push((alg, key.clone()));
        Ok(key)
    }
}

/// The issuer's metadata and keys as fetched at one moment.
pub struct KeySnapshot {
    /// `issuer` from the discovery document.
    pub issuer: String,
    /// `token_endpoint` from the discovery document, if it has one (what token acquisition
    /// uses for a generic authority).
    pub token_endpoint: Option<String>,
    /// `token_endpoint_auth_methods_supported` from the discovery document, if it has one
    /// (OpenID Connect Discovery §3: absent means `client_secret_basic`).
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    /// The usable keys, in document order.
    pub keys: Vec<CachedKey>,
    /// When the documents were fetched from the issuer, in Unix milliseconds.
    pub fetched_at_ms: u64,
    /// When a later fetch found exactly these documents again: the snapshot is kept (its
    /// imported keys, and the verified tokens tied to it) and counts as fetched then.
    confirmed_at_ms: Cell<u64>,
}

impl KeySnapshot {
    /// When the documents were last fetched or confirmed unchanged.
    pub fn fresh_since_ms(&self) -> u64 {
        self.fetched_at_ms.max(self.confirmed_at_ms.get())
    }

    /// Whether `other` holds exactly these documents: the same issuer, token endpoint,
    /// authentication methods and keys, in order.
    fn same_documents(&self, other: &KeySnapshot) -> bool {
        self.issuer == other.issuer
            && self.token_endpoint == other.token_endpoint
            && self.token_endpoint_auth_methods == other.token_endpoint_auth_methods
            && self.keys.len() == other.keys.len()
            && self.keys.iter().zip(&other.keys).all(|(a, b)| a.jwk == b.jwk)
    }
}

/// What a key search found.
pub(crate) enum KeyLookup {
    /// The indexes of the keys that may verify the token, in set order.
    Found(Vec<usize>),
    /// Keys with the token's `kid` exist, but none may verify its algorithm.
    NotUsable,
    /// No key with the token's `kid` (or, without a `kid`, no key at all).
    Unknown,
}

impl KeySnapshot {
    pub(crate) fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup {
        let named: Vec<(usize, &CachedKey)> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| kid.is_none_or(|kid| k.jwk.kid.as_deref() == Some(kid)))
            .collect();
        if named.is_empty() {
            return KeyLookup::Unknown;
        }
        let fitting: Vec<usize> =
            named.into_iter().filter(|(_, k)| k.jwk.fits(alg)).map(|(i, _)| i).collect();
        if fitting.is_empty() {
            KeyLookup::NotUsable
        } else {
            KeyLookup::Found(fitting)
        }
    }
}

/// Where a [`TokenValidator`](crate::TokenValidator) gets its keys: one per authority, shared
/// by every request of the isolate.
pub struct KeySource {
    policy: KeySourcePolicy,
    store_key: String,
    v1: V1Issuer,
    http: Rc<dyn HttpClient>,
    clock: Rc<dyn Clock>,
    store: Option<Rc<SealedStore>>,
    snapshot: RefCell<Option<Rc<KeySnapshot>>>,
    last_attempt_ms: Cell<Option<u64>>,
    last_error: RefCell<Option<KeySourceError>>,
    fetch_lock: Mutex<()>,
    join_poll: Option<Duration>,
    /// Where requests are observed: the platform's (`Platform::observer`: `keys.fetched`,
    /// `keys.fetch_failed`, `keys.served_stale`).
    events: Option<Observer>,
}

impl KeySource {
    /// A key source with nothing cached yet.
    pub fn new(
        policy: KeySourcePolicy,
        http: Rc<dyn HttpClient>,
        clock: Rc<dyn Clock>,
        store: Option<Rc<SealedStore>>,
    ) -> Self {
        let v1 = V1Issuer {
            store_key: policy.v1_metadata_url.as_deref().map(store_key).unwrap_or_default(),
            held: RefCell::new(None),
            last_attempt_ms: Cell::new(None),
        };
        KeySource {
            store_key: store_key(&policy.metadata_url),
            policy,
            v1,
            http,
            clock,
            store,
            snapshot: RefCell::new(None),
            last_attempt_ms: Cell::new(None),
            last_error: RefCell::new(None),
            fetch_lock: Mutex::new(()),
            join_poll: None,
            events: None,
        }
    }

    /// Writes the event `name` where events are on and keep it (no request: no correlation id).
    fn emit(&self, name: &'static str, level: Level, fill: impl FnOnce(Event) -> Event) {
        if let Some(observer) = &self.events {
            observer.emit(name, level, fill);
        }
    }

    /// The same source, waiting for another request's fetch on its own timer (Workers; see
    /// [`Platform::join_poll_interval`](crate::Platform::join_poll_interval)).
    pub fn with_join_poll_interval(mut self, interval: Option<Duration>) -> Self {
        self.join_poll = interval;
        self
    }

    /// The fetch behaviour this source was made with.
    pub fn policy(&self) -> &KeySourcePolicy {
        &self.policy
    }

    /// The shared-store key the documents are kept under (no secret in it: a hash of the URL).
    pub fn store_key(&self) -> &str {
        &self.store_key
    }

    /// The set in force, if it is within its max age (no fetch, no wait).
    pub(crate) fn fresh(&self, now: u64) -> Option<Rc<KeySnapshot>> {
        self.cached().filter(|s| self.is_fresh(s, now))
    }

    fn cached(&self) -> Option<Rc<KeySnapshot>> {
        self.snapshot.borrow().clone()
    }

    fn is_fresh(&self, snapshot: &KeySnapshot, now: u64) -> bool {
        within(snapshot.fresh_since_ms(), now, self.policy.max_age)
    }

    /// Whether a fetch attempted at `last_attempt` forbids another one `now`.
    fn in_cooldown(&self, last_attempt: Option<u64>, now: u64) -> bool {
        last_attempt.is_some_and(|at| within(at, now, self.policy.cooldown))
    }

    /// The keys to validate with now: the cached set while it is fresh; otherwise the shared
    /// store's or the issuer's, falling back to what is held when the issuer can't be reached.
    pub async fn current(&self) -> Result<Rc<KeySnapshot>, ValidationError> {
        let now = self.clock.now_millis();
        if let Some(snapshot) = self.cached().filter(|s| self.is_fresh(s, now)) {
            return Ok(snapshot);
        }
        let _single_flight =
            lock_mutex(&self.fetch_lock, self.clock.as_ref(), self.join_poll).await;
        let now = self.clock.now_millis();
        if let Some(snapshot) = self.cached().filter(|s| self.is_fresh(s, now)) {
            return Ok(snapshot);
        }
        let mut held = self.cached();
        if held.is_none() {
            if let Some(stored) = self.load_from_store().await {
                if self.is_fresh(&stored, now) {
                    return Ok(self.install(stored));
                }
                held = Some(self.install(stored));
            }
        }
        if self.in_cooldown(self.last_attempt_ms.get(), now) {
            return held.ok_or_else(|| self.unavailable());
        }
        match self.fetch(now).await {
            Ok(snapshot) => Ok(snapshot),
            Err(error) => match held {
                Some(held) => {
                    let age = now.saturating_sub(held.confirmed_at_ms.get()) / 1000;
                    self.emit("keys.served_stale", Level::Warn, |e| e.with("age_s", age));
                    Ok(held)
                }
                None => Err(ValidationError::KeysUnavailable(error)),
            },
        }
    }

    /// Called when a token names a `kid` that `seen` lacks: refetches once, unless another
    /// request already did or the cooldown forbids it. Returns the newer set, if there is one.
    ///
    /// With a shared store the cooldown is shared too: the time of the last such refetch is
    /// kept there, so where memory does not outlive a request (Spin) a flood of random `kid`s
    /// still costs the issuer at most one key-set fetch per cooldown.
    pub async fn refresh_for_unknown_kid(&self, seen: &Rc<KeySnapshot>) -> Option<Rc<KeySnapshot>> {
        let _single_flight =
            lock_mutex(&self.fetch_lock, self.clock.as_ref(), self.join_poll).await;
        if let Some(current) = self.cached().filter(|c| !Rc::ptr_eq(c, seen)) {
            return Some(current);
        }
        let now = self.clock.now_millis();
        if self.in_cooldown(self.last_attempt_ms.get(), now) || self.in_shared_cooldown(now).await {
            return None;
        }
        self.note_shared_refetch(now).await;
        self.fetch(now).await.ok()
    }

    fn refetch_store_key(&self) -> String {
        format!("{}/unknown-kid-refetch", self.store_key)
    }

    /// Whether another isolate (or an earlier request on Spin) refetched for an unknown `kid`
    /// within the cooldown. A time in the future is not believed.
    async fn in_shared_cooldown(&self, now: u64) -> bool {
        let Some(store) = &self.store else { return false };
        let Ok(Some(bytes)) = store.get(&self.refetch_store_key()).await else { return false };
        let at = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("at_ms")?.as_u64())
            .filter(|at| *at <= now.saturating_add(MAX_STORE_CLOCK_SKEW_MS));
        self.in_cooldown(at, now)
    }

    async fn note_shared_refetch(&self, now: u64) {
        let Some(store) = &self.store else { return };
        let ttl = self.policy.cooldown.max(Duration::from_secs(60));
        let value = json!({"at_ms": now}).to_string().into_bytes();
        let _ = store.put(&self.refetch_store_key(), value, ttl).await;
    }

    /// Entra: the issuer template of v1.0 access tokens (`https://sts.windows.net/{tenantid}/`
    /// for `common`), from the v1.0 discovery document. Read only when a v1.0 token arrives, then
    /// kept like the key set: for `max_age`, in the shared store, at most one fetch per
    /// cooldown, and the held value served while the issuer is unreachable.
    pub async fn v1_issuer(&self) -> Result<Rc<str>, ValidationError> {
        let Some(url) = self.policy.v1_metadata_url.as_deref() else {
            return Err(ValidationError::InvalidIssuer);
        };
        let now = self.clock.now_millis();
        let fresh = |held: &Option<(Rc<str>, u64)>, now: u64| {
            held.as_ref()
                .filter(|(_, at)| within(*at, now, self.policy.max_age))
                .map(|(issuer, _)| issuer.clone())
        };
        if let Some(issuer) = fresh(&self.v1.held.borrow(), now) {
            return Ok(issuer);
        }
        let _single_flight =
            lock_mutex(&self.fetch_lock, self.clock.as_ref(), self.join_poll).await;
        let now = self.clock.now_millis();
        if let Some(issuer) = fresh(&self.v1.held.borrow(), now) {
            return Ok(issuer);
        }
        if self.v1.held.borrow().is_none() {
            if let Some((issuer, at)) = self.load_v1_from_store(url).await {
                *self.v1.held.borrow_mut() = Some((issuer, at));
                if let Some(issuer) = fresh(&self.v1.held.borrow(), now) {
                    return Ok(issuer);
                }
            }
        }
        let held = self.v1.held.borrow().as_ref().map(|(issuer, _)| issuer.clone());
        if self.in_cooldown(self.v1.last_attempt_ms.get(), now) {
            return held.ok_or_else(|| self.unavailable());
        }
        self.v1.last_attempt_ms.set(Some(now));
        let fetched = match self.get(url, MAX_DISCOVERY_BYTES).await {
            Ok(document) => Discovery::parse(&document),
            Err(e) => Err(e),
        };
        match fetched {
            Ok(discovery) => {
                self.save_to_store(&self.v1.store_key, url, discovery.to_json(), None, now).await;
                let issuer: Rc<str> = discovery.issuer.into();
                *self.v1.held.borrow_mut() = Some((issuer.clone(), now));
                Ok(issuer)
            }
            Err(error) => {
                *self.last_error.borrow_mut() = Some(error.clone());
                held.ok_or(ValidationError::KeysUnavailable(error))
            }
        }
    }

    async fn load_v1_from_store(&self, url: &str) -> Option<(Rc<str>, u64)> {
        let (entry, fetched_at_ms) = self.load_entry(&self.v1.store_key, url).await?;
        let discovery = serde_json::to_vec(entry.get("discovery")?).ok()?;
        let discovery = Discovery::parse(&discovery).ok()?;
        Some((discovery.issuer.into(), fetched_at_ms))
    }

    fn unavailable(&self) -> ValidationError {
        let why = self
            .last_error
            .borrow()
            .clone()
            .unwrap_or(KeySourceError::Discovery("has not been fetched"));
        ValidationError::KeysUnavailable(why)
    }

    fn install(&self, snapshot: KeySnapshot) -> Rc<KeySnapshot> {
        let snapshot = Rc::new(snapshot);
        *self.snapshot.borrow_mut() = Some(snapshot.clone());
        snapshot
    }

    /// Fetches both documents from the issuer; on success installs and shares them.
    async fn fetch(&self, now: u64) -> Result<Rc<KeySnapshot>, KeySourceError> {
        self.last_attempt_ms.set(Some(now));
        let fetched = self.fetch_documents().await.and_then(|(discovery, jwks)| {
            let set = JwkSet::parse(&jwks).map_err(KeySourceError::KeySet)?;
            Ok((discovery, jwks, set))
        });
        *self.last_error.borrow_mut() = fetched.as_ref().err().cloned();
        let elapsed = self.clock.now_millis().saturating_sub(now);
        match &fetched {
            Ok((_, _, set)) => self.emit("keys.fetched", Level::Info, |e| {
                e.with("keys", set.keys.len()).with("fetch_ms", elapsed)
            }),
            Err(error) => self.emit("keys.fetch_failed", Level::Warn, |e| {
                e.with("reason", error.to_string()).with("fetch_ms", elapsed)
            }),
        }
        let (discovery, jwks, set) = fetched?;
        if let Ok(jwks) = serde_json::from_slice::<Value>(&jwks) {
            self.save_to_store(
                &self.store_key,
                &self.policy.metadata_url,
                discovery.to_json(),
                Some(jwks),
                now,
            )
            .await;
        }
        let fetched = snapshot(discovery, set, now);
        // The same documents again (a refetch for a random `kid`, or the max age): keep the
        // snapshot, so its imported keys and the verified tokens tied to it are not thrown away.
        if let Some(held) = self.cached().filter(|held| held.same_documents(&fetched)) {
            held.confirmed_at_ms.set(now);
            return Ok(held);
        }
        Ok(self.install(fetched))
    }

    /// The discovery document, then the key set it names. Where the key set's URL is known in
    /// advance (Entra), both are requested at once; the early key set counts only if the
    /// document names its URL, so the document stays the one authority on where the keys are.
    async fn fetch_documents(&self) -> Result<(Discovery, Vec<u8>), KeySourceError> {
        if let Some(issuer) = &self.policy.issuer_without_discovery {
            let jwks = self.get(&self.policy.metadata_url, MAX_JWKS_BYTES).await?;
            let discovery = Discovery {
                issuer: issuer.clone(),
                jwks_uri: self.policy.metadata_url.clone(),
                token_endpoint: None,
                token_endpoint_auth_methods: None,
            };
            return Ok((discovery, jwks));
        }
        let metadata = self.get(&self.policy.metadata_url, MAX_DISCOVERY_BYTES);
        let expected = self.policy.expected_jwks_uri.as_deref();
        let (document, early) = match expected {
            Some(url) => {
                let (document, keys) = join(metadata, self.get(url, MAX_JWKS_BYTES)).await;
                (document, Some(keys))
            }
            None => (metadata.await, None),
        };
        let discovery = Discovery::parse(&document?)?;
        if let (Some(early), Some(url)) = (early, expected) {
            if discovery.jwks_uri == url {
                return Ok((discovery, early?));
            }
        }
        let jwks = self.get(&discovery.jwks_uri, MAX_JWKS_BYTES).await?;
        Ok((discovery, jwks))
    }

    async fn get(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, KeySourceError> {
        let request = http::Request::get(url)
            .extension(ResponseLimit(max_bytes))
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|_| KeySourceError::Discovery("names an invalid URL"))?;
        let response =
            self.http.send(request, self.policy.timeout).await.map_err(KeySourceError::Http)?;
        if !response.status().is_success() {
            return Err(KeySourceError::Status(response.status().as_u16()));
        }
        let body = response.into_body();
        if body.len() > max_bytes {
            return Err(KeySourceError::Discovery("or key set is too large"));
        }
        Ok(body)
    }

    /// A store entry of this source's format for `metadata_url`, if there is one, and the time
    /// it was fetched.
    async fn load_entry(&self, store_key: &str, metadata_url: &str) -> Option<(Value, u64)> {
        let store = self.store.as_ref()?;
        // The store is an optimisation: a failing or corrupt store means "not there".
        let bytes = store.get(store_key).await.ok()??;
        let entry: Value = serde_json::from_slice(&bytes).ok()?;
        if entry.get("format")?.as_u64()? != STORE_FORMAT
            || entry.get("metadata_url")?.as_str()? != metadata_url
        {
            return None;
        }
        // A fetch time in the future would keep the entry "fresh" for ever.
        let fetched_at_ms = entry.get("fetched_at_ms")?.as_u64()?;
        if fetched_at_ms > self.clock.now_millis().saturating_add(MAX_STORE_CLOCK_SKEW_MS) {
            return None;
        }
        Some((entry, fetched_at_ms))
    }

    async fn load_from_store(&self) -> Option<KeySnapshot> {
        let (entry, fetched_at_ms) =
            self.load_entry(&self.store_key, &self.policy.metadata_url).await?;
        let discovery = serde_json::to_vec(entry.get("discovery")?).ok()?;
        let discovery = Discovery::parse(&discovery).ok()?;
        let jwks = serde_json::to_vec(entry.get("jwks")?).ok()?;
        let set = JwkSet::parse(&jwks).ok()?;
        Some(snapshot(discovery, set, fetched_at_ms))
    }

    /// Shares a fetched discovery document (and key set) with other isolates. Best-effort: a
    /// store failure never fails validation.
    async fn save_to_store(
        &self,
        store_key: &str,
        metadata_url: &str,
        discovery: Value,
        jwks: Option<Value>,
        now: u64,
    ) {
        let Some(store) = &self.store else { return };
        let mut entry = json!({
            "format": STORE_FORMAT,
            "metadata_url": metadata_url,
            "fetched_at_ms": now,
            "discovery": discovery,
        });
        if let (Some(jwks), Some(map)) = (jwks, entry.as_object_mut()) {
            map.insert("jwks".into(), jwks);
        }
        let Ok(bytes) = serde_json::to_vec(&entry) else {
            return;
        };
        // Kept twice the max age, so a new isolate can still fall back on it when the issuer is down.
        let ttl = (self.policy.max_age * 2).max(Duration::from_secs(60));
        let _ = store.put(store_key, bytes, ttl).await;
    }
}

/// The v1.0 issuer of an Entra authority, as held by a [`KeySource`].
struct V1Issuer {
    store_key: String,
    held: RefCell<Option<(Rc<str>, u64)>>,
    last_attempt_ms: Cell<Option<u64>>,
}

fn snapshot(discovery: Discovery, set: JwkSet, fetched_at_ms: u64) -> KeySnapshot {
    KeySnapshot {
        issuer: discovery.issuer,
        token_endpoint: discovery.token_endpoint,
        token_endpoint_auth_methods: discovery.token_endpoint_auth_methods,
        keys: set.keys.into_iter().map(CachedKey::new).collect(),
        fetched_at_ms,
        confirmed_at_ms: Cell::new(0),
    }
}

/// What the SDK reads of a discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// `issuer`.
    pub issuer: String,
    /// `jwks_uri` (`https`, or `http` to a loopback host).
    pub jwks_uri: String,
    /// `token_endpoint`, if present and usable (`https`, or `http` to a loopback host).
    pub token_endpoint: Option<String>,
    /// `token_endpoint_auth_methods_supported`, if present (its first sixteen string members).
    pub token_endpoint_auth_methods: Option<Vec<String>>,
}

/// The most `token_endpoint_auth_methods_supported` entries read (servers list four to six).
pub const MAX_AUTH_METHODS: usize = 16;

impl Discovery {
    /// Reads a discovery document; a missing `issuer` or unusable `jwks_uri` is an error.
    pub fn parse(document: &[u8]) -> Result<Discovery, KeySourceError> {
        if document.len() > MAX_DISCOVERY_BYTES {
            return Err(KeySourceError::Discovery("is too large"));
        }
        let value: Value = serde_json::from_slice(document)
            .map_err(|_| KeySourceError::Discovery("is not JSON"))?;
        let issuer = value
            .get("issuer")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(KeySourceError::Discovery("has no issuer"))?;
        let jwks_uri = value
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(KeySourceError::Discovery("has no jwks_uri"))?;
        if !is_metadata_url(jwks_uri) {
            return Err(KeySourceError::Discovery("has a jwks_uri that is not https"));
        }
        let token_endpoint = value
            .get("token_endpoint")
            .and_then(Value::as_str)
            .filter(|url| is_metadata_url(url))
            .map(str::to_owned);
        let token_endpoint_auth_methods = value
            .get("token_endpoint_auth_methods_supported")
            .and_then(Value::as_array)
            .map(|methods| {
                methods
                    .iter()
                    .filter_map(Value::as_str)
                    .take(MAX_AUTH_METHODS)
                    .map(str::to_owned)
                    .collect()
            });
        Ok(Discovery {
            issuer: issuer.to_owned(),
            jwks_uri: jwks_uri.to_owned(),
            token_endpoint,
            token_endpoint_auth_methods,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "token_endpoint": self.token_endpoint,
            "token_endpoint_auth_methods_supported": self.token_endpoint_auth_methods,
        })
    }
}

/// The shared-store key for an authority's documents.
fn store_key(metadata_url: &str) -> String {
    format!("edge-identity/v1/oidc/{}", base64url::encode(&Sha256::digest(metadata_url.as_bytes())))
}

/// Reads `issuer` and `jwks_uri` from a discovery document (see [`Discovery::parse`]).
pub fn parse_discovery(document: &[u8]) -> Result<(String, String), KeySourceError> {
    Discovery::parse(document).map(|d| (d.issuer, d.jwks_uri))
}

/// Whether `now` is less than `window` after `at` (a time in the future counts as within).
fn within(at: u64, now: u64, window: Duration) -> bool {
    now.saturating_sub(at) < millis(window)
}

impl crate::platform::Platform {
    /// The isolate's key source (discovery document and key set, with their caches) for
    /// `policy.metadata_url`: created on first use, then shared by every validator and acquirer
    /// built on this platform or a clone of it, so an authority's documents are fetched once per
    /// isolate. The first caller's policy (max age, cooldown, timeout) is the one kept.
    pub fn key_source(&self, policy: KeySourcePolicy) -> Rc<KeySource> {
        let url = policy.metadata_url.clone();
        self.shared(
            |source: &KeySource| source.policy().metadata_url == url,
            || {
                let mut source = KeySource::new(
                    policy,
                    self.http.clone(),
                    self.clock.clone(),
                    self.store.clone(),
                )
                .with_join_poll_interval(self.join_poll_interval);
                source.events = self.observer();
                source
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_documents_are_checked() {
        let ok = br#"{"issuer": "https://idp.example", "jwks_uri": "https://idp.example/keys"}"#;
        assert_eq!(
            parse_discovery(ok),
            Ok(("https://idp.example".into(), "https://idp.example/keys".into()))
        );
        let cases: [(&[u8], &str); 5] = [
            (b"<html>", "is not JSON"),
            (br#"{"jwks_uri": "https://idp.example/keys"}"#, "has no issuer"),
            (br#"{"issuer": "", "jwks_uri": "https://idp.example/keys"}"#, "has no issuer"),
            (br#"{"issuer": "https://idp.example"}"#, "has no jwks_uri"),
            (
                br#"{"issuer": "https://idp.example", "jwks_uri": "http://idp.example/keys"}"#,
                "has a jwks_uri that is not https",
            ),
        ];
        for (doc, why) in cases {
            assert_eq!(parse_discovery(doc), Err(KeySourceError::Discovery(why)));
        }
    }

    #[test]
    fn store_key_hides_the_url_and_is_stable() {
        let a = store_key(
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        );
        assert!(a.starts_with("edge-identity/v1/oidc/") && !a.contains("microsoftonline"));
        assert_eq!(
            a,
            store_key(
                "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
            )
        );
    }
}
