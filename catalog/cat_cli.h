/* cat_cli.h - catalog subcommands: `yunling sites ...`, `yunling token ...`.
 * Main thread only. */
#ifndef YL_CAT_CLI_H
#define YL_CAT_CLI_H

/* argv[0] is "sites" / "token". Each returns the process exit code. */
int cat_cli_sites(int argc, char **argv);
int cat_cli_token(int argc, char **argv);

#endif
