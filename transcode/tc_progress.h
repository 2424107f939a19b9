/* tc_progress.h - progress reporting of `yunling transcode`: a bar on a
 * terminal (stderr), JSON lines (stdout) for the server's job runner, or
 * nothing. Threads: the job's demux thread only. */
#ifndef YL_TC_PROGRESS_H
#define YL_TC_PROGRESS_H

enum tc_progress_mode {
    TC_PROGRESS_BAR = 0, /* drawn only when stderr is a terminal */
    TC_PROGRESS_JSON,
    TC_PROGRESS_NONE,
};

typedef struct tc_progress tc_progress; /* opaque */

int tc_progress_new(int mode, tc_progress **out);
/* Reports decoding at time_s of duration_s; rate-limited internally. */
void tc_progress_update(tc_progress *p, double time_s, double duration_s);
/* The run ended well: final bar / {"event":"done",...}. */
void tc_progress_done(tc_progress *p, double duration_s, const char *out_abs);
/* The run failed: clears the bar; in JSON mode prints the error event on
 * stdout and stderr. Other modes print "yunling transcode: MSG" on stderr. */
void tc_progress_error(tc_progress *p, const char *code, const char *msg);
void tc_progress_free(tc_progress *p); /* NULL is a no-op */

#endif
