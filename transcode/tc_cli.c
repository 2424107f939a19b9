/* tc_cli.c - `yunling transcode`: parses the command line, routes libav's
 * log into yl_log, runs one tc_job and maps its outcome to the documented
 * exit codes (docs/transcode.md). Main thread, plus a signal handler that
 * only asks the job to stop. */
#include "transcode/tc_cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <libavutil/log.h>

#include "common/yl_err.h"
#include "common/yl_log.h"
#include "transcode/tc_job.h"
#include "transcode/tc_ladder.h"
#include "common/yl_lang.h"
#include "transcode/tc_progress.h"
#include "transcode/tc_status.h"

/* Exit codes: <sysexits.h> (EX_USAGE, EX_DATAERR for unreadable or
 * corrupt input, EX_SOFTWARE, EX_CANTCREAT for the output), and the
 * shell's 128 + SIGINT for an interrupt (also SIGTERM), which sysexits
 * does not name. */
#define EXIT_INTR 130

#define MAX_ARGS 32

static _Atomic(tc_job *) running_job;
static atomic_bool signalled;

static void on_signal(int sig)
{
    tc_job *j = atomic_load(&running_job);

    (void)sig;
    atomic_store(&signalled, true);
    if (j != NULL)
        tc_job_cancel(j);
}

/* libav logs from codec threads too: yl_log is thread-safe; partial lines
 * are collected per thread until their newline. */
static void av_log_to_yl(void *avcl, int level, const char *fmt, va_list vl)
{
    static _Thread_local char line[1024];
    static _Thread_local int print_prefix = 1;
    size_t n;

    if (level > av_log_get_level())
        return;
    n = strlen(line);
    av_log_format_line2(avcl, level, fmt, vl, line + n, sizeof(line) - (int)n,
                        &print_prefix);
    n = strlen(line);
    if (n == 0 || (line[n - 1] != '\n' && n < sizeof(line) - 1))
        return;
    yl_log(level <= AV_LOG_ERROR     ? YL_LOG_ERR
           : level <= AV_LOG_WARNING ? YL_LOG_WARN
           : level <= AV_LOG_INFO    ? YL_LOG_INFO
                                     : YL_LOG_DEBUG,
           "av", "%s", line);
    line[0] = '\0';
}

static void usage(FILE *f)
{
    fputs(
        "usage: yunling transcode -i SRC [options] -o OUTDIR\n"
        "\n"
        "  -i, --input SRC            source lesson (mp4, mkv, mov, ts, or an\n"
        "                             audio file for an audio-only lesson)\n"
        "  -o, --output OUTDIR        lesson directory to publish (must not\n"
        "                             exist unless --force)\n"
        "      --audio-lang N=LANG    language of the source's N-th audio\n"
        "                             stream (0-based), overriding its tag\n"
        "      --audio LANG=FILE      add a dub (any audio or video file)\n"
        "      --dub-clock C          own (default: a dub starts with the\n"
        "                             lesson) or source (dubs are placed by\n"
        "                             their timestamps on the source's clock)\n"
        "      --audio-copy C         auto (default: an MP4/M4A track that is\n"
        "                             already AAC-LC 44.1/48 kHz, mono or\n"
        "                             stereo, <= 64/128 kb/s is kept as it\n"
        "                             is) or never (always re-encode)\n"
        "      --subs LANG=FILE       add subtitles (SRT, WebVTT or ASS)\n"
        "      --burn-subs LANG       also a 480p rung with LANG's --subs drawn\n"
        "                             into the picture, for TVs that cannot\n"
        "                             show them (master-burn-LANG.m3u8)\n"
        "      --fonts-dir DIR        fonts for --burn-subs (default: the\n"
        "                             web player's, gathered by the build)\n"
        "      --ladder H,H,...       rung heights (default 720,480,360,240)\n"
        "      --segment-type T       fmp4 (default) or ts\n"
        "      --segment-seconds S    target segment duration (default 4)\n"
        "      --force                replace an existing OUTDIR atomically\n"
        "      --progress MODE        bar (default, on a terminal only),\n"
        "                             json (lines on stdout) or none\n"
        "      --preset P             x264 preset (default veryfast)\n"
        "      --threads N,N,...      x264 threads per rung (default: sized\n"
        "                             for this machine, e.g. 3,2,1,1)\n"
        "      --thumbs S             a seek-preview picture every S seconds\n"
        "                             (1..600, default 10; 0: none)\n"
        "  -h, --help                 this text\n"
        "\n"
        "LANG is a BCP-47 tag (zh, bo, lis, duu, wbm, ...). Exit codes: 0 ok,\n"
        "64 usage, 65 bad input, 70 internal error, 73 output error,\n"
        "130 interrupted. See docs/transcode.md.\n",
        f);
}

