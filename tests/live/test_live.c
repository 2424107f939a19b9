/* test_live.c - source URI checks and a short run of the test: pipeline
 * into live HLS (live.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "live/live.h"

static void source_kinds(void **state)
{
    char err[256];
    (void)state;

    assert_int_equal(live_source_check("test:", err, sizeof(err)),
                     LIVE_SRC_TEST);
    assert_int_equal(
        live_source_check("srt://:9000?mode=listener", err, sizeof(err)),
        LIVE_SRC_SRT);
    assert_int_equal(
        live_source_check("srt://10.0.0.2:9000?latency=200", err, sizeof(err)),
        LIVE_SRC_SRT);
    assert_int_equal(
        live_source_check("rtsp://cam.local/stream1", err, sizeof(err)),
        LIVE_SRC_RTSP);
    assert_int_equal(
        live_source_check("file:///etc/hostname", err, sizeof(err)),
        LIVE_SRC_FILE);
}

static void source_refusals(void **state)
{
    static const struct {
        const char *uri, *says;
    } bad[] = {
        {"", "want a URI"},
        {"http://x/y.m3u8", "unknown kind"},
        {"rtmp://x/live", "unknown kind"},
        {"nonsense", "not a URI"},
        {"srt://host", "no :port"},
        {"srt://host:0", "port"},
        {"srt://:9000", "no host"},
        {"srt://:9000?mode=listener&foo=1", "unknown SRT parameter"},
        {"srt://:9000?streamid=mode=listener", "no host"},
        {"srt://:9000?mode=listener&mode=caller", "mode given twice"},
        {"srt://h:9000?latency=1&latency=2", "latency given twice"},
        {"srt://h:9000?mode=server", "mode is"},
        {"srt://:9000?mode=listener&passphrase=short", "10 to 79"},
        {"rtsp://", "no host"},
        {"file://relative", "absolute"},
        {"file:///no/such/file.mp4", "no such file"},
        {"test:tone", "no parameters"},
        {"test: x", "no spaces"},
    };
    char err[256];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(live_source_check(bad[i].uri, err, sizeof(err)),
                         YL_EINVAL);
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].uri, err, bad[i].says);
    }
}

static void source_redacted(void **state)
{
    static const struct {
        const char *uri, *shown;
    } cases[] = {
        {"rtsp://cam.local/stream1", "rtsp://cam.local/stream1"},
        {"rtsp://admin:secret@cam/x", "rtsp://…@cam/x"},
        {"rtsp://admin:pa@ss@cam/x", "rtsp://…@cam/x"},
        {"rtsp://admin:pa/ss@cam/x", "rtsp://…@cam/x"},
        {"srt://:9000?mode=listener&passphrase=0123456789", "srt://:9000?…"},
        {"srt://u:p@h:9000#frag@x", "srt://…@x"},
        {"rtsp://u:pa#ss@cam/x", "rtsp://…@cam/x"},
        {"rtsp://u:pa?ss@cam/x?a=1", "rtsp://…@cam/x?…"},
        {"srt://h:9000?streamid=a@b&passphrase=0123456789", "srt://…@b?…"},
        {"test:", "test:"},
    };
    char buf[256];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(live_source_redact(cases[i].uri, buf, sizeof(buf)),
                            cases[i].shown);
}

struct seen {
    pthread_mutex_t lock;
    int ready, ended, failed;
};

static void on_event(void *ud, int64_t id, int ev, const char *detail)
{
    struct seen *s = ud;

    (void)id;
    (void)detail;
    pthread_mutex_lock(&s->lock);
    s->ready += ev == LIVE_EV_READY;
    s->ended += ev == LIVE_EV_ENDED;
    s->failed += ev == LIVE_EV_FAILED;
    pthread_mutex_unlock(&s->lock);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);

    if (f != NULL && buf != NULL)
        fread(buf, 1, 65535, f);
    if (f != NULL)
        fclose(f);
    return buf;
}

static void test_source_plays(void **state)
{
    struct seen s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    char dir[] = "/tmp/yl-live-XXXXXX", path[256];
    live_meeting *m = NULL;
    live_opts o = {0};
    char *txt;
    int i, ready = 0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    o.id = 7;
    o.source = "test:";
    o.out_dir = dir;
    o.event = on_event;
    o.ud = &s;
    assert_int_equal(live_meeting_start(&o, &m), 0);
    for (i = 0; i < 600 && !ready; i++) { /* 60 s: sanitizers are slow */
        usleep(100 * 1000);
        pthread_mutex_lock(&s.lock);
        ready = s.ready;
        pthread_mutex_unlock(&s.lock);
    }
    assert_int_equal(ready, 1);
    snprintf(path, sizeof(path), "%s/master.m3u8", dir);
    txt = slurp(path);
    assert_non_null(strstr(txt, "LANGUAGE=\"zh\""));
    assert_non_null(strstr(txt, "LANGUAGE=\"bo\""));
    assert_non_null(strstr(txt, "RESOLUTION=1280x720"));
    assert_non_null(strstr(txt, "RESOLUTION=640x360"));
    free(txt);
    live_meeting_stop(m);
    live_meeting_free(m); /* waits for the thread */
    assert_int_equal(s.ended, 1);
    assert_int_equal(s.failed, 0);
    snprintf(path, sizeof(path), "%s/v360.m3u8", dir);
    txt = slurp(path);
    assert_non_null(strstr(txt, "#EXT-X-PROGRAM-DATE-TIME:"));
    assert_non_null(strstr(txt, "#EXT-X-ENDLIST"));
    free(txt);
    yl_rmtree(dir);
}

