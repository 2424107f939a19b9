/* str_sweep.c - what a killed server leaves in its data directory, and
 * names that never collide with it.
 *
 * A kill -9 (or a power cut) can leave, under DATA:
 *   uploads/.staging-*       an upload that was streaming in
 *   hls/.trash-*             a deleted lesson whose removal waited for
 *                            its last reader
 *   hls/.job-*               the job runner's transcoder output dir
 *   hls/.<name>.tmp-*[.old]  a transcoder's temporary output (tc_publish.c),
 *                            with its "<dir>.lock" beside it
 *   hls/.<name>.tmp-*.lock   alone: the transcoder was killed between
 *                            renaming its temp dir into place and
 *                            removing the lock
 * At start, holding DATA/serve.lock, the server owns all of them: no other
 * server uses the directory and the previous one's transcoders died with
 * it (PR_SET_PDEATHSIG). A transcoder started by hand (`yunling transcode
 * -o DATA/hls/x`) is not ours: its temp dir is kept while its lock file
 * is held, and one without a lock file only once it is old enough that it
 * cannot be a run between mkdtemp() and creating the lock.
 *
 * jobs/ holds only the transcoders' logs (jobs/<id>.log), which are kept.
 *
 * Threads: str_sweep_leftovers() runs on the main thread before the loop
 * starts; str_unique_name() on any thread. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/cat_lessons.h"
#include "common/yl_log.h"
#include "common/yl_fs.h"
#include "streamer/str_internal.h"

#define LOCKLESS_AGE_S 600 /* as tc_publish.c's own sweep */

typedef struct sweep_stats {
    int dirs;
    int locks; /* lock files whose temp dir is gone */
    int64_t bytes;
} sweep_stats;

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x)
{
    size_t n = strlen(s), m = strlen(x);

    return n >= m && strcmp(s + n - m, x) == 0;
}

/* Bytes under path (for the log line only; errors count as 0). */
static int64_t tree_bytes(const char *path)
{
    char sub[PATH_MAX];
    struct dirent *de;
    struct stat sb;
    int64_t n = 0;
    DIR *d;

    if (lstat(path, &sb) != 0)
        return 0;
    if (!S_ISDIR(sb.st_mode))
        return (int64_t)sb.st_blocks * 512;
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (str_pathf(sub, sizeof(sub), "%s/%s", path, de->d_name) == 0)
            n += tree_bytes(sub);
    }
    closedir(d);
    return n;
}

static void remove_one(const char *path, sweep_stats *st)
{
    int64_t bytes = tree_bytes(path);
    int r = yl_rmtree(path);

    if (r < 0) {
        YL_LOGW("str", "sweep: remove %s: %s", path, strerror(-r));
        return;
    }
    st->dirs++;
    st->bytes += bytes;
}

/* A transcoder temp dir ".<name>.tmp-XXXXXX" (or its ".old" twin): true
 * when no live transcoder can still be using it. */
static bool tmp_is_stale(const char *path)
{
    char lock[PATH_MAX];
    struct stat sb;
    bool stale;
    int fd;

    if (str_pathf(lock, sizeof(lock), "%s.lock", path) < 0)
        return false;
    fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return lstat(path, &sb) == 0 &&
               time(NULL) - sb.st_mtime >= LOCKLESS_AGE_S;
    stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (stale)
        unlink(lock); /* still locked by us: nobody else can take it */
    close(fd);
    return stale;
}

/* A transcoder's "<dir>.lock" whose dir is gone (renamed into place by
 * a run killed right after): removed unless a live run still holds it
 * (one between that rename and its own unlink). */
static void sweep_lone_lock(const char *lock, sweep_stats *st)
{
    char dir[PATH_MAX];
    size_t n = strlen(lock) - 5; /* without ".lock" */
    struct stat sb;
    int fd;

    if (n >= sizeof(dir))
        return;
    memcpy(dir, lock, n);
    dir[n] = '\0';
    if (lstat(dir, &sb) == 0)
        return; /* goes with its dir, or stays with it */
    fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return; /* swept with its dir just now */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(lock) == 0)
        st->locks++;
    close(fd);
}

/* Sweeps DATA/sub: entries that the predicate matches. */
static void sweep_dir(const char *data, const char *sub, sweep_stats *st)
{
    char dir[PATH_MAX], path[PATH_MAX];
    struct dirent *de;
    DIR *d;

    if (str_pathf(dir, sizeof(dir), "%s/%s", data, sub) < 0)
        return;
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        bool hls = strcmp(sub, "hls") == 0;

        if (n[0] != '.' || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (str_pathf(path, sizeof(path), "%s/%s", dir, n) < 0)
            continue;
        if (!hls) {
            if (has_prefix(n, ".staging-"))
                remove_one(path, st);
        } else if (has_prefix(n, ".trash-") || has_prefix(n, ".job-")) {
            remove_one(path, st);
        } else if (strstr(n, ".tmp-") != NULL && !has_suffix(n, ".lock")) {
            if (tmp_is_stale(path))
                remove_one(path, st);
        } else if (strstr(n, ".tmp-") != NULL) {
            sweep_lone_lock(path, st);
        }
    }
    closedir(d);
}

void str_sweep_leftovers(str_server *srv)
{
    const char *data = srv->cfg.cat.data_dir;
    sweep_stats st = {0, 0, 0};

    if (srv->lock_fd < 0)
        return; /* only the owner of serve.lock may sweep */
    sweep_dir(data, "uploads", &st);
    sweep_dir(data, "hls", &st);
    if (st.dirs > 0 || st.locks > 0)
        YL_LOGI("str",
                "swept %d leftover dir(s) and %d lock file(s) of an "
                "earlier run (%.1f MB) from %s/uploads and %s/hls",
                st.dirs, st.locks, (double)st.bytes / 1e6, data, data);
}

void str_sweep_deleted(str_server *srv)
{
    char dir[PATH_MAX], path[PATH_MAX];
    sweep_stats st = {0, 0, 0};
    struct dirent *de;
    DIR *d;

    if (srv->lock_fd < 0 || srv->rd == NULL ||
        str_pathf(dir, sizeof(dir), "%s/hls", srv->cfg.cat.data_dir) < 0 ||
        (d = opendir(dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long long id = strtoll(de->d_name, &end, 10);

        /* Only names the runner publishes: "<id>", no sign, no zeros. */
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end != '\0' ||
            cat_lessons_is_deleted(srv->rd, (int64_t)id) != 1 ||
            str_pathf(path, sizeof(path), "%s/%s", dir, de->d_name) < 0)
            continue;
        remove_one(path, &st);
    }
    closedir(d);
    if (st.dirs > 0)
        YL_LOGI("str",
                "removed the files of %d deleted lesson(s) (%.1f MB) "
                "that an earlier run left in %s",
                st.dirs, (double)st.bytes / 1e6, dir);
}

int str_unique_name(char *buf, size_t len, const char *dir, const char *prefix,
                    uint64_t serial)
{
    uint32_t rnd;

    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        rnd = (uint32_t)ts.tv_nsec ^ (uint32_t)serial * 2654435761u;
    }
    return str_pathf(buf, len, "%s/%s-%ld-%" PRIu64 "-%08" PRIx32, dir, prefix,
                     (long)getpid(), serial, rnd);
}
