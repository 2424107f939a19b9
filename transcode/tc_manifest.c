/* tc_manifest.c - lesson.json and the master playlists, written last from
 * the measured renditions (layout in docs/transcode.md). What both list
 * (URIs, bandwidths, CODECS, sizes, languages) is worked out once, into
 * struct manifest, and both writers read it from there. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_lang.h"
#include "transcode/tc_job_internal.h"
#include "transcode/tc_playlist.h"

/* One rendition as lesson.json and the master playlists list it. */
struct mrend {
    char uri[96];          /* "v0/index.m3u8" */
    int64_t bandwidth;     /* peak bit/s; a variant's with the top audio's */
    int64_t avg_bandwidth; /* average bit/s, the same way */
    const char *codecs;    /* variants: "avc1.64001f,mp4a.40.2" */
    int width, height;     /* variants */
    const char *lang;      /* audio, subtitles, burned rungs */
    const char *name;      /* display name of lang */
    char master[96];       /* burned rungs: "master-burn-LANG.m3u8" */
};

struct manifest {
    struct mrend video[TC_LADDER_MAX];
    struct mrend burn[TC_BURN_MAX];
    struct mrend audio[MAX_AUDIO];
    struct mrend subs[MAX_SUBS];
};

static int write_text(tc_job *j, const char *name, const char *text)
{
    const char *p = tcj_tmp_path(j, name);
    int ret = yl_write_file_atomic(p, text, strlen(text));

    if (ret < 0)
        return tc_fail(&j->st, TC_EK_OUTPUT, ret, "%s: cannot write: %s", p,
                       strerror(-ret));
    return 0;
}

static int64_t audio_max(tc_job *j, int avg)
{
    int64_t m = 0;
    int i;

    for (i = 0; i < j->n_audio; i++) {
        int64_t b =
            avg ? j->audio[i].stats.avg_bps : j->audio[i].stats.peak_bps;

        if (b > m)
            m = b;
    }
    return m;
}

/* A video rung as a variant: its bit rates with the top audio's. */
static void variant(tc_job *j, const struct vrend *v, struct mrend *r)
{
    snprintf(r->uri, sizeof(r->uri), "%s/index.m3u8", v->dir);
    r->bandwidth = v->stats.peak_bps + audio_max(j, 0);
    r->avg_bandwidth = v->stats.avg_bps + audio_max(j, 1);
    r->codecs = v->codecs;
    r->width = v->rung.width;
    r->height = v->rung.height;
}

static void build_manifest(tc_job *j, struct manifest *m)
{
    int i;

    memset(m, 0, sizeof(*m));
    for (i = 0; i < j->n_video; i++)
        variant(j, &j->video[i], &m->video[i]);
    for (i = 0; i < j->n_burn; i++) {
        struct vrend *b = &j->burn[i];
        struct mrend *r = &m->burn[i];

        variant(j, b, r);
        r->lang = b->lang;
        r->name = yl_lang_display_name(b->lang);
        snprintf(r->master, sizeof(r->master), "master-burn-%s.m3u8", b->lang);
    }
    for (i = 0; i < j->n_audio; i++) {
        struct arend *a = &j->audio[i];
        struct mrend *r = &m->audio[i];

        snprintf(r->uri, sizeof(r->uri), "%s/index.m3u8", a->dir);
        r->bandwidth = a->stats.peak_bps;
        r->avg_bandwidth = a->stats.avg_bps;
        r->lang = a->lang;
        r->name = yl_lang_display_name(a->lang);
    }
    for (i = 0; i < j->n_subs; i++) {
        struct srend *s = &j->subs[i];
        struct mrend *r = &m->subs[i];

        snprintf(r->uri, sizeof(r->uri), "%s/index.m3u8", s->dir);
        r->lang = s->lang;
        r->name = yl_lang_display_name(s->lang);
    }
}

