#!/usr/bin/env bash
# Fault matrix (issue 8, "keep it so"): for each point of the server's work
#   upload   a multipart upload streaming in, and its create commit
#   transcode a transcoder child running
#   publish  the moment the runner renames hls/.job-N into place
#   delete   DELETE of a published lesson and of one whose job runs
#   views    POST /api/v1/views under load (yl_viewload)
# and each fault
#   kill9    kill -9 of the server at a random moment
#   term     SIGTERM at a random moment (must exit 0)
#   full     the data directory's disk (a small tmpfs) fills up
#   tckill   the transcoder child killed with SIGKILL
#   rodb     the database file made read-only (chmod 0444 + read-only bind
#            mount over it): the running server keeps its descriptors;
#            restarted on it, the server answers reads and refuses every
#            write with 503 read_only
#   clock    the wall clock jumps (libfaketime, when it works with this
#            build; otherwise skipped, and views get a ts far in the past
#            and in the future instead)
# the server is restarted on the same data directory and then: it starts;
# every acknowledged upload (202) has its lesson, its job ends done (a
# retry counts); every acknowledged delete stays deleted with no files;
# every acknowledged view event is stored exactly once; no staging, trash,
# job or temp dir is left, uploads/ is empty, hls/ holds exactly the ready
# lessons; no transcoder outlives its server; every API answers.
#
# Random moments come from bash's RANDOM, seeded and printed:
# YL_FAULT_SEED=N reruns the same moments. The disk-full and read-only
# columns need mount (root): without it they are skipped, not failed.
# Notices (DESIGN.md) do not exist yet: no "notice send" row.
. "$(dirname "$0")/lib.sh"

SEED=${YL_FAULT_SEED:-$(($(date +%s%N) / 1000 % 1000000))}
RANDOM=$SEED
echo "# seed $SEED (rerun with YL_FAULT_SEED=$SEED)"

MNT=$YL_TMPDIR/mnt
HAVE_MOUNT=0
RO_MOUNTED=0
mkdir -p "$MNT"
if mount -t tmpfs -o size=160m tmpfs "$MNT" 2>/dev/null; then
    HAVE_MOUNT=1
    DATA=$MNT/data
else
    echo "# no mount permitted: disk-full and read-only columns skipped"
fi
BG=()
# At exit: background clients and the server go before the mounts do.
_faults_exit() {
    local rc=$? p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ "$RO_MOUNTED" = 1 ]; then umount "$DATA/yunling.db" 2>/dev/null || true; fi
    (
        (exit $rc)
        _on_exit
    ) || true
    # With YL_KEEP_TMP the data directory outlives the tmpfs it was on.
    if [ $rc -ne 0 ] && [ -n "${YL_KEEP_TMP:-}" ] && [ -d "${DATA:-}" ]; then
        cp -a "$DATA" "$YL_TMPDIR/data-kept" 2>/dev/null || true
    fi
    if [ "$HAVE_MOUNT" = 1 ]; then umount -l "$MNT" 2>/dev/null || true; fi
    exit $rc
}
trap _faults_exit EXIT

# libfaketime for the clock column (faketime_env, lib.sh): writing an
# offset into $FTRC jumps the server's wall clock.
FTRC=$YL_TMPDIR/faketime.rc
faketime_env "$FTRC"

ACKS=$YL_TMPDIR/acked-uploads # "lesson job" per 202
DELS=$YL_TMPDIR/acked-deletes # lesson id per 200
VACKS=$YL_TMPDIR/acked-views  # yl_viewload --acked lines
: >"$ACKS"
: >"$DELS"
: >"$VACKS"
ACK0=0
LOAD=$YL_BINDIR/tests/streamer/yl_viewload
[ -x "$LOAD" ] || fail "$LOAD not built"

# Configuration: retries at once, and enough attempts that a disk held
# full for a second cannot use them up (each attempt fails in milliseconds).
CONF=$YL_TMPDIR/c.ini
printf '[server]\njob_retry_delay = 0\njob_attempts = 100\nshutdown_grace = 20\n' \
    >"$CONF"
SRV_ARGS=(--config "$CONF")

# ---- helpers ----

