/*
 * cmd-history: `keeper history`, the run history in DATA/keeper.db
 * (SPEC §9), newest first, as a table or as JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "args.h"
#include "cmd.h"
#include "settings.h"
#include "crew.h"
#include "dur.h"
#include "rundoc.h"
#include "store.h"
#include "utf8.h"
#include "util.h"

static const char usage[] =
    "usage: keeper history [NAME] [--crew FILE] [--data DIR] [--limit N] "
    "[--json] | keeper history --run ID [--data DIR] [--json]\n";


struct hist {
	int	 json;
	json_t	*arr;
};

static void
hist_cb(const struct run_rec *r, void *arg)
{
	struct hist *h = arg;
	char sched[32], first[81], dur[32], ex[16];
	const char *txt = r->error ? r->error : r->output_head;

	if (h->json) {
		json_array_append_new(h->arr, rundoc_json(r, 0));
		return;
	}
	args_when(sched, sizeof(sched), r->scheduled_ms);
	if (r->started_ms)
		dur_format(r->duration_ms, dur, sizeof(dur));
	else
		snprintf(dur, sizeof(dur), "-");
	if (r->exit_code >= 0)
		snprintf(ex, sizeof(ex), "%d", r->exit_code);
	else
		snprintf(ex, sizeof(ex), "-");
	snprintf(first, sizeof(first), "%s", txt ? txt : "");
	first[strcspn(first, "\n")] = '\0';
	/* A terminal gets no escapes from an agent's output. */
	for (char *q = first; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	printf("%-6" PRId64 " %-16s %-9s %-12s %4d %-19s %7s %-11s %4s %s\n",
	    r->id, r->agent, r->trigger ? r->trigger : "",
	    r->state && *r->state ? r->state : "-", r->hits, sched, dur,
	    r->outcome ? outcome_name(r->outcome) : "running", ex, first);
}

/* history --run: one run whole (SPEC §9). */
struct one {
	int	 json, found;
};

static void
print_block(const char *title, const char *text)
{
	char *c;
	size_t n;

	if (text == NULL || text[0] == '\0')
		return;
	/* As text, never as terminal escapes. */
	c = utf8_clean(text, strlen(text), UTF8_NOCTRL, &n);
	printf("%s:\n", title);
	for (const char *p = c; *p;) {
		size_t k = strcspn(p, "\n");

		printf("  %.*s\n", (int)k, p);
		p += k;
		if (*p == '\n')
			p++;
	}
	free(c);
}

static void
one_cb(const struct run_rec *r, void *arg)
{
	struct one *o = arg;
	json_t *doc, *steps, *st;
	char when[32], dur[32];
	size_t i;

	o->found = 1;
	doc = rundoc_json(r, 1);
	if (o->json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
		return;
	}
	printf("run %" PRId64 " of %s (%s)\n", r->id, r->agent, r->trigger ?
	    r->trigger : "schedule");
	if (r->state && r->state[0])
		printf("state:    %s %d/%d\n", r->state, r->hits, r->repeat);
	args_when(when, sizeof(when), r->started_ms ? r->started_ms :
	    r->scheduled_ms);
	printf("started:  %s\n", when);
	if (r->ended_ms) {
		args_when(when, sizeof(when), r->ended_ms);
		dur_format(r->duration_ms, dur, sizeof(dur));
		printf("ended:    %s (%s)\n", when, r->started_ms ? dur : "-");
	}
	printf("outcome:  %s", r->outcome ? outcome_name(r->outcome) :
	    "running");
	if (r->exit_code >= 0)
		printf(" (exit %d)", r->exit_code);
	putchar('\n');
	if (r->error)
		print_block("error", r->error);
	if (r->commit_id)
		printf("commit:   %s\n", r->commit_id);
	else if (r->git)
		printf("git:      %s\n", r->git);
	steps = json_object_get(doc, "steps");
	if (json_array_size(steps) > 0) {
		printf("steps:\n");
		json_array_foreach(steps, i, st)
			printf("  %-24s %-8s %6" JSON_INTEGER_FORMAT " ms\n",
			    json_string_value(json_object_get(st, "name")),
			    json_string_value(json_object_get(st, "status")),
			    json_integer_value(json_object_get(st, "ms")));
	}
	print_block("result", json_string_value(json_object_get(doc,
	    "result")));
	print_block("log", r->log);
	json_decref(doc);
}

static int
show_run(struct store *st, const char *dbp, const char *id, int json)
{
	struct one o = { json, 0 };
	char *end;
	long long n;

	n = strtoll(id, &end, 10);
	if (*id == '\0' || *end != '\0' || n <= 0) {
		fprintf(stderr, "keeper: --run wants a run id, not '%s'\n%s",
		    id, usage);
		return EXIT_USAGE;
	}
	if (st != NULL && store_run(st, (int64_t)n, one_cb, &o) < 0) {
		fprintf(stderr, "keeper: %s: cannot read the history: %s\n",
		    dbp, store_errmsg(st));
		return 1;
	}
	if (!o.found) {
		fprintf(stderr, "keeper: no run %lld in %s\n", n, dbp);
		return 1;
	}
	return 0;
}

int
cmd_history(int argc, char **argv, const struct settings *settings)
{
	struct args a;
	struct crew *c = NULL;
	struct store *st = NULL;
	struct hist h = { 0 };
	char *data, *dbp, err[512];
	int rc;

	if ((rc = args_parse(argc, argv, usage, ARG_CREW ARG_DATA ARG_JSON
	    ARG_LIMIT ARG_RUN, &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind < argc)
		a.name = argv[optind++];
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    usage);
		return EXIT_USAGE;
	}
	if ((data = args_data_dir(&a, settings, &c)) == NULL)
		return EXIT_CONFIG;
	if (c)
		crew_free(c);
	dbp = xasprintf("%s/keeper.db", data);
	h.json = a.json;
	h.arr = json_array();
	/* No history yet is an empty one (SPEC §9): nothing, and 0. */
	if (access(dbp, F_OK) == 0 &&
	    store_open(dbp, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "keeper: %s\n", err);
		rc = 1;
		goto done;
	}
	if (a.run != NULL) {
		rc = show_run(st, dbp, a.run, a.json);
		goto done;
	}
	if (!a.json)
		printf("%-6s %-16s %-9s %-12s %4s %-19s %7s %-11s %4s %s\n",
		    "ID", "AGENT", "TRIGGER", "STATE", "HITS", "SCHEDULED",
		    "DUR", "OUTCOME", "EXIT", "RESULT");
	rc = 0;
	if (st != NULL && store_history(st, a.name, a.limit, hist_cb, &h) < 0) {
		fprintf(stderr, "keeper: %s: cannot read the history: %s%s\n",
		    dbp, store_errmsg(st), store_corrupt(st) ? " (the file is "
		    "damaged: keeper run moves it aside and starts a new one; "
		    "keeper doctor explains)" : "");
		rc = 1;
	}
	if (a.json && rc == 0) {
		json_dumpf(h.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
done:
	json_decref(h.arr);
	store_close(st);
	free(dbp);
	free(data);
	return rc;
}
