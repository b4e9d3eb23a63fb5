/*
 * role: the daemon's place in a fleet of keepers (see role.h).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "daemon.h"
#include "fence.h"
#include "fleet.h"
#include "forward.h"
#include "fs.h"
#include "log.h"
#include "role.h"
#include "statesync.h"
#include "status.h"
#include "store.h"
#include "table.h"
#include "util.h"
#include "worker.h"

#define ROLE_POLL_MS	100	/* while the fleet and the clock disagree */
#define STREAK_PREFIX	"no-work-streak-"
#define RUN_IDS		"run-ids"
#define ROLE_RUN_ID_GAP	100	/* ids a new active keeper skips */

struct role {
	struct daemon	*d;
	struct fleet	*f;
	struct fence	 fence;
	struct forward	*fw;		/* run-once across the fleet */
	_Atomic int	 ready;		/* active, state imported */
	int		 importing;	/* our own writes: not mirrored */
	int64_t		 run_floor;	/* highest run id put */
	uint64_t	 became;	/* the fleet's activations imported */
	/* Members that were mid-tick when this keeper became active (a run
	 * killed when it last lost the lease, its partial commit): adopted
	 * when that tick ends, name -> streak + 1 (0: none known). */
	struct table	 pending;
	struct fleet_state *st;		/* the imported state, while pending */
	size_t		 nst;
	uv_timer_t	 timer;
	int		 open_handles;
	int		 closing;
};

static int
role_live(void *arg)
{
	struct role *r = arg;

	return atomic_load(&r->ready) && fleet_live(r->f);
}

static int64_t
role_lease(void *arg)
{
	return fleet_lease(((struct role *)arg)->f);
}

static const char *state_file_member(const char *);

/* Every state file the daemon writes goes to etcd as well, while this
 * keeper is the active one. */
static void
mirror(const char *name, const char *data, size_t len, void *arg)
{
	struct role *r = arg;
	const char *m;

	/* A tick that began before this keeper became active writes this
	 * keeper's old state, never the crew's. */
	if (!atomic_load(&r->ready) || r->importing || ((m =
	    state_file_member(name)) != NULL && *m != '\0' &&
	    table_get(&r->pending, m) != NULL))
		return;
	fleet_put(r->f, name, data, len);
}

static void
put_floor(struct role *r)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", r->run_floor);

	fleet_put(r->f, RUN_IDS, buf, (size_t)n);
}

/* The member a state file is of: the name after its kind's prefix, ""
 * for the singleton's forms; NULL when name is no state file this
 * keeper may write into its data directory. */
static const char *
state_file_member(const char *name)
{
	static const char *const kinds[] = { "keeper-last-run",
	    "lifecycle-pos", "pause", "keeper-last-fire" };
	size_t n;

	if (strchr(name, '/') != NULL || name[0] == '.')
		return NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i]);
		if (strncmp(name, kinds[i], n) != 0)
			continue;
		if (name[n] == '\0')
			return name + n;
		if (name[n] == '-')
			return name + n + 1;
	}
	return NULL;
}

/* Write the imported state files (only member's, when not NULL): now,
 * for the workers to read, and through the group commit, so that no
 * older write pending there lands after them. */
static size_t
write_state(struct role *r, const char *member)
{
	struct daemon *d = r->d;
	const char *m;
	char *path, err[256];
	size_t files = 0;

	r->importing = 1;
	for (size_t i = 0; i < r->nst; i++) {
		if ((m = state_file_member(r->st[i].name)) == NULL ||
		    (member != NULL && *m != '\0' && strcmp(m, member) != 0))
			continue;
		path = xasprintf("%s/%s", daemon_data(d), r->st[i].name);
		if (fs_write_atomic(path, r->st[i].value, r->st[i].len, err,
		    sizeof(err)) == -1)
			log_warnx("event=lease-state-write-failed msg=%s",
			    log_qv(err));
		statesync_put(daemon_statesync(d), path, r->st[i].value,
		    r->st[i].len);
		free(path);
		files++;
	}
	r->importing = 0;
	return files;
}

/* The imported state is kept while a member that was mid-tick has not
 * been adopted. */
static void
drop_state(struct role *r)
{
	if (r->pending.n > 0)
		return;
	fleet_state_free(r->st, r->nst);
	r->st = NULL;
	r->nst = 0;
}

/* The state the last active keeper left replaces ours: files first (the
 * workers read them), the streaks and the run id floor, then every
 * member armed from it. A member mid-tick (a run killed when this keeper
 * last lost the lease, finishing) is adopted when that tick ends. */
