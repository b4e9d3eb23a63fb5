/*
 * cmd-status: `keeper status` (SPEC §9), like systemctl list-timers: per
 * agent its position, last and next tick, outcome, streak and whether it
 * runs. From the daemon when one runs on the data directory (keeper.sock),
 * else from the state files and the history; both are the one document
 * core/status.c builds (status_cli()). A paused member says so in RUNNING
 * and on a line of its own, a retry in NEXT, a token budget what it used
 * (SPEC §5b).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "args.h"
#include "cmd.h"
#include "settings.h"
#include "crew.h"
#include "ctl.h"
#include "diag.h"
#include "dur.h"
#include "firing.h"
#include "lcspec.h"
#include "lifecycle.h"
#include "pause.h"
#include "preflight.h"
#include "statefile.h"
#include "status.h"
#include "store.h"
#include "util.h"

static const char usage[] =
    "usage: keeper status [--crew FILE] [--data DIR] [--json]\n";

static void
latest_cb(const struct run_rec *r, void *arg)
{
	enum outcome *last = arg;

	if (r->outcome != OUTCOME_NONE && *last == OUTCOME_NONE)
		*last = r->outcome;
}

/* What the state files and the history say of each member. */
struct offline {
	struct agent_status	*st;
	struct lc_pos		*pos;
	struct lc_spec		**spec;
	struct pause		*pause;
	size_t			 n;
	char			 history[512];	/* why it cannot be read */
};

/* SPEC §5b from the files: the pause, the priority, a budget's count. */
static void
hands_read(struct agent_status *a, const struct crew_member *m,
    struct pause *p, struct store *st, const char *data, int singleton)
{
	int64_t now = util_now_ms(), cross;

	if (statefile_paused(data, m->name, now, p)) {
		a->paused = 1;
		a->paused_until_ms = p->until_ms;
		a->paused_why = p->why;
	}
	a->priority = singleton ? NULL : m->priority_name;
	if (m->token_budget > 0) {
		a->token_budget = m->token_budget;
		a->token_window_ms = m->token_window_ms;
		if (st != NULL)
			(void)store_tokens(st, m->name, now -
			    m->token_window_ms, m->token_budget,
			    &a->tokens_used, &cross);
	}
}

/* A calendar member's NEXT from its cursor file (SPEC §5a). */
static void
calendar_next(struct agent_status *a, const struct crew *c,
    const struct crew_member *m, const char *data, int singleton,
    struct firing_zones *zs)
{
	struct firing f = { 0 };
	struct firing_ctx cx = { .data = data, .name = m->name,
	    .singleton = singleton, .zones = zs };
	int64_t now = util_now_ms(), due;
	char err[256];

	a->calendar = m->schedule;
	(void)firing_bind(&f, &cx, c, m, now, err, sizeof(err));
	if (f.on && (due = firing_next_due(&f, &cx, now)) != FIRE_NONE)
		a->next_tick_ms = due;
	firing_release(&f);
}

