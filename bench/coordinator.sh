#!/usr/bin/env bash
# The coordinator Durable Object measured (issue 20): provider calls and latency of a
# two-isolate burst with and without it, and the warm path with it bound (bench/coordinator.mjs).
# Not a test; it prints numbers.
#
#   bash bench/coordinator.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
build_worker worker-example
say "measuring two isolates with and without the coordinator"
node bench/coordinator.mjs
