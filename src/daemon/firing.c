/*
 * firing: see firing.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firing.h"
#include "log.h"
#include "statefile.h"
#include "statesync.h"
#include "store.h"
#include "util.h"

struct zone_ent {
	char		*name;		/* NULL: the machine's */
	struct cal_zone	*z;
};

struct firing_zones {
	char		*tz;
	struct zone_ent	*v;
	size_t		 n;
};

struct firing_zones *
firing_zones_new(const char *tz)
{
	struct firing_zones *zs = xcalloc(1, sizeof(*zs));

	zs->tz = tz ? xstrdup(tz) : NULL;
	return zs;
}

void
firing_zones_free(struct firing_zones *zs)
{
	if (zs == NULL)
		return;
	for (size_t i = 0; i < zs->n; i++) {
		free(zs->v[i].name);
		cal_zone_free(zs->v[i].z);
	}
	free(zs->v);
	free(zs->tz);
	free(zs);
}

struct cal_zone *
firing_zone(struct firing_zones *zs, const char *name, char *err,
    size_t errlen)
{
	struct cal_zone *z;

	for (size_t i = 0; i < zs->n; i++)
		if ((name == NULL && zs->v[i].name == NULL) ||
		    (name != NULL && zs->v[i].name != NULL &&
		    strcmp(name, zs->v[i].name) == 0))
			return zs->v[i].z;
	z = name ? cal_zone_open(name, err, errlen) :
	    cal_zone_open_machine(zs->tz, err, errlen);
	if (z == NULL)
		return NULL;
	zs->v = xrealloc(zs->v, (zs->n + 1) * sizeof(*zs->v));
	zs->v[zs->n].name = name ? xstrdup(name) : NULL;
	zs->v[zs->n].z = z;
	zs->n++;
	return z;
}

