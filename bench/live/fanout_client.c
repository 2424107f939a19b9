/* fanout_client.c - N websocket viewers of one /ws/live/ stream (with
 * clock=1) from one epoll thread, for bench/live/fanout.sh: what
 * fanout_client.mjs measures, at a fraction of its CPU (node's `ws` spends
 * about a core on 1,000 viewers of 360p, which on two cores starves the
 * server it measures).
 *
 *   yl_fanout_client ws://127.0.0.1:PORT/PATH N SECONDS
 *
 * Connects N viewers (at most 64 handshakes in flight), then counts binary
 * bytes for SECONDS; for each clock text frame after a warm-up of 3 s the
 * age of the picture on arrival (receipt - ingest_ms, this machine's one
 * clock). Prints one JSON object: viewers connected and still open at the
 * end, bytes, MB/s, Gbit/s, age p50/p99/max over every viewer's clock
 * frames, and this process's own CPU (cores) over the window.
 *
 * Binary payloads are counted, never copied; a text frame (up to 1 KB) is
 * gathered and read with jansson. A ping is answered; a close frame or
 * EOF ends the viewer. Loopback only; not a test. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HS_MAX    64 /* handshakes in flight */
#define HEAD_MAX  4096
#define TEXT_MAX  1024
#define RBUF      (256 * 1024)
#define WARMUP_MS 3000

enum phase { P_CONNECTING, P_HEAD, P_WS, P_DONE };

typedef struct viewer {
    int fd;
    enum phase phase;
    /* P_HEAD: the answer's head so far */
    char head[HEAD_MAX];
    size_t hlen;
    /* P_WS: the frame being read */
    unsigned char fh[14]; /* its header so far */
    size_t fhlen;
    uint64_t left; /* payload bytes still to come */
    int opcode;
    bool in_frame;
    char text[TEXT_MAX + 1]; /* a text or control payload */
    size_t tlen;
    bool text_over;
} viewer;

static int ep;
static long long t0_ms; /* start of the window; 0 before */
static uint64_t bytes;
static int open_now, connected, failed, closed;
static int64_t *ages;
static size_t nages, capages;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void finish(viewer *v, bool ok_close)
{
    if (v->phase == P_DONE)
        return;
    if (v->phase == P_WS)
        open_now--;
    if (v->phase == P_WS || ok_close)
        closed++;
    else
        failed++;
    epoll_ctl(ep, EPOLL_CTL_DEL, v->fd, NULL);
    close(v->fd);
    v->fd = -1;
    v->phase = P_DONE;
}

static int start(viewer *v, const struct sockaddr_in *sa)
{
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = v};

    v->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (v->fd < 0)
        return -errno;
    if (connect(v->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 &&
        errno != EINPROGRESS) {
        close(v->fd);
        return -errno;
    }
    v->phase = P_CONNECTING;
    return epoll_ctl(ep, EPOLL_CTL_ADD, v->fd, &ev) < 0 ? -errno : 0;
}

/* The upgrade request, once the connection is up (small: one send). */
static void send_upgrade(viewer *v, const char *host, const char *path)
{
    char req[1024];
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = v};
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Origin: http://%s\r\n\r\n",
                     path, host, host);

    if (n <= 0 || n >= (int)sizeof(req) ||
        send(v->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        finish(v, false);
        return;
    }
    v->phase = P_HEAD;
    epoll_ctl(ep, EPOLL_CTL_MOD, v->fd, &ev);
}

static void add_age(int64_t a)
{
    if (nages == capages) {
        size_t cap = capages ? capages * 2 : 4096;
        int64_t *n = realloc(ages, cap * sizeof(*n));

        if (n == NULL)
            return;
        ages = n;
        capages = cap;
    }
    ages[nages++] = a;
}

static void on_text(viewer *v)
{
    json_t *j, *type, *ing;
    long long t = now_ms();

    if (v->text_over || t0_ms == 0 || t - t0_ms <= WARMUP_MS)
        return;
    j = json_loadb(v->text, v->tlen, 0, NULL);
    type = json_object_get(j, "type");
    ing = json_object_get(j, "ingest_ms");
    if (json_is_string(type) && strcmp(json_string_value(type), "clock") == 0 &&
        json_is_integer(ing))
        add_age(t - (int64_t)json_integer_value(ing));
    json_decref(j);
}

