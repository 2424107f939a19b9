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
if [ $rc -ne 0 ] && [ -n "${YL_KEEP_TMP:-}" ]; then
    echo "kept $YL_TMPDIR" >&2
else
    rm -rf "$YL_TMPDIR"
fi
exit $rc