/* "LANG=VALUE": normalises LANG into lang. Returns VALUE or NULL. */
static const char *split_lang(const char *opt, const char *arg, char *lang,
                              size_t len, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    char tag[128];

    if (eq == NULL || eq == arg || eq[1] == '\0') {
        snprintf(err, errlen, "--%s %s: expected LANG=FILE", opt, arg);
        return NULL;
    }
    if ((size_t)(eq - arg) >= sizeof(tag)) {
        snprintf(err, errlen, "--%s: language tag too long", opt);
        return NULL;
    }
    memcpy(tag, arg, (size_t)(eq - arg));
    tag[eq - arg] = '\0';
    if (yl_lang_normalize(tag, lang, len) < 0) {
        snprintf(err, errlen,
                 "--%s %s: \"%s\" is not a well-formed BCP-47 language tag",
                 opt, arg, tag);
        return NULL;
    }
    return eq + 1;
}

struct cli {
    tc_job_opts o;
    tc_job_lang langs[MAX_ARGS];
    tc_job_file dubs[MAX_ARGS];
    tc_job_file subs[MAX_ARGS];
    char burn_buf[TC_BURN_MAX][YL_LANG_MAX];
    const char *burn[TC_BURN_MAX];
    char lang_buf[3 * MAX_ARGS][YL_LANG_MAX];
    int n_lang_buf;
    int heights[TC_LADDER_MAX];
    int progress_mode;
};

/* A word option's accepted values, e.g. --progress bar|json|none. */
struct keyword {
    const char *name;
    int value;
};

/* --OPT ARG where ARG is one of kw's names (kw ends with a NULL name):
 * sets *out, or reports "expected WANT". */
static int parse_keyword(const char *opt, const char *arg,
                         const struct keyword *kw, const char *want, int *out,
                         char *err, size_t errlen)
{
    for (; kw->name != NULL; kw++)
        if (strcmp(arg, kw->name) == 0) {
            *out = kw->value;
            return 0;
        }
    snprintf(err, errlen, "--%s %s: expected %s", opt, arg, want);
    return YL_EUSAGE;
}

/* --audio-lang N=LANG: the language of the source's N-th audio stream;
 * lang is the buffer to normalise LANG into. */
static int parse_audio_lang(struct cli *c, const char *arg, char *lang,
                            char *err, size_t errlen)
{
    char *end;
    long idx = strtol(arg, &end, 10);

    if (end == arg || *end != '=' || idx < 0 || idx > 99) {
        snprintf(err, errlen,
                 "--audio-lang %s: expected N=LANG (N: 0-based "
                 "audio stream number)",
                 arg);
        return YL_EUSAGE;
    }
    if (yl_lang_normalize(end + 1, lang, YL_LANG_MAX) < 0) {
        snprintf(err, errlen,
                 "--audio-lang %s: \"%s\" is not a well-formed "
                 "BCP-47 language tag",
                 arg, end + 1);
        return YL_EUSAGE;
    }
    c->langs[c->o.n_audio_langs].index = (int)idx;
    c->langs[c->o.n_audio_langs].lang = lang;
    c->o.n_audio_langs++;
    return 0;
}

