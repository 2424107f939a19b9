#!/usr/bin/env bash
# HLS and static delivery: MIME types, cache headers, CORS, byte ranges,
# ETag / If-None-Match / If-Modified-Since, HEAD, keep-alive, CSP.
. "$(dirname "$0")/lib.sh"

L=$DATA/hls/7
make_hls "$L"
head -c 5000000 /dev/urandom >"$L/v0/big.m4s" # > 64 KiB: the sendfile path
WEB=$YL_TMPDIR/web
mkdir -p "$WEB/wall"
echo '<!doctype html><title>yunling</title>' >"$WEB/index.html"
echo 'export const x = 1;' >"$WEB/app.js"
for i in $(seq 1 200); do echo "export const v$i = 'value $i';"; done >"$WEB/big.js"
gzip -k -9 "$WEB/big.js"
echo '<!doctype html><title>wall</title>' >"$WEB/wall/index.html"
# --init: hls/ was seeded by hand before any catalog existed.
start_server --init --web "$WEB"
H=$YL_TMPDIR/h.txt
B=$YL_TMPDIR/body

# --- MIME and cache per type
check_type() { # path type cache
    curl -s -D "$H" -o "$B" "$BASE$1"
    expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 200 "GET $1"
    expect_eq "$(hval "$H" content-type)" "$2" "$1 content-type"
    expect_eq "$(hval "$H" cache-control)" "$3" "$1 cache-control"
    expect_eq "$(hval "$H" access-control-allow-origin)" "*" "$1 CORS"
    expect_eq "$(hval "$H" accept-ranges)" bytes "$1 accept-ranges"
    cmp -s "$B" "$4" || fail "$1 body differs from the file"
}
check_type /hls/7/master.m3u8 application/vnd.apple.mpegurl \
    "public, max-age=2" "$L/master.m3u8"
check_type /hls/7/v0/index.m3u8 application/vnd.apple.mpegurl \
    "public, max-age=2" "$L/v0/index.m3u8"
check_type /hls/7/v0/init.mp4 video/mp4 \
    "public, max-age=31536000, immutable" "$L/v0/init.mp4"
check_type /hls/7/v0/seg_00001.m4s video/iso.segment \
    "public, max-age=31536000, immutable" "$L/v0/seg_00001.m4s"
check_type /hls/7/v0/big.m4s video/iso.segment \
    "public, max-age=31536000, immutable" "$L/v0/big.m4s"
check_type /hls/7/poster.jpg image/jpeg "public, max-age=300" "$L/poster.jpg"
check_type /hls/7/lesson.json application/json "public, max-age=300" \
    "$L/lesson.json"
ok "MIME types, cache headers, CORS, exact bodies"

# --- byte ranges
SEG=$L/v0/big.m4s
SIZE=$(stat -c %s "$SEG")
curl -s -D "$H" -o "$B" -r 0-99 "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 206 "range 0-99 status"
expect_eq "$(stat -c %s "$B")" 100 "range 0-99 length"
expect_eq "$(hval "$H" content-range)" "bytes 0-99/$SIZE" "content-range"
expect_eq "$(hval "$H" content-length)" 100 "range content-length"
cmp -s "$B" <(head -c 100 "$SEG") || fail "range 0-99 bytes differ"
curl -s -o "$B" -r 1000000-1999999 "$BASE/hls/7/v0/big.m4s"
cmp -s "$B" <(tail -c +1000001 "$SEG" | head -c 1000000) ||
    fail "range 1000000-1999999 bytes differ"
curl -s -o "$B" -H 'Range: bytes=-1234' "$BASE/hls/7/v0/big.m4s"
cmp -s "$B" <(tail -c 1234 "$SEG") || fail "suffix range bytes differ"
curl -s -o "$B" -r 4999990- "$BASE/hls/7/v0/big.m4s"
cmp -s "$B" <(tail -c 10 "$SEG") || fail "open range bytes differ"
curl -s -D "$H" -o "$B" -r "$SIZE"- "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 416 "range past the end"
expect_eq "$(hval "$H" content-range)" "bytes */$SIZE" "416 content-range"
curl -s -D "$H" -o "$B" -H 'Range: bytes=0-1,5-6' "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 200 "multi-range is ignored"
expect_eq "$(stat -c %s "$B")" "$SIZE" "multi-range gives the whole file"
# offsets past 2^63: the last clamps to the end, a first that far is 416
curl -s -D "$H" -o "$B" -H 'Range: bytes=0-99999999999999999999' \
    "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 206 "huge last: 206"
