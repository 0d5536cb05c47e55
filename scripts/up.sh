#!/usr/bin/env bash
# The README's first command: installs what the platform needs on a Debian machine with Node 20.19+, 22.12+ or 24,
# then starts all six services in the foreground (Ctrl-C stops them).
set -euo pipefail
cd "$(dirname "$0")/.."
CODEAGENT_WITH_DOCKER="${CODEAGENT_WITH_DOCKER:-0}" bash scripts/host-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec npm start -- "$@"
