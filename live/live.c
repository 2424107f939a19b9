/* live.c - a meeting's GStreamer pipeline and its live HLS (live.h).
 *
 * The pipeline is described as gst_parse_launch() text: the source, a tee
 * per video rung and a branch per audio language, each ending in its own
 * mpegtsmux and a fakesink whose pad probe cuts the stream into 1-second
 * segment files (hls_*: at the first keyframe, or audio frame, on a
 * one-second grid) and posts a message per closed segment; the meeting
 * thread lists it in the media playlist, with the wall clock of the
 * pipeline's clock time (monotonic; wall_off_ns) for
 * EXT-X-PROGRAM-DATE-TIME. Not hlssink2:
 * its splitmuxsink closes a fragment only when the GOP after the next
 * one is complete (it gathers a whole GOP before it decides where it
 * goes), so every segment was listed ~1 s after its last frame
 * (docs/performance.md, "Latency from ingest to picture").
 *
 * A network source (SRT, RTSP) and an interpreter's feed are ingested by
 * pipelines of their own, rebuilt while the feed is away. Their appsinks
 * hand every decoded buffer over to the encoding pipeline's appsrcs with
 * its source timestamp kept (on_feed()): presented at its time plus the
 * ingest's lag (how late its buffers come, the same for the picture and
 * the sound: HANDOFF_NS), so that the sound stays with the picture
 * whichever the feed brings first. There a live compositor (over black)
 * and an audiomixer per language (with silence) make the frames of each
 * 40 ms and the sound of each 10 ms, from the feed or without it: the
 * encoders never wait for a feed, and on loss the slate is shown.
 *
 * Threads: live_meeting_start() runs on the owner's thread; meeting_main()
 * on the meeting's thread builds the pipeline, watches its bus, writes the
 * playlists and reports events, and runs the ingests (the main one of a
 * network source and each interpreter's); pad_added() and the matching of
 * audio tracks (map_*, under map_lock) run on streaming threads and only
 * link pads; on_feed() runs on an ingest's streaming threads and only
 * pushes to an appsrc (feed_lock). */
#include "live/live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/pbutils/pbutils.h>

#include "common/yl_buf.h"
#include "common/yl_err.h"
#include "common/yl_fs.h"
#include "common/yl_lang.h"
#include "common/yl_log.h"

#define MAX_AUDIO LIVE_AUDIO_MAX
#define MAX_APADS 8 /* decoded audio pads of a source looked at */
/* The tracks of a source are matched to the declared languages once every
 * decoded audio pad brought its first buffer (and its tags); a track that
 * brings none this long after the first pad appeared is matched without. */
#define MAP_WAIT_US (2 * G_USEC_PER_SEC)
#define MAX_STREAMS (2 + MAX_AUDIO)
#define CHUNK_MAX   (64 * 1024) /* a websocket chunk is sent from here */
#define TS_PKT      188
/* A stopped mux keeps what it held (its aggregator waits for the other
 * input): output this much older than the keyframe that started it again
 * is that, and goes to nobody. Below a keyframe interval, above any
 * difference between a buffer's time in and out of the mux. */
#define STALE_NS (GST_SECOND / 2)
#define WINDOW   6 /* segments in a media playlist */
/* Segments of a stream kept on disk, of every build: a player that read
 * a playlist may still fetch the oldest it listed. Older ones go. */
#define KEEP_FILES 15
#define SEG_NS     GST_SECOND /* a segment's length: the grid of cuts */
/* A cut point this much before the grid's next line still cuts there (an
 * AAC frame is 21.3 ms: audio segments are 0.98-1.02 s). */
#define SEG_SLACK_NS (20 * GST_MSECOND)
#define FPS          25 /* every rung: a keyframe each FPS frames = 1 s */
#define EOS_WAIT_NS  (5 * GST_SECOND)
#define REC_MIN_S    1.0 /* a shorter recording (a stop at once) is none */
#define LOSS_NS      (1 * GST_SECOND) /* no frame for this long: slate */
#define STUCK_NS     (3 * GST_SECOND) /* then rebuild the ingest */
/* A pipeline that failed after it was live is rebuilt after 1, 2, 4, 8,
 * 8 ... s, at most RESTART_MAX times in a row: the next failure fails the
 * meeting. A build that stayed up HEALTHY_US clears the count. */
#define RESTART_MAX      5
#define RESTART_FIRST_US G_USEC_PER_SEC
#define RESTART_CAP_US   (8 * G_USEC_PER_SEC)
#define HEALTHY_US       (30 * G_USEC_PER_SEC)
#define TSDEMUX_MS       100 /* tsdemux's latency on the ingest (default 700) */
/* The hand-over from an ingest to the encoding pipeline (feed, anchor):
 * every buffer is presented HANDOFF_NS after its source timestamp plus
 * the ingest's lag, the most its buffers came late against their
 * timestamps in the first WARM_NS after (re)anchoring; later, a buffer
 * later than that by more than HANDOFF_NS raises the lag. A buffer whose
 * own lag moved by more than RESYNC_NS from the one before of its medium
 * (the feed's timestamps jumped: a new caller) anchors anew. */
#define HANDOFF_NS (60 * GST_MSECOND)
#define WARM_NS    GST_SECOND
#define RESYNC_NS  GST_SECOND
/* A lag raised by a moment of load comes down again: every DECAY_NS it
 * is lowered by up to DECAY_STEP_NS towards the most its buffers came
 * late in that time. Steps below a frame: no picture is lost; the
 * audiomixer's alignment threshold is half a step, so that it follows
 * each one (skipping 20 ms of sound) rather than hold the sound late
 * until the steps add up to its default 40 ms. */
#define DECAY_NS      (2 * GST_SECOND)
#define DECAY_STEP_NS (20 * GST_MSECOND)
/* A lag more than DECAY_FAST_NS above what the last DECAY_NS needed (a
 * stall of the ingest passed) comes down by half the excess a step: a
 * skip of sound once, rather than minutes of pictures held long. */
#define DECAY_FAST_NS (200 * GST_MSECOND)
/* The most the lag may be: a medium later than that against its source
 * time is presented late (the aggregators drop what is too late) rather
 * than hold every picture longer than the appsrc's 2 s queue keeps
 * (pictures come up to 0.6 s ahead of their time, so they wait the lag
 * plus that). */
#define LAG_MAX_NS (GST_SECOND)
#define MAX_FEEDS  (1 + MAX_AUDIO) /* [0] the video, [1 + i] audio i */
/* The slate: 1280x720, "信号中断，请稍候" in white on black. A picture, not
 * textoverlay: rendering CJK text needs a system CJK font, and installing
 * one changes what browsers on the machine draw. */
#ifndef YL_LIVE_SLATE
#define YL_LIVE_SLATE "live/slate.png"
#endif
#define AUDIO_CAPS                                                             \
    "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"

/* One MPEG-TS mux for the websocket path: a video rung with one audio
 * language. Set up on the meeting thread before the pipeline plays and
 * then fixed, except watchers (any thread), open (the gates' streaming
 * threads; ts_reset()) and the chunk being gathered (its sink's streaming
 * thread only). */
typedef struct tsout {
    live_meeting *m;
    int index;
    int rung; /* height */
    char lang[YL_LANG_MAX];
    atomic_int watchers;
    /* The gates in front of the mux (gate_video(), gate_audio()): set by
     * the video gate at the first keyframe while someone watches, cleared
     * by it when nobody does. The mux is fed only while it is set. */
    atomic_bool open;
    /* The running time of the keyframe that opened the gate last (ns;
     * GST_CLOCK_TIME_NONE before): what the mux outputs from before it
     * (STALE_NS) is what it held when it was stopped, not passed on. */
    atomic_ullong open_rt;
    /* Streaming thread of the sink: the chunk being gathered. */
    unsigned char *buf;
    size_t len, cap;
    bool key;
    GstClockTime pts;
    /* The last PAT and PMT packets, for a keyframe chunk's start. */
    unsigned char pat[188], pmt[188];
    size_t stale;  /* bytes dropped as held by the stopped mux (STALE_NS) */
    int pmt_pid;   /* from the PAT; 0 before */
    int video_pid; /* from the PMT; 0 before (then no key is found) */
} tsout;

/* How one ingest's buffers are handed over (HANDOFF_NS): the main feed's
 * (anchors[0], its video and audio alike, so that they stay in sync) or an
 * interpreter's (anchors[1 + slot]). Under feed_lock. */
typedef struct anchor {
    bool set;
    GstClockTimeDiff lag; /* how late its buffers come: ns */
    GstClockTime since;   /* clock time of the anchoring */
    /* The most they came late since win_at (clock time): DECAY_NS. */
    GstClockTimeDiff win_max;
    GstClockTime win_at;
} anchor;

/* One medium handed over: the user data of its appsink's callbacks
 * (on_feed(), streaming thread of the ingest). m is fixed; the rest is
 * under feed_lock: an is set as its ingest is built (feed_connect()), src is
 * the encoding pipeline's appsrc (a ref, set by the meeting thread for each
 * build, NULL while there is none), last the lag of the medium's previous
 * buffer. */
typedef struct feed {
    live_meeting *m;
    int an; /* its anchor in m->anchors */
    GstElement *src;
    bool seen;
    GstClockTimeDiff last;
} feed;

/* An interpreter's own audio-only feed (live_audio.source): an ingest
 * pipeline of its own feeding its language's appsrc (feeds[1 + slot]), started,
 * watched and rebuilt by the meeting thread like the main ingest. Meeting
 * thread, but last_in_ns and linked: streaming threads. */
typedef struct interp {
    live_meeting *m;
    int slot;  /* the audio rendition (feeds[1 + slot]) */
    char *uri; /* owned */
    GstElement *pipe;
    atomic_llong last_in_ns; /* monotonic time of its last audio buffer */
    atomic_bool linked;      /* its first decoded audio pad is linked */
    gint64 retry_at_us;      /* rebuild then; 0 none */
    bool up;                 /* the feed is there (for the log) */
} interp;

/* A decoded audio pad of the main ingest waiting to be matched to a
 * declared language (map_*): blocked at its first buffer. */
typedef struct apad {
    GstPad *pad;            /* a ref */
    gulong probe;           /* the blocking probe; 0 once removed */
    bool ready;             /* its first buffer came: its tags are known */
    char lang[YL_LANG_MAX]; /* its language tag, normalised; "" none */
    char *sid; /* its stream id (g_free), for stream order; may be NULL */
} apad;

typedef struct seg {
    int64_t idx;     /* media sequence from the run's start, every build */
    int gen;         /* the build that wrote it (its file name) */
    int64_t fidx;    /* its file number within that build */
    bool disc;       /* the first after a rebuild: EXT-X-DISCONTINUITY */
    double dur;      /* seconds */
    int64_t wall_ms; /* wall clock of its first sample's ingest */
} seg;

/* One rendition: a video rung or an audio language. Meeting thread. */
typedef struct stream {
    char name[48]; /* file prefix and element name: v720, a_zh */
    char lang[YL_LANG_MAX];
    int width, height, kbps;
    bool audio;
    seg win[WINDOW];
    int nwin;
    int64_t next_idx, closed; /* fragments opened / closed so far */
    int64_t bclosed;          /* fragments closed by this build */
    bool disc_next;           /* the next segment follows a rebuild */
    int64_t disc_seq;         /* EXT-X-DISCONTINUITY-SEQUENCE */
    guint64 open_rt;
    int64_t open_wall_ms;
    int target; /* EXT-X-TARGETDURATION: never lowered */
    /* Segment files on disk, oldest first (any build): deleted past
     * KEEP_FILES. */
    struct {
        int gen;
        int64_t fidx;
    } kept[KEEP_FILES];
    int nkept;
} stream;

/* One rendition's segmenter, on the pad of its fakesink (hls_*). Set up by
 * the meeting thread before PLAYING (m, index, audio, gen, sink), then the
 * sink's streaming thread's alone until the pipeline is torn down; the
 * meeting thread then removes a segment left open (hls_reset()). */
typedef struct hlsout {
    live_meeting *m;
    GstElement *sink; /* the fakesink (the pipeline's), for messages */
    int index;        /* m->st[index] */
    bool audio;
    int gen;      /* the build: the files' names */
    int fd;       /* the segment being written, -1 none */
    int64_t fidx; /* its number within the build */
    bool failed;  /* a write failed: nothing more (an error is posted) */
    GstClockTime start, next_cut; /* running times */
    GstClockTime last, prev;      /* the last two timestamps seen */
    unsigned char pat[TS_PKT], pmt[TS_PKT];
    int pmt_pid, es_pid; /* 0 until the PAT / PMT are seen */
} hlsout;

struct live_meeting {
    int64_t id;
    /* This run's start, in seconds since the epoch: in every segment's
     * name (a meeting started again never reuses a name that caches hold
     * as immutable) and the base of the media sequence numbers (a later
     * run's are higher: its segments are ~1 s and it starts later). */
    int64_t run;
    char *source, *dir, *slate;
    int kind;
    live_event_fn event;
    void *ud;
    pthread_t th;
    bool th_started;
    atomic_bool stop;

    /* Meeting thread (and pad_added, which reads what was set before the
     * pipeline started). */
    GstElement *pipe;
    stream st[MAX_STREAMS];
    int nst, nvideo, naudio;
    int src_height;
    bool ready;
    atomic_int audio_linked;
    /* Rebuilds after a failure (restart_later()). gen: this build's
     * number (0 the first), in its segments' names; fails: failures in a
     * row; rebuild_at_us: when the next build starts (monotonic; the pipe
     * is NULL until then); built_at_us: when this one started; resumed:
     * the rebuilt pipeline closed a segment of every stream. pipe_restarts is
     * read by any thread (live_meeting_restarts()). base_time: the first
     * build's; rt_offset: what a rebuild adds to its running time after
     * the encoders (the tees' sink pads), so that the timestamps of the
     * segments, the recording and the websocket path go on from the
     * first build's, across the gap (set before PLAYING, read by
     * streaming threads). fault_*: the test-only failure
     * (YL_LIVE_TEST_FAIL, see fault_arm()); restart_first_us: the first
     * back-off, RESTART_FIRST_US but in a test (restart_init()). */
    int gen, fails;
    gint64 rebuild_at_us, built_at_us, restart_first_us;
    bool resumed;
    atomic_int pipe_restarts;
    gint64 fault_at_us;
    int fault_s, fault_left;
    const char *fault_file; /* getenv()'s; NULL none */
    atomic_bool video_linked;

    /* A network source (srt://, rtsp://) is ingested by a pipeline of its
     * own (ingest), whose appsinks hand the decoded buffers to the
     * encoding pipeline's appsrcs by their timestamps (feeds, anchors:
     * on_feed()); there live aggregators (compositor, audiomixer) go on
     * with black frames and silence when nothing comes: then the slate
     * text is shown, and the ingest is rebuilt until the feed returns.
     * Meeting thread, but last_in_ns: streaming threads. */
    bool split;
    GstElement *ingest;
    atomic_llong last_in_ns; /* monotonic time of the last ingested frame */
    bool lost;               /* the slate is shown */
    gint64 retry_at_us;      /* rebuild the ingest then; 0 none */
    int restarts;
    /* The hand-over (feed, anchor), of the main ingest and of the
     * interpreters'. clock: the encoding pipeline's, which the ingests
     * use too (set before they start). */
    pthread_mutex_t feed_lock;
    feed feeds[MAX_FEEDS];
    anchor anchors[MAX_FEEDS];
    /* How long after its arrival the main ingest's last picture is
     * presented (it waits for its sound: the lag, HANDOFF_NS, half a
     * frame; 0 without a hand-over): taken off the presentation time to
     * give the wall clock of ingest (EXT-X-PROGRAM-DATE-TIME, the clock
     * frames of /ws/live). ns. */
    atomic_llong hold_ns;
    /* The pipelines' clock: the monotonic one. On the realtime clock a
     * step of the wall clock (timesyncd correcting a village server's
     * clock at boot, as its meetings restart) held every clock wait of
     * the live sources, the mixers and the hand-over for as long as the
     * step back, and made them catch up at once after a step forward.
     * wall_off_ns: the wall clock less the monotonic one, sampled once at
     * the start: clock time + wall_off_ns is the wall clock for
     * EXT-X-PROGRAM-DATE-TIME and the clock frames of /ws/live (a later
     * step shifts those, never the pipeline). */
    GstClock *clock;
    int64_t wall_off_ns;