static void
import_state(struct role *r)
{
	struct daemon *d = r->d;
	struct table streaks = { .flags = TABLE_COPY };
	struct table_ent *e, *p;
	size_t files;
	int64_t now = util_now_ms(), floor;
	int added;

	table_clear(&r->pending);
	fleet_state_free(r->st, r->nst);
	r->st = fleet_take_state(r->f, &r->nst);
	for (size_t i = 0; i < r->nst; i++) {
		if (strncmp(r->st[i].name, STREAK_PREFIX,
		    strlen(STREAK_PREFIX)) == 0) {
			e = table_put(&streaks, r->st[i].name +
			    strlen(STREAK_PREFIX), &added);
			e->v.num = strtoul(r->st[i].value, NULL, 10);
		} else if (strcmp(r->st[i].name, RUN_IDS) == 0) {
			floor = strtoll(r->st[i].value, NULL, 10);
			if (floor > r->run_floor)
				r->run_floor = floor;
		}
	}
	files = write_state(r, NULL);
	/* Run ids are unique across the keepers: past every id the crew
	 * is known to have used, and past the runs the last active keeper
	 * may have started without saying so (it died mid-run, or before
	 * its last put reached etcd). The new floor is put at once. */
	if (daemon_store(d) != NULL) {
		floor = store_last_run_id(daemon_store(d));
		if (floor > r->run_floor)
			r->run_floor = floor;
		r->run_floor += ROLE_RUN_ID_GAP;
		(void)store_raise_run_floor(daemon_store(d), r->run_floor);
		put_floor(r);
	}
	for (size_t i = 0; i < daemon_nworkers(d); i++) {
		struct worker *w = daemon_worker(d, i);

		e = table_get(&streaks, worker_name(w));
		if (worker_busy(w)) {
			p = table_put(&r->pending, worker_name(w), &added);
			p->v.num = e ? e->v.num + 1 : 0;
			continue;
		}
		worker_adopt(w, now, e ? (long)e->v.num : -1);
	}
	log_info("event=lease-state-imported files=%zu streaks=%zu "
	    "mid_tick=%zu", files, streaks.n, r->pending.n);
	table_release(&streaks);
	drop_state(r);
}

static void	sync_role(struct role *);

static void
on_timer(uv_timer_t *t)
{
	sync_role(t->data);
}

/* The role the daemon has agrees with the fleet and the clock: made
 * active (state first), made standby, and the timer set for the next
 * moment the answer may change. */
static void
sync_role(struct role *r)
{
	int live = fleet_live(r->f);
	int64_t until, wait;
	uint64_t requests, became;
	char *act;

	if (r->closing)
		return;
	/* Lost and won again before the loop heard of it: another keeper
	 * may have run the crew meanwhile. Standby first, then active
	 * again from the crew's state. */
	fleet_counters(r->f, &requests, &became);
	if (live && atomic_load(&r->ready) && became != r->became) {
		atomic_store(&r->ready, 0);
		forward_serve(r->fw, 0);
		daemon_standby(r->d);
	}
	if (live && !atomic_load(&r->ready)) {
		r->became = became;
		import_state(r);
		atomic_store(&r->ready, 1);
		log_info("event=role role=active lease=%" PRIx64,
		    (uint64_t)fleet_lease(r->f));
		forward_serve(r->fw, 1);
	} else if (!live && atomic_load(&r->ready)) {
		atomic_store(&r->ready, 0);
		forward_serve(r->fw, 0);
		log_warnx("event=role role=standby msg=\"the lease lapsed or "
		    "was lost: runs killed, nothing pushed\"");
		daemon_standby(r->d);
	}
	act = fleet_active(r->f);
	daemon_set_role(r->d, atomic_load(&r->ready) ? "active" : "standby",
	    act);
	free(act);
	until = fleet_live_until(r->f);
	if (atomic_load(&r->ready) && until > 0) {
		wait = until - util_mono_ms();
		uv_timer_start(&r->timer, on_timer, (uint64_t)(wait > 0 ?
		    wait : 0), 0);
	} else if (fleet_role(r->f) == FLEET_ACTIVE && !live)
		uv_timer_start(&r->timer, on_timer, ROLE_POLL_MS, 0);
	else
		uv_timer_stop(&r->timer);
}

static void
on_fleet(struct fleet *f, void *arg)
{
	(void)f;
	sync_role(arg);
}