/* What the chunk callback saw (a streaming thread). */
struct chunks {
    pthread_mutex_t lock;
    int n, keys, bad_first, wrong_out;
    int key_not_pat; /* key chunks that do not start with the PAT */
    size_t bytes;
    int64_t ingest_ms;
};

static void on_chunk(void *ud, int64_t id, int out, const live_chunk *c)
{
    struct chunks *k = ud;
    const unsigned char *p = c->data;

    (void)id;
    pthread_mutex_lock(&k->lock);
    if (c->key)
        k->key_not_pat += c->len < 2 * 188 || (p[1] & 0x1f) != 0 || p[2] != 0;
    k->n++;
    k->keys += c->key;
    k->bad_first += c->len % 188 != 0 || p[0] != 0x47;
    k->wrong_out += out != 1;
    k->bytes += c->len;
    k->ingest_ms = c->ingest_ms;
    pthread_mutex_unlock(&k->lock);
}

static void on_event_quiet(void *ud, int64_t id, int ev, const char *detail)
{
    (void)ud;
    (void)id;
    (void)ev;
    (void)detail;
}

/* The websocket path's outputs: every (rung, language) pair, and chunks
 * of whole TS packets, only while watched, each keyframe chunk led by
 * a PAT, about one keyframe a second. */
static void test_ts_outputs(void **state)
{
    struct chunks k = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char dir[] = "/tmp/yl-live-XXXXXX";
    live_meeting *m = NULL;
    live_opts o = {0};
    const char *lang;
    int i, out = -1, rung, n;
    (void)state;

    assert_non_null(mkdtemp(dir));
    o.id = 8;
    o.source = "test:";
    o.out_dir = dir;
    o.event = on_event_quiet;
    o.chunk = on_chunk;
    o.ud = &k;
    assert_int_equal(live_meeting_start(&o, &m), 0);
    for (i = 0; i < 600; i++) {
        out = live_meeting_output(m, 720, "bo");
        if (out != -EAGAIN)
            break;
        usleep(100 * 1000);
    }
    assert_true(out >= 0);
    assert_int_equal(live_meeting_output(m, 1080, "zh"), -ENOENT);
    assert_int_equal(live_meeting_output(m, 360, "lis"), -ENOENT);
    for (n = 0; live_meeting_output_info(m, n, &rung, &lang) == 0; n++)
        assert_true((rung == 720 || rung == 360) &&
                    (strcmp(lang, "zh") == 0 || strcmp(lang, "bo") == 0));
    assert_int_equal(n, 4);   /* 2 rungs x 2 languages */
    assert_int_equal(out, 1); /* 720p first, then its languages in order */
    sleep(2);
    pthread_mutex_lock(&k.lock);
    assert_int_equal(k.n, 0); /* nobody watches: nothing copied */
    pthread_mutex_unlock(&k.lock);
    live_meeting_watch(m, out, 1);
    for (i = 0; i < 600; i++) { /* 3 keyframes, or 60 s (sanitizers) */
        usleep(100 * 1000);
        pthread_mutex_lock(&k.lock);
        n = k.keys;
        pthread_mutex_unlock(&k.lock);
        if (n >= 3)
            break;
    }
    live_meeting_watch(m, out, -1);
    live_meeting_stop(m);
    live_meeting_free(m);
    assert_true(k.keys >= 3);
    printf("chunks %d, keys %d, bytes %zu\n", k.n, k.keys, k.bytes);
    assert_true(k.n > k.keys * 10); /* a keyframe a second, 25 fps */
    assert_int_equal(k.bad_first, 0);
    assert_int_equal(k.key_not_pat, 0);
    assert_int_equal(k.wrong_out, 0);
    assert_true(k.ingest_ms > 1700000000000LL); /* a wall clock */
    yl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(source_kinds),    cmocka_unit_test(source_refusals),
        cmocka_unit_test(source_redacted), cmocka_unit_test(test_source_plays),
        cmocka_unit_test(test_ts_outputs),
    };
    return cmocka_run_group_tests_name("live", tests, NULL, NULL);
}
