#!/usr/bin/env bash
# scripts/test.sh - set up and run every test: a -Werror build, static
# analysis (cppcheck and eslint, about 15 s) and the tests, then the same
# tests again under AddressSanitizer + UBSan, and again under
# ThreadSanitizer (the server's loop, writer, ingest, query and job threads;
# the transcoder's rung and dub threads), then every libFuzzer target for a
# bounded time (YL_FUZZ_SECONDS each, 25 by default). ctest prints the
# counts.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build (-Wall -Wextra -Wmissing-prototypes -Werror)"
bash scripts/setup.sh build -DYL_WERROR=ON

echo "== static analysis (cppcheck) and the JavaScript lint (eslint)"
bash scripts/analyze.sh
node_modules/.bin/eslint . # eslint.config.mjs: player-web, tests, tools

echo "== test"
(cd build && ctest --output-on-failure -j"$jobs" ${YL_CTEST_ARGS:-})

echo "== build with AddressSanitizer + UBSan and test again"
bash scripts/setup.sh build-asan -DYL_WERROR=ON -DYL_ASAN=ON -DYL_UBSAN=ON \
    -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE no-asan ${YL_CTEST_ARGS:-})

echo "== build with ThreadSanitizer and test again"
bash scripts/setup.sh build-tsan -DYL_WERROR=ON -DYL_TSAN=ON \
    -DCMAKE_BUILD_TYPE=Debug
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
# no-tsan: the live meeting tests (x264 in real time does not keep up
# under TSan on 2 cores; see tests/streamer/CMakeLists.txt).
(cd build-tsan && ctest --output-on-failure -j"$jobs" -LE "no-asan|no-tsan" ${YL_CTEST_ARGS:-})

echo "== build the libFuzzer targets with clang and run each for a while"
# Only the targets and the libraries they need are built here: the rest
# of the tree is tested above. Each target fuzzes a copy of its seeds
# (tests/fuzz/run-fuzz.sh) under ASan + UBSan; a crash fails its test.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DYL_WERROR=ON -DYL_FUZZ=ON -DYL_FUZZ_SECONDS="${YL_FUZZ_SECONDS:-25}" \
    >/dev/null
cmake --build build-fuzz -j"$jobs" --target yl_fuzz
(cd build-fuzz && ctest --output-on-failure -j"$jobs" -L fuzz)
