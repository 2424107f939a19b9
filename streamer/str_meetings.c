/* str_meetings.c - live meetings over REST (create, start, stop, read, "the
 * meeting of this site now"), the registry of running pipelines (live/),
 * /live/<id>/ delivery, and the "meeting" messages on the channel.
 *
 * A start is answered after the writer committed the state; then the
 * pipeline starts and every targeted connected site is told. A pipeline
 * that fails ends its meeting (state "failed"), never the server.
 *
 * Threads: handlers and *_run on the service thread; writer_done on the
 * writer thread and on_live_event on a meeting's thread, which only copy
 * and post to the loop (str_outbox_post). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "catalog/cat_attend.h"
#include "catalog/cat_code.h"
#include "catalog/cat_meetings.h"
#include "catalog/cat_tokens.h"
#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_log.h"
#include "common/yl_utf8.h"
#include "live/live.h"
#include "streamer/str_api.h"
#include "streamer/str_livews.h"
#include "streamer/str_ws.h"

#define MAX_LIVE 16 /* pipelines at once: 2 cores encode two or three */

_Static_assert(CAT_MEETING_AUDIO_MAX == LIVE_AUDIO_MAX,
               "the catalog accepts what live/ can run");

/* A running pipeline. Service thread. */
typedef struct live_ent {
    int64_t id;
    live_meeting *m;
    json_t *frame_live; /* the "meeting" message, state live */
    json_t *targets;
    bool ready, stopping;
    /* The pipeline failed and is being rebuilt (LIVE_EV_RESTARTING until
     * LIVE_EV_READY); restart_error: the last failure's reason, NULL
     * none. Owned. */
    bool restarting;
    char *restart_error;
    /* The recording (rec_submit): its directory (NULL when live_record is
     * off), and what its lesson needs of the meeting. Owned. */
    char *rec_dir, *title, *owner;
    /* The local UDP ports its SRT listeners hold (the main source's and
     * each interpreter's; 0 none), for str_meetings_start(). */
    long ports[LIVE_AUDIO_MAX + 1];
} live_ent;

struct str_live {
    live_ent v[MAX_LIVE];
    int n;
    uint64_t restarts; /* pipelines rebuilt after a failure, all meetings */
};

/* ---- the registry (service thread) ---- */

static live_ent *ent_find(str_server *srv, int64_t id)
{
    if (srv->live == NULL)
        return NULL;
    for (int i = 0; i < srv->live->n; i++)
        if (srv->live->v[i].id == id)
            return &srv->live->v[i];
    return NULL;
}

/* Frees e's pipeline (waiting for its thread) and drops it. */
static void ent_drop(str_server *srv, live_ent *e)
{
    struct str_live *l = srv->live;

    str_livews_meeting_gone(srv, e->id);
    live_meeting_free(e->m);
    json_decref(e->frame_live);
    json_decref(e->targets);
    free(e->rec_dir);
    free(e->title);
    free(e->owner);
    free(e->restart_error);
    *e = l->v[--l->n];
}

/* The channel message for meeting mt in state. New reference or NULL. */
static json_t *frame_of(const json_t *mt, const char *state)
{
    return json_pack("{s:s, s:O, s:s, s:O, s:O, s:O}", "type", "meeting", "id",
                     json_object_get(mt, "id"), "state", state, "title",
                     json_object_get(mt, "title"), "hls",
                     json_object_get(mt, "hls"), "ws",
                     json_object_get(mt, "ws"));
}

/* ---- messages to the loop ---- */

enum { M_CREATE, M_START, M_STOP, M_FAIL, M_EVENT, M_REC, M_HEAD };

typedef struct mmsg {
    str_msg base;
    str_server *srv;
    uint64_t serial; /* the waiting request; 0 none */
    int kind, rc, ev;
    int64_t id;
    int64_t lesson, job; /* M_REC: what the recording became */
    json_t *meeting;     /* a copy made on the posting thread */
    char error[512];
} mmsg;

static void mmsg_free(str_msg *m)
{
    mmsg *d = (mmsg *)m;

    json_decref(d->meeting);
    free(d);
}

static void mmsg_run(str_server *srv, str_msg *m);

static mmsg *mmsg_new(str_server *srv, uint64_t serial, int kind)
{
    mmsg *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->base.run = mmsg_run;
    d->base.free_fn = mmsg_free;
    d->srv = srv;
    d->serial = serial;
    d->kind = kind;
    return d;
}

/* Writer thread, after COMMIT. */
static void writer_done(void *ud, int rc, const cat_write_result *res)
{
    mmsg *d = ud;

    d->rc = rc;
    if (res != NULL) {
        snprintf(d->error, sizeof(d->error), "%s", res->error);
        if (rc == 0 && res->json != NULL)
            d->meeting = json_deep_copy(res->json); /* counts not atomic */
        if (rc == 0 && d->meeting == NULL)
            d->rc = -ENOMEM;
    }
    str_outbox_post(d->srv, &d->base);
}

/* A meeting's thread: an event of its pipeline. */
static void on_live_event(void *ud, int64_t id, int ev, const char *detail)
{
    str_server *srv = ud;
    mmsg *d = mmsg_new(srv, 0, M_EVENT);

    if (d == NULL) {
        YL_LOGE("str", "[meeting=%" PRId64 "] event %d lost: out of memory", id,
                ev);
        return;
    }
    d->id = id;
    d->ev = ev;
    if (detail != NULL)
        snprintf(d->error, sizeof(d->error), "%s", detail);
    str_outbox_post(srv, &d->base);
}

/* ---- the recording (service thread) ----
 *
 * live/ appends the top rung and each audio language to a directory of
 * the meeting's run under DATA/recordings/ as segments close. When the
 * pipeline ends (stopped, the source's end, or failed), that directory
 * becomes an upload: cat_meetings_record_submit() creates the lesson and
 * its transcode job exactly as POST /api/v1/lessons does with a source and
 * one dub per language (cat_lessons_create renames the directory to
 * DATA/uploads/<job-id>/), so the sweep removes it once the job is done
 * and keeps it while a failed job may be retried. */

