#!/usr/bin/env bash
# Uploads: a lesson with a dub and subtitles; every kind of bad upload is a
# 4xx with nothing kept (no staging dir, no lesson, no job); a corrupt
# media file becomes a job that fails at once (another attempt could not
# help) with the transcoder's message while the server carries on.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 3
ffmpeg -nostdin -v error -y -f lavfi -i sine=frequency=660:sample_rate=48000 \
    -t 3 -c:a aac "$YL_TMPDIR/bo.m4a"
printf '1\r\n00:00:00,500 --> 00:00:02,000\r\nབཀྲ་ཤིས་བདེ་ལེགས།\r\n' >"$YL_TMPDIR/bo.srt"
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
max_upload = 2M
INI
start_server --config "$YL_TMPDIR/y.ini"
A=(-H "Authorization: Bearer $ADMIN")
nothing_kept() { # what
    local left
    left=$(ls -A "$DATA/uploads")
    [ -z "$left" ] || fail "$1: left in uploads/: $left"
    expect_eq "$(db 'SELECT count(*) FROM jobs')" "$JOBS" "$1: jobs"
    expect_eq "$(db 'SELECT count(*) FROM lessons')" "$JOBS" "$1: lessons"
}

# --- a good upload with a dub and subtitles
st=$(api POST /api/v1/lessons "${A[@]}" -F "source=@$YL_TMPDIR/src.mp4" \
    -F "audio.bod=@$YL_TMPDIR/bo.m4a" -F "subs.bo=@$YL_TMPDIR/bo.srt" \
    -F 'title.zh=草果种植' -F 'title.lis=ꓚꓳ ꓗꓪ' -F audio_lang.0=zh \
    -F burn_subs=bod)
expect_eq "$st" 202 "upload with dub and subs"
GL=$(resp .lesson)
wait_job "$(resp .job)" done
api GET "/api/v1/lessons/$GL" >/dev/null
expect_eq "$(resp '.languages | join(",")')" zh,bo "audio languages"
expect_eq "$(resp '.subtitles | join(",")')" bo "subtitle languages"
expect_eq "$(resp '.burned | join(",")')" bo "burned-in subtitle languages"
expect_eq "$(curl -s "$BASE/hls/$GL/master-burn-bo.m3u8" | grep -A1 STREAM-INF |
    tail -1)" vb-bo/index.m3u8 "burned master"
curl -s "$BASE/hls/$GL/master.m3u8" | grep -q vb-bo &&
    fail "master.m3u8 lists the burned rung"
expect_eq "$(resp .titles.lis)" 'ꓚꓳ ꓗꓪ' "Lisu title"
JOBS=1
nothing_kept "after a good upload"
ok "upload with a dub (audio.bod → bo), subtitles and burn_subs=bod becomes a lesson (burned: bo)"

# --- bad uploads, each its own 4xx, nothing kept
up_bad() { # want-status message-regex curl-args...
    local want=$1 msg=$2 st
    shift 2
    st=$(api POST /api/v1/lessons "${A[@]}" "$@")
    expect_eq "$st" "$want" "status ($msg)"
    expect_match "$(resp .error.message)" "$msg" "message"
    # every refused upload has the one code, from the multipart checks
    # or the catalog's
    [ "$want" != 400 ] ||
        expect_eq "$(resp .error.code)" invalid_upload "code ($msg)"
    nothing_kept "$msg"
}
up_bad 400 'unknown field "video"' -F "video=@$YL_TMPDIR/src.mp4" -F title.zh=x
up_bad 400 'unknown field "titel.zh"' -F "source=@$YL_TMPDIR/src.mp4" \
    -F titel.zh=x
up_bad 400 'source: missing' -F title.zh=x
up_bad 400 'title.LANG' -F "source=@$YL_TMPDIR/src.mp4"
up_bad 400 'source: must be a file' -F source=text -F title.zh=x
up_bad 400 'title.zh: must be a text field' -F "source=@$YL_TMPDIR/src.mp4" \
    -F "title.zh=@$YL_TMPDIR/bo.srt"
up_bad 400 'not a BCP-47' -F "source=@$YL_TMPDIR/src.mp4" -F 'title.zh=x' \
    -F "audio.12345=@$YL_TMPDIR/bo.m4a"
