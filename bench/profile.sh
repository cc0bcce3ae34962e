#!/usr/bin/env bash
# Where the example worker's warm GET /api/me spends CPU time: V8's sampling profiler inside
# workerd, through the inspector, next to the JavaScript baseline (see bench/profile.mjs).
# Builds the example with function names kept, so the profile names Rust functions; run
# `bash bench/run.sh` afterwards to measure the stripped build again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
CARGO_PROFILE_RELEASE_STRIP=none build_worker worker-example
node_modules/.bin/esbuild bench/js/baseline-worker.mjs --bundle --format=esm --platform=neutral \
  --main-fields=module,main --conditions=worker,browser --minify --outfile=bench/build/baseline-worker.js --log-level=warning
say "profiling (20 connections, ${PROFILE_SECONDS:-4} s each, 127.0.0.1)"
node bench/profile.mjs
