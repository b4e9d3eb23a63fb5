/*
 * daemon: the loop, the lock, boot recovery, hot reload, signals and the
 * control socket's requests, and the workers' shared environment. See
 * daemon.h.
 *
 * The daemon has no periodic timer of its own: an idle daemon sleeps in
 * epoll until a worker's timer is due, the manifest changes, a signal or
 * a CLI connection arrives (housekeeping's timer is its observer's).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>

#include "child.h"
#include "clockwatch.h"
#include "ctl.h"
#include "daemon.h"
#include "diag.h"
#include "dur.h"
#include "fence.h"
#include "filesig.h"
#include "fs.h"
#include "firing.h"
#include "gate.h"
#include "gitq.h"
#include "log.h"
#include "preflight.h"
#include "redact.h"
#include "runlive.h"
#include "repo.h"
#include "runids.h"
#include "sentinel.h"
#include "settings.h"
#include "statesync.h"
#include "store.h"
#include "util.h"
#include "worker.h"

#define DAEMON_OBSERVERS	6

struct observer {
	daemon_observer_fn	 fn;
	void			*arg;
};

struct daemon {
	uv_loop_t	*loop;
	struct daemon_opts opts;
	int		 singleton;
	char		*manifest;	/* absolute crew path, or NULL */
	struct file_sig	 manifest_sig;
	struct crew	*crew;		/* the last good manifest */
	struct redactor	*redactor;	/* built-ins + the crew's #+REDACT: */
	char		*crew_error;	/* why the current file is not used */
	char		*repo;		/* absolute tenant repo */
	char		*data;		/* absolute data dir */
	char		*self_exe;
	int		 exec_lean;	/* self_exe is keeper-exec, not keeper */
	struct child_spawner *spawner;	/* forks runs (child.h), or NULL */
	int		 lock_fd;
	int		 repo_lock_fd;	/* one keeper per work tree */
	struct store	*store;
	struct runlive	*live;		/* runs in flight (/_runs/ID) */
	struct statesync *sync;		/* state files, group-committed */
	struct gitq	*git;		/* commits, partial refs, integration */
	char		*dbpath;
	uv_work_t	 ckpt;		/* a WAL checkpoint on the pool */
	int		 ckpt_busy;
	struct store_ckpt *ckpt_conn;	/* its connection, pool-only */
	struct gate	 gate;
	struct worker_env env;		/* lent to every worker */
	struct firing_zones *zones;	/* calendar members' zones */
	struct clockwatch *clock;	/* the realtime clock was set */
	struct worker	**workers;	/* manifest order; removed-but-busy
					   ones last */
	size_t		 nworkers;
	int64_t		 boot_ms;
	int		 draining;
	int		 exit_code;
	long		 pid;
	char		*notice;	/* what the operator should know (a
					   damaged history moved aside) */

	struct observer	 obs[DAEMON_OBSERVERS];
	size_t		 nobs;

	uv_fs_event_t	 watch;
	uv_timer_t	 settle;	/* manifest re-read after writes settle */
	int		 watching;
	uv_signal_t	 sig_term, sig_int, sig_hup;
	int		 signals;
	struct ctl	*ctl;		/* keeper.sock */

	/* SPEC §12 (role.h): the fence, and what status says of the role. */
	const struct fence *fence;
	char		*role, *active;
	daemon_forward_fn forward;
	void		*forward_arg;
};

static void	reload(struct daemon *, int force);
static int	has_worker(const struct daemon *, const struct worker *);
static void	wal_full(void *);

/* ---- observers ---- */

void
daemon_observe(struct daemon *d, daemon_observer_fn fn, void *arg)
{
	for (size_t i = 0; i < d->nobs; i++)
		if (d->obs[i].arg == arg) {
			if (fn != NULL) {
				d->obs[i].fn = fn;
				return;
			}
			memmove(d->obs + i, d->obs + i + 1, (d->nobs - i - 1) *
			    sizeof(d->obs[0]));
			d->nobs--;
			return;
		}
	if (fn == NULL)
		return;
	if (d->nobs == DAEMON_OBSERVERS)
		fatalx("daemon: more than %d observers", DAEMON_OBSERVERS);
	d->obs[d->nobs].fn = fn;
	d->obs[d->nobs++].arg = arg;
}

static void
emit(struct daemon *d, enum daemon_event ev, struct worker *w)
{
	for (size_t i = 0; i < d->nobs; i++)
		d->obs[i].fn(d, ev, w, d->obs[i].arg);
}

void
daemon_changed(struct daemon *d)
{
	emit(d, DAEMON_CHANGED, NULL);
}

/* ---- accessors ---- */

uv_loop_t *
daemon_loop(struct daemon *d)
{
	return d->loop;
}

const char *
daemon_data(const struct daemon *d)
{
	return d->data;
}

const char *
daemon_repo(const struct daemon *d)
{
	return d->repo;
}

const char *
daemon_listen(const struct daemon *d)
{
	return d->opts.listen;
}

const struct settings *
daemon_settings(const struct daemon *d)
{
	return d->opts.settings;
}

long
daemon_pid(const struct daemon *d)
{
	return d->pid;
}

int
daemon_draining(const struct daemon *d)
{
	return d->draining;
}

const struct crew *
daemon_crew(const struct daemon *d)
{
	return d->crew;
}

struct redactor *
daemon_redactor(struct daemon *d)
{
	return d->redactor;
}

struct store *
daemon_store(struct daemon *d)
{
	return d->store;
}

struct statesync *
daemon_statesync(struct daemon *d)
{
	return d->sync;
}

struct gate *
daemon_gate(struct daemon *d)
{
	return &d->gate;
}

struct runlive *
daemon_runlive(struct daemon *d)
{
	return d->live;
}

