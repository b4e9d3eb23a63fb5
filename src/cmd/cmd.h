/*
 * cmd: the subcommands main.c dispatches to. Each takes the arguments after
 * its own name (argv[0] is the subcommand) and returns the process exit
 * status (SPEC §9: 0 ok, 64 usage, 65 config problems, ...: exitcode.h).
 */
#ifndef KEEPER_CMD_H
#define KEEPER_CMD_H

#include "exitcode.h"

int	cmd_check(int argc, char **argv);
int	cmd_exec_def(int argc, char **argv);	/* cmd-exec-def.c */
int	cmd_run(int argc, char **argv);		/* cli.c */
int	cmd_run_once(int argc, char **argv);	/* cli.c */
int	cmd_status(int argc, char **argv);	/* cli.c */
int	cmd_history(int argc, char **argv);	/* cli.c */
int	cmd_doctor(int argc, char **argv);
int	cmd_log(int argc, char **argv);		/* gitlog.c */

#endif
