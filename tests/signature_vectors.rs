//! The pure-Rust backend against Project Wycheproof's JWS vectors and the RFC examples.
#![cfg(all(feature = "rust-crypto", not(target_arch = "wasm32")))]

mod support;

use edge_identity::platform::rust_crypto::RustCrypto;
use futures::executor::block_on;

#[test]
fn every_wycheproof_case_gets_the_expected_verdict_with_rust_crypto() {
    let Some(report) = block_on(support::vectors::run_wycheproof(&RustCrypto)) else { return };
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    // 46 valid cases: 32 verify, 14 are refused by policy (HS256, ES512, keys pinned to PS256).
    assert_eq!((report.accepted, report.refused_by_policy, report.invalid_refused), (32, 14, 355));
}

#[test]
fn rfc_7515_and_8037_examples_verify_with_rust_crypto_and_fail_when_tampered() {
    let failures = block_on(support::vectors::check_rfc_examples(&RustCrypto));
    assert!(failures.is_empty(), "{failures:#?}");
}
