/* bench/ws/wsclients.c - the websocket fan-out benchmark's clients in C:
 * one process, one epoll thread, raw websocket framing (RFC 6455: masked
 * frames out, unmasked in), so that the benchmark measures the server
 * rather than its clients (node's `ws` clients in clients.mjs cost about
 * as much as the fan-out they measure). Driven by clients.mjs --client c,
 * which keeps the notices, the HTTP probe and the figures.
 *
 * wsclients --port P --path /ws --tokens FILE --n N [--ref] [--noack]
 * Commands on stdin, one a line; answers on stdout, one JSON object a line:
 *   connect PAR  open every connection, at most PAR handshakes in flight,
 *                hello each: {"connected":MS,"welcomed":N,"failed":F}
 *   report       {"lat":[ms,...],"notices":K} (receipt time minus sent_ms)
 *   storm        close all at once, reconnect all at once:
 *                {"storm":MS,"welcomed":N,"failed":F}
 *   quit
 * A connection closed by the server outside a storm: {"lost":"CODE"}.
 * Clients take source addresses 127.0.0.2-9 (one address has 28k ports;
 * a storm after 16k closes needs more, TIME_WAIT). Not a test. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_HELLO, C_OPEN };

typedef struct conn {
    int fd;
    int state;
    char *code, *token;
    unsigned char *in; /* received, not yet parsed */
    size_t in_len, in_cap;
    unsigned char *out; /* to send, not yet taken by the kernel */
    size_t out_len, out_cap;
} conn;

static conn *cs;
static int n_conns, epfd, port;
static const char *path = "/ws";
static bool ref, noack;
static int64_t *lat;
static size_t n_lat, cap_lat;
static int64_t seen[4096]; /* notice ids seen */
static int n_seen;
/* the connect or storm in progress */
static int next_open, inflight, par, welcomed, failed;
static bool opening, storming;
static int64_t open_t0;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *grow(void *p, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 512;
    void *n;

    while (c < need)
        c *= 2;
    if (c == *cap)
        return p;
    n = realloc(p, c);
    if (n == NULL) {
        perror("realloc");
        exit(1);
    }
    *cap = c;
    return n;
}

static void flush_out(conn *c)
{
    while (c->out_len > 0) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
                                         .data.u32 = (uint32_t)(c - cs)};

                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
            }
            return; /* an error shows up as a close on read */
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
}

