/* yl_fs.h - small filesystem helpers shared by every module: remove a
 * tree, make a directory with its parents, write a file atomically.
 * Any thread; errors are 0 or -errno. */
#ifndef YL_FS_H
#define YL_FS_H

#include <stddef.h>

/* Removes path, a directory tree or a file, children first; symlinks are
 * removed, never followed. A path (or an entry) already gone is not an
 * error, so two cleaners may race. Returns 0 or -errno. */
int yl_rmtree(const char *path);

/* mkdir -p: makes path and its missing parents (mode 0755). 0, or -errno,
 * or -ENAMETOOLONG. */
int yl_mkdirs(const char *path);

/* Writes data to path atomically: path.tmp, fsync, rename, fsync of the
 * directory, so a reader sees the old file or the new one, whole. 0 or
 * -errno (logged); on error path.tmp is removed and path is untouched. */
int yl_write_file_atomic(const char *path, const char *data, size_t len);

/* The same without the two fsyncs: a reader still sees the old file or the
 * new one, whole, but a crash may leave either (or an empty one) on disk.
 * For files rewritten every second that a crash makes worthless anyway
 * (live playlists): each fsync of a directory on ext4 commits the journal,
 * a flush of every write pending on the file system. */
int yl_write_file_replace(const char *path, const char *data, size_t len);

#endif