size_t
daemon_nworkers(const struct daemon *d)
{
	return d->nworkers;
}

struct worker *
daemon_worker(struct daemon *d, size_t i)
{
	return i < d->nworkers ? d->workers[i] : NULL;
}

void
daemon_status_crew(const struct daemon *d, struct status_crew *c)
{
	memset(c, 0, sizeof(*c));
	c->name = d->crew != NULL ? d->crew->title : NULL;
	c->error = d->crew_error;
	c->boot_ms = d->boot_ms;
	c->grace_ms = d->crew != NULL ? d->crew->boot_grace_ms : 0;
	c->notice = d->notice;
	c->history_error = d->store != NULL ? store_write_error(d->store,
	    &c->history_waiting) : NULL;
	c->role = d->role;
	c->active = d->active;
}

/* ---- the fleet's hooks (SPEC §12) ---- */

void
daemon_fence(struct daemon *d, const struct fence *f, daemon_forward_fn fwd,
    void *arg)
{
	d->fence = f;
	d->env.fence = f;
	/* The keeper that takes over starts from origin's work. */
	if (f != NULL)
		d->env.gitops = 1;
	d->forward = fwd;
	d->forward_arg = arg;
	gitq_fence(d->git, f);
}

void
daemon_set_role(struct daemon *d, const char *role, const char *active)
{
	/* A new role is shown at once: a keeper that just went standby
	 * must not go on saying it is active. */
	int moved = (role == NULL) != (d->role == NULL) || (role != NULL &&
	    strcmp(role, d->role) != 0);

	free(d->role);
	free(d->active);
	d->role = role ? xstrdup(role) : NULL;
	d->active = active ? xstrdup(active) : NULL;
	emit(d, moved ? DAEMON_FLUSH : DAEMON_CHANGED, NULL);
}

const struct fence *
daemon_fence_of(const struct daemon *d)
{
	return d->fence;
}

void
daemon_standby(struct daemon *d)
{
	size_t n = d->nworkers;
	struct worker **ws;

	/* The array may shrink under us (worker_unqueue() may free a
	 * removed worker): walk a copy, and skip what is gone. */
	ws = xcalloc(n + 1, sizeof(*ws));
	memcpy(ws, d->workers, n * sizeof(*ws));
	for (size_t i = 0; i < n; i++) {
		if (!has_worker(d, ws[i]))
			continue;
		worker_hold(ws[i]);
		worker_abort(ws[i]);	/* its work goes to a partial ref */
		if (has_worker(d, ws[i]))
			worker_unqueue(ws[i]);
	}
	free(ws);
}

/* ---- the lock and boot recovery ---- */

static int
take_lock(struct daemon *d, char *err, size_t errlen)
{
	char *path = xasprintf("%s/keeper.lock", d->data), buf[32];
	int fd, n, rc = -1;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = 1;
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = (int)read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "data directory %s is in use by keeper "
		    "pid %s", d->data, *buf ? buf : "?");
		close(fd);
		rc = EXIT_LOCKED;
		goto done;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		rc = 1;
		goto done;
	}
	d->lock_fd = fd;
	rc = 0;
done:
	free(path);
	return rc;
}

/* SPEC §8: a data directory inside the tenant work tree is refused unless
 * git ignores it (else keeper would commit its own state). */
static int
check_data_in_repo(struct daemon *d, char *err, size_t errlen)
{
	char *wd = NULL;
	int rc = 0;

	switch (preflight_data_in_tree(d->repo, d->data, &wd, NULL)) {
	case PF_OUTSIDE:
	case PF_IGNORED:
		break;
	case PF_NOT_IGNORED:
	case PF_IS_TREE:
		snprintf(err, errlen, "data directory %s is inside the work "
		    "tree %s and not ignored by git; use --data elsewhere or "
		    "add it to .gitignore", d->data, wd ? wd : d->repo);
		rc = -1;
		break;
	}
	free(wd);
	return rc;
}

/* Boot: a row still open was a run of a keeper that died. Kill what is
 * left of it: every process carrying its run id and our data dir in its
 * environment (that includes its process group, unless one cleared its
 * environment), then the group itself, but only when processes of the run
 * were found, so that a group id long since reused is never signalled. */
static void
kill_leftover(const struct run_rec *r, void *arg)
{
	struct daemon *d = arg;
	char id[32];
	int n;

	snprintf(id, sizeof(id), "%lld", (long long)r->id);
	n = child_sweep(id, d->data);
	if (n > 0 && r->pgid > 1)
		(void)kill(-(pid_t)r->pgid, SIGKILL);
	log_warnx("agent=%s event=interrupted run=%s pgid=%ld killed=%d",
	    r->agent, id, r->pgid, n);
}

/* Run ids are unique for the life of the tenant repo: never below what it
 * carries already. The partial refs are read at every start (a history
 * restored from a backup), the whole log only for a database that never
 * had a run. */
static void
spare_run_ids(struct daemon *d)
{
	int64_t last = store_last_run_id(d->store), max = 0;
	char err[256];

	if (last < 0 || runids_max(d->repo, last == 0, &max, err,
	    sizeof(err)) != 0 || max <= last)
		return;
	if (store_raise_run_floor(d->store, max) == 0)
		log_warnx("event=run-ids-raised from=%lld to=%lld msg=\"the "
		    "tenant repository has runs this history does not know: "
		    "new runs are numbered after them\"", (long long)last,
		    (long long)max);
}

/* The history, moved aside and started again when damaged (force: a
 * write found it so). What happened is logged, recorded in the new
 * history and shown (daemon_status_crew()'s notice). */
