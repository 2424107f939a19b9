/* tc_publish.c - see tc_publish.h. */
#include "transcode/tc_publish.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "common/yl_fs.h"

/* Splits out_dir into parent and base name (trailing slashes ignored). */
static int split(const char *out_dir, char *parent, char *base, size_t len)
{
    char a[4096], b[4096];

    if (strlen(out_dir) >= sizeof(a))
        return -ENAMETOOLONG;
    snprintf(a, sizeof(a), "%s", out_dir);
    snprintf(b, sizeof(b), "%s", out_dir);
    snprintf(parent, len, "%s", dirname(a));
    snprintf(base, len, "%s", basename(b));
    if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 ||
        strcmp(base, "..") == 0)
        return -EINVAL;
    return 0;
}

/* Removes ".<base>.tmp-*" directories (and their ".lock" files) in parent
 * whose lock nobody holds: left by a run that was killed outright. */
static void sweep_stale(const char *parent, const char *base)
{
    char prefix[4200], path[8400], lock[8500];
    struct dirent *de;
    struct stat sb;
    size_t plen, n;
    DIR *d;

    snprintf(prefix, sizeof(prefix), ".%s.tmp-", base);
    plen = strlen(prefix);
    d = opendir(parent);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        int fd;

        n = strlen(de->d_name);
        if (strncmp(de->d_name, prefix, plen) != 0 ||
            (n > 5 && strcmp(de->d_name + n - 5, ".lock") == 0))
            continue;
        snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
        snprintf(lock, sizeof(lock), "%s.lock", path);
        fd = open(lock, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            /* No lock file: a run that died between mkdtemp and creating
             * it, or an older version. Only if it is not brand new. */
            if (lstat(path, &sb) != 0 || time(NULL) - sb.st_mtime < 600)
                continue;
        } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd); /* a live run holds it */
            continue;
        }
        yl_rmtree(path);
        unlink(lock);
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
}

void tc_publish_release(const char *tmp, int lock_fd)
{
    char lock[8400];

    if (tmp == NULL || lock_fd < 0)
        return;
    snprintf(lock, sizeof(lock), "%s.lock", tmp);
    unlink(lock); /* while still locked: no sweeper can mistake it */
    close(lock_fd);
}

int tc_publish_begin(const char *out_dir, int force, char **tmp, int *lock_fd,
                     char *err, size_t errlen)
{
    char lock[8400];
    int fd;
    char parent[4096], base[4096], path[8300];
    struct stat sb;
    int ret;

    ret = split(out_dir, parent, base, sizeof(parent));
    if (ret < 0) {
        snprintf(err, errlen, "%s: not a usable output directory name",
                 out_dir);
        return ret;
    }
    if (lstat(out_dir, &sb) == 0) {
        if (!force) {
            snprintf(err, errlen,
                     "%s: output directory exists (use --force to replace it)",
                     out_dir);
            return YL_EEXIST;
        }
        if (!S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "%s: exists and is not a directory", out_dir);
            return -ENOTDIR;
        }
    }
    ret = yl_mkdirs(parent);
    if (ret < 0) {
        snprintf(err, errlen, "%s: cannot create directory: %s", parent,
                 strerror(-ret));
        return ret;
    }
    sweep_stale(parent, base);
    snprintf(path, sizeof(path), "%s/.%s.tmp-XXXXXX", parent, base);
    if (mkdtemp(path) == NULL) {
        ret = -errno;
        snprintf(err, errlen, "%s: cannot write there: %s", parent,
                 strerror(errno));
        return ret;
    }
    /* mkdtemp makes it 0700; a lesson is served by the server's user. */
    chmod(path, 0755);
    snprintf(lock, sizeof(lock), "%s.lock", path);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        ret = -errno;
        snprintf(err, errlen, "%s: cannot create: %s", lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(lock);
        rmdir(path);
        return ret;
    }
    *tmp = strdup(path);
    if (*tmp == NULL) {
        close(fd);
        unlink(lock);
        rmdir(path);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *lock_fd = fd;
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int tc_publish_commit(const char *tmp, const char *out_dir, int force,
                      char *err, size_t errlen)
{
    char parent[4096], base[4096];
    struct stat sb;
    int ret;

    ret = split(out_dir, parent, base, sizeof(parent));
    if (ret < 0)
        return ret;
    /* Segments went out through libavformat without fsync: flush them all
     * before the rename makes the lesson visible. */
    {
        int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0) {
            syncfs(fd);
            close(fd);
        }
    }
    if (force && lstat(out_dir, &sb) == 0) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_EXCHANGE) == 0) {
            /* tmp now holds the old lesson. */
            sync_dir(parent);
            yl_rmtree(tmp);
            return 0;
        }
        if (errno != EINVAL && errno != ENOSYS) {
            ret = -errno;
            snprintf(err, errlen, "%s: cannot replace it: %s", out_dir,
                     strerror(errno));
            return ret;
        }
        /* No RENAME_EXCHANGE on this file system: move the old one aside,
         * then the new one in (a reader may see no lesson for an instant,
         * never half of one). */
        {
            char old[8300];

            snprintf(old, sizeof(old), "%s.old", tmp);
            if (rename(out_dir, old) != 0 || rename(tmp, out_dir) != 0) {
                ret = -errno;
                snprintf(err, errlen, "%s: cannot replace it: %s", out_dir,
                         strerror(errno));
                return ret;
            }
            yl_rmtree(old);
            sync_dir(parent);
            return 0;
        }
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_NOREPLACE) != 0) {
        if (errno == EINVAL || errno == ENOSYS) {
            if (lstat(out_dir, &sb) == 0) {
                errno = EEXIST;
            } else if (rename(tmp, out_dir) == 0) {
                sync_dir(parent);
                return 0;
            }
        }
        ret = errno == EEXIST ? YL_EEXIST : -errno;
        snprintf(err, errlen, "%s: cannot publish: %s", out_dir,
                 errno == EEXIST ? "it appeared while transcoding"
                                 : strerror(errno));
        return ret;
    }
    sync_dir(parent);
    return 0;
}