    /* The declared audio renditions (live_opts.audio), ndecl of them (0:
     * none declared). decl_src[i]: an interpreter's feed (owned), NULL for
     * a track of the main source. Set before the thread starts. */
    int ndecl;
    char decl_lang[MAX_AUDIO][YL_LANG_MAX];
    char *decl_src[MAX_AUDIO];
    interp interp[MAX_AUDIO];
    int ninterp;
    /* Matching the main ingest's decoded audio pads to the declared
     * languages (map: a split meeting with declared audio). Under
     * map_lock (streaming threads and the meeting thread): map_bin is the
     * ingest pipeline (borrowed while it runs), apads the pads seen,
     * more_pads: uridecodebin said it has no more, mapped: done for this
     * ingest, map_since_us: when the first pad came. */
    bool map;
    pthread_mutex_t map_lock;
    GstElement *map_bin;
    apad apads[MAX_APADS];
    int napads;
    bool more_pads, mapped;
    gint64 map_since_us;

    /* The recording (rec_*; live.h): NULL rec_dir, none. Meeting thread.
     * rec_fd[i] appends st[i]'s closed segments, -1 when it is not
     * recorded or not yet opened. */
    char *rec_dir;
    int rec_fd[MAX_STREAMS];
    int64_t rec_segs[MAX_STREAMS];
    double rec_dur;    /* seconds of the recorded video */
    char rec_cut[256]; /* why recording stopped early; "" it did not */
    /* The websocket path's muxes: filled by describe(), then published by
     * nts (release; -1 until then, 0 when the source has no audio to mux
     * with the picture); read-only after, but for their atomics. */
    tsout ts[LIVE_TS_MAX];
    atomic_int nts;
    /* live HLS: one segmenter per stream (st[i]: hls[i]). */
    hlsout hls[MAX_STREAMS];
    live_chunk_fn chunk;
    GstClockTime base_time, rt_offset; /* see gen */
};

/* ---- checking a source URI (pure) ---- */

const char *live_source_redact(const char *uri, char *buf, size_t len)
{
    const char *p = strstr(uri, "://"), *host, *at;
    size_t hl;

    if (p == NULL) { /* test:, or not a URI at all */
        snprintf(buf, len, "%.*s", (int)strcspn(uri, "?@"), uri);
        return buf;
    }
    /* With an '@' anywhere, what precedes the last one is hidden, and what
     * follows it is shown up to the first character that could start a
     * query or a parameter: a password may hold '@', '/', '?' or '#'
     * (rtsp://u:pa#ss@cam/), and an '@' in a query must not show what
     * comes after it (srt://h:1?streamid=a@b&passphrase=...). Without
     * one, the query is hidden. More hidden than needed, never less. */
    at = strrchr(p + 3, '@');
    host = at != NULL ? at + 1 : p + 3;
    hl = strcspn(host, at != NULL ? "?#&=;" : "?#");
    snprintf(buf, len, "%.*s%s%.*s%s", (int)(p + 3 - uri), uri,
             at != NULL ? "…@" : "", (int)hl, host,
             host[hl] != '\0' ? "?…" : "");
    return buf;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return YL_EINVAL;
}

/* srt://[host]:port[?k=v&...] */
static int check_srt(const char *uri, char *err, size_t errlen)
{
    const char *hp = uri + 6, *q = strchr(hp, '?'), *colon;
    bool listener = false, seen[5] = {false};
    char *end;
    long port;

    colon = memrchr(hp, ':', q ? (size_t)(q - hp) : strlen(hp));
    if (colon == NULL)
        return fail(err, errlen, "source: %s has no :port", uri);
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port < 1 || port > 65535 || (q ? end != q : *end))
        return fail(err, errlen, "source: %s: port is not 1..65535", uri);
    for (const char *p = q ? q + 1 : NULL; p != NULL && *p;) {
        static const char *const keys[] = {"mode", "passphrase", "latency",
                                           "streamid", "pbkeylen"};
        const char *amp = strchr(p, '&'), *eq = strchr(p, '=');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        size_t klen = eq && eq < p + len ? (size_t)(eq - p) : len;
        size_t k;

        for (k = 0; k < 5; k++)
            if (klen == strlen(keys[k]) && strncmp(p, keys[k], klen) == 0)
                break;
        if (k == 5)
            return fail(err, errlen,
                        "source: %s: unknown SRT parameter (mode, passphrase, "
                        "latency, streamid, pbkeylen)",
                        uri);
        /* Once each: srtsrc takes the last of a repeated key, and the
         * host check below reads the first. */
        if (seen[k])
            return fail(err, errlen, "source: %s: %s given twice", uri,
                        keys[k]);
        seen[k] = true;
        listener =
            listener || (len == 13 && strncmp(p, "mode=listener", 13) == 0);
        if (klen == 4 && strncmp(p, "mode", 4) == 0 &&
            !(len == 13 && strncmp(p, "mode=listener", 13) == 0) &&
            !(len == 11 && strncmp(p, "mode=caller", 11) == 0) &&
            !(len == 15 && strncmp(p, "mode=rendezvous", 15) == 0))
            return fail(err, errlen,
                        "source: %s: mode is listener, caller or rendezvous",
                        uri);
        if (klen == 10 && strncmp(p, "passphrase", 10) == 0 &&
            (len - 11 < 10 || len - 11 > 79))
            return fail(err, errlen,
                        "source: %s: an SRT passphrase has 10 to 79 "
                        "characters",
                        uri);
        p = amp ? amp + 1 : NULL;
    }
    if (colon == hp && !listener)
        return fail(err, errlen,
                    "source: %s has no host (only mode=listener may omit it)",
                    uri);
    return LIVE_SRC_SRT;
}

int live_source_check(const char *uri, char *err, size_t errlen)
{
    struct stat sb;

    if (uri == NULL || *uri == '\0')
        return fail(err, errlen, "source: want a URI (%s)",
                    "srt://, rtsp://, file://, test:");
    for (const char *p = uri; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\' ||
            (unsigned char)*p == 0x7f)
            return fail(err, errlen, "source: %s",
                        "a URI has no spaces, quotes or control characters");
    if (strcmp(uri, "test:") == 0)
        return LIVE_SRC_TEST;
    if (strncmp(uri, "test:", 5) == 0)
        return fail(err, errlen, "source: %s: test: takes no parameters", uri);
    if (strncmp(uri, "file://", 7) == 0) {
        if (uri[7] != '/')
            return fail(err, errlen, "source: %s: want file:///absolute/path",
                        uri);
        if (strchr(uri, '%') != NULL || strchr(uri, '?') != NULL)
            return fail(err, errlen,
                        "source: %s: no %%-escapes or query in a file URI",
                        uri);
        if (stat(uri + 7, &sb) < 0 || !S_ISREG(sb.st_mode))
            return fail(err, errlen, "source: %s: no such file", uri);
        return LIVE_SRC_FILE;
    }
    if (strncmp(uri, "srt://", 6) == 0)
        return check_srt(uri, err, errlen);
    if (strncmp(uri, "rtsp://", 7) == 0) {
        if (uri[7] == '\0' || uri[7] == '/' || uri[7] == ':')
            return fail(err, errlen, "source: %s has no host", uri);
        return LIVE_SRC_RTSP;
    }
    if (strstr(uri, "://") == NULL && strchr(uri, ':') == NULL)
        return fail(err, errlen, "source: %s is not a URI", uri);
    return fail(err, errlen,
                "source: %s: unknown kind (srt://, rtsp://, file://, test:)",
                uri);
}

/* ---- playlists (meeting thread) ---- */

static int write_text(live_meeting *m, const char *name, yl_buf *b)
{
    char path[4096];
    int r;

    if (b->err)
        return b->err;
    snprintf(path, sizeof(path), "%s/%s", m->dir, name);
    /* No fsync: rewritten each second, and worthless after a crash (16
     * meetings of 4 renditions were ~128 journal commits a second). */
    r = yl_write_file_replace(path, b->s ? b->s : "", b->len);
    if (r < 0)
        YL_LOGW("live", "[meeting=%" PRId64 "] write %s: %s", m->id, path,
                strerror(-r));
    return r;
}

static void iso_ms(int64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    int ms3 = (int)(ms % 1000);

    gmtime_r(&s, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", /* UTC */
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms3 < 0 ? 0 : ms3);
}

/* The part of a segment's name that tells the run and the build: the
 * run's start ("1796433614"), and "r2" after it for the second rebuild,
 * so that no name is ever reused (caches hold segments as immutable). */
static void run_tag(const live_meeting *m, int gen, char *buf, size_t len)
{
    if (gen == 0)
        snprintf(buf, len, "%" PRId64, m->run);
    else
        snprintf(buf, len, "%" PRId64 "r%d", m->run, gen);
}

/* The file name of segment fidx of build gen of s: v360_1796433614_00003.ts */
static void seg_file(const live_meeting *m, const stream *s, int gen,
                     int64_t fidx, char *buf, size_t len)
{
    char tag[40];

    run_tag(m, gen, tag, sizeof(tag));
    snprintf(buf, len, "%s_%s_%05" PRId64 ".ts", s->name, tag, fidx);
}

static void write_media(live_meeting *m, stream *s, bool end)
{
    yl_buf b = YL_BUF_INIT;
    char name[64], when[64], file[160];
    int i;

    yl_buf_printf(&b,
                  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n"
                  "#EXT-X-MEDIA-SEQUENCE:%" PRId64 "\n",
                  s->target, m->run + (s->nwin ? s->win[0].idx : s->next_idx));
    if (s->disc_seq > 0)
        yl_buf_printf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRId64 "\n",
                      s->disc_seq);
    for (i = 0; i < s->nwin; i++) {
        iso_ms(s->win[i].wall_ms, when, sizeof(when));
        seg_file(m, s, s->win[i].gen, s->win[i].fidx, file, sizeof(file));
        yl_buf_printf(&b, "%s#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:%.3f,\n%s\n",
                      s->win[i].disc ? "#EXT-X-DISCONTINUITY\n" : "", when,
                      s->win[i].dur, file);
    }
    if (end)
        yl_buf_printf(&b, "#EXT-X-ENDLIST\n");
    snprintf(name, sizeof(name), "%s.m3u8", s->name);
    write_text(m, name, &b);
    yl_buf_free(&b);
}

static void write_master(live_meeting *m)
{
    const stream *a0 = NULL;
    yl_buf b = YL_BUF_INIT;
    int i;

    yl_buf_printf(&b,
                  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (i = 0; i < m->nst; i++) {
        const stream *s = &m->st[i];

        if (!s->audio)
            continue;
        yl_buf_printf(
            &b,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",LANGUAGE=\"%s\","
            "NAME=\"%s\",DEFAULT=%s,AUTOSELECT=YES,URI=\"%s.m3u8\"\n",
            s->lang, yl_lang_display_name(s->lang), a0 == NULL ? "YES" : "NO",
            s->name);
        if (a0 == NULL)
            a0 = s;
    }
    for (i = 0; i < m->nst; i++) {
        const stream *s = &m->st[i];

        if (s->audio)
            continue;
        yl_buf_printf(&b,
                      "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%dx%d,"
                      "FRAME-RATE=%d.000,CODECS=\"avc1.64001f%s\"%s\n"
                      "%s.m3u8\n",
                      (s->kbps + (a0 ? 128 : 0)) * 1000, s->width, s->height,
                      FPS, a0 ? ",mp4a.40.2" : "", a0 ? ",AUDIO=\"aud\"" : "",
                      s->name);
    }
    if (a0 != NULL) /* the audio-only rung, for the weakest links */
        yl_buf_printf(&b,
                      "#EXT-X-STREAM-INF:BANDWIDTH=128000,"
                      "CODECS=\"mp4a.40.2\",AUDIO=\"aud\"\n%s.m3u8\n",
                      a0->name);
    write_text(m, "master.m3u8", &b);
    yl_buf_free(&b);
}

/* ---- the recording (meeting thread) ----
 *
 * Each closed segment of a recorded stream is appended to rec_dir/NAME.ts:
 * MPEG-TS segments of one muxer, one after the other, are one MPEG-TS
 * stream (timestamps run on; each segment repeats PAT/PMT), which the
 * transcoder reads like any upload. Appending as segments close, from
 * the file hlssink2 just finished (it deletes it only KEEP_FILES segments
 * later), costs a copy of the bytes and no memory that grows with the
 * meeting's length. */

/* The top video rung and the first audio stream of each language. */
static bool rec_wanted(const live_meeting *m, const stream *s)
{
    int i = (int)(s - m->st);

    for (int j = 0; j < i; j++) {
        if (!s->audio && !m->st[j].audio)
            return false; /* a lower rung */
        if (s->audio && m->st[j].audio && strcmp(m->st[j].lang, s->lang) == 0)
            return false; /* a second track of that language */
    }
    return true;
}

/* Appends the file at path to fd; on failure truncates fd back to where it
 * was, so the recording holds whole segments only. 0 or -errno. */
static int rec_copy(int fd, const char *path)
{
    char buf[64 * 1024];
    off_t start = lseek(fd, 0, SEEK_END);
    ssize_t n = 0, w;
    int in = -1, ret = 0;

    if (start < 0)
        return -errno;
    in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        ret = -errno;
        goto out;
    }
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            goto out;
        }
        for (ssize_t off = 0; off < n; off += w) {
            w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) {
                w = 0;
                continue;
            }
            if (w < 0) {
                ret = -errno;
                goto out;
            }
        }
    }
out:
    if (in >= 0)
        close(in);
    if (ret < 0 && ftruncate(fd, start) < 0)
        YL_LOGW("live", "truncate a recording after a failed copy: %s",
                strerror(errno));
    return ret;
}

/* Segment idx of s closed (dur seconds): into the recording. After a
 * failure nothing more is recorded, so every stream stops at the same
 * place. (hlssink2 writes through giostreamsink: its messages carry no
 * location, so the name is made as sink_text() has it made.) */
static void rec_append(live_meeting *m, stream *s, const seg *g)
{
    int i = (int)(s - m->st), r;
    char file[4096], path[4096], name[160];
    double dur = g->dur;

    if (m->rec_dir == NULL || m->rec_cut[0] != '\0' || !rec_wanted(m, s))
        return;
    seg_file(m, s, g->gen, g->fidx, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", m->dir, name);
    if (m->rec_fd[i] < 0) {
        snprintf(file, sizeof(file), "%s/%s.ts", m->rec_dir, s->name);
        r = yl_mkdirs(m->rec_dir);
        m->rec_fd[i] =
            r < 0 ? r
                  : open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m->rec_fd[i] < 0) {
            r = r < 0 ? r : -errno;
            m->rec_fd[i] = -1;
            snprintf(m->rec_cut, sizeof(m->rec_cut), "create %.180s: %s", file,
                     strerror(-r));
            goto failed;
        }
    }
    r = rec_copy(m->rec_fd[i], path);
    if (r < 0) {
        snprintf(m->rec_cut, sizeof(m->rec_cut), "append %.180s: %s", path,
                 strerror(-r));
        goto failed;
    }
    m->rec_segs[i]++;
    if (!s->audio)
        m->rec_dur += dur;
    return;
failed:
    YL_LOGE("live", "[meeting=%" PRId64 "] recording stops: %s", m->id,
            m->rec_cut);
}

/* At the end: closes the files and describes them in recording.json (none
 * when less than REC_MIN_S of video was recorded). */