#define REC_CATEGORY "会议录像"
#define REC_SUFFIX   " 录像"

/* The recording's directory and what its lesson needs, into e (before the
 * pipeline starts). live_record = off: e->rec_dir stays NULL. */
static int rec_prepare(str_server *srv, live_ent *e, const json_t *mt)
{
    int64_t id = json_integer_value(json_object_get(mt, "id"));
    const char *title = json_string_value(json_object_get(mt, "title"));
    const char *owner = json_string_value(json_object_get(mt, "owner"));
    char dir[PATH_MAX];
    struct timespec ts;
    int rc;

    e->title = strdup(title != NULL ? title : "");
    e->owner = owner != NULL ? strdup(owner) : NULL;
    if (e->title == NULL || (owner != NULL && e->owner == NULL))
        return -ENOMEM;
    if (strcmp(srv->cfg.live_record, "on") != 0)
        return 0;
    /* One directory per run: a run cut by a crash of the server leaves
     * its part, which the next run does not overwrite. */
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = str_pathf(dir, sizeof(dir), "%s/recordings/%" PRId64 "-%lld",
                   srv->cfg.cat.data_dir, id,
                   (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    if (rc < 0)
        return rc;
    e->rec_dir = strdup(dir);
    return e->rec_dir != NULL ? 0 : -ENOMEM;
}

/* Writer thread, after COMMIT of cat_meetings_record_submit. */
static void rec_done(void *ud, int rc, const cat_write_result *res)
{
    mmsg *d = ud;

    d->rc = rc;
    if (res != NULL) {
        snprintf(d->error, sizeof(d->error), "%s", res->error);
        d->lesson = res->id;
        d->job = res->job_id;
    }
    str_outbox_post(d->srv, &d->base);
}

static void rec_store(str_server *srv, int64_t id, const char *state,
                      const cat_lesson_new *ln)
{
    mmsg *d = mmsg_new(srv, 0, M_REC);

    if (d == NULL)
        return;
    d->id = id;
    d->ev = strcmp(state, "lost") == 0; /* no second try of "lost" */
    if (cat_meetings_record_submit(srv->w, id, state, ln, rec_done, d) < 0) {
        YL_LOGE("str", "[meeting=%" PRId64 "] recording %s not stored", id,
                state);
        mmsg_free(&d->base);
    }
}

/* Whether dir holds a non-empty file (a recording's media). */
static bool dir_has_data(const char *dir)
{
    struct dirent *de;
    struct stat st;
    bool any = false;
    DIR *d = opendir(dir);

    if (d == NULL)
        return false;
    while (!any && (de = readdir(d)) != NULL)
        any = de->d_name[0] != '.' &&
              fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
              S_ISREG(st.st_mode) && st.st_size > 0;
    closedir(d);
    return any;
}

/* e's pipeline ended (its thread wrote recording.json, or did not when
 * nothing was recorded): its lesson and job, or why there are none. */
static void rec_submit(str_server *srv, live_ent *e)
{
    char path[PATH_MAX], uploads[PATH_MAX], title[1024];
    json_t *rec = NULL, *inputs = NULL, *titles = NULL;
    json_error_t jerr;
    cat_lesson_new ln;

    if (srv->w == NULL) /* stopping: the files stay (operations.md) */
        return;
    if (e->rec_dir == NULL) {
        rec_store(srv, e->id, "off", NULL);
        return;
    }
    if (str_pathf(path, sizeof(path), "%s/recording.json", e->rec_dir) < 0 ||
        str_pathf(uploads, sizeof(uploads), "%s/uploads",
                  srv->cfg.cat.data_dir) < 0)
        goto lost;
    rec = json_load_file(path, 0, &jerr);
    if (rec == NULL && dir_has_data(e->rec_dir)) {
        /* Recorded, but its description is missing or unreadable (a full
         * disk at the very end): the files stay for a hand-made lesson
         * (operations.md), never removed here. */
        YL_LOGE("str", "[meeting=%" PRId64 "] recording.json: %s", e->id,
                jerr.text);
        goto lost;
    }
    if (rec == NULL) {
        /* Not one whole segment (live/ removed the fragment): none. */
        yl_rmtree(e->rec_dir);
        rec_store(srv, e->id, "none", NULL);
        return;
    }
    if (json_object_get(rec, "cut") != NULL)
        YL_LOGW("str", "[meeting=%" PRId64 "] the recording stops early: %s",
                e->id, json_string_value(json_object_get(rec, "cut")));
    /* dub_clock: the files come from one pipeline, so each language is
     * placed by its timestamps (its first sample is not the picture's). */
    inputs = json_pack("{s:O, s:O, s:s}", "source",
                       json_object_get(rec, "source"), "audio",
                       json_object_get(rec, "audio"), "dub_clock", "source");
    snprintf(title, sizeof(title), "%s%s", e->title, REC_SUFFIX);
    titles = json_pack("{s:s}", "zh", title);
    if (inputs == NULL || titles == NULL)
        goto lost;
    memset(&ln, 0, sizeof(ln));
    ln.titles = titles;
    ln.category = REC_CATEGORY;
    ln.source_name = "recording.ts";
    ln.inputs = inputs;
    ln.staged_dir = e->rec_dir;
    ln.uploads_dir = uploads;
    ln.owner = e->owner;
    YL_LOGI("str", "[meeting=%" PRId64 "] recording of %.1f s becomes a lesson",
            e->id, json_real_value(json_object_get(rec, "duration_s")));
    rec_store(srv, e->id, "job", &ln);
    goto out;
lost:
    YL_LOGE("str", "[meeting=%" PRId64 "] recording in %s not made a lesson",
            e->id, e->rec_dir);
    rec_store(srv, e->id, "lost", NULL);
out:
    json_decref(rec);
    json_decref(inputs);
    json_decref(titles);
}

static void rec_result(str_server *srv, mmsg *d)
{
    if (d->rc < 0) {
        YL_LOGE("str", "[meeting=%" PRId64 "] recording: %s", d->id, d->error);
        if (!d->ev)
            rec_store(srv, d->id, "lost", NULL); /* the files stay */
        return;
    }
    if (d->lesson > 0)
        YL_LOGI("str",
                "[meeting=%" PRId64 "] recording: lesson %" PRId64
                ", job %" PRId64,
                d->id, d->lesson, d->job);
}

/* The port of an srt:// URI (checked by live_source_check()), or 0. */
static long srt_port(const char *uri)
{
    const char *hp, *q, *colon;

    if (uri == NULL || strncmp(uri, "srt://", 6) != 0)
        return 0;
    hp = uri + 6;
    q = strchr(hp, '?');
    colon = memrchr(hp, ':', q ? (size_t)(q - hp) : strlen(hp));
    return colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
}

/* The local port an SRT source binds (a listener or a rendezvous; a
 * caller binds none), or 0. */
static long srt_bound_port(const char *uri)
{
    const char *p = uri != NULL ? strchr(uri, '?') : NULL;

    /* Parameter by parameter: "mode=listener" inside another's value
     * (streamid=mode=listener) is not the mode. */
    while (p != NULL) {
        size_t len;

        p++;
        len = strcspn(p, "&");
        if ((len == 13 && strncmp(p, "mode=listener", 13) == 0) ||
            (len == 15 && strncmp(p, "mode=rendezvous", 15) == 0))
            return srt_port(uri);
        p = strchr(p, '&');
    }
    return 0;
}

/* Fills ports[LIVE_AUDIO_MAX + 1] with the ports meeting mt's sources
 * bind (0 where none). */
static void bound_ports(const json_t *mt, long *ports)
{
    const json_t *el;
    size_t i;

    memset(ports, 0, (LIVE_AUDIO_MAX + 1) * sizeof(*ports));
    ports[0] = srt_bound_port(json_string_value(json_object_get(mt, "source")));
    json_array_foreach(json_object_get(mt, "audio"), i, el)
    {
        if (i >= LIVE_AUDIO_MAX)
            break;
        ports[i + 1] =
            srt_bound_port(json_string_value(json_object_get(el, "source")));
    }
}

/* One SRT listener a port: a second meeting on a port a live one holds
 * would fail to bind, its pipeline rebuilt until the meeting failed.
 * true (and why) when one of ports is held by a running meeting. */
static bool port_taken(str_server *srv, const long *ports, char *why,
                       size_t whylen)
{
    for (int i = 0; srv->live != NULL && i < srv->live->n; i++)
        for (int j = 0; j <= LIVE_AUDIO_MAX; j++)
            for (int k = 0; ports[j] != 0 && k <= LIVE_AUDIO_MAX; k++) {
                if (ports[j] != srv->live->v[i].ports[k])
                    continue;
                if (j == 0)
                    snprintf(why, whylen, "source");
                else
                    snprintf(why, whylen, "audio[%d].source", j - 1);
                snprintf(why + strlen(why), whylen - strlen(why),
                         ": port %ld is already taken by live meeting "
                         "%" PRId64 " (one SRT listener a port)",
                         ports[j], srv->live->v[i].id);
                return true;
            }
    return false;
}

/* The meeting's declared audio (cat_meetings_audio()'s stored form) as
 * live/ takes it: strings borrowed from mt. Returns how many. */
static int audio_opts(const json_t *mt, live_audio *a)
{
    const json_t *el;
    size_t i;
    int n = 0;

    json_array_foreach(json_object_get(mt, "audio"), i, el)
    {
        if (n == LIVE_AUDIO_MAX)
            break;
        a[n].lang = json_is_string(el)
                        ? json_string_value(el)
                        : json_string_value(json_object_get(el, "lang"));
        a[n].source = json_string_value(json_object_get(el, "source"));
        if (a[n].lang != NULL)
            n++;
    }
    return n;
}

static int start_pipeline(str_server *srv, const json_t *mt, char *why,
                          size_t whylen)
{
    int64_t id = json_integer_value(json_object_get(mt, "id"));
    char dir[PATH_MAX];
    long ports[LIVE_AUDIO_MAX + 1];
    live_audio audio[LIVE_AUDIO_MAX];
    live_opts o = {0};
    live_ent *e;
    int rc;

    if (srv->live == NULL || srv->live->n == MAX_LIVE) {
        snprintf(why, whylen, "%d meetings are live: the most at once",
                 MAX_LIVE);
        return YL_ETOOBIG;
    }
    bound_ports(mt, ports);
    if (port_taken(srv, ports, why, whylen))
        return YL_EEXIST;
    rc = str_pathf(dir, sizeof(dir), "%s/live/%" PRId64, srv->cfg.cat.data_dir,
                   id);
    if (rc < 0)
        return rc;
    yl_rmtree(dir); /* an earlier run of this meeting */
    e = &srv->live->v[srv->live->n];
    memset(e, 0, sizeof(*e));
    rc = rec_prepare(srv, e, mt);
    if (rc < 0)
        goto fail;
    o.rec_dir = e->rec_dir;
    o.id = id;
    o.source = json_string_value(json_object_get(mt, "source"));
    o.audio = audio;
    o.naudio = audio_opts(mt, audio);
    o.out_dir = dir;
    o.slate = srv->cfg.live_slate[0] != '\0' ? srv->cfg.live_slate : NULL;
    o.event = on_live_event;
    o.chunk = str_livews_chunk;
    o.ud = srv;
    e->frame_live = frame_of(mt, "live");
    e->targets = json_deep_copy(json_object_get(mt, "targets"));
    if (e->frame_live == NULL || e->targets == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = live_meeting_start(&o, &e->m);
    if (rc < 0) {
        live_source_check(o.source, why, whylen);
        goto fail;
    }
    e->id = id;
    memcpy(e->ports, ports, sizeof(ports));
    srv->live->n++;
    return 0;
fail:
    json_decref(e->frame_live);
    json_decref(e->targets);
    free(e->rec_dir);
    free(e->title);
    free(e->owner);
    if (why[0] == '\0')
        yl_strerror(rc, why, whylen);
    return rc;
}

/* Records an end nobody asked for in the catalog: "failed" (why) or
 * "ended" (the source ended). The answer is only logged. */
static void submit_end(str_server *srv, int64_t id, const char *state,
                       const char *why)
{
    mmsg *d;

    if (srv->w == NULL) /* stopping: the state stays, the next run resumes */
        return;
    d = mmsg_new(srv, 0, M_FAIL);
    if (d == NULL)
        return;
    d->id = id;
    if (cat_meetings_set_state_submit(srv->w, id, state, why, writer_done, d) <
        0)
        mmsg_free(&d->base);
}

static void submit_failed(str_server *srv, int64_t id, const char *why)
{
    submit_end(srv, id, "failed", why);
}

static void reply_meeting(str_server *srv, uint64_t serial, int status,
                          const json_t *mt)
{
    str_req *r = serial ? str_waiting_find(srv, serial) : NULL;
    char *s;

    if (r == NULL)
        return; /* the client left; what it asked for is done */
    s = json_dumps(mt, JSON_COMPACT);
    str_api_defer_reply(r, s ? status : 500, s, s ? strlen(s) : 0);
}

static void on_event(str_server *srv, mmsg *d)
{
    live_ent *e = ent_find(srv, d->id);
    json_t *f;

    if (e == NULL)
        return;
    switch (d->ev) {
    case LIVE_EV_READY:
        e->ready = true;
        e->restarting = false;
        break;
    case LIVE_EV_RESTARTING:
        /* The meeting stays live: no state change, no message to the
         * stations; players ride over the discontinuity. */
        e->restarting = true;
        srv->live->restarts++;
        free(e->restart_error);
        e->restart_error = strdup(d->error);
        YL_LOGW("str", "[meeting=%" PRId64 "] pipeline rebuilt (%d so far): %s",
                d->id, live_meeting_restarts(e->m), d->error);
        break;
    case LIVE_EV_FAILED:
        if (!e->stopping) {
            submit_failed(srv, d->id, d->error);
            f = json_deep_copy(e->frame_live);
            if (f != NULL) {
                json_object_set_new(f, "state", json_string("ended"));
                json_object_set_new(f, "error", json_string(d->error));
                str_ws_meeting(srv, f, e->targets);
            }
            json_decref(f);
        }
        rec_submit(srv, e); /* what was recorded before the failure */
        ent_drop(srv, e);
        break;
    case LIVE_EV_ENDED:
        if (!e->stopping) {
            /* The source ended by itself (a rehearsal file's end). */
            submit_end(srv, d->id, "ended", NULL);
            f = json_deep_copy(e->frame_live);
            if (f != NULL) {
                json_object_set_new(f, "state", json_string("ended"));
                str_ws_meeting(srv, f, e->targets);
            }
            json_decref(f);
        }
        rec_submit(srv, e);
        ent_drop(srv, e);
        break;
    }
}

/* Service thread. */
static void mmsg_run(str_server *srv, str_msg *m)
{
    mmsg *d = (mmsg *)m;
    char why[512] = "", src[256];
    str_req *r;
    json_t *f;
    live_ent *e;
    int64_t id;

    if (d->kind == M_EVENT) {
        on_event(srv, d);
        return;
    }
    if (d->kind == M_REC) {
        rec_result(srv, d);
        return;
    }
    if (d->rc < 0) {
        if (d->kind == M_FAIL) {
            YL_LOGW("str", "[meeting=%" PRId64 "] its end not stored: %s",
                    d->id, d->error);
            return;
        }
        r = str_waiting_find(srv, d->serial);
        if (r != NULL)
            str_api_defer_error(r, d->rc, d->error);
        return;
    }
    id = json_integer_value(json_object_get(d->meeting, "id"));
    switch (d->kind) {
    case M_CREATE:
        YL_LOGI("str", "[meeting=%" PRId64 "] created for %" PRId64 " site(s)",
                id,
                (int64_t)json_integer_value(
                    json_object_get(d->meeting, "n_sites")));
        reply_meeting(srv, d->serial, 201, d->meeting);
        break;
    case M_START:
        if (srv->live == NULL) { /* stopping: the next run starts it */
            YL_LOGW("str", "[meeting=%" PRId64 "] not started: stopping", id);
            return;
        }
        if (start_pipeline(srv, d->meeting, why, sizeof(why)) < 0) {
            YL_LOGE("str", "[meeting=%" PRId64 "] cannot start: %s", id, why);
            submit_failed(srv, id, why);
            r = str_waiting_find(srv, d->serial);
            if (r != NULL)
                str_api_defer_error(r, YL_EDB, why);
            return;
        }
        YL_LOGI("str", "[meeting=%" PRId64 "] live from %s", id,
                live_source_redact(
                    json_string_value(json_object_get(d->meeting, "source")),
                    src, sizeof(src)));
        e = ent_find(srv, id);
        str_ws_meeting(srv, e->frame_live, e->targets);
        reply_meeting(srv, d->serial, 200, d->meeting);
        break;
    case M_STOP:
        e = ent_find(srv, id);
        if (e != NULL && !e->stopping) {
            e->stopping = true;
            live_meeting_stop(e->m); /* ENDLIST follows; then EV_ENDED */
        }
        f = frame_of(d->meeting, "ended");
        if (f != NULL)
            str_ws_meeting(srv, f, json_object_get(d->meeting, "targets"));
        json_decref(f);
        YL_LOGI("str", "[meeting=%" PRId64 "] ended", id);
        reply_meeting(srv, d->serial, 200, d->meeting);
        break;
    case M_HEAD:
        reply_meeting(srv, d->serial, 200, d->meeting);
        break;
    case M_FAIL:
        break;
    }
}

live_meeting *str_meetings_pipeline(str_server *srv, int64_t id)
{
    live_ent *e = ent_find(srv, id);

    return e != NULL && !e->stopping ? e->m : NULL;
}

bool str_meetings_nth(str_server *srv, int i, const json_t **frame,
                      const json_t **targets)
{
    struct str_live *l = srv->live;

    for (int k = 0; l != NULL && k < l->n; k++) {
        if (l->v[k].stopping)
            continue;
        if (i-- == 0) {
            *frame = l->v[k].frame_live;
            *targets = l->v[k].targets;
            return true;
        }
    }
    return false;
}

/* ---- handlers ---- */

/* The interpreters' feeds of a checked body's "audio": each an srt://
 * listener or caller (live_source_check()), none on the port of the main
 * source or of another interpreter (one SRT listener a port), and none
 * with a file:// main source (a file is paced by its own clock in one
 * pipeline, which a live feed cannot join). 0, or YL_EINVAL with why. */
static int check_interpreters(const json_t *in, char *err, size_t errlen)
{
    const char *main_src = json_string_value(json_object_get(in, "source"));
    long ports[LIVE_AUDIO_MAX + 1];
    const json_t *el;
    const char *src;
    size_t i;
    int np = 0;
    char sub[400];

    ports[np++] = srt_port(main_src);
    json_array_foreach(json_object_get(in, "audio"), i, el)
    {
        src = json_string_value(json_object_get(el, "source"));
        if (src == NULL)
            continue;
        if (strncmp(main_src, "file://", 7) == 0) {
            snprintf(err, errlen,
                     "audio[%zu].source: an interpreter's feed needs a live "
                     "main source (srt://, rtsp://, test:), not file://",
                     i);
            return YL_EINVAL;
        }
        if (live_source_check(src, sub, sizeof(sub)) != LIVE_SRC_SRT) {
            snprintf(err, errlen, "audio[%zu].%s", i,
                     strncmp(src, "srt://", 6) == 0
                         ? sub
                         : "source: an interpreter's feed is srt:// "
                           "(mode=listener or caller)");
            return YL_EINVAL;
        }
        if (strstr(src, "mode=rendezvous") != NULL) {
            snprintf(err, errlen,
                     "audio[%zu].source: an interpreter's feed is an SRT "
                     "listener or caller, not rendezvous",
                     i);
            return YL_EINVAL;
        }
        for (int j = 0; j < np; j++)
            if (ports[j] != 0 && ports[j] == srt_port(src)) {
                snprintf(err, errlen,
                         "audio[%zu].source: port %ld is already the %s's", i,
                         ports[j],
                         j == 0 ? "main source" : "other interpreter");
                return YL_EINVAL;
            }
        ports[np++] = srt_port(src);
    }
    return 0;
}

/* For those who may not see the sources (they may hold an SRT passphrase
 * or a camera's password): the main source and every interpreter's go. */
static void hide_sources(json_t *mt)
{
    json_t *el;
    size_t i;

    json_object_del(mt, "source");
    json_array_foreach(json_object_get(mt, "audio"), i, el)
        json_object_del(el, "source");
}

int str_meetings_post(str_req *r)
{
    int ret;

    if (str_api_need_admin(r, "creating a meeting", &ret))
        return ret;
    return str_body_begin(r, STR_BODY_JSON, r->srv->cfg.cat.max_body_bytes);
}

int str_meetings_post_body(str_req *r)
{
    str_server *srv = r->srv;
    json_error_t jerr;
    json_t *in, *t;
    char err[512];
    size_t i;
    mmsg *d;
    int rc, ret = 0;

    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    if (cat_meetings_check(in, err, sizeof(err)) < 0 ||
        live_source_check(json_string_value(json_object_get(in, "source")), err,
                          sizeof(err)) < 0 ||
        check_interpreters(in, err, sizeof(err)) < 0) {
        ret = str_reply_error(r, 400, "invalid", "%s", err);
        goto out;
    }
    json_array_foreach(json_object_get(in, "targets"), i, t)
    {
        const char *code = json_string_value(t);

        rc = cat_tokens_allows(srv->rd, &r->tok, code);
        if (rc == YL_ENOTFOUND) {
            ret = str_reply_error(r, 400, "invalid",
                                  "targets[%zu]: unknown code %s", i, code);
            goto out;
        }
        if (rc == 0) {
            ret = str_reply_error(r, 403, "forbidden",
                                  "targets[%zu]: %s is outside this token's "
                                  "region %s",
                                  i, code, r->tok.scope);
            goto out;
        }
        if (rc < 0) {
            ret = str_api_reply_cat_error(r, rc, cat_db_errmsg(srv->rd));
            goto out;
        }
    }
    d = mmsg_new(srv, r->serial, M_CREATE);
    if (d == NULL) {
        ret = str_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    rc = cat_meetings_create_submit(srv->w, in, r->tok.scope, r->tok.id,
                                    writer_done, d);
    if (rc < 0) {
        mmsg_free(&d->base);
        ret = str_reply_error(r, 503, "unavailable",
                              "the server is stopping; retry");
        goto out;
    }
    str_waiting_add(srv, r);
out:
    json_decref(in);
    return ret;
}

/* The meeting r->id for an admin of its owner's region: 0 and *out, or 1
 * when it answered (*ret). */
static int admin_meeting(str_req *r, const char *what, json_t **out, int *ret)
{
    const char *owner;
    int rc;

    *out = NULL;
    if (str_api_need_admin(r, what, ret))
        return 1;
    rc = cat_meetings_get(r->srv->rd, r->id, out);
    if (rc < 0) {
        *ret = str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
        return 1;
    }
    owner = json_string_value(json_object_get(*out, "owner"));
    if (cat_tokens_allows(r->srv->rd, &r->tok, owner ? owner : "") != 1) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "meeting %" PRId64 " belongs to region %s, "
                               "outside this token's region %s",
                               r->id, owner ? owner : "?", r->tok.scope);
        json_decref(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static int set_state(str_req *r, const char *state, int kind)
{
    mmsg *d = mmsg_new(r->srv, r->serial, kind);

    if (d == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    if (cat_meetings_set_state_submit(r->srv->w, r->id, state, NULL,
                                      writer_done, d) < 0) {
        mmsg_free(&d->base);
        return str_reply_error(r, 503, "unavailable",
                               "the server is stopping; retry");
    }
    str_waiting_add(r->srv, r);
    return 0;
}

int str_meetings_start(str_req *r)
{
    long ports[LIVE_AUDIO_MAX + 1];
    char why[256];
    json_t *mt;
    int ret;

    if (admin_meeting(r, "starting a meeting", &mt, &ret))
        return ret;
    bound_ports(mt, ports);
    json_decref(mt);
    if (ent_find(r->srv, r->id) != NULL)
        return str_reply_error(r, 409, "conflict",
                               "meeting %" PRId64 " is still running", r->id);
    if (port_taken(r->srv, ports, why, sizeof(why)))
        return str_reply_error(r, 409, "conflict", "%s", why);
    return set_state(r, "live", M_START);
}

int str_meetings_stop(str_req *r)
{
    json_t *mt;
    int ret;

    if (admin_meeting(r, "stopping a meeting", &mt, &ret))
        return ret;
    json_decref(mt);
    return set_state(r, "ended", M_STOP);
}

/* Adds what only the running server knows: the pipeline's health.
 * errors: also the last failure's reason (an element's message, which
 * may name a file or host of the source: for the meeting's admins only,
 * as the source itself). */
static void add_health(str_server *srv, json_t *mt, bool errors)
{
    live_ent *e = ent_find(srv, json_integer_value(json_object_get(mt, "id")));

    json_object_set_new(mt, "source_health",
                        json_string(e == NULL       ? "none"
                                    : e->stopping   ? "stopping"
                                    : e->restarting ? "restarting"
                                    : e->ready      ? "ok"
                                                    : "starting"));
    /* Rebuilds of this run's pipeline after a failure, and the last
     * failure's reason (an element's name and message). */
    if (e != NULL) {
        json_object_set_new(mt, "source_restarts",
                            json_integer(live_meeting_restarts(e->m)));
        json_object_set_new(
            mt, "source_error",
            e->restart_error == NULL ? json_null()
            : errors                 ? json_stringn(e->restart_error,
                                                    yl_utf8_prefix(e->restart_error))
                     : json_string("信号源出错，正在重建 (details for the "
                                   "meeting's administrators)"));
    }
    /* Until it stops, the recording is the running pipeline's. */
    if (e != NULL && e->rec_dir != NULL)
        json_object_set_new(mt, "recording",
                            json_pack("{s:n, s:n, s:s}", "lesson", "job",
                                      "state", "recording"));
}

int str_meetings_get(str_req *r)
{
    json_t *mt = NULL, *att = NULL;
    bool owner;
    int rc;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "meetings need a token (Authorization: "
                               "Bearer ...)");
    rc = cat_meetings_get(r->srv->rd, r->id, &mt);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    /* The source may hold an SRT passphrase or a camera's password: only
     * for admins of the meeting's region. */
    owner =
        r->tok.role == CAT_ROLE_ADMIN &&
        cat_tokens_allows(r->srv->rd, &r->tok,
                          json_string_value(json_object_get(mt, "owner"))) == 1;
    if (!owner)
        hide_sources(mt);
    add_health(r->srv, mt, owner);
    /* Attendance within what the token sees: its region, or its own
     * station for a site token. */
    rc = cat_attend_totals(r->srv->rd, r->id, r->tok.scope, &att);
    if (rc < 0) {
        json_decref(mt);
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    }
    json_object_set_new(att, "region", json_string(r->tok.scope));
    json_object_set_new(mt, "attendance", att);
    return str_api_reply_json(r, 200, mt);
}

int str_meetings_current(str_req *r)
{
    char site[32];
    json_t *mt = NULL;
    int n, rc, ret;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "meetings need a token (Authorization: "
                               "Bearer ...)");
    n = str_req_query(r, "site", site, sizeof(site));
    if (r->tok.role == CAT_ROLE_SITE) {
        if (n > 0 && strcmp(site, r->tok.scope) != 0)
            return str_reply_error(r, 403, "forbidden",
                                   "the site token of %s cannot read the "
                                   "meetings of %s",
                                   r->tok.scope, site);
        snprintf(site, sizeof(site), "%s", r->tok.scope);
    } else {
        if (n <= 0)
            return str_reply_error(r, 400, "invalid",
                                   "site: want the site's division code");
        if (str_api_need_within(r, site, &ret))
            return ret;
    }
    rc = cat_meetings_current(r->srv->rd, site, &mt);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (mt != NULL) {
        hide_sources(mt);
        add_health(r->srv, mt, false);
    }
    return str_api_reply_json(
        r, 200, json_pack("{s:o}", "meeting", mt != NULL ? mt : json_null()));
}

/* ---- attendance ---- */

/* 0 when admin or viewer token r may read meeting r->id's attendance: its
 * region holds the meeting's owner or some of its stations. Else 1 and
 * the answer in *ret (401, 403, 404). */
static int attend_visible(str_req *r, int *ret)
{
    json_t *mt = NULL, *tot = NULL;
    const char *owner;
    int rc, n;

    if (!r->has_token) {
        *ret = str_reply_error(r, 401, "unauthorized",
                               "attendance needs a token (Authorization: "
                               "Bearer ...)");
        return 1;
    }
    if (r->tok.role == CAT_ROLE_SITE) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "attendance is for admin and viewer tokens");
        return 1;
    }
    rc = cat_meetings_get(r->srv->rd, r->id, &mt);
    if (rc < 0) {
        *ret = str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
        return 1;
    }
    owner = json_string_value(json_object_get(mt, "owner"));
    rc = cat_tokens_allows(r->srv->rd, &r->tok, owner ? owner : "");
    if (rc != 1)
        rc = cat_attend_totals(r->srv->rd, r->id, r->tok.scope, &tot);
    n = tot != NULL ? (int)json_integer_value(json_object_get(tot, "targeted"))
                    : 1;
    json_decref(tot);
    if (rc < 0) {
        *ret = str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    } else if (n == 0) {
        *ret = str_reply_error(r, 403, "forbidden",
                               "meeting %" PRId64 " belongs to region %s and "
                               "is sent to no station of this token's region "
                               "%s",
                               r->id, owner ? owner : "?", r->tok.scope);
    }
    json_decref(mt);
    return rc < 0 || n == 0;
}

/* One CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(yl_buf *b, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        yl_buf_putc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                yl_buf_putc(b, '"');
            yl_buf_putc(b, *s);
        }
        yl_buf_putc(b, '"');
    } else {
        yl_buf_put(b, s, strlen(s));
    }
    yl_buf_put(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void csv_num(yl_buf *b, const json_t *v, bool last)
{
    char n[32] = "";

    if (json_is_integer(v))
        snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(n, sizeof(n), "%.3f", json_real_value(v));
    csv_field(b, n, last);
}

/* The report as CSV for Excel: UTF-8 with a byte order mark (as the
 * admin console's exports, admin.js toCSV), CRLF lines; the stations
 * when the report has them, else the child regions. */
static int attend_csv(str_req *r, const json_t *rep)
{
    static const char *const kid_cols[] = {"targeted", "attended", "share",
                                           "watched_h", "headcount"};
    static const char *const site_cols[] = {"joined_ms", "left_ms", "watched_s",
                                            "devices", "headcount"};
    const json_t *sites = json_object_get(rep, "sites"), *row;
    const char *const *cols = sites != NULL ? site_cols : kid_cols;
    char extra[160];
    yl_buf b = YL_BUF_INIT;
    size_t i;
    int ret;

    yl_buf_put(&b, "\xEF\xBB\xBF", 3);
    yl_buf_printf(&b, "%s\r\n",
                  sites != NULL
                      ? "代码,名称,加入时间(ms),离开时间(ms),收看秒数,设备数,"
                        "到会人数"
                      : "代码,名称,应到站点,实到站点,到会率,收看小时,"
                        "到会人数");
    json_array_foreach(sites != NULL ? sites : json_object_get(rep, "children"),
                       i, row)
    {
        csv_field(&b, json_string_value(json_object_get(row, "code")), false);
        csv_field(&b, json_string_value(json_object_get(row, "name")), false);
        for (int k = 0; k < 5; k++)
            csv_num(&b, json_object_get(row, cols[k]), k == 4);
    }
    if (b.err < 0) {
        yl_buf_free(&b);
        return str_reply_error(r, 500, "internal", "out of memory");
    }
    snprintf(extra, sizeof(extra),
             "Content-Disposition: attachment; "
             "filename=\"meeting-%" PRId64 "-%s.csv\"\r\n",
             r->id, json_string_value(json_object_get(rep, "region")));
    ret = str_reply(r, 200, "text/csv; charset=utf-8", b.s, b.len, extra);
    yl_buf_free(&b);
    return ret;
}

int str_meetings_attendance(str_req *r)
{
    char region[32], fmt[8], sites[4];
    json_t *rep = NULL;
    int rc, ret;
    bool csv, with_sites;

    if (attend_visible(r, &ret))
        return ret;
    if (str_req_query(r, "region", region, sizeof(region)) <= 0)
        snprintf(region, sizeof(region), "%s", r->tok.scope);
    else if (cat_code_level(region) < 0)
        return str_reply_error(r, 400, "invalid",
                               "region: not a division code");
    else if (str_api_need_within(r, region, &ret))
        return ret;
    csv = str_req_query(r, "format", fmt, sizeof(fmt)) > 0;
    if (csv && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
        return str_reply_error(r, 400, "invalid",
                               "format: want \"csv\" or \"json\"");
    csv = csv && strcmp(fmt, "csv") == 0;
    with_sites = str_req_query(r, "sites", sites, sizeof(sites)) > 0 &&
                 strcmp(sites, "0") != 0;
    rc = cat_attend_report(r->srv->rd, r->id, region, with_sites, &rep);
    if (rc < 0)
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    if (!csv)
        return str_api_reply_json(r, 200, rep);
    ret = attend_csv(r, rep);
    json_decref(rep);
    return ret;
}

int str_meetings_list(str_req *r)
{
    char region[32];
    json_t *arr = NULL, *m, *att;
    size_t i;
    int rc, ret, limit = 0;

    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "meetings need a token (Authorization: "
                               "Bearer ...)");
    if (r->tok.role == CAT_ROLE_SITE)
        return str_reply_error(r, 403, "forbidden",
                               "the list of meetings is for admin and viewer "
                               "tokens (a station asks for "
                               "/api/v1/meetings/current)");
    if (str_req_query(r, "region", region, sizeof(region)) <= 0)
        snprintf(region, sizeof(region), "%s", r->tok.scope);
    else if (cat_code_level(region) < 0)
        return str_reply_error(r, 400, "invalid",
                               "region: not a division code");
    else if (str_api_need_within(r, region, &ret))
        return ret;
    if (str_api_qint(r, "limit", 1, 100, &limit, &ret) < 0)
        return ret;
    rc = cat_meetings_list(r->srv->rd, region, limit ? limit : 20, &arr);
    /* Each with its attendance within region; never the source URI (it
     * may hold a passphrase: GET /api/v1/meetings/{id} gives it to the
     * owner's admins). */
    json_array_foreach(arr, i, m)
    {
        if (rc < 0)
            break;
        hide_sources(m);
        add_health(r->srv, m, false);
        rc = cat_attend_totals(r->srv->rd,
                               json_integer_value(json_object_get(m, "id")),
                               region, &att);
        if (rc == 0)
            json_object_set_new(m, "attendance", att);
    }
    if (rc < 0) {
        json_decref(arr);
        return str_api_reply_cat_error(r, rc, cat_db_errmsg(r->srv->rd));
    }
    return str_api_reply_json(
        r, 200, json_pack("{s:s, s:o}", "region", region, "meetings", arr));
}

int str_meetings_headcount(str_req *r)
{
    if (!r->has_token)
        return str_reply_error(r, 401, "unauthorized",
                               "a headcount needs a token (Authorization: "
                               "Bearer ...)");
    if (r->tok.role == CAT_ROLE_VIEWER)
        return str_reply_error(r, 403, "forbidden",
                               "a viewer token cannot enter a headcount");
    return str_body_begin(r, STR_BODY_JSON, 4096);
}

int str_meetings_headcount_body(str_req *r)
{
    json_error_t jerr;
    char site[CAT_CODE_MAX + 8], err[256];
    json_t *in;
    mmsg *d;
    int count, rc, ret = 0;

    in = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES,
                    &jerr);
    if (in == NULL)
        return str_reply_error(r, 400, "malformed_json",
                               "body is not JSON: %s (line %d, column %d)",
                               jerr.text, jerr.line, jerr.column);
    rc = cat_attend_headcount_check(in, site, sizeof(site), &count, err,
                                    sizeof(err));
    json_decref(in);
    if (rc < 0)
        return str_reply_error(r, 400, "invalid", "%s", err);
    /* A station enters its own count; an admin any within its region. */
    if (r->tok.role == CAT_ROLE_SITE && strcmp(site, r->tok.scope) != 0)
        return str_reply_error(r, 403, "forbidden",
                               "the site token of %s cannot enter the "
                               "headcount of %s",
                               r->tok.scope, site);
    if (r->tok.role != CAT_ROLE_SITE && str_api_need_within(r, site, &ret))
        return ret;
    d = mmsg_new(r->srv, r->serial, M_HEAD);
    if (d == NULL)
        return str_reply_error(r, 500, "internal", "out of memory");
    if (cat_attend_headcount_submit(r->srv->w, r->id, site, count, writer_done,
                                    d) < 0) {
        mmsg_free(&d->base);
        return str_reply_error(r, 503, "unavailable",
                               "the server is stopping; retry");
    }
    str_waiting_add(r->srv, r);
    return 0;
}

/* ---- set-up ---- */

void str_meetings_open(str_server *srv)
{
    int64_t ids[MAX_LIVE];
    char why[512];
    json_t *mt;
    int n;

    srv->live = calloc(1, sizeof(*srv->live));
    if (srv->live == NULL || srv->rd == NULL)
        return;
    n = cat_meetings_live_ids(srv->rd, ids, MAX_LIVE);
    for (int i = 0; i < n; i++) {
        if (cat_meetings_get(srv->rd, ids[i], &mt) < 0)
            continue;
        why[0] = '\0';
        if (start_pipeline(srv, mt, why, sizeof(why)) < 0) {
            YL_LOGE("str", "[meeting=%" PRId64 "] cannot restart: %s", ids[i],
                    why);
            submit_failed(srv, ids[i], why);
        } else {
            YL_LOGI("str", "[meeting=%" PRId64 "] live again after a restart",
                    ids[i]);
        }
        json_decref(mt);
    }
}

void str_meetings_metrics(str_server *srv, yl_buf *b)
{
    struct str_live *l = srv->live;
    int restarting = 0;

    if (l == NULL)
        return;
    for (int i = 0; i < l->n; i++)
        restarting += l->v[i].restarting;
    yl_buf_printf(b,
                  "# HELP yunling_live_meetings Meeting pipelines running "
                  "now.\n"
                  "# TYPE yunling_live_meetings gauge\n"
                  "yunling_live_meetings %d\n"
                  "# HELP yunling_live_pipeline_restarts_total Meeting "
                  "pipelines rebuilt after a failure.\n"
                  "# TYPE yunling_live_pipeline_restarts_total counter\n"
                  "yunling_live_pipeline_restarts_total %" PRIu64 "\n"
                  "# HELP yunling_live_pipelines_restarting Meeting "
                  "pipelines being rebuilt now.\n"
                  "# TYPE yunling_live_pipelines_restarting gauge\n"
                  "yunling_live_pipelines_restarting %d\n",
                  l->n, l->restarts, restarting);
}

void str_meetings_close(str_server *srv)
{
    struct str_live *l = srv->live;

    if (l == NULL)
        return;
    for (int i = 0; i < l->n; i++)
        live_meeting_stop(l->v[i].m); /* all at once: EOS in parallel */
    while (l->n > 0)
        ent_drop(srv, &l->v[l->n - 1]);
    srv->live = NULL; /* events posted meanwhile find no meeting */
    free(l);
}
