/* cat_config.c - INI + flags configuration shared by serve and the CLI. */
#include "catalog/cat_config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "common/yl_conf.h"
#include "common/yl_err.h"

void cat_config_init(cat_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
    snprintf(c->data_dir, sizeof(c->data_dir), "./var");
    c->max_body_bytes = 1 << 20;
    c->max_upload_bytes = 4LL << 30;
    c->max_batch_events = 500;
    c->job_max_attempts = 3;
    c->job_retry_delay_s = 30;
    c->active_window_s = 60;
    c->writer_batch = 512;
    c->keep_failed_sources_s = 7 * 24 * 3600;
}

/* The catalog's keys, section [server] (the streamer adds its own table,
 * streamer/str_config.c). */
static const yl_conf_key keys[] = {
    YL_CONF_STR_KEY("listen", cat_config, listen, "ADDR:PORT"),
    YL_CONF_PATH_KEY("data", cat_config, data_dir),
    YL_CONF_PATH_KEY("db", cat_config, db_path),
    YL_CONF_PATH_KEY("web", cat_config, web_dir),
    YL_CONF_I64_KEY("max_body", cat_config, max_body_bytes, 1024, 1LL << 30),
    YL_CONF_I64_KEY("max_upload", cat_config, max_upload_bytes, 1024,
                    1LL << 40),
    YL_CONF_INT_KEY("max_events", cat_config, max_batch_events, 1, 100000),
    YL_CONF_INT_KEY("job_attempts", cat_config, job_max_attempts, 1, 100),
    YL_CONF_INT_KEY("job_retry_delay", cat_config, job_retry_delay_s, 0, 86400),
    YL_CONF_INT_KEY("active_window", cat_config, active_window_s, 1, 3600),
    YL_CONF_INT_KEY("writer_batch", cat_config, writer_batch, 1, 100000),
    YL_CONF_INT_KEY("keep_failed_sources", cat_config, keep_failed_sources_s, 0,
                    3650LL * 24 * 3600),
    YL_CONF_END,
};

int cat_config_set(cat_config *c, const char *section, const char *key,
                   const char *value, char *err, size_t errlen)
{
    if (section != NULL && section[0] != '\0' &&
        strcmp(section, "server") != 0) {
        snprintf(err, errlen, "unknown section [%s]", section);
        return YL_EINVAL;
    }
    return yl_conf_set(keys, c, key, value, err, errlen);
}

struct load_ctx {
    FILE *f;
    cat_config *c;
    cat_config_extra_fn extra;
    void *ud;
    const char *path;
    char *err;
    size_t errlen;
    int rc;
    int line;
};

/* inih reader that counts lines, so errors can name file:line (Debian builds
 * inih without INI_HANDLER_LINENO). */
static char *read_line(char *str, int num, void *stream)
{
    struct load_ctx *x = stream;
    char *s = fgets(str, num, x->f);

    if (s != NULL)
        x->line++;
    return s;
}

static int on_ini(void *user, const char *section, const char *name,
                  const char *value)
{
    struct load_ctx *x = user;
    int lineno = x->line;
    char msg[256];
    int rc;

    if (x->rc < 0)
        return 0;
    rc = cat_config_set(x->c, section, name, value, msg, sizeof(msg));
    if (rc == YL_ENOTFOUND ||
        (rc < 0 && strncmp(msg, "unknown section", 15) == 0)) {
        int r = x->extra != NULL ? x->extra(x->ud, section, name, value)
                                 : YL_ENOTFOUND;

        if (r == 0)
            return 1;
        if (r == YL_ENOTFOUND)
            snprintf(msg, sizeof(msg), "unknown key [%s] %s", section, name);
        else
            snprintf(msg, sizeof(msg), "[%s] %s: bad value \"%.64s\"", section,
                     name, value);
        rc = YL_EINVAL;
    }
    if (rc < 0) {
        snprintf(x->err, x->errlen, "%s:%d: %s", x->path, lineno, msg);
        x->rc = rc;
        return 0;
    }
    return 1;
}

int cat_config_load(cat_config *c, const char *path, cat_config_extra_fn extra,
                    void *ud, char *err, size_t errlen)
{
    struct load_ctx x = {NULL, c, extra, ud, path, err, errlen, 0, 0};
    FILE *f;
    int rc;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return rc;
    }
    x.f = f;
    rc = ini_parse_stream(read_line, &x, on_ini, &x);
    fclose(f);
    if (x.rc < 0)
        return x.rc;
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: not an INI line", path, rc);
        return YL_EINVAL;
    }
    return 0;
}

/* The first entry of data/sub that is not a dot-name (temporary dirs and
 * leftovers are dot-names) into name; 0 when there is none. */
static int has_content(const char *data, const char *sub, char *name,
                       size_t len)
{
    char dir[CAT_PATH_MAX + 16];
    struct dirent *de;
    DIR *d;
    int found = 0;

    snprintf(dir, sizeof(dir), "%s/%s", data, sub);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(name, len, "%s/%s", sub, de->d_name);
        found = 1;
    }
    closedir(d);
    return found;
}

/* Refuses a missing (or empty) database next to lessons or uploads. */
static int check_db(const cat_config *c, char *err, size_t errlen)
{
    char what[300];
    struct stat sb;

    if (c->init || (stat(c->db_path, &sb) == 0 && sb.st_size > 0))
        return 0;
    if (!has_content(c->data_dir, "hls", what, sizeof(what)) &&
        !has_content(c->data_dir, "uploads", what, sizeof(what)))
        return 0;
    snprintf(err, errlen,
             "database %s is missing or empty, but %s holds lessons or "
             "uploads (%s): restore the database from a backup, or pass "
             "--init to start a new, empty catalog there",
             c->db_path, c->data_dir, what);
    return YL_ENOINIT;
}

int cat_config_finish(cat_config *c, char *err, size_t errlen)
{
    struct stat sb;

    if (c->db_path[0] == '\0') {
        int n = snprintf(c->db_path, sizeof(c->db_path), "%s/yunling.db",
                         c->data_dir);
        if (n < 0 || (size_t)n >= sizeof(c->db_path)) {
            snprintf(err, errlen, "data: path too long");
            return YL_EINVAL;
        }
    }
    if (stat(c->data_dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "%s: not a directory", c->data_dir);
            return -ENOTDIR;
        }
        return check_db(c, err, errlen);
    }
    if (mkdir(c->data_dir, 0755) < 0 && errno != EEXIST) {
        int rc = -errno;
        snprintf(err, errlen, "%s: cannot create: %s", c->data_dir,
                 strerror(errno));
        return rc;
    }
    return 0;
}
