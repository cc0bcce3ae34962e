#!/usr/bin/env bash
# The README's first command: runs the example worker locally with a local identity provider and
# downstream API, nothing to sign up for. Installs what is missing (pinned; skipped when present).
# `bash scripts/dev.sh --entra` runs the same stack with an Entra-shaped authority (Instance +
# TenantId, v1.0 and v2.0 tokens as Entra issues them).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/toolchain.sh
. scripts/toolchain.sh
ensure_toolchain
exec node scripts/local-stack.mjs "$@"
