#!/usr/bin/env bash
# scripts/test.sh - set up and run every test: a -Werror build, static
# analysis (cppcheck and eslint, about 15 s) and the tests, then the same
# tests again under AddressSanitizer + UBSan, and again under
# ThreadSanitizer (the server's loop, writer, ingest, query and job threads;
# the transcoder's rung and dub threads), then every libFuzzer target for a
# bounded time (YL_FUZZ_SECONDS each, 25 by default). ctest prints the
# counts.
#
# The sanitizer and fuzz trees are built at the lowest priority (nice 19)
# while the plain build's tests run, in the CPU those leave idle.
#
# YL_CTEST_JOBS (default: the number of cores) is ctest's -j. Above the
# number of cores, ctest also gets a resource spec of that many "cpus"
# slots: each test takes one, a CPU-bound one two (RESOURCE_GROUPS,
# YL_TEST_HEAVY in tests/CMakeLists.txt), so YL_CTEST_JOBS=4 on 2 cores
# runs up to four tests that mostly wait on real time (a browser playing,
# a live source, a timer) but never more than two CPU-bound ones. Not the
# default: on CI's 2 cores the plain pass was no faster (the background
# builds already use the CPU the tests leave) and in the ASan pass
# real-time tests missed their budgets (CONTRIBUTING.md, "How CI runs the
# tests").
set -euo pipefail
cd "$(dirname "$0")/.."
cores=$(nproc)
jobs=${YL_CTEST_JOBS:-$cores}
ctest_args=(--output-on-failure -j"$jobs")
spec=
bg_pid=
fg_pid=
cleanup() {
    # The ctest running, the background builds' process group (setsid),
    # and the spec file.
    if [ -n "$fg_pid" ]; then kill -- -"$fg_pid" 2>/dev/null || true; fi
    if [ -n "$bg_pid" ]; then kill -- -"$bg_pid" 2>/dev/null || true; fi
    rm -f "$spec"
}
# On ctrl-C or kill, too: exit so that the EXIT trap stops the background
# builds, which are in their own process group and would go on orphaned.
# (A SIGKILL runs no trap: the watchdog in that group sees to it, below.)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# in_dir DIR CMD...: CMD in DIR, in a process group of its own and waited
# for in the background: bash runs a trap only once its foreground command
# is over (a ctest in the foreground would hold off a SIGTERM for the rest
# of its pass), and ctest left its running test behind when it got one, so
# cleanup stops the whole group. A watchdog in that group stops it if
# this script is gone without running cleanup (SIGKILL), as for the
# background builds below; it polls this script's pid every 2 s.
in_dir() {
    local d=$1 rc=0
    shift
    # shellcheck disable=SC2016 # $0, $$ and $@ of the inner bash
    (cd "$d" && exec setsid -w bash -c '
        (while kill -0 "$0" 2>/dev/null; do sleep 2; done
         kill -- -$$) >/dev/null 2>&1 &
        exec "$@"' "$$" "$@") &
    fg_pid=$!
    wait "$fg_pid" || rc=$?
    fg_pid=
    return "$rc"
}
# cpu_s: the CPU seconds (user + sys) of every process this script has
# waited for so far: cutime + cstime of /proc/$$/stat (each ctest pass,
# and through it every test's processes; the background builds once
# reaped: bash reaps them when they end, so usually inside the plain
# pass's figure). Printed per stage beside its wall time, and at the end the
# least wall time any order of the same work could take on these cores.
tck=$(getconf CLK_TCK)
cpu_s() {
    local st f
    st=$(cat /proc/$$/stat)
    read -r -a f <<<"${st##*) }"
    echo $(((f[13] + f[14]) / tck))
}
# stage NAME T0 C0 [nopct]: NAME's wall and CPU since T0 (SECONDS) and C0
# (cpu_s); with nopct no share of the cores (the background builds' CPU
# was spent before the wall time counted here).
stage() {
    local w=$((SECONDS - $2)) c=$(($(cpu_s) - $3))
    if [ -n "${4:-}" ]; then
        echo "== $1: $w s wall, $c s CPU"
    else
        echo "== $1: $w s wall, $c s CPU ($((w > 0 ? c * 100 / (w * cores) : 0)) % of $cores cores)"
    fi
}
if [ "$jobs" -gt "$cores" ]; then
    spec=$(mktemp /tmp/yl-ctest-resources.XXXXXX.json)
    printf '{"version":{"major":1,"minor":0},"local":[{"cpus":[{"id":"0","slots":%d}]}]}\n' \
        "$jobs" >"$spec"
    ctest_args+=(--resource-spec-file "$spec")
fi

echo "== build (-Wall -Wextra -Wmissing-prototypes -Werror)"
bash scripts/setup.sh build -DYL_WERROR=ON

echo "== static analysis (cppcheck) and the JavaScript lint (eslint)"
bash scripts/analyze.sh
node_modules/.bin/eslint . # eslint.config.mjs: player-web, tests, tools

# The other trees, configured and built in the background at nice 19
# (setup.sh's packages and web build are done above; only cmake here).
# Their log is shown if they fail.
bg_builds() {
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DYL_WERROR=ON \
        -DYL_ASAN=ON -DYL_UBSAN=ON >/dev/null
    cmake --build build-asan -j"$cores"
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DYL_WERROR=ON \
        -DYL_TSAN=ON >/dev/null
    cmake --build build-tsan -j"$cores"
    # Only the fuzz targets and the libraries they need (see below).
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DYL_WERROR=ON -DYL_FUZZ=ON -DYL_FUZZ_SECONDS="${YL_FUZZ_SECONDS:-25}" \
        >/dev/null
    cmake --build build-fuzz -j"$cores" --target yl_fuzz
}
echo "== build the sanitizer and fuzz trees in the background (nice 19)"
bg_log=$(mktemp /tmp/yl-bg-build.XXXXXX)
# Its own process group (setsid), so that cleanup stops all of it. A
# watchdog in that group stops it if this script is gone without running
# cleanup (SIGKILL): it polls this script's pid every 2 s.
# shellcheck disable=SC2154 # parent: set in the bash -c below
bg_watchdog() {
    (
        while kill -0 "$parent" 2>/dev/null; do sleep 2; done
        kill -- -"$$" # $$: the group leader, the setsid bash
    ) &
    wd=$!
    trap 'kill "$wd" 2>/dev/null || true' EXIT
}
setsid nice -n 19 bash -c "set -euo pipefail; $(declare -f bg_watchdog bg_builds); \
    parent=$$; cores=$cores; bg_watchdog; bg_builds" >"$bg_log" 2>&1 &
bg_pid=$!

echo "== test (ctest -j$jobs on $cores cores)"
t0=$SECONDS
c0=$(cpu_s)
rc=0
in_dir build ctest "${ctest_args[@]}" ${YL_CTEST_ARGS:-} || rc=$?
stage "plain pass" "$t0" "$c0"
[ "$rc" = 0 ] || exit "$rc" # cleanup stops the background builds

echo "== wait for the background builds"
# Now they are what CI waits for: back to normal priority (lowering a
# nice value needs root; without it they go on at 19).
renice -n 0 -g "$bg_pid" >/dev/null 2>&1 || true
t0=$SECONDS
c0=$(cpu_s)
if ! wait "$bg_pid"; then
    tail -n 60 "$bg_log" >&2
    echo "the sanitizer or fuzz build failed (log above: $bg_log)" >&2
    exit 1
fi
bg_pid=
rm -f "$bg_log"
# Their CPU counts here (once waited for), though most of it was spent
# during the plain pass.
stage "background builds done (waited for; CPU: all of the builds)" "$t0" "$c0" \
    nopct

echo "== test again under AddressSanitizer + UBSan (build-asan)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Every test: the filter -LE no-asan this stage had matched no test (no
# test was ever labelled no-asan), so it went.
t0=$SECONDS
c0=$(cpu_s)
in_dir build-asan ctest "${ctest_args[@]}" ${YL_CTEST_ARGS:-}
stage "ASan + UBSan pass" "$t0" "$c0"

echo "== test again under ThreadSanitizer (build-tsan)"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
# no-tsan: the live meeting tests (x264 in real time does not keep up
# under TSan on 2 cores; see tests/streamer/CMakeLists.txt).
t0=$SECONDS
c0=$(cpu_s)
in_dir build-tsan ctest "${ctest_args[@]}" -LE no-tsan ${YL_CTEST_ARGS:-}
stage "TSan pass" "$t0" "$c0"

echo "== run each libFuzzer target for a while (build-fuzz)"
# Only the targets and the libraries they need were built (bg_builds):
# the rest of the tree is tested above. Each target fuzzes a copy of its
# seeds (tests/fuzz/run-fuzz.sh) under ASan + UBSan; a crash fails its
# test. One target per core: each runs for a fixed time, so more at once
# would only mean fewer inputs each.
t0=$SECONDS
c0=$(cpu_s)
in_dir build-fuzz ctest --output-on-failure -j"$cores" -L fuzz
stage "fuzz pass" "$t0" "$c0"
# libFuzzer's own count of the inputs each target ran (run-fuzz.sh), to
# compare runs (docs/fuzzing.md).
for f in build-fuzz/tests/fuzz/fuzz_*.runs; do
    if [ -e "$f" ]; then
        printf '%s: %s inputs\n' "$(basename "$f" .runs)" "$(cat "$f")"
    fi
done
# The whole run: with its CPU on these cores, no order of the same work
# (any -j, anything run beside anything) could end sooner than CPU/cores
# (CONTRIBUTING.md, "How CI runs the tests").
stage "all of it (build, analysis, the four passes)" 0 0
echo "== the least wall time this CPU allows on $cores cores: $(($(cpu_s) / cores)) s"
