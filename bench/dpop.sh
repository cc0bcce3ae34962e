#!/usr/bin/env bash
# The cost of a DPoP proof check (issue 21) on Workers next to a bearer validation: the
# validation worker in workerd, an Entra-shaped RS256 token bound to an ES256 key, one fresh
# proof per validation (bench/dpop.mjs). Not a test; it prints numbers.
#
#   bash bench/dpop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
build_worker bench/validation-worker
say "measuring bearer and DPoP validations"
node bench/dpop.mjs
