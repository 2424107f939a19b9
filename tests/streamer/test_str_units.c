/* test_str_units.c - the streamer's pure parts: ranges, entity tags, HTTP
 * dates, MIME and cache classes, path checks, and the multipart parser fed
 * in every possible split. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "streamer/str_api.h"
#include "streamer/str_child.h"
#include "streamer/str_fanout.h"
#include "streamer/str_fcache.h"
#include "streamer/str_h1.h"
#include "streamer/str_httputil.h"
#include "streamer/str_multipart.h"
#include "streamer/str_path.h"
#include "streamer/str_route.h"

static void range_forms(void **state)
{
    int64_t a = -1, b = -1;
    (void)state;

    assert_int_equal(str_range_parse("bytes=0-99", 1000, &a, &b), STR_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 99);
    assert_int_equal(str_range_parse("bytes=990-", 1000, &a, &b), STR_RANGE_OK);
    assert_int_equal(a, 990);
    assert_int_equal(b, 999);
    assert_int_equal(str_range_parse("bytes=-10", 1000, &a, &b), STR_RANGE_OK);
    assert_int_equal(a, 990);
    assert_int_equal(b, 999);
    /* a suffix longer than the file is the whole file */
    assert_int_equal(str_range_parse("bytes=-5000", 1000, &a, &b),
                     STR_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 999);
    /* last beyond the end is clamped */
    assert_int_equal(str_range_parse("bytes=500-5000", 1000, &a, &b),
                     STR_RANGE_OK);
    assert_int_equal(b, 999);
    assert_int_equal(str_range_parse(" bytes = 1-1", 1000, &a, &b),
                     STR_RANGE_OK);
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
}

static void range_refused(void **state)
{
    int64_t a, b;
    (void)state;

    assert_int_equal(str_range_parse("bytes=1000-", 1000, &a, &b),
                     STR_RANGE_UNSAT);
    assert_int_equal(str_range_parse("bytes=-0", 1000, &a, &b),
                     STR_RANGE_UNSAT);
    assert_int_equal(str_range_parse("bytes=0-", 0, &a, &b), STR_RANGE_UNSAT);
    /* ignored: several ranges, other units, junk, inverted */
    assert_int_equal(str_range_parse("bytes=0-1,5-6", 1000, &a, &b),
                     STR_RANGE_NONE);
    assert_int_equal(str_range_parse("items=0-1", 1000, &a, &b),
                     STR_RANGE_NONE);
    assert_int_equal(str_range_parse("bytes=x-1", 1000, &a, &b),
                     STR_RANGE_NONE);
    assert_int_equal(str_range_parse("bytes=9-1", 1000, &a, &b),
                     STR_RANGE_NONE);
    assert_int_equal(str_range_parse("bytes=", 1000, &a, &b), STR_RANGE_NONE);
    assert_int_equal(str_range_parse(NULL, 1000, &a, &b), STR_RANGE_NONE);
}

/* Offsets past INT64_MAX mean "beyond the end", not bad syntax. */
static void range_huge_numbers(void **state)
{
    int64_t a = -1, b = -1;
    (void)state;

    assert_int_equal(
        str_range_parse("bytes=0-99999999999999999999", 1000, &a, &b),
        STR_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 999);
    assert_int_equal(
        str_range_parse("bytes=10-9223372036854775807", 1000, &a, &b),
        STR_RANGE_OK);
    assert_int_equal(a, 10);
    assert_int_equal(b, 999);
    assert_int_equal(
        str_range_parse("bytes=5-9223372036854775808", 1000, &a, &b),
        STR_RANGE_OK);
    assert_int_equal(b, 999);
    assert_int_equal(
        str_range_parse("bytes=99999999999999999999-", 1000, &a, &b),
        STR_RANGE_UNSAT);
    assert_int_equal(
        str_range_parse("bytes=9223372036854775807-", 1000, &a, &b),
        STR_RANGE_UNSAT);
    assert_int_equal(
        str_range_parse("bytes=99999999999999999999-99999999999999999999", 1000,
                        &a, &b),
        STR_RANGE_UNSAT);
    /* a suffix longer than any file: the whole file */
    assert_int_equal(
        str_range_parse("bytes=-99999999999999999999", 1000, &a, &b),
        STR_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 999);
    /* still inverted when the first is huge and the last is not */
    assert_int_equal(
        str_range_parse("bytes=99999999999999999999-5", 1000, &a, &b),
        STR_RANGE_NONE);
}

static void etags(void **state)
{
    struct stat st;
    char tag[STR_ETAG_MAX], other[STR_ETAG_MAX];
    (void)state;

    memset(&st, 0, sizeof(st));
    st.st_size = 300000;
    st.st_mtim.tv_sec = 1700000000;
    st.st_mtim.tv_nsec = 5;
    st.st_ino = 42;
    str_etag_make(&st, tag, sizeof(tag));
    assert_int_equal(tag[0], '"');
    assert_int_equal(tag[strlen(tag) - 1], '"');
    st.st_mtim.tv_nsec = 6; /* same second, other content */
    str_etag_make(&st, other, sizeof(other));
    assert_string_not_equal(tag, other);

    assert_true(str_etag_match_list(tag, tag));
    assert_true(str_etag_match_list("*", tag));
    {
        char list[200], weak[100];

        snprintf(list, sizeof(list), "\"x\", %s", tag);
        assert_true(str_etag_match_list(list, tag));
        snprintf(weak, sizeof(weak), "W/%s", tag);
        assert_true(str_etag_match_list(weak, tag));
    }
    assert_false(str_etag_match_list(other, tag));
    assert_false(str_etag_match_list("", tag));
    assert_false(str_etag_match_list("\"1-2-3\"", tag));
}