static int
open_store(struct daemon *d, int force, char *err, size_t errlen)
{
	char note[4096];
	struct run_rec r;
	int64_t carried = d->store ? store_last_run_id(d->store) : 0;

	if (d->store != NULL) {
		store_close(d->store);
		d->store = NULL;
	}
	if (store_open_recover(d->dbpath, force, &d->store, note, sizeof(note),
	    err, errlen) == -1)
		return -1;
	d->env.store = d->store;
	store_on_wal(d->store, wal_full, d);
	if (carried > 0)
		(void)store_raise_run_floor(d->store, carried);
	spare_run_ids(d);
	if (note[0] == '\0')
		return 0;
	log_warnx("event=history-reset msg=%s", log_qv(note));
	free(d->notice);
	d->notice = xstrdup(note);
	memset(&r, 0, sizeof(r));
	r.agent = "(keeper)";
	r.trigger = "boot";
	r.scheduled_ms = r.ended_ms = util_now_ms();
	r.outcome = OUTCOME_ERROR;
	r.exit_code = -1;
	r.error = note;
	r.tokens_prompt = r.tokens_completion = -1;
	r.daemon_pid = d->pid;
	(void)store_record(d->store, &r);
	return 0;
}

int
daemon_upkeep_store(struct daemon *d)
{
	char err[512];

	if (d->store == NULL)
		return 0;
	if (store_corrupt(d->store)) {
		/* The checkpoint's own connection must not outlive the file
		 * it checkpoints: wait for one in flight. */
		if (d->ckpt_busy)
			return 0;
		store_ckpt_close(d->ckpt_conn);
		d->ckpt_conn = NULL;
		if (open_store(d, 1, err, sizeof(err)) == -1) {
			log_warnx("event=history-reset-failed msg=%s",
			    log_qv(err));
			return -1;
		}
		emit(d, DAEMON_CHANGED, NULL);
		return 1;
	}
	if (store_write_error(d->store, NULL) != NULL &&
	    store_retry(d->store) == 0)
		emit(d, DAEMON_CHANGED, NULL);
	return 0;
}

/* ---- the workers ---- */

/* A standby (or a keeper whose lease may have lapsed) arms and starts
 * nothing. */
static int
holding(const struct daemon *d)
{
	return d->fence != NULL && !fence_live(d->fence);
}

static struct worker *
find_worker(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nworkers; i++)
		if (strcmp(worker_name(d->workers[i]), name) == 0)
			return d->workers[i];
	return NULL;
}

static int
has_worker(const struct daemon *d, const struct worker *w)
{
	for (size_t i = 0; i < d->nworkers; i++)
		if (d->workers[i] == w)
			return 1;
	return 0;
}

static int
any_busy(const struct daemon *d)
{
	for (size_t i = 0; i < d->nworkers; i++)
		if (worker_busy(d->workers[i]))
			return 1;
	return 0;
}

/* A worker's timer is due: the manifest first (it may retire the worker,
 * or change what it runs), then the tick. */
static void
worker_due(struct worker *w, void *arg)
{
	daemon_tick_now(arg, w);
}

void
daemon_tick_now(struct daemon *d, struct worker *w)
{
	if (holding(d)) {	/* armed again when it becomes active */
		worker_hold(w);
		return;
	}
	reload(d, 0);
	if (!has_worker(d, w) || worker_removed(w))
		return;
	(void)worker_tick(w, "schedule", NULL);
}

static void
worker_changed(struct worker *w, enum worker_news news, void *arg)
{
	(void)w;
	emit(arg, news == WORKER_SETTLED ? DAEMON_SETTLED : DAEMON_CHANGED,
	    NULL);
}

static void
worker_done(struct worker *w, void *arg)
{
	struct daemon *d = arg;

	emit(d, DAEMON_TICK_DONE, w);
	if (worker_removed(w) && !worker_busy(w)) {
		for (size_t i = 0; i < d->nworkers; i++)
			if (d->workers[i] == w) {
				memmove(d->workers + i, d->workers + i + 1,
				    (d->nworkers - i - 1) * sizeof(w));
				d->nworkers--;
				break;
			}
		worker_free(w);
	}
	if (d->draining && !any_busy(d)) {
		log_info("event=drained");
		uv_stop(d->loop);
	}
}

static void
worker_budget(struct worker *w, void *arg)
{
	emit(arg, DAEMON_BUDGET, w);
}

static size_t
live_runs(void *arg)
{
	struct daemon *d = arg;
	size_t n = 0;

	for (size_t i = 0; i < d->nworkers; i++)
		n += worker_running(d->workers[i]) != 0;
	return n;
}

static int
cmp_worker(const void *a, const void *b)
{
	return strcmp(worker_name(*(struct worker *const *)a),
	    worker_name(*(struct worker *const *)b));
}

static int
cmp_key(const void *k, const void *b)
{
	return strcmp(k, worker_name(*(struct worker *const *)b));
}

/* The crew's redaction patterns compiled; NULL with a message when one is
 * not valid PCRE2. */
static struct redactor *
build_redactor(const struct crew *c, char *err, size_t errlen)
{
	const char **pats = xcalloc(c->nredact + 1, sizeof(*pats));
	struct redactor *r;

	for (size_t i = 0; i < c->nredact; i++)
		pats[i] = c->redact[i].regex;
	r = redact_new(pats, c->nredact, err, errlen);
	free(pats);
	return r;
}

/* Swap in a newly parsed manifest: keep workers by name, add new ones,
 * retire removed ones (after their current tick). Every worker is bound
 * to the new crew before the old one is freed. */
