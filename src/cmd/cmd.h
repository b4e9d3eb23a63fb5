/*
 * cmd: the subcommands main.c dispatches to. Each takes the arguments after
 * its own name (argv[0] is the subcommand) and the process's settings, and
 * returns the process exit status (SPEC §9: 0 ok, 64 usage, 65 config
 * problems, ...).
 */
#ifndef KEEPER_CMD_H
#define KEEPER_CMD_H

#include "exitcode.h"

struct settings;

/* One per file, src/cmd/cmd-NAME.c. The settings are the environment,
 * read once by main() (settings.h). */
int	cmd_check(int argc, char **argv, const struct settings *);
int	cmd_exec_def(int argc, char **argv, const struct settings *);
int	cmd_run(int argc, char **argv, const struct settings *);
int	cmd_run_once(int argc, char **argv, const struct settings *);
int	cmd_status(int argc, char **argv, const struct settings *);
int	cmd_history(int argc, char **argv, const struct settings *);
int	cmd_doctor(int argc, char **argv, const struct settings *);
int	cmd_log(int argc, char **argv, const struct settings *);
int	cmd_pause(int argc, char **argv, const struct settings *);
int	cmd_resume(int argc, char **argv, const struct settings *);
int	cmd_agenda(int argc, char **argv, const struct settings *);

#endif
