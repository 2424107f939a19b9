/* str_config.c - the server's own config keys and the listen address.
 * Main thread, before the server starts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yl_conf.h"
#include "common/yl_err.h"
#include "streamer/str_internal.h"
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
    cfg->ws_reauth_s = 30;
    cfg->ws_max_message = 256 * 1024;
    cfg->ws_rate = 20;
    cfg->ws_queue = 64;
    cfg->ws_push_ms = 1000;
    cfg->ws_pace = -1; /* 1024 on libuv, 0 on poll (str_ws_open) */
    snprintf(cfg->event_loop, sizeof(cfg->event_loop), "poll");
    snprintf(cfg->live_record, sizeof(cfg->live_record), "on");
    cfg->session_ttl_s = 12 * 3600; /* a working day */
    cfg->signin_fails = 5;
    cfg->signin_fails_addr = 30; /* an office shares one address */
    cfg->signin_window_s = 15 * 60;
    cfg->token_cache_ms = 5000; /* a revoked token works at most this long */
}

/* The server's own keys, section [server] (the catalog's are in
 * catalog/cat_config.c). */
static const yl_conf_key keys[] = {
    YL_CONF_INT_KEY("max_header", str_config, max_header, 1024, 16000),
    YL_CONF_INT_KEY("keepalive", str_config, keepalive_s, 1, 3600),
    YL_CONF_INT_KEY("header_timeout", str_config, header_timeout_s, 1, 3600),
    YL_CONF_INT_KEY("body_timeout", str_config, body_timeout_s, 1, 3600),
    YL_CONF_INT_KEY("send_timeout", str_config, send_timeout_s, 1, 3600),
    YL_CONF_INT_KEY("shutdown_grace", str_config, shutdown_grace_s, 0, 3600),
    YL_CONF_INT_KEY("job_timeout", str_config, job_timeout_s, 0, 7 * 24 * 3600),
    YL_CONF_INT_KEY("ws_hello", str_config, ws_hello_s, 1, 600),
    YL_CONF_INT_KEY("ws_ping", str_config, ws_ping_s, 1, 600),
    YL_CONF_INT_KEY("ws_reauth", str_config, ws_reauth_s, 1, 3600),
    YL_CONF_INT_KEY("ws_max_message", str_config, ws_max_message, 1024,
                    16 << 20),
    YL_CONF_INT_KEY("ws_rate", str_config, ws_rate, 1, 100000),
    YL_CONF_INT_KEY("ws_queue", str_config, ws_queue, 4, 65536),
    YL_CONF_INT_KEY("ws_push_ms", str_config, ws_push_ms, 50, 60000),
    YL_CONF_INT_KEY("ws_pace", str_config, ws_pace, -1, 1 << 20),
    YL_CONF_STR_KEY("event_loop", str_config, event_loop, "libuv or poll"),
    YL_CONF_PATH_KEY("live_slate", str_config, live_slate),
    YL_CONF_STR_KEY("live_record", str_config, live_record, "on or off"),
    YL_CONF_STR_KEY("trusted_proxies", str_config, trusted_proxies,
                    "IP addresses and networks, e.g. 10.0.0.1, 10.2.0.0/16"),
    YL_CONF_INT_KEY("session_ttl", str_config, session_ttl_s, 1,
                    30 * 24 * 3600),
    YL_CONF_INT_KEY("signin_fails", str_config, signin_fails, 1, 1000),
    YL_CONF_INT_KEY("signin_fails_addr", str_config, signin_fails_addr, 1,
                    100000),
    YL_CONF_INT_KEY("signin_window", str_config, signin_window_s, 1, 86400),
    /* Test-only: see str_server.h. */
    YL_CONF_INT_KEY("test_token_cache_ms", str_config, token_cache_ms, 0, 5000),
    YL_CONF_END,
};

int str_config_extra(void *ud, const char *section, const char *key,
                     const char *value)
{
    str_config scratch, *cfg = ud;
    char err[256];

    if (cfg == NULL) { /* checked, not kept */
        str_config_defaults(&scratch);
        cfg = &scratch;
    }

    if (section != NULL && section[0] != '\0' && strcmp(section, "server") != 0)
        return YL_ENOTFOUND;
    if (strcmp(key, "event_loop") == 0 && strcmp(value, "libuv") != 0 &&
        strcmp(value, "poll") != 0)
        return YL_EINVAL;
    if (strcmp(key, "live_record") == 0 && strcmp(value, "on") != 0 &&
        strcmp(value, "off") != 0)
        return YL_EINVAL;
    if (strcmp(key, "trusted_proxies") == 0) {
        str_net nets[STR_PROXIES_MAX];

        if (str_proxy_parse(value, nets, STR_PROXIES_MAX, err, sizeof(err)) < 0)
            return YL_EINVAL;
    }
    return yl_conf_set(keys, cfg, key, value, err, sizeof(err));
}

/* A port: decimal digits only (no size suffix). */
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