# rnd LO HI: a random integer in [LO, HI].
rnd() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }
# sleep_ms N
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# The server under env VAR=... (libfaketime), with this test's arguments.
start_env() { # VAR=value...
    start_server_env "$@" -- "${SRV_ARGS[@]}"
}

# stop_wait [seconds]: the server exits by itself (after SIGTERM) with 0.
stop_wait() {
    local i rc=0
    for i in $(seq 1 $((${1:-30} * 10))); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$SRV_PID" 2>/dev/null && fail "$CELL: server still running after SIGTERM"
    wait "$SRV_PID" || rc=$?
    SRV_PID=
    expect_eq "$rc" 0 "$CELL: exit status after SIGTERM"
}

kill9() {
    kill -KILL "$SRV_PID"
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=
}

# running PID: the process exists and is not a zombie (whose reaper, the
# container's init, may take its time).
running() {
    [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
children() { pgrep -P "$SRV_PID" 2>/dev/null || true; }

# wait_child: the pid of job $J's transcoder, from the runner's log line
# "[job=J lesson=L] attempt N started (pid P)" (a short transcode can be
# over before a look at the process table finds it). Waits up to 30 s.
wait_child() {
    local i c
    for i in $(seq 1 300); do
        c=$(sed -n "s/.*\[job=$J lesson=[0-9]*\] attempt [0-9]* started (pid \([0-9]*\)).*/\1/p" \
            "$YL_TMPDIR/server.log" | tail -1)
        if [ -n "$c" ]; then
            echo "$c"
            return 0
        fi
        sleep 0.1
    done
    fail "$CELL: job $J's transcoder never started"
}

fill() {
    dd if=/dev/zero of="$MNT/fill" bs=1M 2>/dev/null || true
    sync
}
unfill() { rm -f "$MNT/fill"; }

make_ro() {
    chmod 0444 "$DATA/yunling.db"
    if [ "$(id -u)" = 0 ]; then
        # root ignores the mode: a read-only bind mount over the file.
        mount --bind "$DATA/yunling.db" "$DATA/yunling.db"
        RO_MOUNTED=1
        mount -o remount,ro,bind "$DATA/yunling.db"
    fi
}
undo_ro() {
    if [ "$RO_MOUNTED" = 1 ]; then
        umount "$DATA/yunling.db"
        RO_MOUNTED=0
    fi
    chmod 0644 "$DATA/yunling.db"
}

# upload FILE TAG [RATE]: POST /api/v1/lessons; a 202 goes to $ACKS.
# Status in $YL_TMPDIR/up-TAG.st.
upload() {
    local st
    st=$(curl -s --max-time 60 -o "$YL_TMPDIR/up-$2.json" -w '%{http_code}' \
        ${3:+--limit-rate "$3"} "${A[@]}" -F "source=@$1" \
        -F "title.zh=课$2" "$BASE/api/v1/lessons" || true)
    echo "$st" >"$YL_TMPDIR/up-$2.st"
    if [ "$st" = 202 ]; then
        echo "$(jq -r .lesson "$YL_TMPDIR/up-$2.json") $(jq -r .job \
            "$YL_TMPDIR/up-$2.json")" >>"$ACKS"
    fi
}
# upload_ok FILE TAG: a 202 is required; sets L and J.
upload_ok() {
    upload "$1" "$2"
    expect_eq "$(cat "$YL_TMPDIR/up-$2.st")" 202 "$CELL: upload $2"
    L=$(jq -r .lesson "$YL_TMPDIR/up-$2.json")
    J=$(jq -r .job "$YL_TMPDIR/up-$2.json")
}
# delete ID TAG: DELETE; a 200 goes to $DELS.
delete() {
    local st
    st=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -X DELETE \
        "${A[@]}" "$BASE/api/v1/lessons/$1" || true)
    echo "$st" >"$YL_TMPDIR/del-$2.st"
    [ "$st" != 200 ] || echo "$1" >>"$DELS"
}
jstate() { curl -s "${A[@]}" "$BASE/api/v1/jobs/$1" | jq -r .state; }

# views PREFIX SECONDS: yl_viewload, acknowledged batches to $VACKS.
views() {
    "$LOAD" --port "$PORT" --token "$SITE" --site 532901104201 \
        --lesson "$VL" --conns 4 --batch 5 --seconds "$2" --prefix "$1" \
        --acked "$VACKS" >"$YL_TMPDIR/load-$1.json" 2>>"$YL_TMPDIR/load.err"
}

# ---- checks after each fault ----

check_apis() {
    local w="$CELL, after the restart"
    expect_eq "$(curl -s "$BASE/healthz")" ok "$w: /healthz"
    expect_eq "$(api GET /api/v1/lessons)" 200 "$w: GET lessons"
    expect_eq "$(api GET '/api/v1/sites?parent=53')" 200 "$w: GET sites"
    expect_eq "$(resp .total)" 16 "$w: prefectures of Yunnan"
    expect_eq "$(api GET /api/v1/sites/532901104201)" 200 "$w: GET a site"
    expect_eq "$(api GET '/api/v1/stats/now?region=53' "${A[@]}")" 200 \
        "$w: stats/now"
    expect_eq "$(api GET '/api/v1/stats/ranking?region=53' "${A[@]}")" 200 \
        "$w: stats/ranking"
    expect_eq "$(api GET /api/v1/stats/sites/532901104201 "${A[@]}")" 200 \
        "$w: stats of a site"
    expect_eq "$(api GET "/api/v1/jobs/$(tail -1 "$ACKS" | cut -d' ' -f2)" \
        "${A[@]}")" 200 "$w: GET a job"
    local mm
    mm=$(curl -s -w '\nHTTP %{http_code}' "$BASE/metrics") || true
    grep -q '^yunling_jobs{state="done"}' <<<"$mm" ||
        { echo "$mm" | tail -30 >&2; fail "$w: /metrics"; }
}

# Every acknowledged upload's job ends done and its lesson is ready;
# every acknowledged delete stays deleted; no job is left unfinished or
# failed. The catalog is asked for all of them at once, the API for the
# ones of this cell (lines of $ACKS after ACK0).
check_uploads() {
    local l j n i bad
    for i in $(seq 1 450); do
        n=$(db "SELECT count(*) FROM jobs WHERE state IN ('queued','running')")
        [ "$n" = 0 ] && break
        sleep 0.2
    done
    expect_eq "$n" 0 "$CELL: jobs still queued or running after 90 s"
    expect_eq "$(db "SELECT count(*) FROM jobs WHERE state = 'failed'")" 0 \
        "$CELL: failed jobs ($(db "SELECT id, error FROM jobs WHERE state = 'failed'"))"
    tr ' ' ',' <"$ACKS" >"$YL_TMPDIR/acks.csv"
    sed 's/$/,/' "$DELS" | cut -d, -f1 >"$YL_TMPDIR/dels.csv"
    bad=$(sqlite3 -cmd '.timeout 5000' "$DATA/yunling.db" \
        'CREATE TEMP TABLE a (lesson INTEGER, job INTEGER)' \
        'CREATE TEMP TABLE d (lesson INTEGER)' '.mode csv' \
        ".import $YL_TMPDIR/acks.csv a" ".import $YL_TMPDIR/dels.csv d" \
        '.mode list' \
        "SELECT a.lesson || '/' || a.job || ':' || coalesce(l.state, '-') ||
            '/' || coalesce(j.state, '-')
     FROM a LEFT JOIN lessons l ON l.id = a.lesson
     LEFT JOIN jobs j ON j.id = a.job AND j.lesson_id = a.lesson
     WHERE CASE WHEN a.lesson IN (SELECT lesson FROM d)
           THEN l.state IS NOT 'deleted' OR
                j.state NOT IN ('done', 'cancelled')
           ELSE l.state IS NOT 'ready' OR j.state IS NOT 'done' END")
    [ -z "$bad" ] || fail "$CELL: acknowledged uploads (lesson/job:states): $bad"
    tail -n +$((ACK0 + 1)) "$ACKS" | while read -r l j; do
        if grep -qx "$l" "$DELS"; then
            expect_eq "$(api GET "/api/v1/lessons/$l")" 404 \
                "$CELL: deleted lesson $l"
            expect_eq "$(code "$BASE/hls/$l/master.m3u8")" 404 \
                "$CELL: playlist of deleted lesson $l"
        else
            expect_eq "$(api GET "/api/v1/lessons/$l")" 200 "$CELL: lesson $l"
            expect_eq "$(code "$BASE/hls/$l/master.m3u8")" 200 \
                "$CELL: playlist of lesson $l"
            expect_eq "$(api GET "/api/v1/jobs/$j" "${A[@]}")/$(resp .state)" \
                200/done "$CELL: job $j"
        fi
    done
}

check_views() {
    local acked missing dup
    acked=$(awk '{ n += $4 } END { print n + 0 }' "$VACKS")
    awk '{ for (i = 0; i < $4; i++) print $1 "," $2 + i }' "$VACKS" \
        >"$YL_TMPDIR/expected.csv"
    missing=$(sqlite3 -cmd '.timeout 5000' "$DATA/yunling.db" \
        'CREATE TEMP TABLE exp (skey TEXT, seq INTEGER)' '.mode csv' \
        ".import $YL_TMPDIR/expected.csv exp" '.mode list' \
        'SELECT count(*) FROM exp e LEFT JOIN sessions s ON s.skey = e.skey
     LEFT JOIN view_events v ON v.session_id = s.id AND v.seq = e.seq
     WHERE v.seq IS NULL')
    expect_eq "$missing" 0 "$CELL: acknowledged events missing ($acked acked)"
    dup=$(db "SELECT count(*) FROM (SELECT 1 FROM view_events
          GROUP BY session_id, seq HAVING count(*) > 1)")
    expect_eq "$dup" 0 "$CELL: (session, seq) stored more than once"
}

# Nothing temporary is left; uploads/ is empty once every job finished;
# hls/ holds exactly the ready lessons.
check_leftovers() {
    local left want got
    left=$(cd "$DATA" && find uploads hls -maxdepth 1 -mindepth 1 \
        \( -name '.staging-*' -o -name '.trash-*' -o -name '.job-*' \
        -o -name '*.tmp-*' \) -print)
    [ -z "$left" ] || fail "$CELL: leftovers: $left"
    left=$(cd "$DATA" && find . -name '*.tmp' -print)
    [ -z "$left" ] || fail "$CELL: temp files: $left"
    left=$(ls -A "$DATA/uploads")
    [ -z "$left" ] || fail "$CELL: uploads/ not empty: $left"
    want=$(db "SELECT id FROM lessons WHERE state = 'ready' ORDER BY id" |
        tr '\n' ' ')
    got=$(ls "$DATA/hls" | sort -n | tr '\n' ' ')
    expect_eq "$got" "$want" "$CELL: lesson dirs in hls/ vs ready lessons"
    [ -z "$(children)" ] || fail "$CELL: a transcoder runs with no job"
}

# The whole file reads back: every page, index and constraint (a fault
# must never leave a database SQLite calls malformed, even in pages no
# other check reads).
check_integrity() {
    local ic
    ic=$(db 'PRAGMA integrity_check' 2>&1) || true
    expect_eq "$ic" ok "$CELL: PRAGMA integrity_check"
}

check_all() {
    check_integrity
    check_uploads
    check_views
    check_leftovers
    check_apis
}

# With the database read-only the server starts, answers reads and
# refuses each write with 503 read_only, storing nothing.
check_readonly() {
    local w="$CELL, database read-only" before
    expect_eq "$(curl -s "$BASE/healthz")" ok "$w: /healthz"
    expect_eq "$(api GET /api/v1/lessons)" 200 "$w: GET lessons"
    expect_eq "$(code "$BASE/hls/$L0/master.m3u8")" 200 "$w: a playlist"
    expect_eq "$(api GET '/api/v1/sites?parent=53')" 200 "$w: GET sites"
    expect_eq "$(api GET '/api/v1/stats/now?region=53' "${A[@]}")" 200 \
        "$w: stats/now"
    expect_eq "$(code "$BASE/metrics")" 200 "$w: /metrics"
    expect_eq "$(api POST /api/v1/views -H "Authorization: Bearer $SITE" \
        -H 'Content-Type: application/json' -d "{\"events\":[{\"session\":\"ro-$TAG\",\"seq\":1,\"site\":\"532901104201\",\"lesson\":$L0,\"kind\":\"start\",\"position_s\":0,\"audio_lang\":\"zh\",\"rendition\":\"480p\",\"client\":\"tv\"}]}")/$(resp .error.code)" \
        503/read_only "$w: POST views"
    before=$(ls -A "$DATA/uploads")
    expect_eq "$(api POST /api/v1/lessons "${A[@]}" -F "source=@$SRC" \
        -F title.zh=只读)/$(resp .error.code)" 503/read_only "$w: upload"
    expect_eq "$(api DELETE "/api/v1/lessons/$L0" "${A[@]}")/$(resp \
        .error.code)" 503/read_only "$w: DELETE"
    expect_eq "$(ls -A "$DATA/uploads")" "$before" \
        "$w: uploads/ after the refused upload"
    grep -q 'read-only' "$YL_TMPDIR/server.log" ||
        fail "$w: the log does not say the database is read-only"
}

# jobs_idle SECONDS WHAT: no job queued or running within SECONDS.
jobs_idle() {
    local i n
    for i in $(seq 1 $(($1 * 5))); do
        n=$(db "SELECT count(*) FROM jobs WHERE state IN ('queued','running')")
        [ "$n" = 0 ] && return 0
        sleep 0.2
    done
    fail "$CELL: $n job(s) still queued or running $2 ($(db "SELECT id,
        state, attempts, error FROM jobs WHERE state IN ('queued','running')"))"
}

# recover FAULT: after the fault, the server runs again on the same data.
recover() {
    case $1 in
    kill9) [ -z "$SRV_PID" ] || kill9 ;;
    term) stop_wait 30 ;;
    full)
        # Space is back: what the full disk refused or failed runs to its
        # end without a restart (operations.md, "A full disk").
        unfill
        jobs_idle 30 "with space back, before any restart"
        stop_server
        ;;
    tckill) stop_server ;;
    rodb)
        stop_server
        start_server "${SRV_ARGS[@]}"
        check_readonly
        stop_server
        undo_ro
        ;;
    clock) stop_server ;; # back to the real clock at the next start
    esac
    [ -z "$SRV_PID" ] || fail "$CELL: server still recorded as running"
    start_server "${SRV_ARGS[@]}"
}

