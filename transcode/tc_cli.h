/* tc_cli.h - `yunling transcode`: parses the command line, runs the job,
 * maps errors to the documented exit codes. Main thread only. */
#ifndef YL_TC_CLI_H
#define YL_TC_CLI_H

/* argv[0] is "transcode". Returns the process exit code. */
int tc_cli_main(int argc, char **argv);

#endif