/* FNV-1a over the schedule as written, the zone and the jitter. */
static uint64_t
sched_sig(const char *text, const char *zone, int64_t jitter)
{
	uint64_t h = 1469598103934665603ULL;
	char j[32];
	const char *parts[3] = { text ? text : "", zone, j };

	snprintf(j, sizeof(j), "%" PRId64, jitter);
	for (size_t i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h ? h : 1;
}

static void put_cursor(struct firing *, const struct firing_ctx *, int64_t);

int
firing_bind(struct firing *f, const struct firing_ctx *cx,
    const struct crew *c, const struct crew_member *m, int64_t now,
    char *err, size_t errlen)
{
	const char *zn = m && m->tz ? m->tz : "";
	struct cal_zone *z;
	int64_t jitter;
	uint64_t sig;

	if (m == NULL || !m->calendar) {
		int was = f->on;

		f->on = 0;
		return was;
	}
	z = firing_zone(cx->zones, *zn ? zn : NULL, err, errlen);
	if (z == NULL) {
		f->on = 0;
		return 1;
	}
	jitter = cal_jitter_ms(c->title, m->name, m->jitter_ms);
	sig = sched_sig(m->schedule, zn, jitter);
	f->catch_up_ms = m->catch_up_ms;
	if (f->on && f->sig == sig)
		return 0;
	if (f->cursor_path == NULL)
		f->cursor_path = statefile_path(cx->data, SF_LAST_FIRE,
		    cx->singleton ? NULL : cx->name);
	f->sched = m->cal;
	f->zone = z;
	snprintf(f->zone_name, sizeof(f->zone_name), "%s", zn);
	f->jitter_ms = jitter;
	f->sig = sig;
	f->armed_base_ms = FIRE_NONE;
	f->run_base_ms = f->run_due_ms = FIRE_NONE;
	if (f->on) {
		/* Changed while running: its calendar starts now. */
		f->loaded = 1;
		put_cursor(f, cx, now);
	}
	f->on = 1;
	return 1;
}

static void
put_cursor(struct firing *f, const struct firing_ctx *cx, int64_t ms)
{
	char buf[80];
	int n;

	f->cursor_ms = ms;
	if (cx->sync == NULL)		/* a reader without a daemon */
		return;
	n = statefile_format_last_fire(ms, f->sig, buf, sizeof(buf));
	statesync_put(cx->sync, f->cursor_path, buf, (size_t)n);
}

/* The cursor from its file; none starts the calendar at now (kept, so a
 * restart before the first fire still counts the ones it missed). */
static void
load_cursor(struct firing *f, const struct firing_ctx *cx, int64_t now)
{
	char err[512];
	int64_t ms;
	uint64_t sig;

	if (f->loaded)
		return;
	f->loaded = 1;
	switch (statefile_read_last_fire(f->cursor_path, &ms, &sig, err,
	    sizeof(err))) {
	case 0:
		if (sig == f->sig) {
			f->cursor_ms = ms;
			return;
		}
		log_info("agent=%s event=schedule-changed msg=\"the calendar "
		    "starts now\"", cx->name);
		break;
	case 2:
		log_warnx("agent=%s event=state-file-ignored msg=%s",
		    cx->name, log_qv(err));
		break;
	}
	put_cursor(f, cx, now);
}

/* Why a missed fire did not run, for its history row. */
static const char *
missed_why(const struct firing *f, const struct fire_plan *p, int paused)
{
	if (paused)
		return "missed: the member was paused";
	if (p->run_base_ms != FIRE_NONE)
		return "missed: a newer fire was due; that one ran (catch-up)";
	if (f->catch_up_ms == 0)
		return "missed: not caught up (:CATCH-UP: 0)";
	return "missed: older than :CATCH-UP:";
}

unsigned
firing_plan(struct firing *f, const struct firing_ctx *cx, int64_t now,
    int paused, struct fire_plan *p)
{
	struct fire_in in = {
		.sched = &f->sched,
		.zone = f->zone,
		.jitter_ms = f->jitter_ms,
		.now_ms = now,
		.catch_up_ms = f->catch_up_ms,
		.hold_until_ms = f->hold_until_ms,
		.armed_base_ms = f->armed_base_ms,
		.paused = paused,
	};
	struct run_rec r;
	const char *why;

	load_cursor(f, cx, now);
	in.cursor_ms = f->cursor_ms;
	fire_plan(&in, p);
	if (p->nmissed_all == 0)
		return 0;
	why = missed_why(f, p, paused);
	if (p->nmissed_all > p->nmissed)
		log_warnx("agent=%s event=missed count=%" PRIu64
		    " recorded=%zu msg=\"only the newest missed fires get a "
		    "history row\"",
		    cx->name, p->nmissed_all, p->nmissed);
	else
		log_warnx("agent=%s event=missed count=%zu msg=%s", cx->name,
		    p->nmissed, log_qv(why));
	for (size_t i = 0; cx->store != NULL && i < p->nmissed; i++) {
		memset(&r, 0, sizeof(r));
		r.agent = cx->name;
		r.trigger = "schedule";
		r.state = "";
		r.repeat = 1;
		r.scheduled_ms = p->missed[i];
		r.ended_ms = now;
		r.outcome = OUTCOME_MISSED;
		r.exit_code = -1;
		r.tokens_prompt = r.tokens_completion = -1;
		r.error = why;
		r.daemon_pid = cx->pid;
		if (store_record(cx->store, &r) < 0) {
			log_warnx("agent=%s event=history-write-failed msg=%s",
			    cx->name, log_qv(store_errmsg(cx->store)));
			break;
		}
	}
	put_cursor(f, cx, p->missed_cursor_ms);
	return (unsigned)p->nmissed;
}

void
firing_take(struct firing *f, const struct firing_ctx *cx,
    const struct fire_plan *p)
{
	f->run_base_ms = p->run_base_ms;
	f->run_due_ms = p->run_due_ms;
	f->run_catch_up = p->catch_up;
	f->armed_base_ms = FIRE_NONE;
	f->hold_until_ms = 0;		/* BOOT-GRACE is for boot's own */
	put_cursor(f, cx, p->run_base_ms);
}

int64_t
firing_next_due(struct firing *f, const struct firing_ctx *cx, int64_t now)
{
	load_cursor(f, cx, now);
	return fire_next(&f->sched, f->zone, f->jitter_ms, f->cursor_ms > now ?
	    f->cursor_ms : now - (f->jitter_ms > 0 ? f->jitter_ms : 0), NULL);
}

void
firing_release(struct firing *f)
{
	free(f->cursor_path);
	memset(f, 0, sizeof(*f));
}