/* A pong for a ping's payload (a client's frames are masked; the mask
 * is zero, which leaves the payload as it is). */
static void pong(viewer *v)
{
    unsigned char f[2 + 4 + 125];
    size_t n = v->tlen > 125 ? 125 : v->tlen;

    f[0] = 0x8a;
    f[1] = (unsigned char)(0x80 | n);
    memset(f + 2, 0, 4);
    memcpy(f + 6, v->text, n);
    if (send(v->fd, f, 6 + n, MSG_NOSIGNAL) < 0)
        finish(v, false);
}

/* A frame's payload is complete. */
static void frame_end(viewer *v)
{
    v->in_frame = false;
    if (v->opcode == 1)
        on_text(v);
    else if (v->opcode == 9)
        pong(v);
    else if (v->opcode == 8)
        finish(v, true);
}

/* The websocket bytes p[0..n) of v (server frames: unmasked). */
static void feed(viewer *v, const unsigned char *p, size_t n)
{
    while (n > 0 && v->phase == P_WS) {
        if (!v->in_frame) {
            size_t need = 2;

            v->fh[v->fhlen++] = *p++;
            n--;
            if (v->fhlen < 2)
                continue;
            if ((v->fh[1] & 0x7f) == 126)
                need = 4;
            else if ((v->fh[1] & 0x7f) == 127)
                need = 10;
            if (v->fh[1] & 0x80)
                need += 4; /* a masked server frame: not expected */
            if (v->fhlen < need)
                continue;
            v->opcode = v->fh[0] & 0x0f;
            v->left = v->fh[1] & 0x7f;
            if (v->left == 126)
                v->left = (uint64_t)v->fh[2] << 8 | v->fh[3];
            else if (v->left == 127) {
                v->left = 0;
                for (int i = 2; i < 10; i++)
                    v->left = v->left << 8 | v->fh[i];
            }
            v->fhlen = 0;
            v->in_frame = true;
            v->tlen = 0;
            v->text_over = false;
            if (v->left == 0)
                frame_end(v);
            continue;
        }
        size_t take = n < v->left ? n : (size_t)v->left;

        if (v->opcode == 2 || v->opcode == 0) {
            if (t0_ms != 0)
                bytes += take;
        } else if (v->tlen + take <= TEXT_MAX) {
            memcpy(v->text + v->tlen, p, take);
            v->tlen += take;
        } else {
            v->text_over = true;
        }
        p += take;
        n -= take;
        v->left -= take;
        if (v->left == 0)
            frame_end(v);
    }
}

