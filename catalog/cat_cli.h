/* cat_cli.h - catalog subcommands (`yunling sites ...`, `yunling token
 * ...`) and the options every command that touches the catalog shares
 * (`--config FILE --data DIR --db FILE --init`, parsed once here and used
 * by `yunling serve` too). Main thread only.
 *
 * Exit codes (<sysexits.h>), the same fault giving the same code from
 * every command:
 *   EX_USAGE (64)    bad command line, a bad flag value
 *   EX_DATAERR (65)  bad data: unknown code, malformed tag, corrupt CSV
 *   EX_NOINPUT (66)  the config file or an input cannot be read; the
 *                    database is missing in a data directory that has
 *                    lessons or uploads (--init)
 *   EX_SOFTWARE (70) internal or database error; cannot start
 *   EX_CONFIG (78)   a bad config file, data directory or listen address */
#ifndef YL_CAT_CLI_H
#define YL_CAT_CLI_H

#include <getopt.h>

#include "catalog/cat_config.h"

/* argv[0] is "sites" / "token". Each returns the process exit code. */
int cat_cli_sites(int argc, char **argv);
int cat_cli_token(int argc, char **argv);
/* `yunling user add|passwd|disable|enable|list` (cat_users.h). */
int cat_cli_user(int argc, char **argv);

/* The shared options, as getopt_long() returns them. */
typedef struct cat_cli_opts {
    const char *config; /* --config FILE */
    const char *data;   /* --data DIR */
    const char *db;     /* --db FILE */
    int init;           /* --init */
} cat_cli_opts;

enum {
    CAT_CLI_OPT_CONFIG = 0x1000,
    CAT_CLI_OPT_DATA,
    CAT_CLI_OPT_DB,
    CAT_CLI_OPT_INIT,
};

/* The shared rows of a command's struct option table. */
#define CAT_CLI_LONG_OPTIONS                                                   \
    {"config", required_argument, NULL, CAT_CLI_OPT_CONFIG},                   \
        {"data", required_argument, NULL, CAT_CLI_OPT_DATA},                   \
        {"db", required_argument, NULL, CAT_CLI_OPT_DB},                       \
    {                                                                          \
        "init", no_argument, NULL, CAT_CLI_OPT_INIT                            \
    }

/* Takes getopt_long()'s answer c (with optarg) when it is a shared
 * option: returns 1 (stored in o), else 0. */
int cat_cli_opt(cat_cli_opts *o, int c, const char *arg);

/* Builds cfg, already holding its defaults: the --config file (keys the
 * catalog does not know go to extra, then to the extra set with
 * cat_cli_set_config_extra()), --data and --db, then the command's own
 * flags (key, value pairs, NULL-terminated; may be NULL), then
 * cat_config_finish(). Returns 0, or an exit code above after printing
 * "yunling CMD: why" on stderr. */
int cat_cli_config(const char *cmd, const cat_cli_opts *o,
                   cat_config_extra_fn extra, void *ud,
                   const char *const *flags, cat_config *cfg);

/* The keys of other modules that a config file shared with `yunling serve`
 * may hold (str_config_extra, called with ud NULL: checked, not kept), so
 * `sites` and `token` accept the server's file and refuse a bad one the
 * same way. Set once by main() before dispatching. */
void cat_cli_set_config_extra(cat_config_extra_fn extra);

#endif