up_bad 400 'category: want 1..64' -F "source=@$YL_TMPDIR/src.mp4" \
    -F 'title.zh=x' -F "category=$(printf 'c%.0s' $(seq 1 65))"
up_bad 400 'title.12345: .* not a BCP-47' -F "source=@$YL_TMPDIR/src.mp4" \
    -F 'title.12345=x'
up_bad 400 'given twice' -F "source=@$YL_TMPDIR/src.mp4" \
    -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=x
up_bad 400 'burn_subs: zh has no subs.zh file' -F "source=@$YL_TMPDIR/src.mp4" \
    -F 'title.zh=x' -F "subs.bo=@$YL_TMPDIR/bo.srt" -F burn_subs=zh
up_bad 400 'burn_subs: "b@d" is not a BCP-47' -F "source=@$YL_TMPDIR/src.mp4" \
    -F 'title.zh=x' -F "subs.bo=@$YL_TMPDIR/bo.srt" -F burn_subs=b@d
up_bad 400 'not valid UTF-8' -F "source=@$YL_TMPDIR/src.mp4" \
    -F "title.zh=$(printf '\xff\xfe')"
: >"$YL_TMPDIR/empty.mp4"
up_bad 400 'empty' -F "source=@$YL_TMPDIR/empty.mp4" -F title.zh=x
up_bad 415 'multipart/form-data' -H 'Content-Type: application/json' -d '{}'
head -c 3000000 /dev/urandom >"$YL_TMPDIR/big.mp4"
up_bad 413 'over the limit' -F "source=@$YL_TMPDIR/big.mp4" -F title.zh=x
ok "wrong field names, missing/duplicate fields, bad types/tags/UTF-8, 415, 413"

# --- truncated multipart: Content-Length right, no closing boundary
BODY=$YL_TMPDIR/trunc.body
{
    printf -- '--XX\r\nContent-Disposition: form-data; name="title.zh"\r\n\r\nx\r\n'
    printf -- '--XX\r\nContent-Disposition: form-data; name="source"; filename="a.mp4"\r\n\r\n'
    head -c 100000 "$YL_TMPDIR/src.mp4"
} >"$BODY"
up_bad 400 'truncated' -H 'Content-Type: multipart/form-data; boundary=XX' \
    --data-binary "@$BODY"
# ... and a client that goes away half-way (Content-Length promises more)
(
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'POST /api/v1/lessons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 900000\r\n\r\n' "$ADMIN" >&3
    cat "$BODY" >&3
    sleep 0.3
) || true
sleep 0.3
nothing_kept "client gone mid-upload"
ok "truncated multipart: 400; a client gone mid-body: nothing kept"

# --- corrupt media: accepted, then the job fails with the transcoder's
# message after one attempt (exit 65: the input is unusable); the server is
# unharmed. (Transient failures are retried: t_jobs.sh.)
head -c 200000 /dev/urandom >"$YL_TMPDIR/corrupt.mp4"
st=$(api POST /api/v1/lessons "${A[@]}" -F "source=@$YL_TMPDIR/corrupt.mp4" \
    -F title.zh=坏文件)
expect_eq "$st" 202 "corrupt upload accepted"
CJ=$(resp .job)
CL=$(resp .lesson)
wait_job "$CJ" failed 120
api GET "/api/v1/jobs/$CJ" "${A[@]}" >/dev/null
expect_eq "$(resp .attempts)" 1 "attempts"
MSG=$(resp .error)
[ -n "$MSG" ] && [ "$MSG" != null ] || fail "failed job without a message"
grep -qF "$MSG" "$DATA/jobs/$CJ.log" ||
    fail "job error is not the transcoder's message: $MSG"
expect_eq "$(grep -c '^=== job' "$DATA/jobs/$CJ.log")" 1 "1 attempt logged"
expect_eq "$(api GET "/api/v1/lessons/$CL")" 404 "failed lesson is not public"
[ -z "$(ls -A "$DATA/hls" | grep job || true)" ] || fail "job output left"
expect_eq "$(curl -s "$BASE/healthz")" ok "healthz after the failures"
expect_eq "$(api GET /api/v1/lessons)" 200 "API after the failures"
ok "corrupt media: job failed at its first attempt with \"$MSG\""
stop_server
