#!/usr/bin/env bash
# SQL injection: SQL in query parameters, path segments, JSON fields and
# multipart fields is data, never SQL (every statement binds its values).
. "$(dirname "$0")/lib.sh"

setup_catalog
start_server
make_src "$YL_TMPDIR/src.mp4" 1
A=(-H "Authorization: Bearer $ADMIN")
expect_eq "$(api POST /api/v1/lessons "${A[@]}" -F "source=@$YL_TMPDIR/src.mp4" \
    --form-string "title.zh=x'); DROP TABLE lessons; --" \
    --form-string "category=a' OR '1'='1")" \
    202 "upload with SQL in its fields"
LID=$(resp .lesson)
wait_job "$(resp .job)" done
G=(-G --data-urlencode)
for q in "' OR 1=1 --" "%' OR '%'='" '" OR ""="' "x'; DELETE FROM lessons; --" \
    "1 UNION SELECT token_hash FROM tokens"; do
    st=$(curl -s -o "$YL_TMPDIR/r.json" -w '%{http_code}' "${G[@]}" "q=$q" \
        "$BASE/api/v1/lessons")
    expect_eq "$st" 200 "search for [$q]"
    expect_eq "$(jq .total "$YL_TMPDIR/r.json")" 0 "hits for [$q]"
    st=$(curl -s -o /dev/null -w '%{http_code}' "${G[@]}" "category=$q" \
        "$BASE/api/v1/lessons")
    expect_eq "$st" 200 "category [$q]"
    st=$(curl -s -o /dev/null -w '%{http_code}' "${G[@]}" "parent=$q" \
        "$BASE/api/v1/sites")
    expect_eq "$st" 400 "parent [$q]"
    st=$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "${G[@]}" \
        "region=$q" "$BASE/api/v1/stats/now")
    expect_eq "$st" 400 "region [$q]"
done
expect_eq "$(code "$BASE/api/v1/sites/5329'%20OR%20'1'='1")" 400 \
    "site code with SQL"
expect_eq "$(code "$BASE/api/v1/lessons/1%20OR%201=1")" 404 "lesson id with SQL"
# The literal category matches itself only.
st=$(curl -s -o "$YL_TMPDIR/r.json" -w '%{http_code}' "${G[@]}" \
    "category=a' OR '1'='1" "$BASE/api/v1/lessons")
expect_eq "$(jq .total "$YL_TMPDIR/r.json")" 1 "the literal category"
# Views with SQL in string fields: refused by validation, nothing stored.
body="{\"events\":[{\"session\":\"s'); DROP TABLE sessions; --\",\"seq\":1,\"site\":\"532901104201' OR '1'='1\",\"lesson\":$LID,\"kind\":\"start\",\"position_s\":0,\"audio_lang\":\"zh\",\"rendition\":\"480p\",\"client\":\"tv\"}]}"
expect_eq "$(api POST /api/v1/views "${A[@]}" -H 'Content-Type: application/json' \
    -d "$body")" 400 "views with SQL in the site"
expect_eq "$(db "SELECT count(*) FROM lessons")" 1 "lessons table intact"
expect_eq "$(db "SELECT title FROM lesson_titles WHERE lesson_id = $LID")" \
    "x'); DROP TABLE lessons; --" "the title stored as text"
expect_eq "$(db "SELECT count(*) FROM sessions")" 0 "sessions table intact"
expect_eq "$(db "SELECT count(*) FROM tokens")" 5 "tokens table intact"
ok "SQL in queries, paths, JSON and form fields is stored or refused as data"
