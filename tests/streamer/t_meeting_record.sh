#!/usr/bin/env bash
# A meeting's recording becomes a lesson (issue 13): a test: meeting
# (Mandarin and Tibetan) runs about 6 s and stops; its recording (the top
# rung and each language, appended segment by segment while live) goes
# through the normal transcode job; the lesson has both languages as audio
# renditions, Mandarin the default, and lasts about as long as the
# meeting; the recording's files are gone once the job is done. A meeting
# stopped before its first segment makes no lesson, and none is made with
# live_record = off.
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
A=(-H "Authorization: Bearer $ADMIN" -H 'content-type: application/json')

meeting() { # title -> id
    api POST /api/v1/meetings "${A[@]}" -d "$(jq -n --arg t "$1" \
        '{title: $t, targets: ["5329"], source: "test:"}')" >/dev/null
    resp .id
}
# wait_rec ID: the meeting's recording once the pipeline has ended.
wait_rec() {
    local i st
    for i in $(seq 1 300); do
        api GET "/api/v1/meetings/$1" "${A[@]}" >/dev/null
        st=$(resp '.recording.state // "null"')
        [ "$st" != recording ] && [ "$st" != null ] && return 0
        sleep 0.1
    done
    fail "meeting $1: recording state still $st after 30 s"
}
lessons_recorded() {
    db "SELECT count(*) FROM lessons WHERE category = '会议录像'"
}

ID=$(meeting "全省部署会")
expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get, scheduled"
expect_eq "$(resp .recording)" null "no recording before the first start"
expect_eq "$(api POST "/api/v1/meetings/$ID/start" "${A[@]}")" 200 "start"
for i in $(seq 1 600); do
    [ "$(code "$BASE/live/$ID/master.m3u8")" == 200 ] && break
    sleep 0.1
done
expect_eq "$(code "$BASE/live/$ID/master.m3u8")" 200 "live HLS is up"
# Its first segment is out: the recording holds at least from here to the
# stop. (From the start request the pipeline took 1-2 s to be live on a
# quiet machine, 4.6 s once in CI's ASan pass.)
live_ms=$(date +%s%3N)
expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get, live"
expect_eq "$(resp .recording.state)" recording "recording while live"
sleep 4
expect_eq "$(api POST "/api/v1/meetings/$ID/stop" "${A[@]}")" 200 "stop"
wait_rec "$ID"
LESSON=$(resp .recording.lesson)
JOB=$(resp .recording.job)
[[ $LESSON =~ ^[0-9]+$ ]] && [[ $JOB =~ ^[0-9]+$ ]] ||
    fail "the recording made no lesson: $(resp .recording)"
started=$(resp .started_ms)
ended=$(resp .ended_ms)
meet_s=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
seen_s=$(awk -v a="$live_ms" -v b="$ended" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
ok "meeting $ID ran ${meet_s}s; its recording is lesson $LESSON, job $JOB"
inputs=$(db "SELECT inputs FROM jobs WHERE id = $JOB")
expect_eq "$(jq -c '.audio | keys_unsorted' <<<"$inputs")" '["zh","bo"]' \
    "the job's dubs: Mandarin first, then Tibetan"
expect_eq "$(jq -r .dub_clock <<<"$inputs")" source \
    "the languages are placed on the picture's clock"
[ -z "$(ls -A "$DATA/recordings" 2>/dev/null)" ] ||
    fail "the recording was not handed to the job: $(ls "$DATA/recordings")"

wait_job "$JOB" done 240
expect_eq "$(api GET "/api/v1/lessons/$LESSON")" 200 "the lesson"
expect_eq "$(resp .title)" "全省部署会 录像" "its title"
expect_eq "$(resp .category)" "会议录像" "its category"
expect_eq "$(resp .owner)" 53 "it belongs to the meeting's region"
expect_eq "$(resp '.languages | sort | join(",")')" "bo,zh" "its languages"
master=$(curl -s "$BASE$(resp .hls)")
expect_match "$master" 'TYPE=AUDIO[^
]*LANGUAGE="zh"[^
]*DEFAULT=YES' "Mandarin is the default audio rendition"
expect_match "$master" 'TYPE=AUDIO[^
]*LANGUAGE="bo"' "a Tibetan audio rendition"
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
    "$BASE$(resp .hls)")
# No longer than the meeting; no shorter than the time it was seen live
# (less half a second: the stop's last frames).
awk -v d="$dur" -v m="$meet_s" -v l="$seen_s" \
    'BEGIN { exit !(d > l - 0.5 && d < m + 0.5) }' ||
    fail "the lesson lasts ${dur}s, the meeting ${meet_s}s (live for ${seen_s}s of it)"