static void rec_finish(live_meeting *m)
{
    yl_buf b = YL_BUF_INIT;
    char path[4096];
    int64_t bytes = 0;
    int i, video = -1, na = 0;

    if (m->rec_dir == NULL)
        return;
    for (i = 0; i < m->nst; i++) {
        off_t end = m->rec_fd[i] >= 0 ? lseek(m->rec_fd[i], 0, SEEK_END) : 0;

        if (end > 0)
            bytes += (int64_t)end;
        if (m->rec_fd[i] >= 0 && fsync(m->rec_fd[i]) < 0)
            YL_LOGW("live", "[meeting=%" PRId64 "] fsync recording: %s", m->id,
                    strerror(errno));
        if (m->rec_fd[i] >= 0)
            close(m->rec_fd[i]);
        m->rec_fd[i] = -1;
        if (!m->st[i].audio && m->rec_segs[i] > 0 && video < 0)
            video = i;
    }
    if (video < 0 || m->rec_dur < REC_MIN_S) {
        /* The fragment an EOS at once closes is no lesson: its files go,
         * so that a directory with data but no recording.json always
         * means a recording whose description could not be written. */
        YL_LOGI("live", "[meeting=%" PRId64 "] nothing recorded (%.1f s)",
                m->id, m->rec_dur);
        for (i = 0; i < m->nst; i++) {
            snprintf(path, sizeof(path), "%s/%s.ts", m->rec_dir, m->st[i].name);
            unlink(path);
        }
        return;
    }
    yl_buf_printf(&b, "{\"source\": \"%s.ts\", \"audio\": {",
                  m->st[video].name);
    for (i = 0; i < m->nst; i++)
        if (m->st[i].audio && m->rec_segs[i] > 0)
            yl_buf_printf(&b, "%s\"%s\": \"%s.ts\"", na++ ? ", " : "",
                          m->st[i].lang, m->st[i].name);
    yl_buf_printf(&b, "}, \"duration_s\": %.3f, \"segments\": %" PRId64,
                  m->rec_dur, m->rec_segs[video]);
    if (m->rec_cut[0] != '\0') {
        /* The reason is ours: paths and strerror(), no quotes to escape
         * but those of a path, which are replaced. */
        for (char *p = m->rec_cut; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                *p = '_';
        yl_buf_printf(&b, ", \"cut\": \"%s\"", m->rec_cut);
    }
    yl_buf_printf(&b, "}\n");
    snprintf(path, sizeof(path), "%s/recording.json", m->rec_dir);
    if (b.err == 0)
        i = yl_write_file_atomic(path, b.s, b.len);
    else
        i = b.err;
    if (i < 0)
        YL_LOGE("live", "[meeting=%" PRId64 "] write %s: %s", m->id, path,
                strerror(-i));
    else
        YL_LOGI("live",
                "[meeting=%" PRId64 "] recorded %.1f s (%.1f MB), %d audio, "
                "in %s",
                m->id, m->rec_dur, (double)bytes / 1e6, na, m->rec_dir);
    yl_buf_free(&b);
}

/* Test only: YL_LIVE_TEST_RESTART_MS=N (10..1000) makes the first back-off
 * of restart_later() N ms instead of 1 s (then 2N, 4N, 8N, 8N ...), so the
 * test of a pipeline that keeps failing waits for five rebuilds, not for
 * 23 s of back-off (tests/streamer/t_meeting_restart.sh). Never set in
 * production. */
static void restart_init(live_meeting *m)
{
    const char *v = getenv("YL_LIVE_TEST_RESTART_MS");
    char *end;
    long ms;

    m->restart_first_us = RESTART_FIRST_US;
    if (v == NULL || *v == '\0')
        return;
    ms = strtol(v, &end, 10);
    if (*end != '\0' || ms < 10 || ms > 1000) {
        YL_LOGW("live", "YL_LIVE_TEST_RESTART_MS=%s: want 10..1000, ignored",
                v);
        return;
    }
    m->restart_first_us = ms * 1000;
    YL_LOGW("live",
            "[meeting=%" PRId64 "] test only: rebuilds after %ld ms, doubling",
            m->id, ms);
}

static void fault_arm(live_meeting *m);

/* Keeps segment (gen, fidx) of s on disk; the oldest goes once more than
 * KEEP_FILES are kept, whichever build wrote it (a rebuilt pipeline's
 * files are named anew: nobody else would delete the old run's). The
 * recording copied it when it closed. */
static void keep_file(live_meeting *m, stream *s, int gen, int64_t fidx)
{
    char name[160], path[4096];

    if (s->nkept == KEEP_FILES) {
        seg_file(m, s, s->kept[0].gen, s->kept[0].fidx, name, sizeof(name));
        snprintf(path, sizeof(path), "%s/%s", m->dir, name);
        if (unlink(path) < 0 && errno != ENOENT)
            YL_LOGW("live", "[meeting=%" PRId64 "] unlink %s: %s", m->id, path,
                    strerror(errno));
        memmove(&s->kept[0], &s->kept[1],
                (KEEP_FILES - 1) * sizeof(s->kept[0]));
        s->nkept--;
    }
    s->kept[s->nkept].gen = gen;
    s->kept[s->nkept].fidx = fidx;
    s->nkept++;
}

/* Meeting thread: a segment closed (hls_close()'s message): listed in its
 * media playlist, appended to the recording. */
static void on_segment(live_meeting *m, GstMessage *msg)
{
    const GstStructure *s = gst_message_get_structure(msg);
    stream *st;
    guint64 start = 0, end = 0;
    gint64 fidx = 0;
    int idx = -1, gen = -1, i;

    if (!gst_structure_get_int(s, "stream", &idx) ||
        !gst_structure_get_int(s, "gen", &gen) ||
        !gst_structure_get_int64(s, "fidx", &fidx) ||
        !gst_structure_get_uint64(s, "start", &start) ||
        !gst_structure_get_uint64(s, "end", &end) || idx < 0 || idx >= m->nst ||
        gen != m->gen || end < start)
        return;
    st = &m->st[idx];
    st->open_rt = start;
    /* Base time plus running time is the clock time of presentation (plus
     * wall_off_ns: the wall clock), less hold_ns that of ingest. */
    st->open_wall_ms =
        ((int64_t)(gst_element_get_base_time(m->pipe) + start - m->rt_offset -
                   (GstClockTime)atomic_load(&m->hold_ns)) +
         m->wall_off_ns) /
        (int64_t)GST_MSECOND;
    if (st->nwin == WINDOW) {
        if (st->win[0].disc) /* its tag leaves the playlist */
            st->disc_seq++;
        memmove(&st->win[0], &st->win[1], (WINDOW - 1) * sizeof(seg));
        st->nwin--;
    }
    st->win[st->nwin].idx = st->closed++;
    st->win[st->nwin].gen = m->gen;
    st->win[st->nwin].fidx = fidx;
    st->bclosed++;
    st->win[st->nwin].disc = st->disc_next;
    st->disc_next = false;
    st->win[st->nwin].dur = (double)(end - start) / GST_SECOND;
    st->win[st->nwin].wall_ms = st->open_wall_ms;
    if ((int)(st->win[st->nwin].dur + 0.5) > st->target)
        st->target = (int)(st->win[st->nwin].dur + 0.5);
    st->nwin++;
    write_media(m, st, false);
    {
        /* How long after its last frame's ingest a segment is listed:
         * what live HLS adds over the websocket path before a player
         * can see it (YL_LOG=debug; docs/performance.md). */
        int64_t end_ms =
            st->open_wall_ms + (int64_t)((end - start) / GST_MSECOND);
        YL_LOGD("live",
                "[meeting=%" PRId64 "] %s segment %" PRId64
                " (%.3f s) listed %" PRId64 " ms after its end",
                m->id, st->name, st->closed - 1, st->win[st->nwin - 1].dur,
                g_get_real_time() / 1000 - end_ms);
    }
    rec_append(m, st, &st->win[st->nwin - 1]);
    keep_file(m, st, gen, fidx);
    if (m->ready && !m->resumed) {
        /* A rebuilt pipeline is live again once each stream closed a
         * segment. */
        for (i = 0; i < m->nst; i++)
            if (m->st[i].bclosed < 1)
                return;
        m->resumed = true;
        YL_LOGI("live", "[meeting=%" PRId64 "] live again after rebuild %d",
                m->id, m->gen);
        m->event(m->ud, m->id, LIVE_EV_READY, NULL);
        return;
    }
    if (!m->ready) {
        for (i = 0; i < m->nst; i++)
            if (m->st[i].closed < 2)
                return;
        write_master(m);
        m->ready = true;
        m->resumed = true;
        fault_arm(m);
        YL_LOGI("live", "[meeting=%" PRId64 "] live HLS ready in %s", m->id,
                m->dir);
        m->event(m->ud, m->id, LIVE_EV_READY, NULL);
    }
}

/* ---- the pipeline ---- */

/* ---- matching the main feed's audio tracks to the declared languages ----
 *
 * The order in which decodebin exposes decoded pads is not the order of
 * the streams in the PMT, and a track's language (the MPEG-TS ISO 639
 * descriptor, a tag event from tsdemux) is known only once it flows. So
 * each decoded audio pad of the main ingest is held by a blocking probe at
 * its first buffer; by then its sticky tag events have passed through it.
 * When every pad is held and uridecodebin has no more (or MAP_WAIT_US
 * after the first one, by the meeting thread), they are matched at once:
 * a track tagged with a declared language takes that rendition; untagged
 * tracks fill the renditions left, in stream order (stream ids), then
 * tracks tagged with an undeclared language; a track left over (a
 * second of a declared language too) is ignored (a line in the log); a
 * rendition without a track stays silent (its audiomixer). Then the pads
 * are linked and let go. */

/* The language of pad's sticky tag events, normalised, into out ("" for
 * none). Any thread. */
static void pad_lang(GstPad *pad, char *out, size_t len)
{
    GstEvent *ev;

    out[0] = '\0';
    for (guint i = 0; out[0] == '\0' &&
                      (ev = gst_pad_get_sticky_event(pad, GST_EVENT_TAG, i));
         i++) {
        GstTagList *tl = NULL;
        gchar *code = NULL;

        gst_event_parse_tag(ev, &tl);
        if (tl != NULL &&
            gst_tag_list_get_string(tl, GST_TAG_LANGUAGE_CODE, &code) &&
            code != NULL && yl_lang_normalize(code, out, len) < 0)
            out[0] = '\0';
        /* "und" (encoders write it for "not set"), "mul", "mis", "zxx":
         * no language to match, so the track fills a slot in stream
         * order as an untagged one does. */
        if (strcmp(out, "und") == 0 || strcmp(out, "mul") == 0 ||
            strcmp(out, "mis") == 0 || strcmp(out, "zxx") == 0)
            out[0] = '\0';
        g_free(code);
        gst_event_unref(ev);
    }
}

/* The declared rendition of language lang that is a track of the main
 * source and still free, or -1. The full tag first, then the primary
 * subtag ("zh" for a track tagged "zh-Hans"). */
static int map_slot(const live_meeting *m, const bool *taken, const char *lang)
{
    size_t p = strcspn(lang, "-");

    for (int k = 0; k < m->ndecl; k++)
        if (!taken[k] && strcmp(m->decl_lang[k], lang) == 0)
            return k;
    for (int k = 0; k < m->ndecl; k++)
        if (!taken[k] && strncmp(m->decl_lang[k], lang, p) == 0 &&
            strcspn(m->decl_lang[k], "-") == p)
            return k;
    return -1;
}

/* Whether lang is one of the declared languages (full tag or primary
 * subtag, as map_slot() matches), taken or not. */
static bool map_declared(const live_meeting *m, const char *lang)
{
    bool none[MAX_AUDIO] = {0};

    return map_slot(m, none, lang) >= 0;
}

/* A stream id for the log: its last part (tsdemux's ends in the PID). */
static const char *sid_short(const char *sid)
{
    const char *p = sid != NULL ? strrchr(sid, '/') : NULL;

    return p != NULL ? p + 1 : sid != NULL ? sid : "?";
}

static int sid_cmp(const apad *a, const apad *b)
{
    return strcmp(a->sid != NULL ? a->sid : "", b->sid != NULL ? b->sid : "");
}

/* Matches the pads held so far, links them and lets them go. Under
 * map_lock; a streaming thread or the meeting thread. */
static void map_assign_locked(live_meeting *m)
{
    bool taken[MAX_AUDIO] = {0};
    int slot[MAX_APADS] = {0}, order[MAX_APADS] = {0};
    char name[16];

    m->mapped = true;
    for (int i = 0; i < m->napads; i++)
        if (!m->apads[i].ready) /* timed out: what it has */
            pad_lang(m->apads[i].pad, m->apads[i].lang,
                     sizeof(m->apads[i].lang));
    for (int k = 0; k < m->ndecl; k++)
        taken[k] = m->decl_src[k] != NULL; /* an interpreter's */
    for (int i = 0; i < m->napads; i++) {
        slot[i] = -1;
        order[i] = i;
        if (m->apads[i].lang[0] != '\0') {
            slot[i] = map_slot(m, taken, m->apads[i].lang);
            if (slot[i] >= 0)
                taken[slot[i]] = true;
        }
    }
    /* Untagged tracks in stream order (insertion sort: a handful). */
    for (int i = 1; i < m->napads; i++)
        for (int j = i;
             j > 0 && sid_cmp(&m->apads[order[j - 1]], &m->apads[order[j]]) > 0;
             j--) {
            int t = order[j];

            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    /* Then tracks tagged with a language nobody declared, in stream
     * order, fill what is still free: encoders tag every track "eng" or
     * "und" by default more often than they carry a stray language, and
     * a declared rendition left silent helps nobody. A second track of a
     * declared language is not one of those (it would be heard under
     * another language's name): it stays out. */
    for (int pass = 0; pass < 2; pass++)
        for (int o = 0; o < m->napads; o++) {
            int i = order[o];

            if (slot[i] >= 0 || (m->apads[i].lang[0] != '\0') != (pass == 1) ||
                (pass == 1 && map_declared(m, m->apads[i].lang)))
                continue;
            for (int k = 0; k < m->ndecl && slot[i] < 0; k++)
                if (!taken[k]) {
                    slot[i] = k;
                    taken[k] = true;
                }
            if (pass == 1 && slot[i] >= 0)
                YL_LOGW("live",
                        "[meeting=%" PRId64 "] audio track %s is tagged %s, "
                        "not declared: taken as %s",
                        m->id, sid_short(m->apads[i].sid), m->apads[i].lang,
                        m->decl_lang[slot[i]]);
        }
    for (int i = 0; i < m->napads; i++) {
        apad *a = &m->apads[i];
        GstElement *to = NULL;

        if (slot[i] < 0) {
            YL_LOGW("live",
                    "[meeting=%" PRId64 "] audio track %s (language %s) "
                    "has no declared rendition: ignored",
                    m->id, sid_short(a->sid), a->lang[0] ? a->lang : "none");
        } else {
            snprintf(name, sizeof(name), "ain%d", slot[i]);
            to = m->map_bin != NULL
                     ? gst_bin_get_by_name(GST_BIN(m->map_bin), name)
                     : NULL;
            YL_LOGI("live",
                    "[meeting=%" PRId64 "] audio track %s (language %s) -> "
                    "%s",
                    m->id, sid_short(a->sid), a->lang[0] ? a->lang : "none",
                    m->decl_lang[slot[i]]);
        }
        if (to != NULL) {
            GstPad *sink = gst_element_get_static_pad(to, "sink");

            if (gst_pad_link(a->pad, sink) != GST_PAD_LINK_OK)
                YL_LOGW("live", "[meeting=%" PRId64 "] cannot link audio %s",
                        m->id, m->decl_lang[slot[i]]);
            gst_object_unref(sink);
            gst_object_unref(to);
        }
        /* An ignored track flows unlinked: decodebin goes on while some
         * of its pads are linked. */
        if (a->probe != 0)
            gst_pad_remove_probe(a->pad, a->probe);
        a->probe = 0;
    }
    for (int k = 0; k < m->ndecl; k++)
        if (!taken[k])
            YL_LOGW("live",
                    "[meeting=%" PRId64 "] no audio track for %s: silence",
                    m->id, m->decl_lang[k]);
}

static bool map_complete_locked(const live_meeting *m)
{
    if (!m->more_pads || m->napads == 0)
        return false;
    for (int i = 0; i < m->napads; i++)
        if (!m->apads[i].ready)
            return false;
    return true;
}

/* Streaming thread: the first buffer of a held pad. Returns OK: the pad
 * stays blocked until map_assign_locked() removes the probe (possibly
 * just now, from here). */
static GstPadProbeReturn on_apad_block(GstPad *pad, GstPadProbeInfo *info,
                                       gpointer ud)
{
    live_meeting *m = ud;

    (void)info;
    pthread_mutex_lock(&m->map_lock);
    for (int i = 0; i < m->napads; i++)
        if (m->apads[i].pad == pad && !m->apads[i].ready) {
            pad_lang(pad, m->apads[i].lang, sizeof(m->apads[i].lang));
            m->apads[i].ready = true;
        }
    if (!m->mapped && map_complete_locked(m))
        map_assign_locked(m);
    pthread_mutex_unlock(&m->map_lock);
    return GST_PAD_PROBE_OK;
}

/* Streaming thread (pad_added): holds a decoded audio pad of the main
 * ingest until the tracks are matched. */
static void map_add_pad(live_meeting *m, GstPad *pad)
{
    apad *a;

    pthread_mutex_lock(&m->map_lock);
    if (m->mapped || m->napads == MAX_APADS) {
        pthread_mutex_unlock(&m->map_lock);
        YL_LOGW("live",
                "[meeting=%" PRId64 "] an audio track came after the "
                "others were matched: ignored",
                m->id);
        return;
    }
    a = &m->apads[m->napads++];
    memset(a, 0, sizeof(*a));
    a->pad = gst_object_ref(pad);
    a->sid = gst_pad_get_stream_id(pad);
    if (m->map_since_us == 0)
        m->map_since_us = g_get_monotonic_time();
    /* Not an IDLE probe: the callback never runs from here, under the
     * lock. */
    a->probe =
        gst_pad_add_probe(pad,
                          GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER |
                              GST_PAD_PROBE_TYPE_BUFFER_LIST,
                          on_apad_block, m, NULL);
    pthread_mutex_unlock(&m->map_lock);
}

/* Streaming thread: uridecodebin exposed all its pads. */
static void on_no_more_pads(GstElement *src, gpointer ud)
{
    live_meeting *m = ud;

    (void)src;
    pthread_mutex_lock(&m->map_lock);
    m->more_pads = true;
    if (!m->mapped && map_complete_locked(m))
        map_assign_locked(m);
    pthread_mutex_unlock(&m->map_lock);
}

/* Meeting thread: pads that waited MAP_WAIT_US are matched as they are. */
static void map_timeout(live_meeting *m)
{
    pthread_mutex_lock(&m->map_lock);
    if (!m->mapped && m->napads > 0 &&
        g_get_monotonic_time() - m->map_since_us > MAP_WAIT_US)
        map_assign_locked(m);
    pthread_mutex_unlock(&m->map_lock);
}

/* Meeting thread, once the ingest is stopped (no streaming thread): the
 * held pads are let go, for the next ingest. bin: the next one, or NULL. */
static void map_reset(live_meeting *m, GstElement *bin)
{
    pthread_mutex_lock(&m->map_lock);
    for (int i = 0; i < m->napads; i++) {
        gst_object_unref(m->apads[i].pad);
        g_free(m->apads[i].sid);
    }
    memset(m->apads, 0, sizeof(m->apads));
    m->napads = 0;
    m->more_pads = false;
    m->mapped = false;
    m->map_since_us = 0;
    m->map_bin = bin;
    pthread_mutex_unlock(&m->map_lock);
}

/* Streaming thread: a decoded pad of uridecodebin appeared. */
static void pad_added(GstElement *src, GstPad *pad, gpointer ud)
{
    live_meeting *m = ud;
    GstCaps *caps = gst_pad_query_caps(pad, NULL);
    const char *kind = "";
    GstElement *to = NULL;
    char name[16];

    if (caps != NULL && gst_caps_get_size(caps) > 0)
        kind = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    GstElement *bin = GST_ELEMENT(gst_element_get_parent(src));

    if (bin == NULL)
        goto out;
    if (strncmp(kind, "video/", 6) == 0 &&
        !atomic_exchange(&m->video_linked, true)) {
        to = gst_bin_get_by_name(GST_BIN(bin), "vin");
    } else if (strncmp(kind, "audio/", 6) == 0 && m->map) {
        map_add_pad(m, pad);
    } else if (strncmp(kind, "audio/", 6) == 0) {
        int i = atomic_fetch_add(&m->audio_linked, 1);

        if (i < m->naudio) {
            snprintf(name, sizeof(name), "ain%d", i);
            to = gst_bin_get_by_name(GST_BIN(bin), name);
        }
    }
    gst_object_unref(bin);
    if (to != NULL) {
        GstPad *sink = gst_element_get_static_pad(to, "sink");

        if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
            YL_LOGW("live", "[meeting=%" PRId64 "] cannot link a %s pad", m->id,
                    kind);
        gst_object_unref(sink);
        gst_object_unref(to);
    }
out:
    if (caps != NULL)
        gst_caps_unref(caps);
}

/* For a file: the height and the audio languages, by GstDiscoverer. */
static int probe_file(live_meeting *m, char *langs[MAX_AUDIO], char *why,
                      size_t whylen)
{
    GstDiscoverer *d = NULL;
    GstDiscovererInfo *info = NULL;
    GList *vs = NULL, *as = NULL;
    GError *gerr = NULL;
    int ret = 0, n = 0;

    d = gst_discoverer_new(10 * GST_SECOND, &gerr);
    if (d == NULL)
        goto failed;
    info = gst_discoverer_discover_uri(d, m->source, &gerr);
    if (info == NULL ||
        gst_discoverer_info_get_result(info) != GST_DISCOVERER_OK)
        goto failed;
    vs = gst_discoverer_info_get_video_streams(info);
    as = gst_discoverer_info_get_audio_streams(info);
    if (vs == NULL) {
        snprintf(why, whylen, "%s has no video", m->source);
        ret = YL_ENOVIDEO;
        goto out;
    }
    m->src_height = (int)gst_discoverer_video_info_get_height(vs->data);
    for (GList *l = as; l != NULL && n < MAX_AUDIO; l = l->next, n++) {
        const char *t = gst_discoverer_audio_info_get_language(l->data);
        char tag[YL_LANG_MAX];

        if (t == NULL || yl_lang_normalize(t, tag, sizeof(tag)) < 0)
            snprintf(tag, sizeof(tag), "%s", n == 0 ? "zh" : "und");
        langs[n] = strdup(tag);
    }
    ret = n;
    goto out;
failed:
    snprintf(why, whylen, "cannot read %s: %s", m->source,
             gerr ? gerr->message : "discoverer failed");
    ret = YL_ECORRUPT;
out:
    gst_discoverer_stream_info_list_free(vs);
    gst_discoverer_stream_info_list_free(as);
    if (info != NULL)
        gst_discoverer_info_unref(info);
    if (d != NULL)
        g_object_unref(d);
    g_clear_error(&gerr);
    return ret;
}

static void add_stream(live_meeting *m, const char *name, const char *lang,
                       int w, int h, int kbps)
{
    stream *s = &m->st[m->nst++];

    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->lang, sizeof(s->lang), "%s", lang ? lang : "");
    s->audio = lang != NULL;
    s->width = w;
    s->height = h;
    s->kbps = kbps;
    s->target = 1;
}

/* A rendition's live HLS output: its own MPEG-TS mux into a fakesink whose
 * pad probe writes the segments (hls_attach()). Not synced: a segment is
 * written as soon as its frames are encoded. */
static void sink_text(live_meeting *m, yl_buf *b, const char *name)
{
    (void)m;
    yl_buf_printf(b,
                  " ! mpegtsmux name=hm_%s ! fakesink name=%s sync=false "
                  "async=false\n",
                  name, name);
}

/* The websocket path: one mpegtsmux per (video rung, audio language),
 * fed from the renditions' tees through leaky queues (a stuck mux never
 * holds back live HLS), ending in a fakesink whose pad probe takes the
 * bytes (on_ts). A mux runs only while its pair is watched: the probes on
 * its queues' sink pads (gate_video(), gate_audio(); ts_attach()) drop
 * every buffer until a viewer comes and the video's next keyframe, and
 * again once the last viewer has left, so an unwatched pair costs a
 * pointer test per buffer (docs/performance.md, "Live meetings"). The
 * muxes are made with the pipeline all the same: linking one into a
 * playing pipeline would mean new request pads on the tees and the mux's
 * aggregator catching up from nothing. */
static void describe_ts(live_meeting *m, yl_buf *b)
{
    static const char *const q = "queue leaky=downstream max-size-buffers=0 "
                                 "max-size-bytes=0 max-size-time=2000000000";
    int n = 0;

    for (int v = 0; v < m->nst; v++) {
        if (m->st[v].audio)
            continue;
        for (int a = 0; a < m->nst && n < LIVE_TS_MAX; a++) {
            tsout *t = &m->ts[n];

            if (!m->st[a].audio)
                continue;
            t->m = m;
            t->index = n;
            t->rung = m->st[v].height;
            snprintf(t->lang, sizeof(t->lang), "%s", m->st[a].lang);
            t->pts = GST_CLOCK_TIME_NONE;
            atomic_init(&t->watchers, 0);
            atomic_init(&t->open, false);
            atomic_init(&t->open_rt, GST_CLOCK_TIME_NONE);
            yl_buf_printf(b,
                          "mpegtsmux name=mx%d start-time-selection=first ! "
                          "fakesink name=ws%d sync=false "
                          "async=false\n"
                          "t_%s. ! %s name=wv%d ! mx%d.\n"
                          "t_%s. ! %s name=wa%d ! mx%d.\n",
                          n, n, m->st[v].name, q, n, n, m->st[a].name, q, n, n);
            n++;
        }
    }
}

/* The encoding pipeline's end of a hand-over (feed, on_feed()): audio i
 * from an appsrc (fa<i>), mixed by a live audiomixer with silence, so
 * that the language goes on, silent, while nothing comes; it ends in
 * "queue name=ain<i>". discont-wait=0: a new anchor's timestamps are
 * taken at once, not after a second of the old ones; alignment-threshold:
 * see DECAY_STEP_NS (the feed's own timestamps are contiguous). */
static void describe_feed_audio(live_meeting *m, yl_buf *b, int i)
{
    (void)m;
    yl_buf_printf(b,
                  "audiotestsrc is-live=true wave=silence samplesperbuffer=960 "
                  "! %s ! amix%d.\n"
                  "appsrc name=fa%d is-live=true format=time "
                  "caps=\"%s\" min-latency=%llu max-bytes=0 "
                  "max-time=3000000000 leaky-type=downstream ! amix%d.\n"
                  "audiomixer name=amix%d discont-wait=0 "
                  "alignment-threshold=%llu ! %s ! queue name=ain%d\n",
                  AUDIO_CAPS, i, i, AUDIO_CAPS, (unsigned long long)HANDOFF_NS,
                  i, i, (unsigned long long)(DECAY_STEP_NS / 2), AUDIO_CAPS, i);
}

/* For a file: its audio tracks' languages into langs (probe_file()); the
 * declared languages, when there are some, label the tracks in order. The
 * count, or an error (why said). */
static int file_langs(live_meeting *m, char *langs[MAX_AUDIO], char *why,
                      size_t whylen)
{
    int i, n = probe_file(m, langs, why, whylen);

    if (n < 0)
        return n;
    /* Declared languages label the file's tracks in order; a language
     * without a track is left out, a track without a language too. */
    if (m->ndecl > 0) {
        if (n != m->ndecl)
            YL_LOGW("live",
                    "[meeting=%" PRId64 "] the file has %d audio "
                    "track(s), %d declared: %d used",
                    m->id, n, m->ndecl, n < m->ndecl ? n : m->ndecl);
        for (i = 0; i < MAX_AUDIO; i++) {
            free(langs[i]);
            langs[i] = NULL;
        }
        n = n < m->ndecl ? n : m->ndecl;
        for (i = 0; i < n; i++)
            langs[i] = strdup(m->decl_lang[i]);
    }
    return n;
}

/* The audio languages of the meeting into langs (owned by the caller,
 * NULL where strdup() failed), and the source's height where it is not
 * probed. The count, or an error (why said). */
static int describe_langs(live_meeting *m, char *langs[MAX_AUDIO], char *why,
                          size_t whylen)
{
    int i, n;

    if (m->kind == LIVE_SRC_FILE)
        return file_langs(m, langs, why, whylen);
    m->src_height = 720;
    if (m->kind == LIVE_SRC_TEST) {
        /* A tone per language: zh and bo unless declared; an
         * interpreter's language comes from its feed. */
        n = m->ndecl > 0 ? m->ndecl : 2;
        for (i = 0; i < n; i++)
            langs[i] = strdup(m->ndecl > 0 ? m->decl_lang[i]
                              : i == 0     ? "zh"
                                           : "bo");
    } else if (m->ndecl > 0) {
        /* The declared renditions, matched to the feed's tracks when
         * it comes (map_*; interpreters: their own feeds). */
        n = m->ndecl;
        for (i = 0; i < n; i++)
            langs[i] = strdup(m->decl_lang[i]);
    } else {
        /* A feed that is not there yet cannot be probed: its first
         * audio track, as Mandarin, at up to 720p. */
        langs[0] = strdup("zh");
        n = 1;
    }
    return n;
}

/* The test source: a 720p test picture into "tee name=vt", and n audio
 * inputs "ain<i>": a tone per language (440, 660, 880 ... Hz), or an
 * interpreter's feed. */
static void describe_test_src(live_meeting *m, yl_buf *b, int n)
{
    yl_buf_printf(b,
                  "videotestsrc is-live=true pattern=smpte ! "
                  "video/x-raw,width=1280,height=720,framerate=%d/1 ! "
                  "tee name=vt\n",
                  FPS);
    for (int i = 0; i < n; i++)
        if (m->decl_src[i] != NULL)
            describe_feed_audio(m, b, i);
        else
            yl_buf_printf(b,
                          "audiotestsrc is-live=true wave=sine freq=%d "
                          "volume=0.2 ! audio/x-raw,rate=48000,channels=2 "
                          "! queue name=ain%d\n",
                          440 + 220 * i, i);
}

/* A network source's end of the hand-over: its pictures and n audio
 * inputs from appsrcs, over black and silence, with the slate. */
static void describe_split(live_meeting *m, yl_buf *b, int n)
{
    /* The feed's pictures (appsrc fv, sink_1) over black (sink_0):
     * a live compositor makes a frame every 40 ms, of the feed's
     * picture for that time, or black when it has none; on loss the
     * feed's pad is hidden and the slate shown (show_slate()). The
     * appsrcs hold what comes ahead of the other medium: a picture
     * waits there for its sound (ffmpeg's MPEG-TS muxer sends the
     * sound up to ~1 s after the picture of the same time), at most
     * 2 s of it (then the oldest go), the sound 3 s. */
    yl_buf_printf(b,
                  "videotestsrc is-live=true pattern=black ! "
                  "video/x-raw,format=I420,width=1280,height=720,"
                  "framerate=%d/1,pixel-aspect-ratio=1/1 ! vmix.sink_0\n"
                  "appsrc name=fv is-live=true format=time "
                  "min-latency=%llu max-bytes=0 max-time=2000000000 "
                  "leaky-type=downstream ! vmix.sink_1\n"
                  "compositor name=vmix background=black "
                  "sink_0::zorder=0 sink_1::zorder=1 ! "
                  "video/x-raw,format=I420,width=1280,height=720,"
                  "framerate=%d/1,pixel-aspect-ratio=1/1 ! "
                  "gdkpixbufoverlay name=slate location=\"%s\" alpha=0 ! "
                  "tee name=vt\n",
                  FPS, (unsigned long long)HANDOFF_NS, FPS, m->slate);
    for (int i = 0; i < n; i++)
        describe_feed_audio(m, b, i);
}

/* The video rungs, each from "vt" through its encoder into its tee
 * "t_v<height>" and its live HLS (streams added). */
static void describe_video(live_meeting *m, yl_buf *b)
{
    static const struct {
        int h, w, kbps;
    } rungs[] = {{720, 1280, 2500}, {360, 640, 800}};
    char name[48];

    for (int i = 0; i < 2; i++) {
        /* Never above the source; the smallest rung always. */
        if (rungs[i].h > m->src_height && i == 0)
            continue;
        snprintf(name, sizeof(name), "v%d", rungs[i].h);
        add_stream(m, name, NULL, rungs[i].w, rungs[i].h, rungs[i].kbps);
        m->nvideo++;
        /* I420 + profile=high: x264enc would pick 4:4:4 otherwise.
         * scenecut=0: a keyframe each second and only then, at the same
         * frames in every rung (x264's scene cuts put one every other
         * frame on the test picture's moving noise). */
        yl_buf_printf(b,
                      "vt. ! queue max-size-time=2000000000 ! videoscale ! "
                      "videoconvert ! video/x-raw,format=I420,width=%d,"
                      "height=%d,pixel-aspect-ratio=1/1 ! x264enc name=enc_%s "
                      "tune=zerolatency speed-preset=veryfast bframes=0 "
                      "key-int-max=%d option-string=scenecut=0 bitrate=%d ! "
                      "video/x-h264,profile=high ! "
                      "h264parse config-interval=-1 ! tee name=t_%s ! queue",
                      rungs[i].w, rungs[i].h, name, FPS, rungs[i].kbps, name);
        sink_text(m, b, name);
    }
}

/* The n audio renditions, each from its input "ain<i>" (pace before the
 * conversion) through AAC into its tee "t_a_<lang>" and its live HLS
 * (streams added; a language seen before gets its index too). */
static void describe_audio(live_meeting *m, yl_buf *b, char *const *langs,
                           int n, const char *pace)
{
    char name[48];

    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "a_%.20s", langs[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(langs[j], langs[i]) == 0)
                snprintf(name, sizeof(name), "a_%.20s_%d", langs[i], i);
        add_stream(m, name, langs[i], 0, 0, 96);
        if (m->kind == LIVE_SRC_FILE)
            yl_buf_printf(b, "queue name=ain%d ! ", i);
        else
            yl_buf_printf(b, "ain%d. ! ", i);
        yl_buf_printf(b,
                      "%saudioconvert ! audioresample ! "
                      "audio/x-raw,rate=48000,channels=2 ! avenc_aac "
                      "bitrate=96000 ! aacparse ! tee name=t_%s ! queue",
                      pace, name);
        sink_text(m, b, name);
    }
}

