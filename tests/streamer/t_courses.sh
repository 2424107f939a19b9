#!/usr/bin/env bash
# Courses (issue 11): lessons uploaded into a course by title or id, in an
# order; "course" and "next" in every lesson item; /api/v1/courses; bad
# course fields refused with 400 naming the field (nothing kept); a course
# of another region refused with 403.
. "$(dirname "$0")/lib.sh"

setup_catalog
make_src "$YL_TMPDIR/src.mp4" 2
start_server
AUTH=(-H "Authorization: Bearer $ADMIN")
SRC=(-F "source=@$YL_TMPDIR/src.mp4")

up() { # up TITLE [curl -F args...]: uploads, prints the status
    local t=$1
    shift
    api POST /api/v1/lessons "${AUTH[@]}" "${SRC[@]}" -F "title.zh=$t" "$@"
}

# --- three lessons into one course by title (the third inserted first),
# one lesson in no course
expect_eq "$(up 第一课 -F course=森林防火)" 202 "upload 1"
expect_eq "$(up 第二课 -F course=森林防火)" 202 "upload 2"
expect_eq "$(up 导论 -F course=森林防火 -F course_index=1)" 202 "upload 3"
expect_eq "$(up 单独一课)" 202 "upload 4"
for j in 1 2 3 4; do wait_job $j done; done
ok "four uploads, three in a course"

item() { # item ID JQ: one field of GET /lessons/ID
    expect_eq "$(api GET "/api/v1/lessons/$1")" 200 "GET lesson $1"
    resp "$2"
}
expect_eq "$(item 3 '[.course.index, .course.count, .next] | @csv')" \
    '1,3,1' "lesson 3: first of three, next 1"
expect_eq "$(item 1 '[.course.index, .course.count, .next] | @csv')" \
    '2,3,2' "lesson 1: second, next 2"
expect_eq "$(item 2 '[.course.index, .course.count, .next] | @csv')" \
    '3,3,' "lesson 2: last, next null"
expect_eq "$(item 2 '.next')" null "the last lesson's next is null"
expect_eq "$(item 3 '.course.title')" 森林防火 "course title in the item"
expect_eq "$(item 4 'has("course")')" false "no course object without one"
expect_eq "$(item 4 '.next')" null "no next without a course"
ok "course place and next in /lessons/{id}"

api GET /api/v1/lessons >/dev/null
jq -e '[.items[] | has("next")] | all' "$YL_TMPDIR/resp.json" >/dev/null ||
    fail "every list item has next: $(cat "$YL_TMPDIR/resp.json")"
expect_eq "$(resp '[.items[] | select(.course) | "\(.id):\(.course.index)"]
    | join(",")')" '3:1,2:3,1:2' "list items carry their course place"
ok "course and next in /lessons"

expect_eq "$(api GET /api/v1/courses)" 200 "GET /courses"
expect_eq "$(resp '[.total, .items[0].id, .items[0].count, .items[0].first,
    .items[0].owner] | @csv')" '1,1,3,3,"53"' "the course list"
expect_eq "$(resp '.items[0].thumb')" /hls/3/thumb.jpg "course card thumb"
expect_eq "$(api GET /api/v1/courses/1)" 200 "GET /courses/1"
expect_eq "$(resp '[.lessons[].id] | @csv')" '3,1,2' "lessons in course order"
expect_eq "$(resp '.lessons[0].course.id')" 1 "lesson items in the course"
expect_eq "$(api GET /api/v1/courses/99)" 404 "unknown course"
expect_eq "$(resp .error.code)" not_found "unknown course code"
expect_eq "$(api GET /api/v1/courses/x)" 404 "a course id that is no number"
expect_eq "$(api GET '/api/v1/courses?page=0')" 400 "courses page=0"
expect_match "$(resp .error.message)" '^page:' "page named"
expect_eq "$(api POST /api/v1/courses "${AUTH[@]}")" 405 "POST /courses"
ok "/api/v1/courses and /courses/{id}"

