/* str_proxy.c - the client's address behind an edge: which peers may say
 * whose request they pass on (config trusted_proxies: addresses and CIDR
 * networks), and the client's address of a request from its peer and
 * X-Forwarded-For, the way nginx's real_ip_recursive reads it: from the
 * right, skip trusted hops; the first untrusted address is the client.
 *
 * Pure (no lws, no I/O): tests/streamer/test_str_units.c tests it. Any
 * thread. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_err.h"
#include "streamer/str_internal.h"

/* One address (a/len: 4 or 16 bytes); IPv4-mapped IPv6 as IPv4. */
static int parse_ip(const char *s, size_t n, unsigned char a[16], int *alen)
{
    char buf[INET6_ADDRSTRLEN + 1];

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, a) == 1) {
        *alen = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                                 0, 0, 0, 0, 0xff, 0xff};

        if (memcmp(a, mapped, 12) == 0) {
            memmove(a, a + 12, 4);
            *alen = 4;
        } else {
            *alen = 16;
        }
        return 0;
    }
    return -1;
}

int str_proxy_parse(const char *list, str_net *out, int max, char *err,
                    size_t errlen)
{
    const char *p = list;
    int n = 0;

    while (*p != '\0') {
        const char *e, *slash;
        char item[64];
        size_t len;
        int bits;

        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        for (e = p; *e != '\0' && *e != ',' && !isspace((unsigned char)*e);)
            e++;
        len = (size_t)(e - p);
        snprintf(item, sizeof(item), "%.*s", (int)(len < 63 ? len : 63), p);
        if (n == max) {
            snprintf(err, errlen, "trusted_proxies: more than %d entries", max);
            return YL_EINVAL;
        }
        slash = memchr(p, '/', len);
        if (parse_ip(p, slash != NULL ? (size_t)(slash - p) : len, out[n].a,
                     &out[n].len) < 0) {
            snprintf(err, errlen,
                     "trusted_proxies: '%s' is not an IP address or network",
                     item);
            return YL_EINVAL;
        }
        bits = out[n].len * 8;
        if (slash != NULL) {
            char *end;
            long b = strtol(slash + 1, &end, 10);

            if (end != e || slash + 1 == e || b < 0 || b > bits) {
                snprintf(err, errlen,
                         "trusted_proxies: '%s': the prefix length must be "
                         "0..%d",
                         item, bits);
                return YL_EINVAL;
            }
            bits = (int)b;
        }
        out[n].bits = bits;
        n++;
        p = e;
    }
    return n;
}

static bool in_net(const str_net *net, const unsigned char a[16], int alen)
{
    int full = net->bits / 8, rest = net->bits % 8;

    if (net->len != alen)
        return false;
    if (memcmp(net->a, a, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((net->a[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

bool str_proxy_trusted(const str_net *nets, int n, const char *addr)
{
    unsigned char a[16];
    int alen;

    if (parse_ip(addr, strlen(addr), a, &alen) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (in_net(&nets[i], a, alen))
            return true;
    return false;
}

void str_proxy_client(const str_net *nets, int n, const char *peer,
                      const char *xff, char *out, size_t len)
{
    const char *end, *start;

    snprintf(out, len, "%s", peer);
    if (xff == NULL || !str_proxy_trusted(nets, n, peer))
        return;
    /* From the right: each hop a trusted proxy added names the one before
     * it; stop at the first address no trusted proxy stands for. */
    end = xff + strlen(xff);
    while (end > xff) {
        unsigned char a[16];
        int alen;
        size_t k;

        start = end;
        while (start > xff && start[-1] != ',')
            start--;
        {
            const char *s = start, *e = end;

            while (s < e && isspace((unsigned char)*s))
                s++;
            while (e > s && isspace((unsigned char)e[-1]))
                e--;
            if (parse_ip(s, (size_t)(e - s), a, &alen) < 0)
                return; /* garbage: the last good hop is the client */
            k = (size_t)(e - s);
            snprintf(out, len, "%.*s", (int)k, s);
            if (!str_proxy_trusted(nets, n, out))
                return;
        }
        end = start > xff ? start - 1 : xff;
    }
}

void str_client_addr(const str_server *srv, const char *peer, const char *xff,
                     bool xff_cut, char *out, size_t len)
{
    if (srv->nproxies == 0) {
        snprintf(out, len, "%s", peer);
        return;
    }
    if (xff_cut && str_proxy_trusted(srv->proxies, srv->nproxies, peer)) {
        snprintf(out, len, "unknown");
        return;
    }
    str_proxy_client(srv->proxies, srv->nproxies, peer, xff_cut ? NULL : xff,
                     out, len);
}