/* One masked frame of opcode op (RFC 6455 5.3: a client masks). */
static void send_frame(conn *c, int op, const char *p, size_t len)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    unsigned char *o;
    size_t h = len < 126 ? 6 : len < 65536 ? 8 : 14;

    c->out = grow(c->out, &c->out_cap, c->out_len + h + len);
    o = c->out + c->out_len;
    o[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        o[1] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        o[1] = 0x80 | 126;
        o[2] = (unsigned char)(len >> 8);
        o[3] = (unsigned char)len;
    } else {
        o[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            o[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(o + h - 4, key, 4);
    for (size_t i = 0; i < len; i++)
        o[h + i] = (unsigned char)p[i] ^ key[i & 3];
    c->out_len += h + len;
    flush_out(c);
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void open_more(void);

/* A handshake that ended, in a welcome or a failure. */
static void settled(bool ok)
{
    if (ok)
        welcomed++;
    else
        failed++;
    inflight--;
    if (opening) {
        open_more();
        if (welcomed + failed == n_conns) {
            opening = false;
            emit("{\"%s\":%" PRId64 ",\"welcomed\":%d,\"failed\":%d}",
                 storming ? "storm" : "connected", now_ms() - open_t0, welcomed,
                 failed);
            storming = false;
        }
    }
}

static void drop(conn *c)
{
    int was = c->state;

    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_IDLE;
    c->in_len = c->out_len = 0;
    if (was == C_OPEN)
        emit("{\"lost\":\"%s\"}", c->code);
    else if (was != C_IDLE)
        settled(false);
}

/* The value of "key": in a JSON text whose strings are escaped: ,"key": or
 * {"key": cannot occur inside a string (each quote there is \"). */
static const char *field(const char *s, size_t len, const char *key)
{
    char pat[32];
    int n = snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = s, *end = s + len;

    while ((p = memmem(p, (size_t)(end - p), pat, (size_t)n)) != NULL) {
        if (p > s && (p[-1] == ',' || p[-1] == '{'))
            return p + n;
        p++;
    }
    return NULL;
}

static void on_text(conn *c, const char *s, size_t len)
{
    int64_t t = now_ms();
    const char *ty = field(s, len, "type");

    if (ty == NULL)
        return;
    if (strncmp(ty, "\"welcome\"", 9) == 0 && c->state == C_HELLO) {
        c->state = C_OPEN;
        settled(true);
    } else if (strncmp(ty, "\"notice\"", 8) == 0) {
        const char *id = field(s, len, "id"), *sm = field(s, len, "sent_ms");
        int64_t nid = id ? strtoll(id, NULL, 10) : 0;
        char ack[96];
        int i;

        if (sm != NULL) {
            lat = grow(lat, &cap_lat, (n_lat + 1) * sizeof(*lat));
            lat[n_lat++] = t - strtoll(sm, NULL, 10);
        }
        for (i = 0; i < n_seen && seen[i] != nid; i++)
            ;
        if (i == n_seen && n_seen < 4096)
            seen[n_seen++] = nid;
        if (!ref && !noack && nid > 0) {
            int n = snprintf(ack, sizeof(ack),
                             "{\"type\":\"ack\",\"notice\":%" PRId64
                             ",\"state\":\"delivered\"}",
                             nid);
            send_frame(c, 1, ack, (size_t)n);
        }
    }
}

static void send_hello(conn *c, int i)
{
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "{\"type\":\"hello\",\"token\":\"%s\",\"since\":0,"
                     "\"client\":\"%s\",\"device\":\"d%d\"}",
                     c->token, i % 2 ? "tv" : "phone", i);

    c->state = C_HELLO;
    send_frame(c, 1, h, (size_t)n);
}

/* Frames in c->in; 0, or -1 when the connection went. */
static int parse(conn *c)
{
    size_t off = 0;

    if (c->state == C_HANDSHAKE) {
        unsigned char *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);

        if (e == NULL)
            return 0;
        if (c->in_len < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
            drop(c);
            return -1;
        }
        off = (size_t)(e + 4 - c->in);
        send_hello(c, (int)(c - cs));
    }
    for (;;) {
        unsigned char *f = c->in + off;
        size_t avail = c->in_len - off, h = 2, len;
        int op;

        if (avail < 2)
            break;
        op = f[0] & 0x0f;
        len = f[1] & 0x7f;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (size_t)f[2] << 8 | f[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            h = 10;
        }
        if (f[1] & 0x80)
            h += 4; /* a server does not mask; skipped if it does */
        if (avail < h + len)
            break;
        if (op == 1)
            on_text(c, (const char *)f + h, len);
        else if (op == 9)
            send_frame(c, 10, (const char *)f + h, len);
        else if (op == 8) {
            drop(c);
            return -1;
        }
        off += h + len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return 0;
}

static void on_readable(conn *c)
{
    for (;;) {
        ssize_t r;

        c->in = grow(c->in, &c->in_cap, c->in_len + 4096);
        r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            drop(c);
            return;
        }
        if (r < 0)
            return;
        c->in_len += (size_t)r;
        if (parse(c) < 0)
            return;
    }
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        char req[512];
        int n;

        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            drop(c);
            return;
        }
        n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: yunling.v1\r\n\r\n",
                     path, port);
        c->state = C_HANDSHAKE;
        c->out = grow(c->out, &c->out_cap, (size_t)n);
        memcpy(c->out, req, (size_t)n);
        c->out_len = (size_t)n;
        {
            struct epoll_event e = {.events = EPOLLIN,
                                    .data.u32 = (uint32_t)(c - cs)};

            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
        }
        flush_out(c);
        return;
    }
    if (ev & EPOLLOUT) {
        flush_out(c);
        if (c->out_len == 0) {
            struct epoll_event e = {.events = EPOLLIN,
                                    .data.u32 = (uint32_t)(c - cs)};

            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
        }
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
}

static void open_one(int i)
{
    conn *c = &cs[i];
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = src;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    int one = 1;

    inflight++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = C_CONNECTING;
        drop(c);
        return;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % 8));
    dst.sin_addr.s_addr = htonl(0x7f000001u);
    dst.sin_port = htons((uint16_t)port);
    c->state = C_CONNECTING;
    if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
         errno != EINPROGRESS) ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        drop(c);
        return;
    }
}

