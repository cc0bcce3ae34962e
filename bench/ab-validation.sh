#!/usr/bin/env bash
# An A/B of token validation itself: bench/validation-worker built at two revisions of this
# repository, both loaded in one workerd process and measured in alternation on the same
# Entra-shaped token (bench/ab-validation.mjs): first sight (parse, WebCrypto signature, claims)
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
root=$(pwd)

# build_rev REV NAME: the validation worker at REV, into bench/build/abv-NAME.
build_rev() {
  local src="bench/build/abv-src-$2"
  git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
  git worktree add --detach "$src" "$1" > /dev/null
  say "building the validation worker at $1"
  (cd "$src/bench/validation-worker" &&
    CARGO_TARGET_DIR="$root/target/ab" \
      WASM_BINDGEN_BIN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen" \
      ESBUILD_BIN="$root/node_modules/.bin/esbuild" \
      worker-build --release > /dev/null)
  rm -rf "bench/build/abv-$2"
  cp -r "$src/bench/validation-worker/build" "bench/build/abv-$2"
  git worktree remove --force "$src"
}
build_rev "$rev_a" a
build_rev "$rev_b" b
say "measuring A ($rev_a) and B ($rev_b) in turn"
node bench/ab-validation.mjs "$rev_a" "$rev_b"
