/* cat_lang.c - syntactic BCP-47 check with the shortest ISO 639 code.
 * Enough for site defaults, titles and events; the transcoder keeps the
 * table of language names. */
#include "catalog/cat_lang.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "common/yl_err.h"

/* ISO 639-2/3 codes that have a 2-letter form, for the province's
 * languages and the common ones; anything else stays as written. */
static const char *const alias[][2] = {
    {"zho", "zh"}, {"chi", "zh"}, {"cmn", "zh"}, {"bod", "bo"},
    {"tib", "bo"}, {"iii", "ii"}, {"zha", "za"}, {"eng", "en"},
    {"mon", "mn"}, {"uig", "ug"}, {"kor", "ko"}, {"tha", "th"},
    {"vie", "vi"}, {"mya", "my"}, {"bur", "my"}, {"lao", "lo"},
};

static bool all(const char *s, size_t n, int (*f)(int))
{
    for (size_t i = 0; i < n; i++)
        if (!f((unsigned char)s[i]))
            return false;
    return true;
}

int cat_lang_normalize(const char *tag, char *out, size_t outlen)
{
    char buf[64];
    size_t len, pos = 0;
    int part = 0; /* 0 language, 1 script, 2 region, 3 variants */
    char *save = NULL, *sub;

    if (tag == NULL || (len = strlen(tag)) == 0 || len >= sizeof(buf) ||
        len >= outlen)
        return YL_EBADLANG;
    memcpy(buf, tag, len + 1);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '_')
            buf[i] = '-';
        buf[i] = (char)tolower((unsigned char)buf[i]);
    }
    for (sub = strtok_r(buf, "-", &save); sub != NULL;
         sub = strtok_r(NULL, "-", &save)) {
        size_t n = strlen(sub);
        char piece[16];

        if (n == 0 || n > 8 || !all(sub, n, isalnum))
            return YL_EBADLANG;
        memcpy(piece, sub, n + 1);
        if (part == 0) {
            if ((n != 2 && n != 3) || !all(sub, n, isalpha))
                return YL_EBADLANG;
            for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
                if (strcmp(sub, alias[i][0]) == 0)
                    memcpy(piece, alias[i][1], 3);
            part = 1;
        } else if (part <= 1 && n == 4 && all(sub, n, isalpha)) {
            piece[0] = (char)toupper((unsigned char)piece[0]);
            part = 2;
        } else if (part <= 2 && ((n == 2 && all(sub, n, isalpha)) ||
                                 (n == 3 && all(sub, n, isdigit)))) {
            for (size_t i = 0; i < n; i++)
                piece[i] = (char)toupper((unsigned char)piece[i]);
            part = 3;
        } else if ((n >= 5 && n <= 8) ||
                   (n == 4 && isdigit((unsigned char)sub[0]))) {
            part = 3;
        } else {
            return YL_EBADLANG;
        }
        n = strlen(piece);
        if (pos + n + 2 > outlen)
            return YL_EBADLANG;
        if (pos > 0)
            out[pos++] = '-';
        memcpy(out + pos, piece, n);
        pos += n;
    }
    if (pos == 0 || tag[len - 1] == '-' || tag[0] == '-' ||
        strstr(tag, "--") != NULL)
        return YL_EBADLANG;
    out[pos] = '\0';
    return 0;
}
