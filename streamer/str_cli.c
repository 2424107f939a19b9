/* str_cli.c - `yunling serve [--config FILE] [--listen ADDR:PORT]
 * [--data DIR] [--web DIR] [--db FILE] [--init]`. Main thread; it becomes the
 * lws service thread in str_server_run(). */
#include "streamer/str_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "catalog/cat_cli.h"
#include "common/yl_err.h"
#include "common/yl_log.h"
#include "streamer/str_server.h"

static void usage(FILE *f)
{
    fputs("usage: yunling serve [--config FILE] [--listen ADDR:PORT] "
          "[--data DIR]\n"
          "                     [--web DIR] [--db FILE] [--init]\n"
          "\n"
          "Runs the server: player-web at /, HLS at /hls/<id>/, the JSON "
          "API at\n"
          "/api/v1/, /metrics and /healthz on one port (default "
          "127.0.0.1:8080;\n"
          "port 0 picks a free one). Prints \"listening on ADDR:PORT\" when "
          "ready.\n"
          "SIGTERM/SIGINT stop it gracefully.\n"
          "\n"
          "  --config FILE       INI file, section [server] (see "
          "docs/operations.md)\n"
          "  --listen ADDR:PORT  listen address\n"
          "  --data DIR          data directory (database, hls/, uploads/, "
          "jobs/)\n"
          "  --web DIR           player-web build to serve at /\n"
          "  --db FILE           database (default DIR/yunling.db)\n"
          "  --init              create a new, empty database even though "
          "the data\n"
          "                      directory has lessons or uploads (without "
          "it the\n"
          "                      server refuses: restore the database "
          "instead)\n"
          "\n"
          "Exit status: 0 after SIGTERM/SIGINT; 64 usage; 66 database "
          "missing (see\n"
          "--init); 70 cannot start, or stopped because the database file "
          "was\n"
          "removed or replaced while it ran; 78 bad configuration.\n",
          f);
}

int str_cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        CAT_CLI_LONG_OPTIONS,
        {"listen", required_argument, NULL, 'l'},
        {"web", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *flags[] = {"listen", NULL, "web", NULL, NULL};
    cat_cli_opts co = {0};
    int c, rc, ex, fault = 0;
    str_config cfg;
    char err[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': /* flags win over the file: applied after it */
            flags[1] = optarg;
            break;
        case 'w':
            flags[3] = optarg;
            break;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            if (cat_cli_opt(&co, c, optarg))
                break;
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "yunling serve: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return EX_USAGE;
    }

    str_config_defaults(&cfg);
    ex = cat_cli_config("serve", &co, str_config_extra, &cfg, flags, &cfg.cat);
    if (ex != 0)
        return ex;
    rc = str_config_listen(&cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "yunling serve: %s\n", err);
        return EX_CONFIG;
    }
    cfg.fault = &fault;
    rc = str_server_run(&cfg);
    if (rc < 0) {
        fprintf(stderr, "yunling serve: cannot start: %s\n",
                yl_strerror(rc, err, sizeof(err)));
        return EX_SOFTWARE;
    }
    if (fault < 0) {
        fprintf(stderr, "yunling serve: stopped: %s\n",
                yl_strerror(fault, err, sizeof(err)));
        return EX_SOFTWARE;
    }
    return EX_OK;
}
