/* yl_fs.c - see yl_fs.h. */
#define _XOPEN_SOURCE 700
#include "common/yl_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/yl_log.h"

/* Returns -1 with errno set on failure, which stops nftw(). */
static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

int yl_rmtree(const char *path)
{
    /* FTW_PHYS: a symlink is removed, never followed; FTW_DEPTH: children
     * before their directory. */
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return errno == ENOENT ? 0 : -errno;
    return 0;
}

int yl_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path), i;

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        if (i < len)
            buf[i] = '/';
    }
    return 0;
}

static int write_file(const char *path, const char *data, size_t len,
                      bool durable)
{
    char *tmp = NULL, *dir = NULL, *slash;
    int fd = -1, dfd = -1, ret;
    size_t plen;

    if (path == NULL || (data == NULL && len > 0))
        return -EINVAL;
    plen = strlen(path);
    tmp = malloc(plen + 5);
    if (tmp == NULL)
        return -ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        YL_LOGE("fs", "open \"%s\" failed: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            YL_LOGE("fs", "write \"%s\" failed: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (durable && fsync(fd) < 0) {
        ret = -errno;
        YL_LOGE("fs", "fsync \"%s\" failed: %s", tmp, strerror(errno));
        goto out;
    }
    ret = close(fd);
    fd = -1;
    if (ret < 0) {
        ret = -errno;
        YL_LOGE("fs", "close \"%s\" failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) < 0) {
        ret = -errno;
        YL_LOGE("fs", "rename \"%s\" to \"%s\" failed: %s", tmp, path,
                strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing to unlink */
    if (!durable) {
        ret = 0;
        goto out;
    }

    /* Make the rename itself durable. */
    dir = strdup(path);
    if (dir == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0 && fsync(dfd) < 0 && errno != EINVAL) {
        ret = -errno;
        YL_LOGE("fs", "fsync directory of \"%s\" failed: %s", path,
                strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(dir);
    return ret;
}

int yl_write_file_atomic(const char *path, const char *data, size_t len)
{
    return write_file(path, data, len, true);
}

int yl_write_file_replace(const char *path, const char *data, size_t len)
{
    return write_file(path, data, len, false);
}
