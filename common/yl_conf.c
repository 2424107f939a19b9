/* yl_conf.c - see yl_conf.h. */
#include "common/yl_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_err.h"

int yl_conf_parse_size(const char *s, int64_t lo, int64_t hi, int64_t *v)
{
    char *end = NULL;
    long long n;
    int64_t mul = 1;

    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return YL_EINVAL;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024 * 1024 * 1024, end++;
    if (*end != '\0' || n < 0 || n > INT64_MAX / mul)
        return YL_EINVAL;
    n *= mul;
    if (n < lo || n > hi)
        return YL_EINVAL;
    *v = n;
    return 0;
}

int yl_conf_set(const yl_conf_key *keys, void *target, const char *key,
                const char *value, char *err, size_t errlen)
{
    const yl_conf_key *k;
    char *field;
    int64_t v;

    for (k = keys; k->name != NULL; k++)
        if (strcmp(k->name, key) == 0)
            break;
    if (k->name == NULL) {
        snprintf(err, errlen, "unknown key \"%s\"", key);
        return YL_ENOTFOUND;
    }
    field = (char *)target + k->offset;
    switch (k->type) {
    case YL_CONF_INT:
    case YL_CONF_I64:
        if (yl_conf_parse_size(value, k->lo, k->hi, &v) < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not a number in %lld..%lld",
                     key, value, (long long)k->lo, (long long)k->hi);
            return YL_EINVAL;
        }
        if (k->type == YL_CONF_INT)
            *(int *)(void *)field = (int)v;
        else
            *(int64_t *)(void *)field = v;
        return 0;
    case YL_CONF_STR:
    case YL_CONF_PATH:
        if (value[0] == '\0' || strlen(value) >= k->size) {
            if (k->type == YL_CONF_STR)
                snprintf(err, errlen, "%s: want %s", key,
                         k->want != NULL ? k->want : "a value");
            else
                snprintf(err, errlen, "%s: %s path", key,
                         value[0] == '\0' ? "empty" : "too long");
            return YL_EINVAL;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    return YL_EINVAL;
}
