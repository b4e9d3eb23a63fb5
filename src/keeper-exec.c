/*
 * keeper-exec: the def interpreter on its own, what the daemon execs for
 * every run. The same code as `keeper exec-def` (exec.c), linked against
 * only what a def needs (orgparse, pcre2, jansson; libcurl when an llm
 * step asks, dlcurl.h), so a run starts without loading git, sqlite, the
 * HTTP server and their TLS stacks: 7.6 ms of CPU before, per tick.
 */
#include "cmd.h"

int
main(int argc, char **argv)
{
	return cmd_exec_def(argc, argv);
}
