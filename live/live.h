/* live.h - one live meeting's GStreamer pipeline: a source (test:, file://,
 * srt://, rtsp://) decoded once into two H.264 rungs (720p, 360p; never
 * above the source) and one AAC rendition per audio language, written as
 * live HLS (1-second MPEG-TS segments, sliding window) under a directory
 * of its own, with a master playlist that this module writes.
 *
 * Threads: each meeting runs its pipeline on GStreamer's streaming threads
 * and watches its GstBus from a thread of its own (never the lws thread).
 * The event callback runs on that thread: it must only copy and post (the
 * streamer hands it to the service thread). live_* functions may be called
 * from any one thread that owns the live_meeting. */
#ifndef YL_LIVE_H
#define YL_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct live_meeting live_meeting; /* opaque: live.c */

enum live_event {
    LIVE_EV_READY = 1, /* master and every media playlist are playable */
    LIVE_EV_ENDED,     /* stopped: ENDLIST written, the thread is done */
    LIVE_EV_FAILED,    /* the pipeline failed: ENDLIST written, done */
    /* The pipeline failed after it was live (detail: why) and is rebuilt
     * after a back-off; the playlists go on with a discontinuity, and
     * LIVE_EV_READY comes again when it is live. */
    LIVE_EV_RESTARTING,
};

/* Meeting thread. detail: a reason for LIVE_EV_FAILED (borrowed for the
 * call), else NULL. After ENDED or FAILED no further event comes. */
typedef void (*live_event_fn)(void *ud, int64_t id, int ev, const char *detail);

/* The websocket path: the most (rung, language) MPEG-TS outputs. */
#define LIVE_TS_MAX 8

/* A piece of one output's MPEG-TS stream (whole 188-byte packets). */
typedef struct live_chunk {
    const void *data; /* borrowed for the call */
    size_t len;
    bool key;          /* starts with PAT, PMT and a keyframe (IDR) */
    int64_t pts_ms;    /* running time of its first packet; -1 unknown */
    int64_t ingest_ms; /* wall clock (ms since the epoch) of its capture */
} live_chunk;

/* A GStreamer streaming thread, for a watched output only: must copy and
 * post, never block and never call lws. out: live_meeting_output()'s
 * index. Chunks of one output come in order from one thread. */
typedef void (*live_chunk_fn)(void *ud, int64_t id, int out,
                              const live_chunk *c);

/* The most audio renditions of a meeting. */
#define LIVE_AUDIO_MAX 4

/* One declared audio rendition (live_opts.audio). */
typedef struct live_audio {
    const char *lang; /* a normalised BCP-47 tag ("bo"); copied */
    /* NULL: a track of the main source (matched by its language tag, else
     * in stream order); else the URI of an interpreter's own audio-only
     * feed (srt://, listener or caller), ingested by a pipeline of its
     * own. Copied. */
    const char *source;
} live_audio;

typedef struct live_opts {
    int64_t id;         /* the meeting id, for logs and events */
    const char *source; /* URI checked by live_source_check(); copied */
    /* The declared audio renditions in their order (the first is the
     * default), naudio of them (at most LIVE_AUDIO_MAX); naudio 0: the
     * source's own (a network source's first track as "zh", a file's
     * probed tracks, test:'s "zh" and "bo"). Copied. */
    const live_audio *audio;
    int naudio;
    const char *out_dir; /* created if missing; copied */
    /* The picture shown while a network source is away; NULL: the one in
     * the source tree (live/slate.png). Copied. */
    const char *slate;
    /* The recording, NULL for none: the top video rung and each audio
     * language, already encoded, appended segment by segment to
     * rec_dir/NAME.ts as they close (no second encode, nothing held in
     * memory), and rec_dir/recording.json written before the last event:
     * {"source": "v720.ts", "audio": {"zh": "a_zh.ts", ...},
     *  "duration_s": 6.0, "segments": 6[, "cut": "why it stopped early"]}
     * (the inputs of a transcode job). No recording.json: less than a
     * second of video was recorded. Created if missing; copied. */
    const char *rec_dir;
    live_event_fn event;
    live_chunk_fn chunk; /* NULL: no websocket path */
    void *ud;            /* for event and chunk */
} live_opts;

/* Source kinds live_source_check() recognises. */
enum live_kind {
    LIVE_SRC_TEST = 1,
    LIVE_SRC_FILE,
    LIVE_SRC_SRT,
    LIVE_SRC_RTSP,
};

/* Checks a source URI: returns its kind (> 0), or YL_EINVAL with the
 * problem named in err (malformed, unknown kind, bad parameter, missing
 * file). Pure except for the stat() of a file:// path. Any thread. */
int live_source_check(const char *uri, char *err, size_t errlen);

/* The source URI for a log line, without what may be secret (a user and
 * password before '@', the query's values such as an SRT passphrase):
 * "srt://:9000?…". Returns buf. Any thread. */
const char *live_source_redact(const char *uri, char *buf, size_t len);

/* Starts the meeting's thread and pipeline. Returns 0 and sets *out
 * (free with live_meeting_free()), or a negative yl code. */
int live_meeting_start(const live_opts *opts, live_meeting **out);

/* Asks the pipeline to finish (EOS, ENDLIST); returns at once. The thread
 * reports LIVE_EV_ENDED when done. */
void live_meeting_stop(live_meeting *m);

/* The websocket path. Any thread, while m lives. The outputs are fixed
 * once the pipeline is built (before LIVE_EV_READY).
 * The output of (rung height, language tag): its index (>= 0), -ENOENT
 * when the meeting has no such pair, -ENODATA when it has none at all (a
 * source without sound), -EAGAIN before the pipeline is up. */
int live_meeting_output(live_meeting *m, int rung, const char *lang);
/* Output i's rung height and language (borrowed while m lives): 0, or
 * -ENOENT past the last. */
int live_meeting_output_info(live_meeting *m, int i, int *rung,
                             const char **lang);
/* Viewers of output out went up or down by delta. An output's mux runs
 * only while it has viewers: from the video's next keyframe after the
 * count leaves 0 (its first chunk is then key) until it is back to 0;
 * chunks are copied and handed to opts->chunk only meanwhile. */
void live_meeting_watch(live_meeting *m, int out, int delta);

/* Rebuilds of the pipeline after a failure so far. Any thread. */
int live_meeting_restarts(live_meeting *m);

/* Stops if needed, waits for the thread (a few seconds at most) and frees.
 * NULL is a no-op. */
void live_meeting_free(live_meeting *m);

#endif
