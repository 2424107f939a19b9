#!/usr/bin/env bash
# Crash leftovers (issue 8, bug 5): a kill -9 during an upload leaves
# uploads/.staging-*, a deferred delete leaves hls/.trash-*, a killed
# transcode leaves hls/..job-N.tmp-*. The next start sweeps them (under
# serve.lock), keeps what a live transcoder still holds, and new staging
# and trash names never collide with a path that already exists.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 1
start_server

# kill -9 while an upload streams in: its staging dir stays behind.
head -c 30000000 /dev/urandom >"$YL_TMPDIR/big.bin"
curl -s -o /dev/null --limit-rate 3M -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/big.bin" -F title.zh=大 \
    "$BASE/api/v1/lessons" &
CP=$!
for i in $(seq 1 50); do
    compgen -G "$DATA/uploads/.staging-*" >/dev/null && break
    sleep 0.1
done
compgen -G "$DATA/uploads/.staging-*" >/dev/null ||
    fail "no staging dir while the upload runs"
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
wait "$CP" 2>/dev/null || true

# More of what killed runs leave: staging dirs named as older versions
# named them (by request serial), a deferred delete's trash, the runner's
# output dir and transcoder temp dirs.
for n in $(seq 1 60); do
    mkdir -p "$DATA/uploads/.staging-$n"
    echo x >"$DATA/uploads/.staging-$n/source.mp4"
done
mkdir -p "$DATA/hls/.trash-3-7/v0" "$DATA/hls/.job-99"
head -c 3000000 /dev/zero >"$DATA/hls/.trash-3-7/v0/seg_00001.m4s"
mkdir -p "$DATA/hls/..job-99.tmp-AbC123/v0"
: >"$DATA/hls/..job-99.tmp-AbC123.lock" # nobody holds it: stale
mkdir -p "$DATA/hls/..job-98.tmp-old123"
touch -d '1 hour ago' "$DATA/hls/..job-98.tmp-old123" # no lock, old
mkdir -p "$DATA/hls/..job-97.tmp-held12"
: >"$DATA/hls/..job-97.tmp-held12.lock"
flock -o "$DATA/hls/..job-97.tmp-held12.lock" sleep 30 >/dev/null 2>&1 &
HOLDER=$!
mkdir -p "$DATA/hls/..job-96.tmp-new123" # no lock yet, brand new
# A lock alone: its transcoder renamed the dir into place and was killed
# before removing it (stale); another's lock is still held (kept).
: >"$DATA/hls/..job-95.tmp-gone12.lock"
: >"$DATA/hls/..job-94.tmp-held34.lock"
flock -o "$DATA/hls/..job-94.tmp-held34.lock" sleep 30 >/dev/null 2>&1 &
HOLDER2=$!
sleep 0.3

start_server
for p in uploads/.staging-1 uploads/.staging-60 hls/.trash-3-7 hls/.job-99 \
    hls/..job-99.tmp-AbC123 hls/..job-99.tmp-AbC123.lock \
    hls/..job-98.tmp-old123 hls/..job-95.tmp-gone12.lock; do
    [ ! -e "$DATA/$p" ] || fail "$p not swept at start"
done
left=$(find "$DATA/uploads" -maxdepth 1 -name '.staging-*' | wc -l)
expect_eq "$left" 0 "staging dirs left after the restart"
[ -d "$DATA/hls/..job-97.tmp-held12" ] ||
    fail "a temp dir whose lock is held was swept"
[ -d "$DATA/hls/..job-96.tmp-new123" ] ||
    fail "a brand-new temp dir without its lock yet was swept"
[ -e "$DATA/hls/..job-94.tmp-held34.lock" ] || fail "a held lone lock was swept"
kill "$HOLDER2" 2>/dev/null || true
grep -q 'swept' "$YL_TMPDIR/server.log" || fail "the sweep was not logged"
kill "$HOLDER" 2>/dev/null || true
ok "kill -9 leftovers swept at start; live transcoder temp dirs kept"

# Uploads work right away (the old staging names would have collided).
for n in 1 2 3; do
    st=$(api POST /api/v1/lessons -H "Authorization: Bearer $ADMIN" \
        -F "source=@$YL_TMPDIR/src.mp4" -F title.zh=课$n)
    expect_eq "$st" 202 "upload $n after the restart ($(cat "$YL_TMPDIR/resp.json"))"
done
LID=$(resp .lesson)
wait_job "$(resp .job)" done
ok "uploads after the restart: 202"

# A new staging dir never reuses an existing path, whatever its name.
head -c 6000000 /dev/urandom >"$YL_TMPDIR/mid.bin"
curl -s -o /dev/null --limit-rate 2M -H "Authorization: Bearer $ADMIN" \
    -F "source=@$YL_TMPDIR/mid.bin" -F title.zh=中 \
    "$BASE/api/v1/lessons" >/dev/null 2>&1 &
CP=$!
name=
for i in $(seq 1 50); do
    d=$(compgen -G "$DATA/uploads/.staging-*" | head -1 || true)
    if [ -n "$d" ]; then
        name=$(basename "$d")
        break
    fi
    sleep 0.1
done
expect_match "$name" "^\.staging-$SRV_PID-[0-9]+-[0-9a-f]+$" \
    "staging dir name (pid, serial, random)"
wait "$CP" || true

# Trash names that exist already (another run's) are not reused: the
# lesson's files still go away.
for n in $(seq 1 300); do
    mkdir -p "$DATA/hls/.trash-$LID-$n/x"
done
expect_eq "$(api DELETE "/api/v1/lessons/$LID" \
    -H "Authorization: Bearer $ADMIN")" 200 "delete the lesson"
[ ! -e "$DATA/hls/$LID" ] || fail "hls/$LID still there after the delete"
ok "new staging and trash names never collide with existing paths"
stop_server