# fault FAULT: inject it now. tckill needs TC_CHILD (the child to kill).
fault() {
    case $1 in
    kill9) kill9 ;;
    term) kill -TERM "$SRV_PID" ;;
    full) fill ;;
    tckill)
        if kill -KILL "${TC_CHILD:-$(children | head -1)}" 2>/dev/null; then
            echo "  transcoder ${TC_CHILD:-} killed"
        else
            echo "  the transcoder had exited already"
        fi
        ;;
    rodb) make_ro ;;
    clock) echo "$JUMP" >"$FTRC" ;;
    esac
}

# ---- the points ----

# upload: the fault at a random moment while the body streams in (about
# 1 s) or as it ends and commits; tckill kills the new job's transcoder.
p_upload() {
    local f=$1 t st
    upload "$SRC" "$TAG" "$RATE" &
    BG+=($!)
    t=$(rnd 50 1200)
    sleep_ms "$t"
    echo "  fault at $t ms"
    if [ "$f" = tckill ]; then
        wait "${BG[-1]}"
        expect_eq "$(cat "$YL_TMPDIR/up-$TAG.st")" 202 "$CELL: upload"
        J=$(jq -r .job "$YL_TMPDIR/up-$TAG.json")
        TC_CHILD=$(wait_child)
        sleep_ms "$(rnd 0 200)"
    fi
    fault "$f"
    if [ "$f" = full ]; then
        sleep 0.5
        unfill
    fi
    wait "${BG[-1]}" || true
    st=$(cat "$YL_TMPDIR/up-$TAG.st")
    case $f in
    kill9) expect_match "$st" '^(202|000)$' "$CELL: upload status" ;;
    term) expect_match "$st" '^(202|503)$' "$CELL: upload status" ;;
    full) expect_match "$st" '^(202|507)$' "$CELL: upload status" ;;
    *) expect_eq "$st" 202 "$CELL: upload status" ;;
    esac
    echo "  upload answered $st"
}

