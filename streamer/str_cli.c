/* str_cli.c - placeholder until the server lands. */
#include "streamer/str_cli.h"

#include <stdio.h>

int str_cli_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("yunling serve: not built yet\n", stderr);
    return 70;
}
