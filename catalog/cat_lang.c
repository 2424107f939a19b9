/* cat_lang.c - language tags of sites, titles and events. The catalog
 * uses the normaliser the transcoder uses (common/yl_lang.h), so a tag
 * means the same everywhere (lesson.json, playlists, filters, site
 * defaults). */
#include "catalog/cat_lang.h"

#include "common/yl_err.h"
#include "common/yl_lang.h"

int cat_lang_normalize(const char *tag, char *out, size_t outlen)
{
    if (tag == NULL || out == NULL || outlen == 0)
        return YL_EBADLANG;
    return yl_lang_normalize(tag, out, outlen) < 0 ? YL_EBADLANG : 0;
}
