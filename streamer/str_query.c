/* str_query.c - slow catalog reads off the event loop. A ranking over 90
 * days or a site's history can take milliseconds to tens of them; run on
 * the service thread they would stall every HLS response meanwhile. These
 * queries go to a small pool of reader threads (each with its own catalog
 * connection, STYLE.md §5); the answer comes back through the outbox and
 * leaves from WRITEABLE like the writer's results.
 *
 * Threads: str_query_submit() on the service thread; run_query() on a pool
 * thread; reply() on the service thread again. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/cat_stats.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "streamer/str_api.h"

typedef struct str_query {
    str_msg base; /* first: the query travels back as the message */
    struct str_query *qnext;
    uint64_t serial;
    int kind;
    char code[CAT_CODE_MAX];
    char from[16], to[16];
    bool has_from, has_to;
    int64_t now_ms;
    /* result (pool thread) */
    int rc;
    char *body; /* JSON, malloc'd */
    char err[512];
} str_query;

typedef struct str_qpool {
    char db_path[PATH_MAX];
    pthread_t th[STR_QUERY_THREADS];
    int nth;
    pthread_mutex_t lock; /* guards head, tail, stop */
    pthread_cond_t cond;
    str_query *head, *tail;
    bool stop;
    str_server *srv; /* only for str_outbox_post (thread-safe) */
} str_qpool;

static void query_free(str_msg *m)
{
    str_query *q = (str_query *)m;

    free(q->body);
    free(q);
}

/* Service thread: the answer is back. */
static void reply(str_server *srv, str_msg *m)
{
    str_query *q = (str_query *)m;
    str_req *r = str_waiting_find(srv, q->serial);

    if (r == NULL)
        return; /* the client left */
    if (q->rc < 0) {
        str_api_defer_error(r, q->rc, q->err);
        return;
    }
    str_api_defer_reply(r, 200, q->body, strlen(q->body));
    q->body = NULL; /* now the request's */
}

/* Pool thread. */
static void run_query(cat_db *rd, str_query *q)
{
    json_t *out = NULL;

    switch (q->kind) {
    case STR_Q_RANKING:
        q->rc = cat_stats_ranking(rd, q->code, q->has_from ? q->from : NULL,
                                  q->has_to ? q->to : NULL, q->now_ms, &out);
        break;
    case STR_Q_SITE:
        q->rc = cat_stats_site(rd, q->code, q->has_from ? q->from : NULL,
                               q->has_to ? q->to : NULL, q->now_ms, &out);
        if (q->rc == YL_ENOTFOUND)
            snprintf(q->err, sizeof(q->err), "unknown site %s", q->code);
        break;
    default:
        q->rc = YL_EINVAL;
    }
    if (q->rc < 0 && q->err[0] == '\0')
        snprintf(q->err, sizeof(q->err), "%s", cat_db_errmsg(rd));
    if (q->rc == 0) {
        q->body = json_dumps(out, JSON_COMPACT);
        if (q->body == NULL) {
            q->rc = -ENOMEM;
            snprintf(q->err, sizeof(q->err), "out of memory");
        }
    }
    json_decref(out);
}

static void *pool_main(void *arg)
{
    str_qpool *p = arg;
    cat_db *rd = NULL;
    int rc;

    rc = cat_reader_open(p->db_path, &rd);
    if (rc < 0)
        YL_LOGE("str", "query thread: cannot open a reader on %s", p->db_path);
    for (;;) {
        str_query *q;

        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        q = p->head;
        if (q != NULL) {
            p->head = q->qnext;
            if (p->head == NULL)
                p->tail = NULL;
        }
        pthread_mutex_unlock(&p->lock);
        if (q == NULL)
            break; /* stopping and nothing left */
        if (rd != NULL) {
            run_query(rd, q);
        } else {
            q->rc = YL_EDB;
            snprintf(q->err, sizeof(q->err), "no database connection");
        }
        str_outbox_post(p->srv, &q->base); /* hands q to the loop */
    }
    cat_db_close(rd);
    return NULL;
}

int str_query_start(str_server *srv, str_qpool **out)
{
    str_qpool *p = calloc(1, sizeof(*p));
    int i, rc;

    if (p == NULL)
        return -ENOMEM;
    p->srv = srv;
    snprintf(p->db_path, sizeof(p->db_path), "%s", srv->cfg.cat.db_path);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    for (i = 0; i < STR_QUERY_THREADS; i++) {
        rc = pthread_create(&p->th[i], NULL, pool_main, p);
        if (rc != 0) {
            *out = p;
            return -rc;
        }
        p->nth++;
    }
    *out = p;
    return 0;
}

int str_query_submit(str_req *r, int kind, const char *code, const char *from,
                     const char *to)
{
    str_qpool *p = r->srv->qpool;
    str_query *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return -ENOMEM;
    q->base.run = reply;
    q->base.free_fn = query_free;
    q->serial = r->serial;
    q->kind = kind;
    q->now_ms = cat_now_ms();
    snprintf(q->code, sizeof(q->code), "%s", code);
    if (from != NULL) {
        snprintf(q->from, sizeof(q->from), "%s", from);
        q->has_from = true;
    }
    if (to != NULL) {
        snprintf(q->to, sizeof(q->to), "%s", to);
        q->has_to = true;
    }
    str_waiting_add(r->srv, r);
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->qnext = q;
    else
        p->head = q;
    p->tail = q;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void str_query_stop(str_qpool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
