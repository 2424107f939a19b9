/* viewload.c - load generator for POST /api/v1/views: N keep-alive
 * connections on one epoll thread, each posting batches of viewing events
 * of its own sessions and waiting for the answer before the next.
 *
 *   viewload --port P --token T --site CODE --lesson ID [--host 127.0.0.1]
 *            [--conns 32] [--batch 1] [--seconds 5] [--prefix s]
 *            [--acked FILE]
 *
 * Prints one JSON line: requests, ok, events acknowledged, req/s,
 * events/s, latency p50/p99/max (ms), errors. With --acked every
 * acknowledged batch is appended to FILE as "session first-seq count
 * accepted" so a test can check the database holds them. Stops after
 * --seconds, or when the server goes away (every connection failed). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
    int fd;
    int id;
    int dead;
    long session;   /* current session number of this connection */
    long seq;       /* next seq in it */
    long first_seq; /* of the batch in flight */
    char *req;
    size_t req_len, req_off;
    char resp[8192];
    size_t resp_len;
    double t0;
} conn;

static const char *host = "127.0.0.1", *token, *site, *prefix = "s";
static int port, nconns = 32, batch = 1;
static long lesson;
static double seconds = 5;
static FILE *acked;

static double *lat;
static size_t nlat, caplat;
static long n_req, n_ok, n_err, n_events, n_dropped;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void build(conn *c)
{
    static char body[1 << 20];
    size_t n = 0;
    int i;

    /* A session of 200 beats at most, then the viewer starts another. */
    if (c->seq + batch > 200) {
        c->session++;
        c->seq = 1;
    }
    c->first_seq = c->seq;
    n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"events\":[");
    for (i = 0; i < batch; i++, c->seq++)
        n += (size_t)snprintf(
            body + n, sizeof(body) - n,
            "%s{\"session\":\"%s-%d-%ld\",\"seq\":%ld,\"site\":\"%s\","
            "\"lesson\":%ld,\"kind\":\"%s\",\"position_s\":%ld,"
            "\"audio_lang\":\"zh\",\"rendition\":\"480p\",\"client\":\"tv\","
            "\"ts\":%ld}",
            i ? "," : "", prefix, c->id, c->session, c->seq, site, lesson,
            c->seq == 1 ? "start" : "beat", c->seq * 15,
            1764100000000L + c->seq * 15000L);
    n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
    free(c->req);
    c->req_len = 0;
    if (asprintf(&c->req,
                 "POST /api/v1/views HTTP/1.1\r\nHost: %s\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 host, token, n, body) < 0)
        exit(2);
    c->req_len = strlen(c->req);
    c->req_off = 0;
    c->resp_len = 0;
    c->t0 = now_s();
}

static int open_conn(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* 1 when a whole response is in c->resp. */
static int parse(conn *c, int *status, long *accepted)
{
    char *end, *cl, *a;
    size_t hlen, blen;

    c->resp[c->resp_len] = '\0';
    end = strstr(c->resp, "\r\n\r\n");
    if (end == NULL)
        return 0;
    hlen = (size_t)(end - c->resp) + 4;
    cl = strcasestr(c->resp, "content-length:");
    blen = cl && cl < end ? (size_t)atol(cl + 15) : 0;
    if (c->resp_len < hlen + blen)
        return 0;
    *status = atoi(c->resp + 9);
    a = strstr(end, "\"accepted\":");
    *accepted = a ? atol(a + 11) : -1;
    return 1;
}

int main(int argc, char **argv)
{
    struct epoll_event ev, evs[256];
    conn *cs;
    double t_start, t_end;
    int ep, i, alive;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--token"))
            token = argv[i + 1];
        else if (!strcmp(argv[i], "--site"))
            site = argv[i + 1];
        else if (!strcmp(argv[i], "--lesson"))
            lesson = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            nconns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--prefix"))
            prefix = argv[i + 1];
        else if (!strcmp(argv[i], "--acked")) {
            acked = fopen(argv[i + 1], "a");
            if (acked == NULL) {
                perror(argv[i + 1]);
                return 2;
            }
        } else {
            fprintf(stderr, "viewload: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!port || !token || !site || !lesson || nconns < 1 || batch < 1 ||
        batch > 500) {
        fprintf(stderr, "usage: viewload --port P --token T --site CODE "
                        "--lesson ID [--conns N] [--batch N] [--seconds S] "
                        "[--prefix P] [--acked FILE]\n");
        return 2;
    }
    ep = epoll_create1(0);
    cs = calloc((size_t)nconns, sizeof(*cs));
    for (i = 0; i < nconns; i++) {
        cs[i].id = i;
        cs[i].seq = 1;
        cs[i].fd = open_conn();
        if (cs[i].fd < 0) {
            perror("connect");
            return 1;
        }
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.ptr = &cs[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        build(&cs[i]);
    }
    alive = nconns;
    t_start = now_s();
    t_end = t_start + seconds;
    /* After --seconds no new request starts; the ones in flight are
     * answered (up to 10 s more), so acknowledged == stored when the
     * server keeps running. */
    while (alive > 0 && now_s() < t_end + 10) {
        int stopping = now_s() >= t_end;
        int n = epoll_wait(ep, evs, 256, 100);

        for (i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            ssize_t k;

            if (c->dead)
                continue;
            if (c->req_off < c->req_len) {
                k = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
                if (k < 0 && errno != EAGAIN)
                    goto dead;
                if (k > 0)
                    c->req_off += (size_t)k;
                if (c->req_off == c->req_len) {
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                continue;
            }
            k = read(c->fd, c->resp + c->resp_len,
                     sizeof(c->resp) - 1 - c->resp_len);
            if (k <= 0) {
                if (k < 0 && errno == EAGAIN)
                    continue;
                goto dead;
            }
            c->resp_len += (size_t)k;
            {
                int status;
                long acc;
                double dt;

                if (!parse(c, &status, &acc))
                    continue;
                dt = (now_s() - c->t0) * 1000.0;
                n_req++;
                if (nlat == caplat) {
                    caplat = caplat ? caplat * 2 : 1 << 16;
                    lat = realloc(lat, caplat * sizeof(*lat));
                }
                lat[nlat++] = dt;
                if (status == 200 && acc >= 0) {
                    n_ok++;
                    n_events += acc;
                    if (acked)
                        fprintf(acked, "%s-%d-%ld %ld %d %ld\n", prefix, c->id,
                                c->session, c->first_seq, batch, acc);
                } else {
                    n_err++;
                    if (n_err < 5)
                        fprintf(stderr, "viewload: status %d: %.200s\n", status,
                                strstr(c->resp, "\r\n\r\n") + 4);
                }
                if (stopping) {
                    c->dead = 1;
                    close(c->fd);
                    alive--;
                    continue;
                }
                build(c);
                ev.events = EPOLLIN | EPOLLOUT;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
            continue;
        dead:
            c->dead = 1;
            close(c->fd);
            alive--;
            n_dropped++;
        }
    }
    t_end = now_s();
    if (t_end > t_start + seconds)
        t_end = t_start + seconds; /* rates over the sending time */
    if (acked)
        fclose(acked);
    qsort(lat, nlat, sizeof(*lat), cmp_d);
    printf("{\"conns\":%d,\"batch\":%d,\"seconds\":%.2f,\"requests\":%ld,"
           "\"ok\":%ld,\"errors\":%ld,\"events\":%ld,\"req_per_s\":%.0f,"
           "\"events_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
           "\"max_ms\":%.2f,\"server_gone\":%s}\n",
           nconns, batch, t_end - t_start, n_req, n_ok, n_err, n_events,
           n_req / (t_end - t_start), n_events / (t_end - t_start),
           nlat ? lat[nlat / 2] : 0, nlat ? lat[(size_t)(nlat * 0.99)] : 0,
           nlat ? lat[nlat - 1] : 0, n_dropped == nconns ? "true" : "false");
    for (i = 0; i < nconns; i++) {
        if (!cs[i].dead)
            close(cs[i].fd);
        free(cs[i].req);
    }
    free(cs);
    free(lat);
    close(ep);
    return 0;
}