static void
apply_crew(struct daemon *d, struct crew *nc, int boot)
{
	struct crew *old = d->crew;
	struct worker **sorted, **nw, **hit;
	char *used;
	size_t n = 0, nsorted = d->nworkers;
	int64_t now = util_now_ms();

	sorted = xcalloc(nsorted + 1, sizeof(*sorted));
	if (nsorted) {
		memcpy(sorted, d->workers, nsorted * sizeof(*sorted));
		qsort(sorted, nsorted, sizeof(*sorted), cmp_worker);
	}
	used = xcalloc(nsorted + 1, 1);
	nw = xcalloc(nc->nmembers + nsorted + 1, sizeof(*nw));
	d->crew = nc;
	gate_resize(&d->gate, d->singleton ? 0 : nc->concurrency, now);
	for (size_t i = 0; i < nc->nmembers; i++) {
		const struct crew_member *m = &nc->members[i];

		hit = nsorted ? bsearch(m->name, sorted, nsorted,
		    sizeof(*sorted), cmp_key) : NULL;
		if (hit && !used[hit - sorted]) {
			used[hit - sorted] = 1;
			worker_rebind(*hit, nc, m, i, d->redactor);
			nw[n++] = *hit;
			continue;
		}
		nw[n] = worker_new(&d->env, nc, m, i, d->redactor);
		if (d->draining)
			worker_stop(nw[n]);
		else if (!d->opts.oneshot && !boot && !holding(d))
			worker_arm_first(nw[n], now, 0);
		if (!boot)
			log_info("agent=%s event=added", m->name);
		n++;
	}
	for (size_t i = 0; i < nsorted; i++) {
		if (used[i])
			continue;
		log_info("agent=%s event=removed", worker_name(sorted[i]));
		worker_rebind(sorted[i], nc, NULL, 0, d->redactor);
		if (worker_busy(sorted[i]))
			nw[n++] = sorted[i];
		else
			worker_free(sorted[i]);
	}
	free(d->workers);
	d->workers = nw;
	d->nworkers = n;
	free(sorted);
	free(used);
	if (old)
		crew_free(old);
	emit(d, DAEMON_CHANGED, NULL);
}

