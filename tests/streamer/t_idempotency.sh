#!/usr/bin/env bash
# Uploads are idempotent with an Idempotency-Key (issue 8): a retry of an
# upload whose 202 never reached the client (a village link dropped, or the
# client half-closed) gets the first upload's lesson and job, not a
# duplicate; a half-closed upload still gets its 202.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
make_src "$YL_TMPDIR/src.mp4" 1
A=(-H "Authorization: Bearer $ADMIN")
up() { # key [more curl args]
    local k=$1
    shift
    api POST /api/v1/lessons "${A[@]}" ${k:+-H "Idempotency-Key: $k"} \
        -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 "$@"
}
lessons() { db "SELECT count(*) FROM lessons"; }

expect_eq "$(up k-1)" 202 "first upload with a key"
L1=$(resp .lesson)
J1=$(resp .job)
expect_eq "$(resp .replayed)" null "a first upload is not a replay"
expect_eq "$(up k-1)" 202 "the same upload again"
expect_eq "$(resp .lesson)/$(resp .job)/$(resp .replayed)" "$L1/$J1/true" \
    "the retry's answer"
expect_eq "$(lessons)" 1 "lessons after the retry"
expect_eq "$(up k-2)" 202 "another key"
[ "$(resp .lesson)" != "$L1" ] || fail "another key gave the same lesson"
expect_eq "$(up '')" 202 "no key"
expect_eq "$(lessons)" 3 "lessons after three distinct uploads"
ok "Idempotency-Key: a retry answers the first upload's lesson and job"

# Keys are per token: another admin's same key is another upload.
DALI_UP=$(api POST /api/v1/lessons -H "Authorization: Bearer $DALI" \
    -H "Idempotency-Key: k-1" -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课)
expect_eq "$DALI_UP" 202 "another token, same key"
[ "$(resp .lesson)" != "$L1" ] || fail "another token's key matched"
# A bad key is refused and nothing is kept.
expect_eq "$(up "$(printf 'x%.0s' $(seq 1 200))")" 400 "a 200-byte key"
expect_eq "$(resp .error.code)" invalid_upload "bad key code"
expect_eq "$(up 'a b')" 400 "a key with a space"
expect_eq "$(lessons)" 4 "lessons after refused keys"
ok "keys are per token; malformed keys refused"

# Two uploads racing with one key: one lesson.
curl -s -o /dev/null "${A[@]}" -H "Idempotency-Key: k-race" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课 "$BASE/api/v1/lessons" &
P=$!
expect_eq "$(up k-race)" 202 "racing upload"
R2=$(resp .lesson)
wait "$P"
expect_eq "$(db "SELECT count(*) FROM upload_keys WHERE key = 'k-race'")" 1 \
    "one key row"
expect_eq "$(lessons)" 5 "one lesson for two racing uploads"
ok "two racing uploads with one key make one lesson ($R2)"

# A deleted lesson's key no longer counts.
expect_eq "$(api DELETE "/api/v1/lessons/$L1" "${A[@]}")" 200 "delete"
expect_eq "$(up k-1)" 202 "upload after delete"
[ "$(resp .lesson)" != "$L1" ] || fail "a deleted lesson was replayed"
ok "after a delete, the same key uploads anew"

# Half-close: the client sends the whole upload, then FIN, and still gets
# its 202 (the lesson exists and the client knows its id).
B=----yl$$
{
    printf -- '--%s\r\nContent-Disposition: form-data; name="title.zh"\r\n\r\n课\r\n' "$B"
    printf -- '--%s\r\nContent-Disposition: form-data; name="source"; filename="s.mp4"\r\nContent-Type: video/mp4\r\n\r\n' "$B"
    cat "$YL_TMPDIR/src.mp4"
    printf -- '\r\n--%s--\r\n' "$B"
} >"$YL_TMPDIR/body"
# bash cannot half-close a /dev/tcp socket: use node.
out=$(PORT=$PORT ADMIN=$ADMIN BODY=$YL_TMPDIR/body BOUNDARY=$B timeout 20 node -e '
const net = require("net"), fs = require("fs");
const body = fs.readFileSync(process.env.BODY);
const s = net.connect(+process.env.PORT, "127.0.0.1", () => {
  s.write(`POST /api/v1/lessons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${process.env.ADMIN}\r\nIdempotency-Key: hc-2\r\nContent-Type: multipart/form-data; boundary=${process.env.BOUNDARY}\r\nContent-Length: ${body.length}\r\n\r\n`);
  s.end(body);
});
let d = "";
s.on("data", (x) => (d += x));
s.on("close", () => process.stdout.write(d));
s.on("error", () => process.stdout.write(d));
')
echo "$out" | head -1 | grep -q ' 202 ' || fail "half-closed upload: $(echo "$out" | head -1)"
expect_eq "$(db "SELECT count(*) FROM upload_keys WHERE key = 'hc-2'")" 1 \
    "half-closed upload stored with its key"
ok "a half-closed upload gets its 202"
