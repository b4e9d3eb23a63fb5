/*
 * cmd-once: `keeper run-once`, one watched tick now (SPEC §9). With a
 * daemon on the data directory it asks the daemon (ctl.h); without one it
 * opens the daemon in-process and runs the tick itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "args.h"
#include "cmd.h"
#include "settings.h"
#include "crew.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "preflight.h"
#include "util.h"

static const char usage[] =
    "usage: keeper run-once NAME [--crew FILE] [--data DIR] [--repo DIR] | "
    "keeper run-once --def FILE [--lifecycle FILE] [--data DIR]\n";

static void
print_line(const char *line, void *arg)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

/* Through the daemon that holds data: its exit status, or -1 when it did
 * not answer. */
static int
remote(const char *data, const char *name)
{
	int rc = ctl_run_once(data, name, stdout);

	if (rc == -2) {
		fprintf(stderr, "keeper: the daemon hung up\n");
		rc = 1;
	}
	return rc;
}

int
cmd_run_once(int argc, char **argv, const struct settings *settings)
{
	struct args a;
	struct daemon *d;
	struct crew *c = NULL;
	char err[1024], *data = NULL, *name;
	long holder;
	int rc;

	if ((rc = args_parse(argc, argv, usage, ARG_CREW ARG_DEF ARG_LIFECYCLE
	    ARG_INTERVAL ARG_TIMEOUT ARG_REPO ARG_DATA, &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (a.o.crew)
		a.o.def = NULL;
	if (optind < argc)
		a.name = argv[optind++];
	if (optind != argc || (a.name == NULL && a.o.def == NULL) ||
	    (a.o.crew == NULL && a.o.def == NULL && a.o.data == NULL &&
	    settings->data == NULL)) {
		fprintf(stderr, "keeper: run-once wants NAME with --crew or "
		    "--data, or --def FILE\n%s", usage);
		return EXIT_USAGE;
	}
	log_init(a.verbose, settings->journal_stream);
	if ((data = args_data_dir(&a, settings, &c)) == NULL)
		return EXIT_CONFIG;
	if (a.name == NULL && c && c->nmembers > 0)
		a.name = c->members[0].name;
	name = xstrdup(a.name ? a.name : "");
	if (c)
		crew_free(c);
	if ((holder = preflight_lock_holder(data)) != 0) {
		/* A daemon answers; a run-once holding the lock does not, and
		 * its tick must not be followed by a second one (SPEC §5). */
		if ((rc = remote(data, name)) == -1) {
			fprintf(stderr, "keeper: data directory %s is in use by "
			    "keeper pid %ld\n", data, holder);
			rc = EXIT_LOCKED;
		}
		goto done;
	}
	if (a.o.crew == NULL && a.o.def == NULL) {
		fprintf(stderr, "keeper: no daemon on %s; give --crew FILE to "
		    "run the tick here\n", data);
		rc = EXIT_USAGE;
		goto done;
	}
	a.o.oneshot = 1;
	a.o.settings = settings;
	a.o.data = data;
	if ((rc = daemon_open(&a.o, &d, err, sizeof(err))) != 0) {
		/* A daemon took the lock meanwhile: ask it. */
		if (rc == EXIT_LOCKED && (rc = remote(data, name)) != -1)
			goto done;
		fprintf(stderr, "keeper: %s\n", err);
		if (rc == -1)
			rc = EXIT_LOCKED;
		goto done;
	}
	rc = daemon_once(d, name, print_line, NULL);
	daemon_free(d);
done:
	free(name);
	free(data);
	return rc;
}