static void
record_crew_error(struct daemon *d, const char *msg)
{
	struct run_rec r;
	int64_t now = util_now_ms();

	log_warnx("event=manifest-error msg=%s keeping=last-good", log_qv(msg));
	if (d->store == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.agent = "(crew)";
	r.trigger = "reload";
	r.scheduled_ms = now;
	r.ended_ms = now;
	r.outcome = OUTCOME_ERROR;
	r.exit_code = -1;
	r.error = msg;
	r.tokens_prompt = r.tokens_completion = -1;
	r.daemon_pid = d->pid;
	(void)store_record(d->store, &r);
}

/* msg (taken) is why the manifest on disk is not used: recorded once per
 * distinct reason, shown until fixed. */
static void
set_crew_error(struct daemon *d, char *msg)
{
	if (d->crew_error == NULL || strcmp(msg, d->crew_error) != 0)
		record_crew_error(d, msg);
	free(d->crew_error);
	d->crew_error = msg;
	emit(d, DAEMON_CHANGED, NULL);
}

/* Warnings from loading the manifest (a member without :DEF: is skipped,
 * SPEC §3) go to the log; only errors stop a load. */
static void
log_crew_warnings(const struct diag *dg)
{
	char *s;

	for (size_t i = 0; i < dg->n; i++) {
		if (dg->items[i].level != DIAG_WARNING)
			continue;
		s = diag_format(&dg->items[i]);
		log_warnx("event=manifest-warning msg=%s", log_qv(s));
		free(s);
	}
}

/* Re-read the manifest if its file changed (force: even if not). */
static void
reload(struct daemon *d, int force)
{
	struct file_sig sig;
	struct diag dg = { 0 };
	struct crew *nc = NULL;
	struct redactor *rd, *old;
	char *msg, rerr[512];

	if (d->manifest == NULL)
		return;
	file_sig_get(d->manifest, &sig);
	if (!force && file_sig_eq(&sig, &d->manifest_sig))
		return;
	d->manifest_sig = sig;
	if (crew_load(d->manifest, &nc, &dg) == -1 || nc == NULL) {
		msg = diag_first_error(&dg);
		if (msg == NULL)
			msg = xasprintf("%s: cannot be read", d->manifest);
		diag_release(&dg);
		set_crew_error(d, msg);
		return;
	}
	log_crew_warnings(&dg);
	diag_release(&dg);
	if ((rd = build_redactor(nc, rerr, sizeof(rerr))) == NULL) {
		crew_free(nc);
		set_crew_error(d, xasprintf("%s: %s", d->manifest, rerr));
		return;
	}
	if (d->crew_error)
		log_info("event=manifest-fixed");
	free(d->crew_error);
	d->crew_error = NULL;
	old = d->redactor;
	d->redactor = rd;
	apply_crew(d, nc, 0);
	redact_free(old);	/* each worker holds its own reference */
}

/*
 * The def interpreter runs execs: keeper-exec, which loads a fraction of
 * keeper's libraries (keeper-exec.c), beside this binary (the build tree)
 * or in ../libexec/keeper (make install). Without it, keeper's own
 * exec-def does the same work, only slower to start.
 */
static char *
find_exec(void)
{
	static const char *const rel[] = { "keeper-exec",
	    "../libexec/keeper/keeper-exec" };
	char self[PATH_MAX], *slash, *p;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return NULL;
	slash[1] = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		p = xasprintf("%s%s", self, rel[i]);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/*
 * Runs are forked by a warm keeper-exec (zygote.h, child.h's spawner)
 * unless KEEPER_ZYGOTE=0 or there is no keeper-exec; without one each run
 * is spawned as before. On the loop thread: the zygote dies with the
 * thread that started it.
 */
static void
start_zygote(struct daemon *d)
{
	if (!d->exec_lean || !d->opts.settings->zygote)
		return;
	d->spawner = child_spawner_new(d->loop, d->self_exe);
	d->env.spawner = d->spawner;
}

static void
ckpt_work(uv_work_t *req)
{
	struct daemon *d = req->data;

	(void)store_checkpoint(&d->ckpt_conn, d->dbpath);
}

static void
ckpt_done(uv_work_t *req, int status)
{
	struct daemon *d = req->data;

	(void)status;
	d->ckpt_busy = 0;
}

/* The WAL wants a checkpoint: it fsyncs, so it runs on the pool. */
static void
wal_full(void *arg)
{
	struct daemon *d = arg;

	if (d->ckpt_busy)
		return;
	d->ckpt_busy = 1;
	d->ckpt.data = d;
	if (uv_queue_work(d->loop, &d->ckpt, ckpt_work, ckpt_done) != 0)
		d->ckpt_busy = 0;
}

/* The manifest (or the singleton's one-member crew) as the daemon starts
 * with it; an exit status with err on failure. */
static int
load_config(struct daemon *d, const struct daemon_opts *o, struct crew **cp,
    char *err, size_t errlen)
{
	struct diag dg = { 0 };
	struct crew *c = NULL;
	char *msg;

	*cp = NULL;
	if (o->crew) {
		d->manifest = fs_absolute(o->crew);
		file_sig_get(d->manifest, &d->manifest_sig);
		if (crew_load(d->manifest, &c, &dg) == -1 || c == NULL) {
			msg = diag_first_error(&dg);
			snprintf(err, errlen, "%s", msg ? msg : "invalid crew");
			free(msg);
			diag_release(&dg);
			return EXIT_CONFIG;
		}
		log_crew_warnings(&dg);
		diag_release(&dg);
	} else if (o->def) {
		char *def = fs_absolute(o->def);
		char *lc = o->lifecycle ? fs_absolute(o->lifecycle) : NULL;

		d->singleton = 1;
		c = crew_singleton(def, lc, o->interval_ms, o->timeout_ms);
		free(def);
		free(lc);
		if (c == NULL) {
			snprintf(err, errlen, "cannot set up singleton");
			return EXIT_CONFIG;
		}
		if (o->boot_grace_set)
			c->boot_grace_ms = o->boot_grace_ms;
	} else {
		snprintf(err, errlen, "--crew FILE or --def FILE is required");
		return EXIT_USAGE;
	}
	*cp = c;
	return 0;
}

int
daemon_open(const struct daemon_opts *o, struct daemon **out, char *err,
    size_t errlen)
{
	struct daemon *d = xcalloc(1, sizeof(*d));
	struct crew *c = NULL;
	char *repo;
	int rc;

	*out = NULL;
	d->opts = *o;
	d->lock_fd = -1;
	d->repo_lock_fd = -1;
	d->pid = (long)getpid();
	sentinel_faults(o->settings->test_fault);	/* TEST-ONLY */
	d->boot_ms = util_now_ms();
	if (o->self_exe != NULL)
		d->self_exe = xstrdup(o->self_exe);
	else if ((d->self_exe = find_exec()) != NULL)
		d->exec_lean = 1;
	else
		d->self_exe = xstrdup("/proc/self/exe");
	log_debug("event=interpreter path=%s", log_qv(d->self_exe));
	/* State writes and commits share the pool; fsyncs run in parallel. */
	(void)setenv("UV_THREADPOOL_SIZE", "8", 0);
	/* One libgit2 reference for the daemon's life: when the count drops
	 * to zero libgit2 tears down its TLS state, and the next open (every
	 * repo_open() on the pool) would parse the whole CA bundle again. */
	git_libgit2_init();
	/* A CLI client that hangs up mid-answer must not kill the daemon;
	 * children get every signal back at its default (child.c). */
	(void)signal(SIGPIPE, SIG_IGN);
	d->loop = xmalloc(sizeof(*d->loop));
	uv_loop_init(d->loop);
	/* What a run leaves behind is handed to us and killed (child.h). */
	if (child_reaper_start(d->loop) == -1)
		log_warnx("event=subreaper-failed msg=%s", log_qv(strerror(
		    errno)));

	if ((rc = load_config(d, o, &c, err, errlen)) != 0)
		goto fail;
	if ((d->redactor = build_redactor(c, err, errlen)) == NULL) {
		rc = EXIT_CONFIG;
		goto fail;
	}

	repo = c->repo ? xstrdup(c->repo) : o->repo ? xstrdup(o->repo) :
	    xstrdup(".");
	d->repo = realpath(repo, NULL);
	if (d->repo == NULL) {
		snprintf(err, errlen, "repository %s: %s", repo,
		    strerror(errno));
		free(repo);
		rc = EXIT_CONFIG;
		goto fail;
	}
	free(repo);

	d->data = preflight_data_dir(o->data, c->title ? c->title : "keeper",
	    o->settings);
	if (d->data == NULL) {
		snprintf(err, errlen, "no data directory: give --data or set "
		    "KEEPER_DATA (HOME is not set)");
		rc = EXIT_USAGE;
		goto fail;
	}
	if (fs_mkdir_p(d->data) == -1) {
		snprintf(err, errlen, "data directory %s: %s", d->data,
		    strerror(errno));
		rc = 1;
		goto fail;
	}
	if (check_data_in_repo(d, err, errlen) == -1) {
		rc = EXIT_CONFIG;
		goto fail;
	}
	if ((rc = take_lock(d, err, errlen)) != 0)
		goto fail;
	if (preflight_repo_lock(d->repo, d->data, &d->repo_lock_fd, err,
	    errlen) != 0) {
		rc = EXIT_LOCKED;
		goto fail;
	}
	d->sync = statesync_new(d->loop, d->data);
	d->dbpath = xasprintf("%s/keeper.db", d->data);
	if (open_store(d, 0, err, errlen) == -1) {
		rc = 1;
		goto fail;
	}
	(void)store_interrupt_open(d->store, util_now_ms(), kill_leftover, d);

	gate_init(&d->gate, d->singleton ? 0 : c->concurrency);
	d->git = gitq_new(d->loop, d->repo);
	gitq_keep_out(d->git, d->data);
	d->zones = firing_zones_new(o->settings->tz);
	d->env = (struct worker_env){
		.loop = d->loop,
		.data = d->data,
		.repo = d->repo,
		.singleton = d->singleton,
		.oneshot = o->oneshot,
		.pid = d->pid,
		.store = d->store,
		.sync = d->sync,
		.gate = &d->gate,
		.git = d->git,
		.live = d->live = runlive_new(),
		.exec = d->self_exe,
		.exec_lean = d->exec_lean,
		.direct = d->exec_lean && o->settings->direct,
		.gitops = o->settings->gitops,
		.gitpush = o->settings->gitpush,
		.zones = d->zones,
		.tz = o->settings->tz,
		.due = worker_due,
		.changed = worker_changed,
		.done = worker_done,
		.live_runs = live_runs,
		.budget = worker_budget,
		.arg = d,
	};
	apply_crew(d, c, 1);
	*out = d;
	return 0;
fail:
	if (d->crew == NULL && c != NULL)
		crew_free(c);
	daemon_free(d);
	return rc;
}

/* ---- the control socket's requests ---- */

int
daemon_exit_for(enum outcome o)
{
	switch (o) {
	case OUTCOME_DONE:
	case OUTCOME_DREAMED:
	case OUTCOME_GATED:
		return 0;
	case OUTCOME_NO_WORK:
		return 3;
	case OUTCOME_KILLED:
		return 124;
	case OUTCOME_ERROR:
		return EXIT_CONFIG;
	default:
		return 1;
	}
}

/* A run-once asked over the socket: the client watches the tick. */
struct remote_once {
	struct worker_watch	 watch;
	struct daemon		*d;
	struct worker		*w;	/* NULL once the tick ended */
	struct ctl_client	*c;
};

static void
remote_line(struct worker_watch *ww, const char *kind, const char *text)
{
	struct remote_once *r = ww->arg;
	char *s = xasprintf("%s: %s %s", r->w ? worker_name(r->w) : "?", kind,
	    text);

	ctl_send_text(r->c, s, -1);
	free(s);
}

static void
remote_end(struct worker_watch *ww, struct worker *w, enum outcome o,
    const char *summary)
{
	struct remote_once *r = ww->arg;

	(void)w;
	r->w = NULL;		/* the worker forgets its watchers itself */
	emit(r->d, DAEMON_FLUSH, NULL);	/* /_activity agrees with the answer */
	ctl_send_text(r->c, summary, daemon_exit_for(o));
}

static void
remote_closed(struct ctl_client *c, void *arg)
{
	struct remote_once *r = arg;

	(void)c;
	if (r->w != NULL)	/* hung up mid-run: the run goes on */
		worker_unwatch(r->w, &r->watch);
	free(r);
}

static void
request_run_once(struct daemon *d, struct ctl_client *c, const char *name)
{
	struct remote_once *r;
	struct worker *w;
	char *s;

	if (d->draining) {
		ctl_send_text(c, "keeper is shutting down", EXIT_LOCKED);
		return;
	}
	if (holding(d)) {
		if (d->forward != NULL)
			d->forward(d, c, name, d->forward_arg);
		else
			ctl_send_text(c, "this keeper is standby", EXIT_LOCKED);
		return;
	}
	reload(d, 0);
	if ((w = find_worker(d, name)) == NULL || worker_removed(w)) {
		s = xasprintf("no agent named '%s' in the crew", name);
		ctl_send_text(c, s, EXIT_CONFIG);
		free(s);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->d = d;
	r->c = c;
	r->w = w;
	r->watch.on_line = remote_line;
	r->watch.on_end = remote_end;
	r->watch.arg = r;
	ctl_on_close(c, remote_closed, r);
	if (worker_tick(w, "run-once", &r->watch) == -1) {
		r->w = NULL;
		s = xasprintf("%s is mid-tick; not starting a second run",
		    name);
		ctl_send_text(c, s, EXIT_LOCKED);
		free(s);
	}
}

/* The live status document (core/status.c's status_cli()). */
static char *
status_line(struct daemon *d)
{
	struct agent_status *st = xcalloc(d->nworkers + 1, sizeof(*st));
	struct status_crew c;
	json_t *j;
	char *s, *line;

	for (size_t i = 0; i < d->nworkers; i++)
		worker_status(d->workers[i], &st[i]);
	daemon_status_crew(d, &c);
	j = status_cli(st, d->nworkers, &c, d->pid, d->data);
	s = status_dump(j, NULL);
	line = xasprintf("%s\n", s);
	json_decref(j);
	free(s);
	free(st);
	return line;
}

/*
 * "pause NAME FOR_MS WHY..." (FOR_MS 0: until resumed) and "resume NAME"
 * (SPEC §5b): applied at once, kept in the data directory; the answer is
 * one line of text and the exit status.
 */
static void
request_pause(struct daemon *d, struct ctl_client *c, char *args, int pause)
{
	struct worker *w;
	char *name = args, *sp, *end, *s, d_for[32];
	long long for_ms = 0;
	const char *why = "";

	if (pause) {
		if ((sp = strchr(args, ' ')) == NULL)
			goto bad;
		*sp = '\0';
		for_ms = strtoll(sp + 1, &end, 10);
		if (end == sp + 1 || for_ms < 0 || (*end != ' ' && *end != '\0'))
			goto bad;
		why = *end == ' ' ? end + 1 : end;
	}
	/* A standby's pause would be replaced by the crew's state when it
	 * becomes active: the active keeper's is the one that counts. */
	if (holding(d)) {
		ctl_send_text(c, "this keeper is standby: pause and resume on "
		    "the active keeper (its address is in /_activity)",
		    EXIT_LOCKED);
		return;
	}
	reload(d, 0);
	if ((w = find_worker(d, name)) == NULL || worker_removed(w)) {
		s = xasprintf("no agent named '%s' in the crew", name);
		ctl_send_text(c, s, EXIT_CONFIG);
		free(s);
		return;
	}
	if (pause) {
		int64_t at = for_ms > 0 ? util_now_ms() + for_ms : 0;

		worker_pause(w, at, why);
		dur_format(for_ms, d_for, sizeof(d_for));
		s = at > 0 ? xasprintf("%s: paused for %s%s%s", name, d_for,
		    *why ? ": " : "", why) : xasprintf("%s: paused until "
		    "resumed%s%s", name, *why ? ": " : "", why);
	} else {
		s = worker_resume(w) ? xasprintf("%s: resumed", name) :
		    xasprintf("%s: was not paused", name);
	}
	emit(d, DAEMON_FLUSH, NULL);	/* /_activity agrees with the answer */
	ctl_send_text(c, s, 0);
	free(s);
	return;
bad:
	ctl_send(c, "error bad pause request\n", 1);
}

json_t *
daemon_agenda(struct daemon *d, int64_t now, int64_t until)
{
	struct agenda_src *src = xcalloc(d->nworkers + 1, sizeof(*src));
	size_t n = 0;
	char err[256];
	json_t *doc;

	for (size_t i = 0; i < d->nworkers; i++)
		n += worker_agenda_src(d->workers[i], &src[n]);
	doc = agenda_json(src, n, firing_zone(d->zones, NULL, err,
	    sizeof(err)), now, until);
	free(src);
	return doc;
}

/* "agenda HOURS": keeper agenda's document, on one line. */
static void
request_agenda(struct daemon *d, struct ctl_client *c, const char *arg)
{
	char *end, *s;
	double h = strtod(arg, &end);
	int64_t now = util_now_ms();
	json_t *doc;

	if (end == arg || *end != '\0' || !(h >= 0) || h > 24 * 366) {
		ctl_send(c, "error bad agenda request\n", 1);
		return;
	}
	reload(d, 0);
	doc = daemon_agenda(d, now, now + (int64_t)(h * 3600000.0));
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	ctl_send(c, s, 0);
	ctl_send(c, "\n", 1);
	free(s);
}

static void
on_request(struct ctl_client *c, char *line, void *arg)
{
	struct daemon *d = arg;
	char *s;

	if (strncmp(line, "run-once ", 9) == 0) {
		request_run_once(d, c, line + 9);
	} else if (strncmp(line, "pause ", 6) == 0) {
		request_pause(d, c, line + 6, 1);
	} else if (strncmp(line, "resume ", 7) == 0) {
		request_pause(d, c, line + 7, 0);
	} else if (strncmp(line, "agenda ", 7) == 0) {
		request_agenda(d, c, line + 7);
	} else if (strcmp(line, "status") == 0) {
		s = status_line(d);
		ctl_send(c, s, 1);
		free(s);
	} else if (strcmp(line, "ping") == 0) {
		s = xasprintf("pong %ld\n", d->pid);
		ctl_send(c, s, 1);
		free(s);
	} else {
		ctl_send(c, "error unknown request\n", 1);
	}
}

/* ---- signals and the manifest watch ---- */

static void
drain(struct daemon *d, int signum)
{
	size_t n = d->nworkers;
	struct worker **ws;

	log_info("event=drain signal=%d", signum);
	d->draining = 1;
	if (d->watching)
		uv_timer_stop(&d->settle);
	emit(d, DAEMON_STOPPING, NULL);
	for (size_t i = 0; i < d->nworkers; i++)
		worker_stop(d->workers[i]);
	/* Ticks still waiting for a slot never started: they end now. The
	 * array may shrink under us (a removed worker is freed), so walk a
	 * copy. */
	ws = xcalloc(n + 1, sizeof(*ws));
	memcpy(ws, d->workers, n * sizeof(*ws));
	for (size_t i = 0; i < n; i++)
		worker_unqueue(ws[i]);
	free(ws);
	if (!any_busy(d))
		uv_stop(d->loop);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		log_info("event=sighup");
		emit(d, DAEMON_RELOADING, NULL);
		reload(d, 1);
		emit(d, DAEMON_READY, NULL);
		return;
	}
	if (!d->draining)
		drain(d, signum);
}

#define MANIFEST_SETTLE_MS	150

static void
on_manifest_settled(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (!d->draining)
		reload(d, 0);
}

static void
on_manifest_dir(uv_fs_event_t *h, const char *file, int events, int status)
{
	struct daemon *d = h->data;
	const char *base = strrchr(d->manifest, '/');

	(void)events;
	if (status != 0 || d->draining)
		return;
	/* An editor that saves in place (truncate, then write) fires several
	 * events and leaves the file half written between them: re-read once
	 * the writes have been quiet for MANIFEST_SETTLE_MS. */
	if (file == NULL || strcmp(file, base ? base + 1 : d->manifest) == 0)
		uv_timer_start(&d->settle, on_manifest_settled,
		    MANIFEST_SETTLE_MS, 0);
}

static void
start_signals(struct daemon *d)
{
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
	d->signals = 1;
}

static void
start_watch(struct daemon *d)
{
	char *dir;

	if (d->manifest == NULL)
		return;
	dir = util_dirname(d->manifest);
	uv_fs_event_init(d->loop, &d->watch);
	uv_timer_init(d->loop, &d->settle);
	d->watch.data = d->settle.data = d;
	d->watching = 1;
	if (uv_fs_event_start(&d->watch, on_manifest_dir, dir, 0) != 0)
		log_warnx("event=watch-failed dir=%s", dir);
	free(dir);
}

/* The realtime clock was set: calendar members re-plan (SPEC §5a). */
static void
on_clock_set(void *arg)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->nworkers; i++)
		worker_clock_set(d->workers[i]);
}