/* The gst_parse_launch() text of the whole pipeline into b. */
static int describe(live_meeting *m, yl_buf *b, char *why, size_t whylen)
{
    char *langs[MAX_AUDIO] = {0};
    const char *pace = "";
    int i, n, ret = 0;

    n = describe_langs(m, langs, why, whylen);
    if (n < 0) {
        ret = n;
        goto out;
    }
    if (m->kind == LIVE_SRC_TEST)
        describe_test_src(m, b, n);
    if (m->split && access(m->slate, R_OK) != 0) {
        snprintf(why, whylen,
                 "the slate picture %s cannot be read (config live_slate)",
                 m->slate);
        ret = YL_EINVAL;
        goto out;
    }
    if (m->split) {
        describe_split(m, b, n);
    } else if (m->kind != LIVE_SRC_TEST) {
        /* A file plays in real time (clocksync), as a rehearsal should. */
        yl_buf_printf(b,
                      "uridecodebin name=src uri=\"%s\"\n"
                      "queue name=vin ! clocksync ! videoconvert ! videorate ! "
                      "video/x-raw,framerate=%d/1 ! tee name=vt\n",
                      m->source, FPS);
        pace = "clocksync ! ";
    }
    for (i = 0; i < n; i++)
        if (langs[i] == NULL) {
            ret = -ENOMEM;
            goto out;
        }
    m->naudio = n;
    describe_video(m, b);
    describe_audio(m, b, langs, n, pace);
    describe_ts(m, b);
    ret = b->err;
out:
    for (i = 0; i < MAX_AUDIO; i++)
        free(langs[i]);
    return ret;
}