/* Each tick's no-work streak and run id go to etcd with the files. */
static void
on_daemon(struct daemon *d, enum daemon_event ev, struct worker *w,
    void *arg)
{
	struct role *r = arg;
	struct agent_status s;
	struct worker_last l;
	struct table_ent *e;
	char name[256], buf[32];
	int64_t id;
	int n;

	(void)d;
	if (ev != DAEMON_TICK_DONE || w == NULL || !atomic_load(&r->ready))
		return;
	/* Its tick began before this keeper became active: its schedule
	 * (a killed run's backoff) is not the crew's. */
	if ((e = table_get(&r->pending, worker_name(w))) != NULL) {
		long streak = (long)e->v.num - 1;

		(void)table_del(&r->pending, worker_name(w));
		(void)write_state(r, worker_name(w));
		worker_adopt(w, util_now_ms(), streak);
		drop_state(r);
		return;
	}
	worker_status(w, &s);
	snprintf(name, sizeof(name), STREAK_PREFIX "%s", worker_name(w));
	n = snprintf(buf, sizeof(buf), "%d\n", s.no_work_streak);
	fleet_put(r->f, name, buf, (size_t)n);
	worker_last(w, &l);
	id = l.run_id ? strtoll(l.run_id, NULL, 10) : 0;
	if (id > r->run_floor) {
		r->run_floor = id;
		put_floor(r);
	}
}

/* run-once asked of a standby: the active keeper runs it. */
static void
forward(struct daemon *d, struct ctl_client *c, const char *name, void *arg)
{
	struct role *r = arg;

	(void)d;
	forward_ask(r->fw, c, name);
}

/* What the leader key holds while this keeper is active: who to ask. */
static char *
identity(struct daemon *d, const char *listen)
{
	char host[256];
	json_t *o;
	char *s;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	o = json_pack("{s:s, s:I, s:s, s:s}", "host", host, "pid",
	    (json_int_t)daemon_pid(d), "listen", listen ? listen : "",
	    "data", daemon_data(d));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

struct role *
role_new(struct daemon *d, const char *urls, char *err, size_t errlen)
{
	struct role *r = xcalloc(1, sizeof(*r));
	const struct crew *c = daemon_crew(d);
	struct fleet_opts o;
	int64_t ttl = c->lease_ttl_ms;
	char *id;

	if (ttl < ROLE_TTL_MIN_MS) {
		log_warnx("event=lease-ttl-raised from_ms=%" PRId64
		    " to_ms=%d msg=\"etcd grants no shorter lease\"", ttl,
		    ROLE_TTL_MIN_MS);
		ttl = ROLE_TTL_MIN_MS;
	}
	r->d = d;
	r->pending.flags = TABLE_COPY;
	r->fence = (struct fence){ role_live, role_lease, r };
	id = identity(d, daemon_listen(d));
	memset(&o, 0, sizeof(o));
	o.loop = daemon_loop(d);
	o.urls = urls;
	o.crew = c->title ? c->title : "keeper";
	o.ttl_ms = ttl;
	o.identity = id;
	o.wait_identity = 1;	/* role_set_listen(): the bound address */
	o.changed = on_fleet;
	o.arg = r;
	/* Fenced before the fleet's thread can make us active. */
	daemon_fence(d, &r->fence, forward, r);
	daemon_set_role(d, "standby", NULL);
	statesync_mirror(daemon_statesync(d), mirror, r);
	uv_timer_init(daemon_loop(d), &r->timer);
	r->timer.data = r;
	r->open_handles = 1;
	if ((r->f = fleet_start(&o, err, errlen)) == NULL) {
		free(id);
		statesync_mirror(daemon_statesync(d), NULL, NULL);
		daemon_fence(d, NULL, NULL, NULL);
		daemon_set_role(d, NULL, NULL);
		uv_close((uv_handle_t *)&r->timer, NULL);
		/* The timer's memory is r's: freed once it has closed. */
		uv_run(daemon_loop(d), UV_RUN_NOWAIT);
		free(r);
		return NULL;
	}
	free(id);
	r->fw = forward_new(d, urls, o.crew, ttl);
	daemon_observe(d, on_daemon, r);
	log_info("event=lease-start urls=%s crew=%s ttl_ms=%" PRId64,
	    log_qv(urls), log_qv(o.crew), ttl);
	return r;
}

void
role_set_listen(struct role *r, const char *addr)
{
	char *id;

	if (r == NULL)
		return;
	id = identity(r->d, addr);
	fleet_set_identity(r->f, id);
	free(id);
}

static void
closed(uv_handle_t *h)
{
	struct role *r = h->data;

	if (--r->open_handles == 0) {
		table_release(&r->pending);
		fleet_state_free(r->st, r->nst);
		free(r);
	}
}

void
role_close(struct role *r)
{
	if (r == NULL)
		return;
	r->closing = 1;
	atomic_store(&r->ready, 0);
	daemon_observe(r->d, NULL, r);
	statesync_mirror(daemon_statesync(r->d), NULL, NULL);
	daemon_fence(r->d, NULL, NULL, NULL);
	fleet_stop(r->f);	/* resigns; frees in the final uv_run */
	forward_close(r->fw);
	uv_close((uv_handle_t *)&r->timer, closed);
}
