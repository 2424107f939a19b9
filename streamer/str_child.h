/* str_child.h - one supervised child process: spawn it (fork + exec, dying
 * with the server), read its stdout as lines, bound its time, stop it when
 * the server stops, escalate SIGTERM to SIGKILL after a grace, reap it and
 * classify how it ended. The transcode job runner (str_jobs.c) is its
 * first user; live-meeting pipelines or an ingest child are supervised the
 * same way.
 *
 * Threads: the thread that spawned a child runs str_child_wait() and frees
 * it; str_child_kill() and str_child_terminate() may be called from any
 * thread until str_child_free(). Never the lws service thread (waiting
 * blocks). */
#ifndef YL_STR_CHILD_H
#define YL_STR_CHILD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct str_child str_child; /* opaque: defined in str_child.c */

/* The child's own exit codes when it never reached exec: the shell's
 * "cannot execute" and 128 + SIGINT (the server died while it started). */
#define STR_CHILD_EXIT_EXEC   127
#define STR_CHILD_EXIT_ORPHAN 130

typedef struct str_child_opts {
    const char *path;   /* executable; NULL: /proc/self/exe (this binary) */
    char *const *argv;  /* NULL-terminated; borrowed for the call */
    const char *cwd;    /* the child's working directory */
    int log_fd;         /* its stderr (stdin is /dev/null, stdout a pipe) */
    int64_t timeout_ms; /* SIGKILL after this long; 0: no limit */
    const atomic_bool *stop; /* set: SIGTERM once (server stopping) */
} str_child_opts;

/* Starts the child. Between fork and exec it only makes async-signal-safe
 * calls; it runs in its own process group (a Ctrl-C on our terminal is the
 * server's to handle) with PR_SET_PDEATHSIG = SIGKILL, so it dies with the
 * server: after a kill -9 the restarted server runs the work again, and
 * an orphan would still be writing where the new child writes. Every
 * descriptor but 0-2 is closed in the child. Returns 0 and *out, or
 * -errno. */
int str_child_spawn(const str_child_opts *o, str_child **out);

pid_t str_child_pid(const str_child *c);

/* Any thread: sends sig to the child's process group (the child and any
 * process it started) unless the child was reaped already (so a recycled
 * pid is never hit). 0 or -errno. */
int str_child_kill(str_child *c, int sig);

/* Any thread: SIGTERM now, SIGKILL when it has not exited after grace_ms
 * (checked by str_child_wait()). Once only; later calls do nothing. */
void str_child_terminate(str_child *c, int64_t grace_ms);

/* Calls from str_child_wait(), on its thread. */
typedef struct str_child_ops {
    /* One line of the child's stdout, without its newline (a line longer
     * than 8 KiB is cut). May be NULL. */
    void (*on_line)(void *ud, char *line);
    /* About every 200 ms: the owner's own policies (a cancel calls
     * str_child_terminate()). May be NULL. */
    void (*tick)(void *ud, str_child *c);
} str_child_ops;

/* How a child ended, as the supervisor saw it. */
typedef struct str_child_end {
    int status;      /* waitpid() status */
    bool stopped;    /* we sent SIGTERM because opts.stop was set */
    bool timed_out;  /* we killed it for opts.timeout_ms */
    bool terminated; /* str_child_terminate() was called */
    int64_t ms;      /* from spawn to reaped */
} str_child_end;

/* Reads stdout to EOF (the child exited or closed it), enforcing the
 * timeout, the stop flag and a terminate's grace, then reaps the child.
 * Returns 0 and fills *end, or -errno. */
int str_child_wait(str_child *c, const str_child_ops *ops, void *ud,
                   str_child_end *end);

/* Closes the pipe and frees c (reaping the child first, killing it if it
 * was never waited for). NULL is a no-op. */
void str_child_free(str_child *c);

/* How a child ended, in the terms a retry policy needs. Pure. */
enum str_exit_kind {
    STR_EXIT_OK,        /* exited 0 */
    STR_EXIT_STOPPED,   /* stopped with the server: not the work's fault */
    STR_EXIT_TIMEOUT,   /* killed for its time limit */
    STR_EXIT_BAD_INPUT, /* EX_USAGE or EX_DATAERR: the input is unusable,
                         * another attempt would fail the same way */
    STR_EXIT_FAILED,    /* another exit code: worth another attempt */
    STR_EXIT_SIGNALED,  /* killed by a signal we did not send (a crash) */
};

/* Classifies end: stopped first (we asked it to go), then a timeout, then
 * the exit code or signal. A terminate (cancel) is the caller's to check
 * before. */
enum str_exit_kind str_child_classify(const str_child_end *end);

#endif
