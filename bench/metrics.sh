#!/usr/bin/env bash
# The cost of counters and Server-Timing (issue 23, item 4) on the example's warm `GET /api/me`:
# one build, two workerd instances loaded in turn by bench/ab.mjs. A has neither; B has what
# AB_CASE names. Not a test; it prints numbers.
#
#   bash bench/metrics.sh                    # counters: IDENTITY_METRICS bound to Miniflare's dataset
#   AB_CASE=server-timing bash bench/metrics.sh   # Events.ServerTiming on
#   AB_CASE=noise bash bench/metrics.sh      # A against itself
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
build_worker worker-example
off='{"Level":"Off"}'
case "${AB_CASE:-counters}" in
  counters) events_b=$off metrics_b=1 label="counters" ;;
  server-timing) events_b='{"ServerTiming":true}' metrics_b=0 label="Server-Timing" ;;
  noise) events_b=$off metrics_b=0 label="neither (noise)" ;;
  *) echo "AB_CASE is counters, server-timing or noise" >&2; exit 2 ;;
esac
say "loading the example without (A) and with $label (B) in turn"
AB_DIR_A=worker-example/build AB_DIR_B=worker-example/build \
  AB_EVENTS_A="$off" AB_EVENTS_B="$events_b" AB_METRICS_A=0 AB_METRICS_B="$metrics_b" \
  node bench/ab.mjs "neither" "$label"
