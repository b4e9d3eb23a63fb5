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
#include "store.h"
#include "util.h"

static const char usage[] =
    "usage: keeper history [NAME] [--crew FILE] [--data DIR] [--limit N] "
    "[--json]\n";


struct hist {
	int	 json;
	json_t	*arr;
};

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
jms(int64_t v)
{
	return v ? json_integer(v) : json_null();
}

static void
hist_cb(const struct run_rec *r, void *arg)
{
	struct hist *h = arg;
	char sched[32], first[81], dur[32], ex[16];
	const char *txt = r->error ? r->error : r->output_head;

	if (h->json) {
		json_t *o = json_object();

		json_object_set_new(o, "id", json_integer(r->id));
		json_object_set_new(o, "agent", jstr(r->agent));
		json_object_set_new(o, "trigger", jstr(r->trigger));
		json_object_set_new(o, "state", jstr(r->state));
		json_object_set_new(o, "hits", json_integer(r->hits));
		json_object_set_new(o, "repeat", json_integer(r->repeat));
		json_object_set_new(o, "scheduled", jms(r->scheduled_ms));
		json_object_set_new(o, "started", jms(r->started_ms));
		json_object_set_new(o, "ended", jms(r->ended_ms));
		json_object_set_new(o, "duration_ms", r->started_ms ?
		    json_integer(r->duration_ms) : json_null());
		json_object_set_new(o, "outcome", r->outcome ?
		    json_string(outcome_name(r->outcome)) : json_null());
		json_object_set_new(o, "exit_code", r->exit_code >= 0 ?
		    json_integer(r->exit_code) : json_null());
		json_object_set_new(o, "output_bytes",
		    json_integer(r->output_bytes));
		json_object_set_new(o, "output_head", jstr(r->output_head));
		json_object_set_new(o, "commit_id", jstr(r->commit_id));
		json_object_set_new(o, "git", jstr(r->git));
		json_object_set_new(o, "error", jstr(r->error));
		json_object_set_new(o, "delivery", jstr(r->delivery));
		json_object_set_new(o, "tokens_prompt", r->tokens_prompt >= 0 ?
		    json_integer(r->tokens_prompt) : json_null());
		json_object_set_new(o, "tokens_completion",
		    r->tokens_completion >= 0 ?
		    json_integer(r->tokens_completion) : json_null());
		json_object_set_new(o, "steps", jstr(r->steps));
		json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) :
		    json_null());
		json_object_set_new(o, "pgid", r->pgid ?
		    json_integer(r->pgid) : json_null());
		json_object_set_new(o, "daemon_pid", json_integer(r->daemon_pid));
		json_array_append_new(h->arr, o);
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
	printf("%-6" PRId64 " %-16s %-9s %-12s %4d %-19s %7s %-11s %4s %s\n",
	    r->id, r->agent, r->trigger ? r->trigger : "",
	    r->state && *r->state ? r->state : "-", r->hits, sched, dur,
	    r->outcome ? outcome_name(r->outcome) : "running", ex, first);
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
	    ARG_LIMIT, &a)) != 0)
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
