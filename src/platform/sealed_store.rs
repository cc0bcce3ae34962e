//! The only way the SDK reaches a shared key-value store: every value it writes is sealed and
//! every value it reads must open, so nothing in the store is believed unless this deployment's
//! seal secret wrote it, under that very key.
//!
//! Anyone who can write the namespace (another Worker bound to it, an API token with KV edit
//! rights) could otherwise plant an issuer key set with a key of their own, or a downstream token
//! under a user's cache key. Here:
//!
//! * a value is `EI3s` ‖ the seal key's 8-byte id ‖ a fresh 96-bit nonce ‖ AES-256-GCM(JSON),
//!   with the value's store key as associated data, so a value copied under another key (another
//!   user's, another kind's) does not open;
//! * the AES key is SHA-256 of a label and the seal secret (`TOKEN_CACHE_KEY`, at least 32
//!   characters: [`SealSecret`]); its id is a hash of that key, so it tells which secret sealed a
//!   value without saying anything about it;
//! * **rotation without loss**: a previous secret (`TOKEN_CACHE_KEY_PREVIOUS`) is accepted for
//!   opening ([`SealedStore::with_previous`]); what it opens is reported stale, and the token
//!   cache seals it again under the current secret. A value whose key id is neither (sealed by
//!   another version of the deployment during a gradual rollout) is neither believed nor
//!   deleted: [`SealedStore::entry`] says so, and sessions answer 503 rather than lose it.
//!   Values of the previous format (`EI2s`, no key id) open the same way and are re-sealed;
//! * a value that does not open (planted, tampered, truncated, oversized, an unknown format) is a
//!   miss: it is deleted, and the first such value is logged;
//! * without a seal secret the SDK shares nothing through the store
//!   ([`Platform::with_store`](super::Platform::with_store)).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{
    Crypto, CryptoError, KeyValueStore, LocalFuture, Logger, SealingKey, StoreError,
    SEAL_NONCE_LEN, SEAL_TAG_LEN,
};
use crate::secret::SealSecret;

/// The frame of a sealed value (format version 3: with the seal key's id).
const FRAME: &[u8; 4] = b"EI3s";

/// The frame of format version 2 (no key id), still opened and then re-sealed.
const FRAME_V2: &[u8; 4] = b"EI2s";

/// The length of a seal key's id in the frame.
const KEY_ID_LEN: usize = 8;

/// Largest value read back; anything longer is refused before it is decrypted.
pub const MAX_SEALED_VALUE_BYTES: usize = 1024 * 1024;

/// What the store holds under a key, as this deployment can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedEntry {
    /// Nothing, or a value that did not authenticate (deleted).
    Missing,
    /// The value, opened. `stale`: sealed with the previous secret or in the previous format, to
    /// be sealed again under the current secret by whoever knows its lifetime.
    Open {
        /// The value.
        value: Vec<u8>,
        /// Whether it should be sealed again.
        stale: bool,
    },
    /// A well-formed value sealed with a secret this deployment does not have (another version
    /// during a rotation): neither believed nor deleted.
    Foreign,
}

/// One seal secret's key, its id, and the imported key once used.
struct Seal {
    raw_key: [u8; 32],
    id: [u8; KEY_ID_LEN],
    key: RefCell<Option<SealingKey>>,
}

impl Seal {
    fn new(secret: &SealSecret) -> Seal {
        let mut hasher = Sha256::new();
        hasher.update(b"edge-identity/v2/store-seal\0");
        hasher.update(secret.expose().as_bytes());
        let raw_key: [u8; 32] = hasher.finalize().into();
        let mut hasher = Sha256::new();
        hasher.update(b"edge-identity/v3/seal-key-id\0");
        hasher.update(raw_key);
        let digest = hasher.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.iter_mut().zip(digest.iter()).for_each(|(to, from)| *to = *from);
        Seal { raw_key, id, key: RefCell::new(None) }
    }

    async fn key(&self, crypto: &dyn Crypto) -> Result<SealingKey, CryptoError> {
        if let Some(key) = self.key.borrow().as_ref() {
            return Ok(key.clone());
        }
        let key = crypto.import_sealing_key(&self.raw_key).await?;
        *self.key.borrow_mut() = Some(key.clone());
        Ok(key)
    }
}

/// A [`KeyValueStore`] that seals what it writes and authenticates what it reads.
pub struct SealedStore {
    inner: Rc<dyn KeyValueStore>,
    crypto: Rc<dyn Crypto>,
    logger: Rc<dyn Logger>,
    current: Seal,
    previous: RefCell<Option<Rc<Seal>>>,
    rejected: Cell<u64>,
}

impl fmt::Debug for SealedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedStore")
            .field("rejected", &self.rejected.get())
            .finish_non_exhaustive()
    }
}

impl SealedStore {
    /// Seals `inner` with `secret`; rejected values are reported to `logger`.
    pub fn new(
        inner: Rc<dyn KeyValueStore>,
        secret: &SealSecret,
        crypto: Rc<dyn Crypto>,
        logger: Rc<dyn Logger>,
    ) -> SealedStore {
        SealedStore {
            inner,
            crypto,
            logger,
            current: Seal::new(secret),
            previous: RefCell::new(None),
            rejected: Cell::new(0),
        }
    }

    /// The same store, also opening values sealed with `previous` (the secret before a
    /// rotation, `TOKEN_CACHE_KEY_PREVIOUS`): they are read as stale and sealed again under the
    /// current secret, so a rotation loses nothing.
    pub fn with_previous(self, previous: &SealSecret) -> SealedStore {
        self.accept_previous(previous);
        self
    }