static void
offline_read(struct offline *off, const struct crew *c, const char *data,
    int singleton, const char *tz)
{
	struct firing_zones *zs = firing_zones_new(tz);
	struct store *st = NULL;
	char *dbp = xasprintf("%s/keeper.db", data), err[512];

	off->n = c->nmembers;
	off->st = xcalloc(off->n + 1, sizeof(*off->st));
	off->pos = xcalloc(off->n + 1, sizeof(*off->pos));
	off->spec = xcalloc(off->n + 1, sizeof(*off->spec));
	off->pause = xcalloc(off->n + 1, sizeof(*off->pause));
	if (access(dbp, F_OK) == 0 && store_open(dbp, &st, off->history,
	    sizeof(off->history)) == -1)
		st = NULL;
	for (size_t i = 0; i < off->n; i++) {
		const struct crew_member *m = &c->members[i];
		struct agent_status *a = &off->st[i];
		struct lc_spec *spec = NULL;
		char *p;

		a->name = m->name;
		a->repeat = 1;
		p = statefile_path(data, SF_LAST_RUN, singleton ? NULL :
		    m->name);
		(void)statefile_read_last_run(p, &a->last_run_ms, err,
		    sizeof(err));
		free(p);
		p = statefile_path(data, SF_POS, singleton ? NULL : m->name);
		(void)statefile_read_pos(p, &off->pos[i], err, sizeof(err));
		free(p);
		a->state = off->pos[i].state;
		a->hits = off->pos[i].hits;
		if (st) {
			if (store_history(st, m->name, 1, latest_cb,
			    &a->last_outcome) < 0 && !off->history[0])
				snprintf(off->history, sizeof(off->history),
				    "%s: %s", dbp, store_errmsg(st));
			a->no_work_streak = store_streak(st, m->name);
		}
		hands_read(a, m, &off->pause[i], st, data, singleton);
		if (m->calendar)
			calendar_next(a, c, m, data, singleton, zs);
		if (m->lifecycle != NULL) {
			struct diag dg = { 0 };
			int k;

			if (lc_spec_load(m->lifecycle, &spec, &dg) == 0 &&
			    spec->nstates > 0) {
				/* Never ticked: the state it will start
				 * from. */
				if (a->state[0] == '\0')
					a->state = spec->states[
					    spec->start].name;
				if ((k = lc_spec_find(spec, a->state)) >= 0)
					a->repeat = spec->states[k].repeat;
			}
			diag_release(&dg);
		}
		off->spec[i] = spec;
	}
	store_close(st);
	free(dbp);
	firing_zones_free(zs);
}

static void
offline_release(struct offline *off)
{
	for (size_t i = 0; i < off->n; i++) {
		lc_spec_free(off->spec[i]);
		lc_pos_release(&off->pos[i]);
	}
	free(off->st);
	free(off->pos);
	free(off->spec);
	free(off->pause);
}

/* NEXT for a member whose next tick is a retry: "retry 1/2 12:00:01". */
static void
next_text(char *buf, size_t len, json_t *a, int64_t next)
{
	json_t *r = json_object_get(a, "retry");
	char when[32];

	if (json_is_object(r) && next > 0) {
		args_when(when, sizeof(when), next);
		snprintf(buf, len, "retry %d/%d %s", (int)json_integer_value(
		    json_object_get(r, "attempt")), (int)json_integer_value(
		    json_object_get(r, "of")), when + 11);
	} else if (next == 0 && json_is_object(json_object_get(a, "paused")))
		snprintf(buf, len, "paused");
	else
		args_when(buf, len, next);
}

/* The lines under a member's row: its pause, its budget, its error, what
 * git refuses. */
static void
print_details(json_t *a, int64_t now)
{
	json_t *p = json_object_get(a, "paused"), *t;
	const char *why;
	char when[32], left[32], win[32];

	if (json_is_object(p)) {
		int64_t until = json_integer_value(json_object_get(p, "until"));

		why = json_string_value(json_object_get(p, "why"));
		if (until > 0) {
			args_when(when, sizeof(when), until);
			dur_format(until > now ? until - now : 0, left,
			    sizeof(left));
			printf("  paused until %s (%s left)", when, left);
		} else
			printf("  paused until resumed");
		printf("%s%s\n", why && *why ? ": " : "", why ? why : "");
	}
	if (json_is_object(t = json_object_get(a, "tokens")))
		printf("  tokens: %lld of %lld in %s\n",
		    (long long)json_integer_value(json_object_get(t, "used")),
		    (long long)json_integer_value(json_object_get(t, "budget")),
		    dur_format(json_integer_value(json_object_get(t, "window")),
		    win, sizeof(win)));
	if (json_object_get(a, "error"))
		printf("  error: %s\n", json_string_value(
		    json_object_get(a, "error")));
	if (json_object_get(a, "git_problem"))
		printf("  git: %s\n", json_string_value(
		    json_object_get(a, "git_problem")));
}

