#!/usr/bin/env bash
# Every error body is valid JSON whose length is what was sent, whatever
# the path holds: a long path once made the 405 body send stack bytes past
# its buffer (snprintf's wanted length sent as the length), and a quote in
# the path made it invalid JSON (issue 9, point 6).
. "$(dirname "$0")/lib.sh"

setup_catalog
mkdir -p "$DATA/hls/7"
echo '#EXTM3U' >"$DATA/hls/7/master.m3u8"
start_server --init
long=$(printf 'a%.0s' $(seq 1 480))
q='%22q%22%5C'          # "q"\ once decoded
check() { # want-status what curl-args...
    local want=$1 what=$2 st
    shift 2
    st=$(curl -s -D "$YL_TMPDIR/h" -o "$YL_TMPDIR/b" -w '%{http_code}' "$@")
    expect_match "$st" "^($want)$" "$what: status"
    jq -e '.error.code and .error.message' "$YL_TMPDIR/b" >/dev/null ||
        fail "$what: body is not an error object: $(head -c 300 "$YL_TMPDIR/b" | od -c | head -5)"
    expect_eq "$(hval "$YL_TMPDIR/h" content-length)" \
        "$(stat -c %s "$YL_TMPDIR/b")" "$what: length"
}
for p in "$long" "$q" "$q$long"; do
    check 405 "405 /api/v1/sites/$p" -X DELETE "$BASE/api/v1/sites/$p"
    check 405 "405 /hls/$p" -X POST "$BASE/hls/$p"
    check 404 "404 /api/v1/$p" "$BASE/api/v1/$p"
    check '403|404|414' "4xx /hls/7/$p" "$BASE/hls/7/$p.m3u8"
    check 401 "401 /api/v1/lessons/$p" -H 'Authorization: Bearer nope' \
        "$BASE/api/v1/lessons/$p"
    check 400 "400 sites?parent=$p" "$BASE/api/v1/sites?parent=$p"
done
check 416 "416 with a long name" -H 'Range: bytes=999999-' \
    "$BASE/hls/7/master.m3u8"
check 411 "411" -X POST -H "Authorization: Bearer $SITE" \
    -H 'Transfer-Encoding: chunked' -d '{}' "$BASE/api/v1/views"
check 413 "413" -X POST -H "Authorization: Bearer $SITE" \
    -H 'Content-Type: application/json' --data-binary @<(head -c 2000000 /dev/zero | tr '\0' ' ') \
    "$BASE/api/v1/views"
check 414 "414" "$BASE/hls/7/$(printf 'b%.0s' $(seq 1 9000))"
check 431 "431" -H "X-Big: $(printf 'c%.0s' $(seq 1 9000))" "$BASE/healthz"
ok "error bodies are valid JSON of the length sent, for long and quoting paths"
