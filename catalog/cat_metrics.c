/* cat_metrics.c - placeholder. */
#include "catalog/cat_metrics.h"

#include <string.h>

int cat_metrics_get(cat_writer *w, cat_db *rd, int64_t now_ms, cat_metrics *m)
{
    (void)w, (void)rd, (void)now_ms;
    memset(m, 0, sizeof(*m));
    return 0;
}
