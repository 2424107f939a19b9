/* tc_cli.c - placeholder until the transcode pipeline lands. */
#include "transcode/tc_cli.h"

#include <stdio.h>

int tc_cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("yunling transcode: not built yet\n", stderr);
    return 70;
}