static void dates(void **state)
{
    char buf[STR_HTTP_DATE_MAX];
    time_t t;
    (void)state;

    str_http_date(784111777, buf, sizeof(buf));
    assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(str_http_date_parse(buf, &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(str_http_date_parse("yesterday", &t), -1);
    assert_int_equal(str_http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", &t),
                     -1);
}

static void mime_and_cache(void **state)
{
    (void)state;
    assert_string_equal(str_mime_for("master.m3u8"),
                        "application/vnd.apple.mpegurl");
    assert_string_equal(str_mime_for("v0/seg_00001.m4s"), "video/iso.segment");
    assert_string_equal(str_mime_for("v0/init.mp4"), "video/mp4");
    assert_string_equal(str_mime_for("v0/seg_00001.TS"), "video/mp2t");
    assert_string_equal(str_mime_for("s-bo/subs.vtt"),
                        "text/vtt; charset=utf-8");
    assert_string_equal(str_mime_for("poster.jpg"), "image/jpeg");
    assert_string_equal(str_mime_for("app.js"),
                        "text/javascript; charset=utf-8");
    assert_string_equal(str_mime_for("f.woff2"), "font/woff2");
    assert_string_equal(str_mime_for("a.dir/noext"),
                        "application/octet-stream");
    assert_int_equal(str_cache_class_hls("v0/seg_00001.m4s"),
                     STR_CACHE_IMMUTABLE);
    assert_int_equal(str_cache_class_hls("v0/init.mp4"), STR_CACHE_IMMUTABLE);
    assert_int_equal(str_cache_class_hls("v0/index.m3u8"), STR_CACHE_PLAYLIST);
    assert_int_equal(str_cache_class_hls("poster.jpg"), STR_CACHE_SHORT);
    assert_int_equal(str_cache_class_web("index.html"), STR_CACHE_REVALIDATE);
    assert_int_equal(str_cache_class_web("sw.js"), STR_CACHE_REVALIDATE);
    assert_int_equal(str_cache_class_web("/sw.js"), STR_CACHE_REVALIDATE);
    assert_int_equal(str_cache_class_web("js/main.js"), STR_CACHE_SHORT);
    assert_string_equal(str_cache_control(STR_CACHE_IMMUTABLE),
                        "public, max-age=31536000, immutable");
    /* Live playlists: the edge keeps one a second, the browser none. */
    assert_string_equal(str_cache_control(STR_CACHE_LIVE),
                        "public, max-age=0, s-maxage=1");
}

static void path_checks(void **state)
{
    (void)state;
    assert_int_equal(str_path_check("7/master.m3u8"), 0);
    assert_int_equal(str_path_check("7/v0/seg_00000.m4s"), 0);
    assert_int_equal(str_path_check("../x"), -EACCES);
    assert_int_equal(str_path_check("7/../../x"), -EACCES);
    assert_int_equal(str_path_check("7/.."), -EACCES);
    assert_int_equal(str_path_check("/etc/passwd"), -EACCES);
    assert_int_equal(str_path_check("7//x"), -EACCES);
    assert_int_equal(str_path_check(".job-3/master.m3u8"), -EACCES);
    assert_int_equal(str_path_check("7/.hidden"), -EACCES);
    assert_int_equal(str_path_check("7\\..\\x"), -EACCES);
    assert_int_equal(str_path_check("7/a\x01"), -EACCES);
    assert_int_equal(str_path_check("7/"), -EACCES);
    assert_int_equal(str_path_check(""), -EACCES);
}

static void path_open_beneath(void **state)
{
    char root[] = "/tmp/yl-str-path-XXXXXX", p[4200], real[4096];
    struct stat st;
    int dfd, fd;
    (void)state;

    assert_non_null(mkdtemp(root));
    assert_non_null(realpath(root, real));
    snprintf(p, sizeof(p), "%s/in.txt", real);
    fd = open(p, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hi", 2), 2);
    close(fd);
    snprintf(p, sizeof(p), "%s/out", real);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof(p), "%s/up", real);
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof(p), "%s/same", real);
    assert_int_equal(symlink("in.txt", p), 0);
    dfd = open(real, O_PATH | O_DIRECTORY);
    assert_true(dfd >= 0);

    fd = str_path_open(dfd, real, "in.txt", &st);
    assert_true(fd >= 0);
    assert_int_equal(st.st_size, 2);
    close(fd);
    fd = str_path_open(dfd, real, "same", &st); /* a link inside: fine */
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(str_path_open(dfd, real, "out", &st), -EACCES);
    assert_int_equal(str_path_open(dfd, real, "up/etc/passwd", &st), -EACCES);
    assert_int_equal(str_path_open(dfd, real, "nope", &st), -ENOENT);
    close(dfd);
    snprintf(p, sizeof(p), "rm -rf '%s'", real);
    assert_int_equal(system(p), 0);
}

/* ---- multipart ---- */

typedef struct mp_rec {
    char log[4096];
    size_t len;
    int parts;
    int fail_at_part; /* part_begin returns an error for this part */
} mp_rec;

static void rec(mp_rec *r, const char *s, size_t n)
{
    assert_true(r->len + n < sizeof(r->log));
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static int cb_begin(void *ud, const char *name, const char *file,
                    const char *ct)
{
    mp_rec *r = ud;
    char b[512];
    int n;

    r->parts++;
    if (r->fail_at_part == r->parts)
        return -EPERM;
    n = snprintf(b, sizeof(b), "<%s|%s|%s>", name, file ? file : "-",
                 ct ? ct : "-");
    rec(r, b, (size_t)n);
    return 0;
}

static int cb_data(void *ud, const char *d, size_t n)
{
    rec(ud, d, n);
    return 0;
}

static int cb_end(void *ud)
{
    rec(ud, "</>", 3);
    return 0;
}

static const str_mp_cbs cbs = {cb_begin, cb_data, cb_end};

static const char body1[] =
    "preamble\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title.zh\"\r\n"
    "\r\n"
    "\xe5\xad\xa6\xe4\xb9\xa0\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"source\"; "
    "filename=\"a \\\"b\\\".mp4\"\r\n"
    "Content-Type: video/mp4\r\n"
    "\r\n"
    "\r\n--Xy\r\r\n-XyZ\r--XyZ\n--XyZ\r\n"
    "--XyZ  \r\n"
    "content-disposition: form-data; name=empty\r\n"
    "\r\n"
    "\r\n"
    "--XyZ--\r\n"
    "epilogue";

static const char want1[] =
    "<title.zh|-|->\xe5\xad\xa6\xe4\xb9\xa0</>"
    "<source|a \"b\".mp4|video/mp4>\r\n--Xy\r\r\n-XyZ\r--XyZ\n--XyZ</>"
    "<empty|-|-></>";

static void mp_every_split(void **state)
{
    size_t len = sizeof(body1) - 1, cut, cut2;
    (void)state;

    /* One, two and three pieces at every position give the same parts. */
    for (cut = 0; cut <= len; cut++) {
        for (cut2 = cut; cut2 <= len; cut2 += (cut2 < cut + 3 ? 1 : 17)) {
            mp_rec r;
            str_mp *mp = NULL;

            memset(&r, 0, sizeof(r));
            assert_int_equal(str_mp_new("XyZ", &cbs, &r, &mp), 0);
            assert_int_equal(str_mp_feed(mp, body1, cut), 0);
            assert_int_equal(str_mp_feed(mp, body1 + cut, cut2 - cut), 0);
            assert_int_equal(str_mp_feed(mp, body1 + cut2, len - cut2), 0);
            assert_int_equal(str_mp_finish(mp), 0);
            assert_string_equal(r.log, want1);
            assert_int_equal(str_mp_parts(mp), 3);
            str_mp_free(mp);
        }
    }
}

static void mp_truncated(void **state)
{
    size_t len = sizeof(body1) - 1, cut;
    (void)state;

    /* Every strict prefix that stops before the closing "--" is
     * truncated. */
    for (cut = 0; cut < len - strlen("\r\nepilogue"); cut++) {
        mp_rec r;
        str_mp *mp = NULL;

        memset(&r, 0, sizeof(r));
        assert_int_equal(str_mp_new("XyZ", &cbs, &r, &mp), 0);
        assert_int_equal(str_mp_feed(mp, body1, cut), 0);
        assert_int_equal(str_mp_finish(mp), YL_ETRUNC);
        assert_non_null(strstr(str_mp_error(mp), "closing boundary"));
        str_mp_free(mp);
    }
}

static void mp_malformed(void **state)
{
    static const char *const bad[] = {
        /* no Content-Disposition */
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
        /* not form-data */
        "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nx\r\n--b--",
        /* no name */
        "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
        /* junk after the boundary */
        "--bjunk\r\n",
        /* header line without a colon */
        "--b\r\nno colon here\r\n\r\nx\r\n--b--",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mp_rec r;
        str_mp *mp = NULL;
        int rc;

        memset(&r, 0, sizeof(r));
        assert_int_equal(str_mp_new("b", &cbs, &r, &mp), 0);
        rc = str_mp_feed(mp, bad[i], strlen(bad[i]));
        if (rc == 0)
            rc = str_mp_finish(mp);
        assert_int_equal(rc, YL_EINVAL);
        assert_true(str_mp_error(mp)[0] != '\0');
        str_mp_free(mp);
    }
}

/* Header fields seen by the framing callbacks, joined "name:value;". */
typedef struct h1_rec {
    char fields[256];
    int done;
} h1_rec;

static int h1_nop(void *ud)
{
    (void)ud;
    return 0;
}

static int h1_data(void *ud, const char *at, size_t len)
{
    (void)ud;
    (void)at;
    (void)len;
    return 0;
}

static int h1_put(void *ud, const char *at, size_t len, char sep)
{
    h1_rec *r = ud;
    size_t n = strlen(r->fields);

    snprintf(r->fields + n, sizeof(r->fields) - n, "%.*s%c", (int)len, at, sep);
    return 0;
}

static int h1_field(void *ud, const char *at, size_t len)
{
    return h1_put(ud, at, len, ':');
}

static int h1_value(void *ud, const char *at, size_t len)
{
    return h1_put(ud, at, len, ';');
}

static int h1_done(void *ud)
{
    ((h1_rec *)ud)->done++;
    return 0;
}

/* Found by fuzz_h1: the trailer fields of a chunked body came through the
 * header callbacks after the head, and str_conn.c added them to the
 * request's headers. */
static void h1_trailers_dropped(void **state)
{
    static const char req[] = "POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "2\r\n{}\r\n0\r\n"
                              "Authorization: Bearer x\r\n\r\n";
    static const str_h1_cb cb = {h1_nop, h1_data, h1_field, h1_value,
                                 h1_nop, h1_data, h1_done};
    h1_rec r;
    str_h1 *h;
    int err;
    (void)state;

    memset(&r, 0, sizeof(r));
    h = str_h1_new(&cb, &r);
    assert_non_null(h);
    assert_int_equal(str_h1_execute(h, req, sizeof(req) - 1, &err),
                     sizeof(req) - 1);
    assert_int_equal(err, STR_H1_OK);
    assert_int_equal(r.done, 1);
    assert_string_equal(r.fields, "Host:x;Transfer-Encoding:chunked;");
    str_h1_free(h);
}

/* The query lookup behind str_req_query() (moved out of str_conn.c so
 * fuzz_query can reach it). */
static void query_get(void **state)
{
    char b[8];
    (void)state;

    assert_int_equal(str_query_get("a=1&q=x+y%21&q=2", "q", b, sizeof(b)), 4);
    assert_string_equal(b, "x y!");
    assert_int_equal(str_query_get("qq=1&q", "q", b, sizeof(b)), -1);
    assert_int_equal(str_query_get("q=%00", "q", b, sizeof(b)), -3);
    assert_int_equal(str_query_get("q=12345678", "q", b, sizeof(b)), -2);
    assert_int_equal(str_query_get("q=", "q", b, 0), -2);
    assert_int_equal(str_query_get("", "q", b, sizeof(b)), -1);
}

static void mp_handler_stops(void **state)
{
    static const char b[] = "--b\r\nContent-Disposition: form-data; "
                            "name=\"x\"\r\n\r\nx\r\n--b--";
    mp_rec r;
    str_mp *mp = NULL;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.fail_at_part = 1;
    assert_int_equal(str_mp_new("b", &cbs, &r, &mp), 0);
    assert_int_equal(str_mp_feed(mp, b, sizeof(b) - 1), -EPERM);
    /* a failed parser stays failed */
    assert_int_equal(str_mp_feed(mp, "x", 1), YL_EINVAL);
    assert_int_equal(str_mp_feed(mp, "", 0), YL_EINVAL); /* fuzz_multipart */
    assert_int_equal(str_mp_finish(mp), YL_EINVAL);
    str_mp_free(mp);
}

static void mp_boundary_param(void **state)
{
    char b[80];
    (void)state;

    assert_int_equal(
        str_mp_boundary("multipart/form-data; boundary=----abc", b, sizeof(b)),
        0);
    assert_string_equal(b, "----abc");
    assert_int_equal(str_mp_boundary("multipart/form-data; charset=utf-8; "
                                     "boundary=\"q r\"",
                                     b, sizeof(b)),
                     0);
    assert_string_equal(b, "q r");
    assert_int_equal(str_mp_boundary("application/json", b, sizeof(b)),
                     YL_EINVAL);
    assert_int_equal(str_mp_boundary("multipart/form-data", b, sizeof(b)),
                     YL_EINVAL);
    assert_int_equal(
        str_mp_boundary("multipart/form-data; boundary=", b, sizeof(b)),
        YL_EINVAL);
    assert_int_equal(str_mp_boundary(NULL, b, sizeof(b)), YL_EINVAL);
}

/* The small-file cache: settled files only, TTL, LRU budget, drops. */
static struct stat fake_stat(ino_t ino, off_t size, time_t mtime)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFREG | 0644;
    st.st_ino = ino;
    st.st_size = size;
    st.st_mtim.tv_sec = mtime;
    return st;
}

/* Messages shown through the API lose the data directory's prefix, as
 * configured and as realpath, but only where a path starts. */
static void job_relpaths(void **state)
{
    char dir[] = "/tmp/yl-rel-XXXXXX", in[512], out[512], want[512];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(in, sizeof(in),
             "%s/uploads/3/source.mp4: not a media file (rename %s/hls/.job-3 "
             "-> %s//hls/3; x%s/y)",
             dir, dir, dir, dir);
    snprintf(want, sizeof(want),
             "uploads/3/source.mp4: not a media file (rename hls/.job-3 -> "
             "/hls/3; x%s/y)",
             dir);
    str_jobs_relpaths(dir, in, out, sizeof(out));
    assert_string_equal(out, want);
    str_jobs_relpaths("/tmp/../tmp/", in, out, sizeof(out)); /* realpath */
    /* "/tmp/" is stripped where a path starts; "x/tmp/..." stays */
    assert_int_equal(strncmp(out, dir + 5, strlen(dir) - 5), 0);
    assert_non_null(strstr(out, "; x/tmp/yl-rel-"));
    str_jobs_relpaths("d", "d/uploads/1/a.mp4: bad/d/x", out, sizeof(out));
    assert_string_equal(out, "uploads/1/a.mp4: bad/d/x");
    str_jobs_relpaths("d", "0123456789", out, 5); /* truncated, terminated */
    assert_string_equal(out, "0123");
    rmdir(dir);
}

static void fcache(void **state)
{
    const int64_t now = 1000 * 1000000LL; /* t = 1000 s */
    str_fcache *c = str_fcache_new(100, 40);
    struct stat a = fake_stat(1, 30, 990), b = fake_stat(2, 30, 990);
    struct stat fresh = fake_stat(3, 10, 999), big = fake_stat(4, 50, 900);
    struct stat dir = fake_stat(5, 10, 900);
    const str_fview *v;
    char data[64];
    bool stale = true;

    (void)state;
    assert_non_null(c);
    memset(data, 'x', sizeof(data));
    dir.st_mode = S_IFDIR | 0755;
    assert_false(str_fcache_wants(c, &fresh, 1000)); /* changed 1 s ago */
    assert_false(str_fcache_wants(c, &big, 1000));   /* over max_file */
    assert_false(str_fcache_wants(c, &dir, 1000));
    assert_true(str_fcache_wants(c, &a, 1000));
    assert_int_equal(
        str_fcache_put(c, "9/v0/index.m3u8", &fresh, data, 10, now, 1000), 0);
    assert_null(str_fcache_get(c, "9/v0/index.m3u8", now, &stale));
    assert_int_equal(str_fcache_put(c, "7/v0/index.m3u8", &a,
                                    "0123456789"
                                    "0123456789"
                                    "0123456789",
                                    30, now, 1000),
                     0);
    v = str_fcache_get(c, "7/v0/index.m3u8", now + 500000, &stale);
    assert_non_null(v);
    assert_false(stale);
    assert_int_equal(v->len, 30);
    assert_memory_equal(v->data, "0123456789", 10);
    assert_string_not_equal(v->etag, "");
    assert_string_equal(v->lastmod, "Thu, 01 Jan 1970 00:16:30 GMT");
    assert_int_equal(str_fcache_hits(c), 1);
    /* After the TTL the caller must check the file again. */
    v = str_fcache_get(c, "7/v0/index.m3u8", now + STR_FCACHE_TTL_US + 1,
                       &stale);
    assert_non_null(v);
    assert_true(stale);
    str_fcache_checked(c, v, now + STR_FCACHE_TTL_US + 1);
    v = str_fcache_get(c, "7/v0/index.m3u8", now + STR_FCACHE_TTL_US + 2,
                       &stale);
    assert_false(stale);
    assert_true(str_fcache_same(&v->st, &a));
    assert_false(str_fcache_same(&v->st, &b));
    /* Budget 100 bytes: a fourth 30-byte file pushes out the least
     * recently used (7/v1 here, since 7/v0 was just read). */
    assert_int_equal(
        str_fcache_put(c, "7/v1/index.m3u8", &b, data, 30, now, 1000), 0);
    assert_int_equal(
        str_fcache_put(c, "8/v0/index.m3u8", &b, data, 30, now, 1000), 0);
    assert_non_null(str_fcache_get(c, "7/v0/index.m3u8", now, &stale));
    assert_int_equal(
        str_fcache_put(c, "8/v1/index.m3u8", &b, data, 30, now, 1000), 0);
    assert_int_equal(str_fcache_bytes(c), 90);
    assert_null(str_fcache_get(c, "7/v1/index.m3u8", now, &stale));
    assert_non_null(str_fcache_get(c, "7/v0/index.m3u8", now, &stale));
    /* A deleted lesson leaves at once; "8/" is not "80/". */
    assert_int_equal(
        str_fcache_put(c, "80/v0/index.m3u8", &dir, data, 10, now, 1000),
        0); /* not a regular file: ignored */
    dir.st_mode = S_IFREG | 0644;
    assert_int_equal(
        str_fcache_put(c, "80/v0/index.m3u8", &dir, data, 9, now, 1000),
        0); /* length is not the file's size: ignored */
    assert_null(str_fcache_get(c, "80/v0/index.m3u8", now, &stale));
    assert_int_equal(
        str_fcache_put(c, "80/v0/index.m3u8", &dir, data, 10, now, 1000), 0);
    str_fcache_drop_prefix(c, "8/");
    assert_null(str_fcache_get(c, "8/v0/index.m3u8", now, &stale));
    assert_null(str_fcache_get(c, "8/v1/index.m3u8", now, &stale));
    assert_non_null(str_fcache_get(c, "80/v0/index.m3u8", now, &stale));
    str_fcache_drop(c, "7/v0/index.m3u8");
    assert_null(str_fcache_get(c, "7/v0/index.m3u8", now, &stale));
    assert_int_equal(str_fcache_bytes(c), 10);
    /* Many entries: the table grows and every one is found. */
    for (int i = 0; i < 3000; i++) {
        struct stat z = fake_stat((ino_t)(100 + i), 0, 900);
        char k[32];

        snprintf(k, sizeof(k), "%d/a/subs.vtt", 100 + i);
        assert_int_equal(str_fcache_put(c, k, &z, data, 0, now, 1000), 0);
    }
    for (int i = 0; i < 3000; i += 7) {
        char k[32];

        snprintf(k, sizeof(k), "%d/a/subs.vtt", 100 + i);
        v = str_fcache_get(c, k, now, &stale);
        assert_non_null(v);
        assert_int_equal(v->st.st_ino, 100 + i);
    }
    str_fcache_free(c);
}

/* ---- the route table ---- */

static int h_a(str_req *r)
{
    (void)r;
    return 1;
}

static int h_b(str_req *r)
{
    (void)r;
    return 2;
}

#define GH (STR_MB(STR_M_GET) | STR_MB(STR_M_HEAD))
static const str_route rt_tab[] = {
    {"/healthz", GH, 0, h_a, NULL, 1},
    {"/api/v1/lessons", GH, 0, h_a, NULL, 2},
    {"/api/v1/lessons", STR_MB(STR_M_POST), 0, h_b, NULL, 2},
    {"/api/v1/lessons/{id}", GH | STR_MB(STR_M_DELETE), 0, h_a, NULL, 2},
    {"/api/v1/sites/{code}", GH, 0, h_b, NULL, 3},
    {"/hls/**", GH, 0, h_a, NULL, 4},
    {"/api/**", GH | STR_MB(STR_M_POST) | STR_MB(STR_M_DELETE), 0, h_b, NULL,
     5},
    {"/**", GH, 0, h_b, NULL, 6},
};
#define RT_N (sizeof(rt_tab) / sizeof(rt_tab[0]))

static void route_matches_literals_ids_codes_and_rests(void **state)
{
    str_route_match m;

    (void)state;
    assert_int_equal(str_route_find(rt_tab, RT_N, "/healthz", STR_M_GET, &m),
                     0);
    assert_ptr_equal(m.route, &rt_tab[0]);
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/lessons", STR_M_POST, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[2]);
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/lessons/42", STR_M_DELETE, &m),
        0);
    assert_ptr_equal(m.route, &rt_tab[3]);
    assert_int_equal(m.id, 42);
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/sites/5329", STR_M_HEAD, &m), 0);
    assert_string_equal(m.arg, "5329");
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/hls/7/v0/seg.m4s", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[5]);
    assert_string_equal(m.arg, "7/v0/seg.m4s");
    assert_int_equal(str_route_find(rt_tab, RT_N, "/", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[7]);
    assert_string_equal(m.arg, "");
}

static void
route_405_lists_the_methods_and_fallbacks_stay_fallbacks(void **state)
{
    str_route_match m;
    char allow[64];

    (void)state;
    /* A path a real row knows, with another method: 405, not the "**"
     * fallbacks below it. */
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/lessons", STR_M_DELETE, &m), 405);
    assert_null(m.route);
    assert_ptr_equal(m.near, &rt_tab[1]);
    str_route_allow(m.allowed, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD, POST");
    assert_int_equal(str_route_find(rt_tab, RT_N, "/healthz", STR_M_POST, &m),
                     405);
    str_route_allow(m.allowed, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD");
    assert_int_equal(str_route_find(rt_tab, RT_N, "/hls/7/x", STR_M_POST, &m),
                     405);
    /* Ids: digits only, 1..2^62; anything else is not this row. */
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/lessons/0", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[6]); /* the api fallback */
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/lessons/1x", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[6]);
    assert_int_equal(str_route_find(rt_tab, RT_N,
                                    "/api/v1/lessons/1234567890123456789",
                                    STR_M_GET, &m),
                     0);
    assert_ptr_equal(m.route, &rt_tab[6]);
    /* A literal must match whole segments, and a code is one segment. */
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/lessonsX", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[6]);
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/sites/53/x", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[6]);
    assert_int_equal(
        str_route_find(rt_tab, RT_N, "/api/v1/sites/", STR_M_GET, &m), 0);
    assert_ptr_equal(m.route, &rt_tab[6]);
    /* No row: 404. */
    assert_int_equal(str_route_find(rt_tab, 3, "/x", STR_M_GET, &m), 404);
    assert_int_equal(str_route_find(rt_tab, RT_N, "x", STR_M_GET, &m), 404);
}

/* ---- fan-out: one buffer, many bounded queues ---- */

static void fanout_shares_one_buffer(void **state)
{
    str_fanq q[3];
    str_fbuf *b = str_fbuf_new("{\"type\":\"notice\"}", 17, STR_FAN_HIGH, 0);
    int i;

    (void)state;
    assert_non_null(b);
    assert_memory_equal(str_fbuf_data(b), "{\"type\":\"notice\"}", 17);
    assert_int_equal(str_fbuf_data(b)[17], '\0');
    for (i = 0; i < 3; i++) {
        assert_int_equal(str_fanq_init(&q[i], 4, 1024), 0);
        assert_int_equal(str_fanq_push(&q[i], b), STR_FANQ_OK);
    }
    assert_int_equal(atomic_load(&b->refs), 4);
    str_fbuf_unref(b); /* the sender's: the queues keep it alive */
    assert_ptr_equal(str_fanq_peek(&q[0]), b);
    str_fanq_pop(&q[0]);
    assert_null(str_fanq_peek(&q[0]));
    assert_int_equal(atomic_load(&b->refs), 2);
    for (i = 0; i < 3; i++)
        str_fanq_fini(&q[i]); /* the last reference frees (ASan checks) */
}

/* A live viewer that skips to a keyframe keeps only its head. */
static void fanout_trim_keeps_the_head(void **state)
{
    str_fanq q;
    str_fbuf *b[4];
    int i;

    (void)state;
    assert_int_equal(str_fanq_init(&q, 8, 1000), 0);
    assert_int_equal(str_fanq_trim(&q), 0);
    for (i = 0; i < 4; i++) {
        b[i] = str_fbuf_new(NULL, 100, STR_FAN_LOW, 1);
        assert_int_equal(str_fanq_push(&q, b[i]), STR_FANQ_OK);
    }
    str_fanq_pop(&q); /* the head moves: the ring wraps later */
    assert_int_equal(str_fanq_trim(&q), 2);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.bytes, 100);
    assert_int_equal(q.dropped, 2);
    assert_ptr_equal(str_fanq_peek(&q), b[1]);
    assert_int_equal(atomic_load(&b[3]->refs), 1); /* the queue's went */
    assert_int_equal(str_fanq_push(&q, b[0]), STR_FANQ_OK);
    str_fanq_fini(&q);
    for (i = 0; i < 4; i++)
        str_fbuf_unref(b[i]);
}

static void fanout_queue_bounds_and_overflow(void **state)
{
    str_fanq q;
    str_fbuf *lo[4], *hi = str_fbuf_new("H", 1, STR_FAN_HIGH, 0),
                     *big = str_fbuf_new(NULL, 2000, STR_FAN_HIGH, 1);
    int i;

    (void)state;
    assert_int_equal(str_fanq_init(&q, 3, 1024), 0);
    for (i = 0; i < 4; i++)
        lo[i] = str_fbuf_new("L", 1, STR_FAN_LOW, 0);
    /* Three fit; a fourth low one is not queued. */
    for (i = 0; i < 3; i++)
        assert_int_equal(str_fanq_push(&q, lo[i]), STR_FANQ_OK);
    assert_int_equal(str_fanq_push(&q, lo[3]), STR_FANQ_DROPPED);
    assert_int_equal(q.n, 3);
    /* A high one makes room by dropping the oldest low entry after the
     * head (the head may be half written). */
    assert_int_equal(str_fanq_push(&q, hi), STR_FANQ_OK);
    assert_int_equal(q.n, 3);
    assert_ptr_equal(str_fanq_peek(&q), lo[0]);
    str_fanq_pop(&q);
    assert_ptr_equal(str_fanq_peek(&q), lo[2]);
    str_fanq_pop(&q);
    assert_ptr_equal(str_fanq_peek(&q), hi);
    assert_int_equal(q.dropped, 2);
    /* Over the byte bound with nothing to drop: overflow, not growth. */
    assert_int_equal(str_fanq_push(&q, big), STR_FANQ_OVERFLOW);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.bytes, 1);
    /* Only high entries left and full: overflow. */
    assert_int_equal(str_fanq_push(&q, hi), STR_FANQ_OK);
    assert_int_equal(str_fanq_push(&q, hi), STR_FANQ_OK);
    assert_int_equal(str_fanq_push(&q, hi), STR_FANQ_OVERFLOW);
    str_fanq_fini(&q);
    for (i = 0; i < 4; i++)
        str_fbuf_unref(lo[i]);
    str_fbuf_unref(hi);
    str_fbuf_unref(big);
}

/* Exit classification: pure. */
static void child_exit_classes(void **state)
{
    str_child_end e;
    (void)state;

    memset(&e, 0, sizeof(e));
    e.status = 0; /* exited 0 */
    assert_int_equal(str_child_classify(&e), STR_EXIT_OK);
    e.status = EX_DATAERR << 8;
    assert_int_equal(str_child_classify(&e), STR_EXIT_BAD_INPUT);
    e.status = EX_USAGE << 8;
    assert_int_equal(str_child_classify(&e), STR_EXIT_BAD_INPUT);
    e.status = EX_CANTCREAT << 8;
    assert_int_equal(str_child_classify(&e), STR_EXIT_FAILED);
    e.status = EX_SOFTWARE << 8;
    assert_int_equal(str_child_classify(&e), STR_EXIT_FAILED);
    e.status = SIGSEGV; /* killed by a signal */
    assert_true(WIFSIGNALED(e.status));
    assert_int_equal(str_child_classify(&e), STR_EXIT_SIGNALED);
    /* What we did comes first: a timeout's SIGKILL is a timeout, a
     * stop's SIGTERM (or the 130 it exits with) a stop, even for bad
     * input. */
    e.status = SIGKILL;
    e.timed_out = true;
    assert_int_equal(str_child_classify(&e), STR_EXIT_TIMEOUT);
    e.status = EX_DATAERR << 8;
    assert_int_equal(str_child_classify(&e), STR_EXIT_TIMEOUT);
    e.stopped = true;
    e.status = 130 << 8;
    assert_int_equal(str_child_classify(&e), STR_EXIT_STOPPED);
}

struct child_lines {
    int n;
    char last[64];
    bool terminate; /* once a line came: the child is ready */
};

static void child_line(void *ud, char *line)
{
    struct child_lines *l = ud;

    l->n++;
    snprintf(l->last, sizeof(l->last), "%s", line);
}

static void child_tick(void *ud, str_child *c)
{
    struct child_lines *l = ud;

    if (l->terminate && l->n > 0)
        str_child_terminate(c, 300);
}

static int run_sh(const char *script, int64_t timeout_ms, atomic_bool *stop,
                  bool terminate, struct child_lines *l, str_child_end *end)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    str_child_opts o = {.path = "/bin/sh",
                        .argv = argv,
                        .cwd = "/",
                        .log_fd = 2,
                        .timeout_ms = timeout_ms,
                        .stop = stop};
    str_child_ops ops = {child_line, child_tick};
    str_child *c = NULL;
    int rc = str_child_spawn(&o, &c);

    if (rc < 0)
        return rc;
    l->terminate = terminate;
    rc = str_child_wait(c, &ops, l, end);
    str_child_free(c);
    return rc;
}

