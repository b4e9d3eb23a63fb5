/*
 * cmd-agenda: `keeper agenda` (SPEC §9): every member's coming fires in
 * time order, calendar and interval alike, like an org agenda. From the
 * daemon when one runs on the data directory (its armed timers), else
 * from the manifest and the state files: a calendar member's cursor
 * (keeper-last-fire-NAME), an interval member's last run projected at
 * its base cadence, the pauses. Both are agenda.c's document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agenda.h"
#include "args.h"
#include "cmd.h"
#include "crew.h"
#include "ctl.h"
#include "dur.h"
#include "firing.h"
#include "pause.h"
#include "preflight.h"
#include "settings.h"
#include "statefile.h"
#include "util.h"

static const char usage[] =
    "usage: keeper agenda [--crew FILE] [--data DIR] [--hours H] [--json]\n";

static json_t *
ask_daemon(const char *data, double hours)
{
	char *line = NULL, req[64];
	size_t cap = 0;
	json_t *doc = NULL;
	json_error_t je;
	FILE *f;

	snprintf(req, sizeof(req), "agenda %.6g\n", hours);
	if (preflight_lock_holder(data) == 0 || (f = ctl_ask(data, req)) ==
	    NULL)
		return NULL;
	if (getline(&line, &cap, f) > 0)
		doc = json_loads(line, 0, &je);
	free(line);
	fclose(f);
	if (doc != NULL && !json_is_array(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

/* The document from the files: no daemon holds the data directory. */
static json_t *
offline(const struct crew *c, const char *data, int singleton,
    const struct settings *set, int64_t now, int64_t until)
{
	struct firing_zones *zs = firing_zones_new(set->tz);
	struct agenda_src *src = xcalloc(c->nmembers + 1, sizeof(*src));
	struct firing *fs = xcalloc(c->nmembers + 1, sizeof(*fs));
	char (*text)[40] = xcalloc(c->nmembers + 1, sizeof(*text));
	char err[512];
	json_t *doc;

	for (size_t i = 0; i < c->nmembers; i++) {
		const struct crew_member *m = &c->members[i];
		struct firing_ctx cx = { .data = data, .name = m->name,
		    .singleton = singleton, .zones = zs };
		struct agenda_src *a = &src[i];
		struct pause p;
		int64_t last = 0;
		char *path;

		a->name = m->name;
		if (statefile_paused(data, m->name, now, &p)) {
			a->paused = 1;
			a->paused_until_ms = p.until_ms;
		}
		if (m->calendar && firing_bind(&fs[i], &cx, c, m, now, err,
		    sizeof(err)) >= 0 && fs[i].on) {
			(void)firing_next_due(&fs[i], &cx, now);
			a->calendar = 1;
			a->schedule = m->schedule;
			a->sched = &fs[i].sched;
			a->zone = fs[i].zone;
			a->jitter_ms = fs[i].jitter_ms;
			a->cursor_ms = fs[i].cursor_ms;
			continue;
		}
		a->base_ms = m->continuous ? c->breather_ms : m->interval_ms;
		if (m->continuous)
			snprintf(text[i], sizeof(text[i]), "continuous");
		else
			dur_format(m->interval_ms, text[i], sizeof(text[i]));
		a->schedule = text[i];
		path = statefile_path(data, SF_LAST_RUN, singleton ? NULL :
		    m->name);
		if (statefile_read_last_run(path, &last, err, sizeof(err)) ==
		    0 && last + a->base_ms > now)
			a->next_ms = last + a->base_ms;
		free(path);
	}
	doc = agenda_json(src, c->nmembers, firing_zone(zs, NULL, err,
	    sizeof(err)), now, until);
	for (size_t i = 0; i < c->nmembers; i++)
		firing_release(&fs[i]);
	free(fs);
	free(text);
	free(src);
	firing_zones_free(zs);
	return doc;
}

static void
print_agenda(json_t *doc)
{
	json_t *e;
	size_t i;

	printf("%-25s %-16s %-8s %s\n", "AT", "AGENT", "KIND", "SCHEDULE");
	json_array_foreach(doc, i, e)
		printf("%-25s %-16s %-8s %s%s\n",
		    json_string_value(json_object_get(e, "local")),
		    json_string_value(json_object_get(e, "agent")),
		    json_string_value(json_object_get(e, "kind")),
		    json_string_value(json_object_get(e, "schedule")),
		    json_is_true(json_object_get(e, "paused")) ? " (paused)" :
		    "");
}

int
cmd_agenda(int argc, char **argv, const struct settings *settings)
{
	struct args a;
	struct crew *c = NULL;
	char *data;
	json_t *doc;
	int64_t now = util_now_ms();
	int rc;

	if ((rc = args_parse(argc, argv, usage, ARG_CREW ARG_DATA ARG_JSON
	    ARG_HOURS, &a)) != 0)
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
	doc = ask_daemon(data, a.hours);
	if (doc == NULL && c == NULL) {
		fprintf(stderr, "keeper: no daemon on %s; give --crew FILE to "
		    "read the state files\n", data);
		free(data);
		return 1;
	}
	if (doc == NULL)
		doc = offline(c, data, a.o.crew == NULL, settings, now, now +
		    (int64_t)(a.hours * 3600000.0));
	if (a.json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		print_agenda(doc);
	json_decref(doc);
	if (c)
		crew_free(c);
	free(data);
	return 0;
}
