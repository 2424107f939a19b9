/* str_path.h - keeping every served file inside its root directory.
 * Any thread (no shared state). */
#ifndef YL_STR_PATH_H
#define YL_STR_PATH_H

#include <sys/stat.h>

/* Checks a decoded path relative to a root ("v0/seg_00001.m4s"): 0 when
 * every component is a plain name, else -EACCES. Refused: empty
 * components ("a//b"), "." and "..", names starting with '.' (which also
 * hides in-progress ".job-N" and ".trash-N" dirs), backslashes, control
 * bytes, and a leading '/'. The caller has already URL-decoded the path,
 * so "%2e%2e" arrives here as "..". */
int str_path_check(const char *rel);

/* Opens rel (already checked) for reading beneath the directory dirfd,
 * without ever leaving it: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 * refuses ".." and symlinks that point outside; on kernels without
 * openat2 it falls back to a realpath() prefix check. Only regular files
 * are returned. Returns the fd and fills *st, or -ENOENT, -EACCES (escape
 * attempt), -EISDIR, or another -errno. */
int str_path_open(int dirfd, const char *root, const char *rel,
                  struct stat *st);

#endif
