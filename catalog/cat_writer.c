/* cat_writer.c - placeholder: the writer thread lands next. */
#include "catalog/cat_writer.h"

#include <errno.h>
#include <string.h>

int cat_writer_start(const cat_config *cfg, cat_writer **out)
{
    (void)cfg, (void)out;
    return -ENOSYS;
}
void cat_writer_stop(cat_writer *w)
{
    (void)w;
}
int cat_writer_submit(cat_writer *w, cat_write_fn fn, void *arg,
                      void (*arg_free)(void *arg), cat_write_done done,
                      void *ud)
{
    (void)w, (void)fn, (void)done, (void)ud;
    if (arg_free != NULL)
        arg_free(arg);
    return -ENOSYS;
}
int cat_writer_queue_depth(cat_writer *w)
{
    (void)w;
    return 0;
}
void cat_sync_init(cat_sync *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
}
void cat_sync_done(void *ud, int rc, const cat_write_result *res)
{
    cat_sync *s = ud;

    pthread_mutex_lock(&s->lock);
    s->rc = rc;
    s->res = *res;
    if (s->res.json != NULL)
        json_incref(s->res.json);
    s->finished = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}
int cat_sync_wait(cat_sync *s)
{
    pthread_mutex_lock(&s->lock);
    while (!s->finished)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return s->rc;
}
void cat_sync_fini(cat_sync *s)
{
    json_decref(s->res.json);
    s->res.json = NULL;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
}
