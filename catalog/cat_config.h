/* cat_config.h - the server's configuration: INI file (libinih) plus flag
 * overrides, shared by `yunling serve` and every catalog command so they
 * all mean the same database.
 *
 * Precedence: built-in defaults < config file < flags. Paths are used as
 * given (relative ones are relative to the working directory). When db is
 * not set, it is <data>/yunling.db, computed by cat_config_finish().
 *
 * INI keys (section [server]; unknown keys are an error unless the caller's
 * extra handler accepts them):
 *   listen = 127.0.0.1:8080     data = ./var          db = <data>/yunling.db
 *   web = <source>/player-web/dist
 *   max_body = 1048576          (bytes, JSON request bodies)
 *   max_upload = 4294967296     (bytes, one multipart upload)
 *   max_events = 500            (events per POST /api/v1/views batch)
 *   job_attempts = 3            (a job failing this often stays failed)
 *   active_window = 60          (s: a session is active this long after
 *                                its last event)
 *   writer_batch = 512          (write requests per transaction, at most)
 *   keep_failed_sources = 604800 (s a failed job's uploads are kept)
 * Sizes accept a suffix k, M, G (powers of 1024).
 *
 * Threads: a cat_config is a plain value; fill it on one thread, then share
 * it read-only. */
#ifndef YL_CAT_CONFIG_H
#define YL_CAT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CAT_PATH_MAX 1024

typedef struct cat_config {
    char listen[256];            /* "127.0.0.1:8080" */
    char data_dir[CAT_PATH_MAX]; /* "./var" */
    char db_path[CAT_PATH_MAX];  /* "" until cat_config_finish() */
    char web_dir[CAT_PATH_MAX];  /* "" = the streamer's default */
    int64_t max_body_bytes;      /* 1 MiB */
    int64_t max_upload_bytes;    /* 4 GiB */
    int max_batch_events;        /* 500 */
    int job_max_attempts;        /* 3 */
    int job_retry_delay_s;       /* 30: before the 2nd attempt, doubling */
    int active_window_s;         /* 60 */
    int writer_batch;            /* 512 */
    int keep_failed_sources_s;   /* 604800 (7 days): a failed job's uploads */
    int init; /* --init: may create a new database in a data dir that
               * already has lessons or uploads (flag only, no INI key) */
} cat_config;

/* Called for keys the catalog does not know (another module's table,
 * yl_conf.h). Return 0 if taken, YL_ENOTFOUND for a key it does not know
 * either, or another negative yl code for a bad value (the load fails
 * naming file:line and key either way). */
typedef int (*cat_config_extra_fn)(void *ud, const char *section,
                                   const char *key, const char *value);

/* Fills c with the defaults above. */
void cat_config_init(cat_config *c);

/* Sets one key as if read from the INI file ("server", "data", "./var").
 * Flags use this too. Returns 0, or YL_EINVAL with a message in err. */
int cat_config_set(cat_config *c, const char *section, const char *key,
                   const char *value, char *err, size_t errlen);

/* Parses an INI file into c. extra may be NULL. Returns 0, -errno when the
 * file cannot be read, or YL_EINVAL; err gets one line naming file:line. */
int cat_config_load(cat_config *c, const char *path, cat_config_extra_fn extra,
                    void *ud, char *err, size_t errlen);

/* Computes db_path when unset and creates data_dir (mode 0755) if missing.
 * Refuses (YL_ENOINIT) when the database file is missing or empty while
 * data_dir/hls or data_dir/uploads holds lessons or uploads, unless
 * c->init: a fresh catalog there would serve lessons it knows nothing
 * about, and the missing database is almost always a mistake to undo
 * (restore the backup). An empty data directory is initialised as before.
 * Returns 0 or a negative yl code with a message in err. */
int cat_config_finish(cat_config *c, char *err, size_t errlen);

#endif