/* --audio LANG=FILE (ch 'A', a dub) or --subs LANG=FILE (ch 'S'); lang is
 * the buffer to normalise LANG into. */
static int parse_lang_file(struct cli *c, int ch, const char *arg, char *lang,
                           char *err, size_t errlen)
{
    const char *opt = ch == 'A' ? "audio" : "subs";
    tc_job_file *f = ch == 'A' ? &c->dubs[c->o.n_dubs] : &c->subs[c->o.n_subs];
    const char *v = split_lang(opt, arg, lang, YL_LANG_MAX, err, errlen);

    if (v == NULL)
        return YL_EUSAGE;
    f->lang = lang;
    f->path = v;
    if (ch == 'A')
        c->o.n_dubs++;
    else
        c->o.n_subs++;
    return 0;
}

/* --audio-lang, --audio or --subs (ch 'L', 'A', 'S'): each takes the next
 * of lang_buf for its language. */
static int parse_lang_opt(struct cli *c, int ch, const char *arg, char *err,
                          size_t errlen)
{
    char *lang =
        c->n_lang_buf < 3 * MAX_ARGS ? c->lang_buf[c->n_lang_buf] : NULL;
    int ret;

    if (lang == NULL || c->o.n_audio_langs == MAX_ARGS ||
        c->o.n_dubs == MAX_ARGS || c->o.n_subs == MAX_ARGS) {
        snprintf(err, errlen, "too many --audio/--subs options");
        return YL_EUSAGE;
    }
    if (ch == 'L')
        ret = parse_audio_lang(c, arg, lang, err, errlen);
    else
        ret = parse_lang_file(c, ch, arg, lang, err, errlen);
    if (ret < 0)
        return ret;
    c->n_lang_buf++;
    return 0;
}

/* --burn-subs LANG: one more burned-in subtitle language. */
static int parse_burn(struct cli *c, const char *arg, char *err, size_t errlen)
{
    if (c->o.n_burn == TC_BURN_MAX) {
        snprintf(err, errlen, "--burn-subs: at most %d languages", TC_BURN_MAX);
        return YL_EUSAGE;
    }
    if (yl_lang_normalize(arg, c->burn_buf[c->o.n_burn], YL_LANG_MAX) < 0) {
        snprintf(err, errlen,
                 "--burn-subs %s: \"%s\" is not a well-formed "
                 "BCP-47 language tag",
                 arg, arg);
        return YL_EUSAGE;
    }
    c->burn[c->o.n_burn] = c->burn_buf[c->o.n_burn];
    c->o.n_burn++;
    return 0;
}

/* --ladder H,H,...: the rung heights. */
static int parse_ladder(struct cli *c, const char *arg, char *err,
                        size_t errlen)
{
    int n = tc_ladder_parse(arg, c->heights, TC_LADDER_MAX);

    if (n <= 0) {
        snprintf(err, errlen,
                 "--ladder %s: expected even heights 64..4320, "
                 "comma-separated, no duplicates (e.g. 720,480,360)",
                 arg);
        return YL_EUSAGE;
    }
    c->o.heights = c->heights;
    c->o.n_heights = n;
    return 0;
}

/* --segment-seconds S: 1 to 60. */
static int parse_seg_seconds(struct cli *c, const char *arg, char *err,
                             size_t errlen)
{
    char *end;

    c->o.seg_s = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(c->o.seg_s >= 1.0) ||
        c->o.seg_s > 60.0) {
        snprintf(err, errlen, "--segment-seconds %s: expected 1 to 60 seconds",
                 arg);
        return YL_EUSAGE;
    }
    return 0;
}

/* --thumbs S: 0 (none, stored as -1) to 600. */
static int parse_thumbs(struct cli *c, const char *arg, char *err,
                        size_t errlen)
{
    char *end;
    long s = strtol(arg, &end, 10);

    if (end == arg || *end != '\0' || s < 0 || s > 600) {
        snprintf(err, errlen, "--thumbs %s: expected 0 (none) to 600 seconds",
                 arg);
        return YL_EUSAGE;
    }
    c->o.thumbs_s = s == 0 ? -1 : (int)s;
    return 0;
}

