#!/usr/bin/env bash
# An A/B of token validation itself: bench/validation-worker built at two revisions of this
# repository, both loaded in one workerd process and measured in alternation on the same
# Entra-shaped token (bench/ab-validation.mjs): first sight (parse, WebCrypto signature, claims),
# a repeat token (the verified-token cache)
# and the parse alone. Not a test; it prints numbers.
#
#   bash bench/ab-validation.sh REV_A REV_B
#
# The first-sight figures in docs/benchmarks.md §"Issue 18" came from:
#   bash bench/ab-validation.sh 0d33644 HEAD
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
rev_a=${1:?usage: bash bench/ab-validation.sh REV_A REV_B}
rev_b=${2:?usage: bash bench/ab-validation.sh REV_A REV_B}

# shellcheck source=bench/build-rev.sh
. bench/build-rev.sh
build_rev "$rev_a" bench/validation-worker bench/build/abv-a
build_rev "$rev_b" bench/validation-worker bench/build/abv-b
say "measuring A ($rev_a) and B ($rev_b) in turn"
node bench/ab-validation.mjs "$rev_a" "$rev_b"
