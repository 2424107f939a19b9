#!/usr/bin/env bash
# scripts/analyze.sh - static analysis of the C sources with cppcheck
# (Debian's cppcheck 2.10; scripts/deps.sh installs it). Zero findings is
# the bar: a finding fails the stage, and a false positive is suppressed in
# scripts/cppcheck/suppressions.txt with the reason beside it, never in
# bulk. About 10 s on 2 cores.
#
# Checks: warning, portability, performance (real defects and undefined
# behaviour). Not "style": its variableScope advice contradicts STYLE.md's
# declarations at the top of a function. tests/ and bench/ are left out
# (cmocka's and libFuzzer's macros); the system headers are not read (fast,
# and cppcheck cannot parse glibc's), so scripts/cppcheck/yunling.cfg tells
# it the library macros it must understand.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cppcheck >/dev/null; then
    echo "analyze: cppcheck is missing; run scripts/deps.sh" >&2
    exit 1
fi
cppcheck --quiet --error-exitcode=1 --std=c11 -D_GNU_SOURCE -I . \
    --enable=warning,portability,performance \
    --library=scripts/cppcheck/yunling.cfg \
    --suppressions-list=scripts/cppcheck/suppressions.txt \
    --suppress=missingIncludeSystem --inline-suppr \
    -j"$(nproc)" common catalog live streamer transcode app
echo "analyze: cppcheck found nothing"
