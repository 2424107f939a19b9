#!/usr/bin/env bash
# The small-file cache (str_fcache): a settled playlist is served from
# memory with the same bytes, validators, ranges and 304s as from disk; a
# change on disk is seen within the cache's 1 s check interval; a file
# still being written (changed in the last 2 s, as a live playlist is) is
# never cached; a replaced lesson directory is noticed.
. "$(dirname "$0")/lib.sh"

L=$DATA/hls/9
make_hls "$L"
touch -d '1 minute ago' "$L/v0/index.m3u8" "$L/master.m3u8"
# --init: hls/ was seeded by hand before any catalog existed.
start_server --init
U=$BASE/hls/9/v0/index.m3u8
hits() { curl -s "$BASE/metrics" | sed -n 's/^yunling_file_cache_hits_total //p'; }

curl -s -D "$YL_TMPDIR/h1" -o "$YL_TMPDIR/b1" "$U"
h0=$(hits)
curl -s -D "$YL_TMPDIR/h2" -o "$YL_TMPDIR/b2" "$U"
expect_eq "$(hits)" "$((h0 + 1))" "second GET served from the cache"
cmp -s "$YL_TMPDIR/b2" "$L/v0/index.m3u8" || fail "cached body differs from the file"
for hd in etag last-modified content-type cache-control content-length; do
    expect_eq "$(hval "$YL_TMPDIR/h2" $hd)" "$(hval "$YL_TMPDIR/h1" $hd)" "cached $hd"
done
ETAG=$(hval "$YL_TMPDIR/h2" etag)
expect_eq "$(code -H "If-None-Match: $ETAG" "$U")" 304 "If-None-Match on a cached file"
curl -s -D "$YL_TMPDIR/h3" -o "$YL_TMPDIR/b3" -H 'Range: bytes=10-29' "$U"
expect_eq "$(head -1 "$YL_TMPDIR/h3" | cut -d' ' -f2)" 206 "range on a cached file"
cmp -s "$YL_TMPDIR/b3" <(dd if="$L/v0/index.m3u8" bs=1 skip=10 count=20 2>/dev/null) ||
    fail "cached range bytes"
curl -s -I "$U" | grep -qi '^content-length: '"$(stat -c %s "$L/v0/index.m3u8")" ||
    fail "HEAD on a cached file"
ok "cached playlist: same bytes and headers, 304, 206, HEAD"

# within MS CMD...: CMD succeeds within MS milliseconds (tried every
# 0.1 s, and once more at the deadline), instead of a sleep of MS first.
within() {
    local end=$(($(date +%s%3N) + $1))
    shift
    until "$@"; do
        [ "$(date +%s%3N)" -lt "$end" ] || { "$@"; return; }
        sleep 0.1
    done
}
same_body() { cmp -s <(curl -s "$1") "$2"; }
body_has() { curl -s "$1" | grep -q "$2"; }
status_is() { [ "$(code "$1")" = "$2" ]; }

# A change on disk (same name, other content, mtime in the past) is served
# within the check interval.
printf '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-ENDLIST\n' >"$L/v0/index.m3u8.new"
touch -d '30 seconds ago' "$L/v0/index.m3u8.new"
mv "$L/v0/index.m3u8.new" "$L/v0/index.m3u8"
within 1200 same_body "$U" "$L/v0/index.m3u8" || fail "changed playlist not seen after 1.2 s"
ok "a changed file is seen after the check interval"

# A file written just now is not cached (a live playlist).
echo '#EXTM3U' >"$L/live.m3u8"
curl -s -o /dev/null "$BASE/hls/9/live.m3u8"
h0=$(hits)
for i in 1 2 3; do
    echo "#EXT-X-MEDIA-SEQUENCE:$i" >>"$L/live.m3u8"
    cmp -s <(curl -s "$BASE/hls/9/live.m3u8") "$L/live.m3u8" ||
        fail "live playlist: stale body after write $i"
done
expect_eq "$(hits)" "$h0" "a fresh file was served from the cache"
ok "a file changed in the last 2 s is read afresh every time"

# The lesson directory replaced (a republish): old entries do not survive.
curl -s -o /dev/null "$BASE/hls/9/master.m3u8"
curl -s -o /dev/null "$BASE/hls/9/master.m3u8"
mkdir -p "$DATA/hls/9.new"
printf '#EXTM3U\n#EXT-X-VERSION:7\n# republished\n' >"$DATA/hls/9.new/master.m3u8"
touch -d '1 minute ago' "$DATA/hls/9.new/master.m3u8"
mv "$DATA/hls/9" "$DATA/hls/9.old"
mv "$DATA/hls/9.new" "$DATA/hls/9"
within 1200 body_has "$BASE/hls/9/master.m3u8" '^# republished' ||
    fail "the replaced master.m3u8 was not seen within 1.2 s"
rm -rf "$DATA/hls/9"
within 1200 status_is "$BASE/hls/9/master.m3u8" 404
expect_eq "$(code "$BASE/hls/9/master.m3u8")" 404 "removed lesson (within 1.2 s)"
ok "a replaced or removed directory is noticed"
stop_server
