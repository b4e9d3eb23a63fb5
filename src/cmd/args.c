/*
 * args: see args.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "crew.h"
#include "diag.h"
#include "dur.h"
#include "preflight.h"
#include "util.h"

enum { O_CREW = 256, O_DEF, O_LIFECYCLE, O_INTERVAL, O_TIMEOUT, O_REPO,
	O_DATA, O_LISTEN, O_JSON, O_LIMIT, O_HELP, O_BOOT_GRACE, O_FOR,
	O_WHY, O_RUN, O_HOURS, O_LEASE };

static const struct option longopts[] = {
	{ "crew", required_argument, NULL, O_CREW },
	{ "def", required_argument, NULL, O_DEF },
	{ "lifecycle", required_argument, NULL, O_LIFECYCLE },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "repo", required_argument, NULL, O_REPO },
	{ "data", required_argument, NULL, O_DATA },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "json", no_argument, NULL, O_JSON },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "help", no_argument, NULL, O_HELP },
	{ "boot-grace", required_argument, NULL, O_BOOT_GRACE },
	{ "for", required_argument, NULL, O_FOR },
	{ "why", required_argument, NULL, O_WHY },
	{ "run", required_argument, NULL, O_RUN },
	{ "hours", required_argument, NULL, O_HOURS },
	{ "lease", required_argument, NULL, O_LEASE },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

int
args_parse(int argc, char **argv, const char *usage, const char *allowed,
    struct args *a)
{
	int c;
	char *end;

	memset(a, 0, sizeof(*a));
	a->limit = 20;
	a->hours = 24;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		if (c == 'h' || c == O_HELP) {
			fputs(usage, stdout);
			printf("see keeper(1) for the details\n");
			return 1;
		}
		if (c >= O_CREW && !strchr(allowed, c - O_CREW + 'a'))
			goto bad;
		switch (c) {
		case 'v': a->verbose++; break;
		case O_CREW: a->o.crew = optarg; break;
		case O_DEF: a->o.def = optarg; break;
		case O_LIFECYCLE: a->o.lifecycle = optarg; break;
		case O_INTERVAL:
			if (dur_parse(optarg, &a->o.interval_ms) == -1)
				goto baddur;
			break;
		case O_TIMEOUT:
			if (dur_parse(optarg, &a->o.timeout_ms) == -1)
				goto baddur;
			break;
		case O_BOOT_GRACE:
			if (dur_parse(optarg, &a->o.boot_grace_ms) == -1)
				goto baddur;
			a->o.boot_grace_set = 1;
			break;
		case O_FOR:
			if (dur_parse(optarg, &a->for_ms) == -1)
				goto baddur;
			a->for_set = 1;
			break;
		case O_WHY: a->why = optarg; break;
		case O_RUN: a->run = optarg; break;
		case O_HOURS:
			a->hours = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(a->hours > 0) ||
			    a->hours > 24 * 366) {
				fprintf(stderr, "keeper: --hours wants a number "
				    "of hours up to a year, not '%s'\n%s",
				    optarg, usage);
				return -1;
			}
			break;
		case O_LEASE: a->lease = optarg; break;
		case O_REPO: a->o.repo = optarg; break;
		case O_DATA: a->o.data = optarg; break;
		case O_LISTEN: a->o.listen = optarg; break;
		case O_JSON: a->json = 1; break;
		case O_LIMIT:
			a->limit = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || a->limit < 0) {
				fprintf(stderr, "keeper: --limit wants a "
				    "number, not '%s'\n", optarg);
				return -1;
			}
			break;
		default:
			goto bad;
		}
	}
	return 0;
baddur:
	fprintf(stderr, "keeper: '%s' is not a duration (90s, 15m, 1h30m, "
	    "250ms)\n", optarg);
	return -1;
bad:
	fprintf(stderr, "keeper: unknown option '%s'\n%s", argv[optind - 1],
	    usage);
	return -1;
}

char *
args_data_dir(const struct args *a, const struct settings *s,
    struct crew **crewp)
{
	struct diag dg = { 0 };
	struct crew *c = NULL;
	char *msg, *d;

	*crewp = NULL;
	if (a->o.crew) {
		if (crew_load(a->o.crew, &c, &dg) == -1 || c == NULL) {
			msg = diag_first_error(&dg);
			fprintf(stderr, "keeper: %s\n", msg ? msg :
			    "invalid crew");
			free(msg);
			diag_release(&dg);
			return NULL;
		}
	} else if (a->o.def) {
		c = crew_singleton(a->o.def, a->o.lifecycle, a->o.interval_ms,
		    a->o.timeout_ms);
	}
	diag_release(&dg);
	d = preflight_data_dir(a->o.data, c && c->title ? c->title : "keeper",
	    s);
	if (d == NULL) {
		fprintf(stderr, "keeper: no data directory: give --data or set "
		    "KEEPER_DATA (HOME is not set)\n");
		if (c)
			crew_free(c);
		return NULL;
	}
	*crewp = c;
	return d;
}

void
args_when(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, len, "n/a");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}
