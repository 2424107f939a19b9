/* str_config.c - the server's own config keys and the listen address.
 * Main thread, before the server starts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_err.h"
#include "streamer/str_server.h"

void str_config_defaults(str_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cat_config_init(&cfg->cat);
    cfg->max_header = 8192;
    cfg->keepalive_s = 30;
    cfg->header_timeout_s = 15;
    cfg->body_timeout_s = 30;
    cfg->send_timeout_s = 60;
    cfg->shutdown_grace_s = 20;
    cfg->job_timeout_s = 0;
    cfg->ws_hello_s = 10;
    cfg->ws_ping_s = 25; /* a dead village link is noticed within 55 s */
    cfg->ws_max_message = 256 * 1024;
    cfg->ws_rate = 20;
    cfg->ws_queue = 64;
    cfg->ws_push_ms = 1000;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < lo || n > hi)
        return YL_EINVAL;
    *out = (int)n;
    return 0;
}

int str_config_extra(void *ud, const char *section, const char *key,
                     const char *value)
{
    str_config *cfg = ud;

    if (section != NULL && section[0] != '\0' && strcmp(section, "server") != 0)
        return YL_EINVAL;
    if (strcmp(key, "max_header") == 0)
        return parse_int(value, 1024, 16000, &cfg->max_header);
    if (strcmp(key, "keepalive") == 0)
        return parse_int(value, 1, 3600, &cfg->keepalive_s);
    if (strcmp(key, "header_timeout") == 0)
        return parse_int(value, 1, 3600, &cfg->header_timeout_s);
    if (strcmp(key, "body_timeout") == 0)
        return parse_int(value, 1, 3600, &cfg->body_timeout_s);
    if (strcmp(key, "send_timeout") == 0)
        return parse_int(value, 1, 3600, &cfg->send_timeout_s);
    if (strcmp(key, "shutdown_grace") == 0)
        return parse_int(value, 0, 3600, &cfg->shutdown_grace_s);
    if (strcmp(key, "ws_hello") == 0)
        return parse_int(value, 1, 600, &cfg->ws_hello_s);
    if (strcmp(key, "ws_ping") == 0)
        return parse_int(value, 1, 600, &cfg->ws_ping_s);
    if (strcmp(key, "ws_max_message") == 0)
        return parse_int(value, 1024, 16 << 20, &cfg->ws_max_message);
    if (strcmp(key, "ws_rate") == 0)
        return parse_int(value, 1, 100000, &cfg->ws_rate);
    if (strcmp(key, "ws_queue") == 0)
        return parse_int(value, 4, 65536, &cfg->ws_queue);
    if (strcmp(key, "ws_push_ms") == 0)
        return parse_int(value, 50, 60000, &cfg->ws_push_ms);
    if (strcmp(key, "job_timeout") == 0)
        return parse_int(value, 0, 7 * 24 * 3600, &cfg->job_timeout_s);
    return YL_EINVAL;
}

int str_config_listen(str_config *cfg, char *err, size_t errlen)
{
    const char *l = cfg->cat.listen, *colon;
    size_t alen;
    int port;

    if (l[0] == '[') { /* [v6]:port */
        const char *rb = strchr(l, ']');

        if (rb == NULL || rb[1] != ':')
            goto bad;
        alen = (size_t)(rb - l - 1);
        l++;
        colon = rb + 1;
    } else {
        colon = strrchr(l, ':');
        if (colon == NULL)
            goto bad;
        alen = (size_t)(colon - l);
    }
    if (alen == 0 || alen >= sizeof(cfg->listen_addr) ||
        parse_int(colon + 1, 0, 65535, &port) < 0)
        goto bad;
    memcpy(cfg->listen_addr, l, alen);
    cfg->listen_addr[alen] = '\0';
    cfg->port = port;
    return 0;
bad:
    snprintf(err, errlen,
             "listen: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:8080, port 0 "
             "picks a free one)",
             cfg->cat.listen);
    return YL_EINVAL;
}