# transcode: an 8 s source's transcoder runs; the fault at a random moment
# of its run. clock: the attempt is killed and, once its retry is
# scheduled (job_retry_delay 2 s), the clock jumps back a day: the retry
# must not wait for the clock to catch up.
p_transcode() {
    local f=$1 t i st try
    upload_ok "$LONG" "$TAG"
    TC_CHILD=$(wait_child)
    if [ "$f" = clock ]; then
        # The attempt to kill: a transcode may be over sooner than the
        # setup's one; then another upload.
        for try in 1 2 3; do
            t=$(rnd 0 $((TC_MS / 4)))
            sleep_ms "$t"
            if kill -KILL "$TC_CHILD" 2>/dev/null; then
                break
            fi
            [ "$try" -lt 3 ] || fail "$CELL: three transcodes ended too soon"
            echo "  the transcoder ended within $t ms: another upload"
            upload_ok "$LONG" "$TAG-$try"
            TC_CHILD=$(wait_child)
        done
        echo "  transcoder killed at $t ms, then the clock set back"
        for i in $(seq 1 100); do
            st=$(curl -s "${A[@]}" "$BASE/api/v1/jobs/$J")
            [ "$(jq -r '.retry_at_ms // empty' <<<"$st")" != "" ] && break
            [ "$(jq -r .state <<<"$st")" = done ] && break
            sleep 0.1
        done
        fault clock
        for i in $(seq 1 150); do
            st=$(jstate "$J")
            [ "$st" = running ] || [ "$st" = done ] && break
            sleep 0.1
        done
        expect_match "$st" '^(running|done)$' \
            "$CELL: the retry after a clock jump back (state)"
        return
    fi
    t=$(rnd 0 "$TC_MS")
    sleep_ms "$t"
    echo "  fault at $t ms of about $TC_MS"
    fault "$f"
    if [ "$f" = full ]; then
        sleep 0.7
        unfill
    fi
}