expect_eq "$(hval "$H" content-range)" "bytes 0-$((SIZE - 1))/$SIZE" \
    "huge last: to the end"
cmp -s "$B" "$SEG" || fail "huge last: bytes differ"
curl -s -D "$H" -o "$B" -H 'Range: bytes=99999999999999999999-' \
    "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 416 "huge first: 416"
expect_eq "$(hval "$H" content-range)" "bytes */$SIZE" "huge first: range"
ok "byte ranges: 206 exact, suffix, open, 416, multi ignored, huge offsets"

# --- validators
curl -s -D "$H" -o /dev/null "$BASE/hls/7/v0/seg_00001.m4s"
ETAG=$(hval "$H" etag)
LM=$(hval "$H" last-modified)
expect_match "$ETAG" '^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$' "etag form"
rm -f "$B"
curl -s -D "$H" -o "$B" -H "If-None-Match: $ETAG" "$BASE/hls/7/v0/seg_00001.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 304 "If-None-Match hit"
[ ! -s "$B" ] || fail "304 has a body"
expect_eq "$(hval "$H" etag)" "$ETAG" "304 repeats the etag"
expect_eq "$(code -H 'If-None-Match: "0-0-0"' "$BASE/hls/7/v0/seg_00001.m4s")" \
    200 "If-None-Match miss"
expect_eq "$(code -H "If-None-Match: \"x\", W/$ETAG" \
    "$BASE/hls/7/v0/seg_00001.m4s")" 304 "If-None-Match list with weak tag"
expect_eq "$(code -H "If-Modified-Since: $LM" "$BASE/hls/7/v0/seg_00001.m4s")" \
    304 "If-Modified-Since equal"
expect_eq "$(code -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT' \
    "$BASE/hls/7/v0/seg_00001.m4s")" 200 "If-Modified-Since older"
touch -d '2001-01-01' "$L/v0/seg_00002.m4s"
curl -s -D "$H" -o /dev/null "$BASE/hls/7/v0/seg_00002.m4s"
E2=$(hval "$H" etag)
touch "$L/v0/seg_00002.m4s"
expect_eq "$(code -H "If-None-Match: $E2" "$BASE/hls/7/v0/seg_00002.m4s")" \
    200 "a changed file gets a new etag"
curl -s -D "$H" -o "$B" -r 0-9 -H 'If-Range: "stale"' \
    "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 200 "If-Range mismatch: whole file"
ok "ETag, If-None-Match 304, If-Modified-Since, If-Range"

# --- HEAD
curl -s -I -o "$H" "$BASE/hls/7/v0/big.m4s"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 200 "HEAD status"
expect_eq "$(hval "$H" content-length)" "$SIZE" "HEAD content-length"
ok "HEAD"

# --- CORS preflight and methods
curl -s -D "$H" -o /dev/null -X OPTIONS \
    -H 'Origin: http://elsewhere.example' \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization, content-type' \
    "$BASE/api/v1/views"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 204 "preflight status"
expect_eq "$(hval "$H" access-control-allow-origin)" "*" "preflight origin"
expect_match "$(hval "$H" access-control-allow-methods)" POST "preflight methods"
expect_match "$(hval "$H" access-control-allow-headers)" Authorization \
    "preflight headers"
expect_eq "$(code -X POST -d x "$BASE/hls/7/master.m3u8")" 405 "POST to /hls"
expect_eq "$(code "$BASE/hls/7/v0/seg_09999.m4s")" 404 "missing segment"
expect_eq "$(code "$BASE/hls/7/")" 404 "directory listing"
expect_eq "$(code "$BASE/hls/abc/master.m3u8")" 404 "non-numeric lesson id"
curl -s "$BASE/hls/7/nope.m3u8" | jq -e '.error.code == "not_found"' \
    >/dev/null || fail "404 body is a JSON error"