/* One option from getopt_long (ch, with its value in optarg). Returns 0,
 * 1 for --help, or YL_EUSAGE with err set. */
static int parse_option(struct cli *c, int ch, char **argv, char *err,
                        size_t errlen)
{
    static const struct keyword dub_clocks[] = {
        {"own", 0}, {"source", 1}, {NULL, 0}};
    static const struct keyword seg_types[] = {
        {"fmp4", 1}, {"ts", 0}, {NULL, 0}};
    static const struct keyword audio_copy[] = {
        {"auto", 0}, {"never", 1}, {NULL, 0}};
    static const struct keyword progress_modes[] = {{"bar", TC_PROGRESS_BAR},
                                                    {"json", TC_PROGRESS_JSON},
                                                    {"none", TC_PROGRESS_NONE},
                                                    {NULL, 0}};

    switch (ch) {
    case 'i':
        c->o.in_path = optarg;
        return 0;
    case 'o':
        c->o.out_dir = optarg;
        return 0;
    case 'L':
    case 'A':
    case 'S':
        return parse_lang_opt(c, ch, optarg, err, errlen);
    case 'D':
        return parse_keyword("dub-clock", optarg, dub_clocks, "own or source",
                             &c->o.dub_clock_source, err, errlen);
    case 'B':
        return parse_burn(c, optarg, err, errlen);
    case 'F':
        c->o.fonts_dir = optarg;
        return 0;
    case 'l':
        return parse_ladder(c, optarg, err, errlen);
    case 't':
        return parse_keyword("segment-type", optarg, seg_types, "fmp4 or ts",
                             &c->o.fmp4, err, errlen);
    case 's':
        return parse_seg_seconds(c, optarg, err, errlen);
    case 'C':
        return parse_keyword("audio-copy", optarg, audio_copy, "auto or never",
                             &c->o.no_audio_copy, err, errlen);
    case 'f':
        c->o.force = 1;
        return 0;
    case 'p':
        return parse_keyword("progress", optarg, progress_modes,
                             "bar, json or none", &c->progress_mode, err,
                             errlen);
    case 'P':
        c->o.preset = optarg;
        return 0;
    case 'T':
        c->o.threads = optarg;
        return 0;
    case 'N':
        return parse_thumbs(c, optarg, err, errlen);
    case 'h':
        return 1;
    case ':':
        snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
        return YL_EUSAGE;
    default:
        snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
        return YL_EUSAGE;
    }
}

/* Each --burn-subs LANG needs a --subs LANG=FILE and is given once. */
static int check_burn(const struct cli *c, char *err, size_t errlen)
{
    int n, k;

    for (n = 0; n < c->o.n_burn; n++) {
        int found = 0;

        for (k = 0; k < c->o.n_subs; k++)
            found |= strcmp(c->subs[k].lang, c->burn[n]) == 0;
        if (!found) {
            snprintf(err, errlen,
                     "--burn-subs %s: no --subs %s=FILE given (the burned "
                     "subtitles are drawn from a --subs file)",
                     c->burn[n], c->burn[n]);
            return YL_EUSAGE;
        }
        for (k = 0; k < n; k++)
            if (strcmp(c->burn[k], c->burn[n]) == 0) {
                snprintf(err, errlen, "--burn-subs %s: given twice",
                         c->burn[n]);
                return YL_EUSAGE;
            }
    }
    return 0;
}

