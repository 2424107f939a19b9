/* cat_modules.c - the catalog's writer modules: the hook sets every writer
 * registers at start, in this order (nginx's ngx_modules.c). Adding a
 * module that acts at COMMIT or ROLLBACK is one row here and a
 * cat_writer_hooks in its own file; the writer core names none of them. */
#include "catalog/cat_internal.h"
#include "catalog/cat_writer.h"

const cat_writer_hooks *const cat_writer_modules[] = {
    &cat_views_hooks, /* viewing events: sessions, rollups, active view */
    NULL,
};