/* The renditions' entries, into the arrays root already holds. */
static void add_renditions(const tc_job *j, const struct manifest *m,
                           json_t *root)
{
    json_t *video = json_object_get(root, "video");
    json_t *audio = json_object_get(root, "audio");
    json_t *subs = json_object_get(root, "subtitles");
    json_t *langs = json_object_get(root, "languages");
    json_t *slangs = json_object_get(root, "subtitle_languages");
    json_t *burned = json_object_get(root, "burned");
    int i;

    for (i = 0; i < j->n_burn; i++) {
        const struct mrend *b = &m->burn[i];

        json_array_append_new(
            burned,
            json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:I,s:I}", "lang", b->lang,
                      "name", b->name, "master", b->master, "playlist", b->uri,
                      "width", b->width, "height", b->height, "codecs",
                      b->codecs, "bandwidth", (json_int_t)b->bandwidth,
                      "average_bandwidth", (json_int_t)b->avg_bandwidth));
    }
    for (i = 0; i < j->n_video; i++) {
        const struct mrend *v = &m->video[i];

        json_array_append_new(
            video,
            json_pack("{s:i,s:i,s:f,s:s,s:I,s:I,s:s}", "width", v->width,
                      "height", v->height, "fps", round(j->fps * 1000) / 1000,
                      "codecs", v->codecs, "bandwidth",
                      (json_int_t)v->bandwidth, "average_bandwidth",
                      (json_int_t)v->avg_bandwidth, "playlist", v->uri));
    }
    for (i = 0; i < j->n_audio; i++) {
        const struct mrend *a = &m->audio[i];

        json_array_append_new(
            audio,
            json_pack("{s:s,s:s,s:b,s:s,s:I,s:I}", "lang", a->lang, "name",
                      a->name, "default", i == 0, "playlist", a->uri,
                      "bandwidth", (json_int_t)a->bandwidth,
                      "average_bandwidth", (json_int_t)a->avg_bandwidth));
        json_array_append_new(langs, json_string(a->lang));
    }
    for (i = 0; i < j->n_subs; i++) {
        const struct mrend *s = &m->subs[i];

        json_array_append_new(subs,
                              json_pack("{s:s,s:s,s:s}", "lang", s->lang,
                                        "name", s->name, "playlist", s->uri));
        json_array_append_new(slangs, json_string(s->lang));
    }
}

/* Writes root as indented JSON with a final newline. */
static int write_json(tc_job *j, const char *name, const json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(10));
    char *t2;
    size_t n;
    int ret;

    if (text == NULL)
        return tcj_oom(j);
    n = strlen(text);
    t2 = realloc(text, n + 2);
    if (t2 == NULL) {
        free(text);
        return tcj_oom(j);
    }
    text = t2;
    text[n] = '\n';
    text[n + 1] = '\0';
    ret = write_text(j, name, text);
    free(text);
    return ret;
}

static int write_lesson_json(tc_job *j, const struct manifest *m)
{
    json_t *root = NULL, *video, *audio, *subs, *langs, *slangs, *burned;
    int ret = 0;

    root = json_object();
    video = json_array();
    audio = json_array();
    subs = json_array();
    langs = json_array();
    slangs = json_array();
    burned = json_array();
    if (root == NULL || video == NULL || audio == NULL || subs == NULL ||
        langs == NULL || slangs == NULL || burned == NULL) {
        json_decref(burned);
        json_decref(video);
        json_decref(audio);
        json_decref(subs);
        json_decref(langs);
        json_decref(slangs);
        ret = tcj_oom(j);
        goto out;
    }
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "duration_s",
                        json_real(round(j->duration_s * 1000) / 1000));
    json_object_set_new(root, "poster",
                        j->poster_done ? json_string("poster.jpg")
                                       : json_null());
    json_object_set_new(
        root, "thumb", j->poster_done ? json_string("thumb.jpg") : json_null());
    json_object_set_new(root, "thumbs",
                        j->n_thumbs > 0 ? json_string("thumbs.vtt")
                                        : json_null());
    json_object_set_new(root, "video", video);
    json_object_set_new(root, "audio", audio);
    json_object_set_new(root, "subtitles", subs);
    json_object_set_new(root, "languages", langs);
    json_object_set_new(root, "subtitle_languages", slangs);
    /* Burned-in subtitle rungs (docs/transcode.md): each its own master. */
    json_object_set_new(root, "burned", burned);
    add_renditions(j, m, root);
    ret = write_json(j, "lesson.json", root);