curl -s "$BASE/hls/7/%ff%fe-%e4%b8%ad.m3u8" |
    jq -e '.error.message | test("\\?\\?-中")' >/dev/null ||
    fail "an error naming a non-UTF-8 path is still valid JSON"
ok "CORS preflight, 405, 404"

# --- keep-alive: several requests on one connection (200, 206, 304, 404)
V=$YL_TMPDIR/v.txt
curl -sv -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    "$BASE/hls/7/master.m3u8" -r 0-9 "$BASE/hls/7/v0/big.m4s" \
    "$BASE/hls/7/v0/seg_00000.m4s" "$BASE/hls/7/missing" \
    "$BASE/hls/7/v0/big.m4s" 2>"$V"
expect_eq "$(grep -c 'Re-using existing connection' "$V")" 4 "keep-alive reuse"
expect_eq "$(grep -c '^\* Connected to' "$V")" 1 "one TCP connection"
ok "keep-alive over 5 requests"

# --- static web
curl -s -D "$H" -o "$B" "$BASE/"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 200 "GET /"
expect_eq "$(hval "$H" content-type)" "text/html; charset=utf-8" "/ type"
expect_eq "$(hval "$H" cache-control)" "no-cache" "/ revalidates"
CSP=$(hval "$H" content-security-policy)
expect_match "$CSP" "media-src 'self' blob:" "CSP media-src"
expect_match "$CSP" "worker-src 'self' blob:" "CSP worker-src"
cmp -s "$B" "$WEB/index.html" || fail "/ body"
curl -s -D "$H" -o /dev/null "$BASE/app.js"
expect_eq "$(hval "$H" content-type)" "text/javascript; charset=utf-8" "js type"
expect_eq "$(hval "$H" cache-control)" "public, max-age=300" "js cache"
curl -s -D "$H" -o /dev/null "$BASE/wall"
expect_eq "$(head -1 "$H" | cut -d' ' -f2)" 301 "/wall redirects"
expect_eq "$(hval "$H" location)" "/wall/" "/wall location"
expect_eq "$(code "$BASE/wall/")" 200 "/wall/"
expect_eq "$(code "$BASE/nope.html")" 404 "missing web file"
ok "static web: index, CSP, types, redirect"

# --- precompressed siblings (name.gz) for clients that accept gzip
curl -s -D "$H" -o "$B" -H 'Accept-Encoding: gzip, deflate' "$BASE/big.js"
expect_eq "$(hval "$H" content-encoding)" gzip "gzip answer"
expect_eq "$(hval "$H" vary)" Accept-Encoding "gzip Vary"
expect_eq "$(hval "$H" content-type)" "text/javascript; charset=utf-8" \
    "gzip keeps the type"
cmp -s "$B" "$WEB/big.js.gz" || fail "gzip body is not the .gz file"
curl -s -D "$H" -o "$B" "$BASE/big.js"
[ -z "$(hval "$H" content-encoding)" ] || fail "plain client got gzip"
expect_eq "$(hval "$H" vary)" Accept-Encoding "plain Vary"
cmp -s "$B" "$WEB/big.js" || fail "plain body"
curl -s -D "$H" -o "$B" -H 'Accept-Encoding: gzip;q=0' "$BASE/big.js"
[ -z "$(hval "$H" content-encoding)" ] || fail "gzip;q=0 got gzip"
curl -s --compressed -o "$B" "$BASE/big.js"
cmp -s "$B" "$WEB/big.js" || fail "curl --compressed decodes to the file"
ok "precompressed .gz siblings: gzip when accepted, Vary, identity otherwise"

# --- metrics count what happened
M=$(curl -s "$BASE/metrics")
grep -q 'yunling_http_requests_total{route="hls",status="206"}' <<<"$M" ||
    fail "metrics lack hls 206"
grep -q 'yunling_http_requests_total{route="hls",status="304"}' <<<"$M" ||
    fail "metrics lack hls 304"
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz"
stop_server
ok "metrics, healthz, clean stop"