/* ---- the websocket path's chunks (streaming threads) ---- */

/* Hands the gathered chunk to the owner when someone watches; empties it. */
static void ts_flush(tsout *t)
{
    live_meeting *m = t->m;
    live_chunk c;

    if (t->len > 0 && atomic_load(&t->watchers) > 0 && m->chunk != NULL) {
        memset(&c, 0, sizeof(c));
        c.data = t->buf;
        c.len = t->len;
        c.key = t->key;
        if (GST_CLOCK_TIME_IS_VALID(t->pts)) {
            /* Base time plus running time, less hold_ns, plus
             * wall_off_ns: the wall clock of the frame's ingest. */
            c.pts_ms = (int64_t)(t->pts / GST_MSECOND);
            c.ingest_ms = ((int64_t)(gst_element_get_base_time(m->pipe) +
                                     t->pts - m->rt_offset -
                                     (GstClockTime)atomic_load(&m->hold_ns)) +
                           m->wall_off_ns) /
                          (int64_t)GST_MSECOND;
        } else {
            c.pts_ms = -1;
        }
        m->chunk(m->ud, m->id, t->index, &c);
    }
    t->len = 0;
    t->key = false;
}

/* Appends len bytes to the chunk being gathered (nothing when nobody
 * watches, or when memory runs out: the owner then sees a gap and waits
 * for the next keyframe). */
static void ts_append(tsout *t, const unsigned char *p, size_t len,
                      GstClockTime pts)
{
    if (atomic_load(&t->watchers) == 0 || len == 0)
        return;
    if (t->len + len > t->cap) {
        size_t cap = t->len + len > CHUNK_MAX ? t->len + len : CHUNK_MAX;
        unsigned char *nb = realloc(t->buf, cap);

        if (nb == NULL) {
            t->len = 0;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
    if (t->len == 0)
        t->pts = pts;
    memcpy(t->buf + t->len, p, len);
    t->len += len;
}

/* The PID of the first stream of a type in a PMT packet (0x1b H.264,
 * 0x0f AAC in ADTS), or 0. */
static int pmt_es_pid(const unsigned char *k, size_t pay, int type)
{
    const unsigned char *sec;
    size_t avail, end, j, info;

    if (pay + 1 + k[pay] + 12 > TS_PKT)
        return 0;
    sec = k + pay + 1 + k[pay];
    avail = TS_PKT - (pay + 1 + k[pay]); /* of the section in this packet */
    end = (size_t)(sec[1] & 0x0f) << 8 | sec[2];
    if (end < 13) /* shorter than a PMT's fixed part and CRC */
        return 0;
    end = 3 + end - 4; /* before the CRC */
    if (end > avail)
        end = avail;
    info = (size_t)(sec[10] & 0x0f) << 8 | sec[11];
    for (j = 12 + info; j + 5 <= end;
         j += 5 + ((size_t)(sec[j + 3] & 0x0f) << 8 | sec[j + 4]))
        if (sec[j] == type)
            return (sec[j + 1] & 0x1f) << 8 | sec[j + 2];
    return 0;
}

/* Whether the video PES that starts in packet k (payload at pay) begins
 * an IDR access unit: an SPS (h264parse config-interval=-1 puts one
 * before every IDR) or an IDR slice among its first NAL units. */
static bool pes_is_key(const unsigned char *k, size_t pay)
{
    size_t i;

    if (pay + 9 > TS_PKT || k[pay] != 0 || k[pay + 1] != 0 || k[pay + 2] != 1)
        return false;
    for (i = pay + 9 + k[pay + 8]; i + 3 < TS_PKT; i++)
        if (k[i] == 0 && k[i + 1] == 0 && k[i + 2] == 1) {
            int type = k[i + 3] & 0x1f;

            if (type == 7 || type == 5)
                return true;
            if (type == 1) /* a non-IDR slice */
                return false;
        }
    return false;
}

/* Scans the whole packets of a mux's output p[0..len): keeps the newest
 * PAT and PMT packets in pat and pmt (TS_PKT bytes each) and the PIDs they
 * give in *pmt_pid and *es_pid (the first elementary stream of type in the
 * PMT: 0x1b H.264, 0x0f AAC). Returns the offset of the first packet that
 * starts a PES of *es_pid (with key, only one that starts a keyframe), or
 * SIZE_MAX. */
static size_t ts_scan(const unsigned char *p, size_t len, int type, bool key,
                      unsigned char *pat, unsigned char *pmt, int *pmt_pid,
                      int *es_pid)
{
    size_t found = SIZE_MAX;

    for (size_t off = 0; off + TS_PKT <= len; off += TS_PKT) {
        const unsigned char *k = p + off;
        int pid = (k[1] & 0x1f) << 8 | k[2];
        bool pusi = (k[1] & 0x40) != 0, af = (k[3] & 0x20) != 0;
        size_t pay = 4 + (af ? 1u + k[4] : 0u);

        if (k[0] != 0x47)
            break;
        /* No payload (adaptation field only: PCR, stuffing) or a bad
         * adaptation length: nothing here, but the packets after it are
         * still looked at. */
        if (!pusi || (k[3] & 0x10) == 0 || pay >= TS_PKT)
            continue;
        if (pid == 0 && pay + 1 + k[pay] + 12 <= TS_PKT) {
            const unsigned char *sec = k + pay + 1 + k[pay];

            memcpy(pat, k, TS_PKT);
            *pmt_pid = (sec[10] & 0x1f) << 8 | sec[11];
        } else if (pid != 0 && pid == *pmt_pid) {
            memcpy(pmt, k, TS_PKT);
            *es_pid = pmt_es_pid(k, pay, type);
        } else if (found == SIZE_MAX && pid != 0 && pid == *es_pid &&
                   (!key || pes_is_key(k, pay))) {
            found = off;
        }
    }
    return found;
}

/* One buffer of the mux (whole TS packets). mpegtsmux's buffer flags and
 * random access indicators do not say where a keyframe starts (its
 * periodic PAT/PMT come without DELTA_UNIT, and the indicator follows
 * them), the H.264 does: a video PES that starts with an SPS or an IDR
 * slice. A keyframe starts a chunk of its own, led by copies of the last
 * PAT and PMT (a duplicate packet for those who already have them, what a
 * new viewer needs to find the streams), and marked key. Otherwise a
 * chunk ends where the timestamp changes (one frame's packets), or at
 * CHUNK_MAX. Output older than the keyframe that last started the mux
 * (STALE_NS) is dropped: the mux held it while it was stopped. */
static void ts_add(tsout *t, GstBuffer *buf)
{
    GstClockTime pts = GST_BUFFER_PTS(buf);
    GstClockTime open_rt = atomic_load(&t->open_rt);
    size_t key_at;
    GstMapInfo mi;

    if (!gst_buffer_map(buf, &mi, GST_MAP_READ))
        return;
    key_at = ts_scan(mi.data, mi.size, 0x1b, true, t->pat, t->pmt, &t->pmt_pid,
                     &t->video_pid);
    if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(open_rt) &&
        pts + STALE_NS < open_rt) {
        t->len = 0; /* held by the mux since it stopped: nobody's */
        t->key = false;
        t->stale += mi.size;
        gst_buffer_unmap(buf, &mi);
        return;
    }
    if (t->stale > 0) {
        YL_LOGI("live",
                "[meeting=%" PRId64 "] output %d (%dp/%s): %zu byte(s) the "
                "mux held since it stopped dropped",
                t->m->id, t->index, t->rung, t->lang, t->stale);
        t->stale = 0;
    }
    if (key_at != SIZE_MAX) {
        ts_append(t, mi.data, key_at, pts);
        ts_flush(t);
        ts_append(t, t->pat, TS_PKT, pts);
        ts_append(t, t->pmt, TS_PKT, pts);
        t->key = t->len > 0;
        ts_append(t, mi.data + key_at, mi.size - key_at, pts);
    } else {
        if (t->len > 0 && ((GST_CLOCK_TIME_IS_VALID(pts) && pts != t->pts) ||
                           t->len + mi.size > CHUNK_MAX))
            ts_flush(t);
        ts_append(t, mi.data, mi.size, pts);
    }
    gst_buffer_unmap(buf, &mi);
}

/* ---- live HLS segments (streaming threads, but hls_attach/hls_reset) ----
 *
 * Each rendition's mux output is cut into segment files here, as ffmpeg's
 * hls muxer does it: a segment ends where the first keyframe (video) or
 * audio frame at or past the next line of a one-second grid begins, and
 * is listed as soon as that frame arrives. Each segment starts with the
 * last PAT and PMT (a player may start with any segment). */

/* Posts an error on the sink: the pipeline is rebuilt, as after any
 * element's failure. */
static void hls_fail(hlsout *h, const char *what, int err)
{
    GError *e;

    if (h->failed)
        return;
    h->failed = true;
    e = g_error_new(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE,
                    "live HLS: %s: %s", what, strerror(err));
    gst_element_post_message(
        h->sink, gst_message_new_error(GST_OBJECT(h->sink), e, NULL));
    g_error_free(e);
}

static void hls_path(const hlsout *h, int64_t fidx, char *buf, size_t len)
{
    char name[160];

    seg_file(h->m, &h->m->st[h->index], h->gen, fidx, name, sizeof(name));
    snprintf(buf, len, "%s/%s", h->m->dir, name);
}

static void hls_write(hlsout *h, const unsigned char *p, size_t len)
{
    while (h->fd >= 0 && !h->failed && len > 0) {
        ssize_t w = write(h->fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            char path[4096];

            hls_path(h, h->fidx, path, sizeof(path));
            hls_fail(h, path, errno);
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}

/* Closes the segment being written, which ends at running time end, and
 * tells the meeting thread. */
static void hls_close(hlsout *h, GstClockTime end)
{
    GstStructure *s;

    if (h->fd < 0)
        return;
    if (close(h->fd) < 0 && !h->failed) {
        char path[4096];

        hls_path(h, h->fidx, path, sizeof(path));
        hls_fail(h, path, errno);
    }
    h->fd = -1;
    if (!h->failed) {
        s = gst_structure_new("yl-hls-segment", "stream", G_TYPE_INT, h->index,
                              "gen", G_TYPE_INT, h->gen, "fidx", G_TYPE_INT64,
                              (gint64)h->fidx, "start", G_TYPE_UINT64,
                              (guint64)h->start, "end", G_TYPE_UINT64,
                              (guint64)(end > h->start ? end : h->start), NULL);
        gst_element_post_message(
            h->sink, gst_message_new_element(GST_OBJECT(h->sink), s));
    }
    h->fidx++;
}

/* Opens the next segment, starting at running time start with the PAT
 * and PMT. */
static void hls_open(hlsout *h, GstClockTime start)
{
    char path[4096];

    if (h->failed)
        return;
    hls_path(h, h->fidx, path, sizeof(path));
    h->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (h->fd < 0) {
        hls_fail(h, path, errno);
        return;
    }
    h->start = start;
    while (h->next_cut <= start + SEG_SLACK_NS)
        h->next_cut += SEG_NS;
    hls_write(h, h->pat, TS_PKT);
    hls_write(h, h->pmt, TS_PKT);
}

/* One buffer of the mux (whole TS packets): where a segment may begin in
 * it (a video PES that starts an IDR, as pes_is_key() finds it; any PES
 * of the audio), and whether the grid says to cut there. */
static void hls_add(hlsout *h, GstBuffer *buf)
{
    GstClockTime pts = GST_BUFFER_PTS(buf);
    size_t cut_at;
    GstMapInfo mi;

    if (h->failed || !gst_buffer_map(buf, &mi, GST_MAP_READ))
        return;
    /* The audio: any PES starts a frame; the video: a keyframe. */
    cut_at = ts_scan(mi.data, mi.size, h->audio ? 0x0f : 0x1b, !h->audio,
                     h->pat, h->pmt, &h->pmt_pid, &h->es_pid);
    if (cut_at != SIZE_MAX && !GST_CLOCK_TIME_IS_VALID(pts))
        cut_at = SIZE_MAX;
    if (cut_at != SIZE_MAX && h->fd < 0 && !GST_CLOCK_TIME_IS_VALID(h->start)) {
        /* The first segment: from the first keyframe; before it, nothing
         * a player could decode. */
        h->next_cut = pts;
        hls_open(h, pts);
        hls_write(h, mi.data + cut_at, mi.size - cut_at);
    } else if (cut_at != SIZE_MAX && h->fd >= 0 &&
               pts + SEG_SLACK_NS >= h->next_cut) {
        hls_write(h, mi.data, cut_at);
        hls_close(h, pts);
        hls_open(h, pts);
        hls_write(h, mi.data + cut_at, mi.size - cut_at);
    } else {
        hls_write(h, mi.data, mi.size);
    }
    if (GST_CLOCK_TIME_IS_VALID(pts) && pts != h->last) {
        h->prev = h->last;
        h->last = pts;
    }
    gst_buffer_unmap(buf, &mi);
}

/* The fakesink's streaming thread: writes, never calls lws. At EOS the
 * last segment ends one frame after its last timestamp. */
static GstPadProbeReturn on_hls(GstPad *pad, GstPadProbeInfo *info, gpointer ud)
{
    hlsout *h = ud;

    (void)pad;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        hls_add(h, GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        guint n = gst_buffer_list_length(l);

        for (guint i = 0; i < n; i++)
            hls_add(h, gst_buffer_list_get(l, i));
    } else if ((info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) &&
               GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) ==
                   GST_EVENT_EOS &&
               h->fd >= 0) {
        GstClockTime end = h->last;

        if (GST_CLOCK_TIME_IS_VALID(h->prev) && h->last > h->prev)
            end += h->last - h->prev;
        hls_close(h, end);
    }
    return GST_PAD_PROBE_OK;
}

/* Meeting thread, after a teardown (no streaming thread left) and before
 * a build: a segment left open was never listed and goes. */
static void hls_reset(live_meeting *m)
{
    char path[4096];

    for (int i = 0; i < m->nst; i++) {
        hlsout *h = &m->hls[i];

        if (h->fd >= 0) {
            close(h->fd);
            hls_path(h, h->fidx, path, sizeof(path));
            unlink(path);
        }
        h->fd = -1;
    }
}

/* Meeting thread, before PLAYING: a segmenter on each stream's fakesink,
 * writing build m->gen's files from number 0. */
static void hls_attach(live_meeting *m)
{
    for (int i = 0; i < m->nst; i++) {
        hlsout *h = &m->hls[i];
        GstElement *sink = gst_bin_get_by_name(GST_BIN(m->pipe), m->st[i].name);
        GstPad *pad;

        memset(h, 0, sizeof(*h));
        h->m = m;
        h->index = i;
        h->audio = m->st[i].audio;
        h->gen = m->gen;
        h->fd = -1;
        h->start = h->next_cut = GST_CLOCK_TIME_NONE;
        h->last = h->prev = GST_CLOCK_TIME_NONE;
        if (sink == NULL)
            continue;
        h->sink = sink; /* the pipeline holds it while the probe runs */
        pad = gst_element_get_static_pad(sink, "sink");
        if (pad != NULL) {
            gst_pad_add_probe(pad,
                              GST_PAD_PROBE_TYPE_BUFFER |
                                  GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                  GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                              on_hls, h, NULL);
            gst_object_unref(pad);
        }
        gst_object_unref(sink);
    }
}

/* The fakesink's streaming thread: never blocks, never calls lws. */
static GstPadProbeReturn on_ts(GstPad *pad, GstPadProbeInfo *info, gpointer ud)
{
    tsout *t = ud;

    (void)pad;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        ts_add(t, GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        guint n = gst_buffer_list_length(l);

        for (guint i = 0; i < n; i++)
            ts_add(t, gst_buffer_list_get(l, i));
    }
    return GST_PAD_PROBE_OK;
}

/* The video rung's streaming thread (its tee), in front of a mux's video
 * queue: nothing passes while nobody watches; once someone does, the
 * mux's input starts at a keyframe (h264parse leads each one with SPS and
 * PPS), so its first output is PAT, PMT and an IDR. Waiting for the next
 * natural keyframe (one a second, at the same frame in every rung) keeps
 * the rungs aligned, which a forced one would not. Events pass: the mux
 * keeps its caps and segment, ready to go. Never blocks. */
static GstPadProbeReturn gate_video(GstPad *pad, GstPadProbeInfo *info,
                                    gpointer ud)
{
    tsout *t = ud;
    GstBuffer *buf = NULL;
    GstEvent *ev;

    if (atomic_load(&t->watchers) <= 0) {
        if (atomic_exchange(&t->open, false))
            YL_LOGI("live",
                    "[meeting=%" PRId64 "] output %d (%dp/%s): no viewer, "
                    "mux stopped",
                    t->m->id, t->index, t->rung, t->lang);
        return GST_PAD_PROBE_DROP;
    }
    if (atomic_load(&t->open))
        return GST_PAD_PROBE_OK;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
        buf = GST_PAD_PROBE_INFO_BUFFER(info);
    else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST &&
             gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info)) > 0)
        buf = gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0);
    if (buf == NULL || GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
        return GST_PAD_PROBE_DROP;
    ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
    if (ev != NULL) {
        const GstSegment *sg;

        gst_event_parse_segment(ev, &sg);
        atomic_store(&t->open_rt,
                     gst_segment_to_running_time(sg, GST_FORMAT_TIME,
                                                 GST_BUFFER_PTS(buf)));
        gst_event_unref(ev);
    }
    atomic_store(&t->open, true);
    YL_LOGI("live",
            "[meeting=%" PRId64 "] output %d (%dp/%s): mux started at a "
            "keyframe",
            t->m->id, t->index, t->rung, t->lang);
    return GST_PAD_PROBE_OK;
}

