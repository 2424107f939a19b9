#!/usr/bin/env bash
# bench/catalog/run.sh [bench_catalog options] - builds an optimised tree
# (build-bench/) and runs the catalog benchmark; figures go to stdout.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cmake -S "$src" -B "$src/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$src/build-bench" -j2 --target bench_catalog >/dev/null
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), SQLite $(pkg-config --modversion sqlite3)"
exec "$src/build-bench/bench/catalog/bench_catalog" "$@"
