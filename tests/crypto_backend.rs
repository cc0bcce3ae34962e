//! The pure-Rust [`Crypto`] backend (`RustCrypto`) against the shared vectors in
//! `support::crypto_vectors`; `tests/webcrypto.rs` runs the same checks against WebCrypto.
#![cfg(all(not(target_arch = "wasm32"), feature = "rust-crypto"))]

mod support;

use edge_identity::platform::rust_crypto::RustCrypto;
use futures::executor::block_on;
use support::crypto_vectors;

#[test]
fn rs256_signing_reproduces_rfc7515_a2_with_rust_crypto() {
    block_on(crypto_vectors::rs256_signing_reproduces_rfc7515_a2(&RustCrypto));
}

#[test]
fn ps256_signatures_verify_and_use_a_fresh_salt_with_rust_crypto() {
    block_on(crypto_vectors::ps256_signatures_verify_and_use_a_fresh_salt(&RustCrypto));
}

#[test]
fn undersized_or_malformed_signing_keys_are_refused_by_rust_crypto() {
    block_on(crypto_vectors::undersized_or_malformed_signing_keys_are_refused(&RustCrypto));
}

#[test]
fn aes_256_gcm_matches_the_published_test_case_16_with_rust_crypto() {
    block_on(crypto_vectors::aes_256_gcm_matches_the_published_test_case_16(&RustCrypto));
}

#[test]
fn tampered_sealed_values_do_not_open_with_rust_crypto() {
    block_on(crypto_vectors::tampered_sealed_values_do_not_open(&RustCrypto));
}

#[test]
fn random_fills_the_buffer_and_draws_differ_with_rust_crypto() {
    crypto_vectors::random_fills_the_buffer_and_draws_differ(&RustCrypto);
}