# --- bad course fields: 400 naming the field, nothing kept
n_lessons=$(db "SELECT count(*) FROM lessons")
n_courses=$(db "SELECT count(*) FROM courses")
bad() { # bad WHAT REGEX [curl -F args...]
    local what=$1 re=$2
    shift 2
    expect_eq "$(up 坏 "$@")" 400 "$what"
    expect_eq "$(resp .error.code)" invalid_upload "$what: code"
    expect_match "$(resp .error.message)" "$re" "$what: message"
}
bad "unknown course id" '^course: unknown course 99$' -F course=99
bad "negative index" '^course_index: "-1" is not an integer' \
    -F course=森林防火 -F course_index=-1
bad "index 0" '^course_index: "0"' -F course=森林防火 -F course_index=0
bad "index not a number" '^course_index: "abc"' \
    -F course=森林防火 -F course_index=abc
bad "index too large" '^course_index:' -F course=森林防火 \
    -F course_index=10001
bad "index without a course" '^course_index: given without a course' \
    -F course_index=2
bad "course as a file" '^course: must be a text field' \
    -F "course=@$YL_TMPDIR/src.mp4"
bad "empty course" '^course: empty' -F course=
bad "course twice" '^course: given twice' -F course=森林防火 -F course=1
bad "index twice" '^course_index: given twice' -F course=1 \
    -F course_index=1 -F course_index=2
expect_eq "$(db "SELECT count(*) FROM lessons")" "$n_lessons" \
    "refused uploads made no lesson"
expect_eq "$(db "SELECT count(*) FROM courses")" "$n_courses" \
    "refused uploads made no course"
ok "bad course fields → 400 naming the field, nothing kept"

# --- scope: a prefecture admin cannot add to the province's course; the
# same title from it is its own course
st=$(api POST /api/v1/lessons -H "Authorization: Bearer $DALI" "${SRC[@]}" \
    -F title.zh=大理课 -F course=1)
expect_eq "$st" 403 "another region's course"
expect_match "$(resp .error.message)" '^course: course 1 belongs to region 53' \
    "403 names the course and region"
st=$(api POST /api/v1/lessons -H "Authorization: Bearer $DALI" "${SRC[@]}" \
    -F title.zh=大理课 -F course=森林防火)
expect_eq "$st" 202 "the same title from Dali"
lid=$(resp .lesson)
expect_eq "$(db "SELECT c.owner_id FROM lessons l JOIN courses c ON
    c.id = l.course_id WHERE l.id = $lid")" 5329 "Dali's own course"
expect_eq "$(db "SELECT count(*) FROM courses")" 2 "a second course"
ok "course scope: 403 outside the region, own course by title"

# --- by id at an index: inserted in between; a deleted lesson leaves no
# hole; a pending lesson does not count for anonymous readers
expect_eq "$(up 插入 -F course=1 -F course_index=2)" 202 "insert by id"
ins=$(resp .lesson)
wait_job "$(resp .job)" done
expect_eq "$(item 3 .next)" "$ins" "3 → inserted"
expect_eq "$(item "$ins" '[.course.index, .course.count, .next] | @csv')" \
    "2,4,1" "inserted lesson second of four, next 1"
expect_eq "$(code -X DELETE "${AUTH[@]}" "$BASE/api/v1/lessons/1")" 200 \
    "delete lesson 1"
expect_eq "$(item "$ins" '[.course.index, .course.count, .next] | @csv')" \
    "2,3,2" "after the delete: next skips it"
api GET /api/v1/courses/1 >/dev/null
expect_eq "$(resp '[.lessons[].id] | @csv')" "3,$ins,2" "course order now"
ok "insert by id at an index; delete leaves no hole"