# publish: the fault 0-20 ms after the transcoder's output appears as
# hls/.job-N, i.e. around the runner's rename and commit.
p_publish() {
    local f=$1 t end=$((SECONDS + 60))
    upload_ok "$SRC" "$TAG"
    TC_CHILD=$(wait_child)
    until [ -e "$DATA/hls/.job-$J" ] || [ -e "$DATA/hls/$L" ]; do
        [ $SECONDS -lt $end ] || fail "$CELL: job $J never published"
    done
    t=$(rnd 0 20)
    [ "$t" = 0 ] || sleep_ms "$t"
    fault "$f"
    echo "  fault $t ms after hls/.job-$J appeared"
    if [ "$f" = full ]; then
        sleep 0.5
        unfill
    fi
    return 0
}

# delete: DELETE of a published lesson and of one whose job runs, the
# fault 0-40 ms after they are sent (tckill: the running job's child).
# kill9 adds the worst moment, which a signal from outside hits only by
# luck: a delete committed, its files not yet touched. With the server
# down, a third (published) lesson gets the rows its delete commits, as
# does the running one if its DELETE was not acknowledged.
p_delete() {
    local f=$1 t a b c=
    upload_ok "$SRC" "$TAG-a"
    a=$L
    wait_job "$J" done 60
    if [ "$f" = kill9 ]; then
        upload_ok "$SRC" "$TAG-c"
        c=$L
        wait_job "$J" done 60
    fi
    upload_ok "$LONG" "$TAG-b"
    b=$L
    TC_CHILD=$(wait_child)
    delete "$a" "$TAG-a" &
    BG+=($!)
    delete "$b" "$TAG-b" &
    BG+=($!)
    t=$(rnd 0 40)
    sleep_ms "$t"
    fault "$f"
    echo "  fault $t ms after the deletes"
    if [ "$f" = full ]; then
        sleep 0.5
        unfill
    fi
    wait "${BG[-1]}" "${BG[-2]}" || true
    echo "  deletes answered $(cat "$YL_TMPDIR/del-$TAG-a.st") $(cat \
        "$YL_TMPDIR/del-$TAG-b.st")"
    if [ -n "$c" ]; then
        grep -qx "$b" "$DELS" || c="$c $b"
        for l in $c; do
            db "UPDATE lessons SET state = 'deleted', deleted_ms = 1
            WHERE id = $l AND state <> 'deleted';
            UPDATE jobs SET state = 'cancelled', not_before_ms = 0
            WHERE lesson_id = $l AND state IN ('queued', 'running')"
            echo "$l" >>"$DELS"
        done
        echo "  committed deletes of $c written with the server down"
    fi
}

