#!/usr/bin/env bash
# The JSON API's shapes with curl: an upload that becomes a lesson, lesson
# list / search / get, jobs, sites, stats, errors, delete with a reader.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 3
start_server
AUTH=(-H "Authorization: Bearer $ADMIN")

# --- upload → 202 {"lesson","job"} → job done → lesson ready
st=$(api POST /api/v1/lessons "${AUTH[@]}" -F "source=@$YL_TMPDIR/src.mp4" \
    -F 'title.zh=村里的新政策' -F 'title.bo=ཞིང་ཁའི་སྲིད་ཇུས' \
    -F category=policy)
expect_eq "$st" 202 "upload status"
expect_eq "$(resp .lesson)" 1 "upload lesson id"
expect_eq "$(resp .job)" 1 "upload job id"
[ -z "$(ls -A "$DATA/uploads" | grep staging || true)" ] ||
    fail "staging dir left after the upload"
st=$(api GET /api/v1/jobs/1 "${AUTH[@]}")
expect_eq "$st" 200 "job status code"
jq -e '.id == 1 and .lesson == 1 and (.state | test("queued|running|done"))
       and (.progress | type == "number") and has("error")
       and has("attempts")' "$YL_TMPDIR/resp.json" >/dev/null ||
    fail "job shape: $(cat "$YL_TMPDIR/resp.json")"
wait_job 1 done
api GET /api/v1/jobs/1 "${AUTH[@]}" >/dev/null
expect_eq "$(resp .progress)" 1 "done job progress"
expect_eq "$(resp .error)" null "done job error"
[ -f "$DATA/jobs/1.log" ] || fail "no jobs/1.log"
[ ! -e "$DATA/uploads/1" ] || fail "sources kept after success"
ok "upload → 202 → job done"

st=$(api GET /api/v1/lessons)
expect_eq "$st" 200 "lessons list"
jq -e '.total == 1 and (.items | length) == 1' "$YL_TMPDIR/resp.json" \
    >/dev/null || fail "list: $(cat "$YL_TMPDIR/resp.json")"
jq -e '.items[0] | has("id") and has("title") and has("titles") and
       has("languages") and has("subtitles") and has("duration_s") and
       has("poster") and has("hls")' "$YL_TMPDIR/resp.json" >/dev/null ||
    fail "item keys: $(cat "$YL_TMPDIR/resp.json")"
expect_eq "$(resp '.items[0].hls')" /hls/1/master.m3u8 "hls path"
expect_eq "$(resp '.items[0].titles.bo')" 'ཞིང་ཁའི་སྲིད་ཇུས' "Tibetan title"
HLS=$(resp '.items[0].hls')
expect_eq "$(code "$BASE$HLS")" 200 "the item's hls URL"
expect_eq "$(code "$BASE$(resp '.items[0].poster')")" 200 "the poster URL"
expect_eq "$(resp '.items[0].thumb')" /hls/1/thumb.jpg "the thumb path"
curl -s -o "$YL_TMPDIR/thumb.jpg" -D "$YL_TMPDIR/th" "$BASE/hls/1/thumb.jpg"
expect_eq "$(hval "$YL_TMPDIR/th" content-type)" image/jpeg "thumb type"
expect_match "$(ffprobe -v error -show_entries stream=width -of csv=p=0 \
    "$YL_TMPDIR/thumb.jpg")" '^(320|[12][0-9]{2})$' "thumb at most 320 wide"
api GET '/api/v1/lessons?q=%E6%96%B0%E6%94%BF' >/dev/null # 新政
expect_eq "$(resp .total)" 1 "search by a Chinese title substring"
api GET '/api/v1/lessons?q=nothing-like-it' >/dev/null
expect_eq "$(resp .total)" 0 "search miss"
api GET '/api/v1/lessons?category=policy' >/dev/null
expect_eq "$(resp .total)" 1 "category filter"
api GET '/api/v1/lessons?category=health' >/dev/null
expect_eq "$(resp .total)" 0 "category miss"
api GET '/api/v1/lessons?lang=bo' >/dev/null
expect_eq "$(resp .total)" 0 "no Tibetan audio or subtitles: filtered out"
api GET /api/v1/lessons/1?lang=bo >/dev/null
expect_eq "$(resp .title)" 'ཞིང་ཁའི་སྲིད་ཇུས' "lang picks the title"
expect_eq "$(api GET '/api/v1/lessons?page=0')" 400 "page=0"
expect_eq "$(resp .error.code)" invalid "page=0 error code"
expect_eq "$(api GET '/api/v1/lessons?page=x')" 400 "page=x"
# past the last lesson: an empty page, the total still right
api GET /api/v1/lessons >/dev/null
TOTAL=$(resp .total)
expect_eq "$(api GET '/api/v1/lessons?page=1000000')" 200 "page=1000000"
expect_eq "$(resp '.items | length')/$(resp .total)/$(resp .page)" \
    "0/$TOTAL/1000000" "page=1000000 is an empty page"
expect_eq "$(api GET '/api/v1/lessons?page=1000001')" 400 "page=1000001"
expect_match "$(resp .error.message)" '^page: "1000001" is not an integer in 1\.\.1000000$' \
    "page=1000001 names the range"
st=$(api GET /api/v1/lessons/1)
expect_eq "$st" 200 "get lesson"
expect_eq "$(resp .id)" 1 "get lesson id"
expect_eq "$(resp .duration_s | cut -c1)" 3 "duration"
expect_eq "$(api GET /api/v1/lessons/99)" 404 "unknown lesson"
expect_eq "$(resp .error.code)" not_found "unknown lesson code"
expect_match "$(resp .error.message)" 99 "unknown lesson message"
ok "lessons: list, search, filters, get, errors"

