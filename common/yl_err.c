/* yl_err.c - see yl_err.h. */
#include "common/yl_err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *msg;
} yl_errors[] = {
    {YL_ENOVIDEO, "no video stream"},
    {YL_ENOMEDIA, "no audio or video stream"},
    {YL_ECORRUPT, "corrupt data"},
    {YL_ETRUNC, "data ends early (truncated)"},
    {YL_EBADUTF8, "text is not valid UTF-8"},
    {YL_EBADTIME, "invalid timestamp"},
    {YL_EBADLANG, "not a well-formed BCP-47 language tag"},
    {YL_EUSAGE, "invalid usage"},
    {YL_EEXIST, "already exists"},
    {YL_EINTR, "interrupted"},
    {YL_ENOTFOUND, "not found"},
    {YL_EINVAL, "invalid value"},
    {YL_EDB, "database error"},
    {YL_ETOOBIG, "over the size limit"},
    {YL_EFORBIDDEN, "outside the allowed scope"},
    {YL_EDBLOST, "the database file was removed or replaced"},
    {YL_ENOINIT, "the database is missing (--init creates a new one)"},
};

const char *yl_strerror(int err, char *buf, size_t len)
{
    size_t i;

    if (len == 0)
        return buf;
    for (i = 0; i < sizeof(yl_errors) / sizeof(yl_errors[0]); i++) {
        if (yl_errors[i].code == err) {
            snprintf(buf, len, "%s", yl_errors[i].msg);
            return buf;
        }
    }
    if (err < 0 && err > -4096) {
        char tmp[256];
        const char *s = strerror_r(-err, tmp, sizeof(tmp));
        snprintf(buf, len, "%s", s);
        return buf;
    }
    snprintf(buf, len, "error %d", err);
    return buf;
}