/* The audio language's streaming thread, in front of a mux's audio
 * queue: passes while the video gate is open. */
static GstPadProbeReturn gate_audio(GstPad *pad, GstPadProbeInfo *info,
                                    gpointer ud)
{
    tsout *t = ud;

    (void)pad;
    (void)info;
    return atomic_load(&t->watchers) > 0 && atomic_load(&t->open)
               ? GST_PAD_PROBE_OK
               : GST_PAD_PROBE_DROP;
}

/* Adds fn (data t) as a buffer probe on element name's pad pad_name. */
static void probe_on(live_meeting *m, const char *name, const char *pad_name,
                     GstPadProbeCallback fn, tsout *t)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(m->pipe), name);
    GstPad *pad = e != NULL ? gst_element_get_static_pad(e, pad_name) : NULL;

    if (pad != NULL)
        gst_pad_add_probe(
            pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, fn,
            t, NULL);
    if (pad != NULL)
        gst_object_unref(pad);
    if (e != NULL)
        gst_object_unref(e);
}

/* Meeting thread, before PLAYING: the gates in front of each mux and the
 * probe on its sink, then the outputs are published to other threads. */
static void ts_attach(live_meeting *m)
{
    int n = 0;
    char name[16];

    for (int i = 0; i < LIVE_TS_MAX && m->ts[i].m != NULL; i++) {
        GstElement *sink;

        snprintf(name, sizeof(name), "ws%d", i);
        sink = gst_bin_get_by_name(GST_BIN(m->pipe), name);
        if (sink == NULL)
            break;
        gst_object_unref(sink);
        probe_on(m, name, "sink", on_ts, &m->ts[i]);
        snprintf(name, sizeof(name), "wv%d", i);
        probe_on(m, name, "sink", gate_video, &m->ts[i]);
        snprintf(name, sizeof(name), "wa%d", i);
        probe_on(m, name, "sink", gate_audio, &m->ts[i]);
        n++;
    }
    atomic_store_explicit(&m->nts, n, memory_order_release);
}

int live_meeting_output(live_meeting *m, int rung, const char *lang)
{
    int n = atomic_load_explicit(&m->nts, memory_order_acquire);

    if (n < 0)
        return -EAGAIN;
    if (n == 0)
        return -ENODATA;
    for (int i = 0; i < n; i++)
        if (m->ts[i].rung == rung && strcmp(m->ts[i].lang, lang) == 0)
            return i;
    return -ENOENT;
}

int live_meeting_output_info(live_meeting *m, int i, int *rung,
                             const char **lang)
{
    if (i < 0 || i >= atomic_load_explicit(&m->nts, memory_order_acquire))
        return -ENOENT;
    *rung = m->ts[i].rung;
    *lang = m->ts[i].lang;
    return 0;
}

void live_meeting_watch(live_meeting *m, int out, int delta)
{
    if (out >= 0 && out < atomic_load_explicit(&m->nts, memory_order_acquire))
        atomic_fetch_add(&m->ts[out].watchers, delta);
}

/* ---- the ingest of a network source (split) ---- */

/* Streaming thread of the ingest, as uridecodebin adds its elements:
 * tsdemux's default latency (700 ms, "for smooth demuxing") holds every
 * frame of an MPEG-TS feed (SRT, UDP) that long before the encoders see
 * it, and the clock frames of /ws/live cannot show it (they start at the
 * encoders). SRT's own receive buffer (its latency, 125 ms by default, in
 * the source URI) already smooths the network. bench/live/latency.sh. */
static void on_ingest_element(GstBin *bin, GstBin *sub, GstElement *e,
                              gpointer ud)
{
    GstElementFactory *f = gst_element_get_factory(e);

    (void)bin;
    (void)sub;
    (void)ud;
    if (f != NULL && strcmp(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)),
                            "tsdemux") == 0)
        g_object_set(e, "latency", TSDEMUX_MS, NULL);
}

/* Streaming thread of an ingest (the main feed's video, an interpreter's
 * audio): a buffer reached its sink; ud is the atomic_llong that keeps the
 * monotonic time of the last one, in ns (the loss watch reads it). */
static GstPadProbeReturn on_arrival(GstPad *pad, GstPadProbeInfo *info,
                                    gpointer ud)
{
    (void)pad;
    (void)info;
    atomic_store((atomic_llong *)ud, (long long)g_get_monotonic_time() * 1000);
    return GST_PAD_PROBE_OK;
}

/* Under feed_lock, streaming thread of an ingest: the lag at which f's
 * buffer that came d ns after its own time (now) is handed over. */
static GstClockTimeDiff anchor_lag_locked(live_meeting *m, feed *f,
                                          GstClockTimeDiff d, GstClockTime now)
{
    anchor *a = &m->anchors[f->an];
    bool jump = f->seen && (d - f->last > RESYNC_NS || f->last - d > RESYNC_NS);

    f->seen = true;
    f->last = d;
    if (!a->set || jump) {
        if (a->set)
            YL_LOGI("live",
                    "[meeting=%" PRId64 "] feed %d: timestamps jumped "
                    "(%+.3f s): anchored anew",
                    m->id, (int)(f - m->feeds),
                    (double)(d - a->lag) / GST_SECOND);
        a->set = true;
        a->lag = MIN(d, LAG_MAX_NS);
        a->since = now;
        a->win_max = d;
        a->win_at = now;
        return a->lag;
    }
    if (d > a->win_max)
        a->win_max = d;
    if (now - a->win_at >= DECAY_NS) {
        if (now - a->since >= WARM_NS && a->win_max < a->lag) {
            GstClockTimeDiff excess = a->lag - a->win_max;

            a->lag -= excess > DECAY_FAST_NS ? excess / 2
                                             : MIN(excess, DECAY_STEP_NS);
        }
        a->win_max = d;
        a->win_at = now;
    }
    if (d > a->lag && a->lag < LAG_MAX_NS) {
        GstClockTimeDiff to = MIN(d, LAG_MAX_NS);

        if (now - a->since >= WARM_NS && d > a->lag + HANDOFF_NS) {
            YL_LOGW("live",
                    "[meeting=%" PRId64 "] feed %d: a buffer %.3f s late: "
                    "the hand-over's lag raised%s",
                    m->id, (int)(f - m->feeds),
                    (double)(d - a->lag) / GST_SECOND,
                    to < d ? " to its most (LAG_MAX_NS)" : "");
            a->lag = to;
        } else if (now - a->since < WARM_NS) {
            a->lag = to;
        }
    }
    return a->lag;
}

/* Streaming thread of an ingest (appsink callback; ud: its feed): the
 * decoded buffer goes to the encoding pipeline's appsrc, presented at its
 * source time plus the ingest's lag (anchor), on the encoding pipeline's
 * running time. Never blocks: the appsrc queues (bounded, dropping the
 * oldest) and its own thread waits for the aggregator. */
static GstFlowReturn on_feed(GstAppSink *sink, gpointer ud)
{
    feed *f = ud;
    live_meeting *m = f->m;
    GstSample *s = gst_app_sink_pull_sample(sink);
    GstElement *src = NULL;
    GstBuffer *buf;
    GstCaps *caps, *have = NULL;
    GstClockTime rt, now, ibase, ebase, at;
    GstClockTimeDiff lag;

    if (s == NULL)
        return GST_FLOW_OK; /* flushing, or the end */
    buf = gst_sample_get_buffer(s);
    if (buf == NULL || m->clock == NULL)
        goto out;
    rt = gst_segment_to_running_time(gst_sample_get_segment(s), GST_FORMAT_TIME,
                                     GST_BUFFER_PTS(buf));
    if (!GST_CLOCK_TIME_IS_VALID(rt))
        goto out;
    ibase = gst_element_get_base_time(GST_ELEMENT(sink));
    pthread_mutex_lock(&m->feed_lock);
    /* Read under the lock: the picture's and the sound's threads share
     * an anchor, whose times must not go backwards. */
    now = gst_clock_get_time(m->clock);
    lag = anchor_lag_locked(m, f, GST_CLOCK_DIFF(ibase + rt, now), now);
    if (f->src != NULL)
        src = gst_object_ref(f->src);
    pthread_mutex_unlock(&m->feed_lock);
    if (src == NULL)
        goto out;
    at = (GstClockTime)((GstClockTimeDiff)(ibase + rt) + lag + HANDOFF_NS);
    /* The compositor shows a picture from the start of the 40 ms frame
     * it falls in, up to a frame before its time: half a frame later
     * centres that on the sound. */
    if (f == &m->feeds[0]) {
        at += GST_SECOND / FPS / 2;
        atomic_store(&m->hold_ns, (long long)GST_CLOCK_DIFF(now, at));
    }
    ebase = gst_element_get_base_time(src);
    if (ebase == 0 || at < ebase) /* not playing yet, or before it */
        goto out;
    caps = gst_sample_get_caps(s);
    have = gst_app_src_get_caps(GST_APP_SRC(src));
    if (caps != NULL && (have == NULL || !gst_caps_is_equal(have, caps)))
        gst_app_src_set_caps(GST_APP_SRC(src), caps);
    buf = gst_buffer_copy(buf); /* the memory is shared, not copied */
    GST_BUFFER_PTS(buf) = at - ebase;
    GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
    gst_app_src_push_buffer(GST_APP_SRC(src), buf); /* takes buf */
out:
    if (have != NULL)
        gst_caps_unref(have);
    if (src != NULL)
        gst_object_unref(src);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

/* Meeting thread: sink (an appsink of an ingest) hands its buffers over
 * as feed fi, anchored anew with anchor an (a new ingest's timeline). */
static void feed_connect(live_meeting *m, GstElement *sink, int fi, int an)
{
    static GstAppSinkCallbacks cb = {.new_sample = on_feed};

    pthread_mutex_lock(&m->feed_lock);
    m->anchors[an].set = false;
    m->feeds[fi].an = an;
    m->feeds[fi].seen = false;
    pthread_mutex_unlock(&m->feed_lock);
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, &m->feeds[fi], NULL);
}

/* Meeting thread: the encoding pipeline's appsrcs (fv, fa<i>) become the
 * feeds' ends; with pipe NULL (its teardown), the feeds have none. */
static void feed_attach(live_meeting *m, GstElement *pipe)
{
    GstElement *old[MAX_FEEDS];
    char name[16];

    for (int i = 0; i < MAX_FEEDS; i++) {
        GstElement *e = NULL;

        if (pipe != NULL) {
            if (i == 0)
                snprintf(name, sizeof(name), "fv");
            else
                snprintf(name, sizeof(name), "fa%d", i - 1);
            e = gst_bin_get_by_name(GST_BIN(pipe), name);
        }
        pthread_mutex_lock(&m->feed_lock);
        old[i] = m->feeds[i].src;
        m->feeds[i].src = e; /* the ref from get_by_name */
        pthread_mutex_unlock(&m->feed_lock);
    }
    for (int i = 0; i < MAX_FEEDS; i++)
        if (old[i] != NULL)
            gst_object_unref(old[i]);
}

/* Meeting thread: the slate on (the feed's pictures hidden) or off. */
static void show_slate(live_meeting *m, bool on)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(m->pipe), "slate");
    GstPad *pad;

    if (e != NULL) {
        g_object_set(e, "alpha", on ? 1.0 : 0.0, NULL);
        gst_object_unref(e);
    }
    e = gst_bin_get_by_name(GST_BIN(m->pipe), "vmix");
    if (e == NULL)
        return;
    pad = gst_element_get_static_pad(e, "sink_1");
    if (pad != NULL) {
        g_object_set(pad, "alpha", on ? 0.0 : 1.0, NULL);
        gst_object_unref(pad);
    }
    gst_object_unref(e);
}

static void ingest_stop(live_meeting *m)
{
    if (m->ingest == NULL)
        return;
    gst_element_set_state(m->ingest, GST_STATE_NULL);
    if (m->map)
        map_reset(m, NULL);
    gst_object_unref(m->ingest);
    m->ingest = NULL;
}

/* Builds and starts the ingest; on failure retries in a second. Its
 * appsinks do not sync to the clock: syncing held every frame for the
 * ingest's whole reported latency (tsdemux, decoders): 1.9 s from ingest
 * to picture against 0.84 s without (bench/live/latency.sh). They hand
 * each buffer over as it comes, and the encoding pipeline presents it by
 * its timestamp (on_feed()): the sound and the picture stay together
 * whichever of them the ingest brings first. No videorate: the
 * compositor picks a picture per frame of its own. */
