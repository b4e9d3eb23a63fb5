/*
 * keeper-exec: the def interpreter on its own, what the daemon execs for
 * every run. The same code as `keeper exec-def` (src/cmd/cmd-exec-def.c
 * around exec_run(), exec.h), linked against only what a def needs
 * (orgparse, pcre2, jansson; libcurl when an llm step asks, dlcurl.h), so
 * a run starts without loading git, sqlite, the HTTP server and their TLS
 * stacks: 7.6 ms of CPU before, per tick. Like src/cmd/main.c it is a
 * program's main, outside libkeeper.a: the one file of src/interp/ that
 * calls into src/cmd/.
 */
#include <string.h>

#include "cmd.h"
#include "exec.h"
#include "settings.h"
#include "zygote.h"

extern char **environ;

/* One run: its environment read once, here, as it starts. */
static int
run(int argc, char **argv)
{
	struct settings s;
	int rc;

	settings_read(&s, environ);
	/* A one-step shell def, run as that shell (direct.c). */
	if (argc > 1 && strcmp(argv[1], "--sh") == 0)
		rc = exec_direct_main(argc, argv, &s);
	else
		rc = cmd_exec_def(argc, argv, &s);
	settings_release(&s);
	return rc;
}

int
main(int argc, char **argv)
{
	/* The daemon's warm interpreter (zygote.h), its socket on fd 3. */
	if (argc == 2 && strcmp(argv[1], "--zygote") == 0) {
		exec_warm();
		return zygote_serve(3, run);
	}
	return run(argc, argv);
}
