#!/usr/bin/env bash
# run-fuzz.sh BINARY SEEDS SECONDS [DICT] - one bounded libFuzzer run, for
# ctest. The seeds are copied to a temporary corpus so the repository is
# never written; a crashing input is kept in the working directory (the
# build tree) as <target>-crash-<sha1>, and its path is printed. The number
# of inputs it ran goes to <target>.runs there (scripts/test.sh prints it).
set -euo pipefail
bin=$1 seeds=$2 secs=$3 dict=${4:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/yl-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"
cp -r "$seeds"/. "$tmp/corpus/"
args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10
      -print_final_stats=1 -artifact_prefix="$PWD/$(basename "$bin")-")
if [ -n "$dict" ]; then
    args+=(-dict="$dict")
fi
runs=$PWD/$(basename "$bin").runs
rm -f "$runs"
# Its output as it comes (ctest keeps it if the target is killed on
# timeout), and a copy for the count.
set +e
"$bin" "${args[@]}" "$tmp/corpus" 2>&1 | tee "$tmp/out"
rc=${PIPESTATUS[0]}
set -e
n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/out")
if [ -n "$n" ]; then
    echo "$n" >"$runs"
fi
exit "$rc"
