/* fuzz_range.c - request headers of file delivery (streamer/str_httputil.c):
 * Range, If-None-Match and If-Modified-Since.
 *
 * Input: 8 bytes of file size, then the header text. Invariants: a range
 * said satisfiable lies inside the file (0 <= first <= last < size); an
 * empty file is never satisfiable; a date that parses prints back as one
 * that parses to the same time. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "streamer/str_httputil.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char hdr[4200], etag[STR_ETAG_MAX], date[STR_HTTP_DATE_MAX];
    int64_t fsize, first = -7, last = -7;
    uint64_t u = 0;
    struct stat st;
    time_t t, t2;
    int rc;

    if (size < 8 || size - 8 >= sizeof(hdr))
        return 0;
    memcpy(&u, data, 8);
    /* Mostly small files, sometimes huge ones. */
    fsize = (u >> 63) ? (int64_t)(u & INT64_MAX) : (int64_t)(u % 100000);
    memcpy(hdr, data + 8, size - 8);
    hdr[size - 8] = '\0';

    rc = str_range_parse(hdr, fsize, &first, &last);
    FZ_CHECK(rc == STR_RANGE_NONE || rc == STR_RANGE_OK ||
             rc == STR_RANGE_UNSAT);
    if (rc == STR_RANGE_OK) {
        FZ_CHECK(fsize > 0);
        FZ_CHECK(0 <= first && first <= last && last < fsize);
    } else {
        FZ_CHECK(first == -7 && last == -7); /* untouched */
    }

    memset(&st, 0, sizeof(st));
    st.st_size = fsize;
    st.st_ino = (ino_t)u;
    st.st_mtim.tv_sec = (time_t)(u % 4102444800u);
    st.st_mtim.tv_nsec = (long)(u % 1000000000u);
    str_etag_make(&st, etag, sizeof(etag));
    FZ_CHECK(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
    (void)str_etag_match_list(hdr, etag);
    if (strstr(hdr, etag) == hdr)
        FZ_CHECK(str_etag_match_list(hdr, etag) == 1);

    if (str_http_date_parse(hdr, &t) == 0 && t >= 0 && t < 253402300800) {
        str_http_date(t, date, sizeof(date));
        FZ_CHECK(str_http_date_parse(date, &t2) == 0 && t2 == t);
    }
    return 0;
}
