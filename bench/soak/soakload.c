/* soakload.c - mixed load at province scale for the soak benchmark
 * (bench/soak/run.sh), from one epoll thread, and a sample of the server
 * every minute. Loopback only; stops by itself after --seconds.
 *
 *   soakload tokens OUT < "id code" lines
 *       makes one site token per line: prints SQL inserting the SHA-256 of
 *       each (as `yunling token create` stores it) and writes "code token"
 *       lines to OUT. 16,349 `token create` runs would take minutes.
 *
 *   soakload --port P --pid PID --stations FILE --lessons 1,2,3 --hls FILE
 *            --admin TOKEN --csv FILE [--data DIR] [--seconds 3600]
 *            [--interval 60] [--view-conns 128] [--beat 15]
 *            [--hls-rate 300] [--hls-conns 16] [--stats-every 3]
 *            [--junk-every 1] [--slow-every 60] [--recycle 1000]
 *
 * Classes of load:
 *  - views: every station of FILE ("code token" lines) posts one viewing
 *    event every --beat seconds (stations spread evenly over the period),
 *    over a pool of keep-alive connections, each reopened after --recycle
 *    requests. A station watches sessions of 5-60 minutes: start, beats,
 *    end, then the next session; ts is the real clock.
 *  - hls: --hls-rate requests/s over --hls-conns keep-alive connections,
 *    random paths of FILE (master and media playlists, init and media
 *    segments), one in ten segment requests with a Range.
 *  - stats: /stats/now and /stats/ranking of random prefectures with the
 *    admin token, one every --stats-every seconds.
 *  - junk: every --junk-every seconds a new connection with a malformed or
 *    refused request (bad request line, bad JSON, unknown paths, oversized
 *    headers, no Content-Length, huge Content-Length, bad token, future ts,
 *    binary garbage, a truncated body); any answer below 500, or a close
 *    without one, is the expected outcome.
 *  - slowloris: every --slow-every seconds a connection that sends one
 *    header line every 5 s and never finishes its request; the server must
 *    close it (held longer than 120 s counts as an error).
 *
 * Every --interval seconds one CSV row: the server's RSS, fds, threads and
 * CPU (from /proc/PID), the database and WAL sizes (--data), gauges from
 * /metrics, and per class the requests, errors, p50 and p99 (ms) of that
 * interval, measured from the request's first byte sent to the answer's
 * last byte received, the time the /metrics fetch took and the longest
 * pass of our own loop (a stall of the load generator, not the server).
 * A request without an answer within 10 s is an error (its connection is
 * closed). After --seconds no new request starts and the answers in
 * flight get up to 10 s, so every view the server stored was counted. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { C_VIEW, C_HLS, C_STATS, C_JUNK, C_SLOW, C_N };
static const char *cls_name[C_N] = {"view", "hls", "stats", "junk", "slow"};

enum { S_IDLE, S_SEND, S_READ };

typedef struct conn {
    int fd;
    int cls;
    int state;
    int nreq;     /* requests on this connection (views: --recycle) */
    int station;  /* views: whose event is in flight */
    int noanswer; /* junk: a close without an answer is expected */
    int retried;  /* sent again after the server closed an idle conn */
    char *req;
    size_t req_len, req_off;
    char hdr[16384];
    size_t hdr_len;
    int have_hdr, status, close_after;
    long body_left;
    double t0, deadline;
    double next_line; /* slowloris: when to send the next header line */
} conn;

typedef struct station {
    char code[16];
    char token[40];
    long session; /* 0: none yet */
    long seq;
    long beats_left;
    long position;
    long lesson;
    const char *rendition, *client, *lang;
} station;

typedef struct stat_acc {
    double *lat;
    size_t n, cap;
    long err;
} stat_acc;

static int port, srv_pid;
static const char *admin, *csv_path, *data_dir;
static double seconds = 3600, interval = 60, beat = 15, hls_rate = 300;
static double stats_every = 3, junk_every = 1, slow_every = 60;
static int view_conns = 128, hls_conns = 16, recycle = 1000;

static station *st;
static int nst;
static long *lessons;
static int nlessons;
static char **paths;
static int npaths;
static char prefs[64][8];
static int nprefs;
static char run_id[32];

static int ep;
static stat_acc acc[C_N];
static long tot_req[C_N], tot_err[C_N];
static int *fifo;
static int fifo_head, fifo_len;
static long fifo_dropped;
static double max_lag; /* views: worst due-to-send delay this interval */
static double slow_held_max;
static double loop_gap_max; /* the longest pass of our own loop: a stall
                             * of the load generator, not of the server */
