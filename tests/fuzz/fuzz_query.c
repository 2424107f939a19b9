/* fuzz_query.c - query strings: str_query_get() (behind str_req_query())
 * and str_url_decode() with '+' as a space.
 *
 * Input: "name\nquery" (the name the handler asks for, then the query
 * after '?'). Checked against a plain reference: the first "name=" pair
 * wins, its value decoded; a result never overruns the buffer, whose size
 * varies. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "streamer/str_httputil.h"
#include "tests/fuzz/fuzz_util.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The reference: decodes v[0..n) into out (unbounded); the length, or
 * what str_query_get() must say: -3 at a %00, -2 when the value reaches
 * blen bytes, whichever comes first. */
static long ref_decode(const char *v, size_t n, char *out, size_t blen)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int c = (unsigned char)v[i];

        if (c == '%' && i + 2 < n && hexval((unsigned char)v[i + 1]) >= 0 &&
            hexval((unsigned char)v[i + 2]) >= 0) {
            c = hexval((unsigned char)v[i + 1]) * 16 +
                hexval((unsigned char)v[i + 2]);
            i += 2;
            if (c == 0)
                return -3;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= blen)
            return -2;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return blen == 0 ? -2 : (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char in[4200], ref[4200], buf[300];
    const char *nl, *q, *p;
    size_t name_len, blen;
    long want = -1;
    int got;

    if (size < 1 || size >= sizeof(in) || memchr(data, 0, size) != NULL)
        return 0;
    blen = data[0] % sizeof(buf); /* 0 too: must not write */
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    nl = strchr(in, '\n');
    if (nl == NULL)
        return 0;
    name_len = (size_t)(nl - in);
    in[name_len] = '\0';
    q = nl + 1;

    /* Reference lookup. */
    for (p = q; *p;) {
        const char *amp = strchr(p, '&'), *eq;

        if (amp == NULL)
            amp = p + strlen(p);
        eq = memchr(p, '=', (size_t)(amp - p));
        if (eq && (size_t)(eq - p) == name_len &&
            memcmp(p, in, name_len) == 0) {
            want = ref_decode(eq + 1, (size_t)(amp - eq - 1), ref, blen);
            break;
        }
        p = *amp ? amp + 1 : amp;
    }

    memset(buf, 0x55, sizeof(buf));
    got = str_query_get(q, in, buf, blen);
    FZ_CHECK(got == want);
    if (got >= 0)
        FZ_CHECK(memcmp(buf, ref, (size_t)got + 1) == 0);
    if (blen < sizeof(buf))
        FZ_CHECK((unsigned char)buf[blen] == 0x55); /* no overrun */

    /* The decoder on the whole string, both ways. */
    got = str_url_decode(q, strlen(q), buf, blen, false);
    FZ_CHECK(got == -ENAMETOOLONG || got == -EINVAL ||
             (got >= 0 && (size_t)got < blen && buf[got] == '\0'));
    if (blen < sizeof(buf))
        FZ_CHECK((unsigned char)buf[blen] == 0x55);
    return 0;
}
