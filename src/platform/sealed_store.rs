//! The only way the SDK reaches a shared key-value store: every value it writes is sealed and
//! every value it reads must open, so nothing in the store is believed unless this deployment's
//! seal secret wrote it, under that very key.
//!
//! Anyone who can write the namespace (another Worker bound to it, an API token with KV edit
//! rights) could otherwise plant an issuer key set with a key of their own, or a downstream token
//! under a user's cache key. Here:
//!
//! * a value is `EI2s` ‖ a fresh 96-bit nonce ‖ AES-256-GCM(JSON), with the value's store key as
//!   associated data, so a value copied under another key (another user's, another kind's) does
//!   not open;
//! * the AES key is SHA-256 of a label and the seal secret (`TOKEN_CACHE_KEY`, at least 32
//!   characters: [`SealSecret`]);
//! * a value that does not open (planted, tampered, truncated, oversized, an older format, another
//!   secret's) is a miss: it is deleted, and the first such value is logged;
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

/// The frame of a sealed value (format version 2; version 1 had clear and sealed frames).
const FRAME: &[u8; 4] = b"EI2s";

/// Largest value read back; anything longer is refused before it is decrypted.
pub const MAX_SEALED_VALUE_BYTES: usize = 1024 * 1024;

/// A [`KeyValueStore`] that seals what it writes and authenticates what it reads.
pub struct SealedStore {
    inner: Rc<dyn KeyValueStore>,
    crypto: Rc<dyn Crypto>,
    logger: Rc<dyn Logger>,
    raw_key: [u8; 32],
    key: RefCell<Option<SealingKey>>,
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
        let mut hasher = Sha256::new();
        hasher.update(b"edge-identity/v2/store-seal\0");
        hasher.update(secret.expose().as_bytes());
        SealedStore {
            inner,
            crypto,
            logger,
            raw_key: hasher.finalize().into(),
            key: RefCell::new(None),
            rejected: Cell::new(0),
        }
    }

    /// How many values read back did not authenticate (and were deleted).
    pub fn rejected(&self) -> u64 {
        self.rejected.get()
    }

    async fn key(&self) -> Result<SealingKey, CryptoError> {
        if let Some(key) = self.key.borrow().as_ref() {
            return Ok(key.clone());
        }
        let key = self.crypto.import_sealing_key(&self.raw_key).await?;
        *self.key.borrow_mut() = Some(key.clone());
        Ok(key)
    }

    async fn open(&self, key: &str, value: &[u8]) -> Option<Vec<u8>> {
        if value.len() > MAX_SEALED_VALUE_BYTES
            || value.len() < FRAME.len() + SEAL_NONCE_LEN + SEAL_TAG_LEN
        {
            return None;
        }
        let (frame, rest) = value.split_at(FRAME.len());
        if frame != FRAME {
            return None;
        }
        let (nonce, sealed) = rest.split_at(SEAL_NONCE_LEN);
        let nonce = <[u8; SEAL_NONCE_LEN]>::try_from(nonce).ok()?;
        let sealing_key = self.key().await.ok()?;
        self.crypto.open(&sealing_key, &nonce, &aad(key), sealed).await.ok()?
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

/// The associated data of a value: its store key, behind a label.
fn aad(key: &str) -> Vec<u8> {
    [b"edge-identity/v2/store-entry\0".as_slice(), key.as_bytes()].concat()
}

impl KeyValueStore for SealedStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let Some(value) = self.inner.get(key).await? else { return Ok(None) };
            match self.open(key, &value).await {
                Some(plain) => Ok(Some(plain)),
                None => {
                    self.reject(key).await;
                    Ok(None)
                }
            }
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> LocalFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let sealing_key = self.key().await.map_err(|e| StoreError(format!("sealing: {e}")))?;
            let mut nonce = [0u8; SEAL_NONCE_LEN];
            self.crypto.random(&mut nonce).map_err(|e| StoreError(format!("sealing: {e}")))?;
            let sealed = self
                .crypto
                .seal(&sealing_key, &nonce, &aad(key), &value)
                .await
                .map_err(|e| StoreError(format!("sealing: {e}")))?;
            self.inner.put(key, [&FRAME[..], &nonce, &sealed].concat(), ttl).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}