# --- sites
api GET /api/v1/sites >/dev/null
expect_eq "$(resp '.items[0].code')" 53 "provinces"
api GET '/api/v1/sites?parent=5329' >/dev/null
expect_eq "$(resp .total)" 12 "Dali counties"
jq -e '.items[0] | has("code") and has("name") and has("level") and
       has("parent") and has("lang")' "$YL_TMPDIR/resp.json" >/dev/null ||
    fail "site keys"
expect_eq "$(api GET /api/v1/sites/532901104201)" 200 "one site"
expect_eq "$(resp .name)" 喜洲村委会 "site name"
expect_eq "$(resp .level)" village "site level"
expect_eq "$(api GET /api/v1/sites/532901104299)" 404 "unknown site"
expect_eq "$(api GET /api/v1/sites/53x)" 400 "malformed code"
expect_eq "$(api GET '/api/v1/sites?parent=5')" 400 "malformed parent"
ok "sites: list, children, get, errors"

# --- stats (shapes; the numbers are the catalog's tests)
st=$(api GET '/api/v1/stats/now?region=5329' "${AUTH[@]}")
expect_eq "$st" 200 "stats now"
jq -e '.region.code == "5329" and (.items | length) == 12 and
       has("active_sessions")' "$YL_TMPDIR/resp.json" >/dev/null ||
    fail "stats now shape"
expect_eq "$(api GET '/api/v1/stats/ranking?region=5329&from=2026-01-01&to=2026-01-31' "${AUTH[@]}")" \
    200 "ranking"
jq -e '.items[0].rank == 1 and (.items | length) == 12' \
    "$YL_TMPDIR/resp.json" >/dev/null || fail "ranking shape"
expect_eq "$(api GET '/api/v1/stats/ranking?region=5329&from=yesterday' "${AUTH[@]}")" \
    400 "bad date"
expect_eq "$(api GET /api/v1/stats/sites/532901104201 "${AUTH[@]}")" 200 \
    "site stats"
jq -e 'has("totals") and has("days") and has("lessons")' \
    "$YL_TMPDIR/resp.json" >/dev/null || fail "site stats shape"
expect_eq "$(api GET '/api/v1/stats/now?region=99' "${AUTH[@]}")" 404 \
    "stats unknown region"
ok "stats: now, ranking, sites"

# --- routing errors
expect_eq "$(api GET /api/v1/nothing)" 404 "unknown endpoint"
expect_eq "$(resp .error.code)" not_found "unknown endpoint code"
expect_eq "$(api GET /api/v2/lessons)" 404 "unknown version"
expect_eq "$(api GET /api/v1/lessons/abc)" 404 "non-numeric id"
expect_eq "$(api PUT /api/v1/lessons/1 -d x)" 405 "PUT"
expect_eq "$(api POST /api/v1/sites "${AUTH[@]}" -d x)" 405 "POST sites"
curl -s -D "$YL_TMPDIR/h" -o /dev/null -X DELETE "$BASE/api/v1/views"
expect_eq "$(hval "$YL_TMPDIR/h" allow)" POST "405 Allow header"
ok "404 / 405"

# --- delete while a reader is mid-file: files go only after it is done
head -c 16000000 /dev/urandom >"$DATA/hls/1/v0/big.m4s"
# The master playlist in the small-file cache first: a delete must reach it.
touch -d '1 minute ago' "$DATA/hls/1/master.m3u8"
expect_eq "$(code "$BASE/hls/1/master.m3u8")" 200 "master (cached)"
expect_eq "$(code "$BASE/hls/1/master.m3u8")" 200 "master (from cache)"
grep -q '^yunling_file_cache_hits_total [1-9]' <<<"$(curl -s "$BASE/metrics")" ||
    fail "master.m3u8 was not served from the cache"
curl -s --limit-rate 8M -o "$YL_TMPDIR/dl" "$BASE/hls/1/v0/big.m4s" &
DL=$!
# Wait until the reader is really in flight (its first bytes arrived),
# never for a fixed time: on a loaded machine curl may not have connected
# after 0.5 s, and then the delete is right to remove the files at once.
for _ in $(seq 1 200); do
    [ -s "$YL_TMPDIR/dl" ] && break
    sleep 0.05
done
[ -s "$YL_TMPDIR/dl" ] || fail "the reader never started"
expect_eq "$(api DELETE /api/v1/lessons/1 "${AUTH[@]}")" 200 "delete"
expect_eq "$(resp .deleted)" 1 "delete answer"
[ ! -e "$DATA/hls/1" ] || fail "hls/1 still reachable after delete"
ls -d "$DATA"/hls/.trash-1-* >/dev/null 2>&1 ||
    fail "files removed while a reader was still reading"
expect_eq "$(code "$BASE/hls/1/master.m3u8")" 404 "deleted lesson's HLS"
expect_eq "$(api GET /api/v1/lessons/1)" 404 "deleted lesson"
wait "$DL" || fail "the reader's download broke"
cmp -s "$YL_TMPDIR/dl" <(cat "$DATA"/hls/.trash-1-*/v0/big.m4s 2>/dev/null ||
    true) && true
expect_eq "$(stat -c %s "$YL_TMPDIR/dl")" 16000000 "reader got every byte"
for i in $(seq 1 20); do
    ls -d "$DATA"/hls/.trash-1-* >/dev/null 2>&1 || break
    sleep 0.1
done
ls -d "$DATA"/hls/.trash-1-* >/dev/null 2>&1 &&
    fail "trash dir left after the last reader"
expect_eq "$(api DELETE /api/v1/lessons/1 "${AUTH[@]}")" 404 "delete twice"
ok "delete: gone at once for new readers, files removed after the last one"

expect_eq "$(curl -s "$BASE/healthz")" ok healthz
stop_server
