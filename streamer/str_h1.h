/* str_h1.h - HTTP/1.1 request framing: a thin wrapper over http-parser
 * (Debian's libhttp-parser), kept apart from libwebsockets.h, whose
 * enum http_status clashes with the parser's. Pure: no I/O, no lws; the
 * fuzz target drives it directly.
 *
 * Threads: one parser belongs to one connection's thread. */
#ifndef YL_STR_H1_H
#define YL_STR_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct str_h1 str_h1;

/* Callbacks: each returns 0 to go on, non-zero to stop with STR_H1_ECB.
 * field and value come only before headers: the trailer fields of a
 * chunked body are parsed and dropped. */
typedef struct str_h1_cb {
    int (*begin)(void *ud);
    int (*url)(void *ud, const char *at, size_t len);
    int (*field)(void *ud, const char *at, size_t len);
    int (*value)(void *ud, const char *at, size_t len);
    int (*headers)(void *ud); /* the head is complete */
    int (*body)(void *ud, const char *at, size_t len);
    int (*done)(void *ud); /* the message is complete */
} str_h1_cb;

enum str_h1_err {
    STR_H1_OK,
    STR_H1_PAUSED,     /* str_h1_pause() was called from a callback */
    STR_H1_ECB,        /* a callback stopped it */
    STR_H1_EOVERFLOW,  /* the head is over the parser's limit (80 KB) */
    STR_H1_EFRAMING,   /* two Content-Length values, or one with
                        * Transfer-Encoding (RFC 9112 §6.3) */
    STR_H1_EMALFORMED, /* anything else */
};

enum str_h1_method {
    STR_H1_GET,
    STR_H1_HEAD,
    STR_H1_POST,
    STR_H1_DELETE,
    STR_H1_OPTIONS,
    STR_H1_CONNECT,
    STR_H1_OTHER
};

/* Returns a parser for requests, or NULL (no memory). ud goes to every
 * callback; cb is borrowed and must outlive the parser. */
str_h1 *str_h1_new(const str_h1_cb *cb, void *ud);
void str_h1_free(str_h1 *h); /* NULL is a no-op */

/* Parses up to len bytes; returns how many were taken and sets *err.
 * len 0 tells the parser the stream ended. */
size_t str_h1_execute(str_h1 *h, const char *data, size_t len, int *err);
/* From a callback: stop after it (STR_H1_PAUSED); 0 resumes. */
void str_h1_pause(str_h1 *h, int paused);
/* Text of the parser's own error, for messages. */
const char *str_h1_errtext(const str_h1 *h);

/* About the current message (valid from the headers callback on). */
int str_h1_method(const str_h1 *h);
bool str_h1_keep_alive(const str_h1 *h);
bool str_h1_chunked(const str_h1 *h);
/* Body bytes still to come by Content-Length; UINT64_MAX when none was
 * given. */
uint64_t str_h1_remaining(const str_h1 *h);
/* Upgrade or CONNECT asked; clear it to go on parsing HTTP. */
bool str_h1_upgrade(const str_h1 *h);
void str_h1_clear_upgrade(str_h1 *h);

#endif
