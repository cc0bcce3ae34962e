//! Strict base64url (RFC 4648 §5, unpadded), as JWS requires.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Marks a byte outside the base64url alphabet; a valid digit is below 64.
const INVALID: u8 = 0xFF;

/// Each byte's 6-bit value in the base64url alphabet, or [`INVALID`].
// Built at compile time: an index out of range fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const DIGITS: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

#[inline(always)]
fn digit(byte: u8) -> u32 {
    u32::from(DIGITS.get(usize::from(byte)).copied().unwrap_or(INVALID))
}

/// Decodes canonical unpadded base64url: no padding, no whitespace, no other alphabet, and no
/// set bits in the unused tail (so each byte string has exactly one accepted encoding).
///
/// Written out rather than taken from the `base64` crate: every token's three segments pass
/// through here on a first sight, and this loop (a table lookup per character, output written
/// in place) stays fast at any optimisation level, where the crate's decoder was a third of
/// parsing a token under `opt-level = "z"`. A property test holds it to the crate's decoder.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let input = text.as_bytes();
    let (whole, tail_len) = (input.len() / 4, input.len() % 4);
    let tail_bytes = match tail_len {
        0 => 0,
        2 => 1,
        3 => 2,
        // One character left over encodes no whole byte.
        _ => return None,
    };
    let mut out = vec![0u8; whole * 3 + tail_bytes];
    // Any invalid digit sets bits above the low six in `seen`.
    let mut seen = 0u32;
    for (group, bytes) in input.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        if let ([a, b, c, d], [x, y, z]) = (group, bytes) {
            let (a, b, c, d) = (digit(*a), digit(*b), digit(*c), digit(*d));
            seen |= a | b | c | d;
            let n = (a << 18) | (b << 12) | (c << 6) | d;
            (*x, *y, *z) = ((n >> 16) as u8, (n >> 8) as u8, n as u8);
        }
    }
    let tail_in = input.get(whole * 4..).unwrap_or_default();
    let tail_out = out.get_mut(whole * 3..).unwrap_or_default();
    match (tail_in, tail_out) {
        ([a, b], [x]) => {
            let (a, b) = (digit(*a), digit(*b));
            // 12 bits for one byte: the last four must be zero.
            seen |= a | b | ((b & 0x0F) << 6);
            *x = ((a << 2) | (b >> 4)) as u8;
        }
        ([a, b, c], [x, y]) => {
            let (a, b, c) = (digit(*a), digit(*b), digit(*c));
            // 18 bits for two bytes: the last two must be zero.
            seen |= a | b | c | ((c & 0x03) << 6);
            let n = (a << 12) | (b << 6) | c;
            (*x, *y) = ((n >> 10) as u8, (n >> 2) as u8);
        }
        _ => {}
    }
    (seen < 64).then_some(out)
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

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 5000, failure_persistence: None, ..ProptestConfig::default() })]

            /// Same answer as the `base64` crate's strict decoder, on base64url-ish text
            /// (including padding, the standard alphabet's `+/` and stray bytes).
            #[test]
            fn decodes_exactly_as_the_base64_crate(text in "[A-Za-z0-9_\\-+/=. é]{0,70}") {
                prop_assert_eq!(decode(&text), URL_SAFE_NO_PAD.decode(text.as_bytes()).ok());
            }

            #[test]
            fn decodes_what_it_encodes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
                prop_assert_eq!(decode(&encode(&bytes)), Some(bytes));
            }
        }
    }
}
