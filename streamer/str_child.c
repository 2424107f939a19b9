/* str_child.c - see str_child.h. */
#include "streamer/str_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/yl_time.h"

extern char **environ;

#define TICK_MS        200
#define LINE_MAX_BYTES 8192

struct str_child {
    pid_t pid;
    int out_fd; /* read end of the child's stdout */
    int64_t start_ms, timeout_ms;
    const atomic_bool *stop;
    /* lock guards reaped and the terminate fields (any thread) */
    pthread_mutex_t lock;
    bool reaped;
    bool terminated;
    int64_t kill_at_ms; /* after a terminate: SIGKILL then; 0 none */
    /* waiting thread only */
    bool stopped, timed_out, killed_hard, waited;
};

int str_child_spawn(const str_child_opts *o, str_child **out)
{
    const char *path = o->path != NULL ? o->path : "/proc/self/exe";
    pid_t parent = getpid(), pid;
    int pfd[2];
    sigset_t none;
    str_child *c;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        int rc = -errno;
        free(c);
        return rc;
    }
    sigemptyset(&none);
    pid = fork();
    if (pid == 0) {
        /* child: async-signal-safe calls only (the server has threads) */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the server died before prctl */
            _exit(STR_CHILD_EXIT_ORPHAN);
        signal(SIGPIPE, SIG_DFL); /* the server ignores it */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(pfd[1], 1) < 0 || dup2(o->log_fd, 2) < 0 ||
            (o->cwd != NULL && chdir(o->cwd) < 0))
            _exit(STR_CHILD_EXIT_EXEC);
        {
            int nul = open("/dev/null", O_RDONLY);

            if (nul >= 0 && nul != 0) {
                dup2(nul, 0);
                close(nul);
            }
        }
        /* lws, SQLite and others may hold fds without O_CLOEXEC. */
        syscall(SYS_close_range, 3, ~0U, 0);
        execve(path, o->argv, environ);
        _exit(STR_CHILD_EXIT_EXEC);
    }
    close(pfd[1]);
    if (pid > 0)
        setpgid(pid, pid); /* as the child does: no window before it */
    if (pid < 0) {
        int rc = -errno;
        close(pfd[0]);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->pid = pid;
    c->out_fd = pfd[0];
    c->start_ms = yl_mono_ms();
    c->timeout_ms = o->timeout_ms;
    c->stop = o->stop;
    *out = c;
    return 0;
}

pid_t str_child_pid(const str_child *c)
{
    return c->pid;
}

int str_child_kill(str_child *c, int sig)
{
    int rc = 0;

    /* The whole process group: a pipeline's grandchildren too, which
     * would otherwise hold the stdout pipe open. */
    pthread_mutex_lock(&c->lock);
    if (!c->reaped && kill(-c->pid, sig) < 0)
        rc = -errno;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void str_child_terminate(str_child *c, int64_t grace_ms)
{
    bool first;

    pthread_mutex_lock(&c->lock);
    first = !c->terminated;
    if (first) {
        c->terminated = true;
        c->kill_at_ms = yl_mono_ms() + grace_ms;
    }
    pthread_mutex_unlock(&c->lock);
    if (first)
        str_child_kill(c, SIGTERM);
}

/* Waiting thread: the stop flag, the time limit, a terminate's grace. */
static void enforce(str_child *c)
{
    int64_t now = yl_mono_ms(), kill_at;

    if (c->stop != NULL && atomic_load(c->stop) && !c->stopped) {
        c->stopped = true;
        str_child_kill(c, SIGTERM); /* a transcoder leaves nothing behind */
    }
    if (c->timeout_ms > 0 && !c->timed_out &&
        now - c->start_ms > c->timeout_ms) {
        c->timed_out = true;
        str_child_kill(c, SIGKILL);
    }
    pthread_mutex_lock(&c->lock);
    kill_at = c->kill_at_ms;
    pthread_mutex_unlock(&c->lock);
    if (kill_at > 0 && !c->killed_hard && now > kill_at) {
        c->killed_hard = true;
        str_child_kill(c, SIGKILL);
    }
}

/* Waits for the child to exit, marks it reaped under the lock (so no
 * kill can reach a recycled pid), then reaps it. */
static int reap(str_child *c, int *status)
{
    siginfo_t si;
    int rc;

    while (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR)
        ;
    pthread_mutex_lock(&c->lock);
    c->reaped = true;
    while ((rc = waitpid(c->pid, status, 0)) < 0 && errno == EINTR)
        ;
    pthread_mutex_unlock(&c->lock);
    c->waited = true;
    return rc < 0 ? -errno : 0;
}

int str_child_wait(str_child *c, const str_child_ops *ops, void *ud,
                   str_child_end *end)
{
    char buf[8192], line[LINE_MAX_BYTES];
    size_t llen = 0;
    int status = 0, rc;

    for (;;) {
        struct pollfd pfd = {c->out_fd, POLLIN, 0};
        int n = poll(&pfd, 1, TICK_MS);

        enforce(c);
        if (ops != NULL && ops->tick != NULL)
            ops->tick(ud, c);
        enforce(c); /* a terminate from the tick: its SIGTERM went out */
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        {
            ssize_t r = read(c->out_fd, buf, sizeof(buf));

            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0)
                break; /* EOF: the child closed stdout (exited) */
            for (ssize_t i = 0; i < r; i++) {
                if (buf[i] == '\n') {
                    line[llen] = '\0';
                    if (ops != NULL && ops->on_line != NULL)
                        ops->on_line(ud, line);
                    llen = 0;
                } else if (llen + 1 < sizeof(line)) {
                    line[llen++] = buf[i];
                }
            }
        }
    }
    rc = reap(c, &status);
    memset(end, 0, sizeof(*end));
    end->status = status;
    end->stopped = c->stopped;
    end->timed_out = c->timed_out;
    pthread_mutex_lock(&c->lock);
    end->terminated = c->terminated;
    pthread_mutex_unlock(&c->lock);
    end->ms = yl_mono_ms() - c->start_ms;
    return rc;
}

void str_child_free(str_child *c)
{
    int status;

    if (c == NULL)
        return;
    if (!c->waited) {
        str_child_kill(c, SIGKILL);
        reap(c, &status);
    }
    close(c->out_fd);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

enum str_exit_kind str_child_classify(const str_child_end *end)
{
    if (end->stopped)
        return STR_EXIT_STOPPED;
    if (end->timed_out)
        return STR_EXIT_TIMEOUT;
    if (WIFEXITED(end->status)) {
        int code = WEXITSTATUS(end->status);

        if (code == 0)
            return STR_EXIT_OK;
        if (code == EX_USAGE || code == EX_DATAERR)
            return STR_EXIT_BAD_INPUT;
        return STR_EXIT_FAILED;
    }
    return STR_EXIT_SIGNALED;
}
