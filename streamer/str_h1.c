/* str_h1.c - see str_h1.h. */
#include "streamer/str_h1.h"

#include <stdlib.h>

#include <http_parser.h>

struct str_h1 {
    http_parser hp;
    http_parser_settings s;
    const str_h1_cb *cb;
    void *ud;
    bool in_head; /* between message begin and headers complete */
};

#define H1(p) ((str_h1 *)(p)->data)

static int on_begin(http_parser *p)
{
    H1(p)->in_head = true;
    return H1(p)->cb->begin(H1(p)->ud);
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    return H1(p)->cb->url(H1(p)->ud, at, len);
}

/* http-parser reports the trailer fields of a chunked body through the
 * same callbacks, after the head. They are dropped (RFC 9112 §7.1.2 lets
 * a recipient discard them): a trailer must not join the request's
 * headers, where a handler reading "authorization" after the body would
 * take it, and the head's buffer must not grow under a parsed request. */
static int on_field(http_parser *p, const char *at, size_t len)
{
    if (!H1(p)->in_head)
        return 0;
    return H1(p)->cb->field(H1(p)->ud, at, len);
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    if (!H1(p)->in_head)
        return 0;
    return H1(p)->cb->value(H1(p)->ud, at, len);
}

static int on_headers(http_parser *p)
{
    H1(p)->in_head = false;
    /* 0 only: 1 would mean "no body", which is for responses. */
    return H1(p)->cb->headers(H1(p)->ud) ? -1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    return H1(p)->cb->body(H1(p)->ud, at, len);
}

static int on_done(http_parser *p)
{
    return H1(p)->cb->done(H1(p)->ud);
}

str_h1 *str_h1_new(const str_h1_cb *cb, void *ud)
{
    str_h1 *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    http_parser_init(&h->hp, HTTP_REQUEST);
    h->hp.data = h;
    http_parser_settings_init(&h->s);
    h->s.on_message_begin = on_begin;
    h->s.on_url = on_url;
    h->s.on_header_field = on_field;
    h->s.on_header_value = on_value;
    h->s.on_headers_complete = on_headers;
    h->s.on_body = on_body;
    h->s.on_message_complete = on_done;
    h->cb = cb;
    h->ud = ud;
    return h;
}

void str_h1_free(str_h1 *h)
{
    free(h);
}

size_t str_h1_execute(str_h1 *h, const char *data, size_t len, int *err)
{
    size_t n = http_parser_execute(&h->hp, &h->s, data, len);

    switch (HTTP_PARSER_ERRNO(&h->hp)) {
    case HPE_OK:
        *err = STR_H1_OK;
        break;
    case HPE_PAUSED:
        *err = STR_H1_PAUSED;
        break;
    case HPE_CB_message_begin:
    case HPE_CB_url:
    case HPE_CB_header_field:
    case HPE_CB_header_value:
    case HPE_CB_headers_complete:
    case HPE_CB_body:
    case HPE_CB_message_complete:
        *err = STR_H1_ECB;
        break;
    case HPE_HEADER_OVERFLOW:
        *err = STR_H1_EOVERFLOW;
        break;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        *err = STR_H1_EFRAMING;
        break;
    default:
        *err = STR_H1_EMALFORMED;
        break;
    }
    return n;
}

void str_h1_pause(str_h1 *h, int paused)
{
    http_parser_pause(&h->hp, paused);
}

const char *str_h1_errtext(const str_h1 *h)
{
    return http_errno_description(HTTP_PARSER_ERRNO(&h->hp));
}

int str_h1_method(const str_h1 *h)
{
    switch (h->hp.method) {
    case HTTP_GET:
        return STR_H1_GET;
    case HTTP_HEAD:
        return STR_H1_HEAD;
    case HTTP_POST:
        return STR_H1_POST;
    case HTTP_DELETE:
        return STR_H1_DELETE;
    case HTTP_OPTIONS:
        return STR_H1_OPTIONS;
    case HTTP_CONNECT:
        return STR_H1_CONNECT;
    default:
        return STR_H1_OTHER;
    }
}

bool str_h1_keep_alive(const str_h1 *h)
{
    return http_should_keep_alive(&h->hp) != 0;
}

bool str_h1_chunked(const str_h1 *h)
{
    return (h->hp.flags & F_CHUNKED) != 0;
}

uint64_t str_h1_remaining(const str_h1 *h)
{
    return h->hp.content_length;
}

bool str_h1_upgrade(const str_h1 *h)
{
    return h->hp.upgrade != 0;
}

void str_h1_clear_upgrade(str_h1 *h)
{
    h->hp.upgrade = 0;
}