static void
print_status(json_t *doc)
{
	json_t *arr = json_object_get(doc, "agents"), *a;
	int64_t now = util_now_ms();
	size_t i;
	char last[32], next[32], left[32];

	printf("%-16s %-12s %4s %-19s %-19s %-8s %-11s %6s %s\n", "NAME",
	    "STATE", "HITS", "LAST", "NEXT", "LEFT", "OUTCOME", "STREAK",
	    "RUNNING");
	json_array_foreach(arr, i, a) {
		int64_t n = json_integer_value(json_object_get(a, "next_tick"));
		const char *st = json_string_value(json_object_get(a, "state"));
		const char *oc = json_string_value(json_object_get(a,
		    "last_outcome"));
		int qp = (int)json_integer_value(json_object_get(a,
		    "queue_place"));
		char run[32];

		args_when(last, sizeof(last), json_integer_value(
		    json_object_get(a, "last_run")));
		next_text(next, sizeof(next), a, n);
		if (n > 0)
			dur_format(n > now ? n - now : 0, left, sizeof(left));
		else
			snprintf(left, sizeof(left), "n/a");
		if (json_is_true(json_object_get(a, "running")))
			snprintf(run, sizeof(run), "yes");
		else if (qp > 0)
			snprintf(run, sizeof(run), "queued #%d", qp);
		else if (json_is_object(json_object_get(a, "paused")))
			snprintf(run, sizeof(run), "paused");
		else
			snprintf(run, sizeof(run), "no");
		printf("%-16s %-12s %4d %-19s %-19s %-8s %-11s %6d %s\n",
		    json_string_value(json_object_get(a, "name")),
		    st && *st ? st : "-",
		    (int)json_integer_value(json_object_get(a, "hits")), last,
		    next, left, oc && *oc ? oc : "-",
		    (int)json_integer_value(json_object_get(a, "streak")), run);
		print_details(a, now);
	}
	if (json_object_get(doc, "crew_error"))
		printf("crew error (last good manifest still runs): %s\n",
		    json_string_value(json_object_get(doc, "crew_error")));
}

/* The daemon's document, or NULL when none answers. */
static json_t *
ask_daemon(const char *data)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *doc = NULL;
	json_error_t je;
	FILE *f;

	if (preflight_lock_holder(data) == 0 ||
	    (f = ctl_ask(data, "status\n")) == NULL)
		return NULL;
	if (getline(&line, &cap, f) > 0)
		doc = json_loads(line, 0, &je);
	free(line);
	fclose(f);
	return doc;
}

int
cmd_status(int argc, char **argv, const struct settings *settings)
{
	struct args a;
	struct crew *c = NULL;
	struct offline off = { 0 };
	char *data;
	json_t *doc;
	int rc;

	if ((rc = args_parse(argc, argv, usage, ARG_CREW ARG_DATA ARG_JSON,
	    &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    usage);
		return EXIT_USAGE;
	}
	if (a.o.crew)
		a.o.def = NULL;
	if ((data = args_data_dir(&a, settings, &c)) == NULL)
		return EXIT_CONFIG;
	doc = ask_daemon(data);
	if (doc == NULL && c == NULL) {
		fprintf(stderr, "keeper: no daemon on %s; give --crew FILE to "
		    "read the state files\n", data);
		free(data);
		return 1;
	}
	if (doc == NULL) {
		offline_read(&off, c, data, a.o.crew == NULL, settings->tz);
		doc = status_cli(off.st, off.n, NULL, 0, data);
		/* The state files still say where each agent stands; what the
		 * history would add is missing, and that is said. */
		if (off.history[0]) {
			fprintf(stderr, "keeper: the history cannot be read, so "
			    "OUTCOME and STREAK are blank: %s\n", off.history);
			rc = 1;
		}
		offline_release(&off);
	}
	if (a.json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_status(doc);
	}
	json_decref(doc);
	if (c)
		crew_free(c);
	free(data);
	return rc;
}