int
daemon_serve(struct daemon *d)
{
	int64_t now = util_now_ms();
	char err[512];

	start_zygote(d);
	start_signals(d);
	if ((d->ctl = ctl_listen(d->loop, d->data, on_request, d, err,
	    sizeof(err))) == NULL)
		log_warnx("event=control-socket-failed msg=%s", log_qv(err));
	start_watch(d);
	for (size_t i = 0; i < d->nworkers && !holding(d); i++)
		worker_arm_first(d->workers[i], now, 1);
	d->clock = clockwatch_start(d->loop, on_clock_set, d);
	log_info("event=start pid=%ld data=%s repo=%s agents=%zu", d->pid,
	    log_qv(d->data), log_qv(d->repo), d->nworkers);
	emit(d, DAEMON_READY, NULL);
	uv_run(d->loop, UV_RUN_DEFAULT);
	return d->exit_code;
}

/* ---- run-once in-process ---- */

struct once {
	struct worker_watch	 watch;
	struct worker		*w;
	uv_signal_t		 sig[2];
	void			(*out)(const char *, void *);
	void			*arg;
	const char		*name;
	enum outcome		 outcome;
	int			 ended;
};

static void
once_line(struct worker_watch *ww, const char *kind, const char *text)
{
	struct once *o = ww->arg;
	char *s = xasprintf("%s: %s %s", o->name, kind, text);

	o->out(s, o->arg);
	free(s);
}