static char scratch[1 << 18];

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void acc_add(int cls, double ms, int ok)
{
    stat_acc *a = &acc[cls];

    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4096;
        a->lat = realloc(a->lat, a->cap * sizeof(*a->lat));
        if (a->lat == NULL)
            exit(2);
    }
    a->lat[a->n++] = ms;
    tot_req[cls]++;
    if (!ok) {
        a->err++;
        tot_err[cls]++;
    }
}

static long nlogged;

/* A request of c is over: counts it, and logs the first 200 failures. */
static void conn_done(conn *c, double ms, int ok, const char *why)
{
    acc_add(c->cls, ms, ok);
    if (!ok && nlogged++ < 200) {
        const char *r = c->req ? c->req : "";
        int ln = (int)strcspn(r, "\r\n");

        fprintf(stderr,
                "soakload: %s error (%s) after %.0f ms, status %d: "
                "%.*s\n",
                cls_name[c->cls], why, ms, c->status, ln > 120 ? 120 : ln, r);
    }
}

/* ---- tokens mode ---- */

static int make_tokens(const char *out_path)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    FILE *out = fopen(out_path, "w");
    char line[256], code[32];
    long long id;
    long long now = wall_ms();

    if (out == NULL) {
        perror(out_path);
        return 2;
    }
    printf("BEGIN;\n");
    while (fgets(line, sizeof(line), stdin)) {
        unsigned char raw[24], hash[32];
        unsigned int hn = 0;
        char text[33];
        int i;

        if (sscanf(line, "%lld %31s", &id, code) != 2)
            continue;
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return 2;
        /* base64url of 24 bytes: 32 characters, no padding */
        for (i = 0; i < 8; i++) {
            unsigned v = (unsigned)raw[3 * i] << 16 |
                         (unsigned)raw[3 * i + 1] << 8 | raw[3 * i + 2];
            text[4 * i] = b64[(v >> 18) & 63];
            text[4 * i + 1] = b64[(v >> 12) & 63];
            text[4 * i + 2] = b64[(v >> 6) & 63];
            text[4 * i + 3] = b64[v & 63];
        }
        text[32] = '\0';
        if (EVP_Digest(text, 32, hash, &hn, EVP_sha256(), NULL) != 1)
            return 2;
        printf("INSERT INTO tokens(hash, role, scope_id, name, created_ms) "
               "VALUES (X'");
        for (i = 0; i < 32; i++)
            printf("%02X", hash[i]);
        printf("', 'site', %lld, 'soak', %lld);\n", id, now);
        fprintf(out, "%s %s\n", code, text);
    }
    printf("COMMIT;\n");
    fclose(out);
    return 0;
}

/* ---- connections ---- */

static int open_fd(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = S_IDLE;
    c->nreq = 0;
}