ok "the lesson lasts ${dur}s for a meeting of ${meet_s}s (live for ${seen_s}s of it)"
expect_eq "$(api GET "/api/v1/meetings/$ID" "${A[@]}")" 200 "get, ended"
expect_eq "$(resp .recording.state)" done "the recording's state is its job's"
[ ! -e "$DATA/uploads/$JOB" ] || fail "the recording was kept after its job"

# Stopped before its first segment: no lesson, and nothing left on disk.
before=$(lessons_recorded)
ID2=$(meeting "短会")
expect_eq "$(api POST "/api/v1/meetings/$ID2/start" "${A[@]}")" 200 "start"
expect_eq "$(api POST "/api/v1/meetings/$ID2/stop" "${A[@]}")" 200 "stop at once"
wait_rec "$ID2"
expect_eq "$(jq -c .recording "$YL_TMPDIR/resp.json")" '{"lesson":null,"job":null,"state":"none"}' \
    "nothing recorded: no lesson"
expect_eq "$(lessons_recorded)" "$before" "no lesson was created"
[ -z "$(ls -A "$DATA/recordings" 2>/dev/null)" ] ||
    fail "an empty recording was left: $(ls "$DATA/recordings")"

# A rehearsal file with two tagged audio tracks (zho, bod) ends by itself:
# its recording becomes a lesson too, in the file's language order.
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=640x360:rate=25" \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -f lavfi -i sine=frequency=660:sample_rate=48000 -t 5 \
    -map 0:v -map 1:a -map 2:a -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p -c:a aac -metadata:s:a:0 language=zho \
    -metadata:s:a:1 language=bod "$YL_TMPDIR/two.mp4"
ID4=$(api POST /api/v1/meetings "${A[@]}" -d "$(jq -n --arg s \
    "file://$YL_TMPDIR/two.mp4" '{title: "彩排", targets: ["5329"],
    source: $s}')" >/dev/null && resp .id)
expect_eq "$(api POST "/api/v1/meetings/$ID4/start" "${A[@]}")" 200 \
    "the file meeting starts"
wait_rec "$ID4"
expect_eq "$(resp .state)" ended "the file meeting ended with its file"
JOB4=$(resp .recording.job)
[[ $JOB4 =~ ^[0-9]+$ ]] || fail "no job for the file meeting: $(resp .recording)"
LESSON4=$(resp .recording.lesson)
wait_job "$JOB4" done 240
expect_eq "$(api GET "/api/v1/lessons/$LESSON4")" 200 "the rehearsal's lesson"
expect_eq "$(resp '.languages | sort | join(",")')" "bo,zh" \
    "the file's tagged tracks are the lesson's languages"
dur4=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
    "$BASE$(resp .hls)")
awk -v d="$dur4" 'BEGIN { exit !(d > 3.5 && d < 5.5) }' ||
    fail "the 5 s rehearsal's lesson lasts ${dur4}s"
ok "a 5 s rehearsal file became a lesson of ${dur4}s with zh and bo"
before=$(lessons_recorded)
stop_server

# live_record = off: the meeting is not recorded.
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
live_record = off
INI
start_server --config "$YL_TMPDIR/y.ini"
ID3=$(meeting "不录的会")
expect_eq "$(api POST "/api/v1/meetings/$ID3/start" "${A[@]}")" 200 "start"
for i in $(seq 1 600); do
    [ "$(code "$BASE/live/$ID3/master.m3u8")" == 200 ] && break
    sleep 0.1
done
expect_eq "$(api GET "/api/v1/meetings/$ID3" "${A[@]}")" 200 "get, live"
expect_eq "$(resp .recording)" null "not recording"
expect_eq "$(api POST "/api/v1/meetings/$ID3/stop" "${A[@]}")" 200 "stop"
wait_rec "$ID3"
expect_eq "$(jq -c .recording "$YL_TMPDIR/resp.json")" '{"lesson":null,"job":null,"state":"off"}' \
    "live_record = off: no lesson"
expect_eq "$(lessons_recorded)" "$before" "no lesson was created"
[ ! -e "$DATA/recordings" ] || [ -z "$(ls -A "$DATA/recordings")" ] ||
    fail "live_record = off wrote a recording"
stop_server

# A config with a bad value is refused.
printf '[server]\nlive_record = maybe\n' >"$YL_TMPDIR/bad.ini"
if "$YUNLING" serve --config "$YL_TMPDIR/bad.ini" --data "$DATA" \
    --listen 127.0.0.1:0 >/dev/null 2>"$YL_TMPDIR/bad.err"; then
    fail "live_record = maybe was accepted"
fi
expect_match "$(cat "$YL_TMPDIR/bad.err")" "live_record" "the error names the key"
ok "meeting recordings"