static void
once_end(struct worker_watch *ww, struct worker *w, enum outcome oc,
    const char *summary)
{
	struct once *o = ww->arg;

	(void)w;
	o->outcome = oc;
	o->ended = 1;
	o->out(summary, o->arg);
}

/* Ctrl-C on a watched tick: the run is killed and recorded, not left
 * behind in its own session. */
static void
once_signal(uv_signal_t *h, int signum)
{
	struct once *o = h->data;

	(void)signum;
	worker_abort(o->w);
}

int
daemon_once(struct daemon *d, const char *name,
    void (*out)(const char *, void *), void *arg)
{
	struct once o = { .out = out, .arg = arg };
	struct worker *w;
	char *s;

	if ((w = find_worker(d, name)) == NULL) {
		s = xasprintf("no agent named '%s' in the crew", name);
		out(s, arg);
		free(s);
		return EXIT_CONFIG;
	}
	o.name = worker_name(w);
	o.w = w;
	o.watch.on_line = once_line;
	o.watch.on_end = once_end;
	o.watch.arg = &o;
	if (worker_tick(w, "run-once", &o.watch) == -1)
		return EXIT_LOCKED;
	for (int i = 0; i < 2; i++) {
		uv_signal_init(d->loop, &o.sig[i]);
		o.sig[i].data = &o;
		uv_signal_start(&o.sig[i], once_signal, i ? SIGTERM : SIGINT);
		uv_unref((uv_handle_t *)&o.sig[i]);
	}
	while (!o.ended && uv_run(d->loop, UV_RUN_ONCE))
		;
	for (int i = 0; i < 2; i++)
		uv_close((uv_handle_t *)&o.sig[i], NULL);
	uv_run(d->loop, UV_RUN_NOWAIT);
	return daemon_exit_for(o.outcome);
}

