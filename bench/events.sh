#!/usr/bin/env bash
# The cost of structured events (issue 23) on the example's warm `GET /api/me`: one build, two
# workerd instances, events off and on (`Events.Level` Info: three JSON lines per request, drained
# from workerd's stdout), loaded in turn by bench/ab.mjs. Not a test; it prints numbers.
#
#   bash bench/events.sh            # Off against Info
#   AB_EVENTS_A='{"Level":"Info"}' AB_EVENTS_B='{"Level":"Info"}' bash bench/events.sh   # noise
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
build_worker worker-example
say "loading the example with events off (A) and on (B) in turn"
off='{"Level":"Off"}'
info='{"Level":"Info"}'
AB_DIR_A=worker-example/build AB_DIR_B=worker-example/build \
  AB_EVENTS_A="${AB_EVENTS_A:-$off}" AB_EVENTS_B="${AB_EVENTS_B:-$info}" \
  node bench/ab.mjs "events ${AB_LABEL_A:-off}" "events ${AB_LABEL_B:-on}"
