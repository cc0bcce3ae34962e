#!/usr/bin/env bash
# Per-request cost of the Spin example (issue 22) under wasmtime serve, with the instance reuse a
# WASI 0.3 host does (Spin 4, wasmtime serve's default) against one instance per request
# (`--max-instance-reuse-count 1`, what every request cost on Spin before WASI 0.3): first
# sight of a token, a repeat token, and a route whose OBO token is cached (bench/spin.mjs). Not a
# test; it prints numbers.
#
#   bash bench/spin.sh              (BENCH_REQUESTS=N per scenario, default 200)
#
# SPIN_BASELINE_COMPONENT=path/composed.wasm adds a column for another revision's composed build
# (docs/benchmarks.md, "Issue 22": the spin-sdk 5.2 build of 8f7da3d, made with
# `git archive 8f7da3d | tar -x -C DIR` and build_spin_component there).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_rust_targets
ensure_node
ensure_npm_packages
ensure_wasm_runtime_tools
build_spin_component
say "measuring the Spin example under wasmtime serve, with and without instance reuse"
WASMTIME="$WASMTIME" node bench/spin.mjs