# --- POST /api/v1/lessons/{id}/course: move, reorder, leave; bad bodies
cset() { # cset ID JSON [token]: prints the status
    api POST "/api/v1/lessons/$1/course" \
        -H "Authorization: Bearer ${3:-$ADMIN}" \
        -H 'Content-Type: application/json' -d "$2"
}
# Course 1 is now 3, $ins, 2; lesson 4 (in no course) joins it first.
expect_eq "$(cset 4 '{"course":1,"index":1}')" 200 "lesson 4 into course 1"
expect_eq "$(resp '[.id, .course.id, .course.index, .course.count, .next]
    | @csv')" "4,1,1,4,3" "the answer is the lesson item"
api GET /api/v1/courses/1 >/dev/null
expect_eq "$(resp '[.lessons[].id] | @csv')" "4,3,$ins,2" "order after join"
# Move lesson 2 (last) to the front, by title; then out of any course.
expect_eq "$(cset 2 '{"course":"森林防火","index":1}')" 200 "reorder"
api GET /api/v1/courses/1 >/dev/null
expect_eq "$(resp '[.lessons[].id] | @csv')" "2,4,3,$ins" "order after move"
expect_eq "$(cset 4 '{"course":null}')" 200 "leave the course"
expect_eq "$(resp 'has("course")')" false "no course after leaving"
expect_eq "$(resp .next)" null "no next after leaving"
expect_eq "$(item 2 .next)" 3 "the course closes the gap"
# A new course by title, appended (no index).
expect_eq "$(cset 4 '{"course":"草果种植"}')" 200 "a new course by title"
expect_eq "$(resp '[.course.title, .course.index, .course.count] | @csv')" \
    '"草果种植",1,1' "alone in its new course"
ok "POST /lessons/{id}/course: join, reorder, leave, new course"

badset() { # badset WHAT STATUS REGEX ID JSON [token]
    expect_eq "$(cset "$4" "$5" "${6:-$ADMIN}")" "$2" "$1"
    expect_match "$(resp .error.message)" "$3" "$1: message"
}
before=$(db "SELECT group_concat(id || ':' || ifnull(course_id, '-') || ':' ||
    ifnull(course_index, '-')) FROM lessons")
badset "unknown course id" 400 '^course: unknown course 99$' 2 '{"course":99}'
badset "negative index" 400 '^index: want an integer in 1\.\.10000$' 2 \
    '{"course":1,"index":-1}'
badset "index as a string" 400 '^index:' 2 '{"course":1,"index":"2"}'
badset "index as a float" 400 '^index:' 2 '{"course":1,"index":1.5}'
badset "course as a float" 400 '^course: want a course id' 2 '{"course":1.5}'
badset "course as an array" 400 '^course: want' 2 '{"course":[1]}'
badset "course 0" 400 '^course: want' 2 '{"course":0}'
badset "empty title" 400 '^course: want' 2 '{"course":""}'
badset "no course" 400 '^course: missing' 2 '{"index":2}'
badset "index with null" 400 '^index: given with' 2 \
    '{"course":null,"index":2}'
badset "unknown field" 400 '^order: unknown field' 2 '{"course":1,"order":2}'
badset "not an object" 400 '^body: want an object' 2 '[1]'
badset "not JSON" 400 '^body is not JSON' 2 '{"course":'
expect_eq "$(resp .error.code)" malformed_json "not JSON: code"
badset "unknown lesson" 404 '^no lesson 999$' 999 '{"course":1}'
badset "deleted lesson" 404 '^no lesson 1$' 1 '{"course":1}'
expect_eq "$(api POST /api/v1/lessons/2/course -H 'Content-Type: application/json' \
    -d '{"course":1}')" 401 "anonymous"
badset "site token" 403 'admin token' 2 '{"course":1}' "$SITE"
badset "outside the lesson's region" 403 "belongs to region 53" 2 \
    '{"course":1}' "$DALI"
expect_eq "$(db "SELECT group_concat(id || ':' || ifnull(course_id, '-') || ':' ||
    ifnull(course_index, '-')) FROM lessons")" "$before" \
    "refused changes changed nothing"
ok "bad course changes → 400/401/403/404 naming the field, nothing changed"
