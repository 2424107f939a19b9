/* str_path.c - see str_path.h. */
#include "streamer/str_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int str_path_check(const char *rel)
{
    const char *p = rel;

    if (rel == NULL || *rel == '\0' || *rel == '/')
        return -EACCES;
    while (*p) {
        const char *c = p; /* start of a component */

        if (*c == '.' || *c == '/')
            return -EACCES; /* ".", "..", hidden, or an empty component */
        while (*p && *p != '/') {
            unsigned char ch = (unsigned char)*p;

            if (ch < 0x20 || ch == 0x7f || ch == '\\')
                return -EACCES;
            p++;
        }
        if (*p == '/') {
            p++;
            if (*p == '\0') /* "dir/": a directory, not a file */
                return -EACCES;
        }
    }
    return 0;
}

static int open_fallback(const char *root, const char *rel)
{
    char full[PATH_MAX], real[PATH_MAX];
    size_t rlen = strlen(root);
    int n;

    n = snprintf(full, sizeof(full), "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof(full))
        return -ENAMETOOLONG;
    if (realpath(full, real) == NULL)
        return -errno;
    /* root is itself a realpath; the file must lie strictly below it. */
    if (strncmp(real, root, rlen) != 0 || real[rlen] != '/')
        return -EACCES;
    n = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    return n < 0 ? -errno : n;
}

int str_path_open(int dirfd, const char *root, const char *rel, struct stat *st)
{
    static int have_openat2 = 1; /* racy but monotonic: only goes to 0 */
    struct open_how how;
    int fd = -1;

    if (str_path_check(rel) < 0)
        return -EACCES;
    if (have_openat2) {
        memset(&how, 0, sizeof(how));
        how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd < 0 && errno == ENOSYS)
            have_openat2 = 0;
        else if (fd < 0)
            return errno == EXDEV ? -EACCES : -errno; /* EXDEV: escape */
    }
    if (fd < 0) {
        fd = open_fallback(root, rel);
        if (fd < 0)
            return fd;
    }
    if (fstat(fd, st) < 0) {
        int e = -errno;

        close(fd);
        return e;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return S_ISDIR(st->st_mode) ? -EISDIR : -EACCES;
    }
    return fd;
}
