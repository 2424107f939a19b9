/* yl_conf.h - configuration keys as tables (nginx's ngx_command_t): each
 * module declares its keys once, {name, type, offset, range}, and one
 * setter parses and checks a value for any of them. The INI file is read
 * by the catalog's loader (cat_config_load()), which consults the tables
 * of every module the command knows. Any thread; no state. */
#ifndef YL_CONF_H
#define YL_CONF_H

#include <stddef.h>
#include <stdint.h>

enum yl_conf_type {
    YL_CONF_INT,  /* int in [lo, hi]; k/M/G suffixes (powers of 1024) */
    YL_CONF_I64,  /* int64_t in [lo, hi]; the same suffixes */
    YL_CONF_STR,  /* char[size], not empty ("want" names the form) */
    YL_CONF_PATH, /* char[size], not empty */
};

typedef struct yl_conf_key {
    const char *name;
    enum yl_conf_type type;
    size_t offset; /* of the field in the module's struct */
    size_t size;   /* STR, PATH: the array's size */
    int64_t lo, hi;
    const char *want; /* STR: the expected form, for the message */
} yl_conf_key;

#define YL_CONF_INT_KEY(name, type, field, lo, hi)                             \
    {                                                                          \
        name, YL_CONF_INT, offsetof(type, field), 0, lo, hi, NULL              \
    }
#define YL_CONF_I64_KEY(name, type, field, lo, hi)                             \
    {                                                                          \
        name, YL_CONF_I64, offsetof(type, field), 0, lo, hi, NULL              \
    }
#define YL_CONF_PATH_KEY(name, type, field)                                    \
    {                                                                          \
        name, YL_CONF_PATH, offsetof(type, field), sizeof(((type *)0)->field), \
            0, 0, NULL                                                         \
    }
#define YL_CONF_STR_KEY(name, type, field, want)                               \
    {                                                                          \
        name, YL_CONF_STR, offsetof(type, field), sizeof(((type *)0)->field),  \
            0, 0, want                                                         \
    }
#define YL_CONF_END                                                            \
    {                                                                          \
        NULL, YL_CONF_INT, 0, 0, 0, 0, NULL                                    \
    }

/* Finds key in keys (ended by YL_CONF_END) and stores value into target.
 * Returns 0, YL_ENOTFOUND when keys has no such key, or YL_EINVAL with one
 * line in err naming the key and what it wants. */
int yl_conf_set(const yl_conf_key *keys, void *target, const char *key,
                const char *value, char *err, size_t errlen);

/* Parses "123", "64k", "4G" (powers of 1024) within [lo, hi]. 0 or
 * YL_EINVAL. */
int yl_conf_parse_size(const char *s, int64_t lo, int64_t hi, int64_t *v);

#endif