static void on_readable(viewer *v, unsigned char *rb)
{
    ssize_t n = recv(v->fd, rb, RBUF, 0);
    char *end;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        finish(v, v->phase == P_WS);
        return;
    }
    if (n < 0)
        return;
    if (v->phase == P_WS) {
        feed(v, rb, (size_t)n);
        return;
    }
    /* P_HEAD: gather up to the blank line; what follows is websocket. */
    size_t take = (size_t)n;

    if (take > HEAD_MAX - 1 - v->hlen)
        take = HEAD_MAX - 1 - v->hlen;
    memcpy(v->head + v->hlen, rb, take);
    v->hlen += take;
    v->head[v->hlen] = '\0';
    end = strstr(v->head, "\r\n\r\n");
    if (end == NULL) {
        if (v->hlen == HEAD_MAX - 1)
            finish(v, false);
        return;
    }
    if (strncmp(v->head, "HTTP/1.1 101", 12) != 0) {
        finish(v, false);
        return;
    }
    v->phase = P_WS;
    connected++;
    open_now++;
    {
        size_t used = (size_t)(end + 4 - v->head); /* of head */
        size_t before = v->hlen - take;            /* head before this read */

        feed(v, rb + (used - before), (size_t)n - (used - before));
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static long long q(double p)
{
    size_t i;

    if (nages == 0)
        return -1;
    i = (size_t)(p * (double)nages);
    return ages[i < nages ? i : nages - 1];
}

int main(int argc, char **argv)
{
    char host[64], path[512];
    unsigned port;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct epoll_event evs[1024];
    unsigned char *rb = NULL;
    viewer *vs = NULL;
    int n, secs, next = 0, inflight = 0, ret = 1;
    double w0 = 0, c0 = 0, w1, c1;
    uint64_t b0 = 0;

    if (argc != 4 ||
        sscanf(argv[1], "ws://%63[^:]:%u%511s", host, &port, path) != 3 ||
        (n = atoi(argv[2])) <= 0 || (secs = atoi(argv[3])) <= 0) {
        fprintf(stderr, "usage: %s ws://HOST:PORT/PATH N SECONDS\n", argv[0]);
        return 2;
    }
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "%s: not an IPv4 address\n", host);
        return 2;
    }
    sa.sin_port = htons((uint16_t)port);
    snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", port);
    vs = calloc((size_t)n, sizeof(*vs));
    rb = malloc(RBUF);
    ep = epoll_create1(0);
    if (vs == NULL || rb == NULL || ep < 0)
        goto out;
    for (int i = 0; i < n; i++)
        vs[i].fd = -1; /* never started: nothing to close */

    /* Connect, HS_MAX handshakes at a time, until every viewer is up or
     * has failed (or 60 s). */
    double deadline = mono_s() + 60;

    while (connected + failed < n && mono_s() < deadline) {
        while (next < n && inflight < HS_MAX) {
            if (start(&vs[next], &sa) < 0) {
                vs[next].phase = P_DONE;
                failed++;
            } else {
                inflight++;
            }
            next++;
        }
        int k = epoll_wait(ep, evs, 1024, 100);

        for (int i = 0; i < k; i++) {
            viewer *v = evs[i].data.ptr;
            enum phase was = v->phase;

            if (v->phase == P_CONNECTING) {
                int err = 0;
                socklen_t l = sizeof(err);

                getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err != 0 || (evs[i].events & (EPOLLERR | EPOLLHUP)))
                    finish(v, false);
                else
                    send_upgrade(v, host, path);
            } else if (v->phase != P_DONE) {
                on_readable(v, rb);
            }
            if (was != P_WS && (v->phase == P_WS || v->phase == P_DONE))
                inflight--;
        }
    }

    /* The window. */
    t0_ms = now_ms();
    w0 = mono_s();
    c0 = cpu_s();
    b0 = bytes;
    while ((w1 = mono_s()) - w0 < secs) {
        int k = epoll_wait(ep, evs, 1024, 50);

        for (int i = 0; i < k; i++) {
            viewer *v = evs[i].data.ptr;

            if (v->phase != P_DONE)
                on_readable(v, rb);
        }
    }
    c1 = cpu_s();
    qsort(ages, nages, sizeof(*ages), cmp64);
    printf("{\"viewers\":%d,\"connected\":%d,\"open_at_end\":%d,"
           "\"failed\":%d,\"bytes\":%" PRIu64 ",\"mb_per_s\":%.2f,"
           "\"gbit_per_s\":%.3f,\"age_p50\":%lld,\"age_p99\":%lld,"
           "\"age_max\":%lld,\"clock_frames\":%zu,\"client_cpu\":%.3f}\n",
           n, connected, open_now, failed, bytes - b0,
           (double)(bytes - b0) / 1e6 / (w1 - w0),
           (double)(bytes - b0) * 8 / 1e9 / (w1 - w0), q(0.5), q(0.99),
           nages ? (long long)ages[nages - 1] : -1LL, nages,
           (c1 - c0) / (w1 - w0));
    ret = 0;
out:
    for (int i = 0; vs != NULL && i < n; i++)
        if (vs[i].phase != P_DONE && vs[i].fd >= 0)
            close(vs[i].fd);
    free(vs);
    free(rb);
    free(ages);
    if (ep >= 0)
        close(ep);
    return ret;
}
