/* str_cli.h - `yunling serve`. Main thread; becomes the lws service thread. */
#ifndef YL_STR_CLI_H
#define YL_STR_CLI_H

/* argv[0] is "serve". Returns the process exit code. */
int str_cli_serve(int argc, char **argv);

#endif