/* The supervisor on real children: lines, exit codes, the time limit,
 * the stop flag, a terminate that escalates to SIGKILL. */
static void child_supervisor(void **state)
{
    struct child_lines l = {0};
    atomic_bool stop;
    str_child_end e;
    (void)state;

    atomic_init(&stop, false);
    assert_int_equal(run_sh("echo one; printf 'two\\nthree'; exit 65", 0, &stop,
                            false, &l, &e),
                     0);
    assert_int_equal(l.n, 2); /* "three" has no newline: not a line */
    assert_string_equal(l.last, "two");
    assert_int_equal(str_child_classify(&e), STR_EXIT_BAD_INPUT);

    memset(&l, 0, sizeof(l));
    assert_int_equal(run_sh("exec sleep 10", 300, &stop, false, &l, &e), 0);
    assert_true(e.timed_out);
    assert_int_equal(str_child_classify(&e), STR_EXIT_TIMEOUT);
    assert_true(e.ms < 5000);

    atomic_store(&stop, true);
    assert_int_equal(run_sh("exec sleep 10", 0, &stop, false, &l, &e), 0);
    assert_true(e.stopped);
    assert_int_equal(str_child_classify(&e), STR_EXIT_STOPPED);
    atomic_store(&stop, false);

    /* SIGTERM ignored: SIGKILL after the grace. */
    assert_int_equal(run_sh("trap '' TERM; echo ready; sleep 10; sleep 10", 0,
                            &stop, true, &l, &e),
                     0);
    assert_true(e.terminated);
    assert_true(WIFSIGNALED(e.status));
    assert_int_equal(WTERMSIG(e.status), SIGKILL);
    assert_true(e.ms < 5000);
}

