/*
 * cmd-log: `keeper log`, the changes feed (SPEC §10 GET /_changes) for
 * people: the newest commits of the tenant repository with the agent,
 * state and run their Keeper-* trailers name.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd.h"
#include "crew.h"
#include "diag.h"
#include "repo.h"
#include "util.h"

static const char log_usage[] =
    "usage: keeper log [--repo DIR | --crew FILE] [--limit N] [--json]\n";

/* The repository: --repo, else the crew's #+REPO:, else ".". */
static char *
log_repo(const char *repo, const char *crewfile, int *rc)
{
	struct diag dg = { 0 };
	struct crew *c = NULL;
	char *out, *msg;

	*rc = 0;
	if (repo != NULL || crewfile == NULL)
		return xstrdup(repo ? repo : ".");
	if (crew_load(crewfile, &c, &dg) == -1) {
		msg = diag_first_error(&dg);
		fprintf(stderr, "keeper: %s\n", msg ? msg : crewfile);
		free(msg);
		diag_release(&dg);
		*rc = EXIT_CONFIG;
		return NULL;
	}
	diag_release(&dg);
	out = xstrdup(c->repo ? c->repo : ".");
	crew_free(c);
	return out;
}

int
cmd_log(int argc, char **argv, const struct settings *settings)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "crew", required_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *repoarg = NULL, *crewarg = NULL;
	struct repo_change *v = NULL;
	size_t n = 0;
	long limit = 20;
	char *repo, *end, err[512];
	int c, json = 0, rc;

	(void)settings;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': repoarg = optarg; break;
		case 'c': crewarg = optarg; break;
		case 'j': json = 1; break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 1 ||
			    limit > REPO_CHANGES_MAX) {
				fprintf(stderr, "keeper: --limit wants 1 to %d, "
				    "not '%s'\n", REPO_CHANGES_MAX, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(log_usage, stdout);
			printf("see keeper(1) for the details\n");
			return 0;
		default:
			fprintf(stderr, "keeper: bad option '%s'\n%s",
			    argv[optind - 1], log_usage);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    log_usage);
		return EXIT_USAGE;
	}
	if ((repo = log_repo(repoarg, crewarg, &rc)) == NULL)
		return rc;
	if (repo_changes_at(repo, (size_t)limit, &v, &n, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "keeper: %s\n", err);
		free(repo);
		return 1;
	}
	if (json) {
		json_t *o = json_object();
		char *s;

		json_object_set_new(o, "repo", json_string(repo));
		json_object_set_new(o, "commits", repo_changes_json(v, n));
		s = json_dumps(o, JSON_INDENT(2));
		puts(s ? s : "{}");
		free(s);
		json_decref(o);
	} else {
		for (size_t i = 0; i < n; i++) {
			char when[32];
			time_t t = (time_t)v[i].time;
			struct tm tm;

			if (localtime_r(&t, &tm) == NULL ||
			    strftime(when, sizeof(when), "%Y-%m-%d %H:%M",
			    &tm) == 0)
				snprintf(when, sizeof(when), "-");
			printf("%.10s  %s  %-12s %-12s %-8s %s\n", v[i].id,
			    when, v[i].agent ? v[i].agent : "-",
			    v[i].state ? v[i].state : "-",
			    v[i].run ? v[i].run : "-", v[i].subject);
		}
	}
	repo_changes_free(v, n);
	free(repo);
	return 0;
}