static void
noop_close(uv_handle_t *h)
{
	(void)h;
}

void
daemon_free(struct daemon *d)
{
	if (d == NULL)
		return;
	if (d->loop) {
		for (size_t i = 0; i < d->nworkers; i++)
			worker_free(d->workers[i]);
		d->nworkers = 0;
		if (d->signals) {
			uv_close((uv_handle_t *)&d->sig_term, noop_close);
			uv_close((uv_handle_t *)&d->sig_int, noop_close);
			uv_close((uv_handle_t *)&d->sig_hup, noop_close);
		}
		if (d->watching) {
			uv_close((uv_handle_t *)&d->watch, noop_close);
			uv_close((uv_handle_t *)&d->settle, noop_close);
		}
		ctl_close(d->ctl);
		d->ctl = NULL;
		clockwatch_stop(d->clock);
		d->clock = NULL;
		statesync_free(d->sync);
		child_spawner_free(d->spawner);
		d->spawner = NULL;
		child_reaper_stop();
		uv_run(d->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(d->loop);
		free(d->loop);
	}
	firing_zones_free(d->zones);
	if (d->lock_fd != -1)
		close(d->lock_fd);
	if (d->repo_lock_fd != -1)
		close(d->repo_lock_fd);
	store_ckpt_close(d->ckpt_conn);
	store_close(d->store);
	runlive_free(d->live);
	gitq_free(d->git);
	redact_free(d->redactor);
	if (d->crew)
		crew_free(d->crew);
	free(d->workers);
	free(d->crew_error);
	free(d->role);
	free(d->active);
	free(d->notice);
	free(d->manifest);
	free(d->repo);
	free(d->data);
	free(d->self_exe);
	free(d->dbpath);
	free(d);
	git_libgit2_shutdown();
}