    /// [`with_previous`](SealedStore::with_previous) on a store already shared (the host
    /// adapters build the platform, then read `TOKEN_CACHE_KEY_PREVIOUS`).
    pub fn accept_previous(&self, previous: &SealSecret) {
        let previous = Seal::new(previous);
        if previous.id != self.current.id {
            *self.previous.borrow_mut() = Some(Rc::new(previous));
        }
    }

    /// How many values read back did not authenticate (and were deleted).
    pub fn rejected(&self) -> u64 {
        self.rejected.get()
    }

    /// `value` sealed for `key` under the current secret, as [`put`](KeyValueStore::put) writes
    /// it: for a value kept somewhere else than this store (the coordinator).
    pub async fn seal(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let failed = |e: CryptoError| StoreError(format!("sealing: {e}"));
        let sealing_key = self.current.key(self.crypto.as_ref()).await.map_err(failed)?;
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        self.crypto.random(&mut nonce).map_err(failed)?;
        let sealed =
            self.crypto.seal(&sealing_key, &nonce, &aad(key), value).await.map_err(failed)?;
        Ok([&FRAME[..], &self.current.id, &nonce, &sealed].concat())
    }

    /// A sealed `value` read for `key` from somewhere else than this store, opened (see
    /// [`SealedEntry`]; a value that does not open is [`SealedEntry::Missing`], not deleted).
    pub async fn open_sealed(&self, key: &str, value: &[u8]) -> SealedEntry {
        match self.open(key, value).await {
            Opened::Value(value, stale) => SealedEntry::Open { value, stale },
            Opened::Foreign => SealedEntry::Foreign,
            Opened::Refused => SealedEntry::Missing,
        }
    }

    /// The entry under `key`, as this deployment can read it (see [`SealedEntry`]).
    pub async fn entry(&self, key: &str) -> Result<SealedEntry, StoreError> {
        let Some(value) = self.inner.get(key).await? else { return Ok(SealedEntry::Missing) };
        Ok(match self.open(key, &value).await {
            Opened::Value(value, stale) => SealedEntry::Open { value, stale },
            Opened::Foreign => SealedEntry::Foreign,
            Opened::Refused => {
                self.reject(key).await;
                SealedEntry::Missing
            }
        })
    }

    async fn open(&self, key: &str, value: &[u8]) -> Opened {
        if value.len() > MAX_SEALED_VALUE_BYTES {
            return Opened::Refused;
        }
        let Some((frame, rest)) = value.split_first_chunk::<4>() else { return Opened::Refused };
        let previous = self.previous.borrow().clone();
        let (seals, rest): (Vec<(&Seal, bool)>, &[u8]) = if frame == FRAME {
            let Some((id, rest)) = rest.split_first_chunk::<KEY_ID_LEN>() else {
                return Opened::Refused;
            };
            let seal = if *id == self.current.id {
                (&self.current, false)
            } else {
                match previous.as_deref() {
                    Some(previous) if *id == previous.id => (previous, true),
                    _ => return Opened::Foreign,
                }
            };
            (vec![seal], rest)
        } else if frame == FRAME_V2 {
            // No key id: the current secret, then the previous one; stale either way.
            let mut seals = vec![(&self.current, true)];
            seals.extend(previous.as_deref().map(|p| (p, true)));
            (seals, rest)
        } else {
            return Opened::Refused;
        };
        if rest.len() < SEAL_NONCE_LEN + SEAL_TAG_LEN {
            return Opened::Refused;
        }
        let Some((nonce, sealed)) = rest.split_first_chunk::<SEAL_NONCE_LEN>() else {
            return Opened::Refused;
        };
        for (seal, stale) in seals {
            let Ok(sealing_key) = seal.key(self.crypto.as_ref()).await else { continue };
            if let Ok(Some(plain)) = self.crypto.open(&sealing_key, nonce, &aad(key), sealed).await
            {
                return Opened::Value(plain, stale);
            }
        }
        Opened::Refused
    }

    async fn reject(&self, key: &str) {
        let first = self.rejected.get() == 0;
        self.rejected.set(self.rejected.get().saturating_add(1));
        if first {
            // The key names what kind of entry it was, never whose: keys are hashes.
            self.logger.warn(&format!(
                "a value in the shared store did not authenticate (planted, tampered, truncated, \
                 an older format, or written with another seal secret); ignored and deleted ({key}); \
                 later ones are counted, not logged"
            ));
        }
        let _ = self.inner.delete(key).await;
    }
}

/// A value read back, opened or not.
enum Opened {
    /// Its plaintext, and whether it should be sealed again.
    Value(Vec<u8>, bool),
    /// Sealed with a key this deployment does not have.
    Foreign,
    /// Not a value this deployment (or any version of it) sealed.
    Refused,
}

/// The associated data of a value: its store key, behind a label.
fn aad(key: &str) -> Vec<u8> {
    [b"edge-identity/v2/store-entry\0".as_slice(), key.as_bytes()].concat()
}

impl KeyValueStore for SealedStore {
    /// The value under `key` if it opens; a foreign one (another version's secret) is a miss
    /// here and stays in the store. Callers that must tell the two apart use
    /// [`entry`](SealedStore::entry).
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            Ok(match self.entry(key).await? {
                SealedEntry::Open { value, .. } => Some(value),
                SealedEntry::Missing | SealedEntry::Foreign => None,
            })
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let frame = self.seal(key, &value).await?;
            self.inner.put(key, frame, ttl).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}
