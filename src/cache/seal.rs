//! Sealing cache values at rest: AES-256-GCM through the platform's [`Crypto`] (WebCrypto on
//! Workers), a fresh random 96-bit nonce per value, and the value's cache key as associated
//! data, so a value copied under another key does not open.
//!
//! The AES key is SHA-256 of a label and the configured secret (`TOKEN_CACHE_KEY`): use 32
//! random bytes, e.g. `openssl rand -base64 32`.

use std::cell::RefCell;
use std::fmt;

use sha2::{Digest, Sha256};

use crate::platform::{Crypto, CryptoError, SealingKey, SEAL_NONCE_LEN, SEAL_TAG_LEN};

/// The shortest secret accepted as a cache key secret.
pub const MIN_SECRET_LEN: usize = 32;

/// Seals and opens cache values with one key.
pub(crate) struct Sealer {
    raw: [u8; 32],
    imported: RefCell<Option<SealingKey>>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    pub(crate) fn new(secret: &str) -> Sealer {
        let mut hasher = Sha256::new();
        hasher.update(b"edge-identity/v1/token-cache-seal\0");
        hasher.update(secret.as_bytes());
        Sealer { raw: hasher.finalize().into(), imported: RefCell::new(None) }
    }

    async fn key(&self, crypto: &dyn Crypto) -> Result<SealingKey, CryptoError> {
        if let Some(key) = self.imported.borrow().as_ref() {
            return Ok(key.clone());
        }
        let key = crypto.import_sealing_key(&self.raw).await?;
        *self.imported.borrow_mut() = Some(key.clone());
        Ok(key)
    }

    /// `nonce || ciphertext || tag`.
    pub(crate) async fn seal(
        &self,
        crypto: &dyn Crypto,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self.key(crypto).await?;
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        crypto.random(&mut nonce)?;
        let sealed = crypto.seal(&key, &nonce, aad, plaintext).await?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// The plaintext, or `None` when `data` does not authenticate under this key and `aad`.
    pub(crate) async fn open(
        &self,
        crypto: &dyn Crypto,
        aad: &[u8],
        data: &[u8],
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        if data.len() < SEAL_NONCE_LEN + SEAL_TAG_LEN {
            return Ok(None);
        }
        let (nonce, sealed) = data.split_at(SEAL_NONCE_LEN);
        let Ok(nonce) = <[u8; SEAL_NONCE_LEN]>::try_from(nonce) else {
            return Ok(None);
        };
        let key = self.key(crypto).await?;
        crypto.open(&key, &nonce, aad, sealed).await
    }
}