out:
    json_decref(root);
    return ret;
}

/* master.m3u8 (burn < 0), or master-burn-LANG.m3u8 for burned rung
 * burn: that one variant with the same audio renditions, no subtitle
 * group (the text is in the picture) and no audio-only variant. A player
 * that does not ask for it never sees the burned rung. */
static int write_master(tc_job *j, const struct manifest *m, int burn)
{
    tc_pl_variant vars[TC_LADDER_MAX];
    tc_pl_media aud[MAX_AUDIO], sub[MAX_SUBS];
    tc_pl_master pm;
    char *text = NULL;
    int i, ret;
    int n_vars = burn < 0 ? j->n_video : 1;

    memset(&pm, 0, sizeof(pm));
    for (i = 0; i < n_vars; i++) {
        const struct mrend *v = burn < 0 ? &m->video[i] : &m->burn[burn];

        vars[i].width = v->width;
        vars[i].height = v->height;
        vars[i].fps = j->fps;
        vars[i].bandwidth = v->bandwidth;
        vars[i].avg_bandwidth = v->avg_bandwidth;
        vars[i].codecs = v->codecs;
        vars[i].uri = v->uri;
    }
    for (i = 0; i < j->n_audio; i++) {
        const struct mrend *a = &m->audio[i];

        aud[i].lang = a->lang;
        aud[i].name = a->name;
        aud[i].is_default = i == 0;
        aud[i].autoselect = 1;
        aud[i].uri = a->uri;
        aud[i].channels = tc_aout_channels(j->audio[i].out);
    }
    for (i = 0; i < j->n_subs; i++) {
        const struct mrend *s = &m->subs[i];

        sub[i].lang = s->lang;
        sub[i].name = s->name;
        sub[i].is_default = 0;
        sub[i].autoselect = 1;
        sub[i].uri = s->uri;
        sub[i].channels = 0;
    }
    pm.variants = vars;
    pm.n_variants = n_vars;
    pm.audio = aud;
    pm.n_audio = j->n_audio;
    pm.subs = sub;
    pm.n_subs = burn < 0 ? j->n_subs : 0;
    pm.ts_segments = !j->o.fmp4;
    pm.no_audio_only = burn >= 0;
    if (j->n_audio > 0) {
        pm.audio_only_bandwidth = m->audio[0].bandwidth;
        pm.audio_only_avg_bandwidth = m->audio[0].avg_bandwidth;
        pm.audio_codecs = "mp4a.40.2";
    }
    ret = tc_playlist_master(&pm, &text);
    if (ret < 0) {
        char e[128];

        return tc_fail(&j->st, TC_EK_INTERNAL, ret,
                       "master.m3u8: cannot render: %s",
                       yl_strerror(ret, e, sizeof(e)));
    }
    ret = write_text(j, burn < 0 ? "master.m3u8" : m->burn[burn].master, text);
    free(text);
    return ret;
}

int tcj_write_manifest(tc_job *j)
{
    struct manifest m;
    int i, ret;

    build_manifest(j, &m);
    ret = write_lesson_json(j, &m);
    if (ret < 0)
        return ret;
    /* Last, so a reader of the temporary directory never sees a master
     * playlist pointing at missing renditions. */
    for (i = 0; i < j->n_burn; i++) {
        ret = write_master(j, &m, i);
        if (ret < 0)
            return ret;
    }
    return write_master(j, &m, -1);
}