# views: yl_viewload for 2 s, the fault at a random moment of it.
p_views() {
    local f=$1 t
    if [ "$f" = tckill ]; then
        upload_ok "$LONG" "$TAG"
        TC_CHILD=$(wait_child)
    fi
    views "$TAG" 2 &
    BG+=($!)
    t=$(rnd 200 1500)
    sleep_ms "$t"
    echo "  fault at $t ms"
    fault "$f"
    if [ "$f" = full ]; then
        sleep 0.5
        unfill
    fi
    wait "${BG[-1]}" || true
    echo "  views: $(jq -c '{ok, errors, events}' "$YL_TMPDIR/load-$TAG.json")"
    if [ "$f" = clock ]; then
        views_ts
    fi
}

# A ts far in the past is taken (credit is bounded by the server's clock,
# not the client's); one ahead of the server's clock is refused (400).
views_ts() {
    local ev past future now
    now=$(($(date +%s%3N) + ${JUMP_MS:-0}))
    past=978307200000          # 2001-01-01
    future=$((now + 86400000)) # a day ahead of the server
    ev() {                     # seq ts
        printf '{"session":"ts-%s","seq":%d,"site":"532901104201","lesson":%d,"kind":"beat","position_s":%d,"audio_lang":"zh","rendition":"480p","client":"tv","ts":%s}' \
            "$TAG" "$1" "$VL" "$1" "$2"
    }
    expect_eq "$(api POST /api/v1/views -H "Authorization: Bearer $SITE" \
        -H 'Content-Type: application/json' \
        -d "{\"events\":[$(ev 1 $past),$(ev 2 $((past + 15000)))]}")" 200 \
        "$CELL: events with a ts in 2001"
    echo "ts-$TAG 1 2 2" >>"$VACKS"
    expect_eq "$(api POST /api/v1/views -H "Authorization: Bearer $SITE" \
        -H 'Content-Type: application/json' \
        -d "{\"events\":[$(ev 3 $future)]}")/$(resp .error.code)" \
        400/invalid "$CELL: an event with a ts a day ahead"
    expect_match "$(resp .error.message)" 'ahead of the server clock' \
        "$CELL: message for a ts ahead"
}