static void ingest_start(live_meeting *m)
{
    yl_buf b = YL_BUF_INIT;
    GError *gerr = NULL;
    GstElement *e;
    GstPad *pad;
    int i;

    m->retry_at_us = 0;
    atomic_store(&m->video_linked, false);
    atomic_store(&m->audio_linked, 0);
    yl_buf_printf(&b,
                  "uridecodebin name=src uri=\"%s\"\n"
                  "queue name=vin ! videoconvert ! videoscale ! "
                  "video/x-raw,format=I420,width=1280,height=720,"
                  "pixel-aspect-ratio=1/1 ! appsink name=vsink sync=false "
                  "enable-last-sample=false\n",
                  m->source);
    for (i = 0; i < m->naudio; i++)
        if (m->decl_src[i] == NULL) /* else an interpreter's feed */
            yl_buf_printf(&b,
                          "queue name=ain%d ! audioconvert ! audioresample ! "
                          "%s ! appsink name=asink%d sync=false "
                          "enable-last-sample=false\n",
                          i, AUDIO_CAPS, i);
    if (b.err == 0)
        m->ingest = gst_parse_launch(b.s, &gerr);
    yl_buf_free(&b);
    if (m->ingest == NULL || gerr != NULL) {
        YL_LOGE("live", "[meeting=%" PRId64 "] ingest: %s", m->id,
                gerr ? gerr->message : "cannot build");
        g_clear_error(&gerr);
        ingest_stop(m);
        m->retry_at_us = g_get_monotonic_time() + G_USEC_PER_SEC;
        return;
    }
    g_signal_connect(m->ingest, "deep-element-added",
                     G_CALLBACK(on_ingest_element), m);
    gst_pipeline_use_clock(GST_PIPELINE(m->ingest), m->clock);
    for (i = 0; i < m->naudio; i++) {
        char name[16];

        snprintf(name, sizeof(name), "asink%d", i);
        e = gst_bin_get_by_name(GST_BIN(m->ingest), name);
        if (e != NULL) {
            feed_connect(m, e, 1 + i, 0);
            gst_object_unref(e);
        }
    }
    e = gst_bin_get_by_name(GST_BIN(m->ingest), "src");
    g_signal_connect(e, "pad-added", G_CALLBACK(pad_added), m);
    if (m->map) {
        g_signal_connect(e, "no-more-pads", G_CALLBACK(on_no_more_pads), m);
        map_reset(m, m->ingest);
    }
    gst_object_unref(e);
    e = gst_bin_get_by_name(GST_BIN(m->ingest), "vsink");
    feed_connect(m, e, 0, 0);
    pad = gst_element_get_static_pad(e, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_arrival,
                      &m->last_in_ns, NULL);
    gst_object_unref(pad);
    gst_object_unref(e);
    atomic_store(&m->last_in_ns, 0);
    if (gst_element_set_state(m->ingest, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
        char src[256];

        YL_LOGW("live", "[meeting=%" PRId64 "] ingest of %s refused to start",
                m->id, live_source_redact(m->source, src, sizeof(src)));
        ingest_stop(m);
        m->retry_at_us = g_get_monotonic_time() + G_USEC_PER_SEC;
    }
}

/* Meeting thread, every round: the slate on loss, the ingest's bus,
 * rebuilding it after an error or when it stays silent. */
static void ingest_watch(live_meeting *m)
{
    gint64 now_us = g_get_monotonic_time();
    long long last = atomic_load(&m->last_in_ns);
    bool lost = last == 0 || now_us * 1000 - last > (long long)LOSS_NS;
    GstMessage *msg;
    GstBus *bus;

    if (lost != m->lost && m->pipe != NULL) { /* NULL: being rebuilt */
        m->lost = lost;
        show_slate(m, lost);
        if (lost)
            YL_LOGW("live", "[meeting=%" PRId64 "] source lost: slate on",
                    m->id);
        else
            YL_LOGI("live", "[meeting=%" PRId64 "] source back", m->id);
    }
    if (m->ingest != NULL && m->map)
        map_timeout(m);
    if (m->ingest != NULL) {
        bus = gst_element_get_bus(m->ingest);
        while ((msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR |
                                                    GST_MESSAGE_EOS)) != NULL) {
            if (m->retry_at_us == 0) {
                GError *e = NULL;

                if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
                    gst_message_parse_error(msg, &e, NULL);
                YL_LOGW("live",
                        "[meeting=%" PRId64 "] source: %s; again in 1 s", m->id,
                        e ? e->message : "end of stream");
                g_clear_error(&e);
                m->retry_at_us = now_us + G_USEC_PER_SEC;
            }
            gst_message_unref(msg);
        }
        gst_object_unref(bus);
        /* A feed that came and went: SRT listeners wait for the next
         * caller best from a fresh socket. */
        if (m->retry_at_us == 0 && last != 0 &&
            now_us * 1000 - last > (long long)STUCK_NS)
            m->retry_at_us = now_us;
        if (m->retry_at_us != 0)
            ingest_stop(m);
    }
    if (m->ingest == NULL && m->retry_at_us != 0 && now_us >= m->retry_at_us) {
        m->restarts++;
        ingest_start(m);
    }
}

/* ---- an interpreter's own feed (interp) ---- */

/* Streaming thread of an interpreter's ingest: its first decoded audio
 * pad feeds the language's channel; anything else stays unlinked. */
static void interp_pad_added(GstElement *src, GstPad *pad, gpointer ud)
{
    interp *it = ud;
    GstCaps *caps = gst_pad_query_caps(pad, NULL);
    GstElement *bin = GST_ELEMENT(gst_element_get_parent(src)), *to = NULL;
    const char *kind = "";

    if (caps != NULL && gst_caps_get_size(caps) > 0)
        kind = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    if (bin != NULL && strncmp(kind, "audio/", 6) == 0 &&
        !atomic_exchange(&it->linked, true))
        to = gst_bin_get_by_name(GST_BIN(bin), "ain");
    if (to != NULL) {
        GstPad *sink = gst_element_get_static_pad(to, "sink");

        if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
            YL_LOGW("live",
                    "[meeting=%" PRId64 "] cannot link the interpreter's "
                    "audio (%s)",
                    it->m->id, it->m->decl_lang[it->slot]);
        gst_object_unref(sink);
        gst_object_unref(to);
    }
    if (bin != NULL)
        gst_object_unref(bin);
    if (caps != NULL)
        gst_caps_unref(caps);
}

static void interp_stop(interp *it)
{
    if (it->pipe == NULL)
        return;
    gst_element_set_state(it->pipe, GST_STATE_NULL);
    gst_object_unref(it->pipe);
    it->pipe = NULL;
}

/* Meeting thread: builds and starts an interpreter's ingest (its sink
 * does not sync, as the main ingest's; its buffers are handed over on a
 * timeline of their own, anchors[1 + slot]); on failure retries in a
 * second. */
static void interp_start(interp *it)
{
    live_meeting *m = it->m;
    yl_buf b = YL_BUF_INIT;
    GError *gerr = NULL;
    GstElement *e;
    GstPad *pad;
    char src[256];

    it->retry_at_us = 0;
    atomic_store(&it->linked, false);
    atomic_store(&it->last_in_ns, 0);
    yl_buf_printf(&b,
                  "uridecodebin name=src uri=\"%s\"\n"
                  "queue name=ain ! audioconvert ! audioresample ! %s ! "
                  "appsink name=asink sync=false enable-last-sample=false\n",
                  it->uri, AUDIO_CAPS);
    if (b.err == 0)
        it->pipe = gst_parse_launch(b.s, &gerr);
    yl_buf_free(&b);
    if (it->pipe == NULL || gerr != NULL) {
        YL_LOGE("live", "[meeting=%" PRId64 "] interpreter (%s): %s", m->id,
                m->decl_lang[it->slot], gerr ? gerr->message : "cannot build");
        g_clear_error(&gerr);
        goto retry;
    }
    g_signal_connect(it->pipe, "deep-element-added",
                     G_CALLBACK(on_ingest_element), m);
    gst_pipeline_use_clock(GST_PIPELINE(it->pipe), m->clock);
    e = gst_bin_get_by_name(GST_BIN(it->pipe), "src");
    g_signal_connect(e, "pad-added", G_CALLBACK(interp_pad_added), it);
    gst_object_unref(e);
    e = gst_bin_get_by_name(GST_BIN(it->pipe), "asink");
    feed_connect(m, e, 1 + it->slot, 1 + it->slot);
    pad = gst_element_get_static_pad(e, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_arrival,
                      &it->last_in_ns, NULL);
    gst_object_unref(pad);
    gst_object_unref(e);
    if (gst_element_set_state(it->pipe, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE)
        return;
    YL_LOGW("live",
            "[meeting=%" PRId64 "] interpreter (%s) %s refused to start", m->id,
            m->decl_lang[it->slot],
            live_source_redact(it->uri, src, sizeof(src)));
retry:
    interp_stop(it);
    it->retry_at_us = g_get_monotonic_time() + G_USEC_PER_SEC;
}

/* Meeting thread, every round: an interpreter's feed came or went (its
 * rendition is silent while it is away: its audiomixer), its bus, and a
 * rebuild after an error or when it stays silent, as ingest_watch(). */
static void interp_watch(interp *it)
{
    live_meeting *m = it->m;
    gint64 now_us = g_get_monotonic_time();
    long long last = atomic_load(&it->last_in_ns);
    bool up = last != 0 && now_us * 1000 - last <= (long long)LOSS_NS;
    GstMessage *msg;
    GstBus *bus;

    if (up != it->up) {
        it->up = up;
        if (up)
            YL_LOGI("live", "[meeting=%" PRId64 "] interpreter (%s) back",
                    m->id, m->decl_lang[it->slot]);
        else
            YL_LOGW("live",
                    "[meeting=%" PRId64 "] interpreter (%s) lost: silence",
                    m->id, m->decl_lang[it->slot]);
    }
    if (it->pipe != NULL) {
        bus = gst_element_get_bus(it->pipe);
        while ((msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR |
                                                    GST_MESSAGE_EOS)) != NULL) {
            if (it->retry_at_us == 0) {
                GError *e = NULL;

                if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
                    gst_message_parse_error(msg, &e, NULL);
                YL_LOGW("live",
                        "[meeting=%" PRId64 "] interpreter (%s): %s; again "
                        "in 1 s",
                        m->id, m->decl_lang[it->slot],
                        e ? e->message : "end of stream");
                g_clear_error(&e);
                it->retry_at_us = now_us + G_USEC_PER_SEC;
            }
            gst_message_unref(msg);
        }
        gst_object_unref(bus);
        if (it->retry_at_us == 0 && last != 0 &&
            now_us * 1000 - last > (long long)STUCK_NS)
            it->retry_at_us = now_us;
        if (it->retry_at_us != 0)
            interp_stop(it);
    }
    if (it->pipe == NULL && it->retry_at_us != 0 && now_us >= it->retry_at_us)
        interp_start(it);
}

/* LeakSanitizer (ASan builds): GLib allocates in its library constructor
 * and never frees it (16 KB, reported at every exit of a process that
 * links GStreamer); fontconfig and Pango, when loaded, keep caches for
 * the life of the process. GLib and GStreamer are built without frame
 * pointers, so the fast unwinder stops in them: suppress by module. A leak of
 * ours through malloc() still shows. Unused outside sanitizer builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libglib-2.0.so\nleak:libgobject-2.0.so\n"
           "leak:libgstreamer-1.0.so\nleak:libfontconfig.so\n"
           "leak:libpango-1.0.so\nleak:libpangoft2-1.0.so\n";
}

/* ThreadSanitizer (TSan builds): GLib and GStreamer are not instrumented
 * and synchronise their streaming threads in ways TSan cannot see (GLib's
 * slice allocator, GstMiniObject refcounts), so races reported inside
 * them are not ours to fix. A suppression matches any frame of either
 * stack of a report, so these hide more than that: every race in our
 * callbacks that GStreamer's threads run (libgst* is on their stacks) and
 * every race of the meeting thread (meeting_main is at the root of its
 * stack). TSan does not check live/ against the other threads: what they
 * share is kept to atomics, the feed lock and the outbox queue for that
 * reason, and read by review, not by TSan. It still checks the service,
 * writer, ingest, query and job threads against each other. Unused
 * outside sanitizer builds. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
    /* meeting_main: the bus messages it reads were written by GStreamer's
     * streaming threads and handed over inside GLib (GstBus's lock), which
     * is not instrumented, so every read of a message looks like a race
     * (GST_MESSAGE_TYPE in a web_wall meeting under TSan). */
    return "race:libglib-2.0.so\nrace:libgobject-2.0.so\nrace:libgst*\n"
           "race:meeting_main\n"
           "race:libgio-2.0.so\nrace:libpango*\nrace:libfontconfig*\n"
           "race:libharfbuzz*\nrace:libfreetype*\nrace:libcairo*\n"
           "race:libx264*\nrace:libav*\nrace:libsrt*\nrace:liborc*\n"
           "deadlock:libglib-2.0.so\ndeadlock:libgst*\n";
}

static void once_init(void)
{
    gst_init(NULL, NULL);
}

/* ---- building, failing and rebuilding the pipeline (meeting thread) ---- */

/* The websocket path's chunks being gathered belong to the old muxes:
 * dropped, so the first chunk of the new ones starts clean (PAT, PMT and
 * an IDR). Only while no pipeline runs (no streaming thread). */
static void ts_reset(live_meeting *m)
{
    int n = atomic_load_explicit(&m->nts, memory_order_acquire);

    for (int i = 0; i < n; i++) {
        tsout *t = &m->ts[i];

        t->len = 0;
        t->key = false;
        t->pts = GST_CLOCK_TIME_NONE;
        t->pmt_pid = 0;
        t->video_pid = 0;
        atomic_store(&t->open, false); /* the new mux starts at a key */
        atomic_store(&t->open_rt, GST_CLOCK_TIME_NONE);
        t->stale = 0;
    }
}

/* Test only: YL_LIVE_TEST_FAIL="S[:K]" makes the top video rung's encoder
 * post an error, as a crashed element would, S seconds after the first
 * build is live (its first segments closed) and S seconds after each
 * rebuild starts, K times in all (default 1): fault_arm().
 * YL_LIVE_TEST_FAIL="file:PATH": the error comes when a file PATH appears
 * (removed then), at a moment the test chooses. For the tests of the
 * rebuild (tests/streamer/t_meeting_restart.sh). Never set in
 * production. */
static void fault_init(live_meeting *m)
{
    const char *v = getenv("YL_LIVE_TEST_FAIL");
    char *end;
    long sec, k = 1;

    if (v == NULL || *v == '\0')
        return;
    if (strncmp(v, "file:", 5) == 0 && v[5] == '/') {
        m->fault_file = v + 5;
        YL_LOGW("live",
                "[meeting=%" PRId64 "] test only: the pipeline fails when %s "
                "appears",
                m->id, m->fault_file);
        return;
    }
    sec = strtol(v, &end, 10);
    if (*end == ':')
        k = strtol(end + 1, &end, 10);
    if (*end != '\0' || sec < 1 || sec > 3600 || k < 1 || k > 1000) {
        YL_LOGW("live", "YL_LIVE_TEST_FAIL=%s: want S[:K], ignored", v);
        return;
    }
    m->fault_s = (int)sec;
    m->fault_left = (int)k;
    YL_LOGW("live",
            "[meeting=%" PRId64 "] test only: the pipeline fails %ld s after "
            "it is live, and after each rebuild starts, %ld time(s)",
            m->id, sec, k);
}

static void fault_arm(live_meeting *m)
{
    if (m->fault_left > 0) {
        m->fault_left--;
        m->fault_at_us =
            g_get_monotonic_time() + (gint64)m->fault_s * G_USEC_PER_SEC;
    }
}

static void fault_check(live_meeting *m)
{
    GstElement *enc = NULL;
    GError *err;
    char name[64];

    if (m->fault_file != NULL && unlink(m->fault_file) == 0)
        m->fault_at_us = g_get_monotonic_time(); /* it was there: now */
    if (m->fault_at_us == 0 || g_get_monotonic_time() < m->fault_at_us)
        return;
    m->fault_at_us = 0;
    for (int i = 0; i < m->nst && enc == NULL; i++) {
        if (m->st[i].audio)
            continue;
        snprintf(name, sizeof(name), "enc_%s", m->st[i].name);
        enc = gst_bin_get_by_name(GST_BIN(m->pipe), name);
    }
    if (enc == NULL)
        return;
    err = g_error_new_literal(GST_STREAM_ERROR, GST_STREAM_ERROR_ENCODE,
                              "test fault (YL_LIVE_TEST_FAIL)");
    gst_element_post_message(
        enc, gst_message_new_error(GST_OBJECT(enc), err, "injected"));
    g_error_free(err);
    gst_object_unref(enc);
}

