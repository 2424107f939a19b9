/* fuzz_path.c - the request target to a served file: the path part is
 * %-decoded as str_conn.c's req_prepare() does, then checked by
 * str_path_check() and opened beneath a root by str_path_open().
 *
 * Invariants: an accepted path has only plain names (no "", ".", "..",
 * no leading '.', '/', '\\' or control byte in any component); and what
 * str_path_open() opens lies inside the root, whatever symlinks the root
 * holds (one points at /etc, one at ../). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "streamer/str_httputil.h"
#include "streamer/str_path.h"
#include "tests/fuzz/fuzz_util.h"

static int root_fd = -1;
static char root[64];
static ino_t inside[8]; /* inodes of the root's files */
static size_t ninside;

/* A root with files, a subdirectory and symlinks out of it. */
static void make_root(void)
{
    static const char *const files[] = {"master.m3u8", "v0/seg_00001.m4s",
                                        "a b.vtt"};
    struct stat st;
    size_t i;
    int fd;

    snprintf(root, sizeof(root), "/tmp/yl-fuzz-path.XXXXXX");
    FZ_CHECK(mkdtemp(root) != NULL);
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FZ_CHECK(root_fd >= 0);
    FZ_CHECK(mkdirat(root_fd, "v0", 0755) == 0);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        fd = openat(root_fd, files[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        FZ_CHECK(fd >= 0);
        FZ_CHECK(fstat(fd, &st) == 0);
        inside[ninside++] = st.st_ino;
        close(fd);
    }
    FZ_CHECK(symlinkat("/etc", root_fd, "etc") == 0);
    FZ_CHECK(symlinkat("..", root_fd, "up") == 0);
    FZ_CHECK(symlinkat("/etc/passwd", root_fd, "v0/pw") == 0);
    FZ_CHECK(symlinkat("../master.m3u8", root_fd, "v0/ok.m3u8") == 0);
}

static void check_plain(const char *p)
{
    const char *c = p;

    FZ_CHECK(*p != '\0' && *p != '/');
    for (;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        size_t i;

        FZ_CHECK(n > 0 && c[0] != '.');
        for (i = 0; i < n; i++)
            FZ_CHECK((unsigned char)c[i] >= 0x20 && c[i] != 0x7f &&
                     c[i] != '\\');
        if (e == NULL)
            break;
        c = e + 1;
    }
}

static void try_open(const char *rel)
{
    struct stat st, fst;
    size_t i;
    int fd = str_path_open(root_fd, root, rel, &st);

    if (fd < 0) {
        FZ_CHECK(fd == -ENOENT || fd == -EACCES || fd == -EISDIR ||
                 fd == -ENOTDIR || fd == -ELOOP || fd == -ENAMETOOLONG ||
                 fd == -EXDEV);
        return;
    }
    FZ_CHECK(fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode));
    for (i = 0; i < ninside; i++)
        if (fst.st_ino == inside[i])
            break;
    if (i == ninside)
        fprintf(stderr, "opened \"%s\" outside the root\n", rel);
    FZ_CHECK(i < ninside);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char target[1024], path[512];
    const char *url, *q;
    size_t plen;
    int n;

    if (root_fd < 0)
        make_root();
    if (size >= sizeof(target) || memchr(data, 0, size) != NULL)
        return 0; /* a C string, as http-parser's URL is for us */
    memcpy(target, data, size);
    target[size] = '\0';
    url = target;
    if (strncasecmp(url, "http://", 7) == 0) {
        url = strchr(url + 7, '/');
        if (url == NULL)
            url = "/";
    }
    q = strchr(url, '?');
    plen = q ? (size_t)(q - url) : strlen(url);
    n = str_url_decode(url, plen, path, sizeof(path), false);
    if (n < 0) {
        FZ_CHECK(n == -ENAMETOOLONG || n == -EINVAL);
        return 0;
    }
    FZ_CHECK((size_t)n < sizeof(path) && path[n] == '\0');
    FZ_CHECK(strlen(path) == (size_t)n); /* %00 is refused */
    FZ_CHECK((size_t)n <= plen);
    (void)str_mime_for(path);
    (void)str_cache_class_hls(path);
    /* The file servers check what follows "/hls/<id>/" or "/". */
    if (path[0] == '/' && str_path_check(path + 1) == 0) {
        check_plain(path + 1);
        try_open(path + 1);
    }
    if (str_path_check(path) == 0) {
        check_plain(path);
        try_open(path);
    }
    return 0;
}
