#!/usr/bin/env bash
# POST /api/v1/lessons/{id}: the console edits a lesson's titles and
# category (admin of the lesson's region).
. "$(dirname "$0")/lib.sh"

setup_catalog
cat >"$YL_TMPDIR/y.ini" <<'INI'
[server]
job_attempts = 1
INI
printf 'this is not a video\n' >"$YL_TMPDIR/bad.mp4"
start_server --config "$YL_TMPDIR/y.ini"
A=(-H "Authorization: Bearer $ADMIN")
expect_eq "$(api POST /api/v1/lessons "${A[@]}" -F "source=@$YL_TMPDIR/bad.mp4" \
    -F title.zh=旧标题 -F category=农业)" 202 "upload"
L=$(resp .lesson)

expect_eq "$(api POST "/api/v1/lessons/$L" -d '{"category":"党建"}')" 401 "anonymous"
expect_eq "$(api POST "/api/v1/lessons/$L" -H "Authorization: Bearer $DALI" \
    -d '{"category":"党建"}')" 403 "a prefecture admin edits the province's lesson"
expect_eq "$(api POST /api/v1/lessons/999 "${A[@]}" -d '{"category":"党建"}')" 404 \
    "an unknown lesson"
expect_eq "$(api POST "/api/v1/lessons/$L" "${A[@]}" -d 'nope')" 400 "not JSON"
expect_eq "$(api POST "/api/v1/lessons/$L" "${A[@]}" \
    -d '{"titles":{"x y":"t"}}')" 400 "a bad language tag"
expect_eq "$(api POST "/api/v1/lessons/$L" "${A[@]}" \
    -d '{"titles":{"zh":null}}')" 400 "removing the last title"
expect_match "$(resp .error.message)" "at least one title" "message"
expect_eq "$(api POST "/api/v1/lessons/$L" "${A[@]}" \
    -d '{"titles":{"zh":""}}')" 400 "an empty title"
ok "edit: 401, 403, 404, 400 (JSON, tag, last title, empty)"

expect_eq "$(api POST "/api/v1/lessons/$L" "${A[@]}" \
    -d '{"titles":{"zh":"新标题","bod":"སློབ་ཚན།"},"category":"党建"}')" 200 "edit"
expect_eq "$(resp '.titles.zh')" 新标题 "new Mandarin title"
expect_eq "$(resp '.titles.bo')" སློབ་ཚན། "a Tibetan title (bod → bo)"
expect_eq "$(resp .category)" 党建 "new category"
expect_eq "$(api POST "/api/v1/lessons/$L" "${A[@]}" \
    -d '{"titles":{"bo":null},"category":null}')" 200 "remove a title, clear the category"
expect_eq "$(resp '.titles | keys | join(",")')" zh "the Tibetan title removed"
expect_eq "$(resp .category)" null "category cleared"
expect_eq "$(db "SELECT count(*) FROM lesson_titles_fts WHERE lesson_titles_fts MATCH '新标题'")" 1 \
    "the search index follows"
ok "edit: titles added, changed, removed; category set and cleared"
stop_server