/* Builds the pipeline from desc as build m->gen and plays it; *bus is
 * its bus. 0, or a negative yl code with why. On failure m->pipe may be
 * set (teardown() frees it). */
static int build(live_meeting *m, const char *desc, GstClock *clock,
                 GstBus **bus, char *why, size_t whylen)
{
    GError *gerr = NULL;
    GstElement *e;
    char loc[4096];
    int i;

    m->pipe = gst_parse_launch(desc, &gerr);
    if (m->pipe == NULL || gerr != NULL) {
        snprintf(why, whylen, "pipeline: %s",
                 gerr ? gerr->message : "gst_parse_launch failed");
        g_clear_error(&gerr);
        return YL_EINVAL;
    }
    feed_attach(m, m->pipe);
    if (!m->split) { /* the decoder's pads come anew */
        atomic_store(&m->video_linked, false);
        atomic_store(&m->audio_linked, 0);
    }
    e = gst_bin_get_by_name(GST_BIN(m->pipe), "src");
    if (e != NULL) {
        g_signal_connect(e, "pad-added", G_CALLBACK(pad_added), m);
        gst_object_unref(e);
    }
    for (i = 0; i < m->nst; i++)
        m->st[i].bclosed = 0;
    hls_attach(m);
    ts_attach(m);
    m->lost = false; /* the new slate starts hidden */
    /* The meeting's clock (wall_off_ns gives the wall clock). */
    gst_pipeline_use_clock(GST_PIPELINE(m->pipe), clock);
    m->rt_offset = 0;
    if (m->gen > 0 && m->base_time != 0) {
        /* The sources start from 0 on a base time of now (a live source
         * on the first build's base time would first make up for the
         * whole meeting so far); after the encoders, the running time
         * goes on from the first build's, with the gap of the rebuild:
         * segments, the recording and the websocket viewers see time
         * move forward only. */
        GstClockTime now = gst_clock_get_time(clock);

        gst_element_set_start_time(m->pipe, GST_CLOCK_TIME_NONE);
        gst_element_set_base_time(m->pipe, now);
        m->rt_offset = now > m->base_time ? now - m->base_time : 0;
        for (i = 0; i < m->nst; i++) {
            GstPad *pad;

            snprintf(loc, sizeof(loc), "t_%s", m->st[i].name);
            e = gst_bin_get_by_name(GST_BIN(m->pipe), loc);
            if (e == NULL)
                continue;
            pad = gst_element_get_static_pad(e, "sink");
            if (pad != NULL) {
                gst_pad_set_offset(pad, (gint64)m->rt_offset);
                gst_object_unref(pad);
            }
            gst_object_unref(e);
        }
    }
    *bus = gst_element_get_bus(m->pipe);
    m->built_at_us = g_get_monotonic_time();
    if (m->gen > 0)
        fault_arm(m);
    if (gst_element_set_state(m->pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
        snprintf(why, whylen, "pipeline refused to start");
        return YL_EINVAL;
    }
    return 0;
}

/* Stops and frees the pipeline (its streaming threads are gone after). */
static void teardown(live_meeting *m, GstBus **bus)
{
    if (m->pipe == NULL)
        return;
    if (m->base_time == 0)
        m->base_time = gst_element_get_base_time(m->pipe);
    feed_attach(m, NULL);
    gst_element_set_state(m->pipe, GST_STATE_NULL);
    if (*bus != NULL) {
        GstMessage *msg;

        /* Segments closed since the bus was last read (between an error
         * and this teardown, or in the last round before a stop) are
         * whole files: listed and recorded like the others, not left on
         * disk unlisted and outside the recording. */
        while ((msg = gst_bus_pop_filtered(*bus, GST_MESSAGE_ELEMENT))) {
            if (gst_message_has_name(msg, "yl-hls-segment"))
                on_segment(m, msg);
            gst_message_unref(msg);
        }
        gst_object_unref(*bus);
    }
    *bus = NULL;
    gst_object_unref(m->pipe);
    m->pipe = NULL;
    m->fault_at_us = 0;
    ts_reset(m);
    hls_reset(m);
}

/* The pipeline failed (why): torn down, and rebuilt after a back-off
 * unless it never was live (a source that cannot play: the meeting
 * fails at once) or was rebuilt RESTART_MAX times in a row. Returns whether
 * it will be rebuilt. */
static bool restart_later(live_meeting *m, GstBus **bus, const char *why)
{
    gint64 now = g_get_monotonic_time(), delay;
    gint64 cap = m->restart_first_us * (RESTART_CAP_US / RESTART_FIRST_US);

    if (m->built_at_us != 0 && now - m->built_at_us >= HEALTHY_US)
        m->fails = 0;
    teardown(m, bus);
    now = g_get_monotonic_time(); /* the back-off from the teardown's end */
    if (!m->ready || m->fails >= RESTART_MAX)
        return false;
    delay = m->restart_first_us << m->fails;
    if (delay > cap)
        delay = cap;
    m->fails++;
    m->rebuild_at_us = now + delay;
    m->resumed = false;
    atomic_fetch_add(&m->pipe_restarts, 1);
    for (int i = 0; i < m->nst; i++)
        m->st[i].disc_next = true;
    if (m->kind == LIVE_SRC_FILE && m->rec_dir != NULL &&
        m->rec_cut[0] == '\0') {
        /* A file starts again from its beginning: its timestamps too,
         * which one recording cannot hold. */
        snprintf(m->rec_cut, sizeof(m->rec_cut),
                 "the pipeline was rebuilt after: %.200s", why);
    }
    YL_LOGW("live",
            "[meeting=%" PRId64 "] pipeline failed (%s): rebuild %d in %g s",
            m->id, why, m->gen + 1, (double)delay / G_USEC_PER_SEC);
    m->event(m->ud, m->id, LIVE_EV_RESTARTING, why);
    return true;
}

/* Meeting thread: build, play, watch the bus, rebuild, end. */
static void *meeting_main(void *arg)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    live_meeting *m = arg;
    GstClock *clock = NULL;
    GstBus *bus = NULL;
    GstClockTime eos_at = GST_CLOCK_TIME_NONE; /* monotonic, ns */
    char srcbuf[256];
    char why[512] = "";
    bool failed = false, eos = false;
    yl_buf desc = YL_BUF_INIT;
    int r, i;

    pthread_once(&once, once_init);
    fault_init(m);
    restart_init(m);
    r = yl_mkdirs(m->dir);
    if (r < 0) {
        snprintf(why, sizeof(why), "create %s: %s", m->dir, strerror(-r));
        failed = true;
        goto out;
    }
    r = describe(m, &desc, why, sizeof(why));
    if (r < 0) {
        if (why[0] == '\0')
            snprintf(why, sizeof(why), "pipeline: %s", strerror(-r));
        failed = true;
        goto out;
    }
    clock = g_object_new(GST_TYPE_SYSTEM_CLOCK, "clock-type",
                         GST_CLOCK_TYPE_MONOTONIC, NULL);
    m->clock = clock; /* the ingests' too (the hand-over) */
    m->wall_off_ns =
        g_get_real_time() * 1000 - (int64_t)gst_clock_get_time(clock);
    YL_LOGI("live", "[meeting=%" PRId64 "] starting %s: %d rung(s), %d audio",
            m->id, live_source_redact(m->source, srcbuf, sizeof(srcbuf)),
            m->nvideo, m->naudio);
    if (build(m, desc.s, clock, &bus, why, sizeof(why)) < 0) {
        failed = true;
        goto out;
    }
    if (m->split)
        ingest_start(m);
    for (i = 0; i < m->ninterp; i++)
        interp_start(&m->interp[i]);
    while (!eos && !failed) {
        GstMessage *msg;

        if (m->split && eos_at == GST_CLOCK_TIME_NONE)
            ingest_watch(m);
        for (i = 0; i < m->ninterp && eos_at == GST_CLOCK_TIME_NONE; i++)
            interp_watch(&m->interp[i]);
        if (m->pipe == NULL) { /* waiting to rebuild */
            if (atomic_load(&m->stop))
                break; /* stopped meanwhile: ended */
            if (g_get_monotonic_time() < m->rebuild_at_us) {
                g_usleep(100 * 1000);
                continue;
            }
            m->gen++;
            YL_LOGI("live", "[meeting=%" PRId64 "] rebuild %d", m->id, m->gen);
            if (build(m, desc.s, clock, &bus, why, sizeof(why)) < 0)
                failed = !restart_later(m, &bus, why);
            continue;
        }
        fault_check(m);
        if (atomic_load(&m->stop) && eos_at == GST_CLOCK_TIME_NONE) {
            gst_element_send_event(m->pipe, gst_event_new_eos());
            eos_at = (GstClockTime)g_get_monotonic_time() * 1000;
        }
        if (eos_at != GST_CLOCK_TIME_NONE &&
            (GstClockTime)g_get_monotonic_time() * 1000 - eos_at >
                EOS_WAIT_NS) {
            YL_LOGW("live", "[meeting=%" PRId64 "] no EOS after stop: cut",
                    m->id);
            break;
        }
        msg = gst_bus_timed_pop(bus, 100 * GST_MSECOND);
        if (msg == NULL)
            continue;
        switch (GST_MESSAGE_TYPE(msg)) {
        case GST_MESSAGE_EOS:
            eos = true;
            break;
        case GST_MESSAGE_ERROR: {
            GError *e = NULL;
            gchar *dbg = NULL;

            gst_message_parse_error(msg, &e, &dbg);
            snprintf(why, sizeof(why), "%s: %s", GST_OBJECT_NAME(msg->src),
                     e ? e->message : "error");
            YL_LOGE("live", "[meeting=%" PRId64 "] %s (%s)", m->id, why,
                    dbg ? dbg : "");
            g_clear_error(&e);
            g_free(dbg);
            /* While stopping, an error ends it; else a live meeting's
             * pipeline is rebuilt. */
            if (eos_at != GST_CLOCK_TIME_NONE || !restart_later(m, &bus, why))
                failed = true;
            break;
        }
        case GST_MESSAGE_ELEMENT:
            if (gst_message_has_name(msg, "yl-hls-segment"))
                on_segment(m, msg);
            break;
        default:
            break;
        }
        gst_message_unref(msg);
    }
out:
    ingest_stop(m);
    for (i = 0; i < m->ninterp; i++)
        interp_stop(&m->interp[i]);
    teardown(m, &bus);
    /* What was written stays playable, and players see the end. */
    for (i = 0; i < m->nst; i++)
        if (m->st[i].closed > 0)
            write_media(m, &m->st[i], true);
    if (!m->ready && m->nst > 0 && m->st[0].closed > 0)
        write_master(m);
    rec_finish(m);
    m->clock = NULL;
    if (clock != NULL)
        gst_object_unref(clock);
    yl_buf_free(&desc);
    if (failed)
        YL_LOGE("live", "[meeting=%" PRId64 "] failed: %s", m->id, why);
    else
        YL_LOGI("live", "[meeting=%" PRId64 "] ended", m->id);
    m->event(m->ud, m->id, failed ? LIVE_EV_FAILED : LIVE_EV_ENDED,
             failed ? why : NULL);
    return NULL;
}

/* Copies the declared audio renditions into m: 0, or YL_EINVAL for a
 * malformed tag, a language twice, too many, or an interpreter's feed
 * that is not srt:// (or that a file source cannot take: a file plays
 * paced by its own clock in one pipeline, which a live feed would stall),
 * -ENOMEM. */
static int declare_audio(live_meeting *m, const live_opts *opts)
{
    char err[256], src[256];

    if (opts->naudio < 0 || opts->naudio > MAX_AUDIO ||
        (opts->naudio > 0 && opts->audio == NULL))
        return YL_EINVAL;
    for (int i = 0; i < opts->naudio; i++) {
        const live_audio *a = &opts->audio[i];

        if (a->lang == NULL ||
            yl_lang_normalize(a->lang, m->decl_lang[i], YL_LANG_MAX) < 0)
            return YL_EINVAL;
        for (int j = 0; j < i; j++)
            if (strcmp(m->decl_lang[j], m->decl_lang[i]) == 0)
                return YL_EINVAL;
        m->ndecl = i + 1;
        if (a->source == NULL)
            continue;
        if (live_source_check(a->source, err, sizeof(err)) != LIVE_SRC_SRT ||
            m->kind == LIVE_SRC_FILE) {
            YL_LOGE("live", "[meeting=%" PRId64 "] interpreter (%s) %s: %s",
                    m->id, m->decl_lang[i],
                    live_source_redact(a->source, src, sizeof(src)),
                    m->kind == LIVE_SRC_FILE ? "not with a file:// source"
                                             : "want srt://");
            return YL_EINVAL;
        }
        m->decl_src[i] = strdup(a->source);
        m->interp[m->ninterp].uri = strdup(a->source);
        if (m->decl_src[i] == NULL || m->interp[m->ninterp].uri == NULL)
            return -ENOMEM;
        m->interp[m->ninterp].m = m;
        m->interp[m->ninterp].slot = i;
        atomic_init(&m->interp[m->ninterp].last_in_ns, 0);
        atomic_init(&m->interp[m->ninterp].linked, false);
        m->ninterp++;
    }
    m->map = m->split && m->ndecl > 0;
    return 0;
}

int live_meeting_start(const live_opts *opts, live_meeting **out)
{
    live_meeting *m;
    char err[256];
    int kind, r;

    kind = live_source_check(opts->source, err, sizeof(err));
    if (kind < 0)
        return kind;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->id = opts->id;
    m->kind = kind;
    m->split = kind == LIVE_SRC_SRT || kind == LIVE_SRC_RTSP;
    pthread_mutex_init(&m->map_lock, NULL);
    pthread_mutex_init(&m->feed_lock, NULL);
    for (int f = 0; f < MAX_FEEDS; f++) {
        m->feeds[f].m = m;
        m->feeds[f].an = 0;
    }
    m->event = opts->event;
    m->chunk = opts->chunk;
    m->ud = opts->ud;
    atomic_init(&m->nts, -1); /* not published yet */
    m->source = strdup(opts->source);
    m->dir = strdup(opts->out_dir);
    m->slate = strdup(opts->slate != NULL ? opts->slate : YL_LIVE_SLATE);
    m->rec_dir = opts->rec_dir != NULL ? strdup(opts->rec_dir) : NULL;
    for (int i = 0; i < MAX_STREAMS; i++) {
        m->rec_fd[i] = -1;
        m->hls[i].fd = -1;
    }
    m->run = (int64_t)time(NULL);
    atomic_init(&m->stop, false);
    atomic_init(&m->audio_linked, 0);
    atomic_init(&m->video_linked, false);
    atomic_init(&m->last_in_ns, 0);
    atomic_init(&m->pipe_restarts, 0);
    if (m->source == NULL || m->dir == NULL || m->slate == NULL ||
        (opts->rec_dir != NULL && m->rec_dir == NULL)) {
        live_meeting_free(m);
        return -ENOMEM;
    }
    r = declare_audio(m, opts);
    if (r < 0) {
        live_meeting_free(m);
        return r;
    }
    r = pthread_create(&m->th, NULL, meeting_main, m);
    if (r != 0) {
        live_meeting_free(m);
        return -r;
    }
    m->th_started = true;
    *out = m;
    return 0;
}

void live_meeting_stop(live_meeting *m)
{
    if (m != NULL)
        atomic_store(&m->stop, true);
}

int live_meeting_restarts(live_meeting *m)
{
    return atomic_load(&m->pipe_restarts);
}

void live_meeting_free(live_meeting *m)
{
    if (m == NULL)
        return;
    atomic_store(&m->stop, true);
    if (m->th_started)
        pthread_join(m->th, NULL);
    for (int i = 0; i < LIVE_TS_MAX; i++)
        free(m->ts[i].buf);
    free(m->source);
    free(m->slate);
    free(m->dir);
    free(m->rec_dir);
    for (int i = 0; i < MAX_AUDIO; i++) {
        free(m->decl_src[i]);
        free(m->interp[i].uri);
    }
    pthread_mutex_destroy(&m->map_lock);
    pthread_mutex_destroy(&m->feed_lock);
    free(m);
}
