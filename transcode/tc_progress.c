/* tc_progress.c - see tc_progress.h. */
#include "transcode/tc_progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "transcode/tc_status.h"

struct tc_progress {
    int mode;
    int tty;        /* bar mode and stderr is a terminal */
    int bar_drawn;  /* a bar line is on screen (needs a newline) */
    double start_s; /* monotonic */
    double last_s;  /* last report */
};

int tc_progress_new(int mode, tc_progress **out)
{
    tc_progress *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return -ENOMEM;
    p->mode = mode;
    p->tty = mode == TC_PROGRESS_BAR && isatty(2);
    p->start_s = tc_now_s();
    p->last_s = -1;
    *out = p;
    return 0;
}

static void print_json(FILE *f, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(6));

    if (s != NULL) {
        fprintf(f, "%s\n", s);
        fflush(f);
        free(s);
    }
}

static double round2(double v)
{
    return (double)(long long)(v * 100.0 + (v >= 0 ? 0.5 : -0.5)) / 100.0;
}

static void fmt_hms(char *buf, size_t len, double s)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);

    snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

void tc_progress_update(tc_progress *p, double time_s, double duration_s)
{
    double now = tc_now_s();
    double el = now - p->start_s;
    double frac, speed, eta;

    if (p->mode == TC_PROGRESS_NONE || (p->mode == TC_PROGRESS_BAR && !p->tty))
        return;
    /* Nothing decoded yet: no speed, no ETA worth printing. */
    if (time_s <= 0)
        return;
    /* JSON twice a second is plenty for the job runner; the bar 5 times. */
    if (p->last_s >= 0 &&
        now - p->last_s < (p->mode == TC_PROGRESS_JSON ? 0.5 : 0.2))
        return;
    p->last_s = now;
    frac = duration_s > 0 ? time_s / duration_s : 0;
    if (frac > 1)
        frac = 1;
    if (frac < 0)
        frac = 0;
    speed = el > 0 ? time_s / el : 0;
    eta = speed > 0 ? (duration_s - time_s) / speed : -1;
    if (p->mode == TC_PROGRESS_JSON) {
        json_t *o =
            json_pack("{s:s,s:f,s:f,s:f,s:f,s:f}", "event", "progress",
                      "progress", round2(frac), "time_s", round2(time_s),
                      "duration_s", round2(duration_s), "speed", round2(speed),
                      "eta_s", round2(eta < 0 ? 0 : eta));

        if (o != NULL) {
            print_json(stdout, o);
            json_decref(o);
        }
    } else {
        char bar[31], etab[48];
        int i, fill = (int)(frac * 30 + 0.5);

        for (i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[30] = '\0';
        if (eta < 0)
            snprintf(etab, sizeof(etab), "--:--:--");
        else
            fmt_hms(etab, sizeof(etab), eta);
        fprintf(stderr, "\r[%s] %5.1f%%  %.2fx  ETA %s ", bar, frac * 100,
                speed, etab);
        fflush(stderr);
        p->bar_drawn = 1;
    }
}

void tc_progress_done(tc_progress *p, double duration_s, const char *out_abs)
{
    if (p->mode == TC_PROGRESS_JSON) {
        json_t *o = json_pack("{s:s,s:f,s:s}", "event", "done", "duration_s",
                              round2(duration_s), "out", out_abs);

        if (o != NULL) {
            print_json(stdout, o);
            json_decref(o);
        }
    } else if (p->tty) {
        double el = tc_now_s() - p->start_s;

        p->last_s = -1;
        fprintf(stderr,
                "\r[##############################] 100.0%%  %.2fx  done in "
                "%.1f s\n",
                el > 0 ? duration_s / el : 0, el);
        p->bar_drawn = 0;
    }
}

void tc_progress_error(tc_progress *p, const char *code, const char *msg)
{
    char clean[1024];

    /* A file name in the message may not be UTF-8; JSON must be. */
    json_t *js = json_string(msg);

    if (js == NULL) {
        size_t i;

        snprintf(clean, sizeof(clean), "%s", msg);
        for (i = 0; clean[i]; i++)
            if ((unsigned char)clean[i] >= 0x80)
                clean[i] = '?';
        msg = clean;
    }
    json_decref(js);
    if (p->bar_drawn) {
        fputc('\n', stderr);
        p->bar_drawn = 0;
    }
    if (p->mode == TC_PROGRESS_JSON) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "event", "error", "code", code,
                              "message", msg);

        if (o != NULL) {
            print_json(stdout, o);
            print_json(stderr, o);
            json_decref(o);
        }
    } else {
        fprintf(stderr, "yunling transcode: %s\n", msg);
    }
}

void tc_progress_free(tc_progress *p)
{
    if (p && p->bar_drawn)
        fputc('\n', stderr);
    free(p);
}
