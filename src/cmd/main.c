/*
 * main: the keeper command line. Parses nothing beyond the subcommand name;
 * every subcommand lives in its own module behind cmd.h.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "settings.h"
#include "version.h"

extern char **environ;

static const struct {
	const char	*name;
	int		(*fn)(int, char **, const struct settings *);
	const char	*summary;
} cmds[] = {
	{ "check", cmd_check, "check crew, lifecycle and def files" },
	{ "exec-def", cmd_exec_def, "run an agent def once, by hand" },
	{ "run", cmd_run, "run the daemon for a crew (or one --def)" },
	{ "run-once", cmd_run_once, "one watched tick of an agent now" },
	{ "status", cmd_status, "agents, positions and next ticks" },
	{ "history", cmd_history, "the run history" },
	{ "agenda", cmd_agenda, "every agent's coming fires in time order" },
	{ "pause", cmd_pause, "stop an agent ticking (--for a while)" },
	{ "resume", cmd_resume, "let a paused agent tick again" },
	{ "log", cmd_log, "the commits agents made (the changes feed)" },
	{ "doctor", cmd_doctor, "check a deployment and say what is wrong" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: keeper COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "  %-10s %s\n", "version", "what this build is (also --version)");
	fprintf(f, "\n'keeper COMMAND --help' and man keeper(1) tell more\n");
}

int
main(int argc, char **argv)
{
	struct settings settings;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("keeper %s\n", keeper_version);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			settings_read(&settings, environ);
			rc = cmds[i].fn(argc - 1, argv + 1, &settings);
			settings_release(&settings);
			return rc;
		}
	fprintf(stderr, "keeper: unknown command '%s'; try 'keeper --help'\n",
	    argv[1]);
	return EXIT_USAGE;
}
