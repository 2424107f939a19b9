/* tc_publish.h - atomic publication of a lesson directory: everything is
 * written into a temporary directory beside OUTDIR, renamed into place only
 * when complete. Threads: the job's main thread. */
#ifndef YL_TC_PUBLISH_H
#define YL_TC_PUBLISH_H

#include <stddef.h>

/* Checks out_dir (refused with YL_EEXIST if it exists and !force), creates
 * its missing parents and a fresh "<parent>/.<name>.tmp-XXXXXX", locked
 * (flock on "<tmp>.lock", *lock_fd) for as long as the run lasts; removes
 * temporary directories of earlier runs for the same out_dir whose lock is
 * free (they were killed). Returns 0 and *tmp (malloc'd), or a negative
 * code with a one-line reason in err. */
int tc_publish_begin(const char *out_dir, int force, char **tmp, int *lock_fd,
                     char *err, size_t errlen);
/* Releases the lock taken by tc_publish_begin() on "<tmp>.lock" (beside
 * the temporary directory) and removes that file. A run killed outright
 * (SIGKILL, a crash) cannot clean up; its lock dies with it, and the next
 * run for the same OUTDIR removes what it left. */
void tc_publish_release(const char *tmp, int lock_fd);
/* Renames tmp to out_dir: atomically swapped with an existing out_dir when
 * force (the old one is then removed), never replacing one otherwise.
 * Returns 0 or a negative code with a reason in err. */
int tc_publish_commit(const char *tmp, const char *out_dir, int force,
                      char *err, size_t errlen);

#endif
