#!/usr/bin/env bash
# tests/run-script.sh SCRIPT - run one integration test script with a fresh
# temporary directory (YL_TMPDIR) that is removed afterwards unless the test
# failed and YL_KEEP_TMP is set.
set -u
script=$1
shift
YL_TMPDIR=$(mktemp -d /tmp/yl-test.XXXXXX)
export YL_TMPDIR
case "$script" in
*.mjs | *.js) node "$script" "$@" ;;
*) bash "$script" "$@" ;;
esac
rc=$?
# The CPU the test used (its processes that were waited for: the script,
# servers, browsers, encoders), beside ctest's wall time: a test that used
# far less CPU than its time waited on real time. tests/CMakeLists.txt
# gives the CPU-bound ones 2 "cpus" slots (YL_TEST_HEAVY). `times` runs
# in this shell: in a $(...) subshell it would count none of them.
if times >"$YL_TMPDIR/.times" 2>/dev/null; then
    echo "# cpu: user, sys $(tail -1 "$YL_TMPDIR/.times")"
fi
if [ $rc -ne 0 ] && [ -n "${YL_KEEP_TMP:-}" ]; then
    echo "kept $YL_TMPDIR" >&2
else
    rm -rf "$YL_TMPDIR"
fi
exit $rc
