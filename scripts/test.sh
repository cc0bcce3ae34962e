#!/usr/bin/env bash
# Runs every test of edge-identity. Installs what it needs first (pinned; skipped when present).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh

ensure_toolchain

say "native: unit, integration and doc tests (pure-Rust crypto backend, a real OIDC server on 127.0.0.1; tests/layers.rs: no import points up a floor, no circle)"
cargo test --workspace --features edge-identity/rust-crypto

say "WebCrypto backend inside Node (wasm32-unknown-unknown, wasm-bindgen-test)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --features webcrypto --test webcrypto

say "the Workers adapters inside workerd (Miniflare under node --test)"
build_worker tests/workerd/probe
node --test tests/workerd/adapters.test.mjs

say "the example worker end to end inside workerd, against the local stack (node --test)"
build_worker worker-example
node --test tests/e2e/worker.test.mjs
say "the example worker on a Generic authority at a real OpenID Certified server (oidc-provider, node --test)"
node --test tests/e2e/generic-provider.test.mjs
say "DPoP-bound tokens from oidc-provider and protected-resource metadata, an MCP-style discovery (node --test)"
node --test tests/e2e/dpop.test.mjs
say "the example worker with each provider preset, on the providers' documented token shapes (node --test)"
node --test tests/e2e/provider-presets.test.mjs
say "two isolates of the example worker on one coordinator Durable Object and one KV namespace (node --test)"
node --test tests/e2e/coordinator.test.mjs

say "the small examples (examples/*) end to end inside workerd (node --test)"
build_worker examples/protect-route
build_worker examples/router
build_worker examples/long-running-job
build_worker examples/axum
node --test tests/e2e/examples.test.mjs

say "the Spin example component (WASI 0.3) under wasmtime serve, against the local stack; requests at once in one reused instance (node --test)"
build_spin_component
WASMTIME="$WASMTIME" node --test tests/spin/spin.test.mjs tests/spin/reuse.test.mjs

say "the core and every adapter build for their targets"
cargo check --lib --target wasm32-unknown-unknown --features worker
cargo check --lib --target wasm32-wasip2 --features rust-crypto
cargo check --lib --target wasm32-wasip2 --features spin

say "no tokio in the core (with or without the pure-Rust backend, and in the Spin build)"
for features in "" "--features rust-crypto" "--features spin --target wasm32-wasip2"; do
  # shellcheck disable=SC2086
  if cargo tree -e normal -p edge-identity $features | grep -q tokio; then
    echo "tokio found in the core's dependency tree ($features)" >&2
    exit 1
  fi
done

say "lints: no unwrap/expect/indexing/panic reachable in the library"
cargo clippy --lib --features rust-crypto -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --features worker,axum -- -D warnings
cargo clippy -p worker-example -p example-protect-route -p example-router -p example-long-running-job -p edge-identity-workerd-probe -p bench-validation-worker --target wasm32-unknown-unknown -- -D warnings
# On its own: workers-rs's `http` feature (axum) changes `#[event(fetch)]` for every crate built with it.
cargo clippy -p example-axum --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p edge-identity --features spin -p spin-example -p spin-host-shim --target wasm32-wasip2 -- -D warnings

say "rustdoc with every feature: no warning, natively and for WASI"
# Every feature: natively (Workers, axum, RustCrypto) and for WASI, where the Spin module is built.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p edge-identity --all-features
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p edge-identity --all-features --target wasm32-wasip2

say "all tests passed"
