# Sourced by bench/ab.sh and bench/ab-validation.sh (after scripts/toolchain.sh).
# build_rev REV CRATE_DIR OUT [FLAGS]: the workers-rs crate CRATE_DIR (relative to the
# repository) as it is at REV, built offline with worker-build [FLAGS] into OUT. Builds in a
# temporary git worktree under bench/build/, sharing target/ab between revisions.
build_rev() {
  local rev=$1 crate=$2 out=$3 flags=${4:-} root src
  root=$(pwd)
  src="bench/build/rev-src-$(basename "$out")"
  git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
  git worktree add --detach "$src" "$rev" > /dev/null
  say "building $crate at $rev ${flags:+($flags)}"
  # shellcheck disable=SC2086
  (cd "$src/$crate" &&
    CARGO_TARGET_DIR="$root/target/ab" \
      WASM_BINDGEN_BIN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen" \
      ESBUILD_BIN="$root/node_modules/.bin/esbuild" \
      worker-build --release $flags > /dev/null)
  rm -rf "$out"
  cp -r "$src/$crate/build" "$out"
  git worktree remove --force "$src"
}