# clock_moved: the jump reached the server. A refused upload makes it
# log a line; that line's time is the real time plus the jump.
clock_moved() {
    local line ts want
    api POST /api/v1/lessons "${A[@]}" -F title.zh=x >/dev/null
    sleep 0.2
    line=$(grep 'upload refused' "$YL_TMPDIR/server.log" | tail -1)
    ts=$(date -d "${line%%Z *}Z" +%s)
    want=$(($(date +%s) + JUMP_MS / 1000))
    [ $((ts - want)) -lt 120 ] && [ $((want - ts)) -lt 120 ] ||
        fail "$CELL: the server's clock did not jump $JUMP (log: ${line:0:24})"
    echo "  the server's clock: ${line:0:24} ($JUMP)"
}

# ---- setup ----

setup_catalog
A=(-H "Authorization: Bearer $ADMIN")
SRC=$YL_TMPDIR/src.mp4
LONG=$YL_TMPDIR/long.mp4
make_src "$SRC" 1
make_src "$LONG" 8
# The upload streams for about a second.
RATE=$(stat -c %s "$SRC")
start_server "${SRV_ARGS[@]}"
CELL=setup
TAG=setup
upload_ok "$SRC" setup
L0=$L
VL=$L
wait_job "$J" done 60
T0=$(date +%s%N)
upload_ok "$LONG" setup-long
wait_job "$J" done 120
TC_MS=$((($(date +%s%N) - T0) / 1000000))
echo "# an 8 s source transcodes in $TC_MS ms"