/* Takes ownership of req (malloc'd). Opens the connection when needed. */
static int conn_send(conn *c, char *req, size_t len)
{
    struct epoll_event ev;

    if (c->fd < 0) {
        c->fd = open_fd();
        if (c->fd < 0) {
            free(req);
            return -1;
        }
        ev.events = EPOLLOUT;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    } else {
        ev.events = EPOLLOUT;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    free(c->req);
    c->req = req;
    c->req_len = len;
    c->req_off = 0;
    c->hdr_len = 0;
    c->have_hdr = 0;
    c->status = 0;
    c->close_after = 0;
    c->body_left = 0;
    c->state = S_SEND;
    c->retried = 0;
    c->t0 = now_s();
    c->deadline = c->t0 + 10;
    c->nreq++;
    return 0;
}

static char *fmt(size_t *len, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
static char *fmt(size_t *len, const char *f, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, f);
    n = vasprintf(&s, f, ap);
    va_end(ap);
    if (n < 0)
        exit(2);
    *len = (size_t)n;
    return s;
}

/* ---- views ---- */

static const char *pick(const char *const *v, const int *w, int n)
{
    int r = rand() % 100, i;

    for (i = 0; i < n - 1; i++) {
        if (r < w[i])
            return v[i];
        r -= w[i];
    }
    return v[n - 1];
}

static char *view_request(station *s, size_t *len)
{
    static const char *const rend[] = {"720p", "480p", "360p", "240p", "audio"};
    static const int rend_w[] = {20, 35, 25, 15, 5};
    static const char *const cli[] = {"tv", "pc", "phone"};
    static const int cli_w[] = {60, 15, 25};
    static const char *const lang[] = {"zh", "bo", "lis", "ii", "wbm"};
    static const int lang_w[] = {60, 10, 10, 10, 10};
    const char *kind;
    char body[512];
    int n;

    if (s->session == 0 || s->beats_left < 0) {
        s->session++;
        s->seq = 1;
        s->beats_left = 20 + rand() % 221; /* 5..60 minutes */
        s->position = 0;
        s->lesson = lessons[rand() % nlessons];
        s->rendition = pick(rend, rend_w, 5);
        s->client = pick(cli, cli_w, 3);
        s->lang = pick(lang, lang_w, 5);
        kind = "start";
    } else if (s->beats_left == 0) {
        kind = "end";
        s->beats_left = -1; /* the next due time starts a new session */
        s->seq++;
        s->position += 15;
    } else {
        kind = "beat";
        s->beats_left--;
        s->seq++;
        s->position += 15;
    }
    n = snprintf(body, sizeof(body),
                 "{\"events\":[{\"session\":\"%s-%s-%ld\",\"seq\":%ld,"
                 "\"site\":\"%s\",\"lesson\":%ld,\"kind\":\"%s\","
                 "\"position_s\":%ld,\"audio_lang\":\"%s\","
                 "\"rendition\":\"%s\",\"client\":\"%s\",\"ts\":%lld}]}",
                 run_id, s->code, s->session, s->seq, s->code, s->lesson, kind,
                 s->position, s->lang, s->rendition, s->client, wall_ms());
    return fmt(len,
               "POST /api/v1/views HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Authorization: Bearer %s\r\n"
               "Content-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s",
               s->token, n, body);
}

/* ---- junk ---- */

#define JUNK_KINDS 15

static char *junk_request(int kind, size_t *len, int *noanswer)
{
    station *s = &st[rand() % nst];
    char *big, *r;
    size_t i;

    *noanswer = 0;
    switch (kind) {
    case 0:
        return fmt(len, "GARBAGE / NONSENSE\r\n\r\n");
    case 1:
        return fmt(len,
                   "POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: 13\r\n\r\n{\"events\":[{,",
                   s->token);
    case 2:
        return fmt(len, "GET /api/v1/no/such/thing HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n");
    case 3:
        return fmt(len, "GET /hls/99999/master.m3u8 HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n");
    case 4: /* an unknown header bigger than lws's whole header table */
        big = malloc(40001);
        memset(big, 'a', 40000);
        big[40000] = '\0';
        r = fmt(len, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: %s\r\n\r\n",
                big);
        free(big);
        return r;
    case 5: /* a known header over max_header */
        big = malloc(10001);
        memset(big, 'b', 10000);
        big[10000] = '\0';
        r = fmt(len, "GET /healthz HTTP/1.1\r\nHost: x\r\nReferer: %s\r\n\r\n",
                big);
        free(big);
        return r;
    case 6:
        return fmt(len,
                   "POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\n\r\n",
                   s->token);
    case 7: /* a truncated body, then the client goes away */
        *noanswer = 1;
        return fmt(len,
                   "POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: 400\r\n\r\n{\"events\":[",
                   s->token);
    case 8:
        return fmt(len, "GET /hls/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n");
    case 9:
        return fmt(len,
                   "GET /api/v1/stats/now?region=53 HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                   "\r\nConnection: close\r\n\r\n");
    case 10: {
        char body[400];
        int n = snprintf(
            body, sizeof(body),
            "{\"events\":[{\"session\":\"%s-junk\",\"seq\":1,\"site\":\"%s\","
            "\"lesson\":%ld,\"kind\":\"start\",\"position_s\":0,"
            "\"audio_lang\":\"zh\",\"rendition\":\"480p\",\"client\":\"tv\","
            "\"ts\":%lld}]}",
            run_id, s->code, lessons[0], wall_ms() + 3600 * 1000);
        return fmt(len,
                   "POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                   s->token, n, body);
    }
    case 11:
        return fmt(len,
                   "DELETE /api/v1/lessons/%ld HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nConnection: close\r\n\r\n",
                   lessons[0], s->token);
    case 12:
        return fmt(len,
                   "POST /api/v1/views HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: 100000000\r\n\r\n",
                   s->token);
    case 13:
        big = malloc(513);
        for (i = 0; i < 512; i++)
            big[i] = (char)(1 + rand() % 255);
        big[512] = '\0';
        r = fmt(len, "%s\r\n\r\n", big);
        free(big);
        return r;
    default:
        return fmt(len, "PUT /api/v1/stats/now HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\nConnection: close\r\n\r\n");
    }
}

/* ---- responses ---- */

/* Feeds received bytes. Returns 1 when the response is complete. */
static int feed(conn *c, const char *p, size_t n)
{
    if (!c->have_hdr) {
        char *end, *v;
        size_t take = sizeof(c->hdr) - 1 - c->hdr_len, hl;

        if (take > n)
            take = n;
        memcpy(c->hdr + c->hdr_len, p, take);
        c->hdr_len += take;
        c->hdr[c->hdr_len] = '\0';
        end = strstr(c->hdr, "\r\n\r\n");
        if (end == NULL) {
            if (c->hdr_len >= sizeof(c->hdr) - 1)
                return -1;
            return 0;
        }
        hl = (size_t)(end - c->hdr) + 4;
        c->have_hdr = 1;
        c->status = strncmp(c->hdr, "HTTP/1.1 ", 9) ? 0 : atoi(c->hdr + 9);
        *end = '\0';
        v = strcasestr(c->hdr, "\ncontent-length:");
        c->body_left = v ? atol(v + 16) : 0;
        v = strcasestr(c->hdr, "\nconnection:");
        c->close_after =
            v && !strncasecmp(v + 12 + strspn(v + 12, " "), "close", 5);
        /* bytes past the header already belong to the body */
        c->body_left -= (long)(c->hdr_len - hl);
        if (take < n)
            c->body_left -= (long)(n - take);
    } else {
        c->body_left -= (long)n;
    }
    return c->body_left <= 0;
}

static int status_ok(conn *c)
{
    switch (c->cls) {
    case C_VIEW:
    case C_STATS:
        return c->status == 200;
    case C_HLS:
        return c->status == 200 || c->status == 206;
    default:
        return c->status > 0 && c->status < 500;
    }
}

/* ---- sampling ---- */

static long proc_status(const char *key)
{
    char path[64], line[256];
    FILE *f;
    long v = -1;
    size_t kl = strlen(key);

    snprintf(path, sizeof(path), "/proc/%d/status", srv_pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

static long count_fds(void)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    long n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", srv_pid);
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static double cpu_ticks(void)
{
    char path[64], buf[1024], *p;
    FILE *f;
    unsigned long ut = 0, stt = 0;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", srv_pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    /* fields after the name: state is 3; utime 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &stt) != 2)
        return 0;
    return (double)(ut + stt);
}

static long file_kb(const char *name)
{
    char path[4096];
    struct stat sb;

    if (data_dir == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", data_dir, name);
    return stat(path, &sb) == 0 ? (long)(sb.st_size / 1024) : 0;
}

/* Blocking GET /metrics (loopback, a few ms). Fills buf. */
static int get_metrics(char *buf, size_t cap)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n";
    struct sockaddr_in a;
    struct timeval tv = {2, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t n = 0;
    ssize_t k;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
        close(fd);
        return -1;
    }
    /* Read up to the end of the body: the server keeps a connection
     * open after answering "connection: close" (see docs/performance.md,
     * Soak), so EOF cannot mark the end. */
    while (n < cap - 1 && (k = read(fd, buf + n, cap - 1 - n)) > 0) {
        char *e, *cl;

        n += (size_t)k;
        buf[n] = '\0';
        e = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "\ncontent-length:");
        if (e != NULL && cl != NULL && cl < e &&
            n >= (size_t)(e + 4 - buf) + (size_t)atol(cl + 16))
            break;
    }
    buf[n] = '\0';
    close(fd);
    return 0;
}

static double metric(const char *buf, const char *name)
{
    size_t nl = strlen(name);
    const char *p = buf;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == buf || p[-1] == '\n') && p[nl] == ' ')
            return atof(p + nl + 1);
        p += nl;
    }
    return -1;
}

static const char *const gauges[] = {
    "yunling_http_connections",
    "yunling_http_inflight",
    "yunling_active_sessions",
    "yunling_active_sites",
    "yunling_writer_queue",
    "yunling_file_cache_bytes",
    "yunling_lessons_ready",
    "yunling_http_timeouts_total",
    "yunling_http_bad_requests_total",
    "yunling_events_ingested_total",
    "yunling_view_events_total{result=\"rejected\"}",
};
#define NGAUGES (sizeof(gauges) / sizeof(gauges[0]))

static void csv_header(FILE *f)
{
    size_t i;
    int c;

    fprintf(f, "minute,t_s,rss_kb,fds,threads,cpu_pct,db_kb,wal_kb");
    for (i = 0; i < NGAUGES; i++) {
        char name[64];
        const char *g = gauges[i] + 8; /* past "yunling_" */
        size_t j, k = 0;

        for (j = 0; g[j] && k < sizeof(name) - 1; j++)
            if (g[j] != '{' && g[j] != '}' && g[j] != '"' && g[j] != '=')
                name[k++] = g[j] == '-' ? '_' : g[j];
        name[k] = '\0';
        fprintf(f, ",%s", name);
    }
    for (c = 0; c < C_N; c++)
        fprintf(f, ",%s_n,%s_err,%s_p50_ms,%s_p99_ms", cls_name[c], cls_name[c],
                cls_name[c], cls_name[c]);
    fprintf(f, ",view_backlog,view_max_lag_s,view_dropped,slow_held_max_s,"
               "metrics_ms,loop_gap_max_s\n");
    fflush(f);
}

static void sample(FILE *f, int minute, double t, double dt, double *cpu_prev)
{
    static char mbuf[1 << 16];
    double cpu = cpu_ticks();
    size_t i;
    int c;

    double m0 = now_s(), metrics_ms;

    if (get_metrics(mbuf, sizeof(mbuf)) < 0)
        mbuf[0] = '\0';
    metrics_ms = (now_s() - m0) * 1000;
    fprintf(f, "%d,%.0f,%ld,%ld,%ld,%.1f,%ld,%ld", minute, t,
            proc_status("VmRSS"), count_fds(), proc_status("Threads"),
            dt > 0 ? (cpu - *cpu_prev) / dt : 0, file_kb("yunling.db"),
            file_kb("yunling.db-wal"));
    *cpu_prev = cpu;
    for (i = 0; i < NGAUGES; i++)
        fprintf(f, ",%.0f", metric(mbuf, gauges[i]));
    for (c = 0; c < C_N; c++) {
        stat_acc *a = &acc[c];

        qsort(a->lat, a->n, sizeof(double), cmp_d);
        fprintf(f, ",%zu,%ld,%.2f,%.2f", a->n, a->err,
                a->n ? a->lat[a->n / 2] : 0,
                a->n ? a->lat[(size_t)((double)a->n * 0.99)] : 0);
        a->n = 0;
        a->err = 0;
    }
    fprintf(f, ",%d,%.2f,%ld,%.0f,%.1f,%.2f\n", fifo_len, max_lag, fifo_dropped,
            slow_held_max, metrics_ms, loop_gap_max);
    fflush(f);
    max_lag = 0;
    slow_held_max = 0;
    loop_gap_max = 0;
}

/* ---- main loop ---- */

static int load_lines(const char *path, char ***out)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0, cap = 0;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            *out = realloc(*out, (size_t)cap * sizeof(char *));
        }
        (*out)[n++] = strdup(line);
    }
    fclose(f);
    return n;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: soakload --port P --pid PID --stations FILE --lessons "
            "1,2 --hls FILE --admin TOKEN --csv FILE [--data DIR] "
            "[--seconds S] [--interval S] [--view-conns N] [--beat S] "
            "[--hls-rate R] [--hls-conns N] [--stats-every S] "
            "[--junk-every S] [--slow-every S] [--recycle N]\n"
            "       soakload tokens OUT < \"id code\" lines\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct epoll_event evs[256];
    const char *stations_path = NULL, *hls_path = NULL, *lesson_list = NULL;
    char **lines = NULL;
    conn *cs;
    int ncs, i, k, minute = 0, nslow = 0, stopping = 0;
    double t_start, t_end, t_next_sample, t_hls, t_stats, t_junk, t_slow;
    double t_last_sample, cpu_prev, t_loop;
    long vround = 0;
    int vnext = 0;
    FILE *csv;

    if (argc == 3 && !strcmp(argv[1], "tokens"))
        return make_tokens(argv[2]);
    for (i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];

        if (!strcmp(o, "--port"))
            port = atoi(v);
        else if (!strcmp(o, "--pid"))
            srv_pid = atoi(v);
        else if (!strcmp(o, "--stations"))
            stations_path = v;
        else if (!strcmp(o, "--lessons"))
            lesson_list = v;
        else if (!strcmp(o, "--hls"))
            hls_path = v;
        else if (!strcmp(o, "--admin"))
            admin = v;
        else if (!strcmp(o, "--csv"))
            csv_path = v;
        else if (!strcmp(o, "--data"))
            data_dir = v;
        else if (!strcmp(o, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(o, "--interval"))
            interval = atof(v);
        else if (!strcmp(o, "--view-conns"))
            view_conns = atoi(v);
        else if (!strcmp(o, "--beat"))
            beat = atof(v);
        else if (!strcmp(o, "--hls-rate"))
            hls_rate = atof(v);
        else if (!strcmp(o, "--hls-conns"))
            hls_conns = atoi(v);
        else if (!strcmp(o, "--stats-every"))
            stats_every = atof(v);
        else if (!strcmp(o, "--junk-every"))
            junk_every = atof(v);
        else if (!strcmp(o, "--slow-every"))
            slow_every = atof(v);
        else if (!strcmp(o, "--recycle"))
            recycle = atoi(v);
        else
            usage();
    }
    if (!port || !srv_pid || !stations_path || !lesson_list || !hls_path ||
        !admin || !csv_path || view_conns < 1 || hls_conns < 1 || beat <= 0)
        usage();
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid());
    snprintf(run_id, sizeof(run_id), "soak%lld", wall_ms() / 1000);

    nst = load_lines(stations_path, &lines);
    st = calloc((size_t)nst, sizeof(*st));
    for (i = 0; i < nst; i++) {
        if (sscanf(lines[i], "%15s %39s", st[i].code, st[i].token) != 2)
            usage();
        free(lines[i]);
        if (nprefs < 64 &&
            (nprefs == 0 || strncmp(prefs[nprefs - 1], st[i].code, 4))) {
            int dup = 0;

            for (k = 0; k < nprefs; k++)
                dup |= !strncmp(prefs[k], st[i].code, 4);
            if (!dup)
                snprintf(prefs[nprefs++], sizeof(prefs[0]), "%.4s", st[i].code);
        }
    }
    free(lines);
    /* a random order, so neighbours in the ring are not one county */
    for (i = nst - 1; i > 0; i--) {
        int j = rand() % (i + 1);
        station t = st[i];

        st[i] = st[j];
        st[j] = t;
    }
    npaths = load_lines(hls_path, &paths);
    {
        char *l = strdup(lesson_list), *tok, *save = NULL;

        lessons = calloc(64, sizeof(long));
        for (tok = strtok_r(l, ",", &save); tok && nlessons < 64;
             tok = strtok_r(NULL, ",", &save))
            lessons[nlessons++] = atol(tok);
        free(l);
    }
    if (nst == 0 || npaths == 0 || nlessons == 0)
        usage();
    fifo = calloc((size_t)nst, sizeof(int));

    csv = fopen(csv_path, "w");
    if (csv == NULL) {
        perror(csv_path);
        return 2;
    }
    csv_header(csv);

    ep = epoll_create1(0);
    ncs = view_conns + hls_conns + 1 + 64;
    cs = calloc((size_t)ncs, sizeof(*cs));
    for (i = 0; i < ncs; i++) {
        cs[i].fd = -1;
        cs[i].cls = i < view_conns                ? C_VIEW
                    : i < view_conns + hls_conns  ? C_HLS
                    : i == view_conns + hls_conns ? C_STATS
                                                  : C_JUNK;
    }
    fprintf(stderr,
            "soakload: %d stations (one event each %.0f s: %.0f/s), %d "
            "lessons, %d HLS paths at %.0f/s, %.0f s\n",
            nst, beat, nst / beat, nlessons, npaths, hls_rate, seconds);

    t_start = now_s();
    t_end = t_start + seconds;
    t_next_sample = t_start + interval;
    t_last_sample = t_start;
    t_hls = t_stats = t_junk = t_start;
    t_slow = t_start + 5;
    cpu_prev = cpu_ticks();
    t_loop = t_start;
    for (;;) {
        double t = now_s();

        if (t - t_loop > loop_gap_max)
            loop_gap_max = t - t_loop;
        t_loop = t;
        int n;

        if (t >= t_next_sample && !stopping) {
            sample(csv, ++minute, t - t_start, t - t_last_sample, &cpu_prev);
            t_last_sample = t;
            t_next_sample += interval;
            if (kill(srv_pid, 0) < 0) {
                fprintf(stderr, "soakload: the server is gone\n");
                break;
            }
        }
        if (t >= t_end && !stopping) {
            /* No new request from now on; the ones in flight get up to
             * 10 s for their answers, so every view the server stored
             * was counted (the database check in run.sh). */
            stopping = 1;
            for (k = 0; k < ncs; k++)
                if (cs[k].cls == C_SLOW && cs[k].state != S_IDLE) {
                    conn_close(&cs[k]);
                    cs[k].cls = C_JUNK;
                }
        }
        if (stopping) {
            int busy = 0;

            for (k = 0; k < ncs; k++)
                busy += cs[k].state != S_IDLE;
            if (busy == 0 || t >= t_end + 10)
                break;
        }

        /* stations whose beat is due join the queue */
        for (; !stopping;) {
            double due = t_start + vround * beat + vnext * beat / nst;

            if (due > t)
                break;
            if (fifo_len < nst) {
                fifo[(fifo_head + fifo_len) % nst] = vnext;
                fifo_len++;
            } else {
                fifo_dropped++;
            }
            if (++vnext == nst) {
                vnext = 0;
                vround++;
            }
        }

        for (k = 0; k < ncs; k++) {
            conn *c = &cs[k];
            size_t len;
            char *r;

            if (c->state != S_IDLE) {
                if (c->cls == C_SLOW) {
                    if (t - c->t0 > 120) {
                        conn_done(c, (t - c->t0) * 1000, 0, "held 120 s");
                        slow_held_max = t - c->t0;
                        conn_close(c);
                        c->cls = C_JUNK;
                        nslow--;
                    } else if (t >= c->next_line) {
                        static const char line[] = "X-Slow: a\r\n";

                        if (write(c->fd, line, sizeof(line) - 1) < 0 &&
                            errno != EAGAIN) {
                            /* closed by the server: what we want */
                            double held = t - c->t0;

                            acc_add(C_SLOW, held * 1000, 1);
                            if (held > slow_held_max)
                                slow_held_max = held;
                            conn_close(c);
                            c->cls = C_JUNK;
                            nslow--;
                        } else {
                            c->next_line = t + 5;
                        }
                    }
                } else if (t > c->deadline) {
                    conn_done(c, (t - c->t0) * 1000, c->noanswer,
                              "no answer in 10 s");
                    conn_close(c);
                    if (c->cls == C_VIEW && c->station >= 0)
                        c->station = -1;
                }
                continue;
            }
            if (stopping)
                continue;
            switch (c->cls) {
            case C_VIEW:
                if (fifo_len == 0)
                    break;
                {
                    int sidx = fifo[fifo_head];
                    double due;

                    fifo_head = (fifo_head + 1) % nst;
                    fifo_len--;
                    due = t_start + (vround - (sidx >= vnext ? 1 : 0)) * beat +
                          sidx * beat / nst;
                    if (t - due > max_lag)
                        max_lag = t - due;
                    if (c->nreq >= recycle)
                        conn_close(c);
                    c->station = sidx;
                    r = view_request(&st[sidx], &len);
                    if (conn_send(c, r, len) < 0)
                        acc_add(C_VIEW, 0, 0);
                }
                break;
            case C_HLS:
                if (t < t_hls)
                    break;
                t_hls += 1 / hls_rate;
                if (t_hls < t - 1)
                    t_hls = t;
                {
                    const char *p = paths[rand() % npaths];
                    int seg = strstr(p, ".m4s") || strstr(p, ".ts");

                    if (seg && rand() % 10 == 0)
                        r = fmt(&len,
                                "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Range: bytes=100-4195\r\n\r\n",
                                p);
                    else
                        r = fmt(&len,
                                "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Accept-Encoding: gzip\r\n\r\n",
                                p);
                    if (conn_send(c, r, len) < 0)
                        acc_add(C_HLS, 0, 0);
                }
                break;
            case C_STATS:
                if (t < t_stats)
                    break;
                t_stats += stats_every;
                if (rand() % 2)
                    r = fmt(&len,
                            "GET /api/v1/stats/now?region=%s HTTP/1.1\r\n"
                            "Host: 127.0.0.1\r\n"
                            "Authorization: Bearer %s\r\n\r\n",
                            rand() % 2 ? "53" : prefs[rand() % nprefs], admin);
                else
                    r = fmt(&len,
                            "GET /api/v1/stats/ranking?region=%s HTTP/1.1\r\n"
                            "Host: 127.0.0.1\r\n"
                            "Authorization: Bearer %s\r\n\r\n",
                            rand() % 4 ? prefs[rand() % nprefs] : "53", admin);
                if (conn_send(c, r, len) < 0)
                    acc_add(C_STATS, 0, 0);
                break;
            case C_JUNK:
                if (t >= t_slow && nslow < 4) {
                    t_slow += slow_every;
                    c->cls = C_SLOW;
                    r = fmt(&len, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
                    if (conn_send(c, r, len) < 0) {
                        acc_add(C_SLOW, 0, 0);
                        c->cls = C_JUNK;
                        break;
                    }
                    c->next_line = t + 5;
                    c->deadline = t + 1e9;
                    nslow++;
                    break;
                }
                if (t < t_junk)
                    break;
                t_junk += junk_every;
                r = junk_request(rand() % JUNK_KINDS, &len, &c->noanswer);
                if (conn_send(c, r, len) < 0)
                    acc_add(C_JUNK, 0, 0);
                break;
            }
        }

        n = epoll_wait(ep, evs, 256, 5);
        for (i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            struct epoll_event ev;
            ssize_t got;
            int done;

            if (c->fd < 0)
                continue;
            if (c->state == S_IDLE) {
                /* an idle keep-alive connection the server closed */
                conn_close(c);
                continue;
            }
            if (c->state == S_SEND) {
                got =
                    write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
                if (got < 0 && errno == EAGAIN)
                    continue;
                if (got <= 0) {
                    /* the server closed first: fine for junk only */
                    conn_done(c, (now_s() - c->t0) * 1000, c->cls == C_JUNK,
                              "write failed");
                    conn_close(c);
                    continue;
                }
                c->req_off += (size_t)got;
                if (c->req_off < c->req_len)
                    continue;
                if (c->cls == C_JUNK && c->noanswer) {
                    acc_add(C_JUNK, (now_s() - c->t0) * 1000, 1);
                    conn_close(c);
                    continue;
                }
                c->state = S_READ; /* slowloris: and trickles lines */
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            got = read(c->fd, scratch, sizeof(scratch));
            if (got < 0 && errno == EAGAIN)
                continue;
            if (got <= 0) {
                double held = now_s() - c->t0;

                if (c->cls == C_SLOW) {
                    acc_add(C_SLOW, held * 1000, 1);
                    if (held > slow_held_max)
                        slow_held_max = held;
                    nslow--;
                    conn_close(c);
                    c->cls = C_JUNK;
                    continue;
                }
                if (c->cls != C_JUNK && c->hdr_len == 0 && c->nreq > 1 &&
                    !c->retried) {
                    /* a reused connection the server had just closed as
                     * idle: send again on a new one, as browsers do */
                    char *again = c->req;

                    c->req = NULL;
                    conn_close(c);
                    if (conn_send(c, again, c->req_len) == 0) {
                        c->retried = 1;
                        continue;
                    }
                }
                /* closed without a (whole) answer */
                conn_done(c, held * 1000,
                          c->cls == C_JUNK && (!c->have_hdr || status_ok(c)),
                          "closed before the answer");
                conn_close(c);
                continue;
            }
            done = feed(c, scratch, (size_t)got);
            if (done == 0)
                continue;
            if (c->cls == C_SLOW) {
                /* an answer (408/400) before the request was complete */
                double held = now_s() - c->t0;

                conn_done(c, held * 1000, done > 0 && c->status >= 400,
                          "answered");
                if (held > slow_held_max)
                    slow_held_max = held;
                nslow--;
                conn_close(c);
                c->cls = C_JUNK;
                continue;
            }
            conn_done(c, (now_s() - c->t0) * 1000, done > 0 && status_ok(c),
                      done < 0 ? "header too long" : "status");
            if (done < 0 || c->close_after || c->cls == C_JUNK)
                conn_close(c);
            else
                c->state = S_IDLE;
        }
    }
    fprintf(stderr, "soakload: done after %.0f s:", now_s() - t_start);
    for (i = 0; i < C_N; i++)
        fprintf(stderr, " %s %ld (%ld errors)", cls_name[i], tot_req[i],
                tot_err[i]);
    fprintf(stderr, "; view queue dropped %ld\n", fifo_dropped);
    for (i = 0; i < ncs; i++) {
        if (cs[i].fd >= 0)
            close(cs[i].fd);
        free(cs[i].req);
    }
    fclose(csv);
    return 0;
}
