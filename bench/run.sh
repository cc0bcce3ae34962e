#!/usr/bin/env bash
# The benchmarks' one command: builds what they need, runs them on 127.0.0.1 in one workerd
# process, prints a table and writes docs/benchmarks.md and docs/benchmarks.svg. Not part of the
# test command, and not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
build_worker bench/validation-worker
build_worker worker-example
build_worker tests/workerd/probe
say "bundling the jose baseline worker (esbuild)"
node_modules/.bin/esbuild bench/js/jose-worker.mjs --bundle --format=esm --platform=neutral \
  --main-fields=module,main --conditions=worker,browser --minify --outfile=bench/build/jose-worker.js --log-level=warning
node_modules/.bin/esbuild bench/js/baseline-worker.mjs --bundle --format=esm --platform=neutral \
  --main-fields=module,main --conditions=worker,browser --minify --outfile=bench/build/baseline-worker.js --log-level=warning
say "building the Spin component (for its size)"
cargo build --release --target wasm32-wasip2 -p spin-example
if ! twiggy --version 2>/dev/null | grep -q '0.7.0'; then
  say "installing twiggy 0.7.0 (wasm size profiler; once)"
  cargo install twiggy --version 0.7.0 --locked
fi
say "an unstripped copy of the example's wasm, for twiggy's per-crate sizes"
CARGO_PROFILE_RELEASE_STRIP=none cargo build --release --target wasm32-unknown-unknown -p worker-example
say "measuring"
node bench/run.mjs
