//! Strict base64url (RFC 4648 §5, unpadded), as JWS requires.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Decodes canonical unpadded base64url: no padding, no whitespace, no other alphabet, and no
/// set bits in the unused tail (so each byte string has exactly one accepted encoding).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    // The engine already rejects padding, foreign characters and non-zero trailing bits.
    URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_canonical_encoding() {
        assert_eq!(decode("Zm9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(decode("Zg").as_deref(), Some(&b"f"[..]));
        assert_eq!(decode("Zh"), None, "non-zero trailing bits");
        assert_eq!(decode("Zg=="), None, "padding");
        assert_eq!(decode("Zm9v+"), None, "standard alphabet");
        assert_eq!(decode("Zm 9v"), None, "whitespace");
        assert_eq!(decode("Z"), None, "impossible length");
        assert_eq!(encode(b"foo"), "Zm9v");
    }
}
