#!/usr/bin/env bash
# An A/B of the example worker's warm `GET /api/me`: two revisions of this repository (or one
# revision built two ways), each built into bench/build/, then loaded in alternation against the
# same local identity provider and downstream API (bench/ab.mjs). Not a test; it prints numbers.
#
#   bash bench/ab.sh REV_A REV_B
#   AB_FLAGS_B=--no-panic-recovery bash bench/ab.sh HEAD HEAD   # extra worker-build flags
#
# The figures in docs/benchmarks.md §"Each target" came from:
#   bash bench/ab.sh 3030f65 afd8e73   # one crossing per fetch + web_sys::Request
#   bash bench/ab.sh 46db12b 08ee813   # pass-through bodies
#   AB_FLAGS_B=--no-panic-recovery bash bench/ab.sh HEAD HEAD
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
rev_a=${1:?usage: bash bench/ab.sh REV_A REV_B}
rev_b=${2:?usage: bash bench/ab.sh REV_A REV_B}

# shellcheck source=bench/build-rev.sh
. bench/build-rev.sh
build_rev "$rev_a" worker-example bench/build/ab-a "${AB_FLAGS_A:-}"
build_rev "$rev_b" worker-example bench/build/ab-b "${AB_FLAGS_B:-}"
say "loading A ($rev_a) and B ($rev_b) in turn"
node bench/ab.mjs "$rev_a ${AB_FLAGS_A:-}" "$rev_b ${AB_FLAGS_B:-}"
