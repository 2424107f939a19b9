/* cat_lang.c - placeholder. */
#include "catalog/cat_lang.h"

#include <errno.h>

int cat_lang_normalize(const char *tag, char *out, size_t outlen)
{
    (void)tag, (void)out, (void)outlen;
    return -ENOSYS;
}
