/* cat_code.c - national division codes and their levels. */
#include "catalog/cat_code.h"

#include <string.h>

#include "common/yl_err.h"

const char *cat_level_name(int level)
{
    static const char *const n[] = {"?",      "province", "prefecture",
                                    "county", "township", "village"};
    return level >= 1 && level <= 5 ? n[level] : n[0];
}

int cat_code_level(const char *code)
{
    size_t n;

    if (code == NULL)
        return YL_EINVAL;
    n = strlen(code);
    for (size_t i = 0; i < n; i++)
        if (code[i] < '0' || code[i] > '9')
            return YL_EINVAL;
    if (n > 0 && code[0] == '0')
        return YL_EINVAL;
    switch (n) {
    case 2:
        return CAT_LEVEL_PROVINCE;
    case 4:
        return CAT_LEVEL_PREFECTURE;
    case 6:
        return CAT_LEVEL_COUNTY;
    case 9:
        return CAT_LEVEL_TOWNSHIP;
    case 12:
        return CAT_LEVEL_VILLAGE;
    default:
        return YL_EINVAL;
    }
}
