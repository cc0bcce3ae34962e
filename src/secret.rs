//! Secrets typed to the wire: each kind of secret the SDK handles is its own type, printed as
//! `Type(***)` by `Debug`, and exposed only where it is written into a request (a token
//! endpoint form, an `Authorization` header) or into a sealed cache record.
//!
//! | type | what it is | exposed where |
//! |---|---|---|
//! | [`Secret`] | a configuration value (as read) | when a credential is built |
//! | [`ClientSecret`] | this API's client secret | `acquisition/token_endpoint.rs`, the form |
//! | [`BearerToken`](crate::BearerToken) | the caller's incoming token | the OBO / RFC 8693 form, the cache key's hash |
//! | [`AccessToken`] | a downstream access token | the downstream `Authorization` header |
//! | [`RefreshToken`] | a session's refresh token | the refresh-token grant's form |
//! | [`SealSecret`] | the store's seal secret | the sealing key's derivation |

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::config_error::ConfigError;

/// A secret configuration value (a client secret, a certificate). `Debug` and `Display` never
/// show it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The secret every value shared through the key-value store is sealed with (a host secret such
/// as `TOKEN_CACHE_KEY`): at least [`SealSecret::MIN_LEN`] characters, e.g. `openssl rand -base64
/// 32`. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealSecret(Secret);

impl SealSecret {
    /// The shortest seal secret accepted.
    pub const MIN_LEN: usize = 32;

    /// Checks `secret`; a short one is a configuration error naming `field`.
    pub fn new(secret: Secret, field: &str) -> Result<SealSecret, ConfigError> {
        if secret.expose().len() < Self::MIN_LEN {
            return Err(ConfigError::new(
                field,
                format!(
                    "must be at least {} characters (use 32 random bytes, base64)",
                    Self::MIN_LEN
                ),
            ));
        }
        Ok(SealSecret(secret))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for SealSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealSecret(***)")
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub(crate) fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret itself, for the one place that writes it into a request.
            pub(crate) fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }

        /// Written only into sealed cache records.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

secret_type!(
    /// This API's client secret, as sent to the token endpoint.
    ClientSecret
);
secret_type!(
    /// An access token for a downstream API.
    AccessToken
);
secret_type!(
    /// A long-running session's refresh token.
    RefreshToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_type_debugs_as_its_name_and_stars_and_serializes_only_into_records() {
        let shown = format!(
            "{:?} {:?} {:?}",
            ClientSecret::new("cs-hunter2"),
            AccessToken::new("at-hunter2"),
            RefreshToken::new("rt-hunter2")
        );
        assert_eq!(shown, "ClientSecret(***) AccessToken(***) RefreshToken(***)");
        let record = serde_json::to_string(&RefreshToken::new("rt-1")).unwrap();
        assert_eq!(record, "\"rt-1\"");
        let back: RefreshToken = serde_json::from_str(&record).unwrap();
        assert_eq!(back.expose(), "rt-1");
    }
}
