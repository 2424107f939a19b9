/* yl_utf8.c - see yl_utf8.h. */
#include "common/yl_utf8.h"

#include <string.h>

size_t yl_utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c;
    unsigned lo = 0x80, hi = 0xbf;
    size_t n;

    if (avail == 0)
        return 0;
    c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (avail < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

size_t yl_utf8_prefix(const char *s)
{
    size_t at = 0, len = strlen(s), n;

    while (at < len &&
           (n = yl_utf8_seq((const unsigned char *)s + at, len - at)) > 0)
        at += n;
    return at;
}

bool yl_utf8_valid(const char *s)
{
    return s[yl_utf8_prefix(s)] == '\0';
}

bool yl_utf8_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);

    while (left > 0) {
        size_t n = yl_utf8_seq(p, left);

        if (n == 0 || (*p < 0x20 && *p != '\t'))
            return false;
        p += n;
        left -= n;
    }
    return true;
}
