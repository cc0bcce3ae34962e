//! Where the token cache keys are computed.
//!
//! A user token is keyed by base64url(SHA-256(incoming token)) together with the client id, the
//! authority, the tenant and the sorted scope set (the MSAL on-behalf-of key, extended so one
//! incoming token asking for two APIs gets two entries). App tokens are keyed by client,
//! authority, tenant and scopes; sessions by client, authority and session key. The fields are
//! length-prefixed, hashed again, and the store key is
//! `edge-identity/v1/<kind>/<base64url(SHA-256(fields))>`: a store key never reveals a token,
//! a scope or a tenant.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::base64url;

/// A cache key, usable as a Workers KV or Spin key-value key (URL-safe, 70-odd bytes).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key read back from a stored record.
    pub(crate) fn from_stored(key: &str) -> CacheKey {
        CacheKey(key.to_owned())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.0)
    }
}

/// What a cached token is for, and so what goes into its key.
#[derive(Debug, Clone, Copy)]
pub enum TokenKind<'a> {
    /// A token acquired on behalf of the user whose token this is.
    User {
        /// SHA-256 of the incoming access token ([`token_hash`]): the token itself never
        /// enters the key, and the hash is computed once per validated token.
        incoming_token_hash: &'a str,
    },
    /// An app-only token.
    App,
    /// A token of a long-running session.
    Session {
        /// The session key.
        session_key: &'a str,
    },
}

/// The scope set in canonical form: trimmed, deduplicated, sorted, space-separated.
pub fn canonical_scopes<S: AsRef<str>>(scopes: &[S]) -> String {
    let mut list: Vec<&str> =
        scopes.iter().map(|s| s.as_ref().trim()).filter(|s| !s.is_empty()).collect();
    list.sort_unstable();
    list.dedup();
    list.join(" ")
}

/// base64url(SHA-256(`token`)): how a token appears in keys and nowhere else.
pub fn token_hash(token: &str) -> String {
    base64url::encode(&Sha256::digest(token.as_bytes()))
}

/// The first 16 characters of [`token_hash`]: how events name a user (`oid_hash`) or a
/// session (`session_hash`) without the value itself.
pub fn short_hash(value: &str) -> String {
    let mut hash = token_hash(value);
    hash.truncate(16);
    hash
}

fn hashed(kind: &str, fields: &[&str]) -> CacheKey {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    CacheKey(format!("edge-identity/v1/{kind}/{}", base64url::encode(&hasher.finalize())))
}

/// The key of a token for `kind`, requested by `client_id` from `authority` (the token endpoint)
/// for `scopes` (canonical form), plus any grant-specific `extra` (RFC 8693 audience/resource).
pub fn token_key(
    kind: TokenKind<'_>,
    client_id: &str,
    authority: &str,
    scopes: &str,
    extra: &str,
) -> CacheKey {
    match kind {
        TokenKind::User { incoming_token_hash } => {
            hashed("token/user", &[client_id, authority, scopes, extra, incoming_token_hash])
        }
        TokenKind::App => hashed("token/app", &[client_id, authority, scopes, extra]),
        TokenKind::Session { session_key } => {
            hashed("token/session", &[client_id, authority, scopes, extra, session_key])
        }
    }
}

/// The key of a provider's back-off for one token's flight (`flight_key`), where it is shared
/// through the store (hosts whose memory lasts one request: Spin).
pub fn backoff_key(flight_key: &str) -> CacheKey {
    hashed("backoff", &[flight_key])
}

/// The key under which a DPoP proof's use is remembered (`replay_id`: a hash of its key's
/// thumbprint and `jti`), so another isolate refuses it a second time.
pub fn dpop_proof_key(replay_id: &[u8]) -> CacheKey {
    CacheKey(format!("edge-identity/v1/dpop-proof/{}", base64url::encode(replay_id)))
}

/// The key of a long-running session's record.
pub fn session_record_key(client_id: &str, authority: &str, session_key: &str) -> CacheKey {
    hashed("session", &[client_id, authority, session_key])
}

/// The session key "allocate for me" gives: a hash of the incoming token, as
/// Microsoft.Identity.Web derives it, with a label so it differs from the token's cache hash.
pub fn allocated_session_key(incoming_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"edge-identity/v1/session-key\0");
    hasher.update(incoming_token.as_bytes());
    base64url::encode(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "https://login.microsoftonline.com/t/oauth2/v2.0/token";

    #[test]
    fn scope_order_and_duplicates_do_not_change_the_key() {
        let a = token_key(TokenKind::App, "c", AUTH, &canonical_scopes(&["b", "a", "a "]), "");
        let b = token_key(TokenKind::App, "c", AUTH, &canonical_scopes(&["a", "b"]), "");
        assert_eq!(a, b);
    }

    #[test]
    fn every_field_separates_keys_and_no_key_reveals_the_token() {
        let token = "eyJhbGciOiJSUzI1NiJ9.secret-claims.sig";
        let user = |t: &str, c, a, s| {
            token_key(TokenKind::User { incoming_token_hash: &token_hash(t) }, c, a, s, "")
        };
        let base = user(token, "c", AUTH, "s");
        assert_ne!(base, user("other", "c", AUTH, "s"));
        assert_ne!(base, user(token, "c2", AUTH, "s"));
        assert_ne!(base, user(token, "c", "https://other/token", "s"));
        assert_ne!(base, user(token, "c", AUTH, "s2"));
        assert_ne!(base, token_key(TokenKind::App, "c", AUTH, "s", ""));
        // Length prefixes: moving a boundary between fields changes the key.
        assert_ne!(user(token, "ab", "c", "s"), user(token, "a", "bc", "s"));
        assert!(!base.as_str().contains("secret") && base.as_str().len() < 100);
        assert!(base.as_str().starts_with("edge-identity/v1/token/user/"));
        assert_ne!(allocated_session_key(token), token_hash(token));
    }
}
