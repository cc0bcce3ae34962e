#!/usr/bin/env bash
# Builds the example worker (worker-example/build/index.js + index_bg.wasm) offline. It is the
# [build] command in wrangler.toml, so `wrangler dev` and `wrangler deploy` run it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
build_worker worker-example