static void open_more(void)
{
    while (inflight < par && next_open < n_conns)
        open_one(next_open++);
}

static void start_open(int p, bool storm)
{
    welcomed = failed = 0;
    next_open = 0;
    par = p;
    opening = true;
    storming = storm;
    open_t0 = now_ms();
    open_more();
}

static void command(char *line)
{
    if (strncmp(line, "connect", 7) == 0) {
        start_open(atoi(line + 7) > 0 ? atoi(line + 7) : 512, false);
    } else if (strcmp(line, "report") == 0) {
        printf("{\"notices\":%d,\"lat\":[", n_seen);
        for (size_t i = 0; i < n_lat; i++)
            printf(i ? ",%" PRId64 : "%" PRId64, lat[i]);
        printf("]}\n");
        fflush(stdout);
    } else if (strcmp(line, "storm") == 0) {
        for (int i = 0; i < n_conns; i++) {
            cs[i].state = C_IDLE; /* not lost: closed on purpose */
            drop(&cs[i]);
        }
        inflight = 0;
        start_open(n_conns, true);
    } else if (strcmp(line, "quit") == 0) {
        exit(0);
    }
}

static void load_tokens(const char *file, int n)
{
    FILE *f = fopen(file, "r");
    char line[512];
    char **codes = NULL, **toks = NULL;
    int m = 0, cap = 0;

    if (f == NULL) {
        perror(file);
        exit(1);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tab = strchr(line, '\t');

        if (tab == NULL)
            continue;
        *tab = '\0';
        tab[1 + strcspn(tab + 1, "\t\r\n")] = '\0'; /* code, token[, url] */
        if (m == cap) {
            cap = cap ? cap * 2 : 1024;
            codes = realloc(codes, (size_t)cap * sizeof(*codes));
            toks = realloc(toks, (size_t)cap * sizeof(*toks));
            if (codes == NULL || toks == NULL)
                exit(1);
        }
        codes[m] = strdup(line);
        toks[m++] = strdup(tab + 1);
    }
    fclose(f);
    if (m == 0) {
        fprintf(stderr, "%s: no tokens\n", file);
        exit(1);
    }
    cs = calloc((size_t)n, sizeof(*cs));
    if (cs == NULL)
        exit(1);
    for (int i = 0; i < n; i++) { /* wraps: second devices */
        cs[i].fd = -1;
        cs[i].code = codes[i % m];
        cs[i].token = toks[i % m];
    }
    n_conns = n;
}

int main(int argc, char **argv)
{
    const char *tokens = NULL;
    struct epoll_event evs[512];
    char cmd[256];
    size_t cmd_len = 0;
    int n = 16147;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc)
            tokens = argv[++i];
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ref") == 0)
            ref = true;
        else if (strcmp(argv[i], "--noack") == 0)
            noack = true;
    }
    if (tokens == NULL || port <= 0) {
        fprintf(stderr, "usage: wsclients --port P [--path /ws] --tokens FILE "
                        "[--n N] [--ref] [--noack]\n");
        return 2;
    }
    load_tokens(tokens, n);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};

        epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
    }
    for (;;) {
        int k = epoll_wait(epfd, evs, 512, -1);

        for (int i = 0; i < k; i++) {
            if (evs[i].data.u32 == UINT32_MAX) {
                ssize_t r;

                while ((r = read(0, cmd + cmd_len, sizeof(cmd) - 1 - cmd_len)) >
                       0) {
                    char *nl;

                    cmd_len += (size_t)r;
                    cmd[cmd_len] = '\0';
                    while ((nl = strchr(cmd, '\n')) != NULL) {
                        *nl = '\0';
                        command(cmd);
                        cmd_len -= (size_t)(nl + 1 - cmd);
                        memmove(cmd, nl + 1, cmd_len + 1);
                    }
                    if (cmd_len == sizeof(cmd) - 1)
                        cmd_len = 0; /* a line too long: dropped */
                }
                if (r == 0)
                    return 0; /* the controller went */
                continue;
            }
            if (cs[evs[i].data.u32].fd >= 0)
                on_event(&cs[evs[i].data.u32], evs[i].events);
        }
    }
}
