#!/usr/bin/env bash
# No path outside the data directory (or the web root) can be reached:
# "..", encoded "%2e%2e" and "%2f", absolute paths, NUL bytes, backslashes,
# hidden in-progress dirs, and symlinks that point outside.
. "$(dirname "$0")/lib.sh"

L=$DATA/hls/7
mkdir -p "$L/v0" "$YL_TMPDIR/web"
echo '#EXTM3U' >"$L/master.m3u8"
echo 'SECRET-DATA' >"$DATA/secret.txt"
echo 'SECRET-DATA' >"$YL_TMPDIR/secret.txt"
echo 'SECRET-HIDDEN' >"$L/.hidden"
echo '<!doctype html>' >"$YL_TMPDIR/web/index.html"
ln -s "$DATA" "$DATA/hls/8"                  # a lesson dir pointing up
ln -s /etc/passwd "$L/evil.m3u8"             # a file pointing outside
ln -s /etc "$L/etc"                          # a dir pointing outside
ln -s ../../secret.txt "$L/up.m3u8"          # relative, leaves the root
ln -s master.m3u8 "$L/alias.m3u8"            # inside: allowed
ln -s "$YL_TMPDIR/secret.txt" "$YL_TMPDIR/web/leak.txt"
# --init: hls/ was seeded by hand before any catalog existed.
start_server --init --web "$YL_TMPDIR/web"
# A running job's output dir (made after the start, which sweeps them).
mkdir -p "$DATA/hls/.job-3"
echo 'SECRET-JOB' >"$DATA/hls/.job-3/master.m3u8"
B=$YL_TMPDIR/body

refused() { # path-as-sent
    local st
    rm -f "$B"
    st=$(curl -s --path-as-is -o "$B" -w '%{http_code}' "$BASE$1" || true)
    if [ "$st" == 200 ] || [ "$st" == 206 ]; then
        fail "$1 answered $st"
    fi
    if [ -f "$B" ] && grep -q 'SECRET\|root:' "$B"; then
        fail "$1 leaked a file outside the root"
    fi
}
for p in \
    /hls/../secret.txt /hls/7/../../secret.txt /hls/7/../../../etc/passwd \
    /hls/%2e%2e/secret.txt /hls/7/%2e%2e/%2e%2e/secret.txt \
    /hls/7/%2E%2E/%2E%2E/%2E%2E/etc/passwd /hls/7/..%2f..%2fsecret.txt \
    /hls/7/%2e%2e%2f%2e%2e%2fsecret.txt /hls/%2e%2e%2fsecret.txt \
    //etc/passwd /hls//etc/passwd /hls/7//etc/passwd /../../etc/passwd \
    /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc%2fpasswd \
    '/hls/7/..\..\secret.txt' '/hls/7/%5c..%5c..%5csecret.txt' \
    /hls/7/%00 /hls/7/master.m3u8%00.jpg /hls/7/%00/../../secret.txt \
    /hls/.job-3/master.m3u8 /hls/%2ejob-3/master.m3u8 /hls/7/.hidden \
    /hls/8/secret.txt /hls/7/evil.m3u8 /hls/7/etc/passwd /hls/7/up.m3u8 \
    /leak.txt /hls/7/v0/../../8/secret.txt; do
    refused "$p"
done
ok "path tricks refused (.., %2e%2e, %2f, //, \\, %00, hidden, symlinks)"

# Absolute-form and odd request targets, sent raw.
for t in "http://127.0.0.1:$PORT/../secret.txt" "/hls/7/../../secret.txt" \
    "../secret.txt" "*"; do
    out=$(raw_http "GET $t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    if grep -q 'SECRET\|root:' <<<"$out"; then
        fail "raw target $t leaked"
    fi
    if echo "$out" | head -1 | grep -q ' 200 '; then
        fail "raw target $t answered 200"
    fi
done
out=$(raw_http "GET /hls/7/master.m3u8\0/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
grep -q SECRET <<<"$out" && fail "raw NUL byte leaked"
ok "raw targets (absolute-form, relative, NUL) refused"

# A symlink that stays inside the root still works; the server is fine.
expect_eq "$(code "$BASE/hls/7/alias.m3u8")" 200 "symlink inside the root"
expect_eq "$(code "$BASE/hls/7/master.m3u8")" 200 "plain file"
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz after the tricks"
stop_server
ok "server healthy after path tricks"
