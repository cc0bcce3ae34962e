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
root=$(pwd)

# build_rev REV NAME FLAGS: the example worker at REV, into bench/build/ab-NAME.
build_rev() {
  local src="bench/build/ab-src-$2"
  git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
  git worktree add --detach "$src" "$1" > /dev/null
  say "building the example worker at $1 ${3:+($3)}"
  (cd "$src/worker-example" &&
    CARGO_TARGET_DIR="$root/target/ab" \
      WASM_BINDGEN_BIN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen" \
      ESBUILD_BIN="$root/node_modules/.bin/esbuild" \
      worker-build --release $3 > /dev/null)
  rm -rf "bench/build/ab-$2"
  cp -r "$src/worker-example/build" "bench/build/ab-$2"
  git worktree remove --force "$src"
}
build_rev "$rev_a" a "${AB_FLAGS_A:-}"
build_rev "$rev_b" b "${AB_FLAGS_B:-}"
say "loading A ($rev_a) and B ($rev_b) in turn"
node bench/ab.mjs "$rev_a ${AB_FLAGS_A:-}" "$rev_b ${AB_FLAGS_B:-}"
