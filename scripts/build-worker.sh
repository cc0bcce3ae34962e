#!/usr/bin/env bash
# Builds the example worker (worker-example/build/index.js + index_bg.wasm) offline. It is the
# [build] command in wrangler.toml, so `wrangler dev` and `wrangler deploy` run it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
ensure_rust_targets
ensure_wasm_bindgen_cli
ensure_worker_build
ensure_node
ensure_npm_packages
build_worker worker-example
