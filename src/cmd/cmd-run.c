/*
 * cmd-run: `keeper run`, the daemon (SPEC §9). This is where the daemon
 * is put together: the daemon and its workers, housekeeping (upkeep.h) and
 * the HTTP plane (web.h), each observing the daemon. The plane binds
 * first, so that a --listen that cannot bind stops the start before any
 * tick.
 */
#include <stdio.h>
#include <unistd.h>

#include "args.h"
#include "cmd.h"
#include "settings.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "role.h"
#include "upkeep.h"
#include "web.h"

static const char usage[] =
    "usage: keeper run (--crew FILE | --def FILE [--lifecycle FILE] "
    "[--interval D] [--timeout D] [--boot-grace D]) [--repo DIR] "
    "[--data DIR] [--listen ADDR:PORT] [--lease URL[,URL...]] [-v]\n";

int
cmd_run(int argc, char **argv, const struct settings *settings)
{
	struct args a;
	struct daemon *d;
	struct upkeep *up;
	struct role *role = NULL;
	struct web *web;
	const char *lease;
	char err[1024];
	int rc;

	if ((rc = args_parse(argc, argv, usage, ARG_CREW ARG_DEF ARG_LIFECYCLE
	    ARG_INTERVAL ARG_TIMEOUT ARG_REPO ARG_DATA ARG_LISTEN
	    ARG_BOOT_GRACE ARG_LEASE, &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    usage);
		return EXIT_USAGE;
	}
	if (a.o.crew == NULL && a.o.def == NULL) {
		fprintf(stderr, "keeper: --crew FILE or --def FILE is "
		    "required\n%s", usage);
		return EXIT_USAGE;
	}
	if (a.o.crew)
		a.o.def = NULL;		/* a crew takes precedence */
	log_init(a.verbose, settings->journal_stream);
	a.o.settings = settings;
	a.o.listen = a.o.listen ? a.o.listen : HTTP_DEFAULT_LISTEN;
	if ((rc = daemon_open(&a.o, &d, err, sizeof(err))) != 0) {
		fprintf(stderr, "keeper: %s\n", err);
		return rc;
	}
	/* SPEC §12: with a lease the daemon starts standby, fenced before
	 * anything can tick. */
	lease = a.lease ? a.lease : settings->lease;
	if (lease != NULL && (role = role_new(d, lease, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "keeper: --lease: %s\n", err);
		daemon_free(d);
		return EXIT_USAGE;
	}
	/* Housekeeping first: the daemon's ready goes to it (READY=1), then
	 * to the plane (http.addr). */
	up = upkeep_new(d);
	if (web_start(d, &web, err, sizeof(err)) != 0) {
		fprintf(stderr, "keeper: %s\n", err);
		upkeep_close(up);
		role_close(role);
		daemon_free(d);
		return 1;
	}
	web_set_sentinel(web, upkeep_sentinel, up);
	role_set_listen(role, web_addr(web));	/* then it campaigns */
	rc = daemon_serve(d);
	web_stop(web);		/* their handles close in daemon_free() */
	upkeep_close(up);
	role_close(role);	/* resigns: a standby takes over at once */
	daemon_free(d);
	return rc;
}
