/* cat_cli.c - placeholder until the catalog lands. */
#include "catalog/cat_cli.h"

#include <stdio.h>

int cat_cli_sites(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("yunling sites: not built yet\n", stderr);
    return 70;
}

int cat_cli_token(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("yunling token: not built yet\n", stderr);
    return 70;
}
