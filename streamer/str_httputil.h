/* str_httputil.h - pure HTTP helpers: MIME types, byte ranges, entity
 * tags and HTTP dates for file delivery; %-decoding and query strings for
 * every request. No lws, no I/O: any thread (and the fuzz targets). */
#ifndef YL_STR_HTTPUTIL_H
#define YL_STR_HTTPUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* How long clients and caches may keep a file: chosen from its type. */
enum str_cache_class {
    STR_CACHE_IMMUTABLE,  /* media segments, init segments, WebVTT */
    STR_CACHE_PLAYLIST,   /* m3u8: re-read every few seconds */
    STR_CACHE_SHORT,      /* posters, metadata, static web assets */
    STR_CACHE_REVALIDATE, /* html: always revalidate (ETag) */
    STR_CACHE_LIVE        /* live playlists: change every second */
};

/* MIME type for a file name, from its extension (case-insensitive);
 * "application/octet-stream" when unknown. Never NULL. */
const char *str_mime_for(const char *name);
/* Cache class for a file name under /hls/ (segments immutable). */
int str_cache_class_hls(const char *name);
/* Cache class for a static web file (html revalidates, others short). */
int str_cache_class_web(const char *name);
/* Cache-Control header value for a class. */
const char *str_cache_control(int cls);

#define STR_RANGE_NONE  0 /* no usable Range header: send the whole file */
#define STR_RANGE_OK    1 /* one satisfiable range in *first..*last */
#define STR_RANGE_UNSAT 2 /* not satisfiable: 416 */

/* Parses a Range header value ("bytes=0-99", "bytes=100-", "bytes=-50")
 * for a file of `size` bytes. Several ranges, other units or bad syntax
 * are ignored (STR_RANGE_NONE; RFC 9110 lets a server ignore Range).
 * On STR_RANGE_OK, *first and *last are inclusive byte offsets. */
int str_range_parse(const char *hdr, int64_t size, int64_t *first,
                    int64_t *last);

#define STR_ETAG_MAX 64
/* Writes a strong entity tag built from size, mtime (ns) and inode,
 * quotes included: "\"2f3a-17f1c2d3e4f5a6b7-1a2b\"". */
void str_etag_make(const struct stat *st, char *out, size_t outlen);
/* If-None-Match: 1 when the header (a list, or "*") matches etag with
 * the weak comparison of RFC 9110 13.1.2, else 0. */
int str_etag_match_list(const char *hdr, const char *etag);

#define STR_HTTP_DATE_MAX 32
/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
void str_http_date(time_t t, char *out, size_t outlen);
/* Parses an IMF-fixdate; returns 0 and *t, or -1. */
int str_http_date_parse(const char *s, time_t *t);

/* %-decodes s[0..n) into out (NUL-terminated). Length, -ENAMETOOLONG, or
 * -EINVAL for %00. plus: '+' means a space (query strings). */
int str_url_decode(const char *s, size_t n, char *out, size_t outlen,
                   bool plus);
/* Copies argument name of a query string ("a=1&b=x%20y", no '?'),
 * %-decoded ('+' is a space), into buf. Returns its length, -1 when
 * absent, -2 when it does not fit, -3 when it holds %00. */
int str_query_get(const char *query, const char *name, char *buf, size_t len);

#endif