static int parse(struct cli *c, int argc, char **argv, char *err, size_t errlen)
{
    static const struct option longopts[] = {
        {"input", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"audio-lang", required_argument, NULL, 'L'},
        {"audio", required_argument, NULL, 'A'},
        {"subs", required_argument, NULL, 'S'},
        {"burn-subs", required_argument, NULL, 'B'},
        {"fonts-dir", required_argument, NULL, 'F'},
        {"ladder", required_argument, NULL, 'l'},
        {"segment-type", required_argument, NULL, 't'},
        {"segment-seconds", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},
        {"progress", required_argument, NULL, 'p'},
        {"preset", required_argument, NULL, 'P'},
        {"threads", required_argument, NULL, 'T'},
        {"thumbs", required_argument, NULL, 'N'},
        {"dub-clock", required_argument, NULL, 'D'},
        {"audio-copy", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, ret;

    c->o.fmp4 = 1;
    c->o.seg_s = 4.0;
    c->progress_mode = TC_PROGRESS_BAR;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":i:o:h", longopts, NULL)) != -1) {
        ret = parse_option(c, ch, argv, err, errlen);
        if (ret != 0)
            return ret;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
        return YL_EUSAGE;
    }
    if (c->o.in_path == NULL || c->o.out_dir == NULL) {
        snprintf(err, errlen, "-i SRC and -o OUTDIR are required");
        return YL_EUSAGE;
    }
    ret = check_burn(c, err, errlen);
    if (ret < 0)
        return ret;
    c->o.audio_langs = c->langs;
    c->o.dubs = c->dubs;
    c->o.subs = c->subs;
    c->o.burn = c->burn;
    return 0;
}

static int exit_code(int kind)
{
    switch (kind) {
    case TC_EK_USAGE:
        return EX_USAGE;
    case TC_EK_INPUT:
        return EX_DATAERR;
    case TC_EK_OUTPUT:
        return EX_CANTCREAT;
    case TC_EK_INTR:
        return EXIT_INTR;
    default:
        return EX_SOFTWARE;
    }
}

int tc_cli_main(int argc, char **argv)
{
    struct cli *c = NULL;
    tc_progress *prog = NULL;
    tc_job *job = NULL;
    struct sigaction sa;
    char err[1024] = "";
    int ret, rc = EX_SOFTWARE;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        fputs("yunling transcode: out of memory\n", stderr);
        return EX_SOFTWARE;
    }
    ret = parse(c, argc, argv, err, sizeof(err));
    if (ret == 1) {
        usage(stdout);
        rc = EX_OK;
        goto out;
    }
    if (tc_progress_new(c->progress_mode, &prog) < 0) {
        fputs("yunling transcode: out of memory\n", stderr);
        goto out;
    }
    if (ret < 0) {
        tc_progress_error(prog, tc_ekind_name(TC_EK_USAGE), err);
        if (c->progress_mode != TC_PROGRESS_JSON)
            fputs("('yunling transcode --help' lists the options)\n", stderr);
        rc = EX_USAGE;
        goto out;
    }

    /* libav says only what is an error, unless YL_LOG=debug. */
    av_log_set_level(yl_log_get_level() >= YL_LOG_DEBUG ? AV_LOG_VERBOSE
                                                        : AV_LOG_ERROR);
    av_log_set_callback(av_log_to_yl);

    c->o.progress = prog;
    if (tc_job_new(&c->o, &job) < 0) {
        tc_progress_error(prog, "internal", "out of memory");
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    atomic_store(&running_job, job);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill the cleanup */
    if (atomic_load(&signalled))
        tc_job_cancel(job);

    ret = tc_job_run(job);
    if (ret == 0) {
        char abs[PATH_MAX];

        if (realpath(c->o.out_dir, abs) == NULL)
            snprintf(abs, sizeof(abs), "%s", c->o.out_dir);
        tc_progress_done(prog, tc_job_duration(job), abs);
        rc = EX_OK;
    } else {
        int kind = tc_job_error(job, err, sizeof(err));

        tc_progress_error(prog, tc_ekind_name(kind), err);
        rc = exit_code(kind);
    }
out:
    if (job != NULL) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        atomic_store(&running_job, NULL);
    }
    tc_job_free(job);
    tc_progress_free(prog);
    free(c);
    return rc;
}
