/* str_cli.c - `yunling serve [--config FILE] [--listen ADDR:PORT]
 * [--data DIR] [--web DIR] [--db FILE] [--init]`. Main thread; it becomes the
 * lws service thread in str_server_run(). */
#include "streamer/str_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"data", required_argument, NULL, 'd'},
        {"web", required_argument, NULL, 'w'},
        {"db", required_argument, NULL, 'b'},
        {"init", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL, *flag_keys[4] = {NULL};
    const char *flag_vals[4] = {NULL};
    int nflags = 0, c, i, rc, init = 0, fault = 0;
    str_config cfg;
    char err[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'l':
        case 'd':
        case 'w':
        case 'b':
            /* Flags win over the file: remember them, apply after it. */
            if (nflags == 4) {
                fputs("yunling serve: too many flags\n", stderr);
                return 64;
            }
            flag_keys[nflags] = c == 'l'   ? "listen"
                                : c == 'd' ? "data"
                                : c == 'w' ? "web"
                                           : "db";
            flag_vals[nflags++] = optarg;
            break;
        case 'i':
            init = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 64;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "yunling serve: unexpected argument '%s'\n",
                argv[optind]);
        usage(stderr);
        return 64;
    }

    str_config_defaults(&cfg);
    if (config != NULL) {
        rc = cat_config_load(&cfg.cat, config, str_config_extra, &cfg, err,
                             sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "yunling serve: %s\n", err);
            return rc == YL_EINVAL ? 78 : 66;
        }
    }
    for (i = 0; i < nflags; i++) {
        rc = cat_config_set(&cfg.cat, "server", flag_keys[i], flag_vals[i], err,
                            sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "yunling serve: --%s: %s\n", flag_keys[i], err);
            return 64;
        }
    }
    cfg.cat.init = init;
    rc = cat_config_finish(&cfg.cat, err, sizeof(err));
    if (rc == 0)
        rc = str_config_listen(&cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "yunling serve: %s\n", err);
        return rc == YL_ENOINIT ? 66 : 78;
    }
    cfg.fault = &fault;
    rc = str_server_run(&cfg);
    if (rc < 0) {
        fprintf(stderr, "yunling serve: cannot start: %s\n",
                yl_strerror(rc, err, sizeof(err)));
        return 70;
    }
    if (fault < 0) {
        fprintf(stderr, "yunling serve: stopped: %s\n",
                yl_strerror(fault, err, sizeof(err)));
        return 70;
    }
    return 0;
}