/* Trusted proxies: parsing the list, and the client behind them. */
static void proxy_client(void **state)
{
    str_net nets[STR_PROXIES_MAX];
    char err[160], out[64];
    int n;

    (void)state;
    n = str_proxy_parse(" 127.0.0.1, 10.20.0.0/16 ::1,192.168.1.0/24", nets,
                        STR_PROXIES_MAX, err, sizeof(err));
    assert_int_equal(n, 4);
    assert_true(str_proxy_trusted(nets, n, "10.20.255.1"));
    assert_false(str_proxy_trusted(nets, n, "10.21.0.1"));
    assert_true(str_proxy_trusted(nets, n, "::ffff:127.0.0.1"));
    assert_true(str_proxy_trusted(nets, n, "::1"));
    assert_false(str_proxy_trusted(nets, n, "::2"));
    assert_false(str_proxy_trusted(nets, n, "not an address"));
    /* Bad lists, each named. */
    assert_int_equal(
        str_proxy_parse("10.0.0.1, edge1", nets, 4, err, sizeof(err)),
        YL_EINVAL);
    assert_non_null(strstr(err, "'edge1'"));
    assert_int_equal(str_proxy_parse("10.0.0.0/33", nets, 4, err, sizeof(err)),
                     YL_EINVAL);
    assert_int_equal(str_proxy_parse("10.0.0.0/", nets, 4, err, sizeof(err)),
                     YL_EINVAL);
    assert_int_equal(
        str_proxy_parse("1.1.1.1,2.2.2.2,3.3.3.3", nets, 2, err, sizeof(err)),
        YL_EINVAL);
    n = str_proxy_parse("127.0.0.1, 10.20.0.0/16", nets, STR_PROXIES_MAX, err,
                        sizeof(err));
    /* A village straight to the origin: its header is not believed. */
    str_proxy_client(nets, n, "203.0.113.9", "1.2.3.4", out, sizeof(out));
    assert_string_equal(out, "203.0.113.9");
    /* Through an edge: the address the edge appended. */
    str_proxy_client(nets, n, "127.0.0.1", "127.0.0.5", out, sizeof(out));
    assert_string_equal(out, "127.0.0.5");
    /* A forged first entry stays to the left of the real one. */
    str_proxy_client(nets, n, "127.0.0.1", "6.6.6.6, 198.51.100.7", out,
                     sizeof(out));
    assert_string_equal(out, "198.51.100.7");
    /* Two trusted hops (county edge behind a prefecture edge). */
    str_proxy_client(nets, n, "127.0.0.1", "198.51.100.7,10.20.1.1", out,
                     sizeof(out));
    assert_string_equal(out, "198.51.100.7");
    /* Garbage: the last good hop. */
    str_proxy_client(nets, n, "127.0.0.1", "x, 10.20.1.1", out, sizeof(out));
    assert_string_equal(out, "10.20.1.1");
    str_proxy_client(nets, n, "127.0.0.1", "", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
    str_proxy_client(nets, n, "127.0.0.1", NULL, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(range_forms),
        cmocka_unit_test(fanout_shares_one_buffer),
        cmocka_unit_test(fanout_queue_bounds_and_overflow),
        cmocka_unit_test(fanout_trim_keeps_the_head),
        cmocka_unit_test(route_matches_literals_ids_codes_and_rests),
        cmocka_unit_test(
            route_405_lists_the_methods_and_fallbacks_stay_fallbacks),
        cmocka_unit_test(job_relpaths),
        cmocka_unit_test(range_refused),
        cmocka_unit_test(range_huge_numbers),
        cmocka_unit_test(etags),
        cmocka_unit_test(dates),
        cmocka_unit_test(mime_and_cache),
        cmocka_unit_test(path_checks),
        cmocka_unit_test(path_open_beneath),
        cmocka_unit_test(mp_every_split),
        cmocka_unit_test(mp_truncated),
        cmocka_unit_test(mp_malformed),
        cmocka_unit_test(mp_handler_stops),
        cmocka_unit_test(h1_trailers_dropped),
        cmocka_unit_test(query_get),
        cmocka_unit_test(mp_boundary_param),
        cmocka_unit_test(fcache),
        cmocka_unit_test(child_exit_classes),
        cmocka_unit_test(child_supervisor),
        cmocka_unit_test(proxy_client),
    };
    return cmocka_run_group_tests_name("str_units", tests, NULL, NULL);
}