POINTS=(upload transcode publish delete views)
FAULTS=(kill9 term full tckill rodb clock)
[ -z "${YL_FAULT_POINTS:-}" ] || read -r -a POINTS <<<"$YL_FAULT_POINTS"
[ -z "${YL_FAULT_FAULTS:-}" ] || read -r -a FAULTS <<<"$YL_FAULT_FAULTS"
JUMPS=("+400d" "-1d" "+3h" "-30d")
declare -A JUMP_S=([+400d]=34560000 [-1d]=-86400 [+3h]=10800 [-30d]=-2592000)
RESULTS=()
T_ALL=$SECONDS

# The cells in a seeded random order, started while the time budget lasts
# (YL_FAULT_BUDGET seconds, default 170: a sanitizer build is several
# times slower and the ctest TIMEOUT is 300 s); the cells left out are
# named, and the next seed orders them differently.
CELLS=()
for p in "${POINTS[@]}"; do
    for f in "${FAULTS[@]}"; do
        CELLS+=("$p $f")
    done
done
for ((i = ${#CELLS[@]} - 1; i > 0; i--)); do
    k=$((RANDOM % (i + 1)))
    c=${CELLS[i]}
    CELLS[i]=${CELLS[k]}
    CELLS[k]=$c
done
BUDGET=${YL_FAULT_BUDGET:-170}
NOT_RUN=()
for c in "${CELLS[@]}"; do
    read -r p f <<<"$c"
    if [ $((SECONDS - T_ALL)) -ge "$BUDGET" ]; then
        NOT_RUN+=("$p/$f")
        continue
    fi
    CELL=$p/$f
    TAG=$p-$f
    TC_CHILD=
    if { [ "$f" = full ] || [ "$f" = rodb ]; } && [ "$HAVE_MOUNT" = 0 ]; then
        echo "SKIP $CELL: needs mount (root)"
        RESULTS+=("$CELL skip")
        continue
    fi
    t0=$SECONDS
    echo "== $CELL"
    if [ "$f" = clock ]; then
        if [ ${#FT_ENV[@]} -eq 0 ]; then
            echo "  no clock jump: $FT_WHY"
            if [ "$p" != views ]; then
                RESULTS+=("$CELL skip")
                continue
            fi
            JUMP=+0
            JUMP_MS=0
            views_ts
            check_all
            RESULTS+=("$CELL ts-only")
            continue
        fi
        JUMP=${JUMPS[RANDOM % ${#JUMPS[@]}]}
        if [ "$p" = transcode ]; then JUMP=-1d; fi
        JUMP_MS=$((${JUMP_S[$JUMP]} * 1000))
        echo "  clock jump $JUMP"
        echo "+0" >"$FTRC"
        stop_server
        if [ "$p" = transcode ]; then
            printf '[server]\njob_retry_delay = 2\njob_attempts = 100\n' \
                >"$YL_TMPDIR/c2.ini"
            SRV_ARGS=(--config "$YL_TMPDIR/c2.ini")
        fi
        start_env "${FT_ENV[@]}"
        SRV_ARGS=(--config "$CONF")
    fi
    ACK0=$(wc -l <"$ACKS")
    "p_$p" "$f"
    t1=$SECONDS
    if [ "$f" = clock ]; then
        clock_moved
    fi
    recover "$f"
    t2=$SECONDS
    # The transcoders of a killed server die with it.
    for c in $TC_CHILD; do
        for i in $(seq 1 20); do
            running "$c" || break
            sleep 0.1
        done
        if running "$c"; then
            fail "$CELL: transcoder $c outlived its job ($(ps -o pid,ppid,stat,cmd -p "$c"))"
        fi
    done
    check_all
    RESULTS+=("$CELL ok $((SECONDS - t0))s")
    echo "ok - $CELL ($((SECONDS - t0)) s: fault $((t1 - t0)), restart $((t2 - t1)), checks $((SECONDS - t2)))"
done
stop_server
echo "# matrix: ${RESULTS[*]}"
if [ ${#NOT_RUN[@]} -gt 0 ]; then
    echo "# not run (time budget of $BUDGET s spent): ${NOT_RUN[*]}"
fi
echo "# $((SECONDS - T_ALL)) s for the matrix, seed $SEED"
