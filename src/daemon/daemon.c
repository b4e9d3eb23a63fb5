/*
 * daemon: the loop, the lock, boot recovery, hot reload, signals and the
 * control socket. See daemon.h.
 *
 * Housekeeping is event-driven on purpose: there is no periodic timer.
 * An idle daemon sleeps in epoll until a worker's timer is due, the
 * manifest changes, a signal or a CLI connection arrives.
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
#include "cmd.h"
#include "daemon.h"
#include "diag.h"
#include "log.h"
#include "plane.h"
#include "redact.h"
#include "repo.h"
#include "service.h"
#include "statesync.h"
#include "util.h"
#include "worker.h"

void
file_sig_get(const char *path, struct file_sig *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (stat(path, &st) == -1)
		return;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	s->ok = 1;
}

int
file_sig_eq(const struct file_sig *a, const struct file_sig *b)
{
	return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static char *
absolute(const char *path)
{
	char *cwd, *r;

	if (path[0] == '/')
		return xstrdup(path);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(path);
	r = util_resolve(cwd, path);
	free(cwd);
	return r;
}

static int
mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

char *
daemon_data_dir(const char *opt, const char *title)
{
	const char *env, *home;

	if (opt && *opt)
		return absolute(opt);
	if ((env = getenv("KEEPER_DATA")) && *env)
		return absolute(env);
	if ((env = getenv("XDG_STATE_HOME")) && *env == '/')
		return xasprintf("%s/keeper/%s", env, title);
	home = getenv("HOME");
	return xasprintf("%s/.local/state/keeper/%s", home && *home ? home :
	    "/tmp", title);
}

long
daemon_lock_holder(const char *data)
{
	char *path = xasprintf("%s/keeper.lock", data), buf[32];
	long pid = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto done;
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		pid = strtol(buf, NULL, 10);
		if (pid <= 0)
			pid = -1;	/* held, pid not yet written */
	}
	close(fd);
done:
	free(path);
	return pid;
}

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
	git_repository *r = NULL;
	const char *wd;
	char *rdata = NULL, *rel;
	int ignored = 0, rc = 0;
	size_t n;

	if (git_repository_open_ext(&r, d->repo, 0, NULL) != 0)
		goto done;		/* not a git repo: nothing to commit */
	if ((wd = git_repository_workdir(r)) == NULL)
		goto done;
	if ((rdata = realpath(d->data, NULL)) == NULL)
		goto done;
	n = strlen(wd);
	if (strncmp(rdata, wd, n) != 0 && !(strlen(rdata) + 1 == n &&
	    strncmp(rdata, wd, n - 1) == 0))
		goto done;
	if (strlen(rdata) + 1 >= n) {
		rel = xasprintf("%s/", rdata + (strlen(rdata) >= n ? n : n - 1));
		if (*rel == '/' || git_ignore_path_is_ignored(&ignored, r,
		    rel) != 0)
			ignored = 0;
		free(rel);
	}
	if (!ignored) {
		snprintf(err, errlen, "data directory %s is inside the work "
		    "tree %s and not ignored by git; use --data elsewhere or "
		    "add it to .gitignore", d->data, wd);
		rc = -1;
	}
done:
	free(rdata);
	git_repository_free(r);
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

struct worker *
daemon_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nworkers; i++)
		if (strcmp(worker_name(d->workers[i]), name) == 0)
			return d->workers[i];
	return NULL;
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
 * retire removed ones (after their current tick). */
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
	gate_resize(&d->gate, d->singleton ? 0 : nc->concurrency);
	for (size_t i = 0; i < nc->nmembers; i++) {
		const struct crew_member *m = &nc->members[i];

		hit = nsorted ? bsearch(m->name, sorted, nsorted,
		    sizeof(*sorted), cmp_key) : NULL;
		if (hit && !used[hit - sorted]) {
			used[hit - sorted] = 1;
			worker_rebind(*hit, m, i);
			nw[n++] = *hit;
			continue;
		}
		nw[n] = worker_new(d, m, i);
		if (!d->opts.oneshot && !d->draining && !boot)
			worker_arm_first(nw[n], now, 0);
		if (!boot)
			log_info("agent=%s event=added", m->name);
		n++;
	}
	for (size_t i = 0; i < nsorted; i++) {
		if (used[i])
			continue;
		log_info("agent=%s event=removed", worker_name(sorted[i]));
		worker_remove(sorted[i]);
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
	daemon_status_changed(d);
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

void
daemon_reload(struct daemon *d, int force)
{
	struct file_sig sig;
	struct diag dg = { 0 };
	struct crew *nc = NULL;
	char *msg;

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
		if (d->crew_error == NULL || strcmp(msg, d->crew_error) != 0)
			record_crew_error(d, msg);
		free(d->crew_error);
		d->crew_error = msg;
		diag_release(&dg);
		daemon_status_changed(d);
		return;
	}
	log_crew_warnings(&dg);
	diag_release(&dg);
	{
		char rerr[512];
		struct redactor *rd = build_redactor(nc, rerr, sizeof(rerr));

		if (rd == NULL) {
			msg = xasprintf("%s: %s", d->manifest, rerr);
			if (d->crew_error == NULL ||
			    strcmp(msg, d->crew_error) != 0)
				record_crew_error(d, msg);
			free(d->crew_error);
			d->crew_error = msg;
			crew_free(nc);
			daemon_status_changed(d);
			return;
		}
		redact_free(d->redactor);
		d->redactor = rd;
	}
	if (d->crew_error)
		log_info("event=manifest-fixed");
	free(d->crew_error);
	d->crew_error = NULL;
	apply_crew(d, nc, 0);
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
	const char *v = getenv("KEEPER_ZYGOTE");

	if (!d->exec_lean || (v != NULL && strcmp(v, "0") == 0))
		return;
	d->spawner = child_spawner_new(d->loop, d->self_exe);
}

/*
 * A publish renders every agent (O(crew)): done once per event, it was
 * 60% of the daemon's CPU with fifty one-second agents. So publishes are
 * spaced by ten times the last one's cost (at most 500 ms): the plane
 * takes at most about a tenth of a core however busy the crew. A small
 * crew renders in well under a millisecond, so its changes still go out
 * at once. The cost counted is the loop's part, or the render the plane
 * does on its own thread when that took longer (daemon_status_cost()).
 */
#define PUBLISH_GAP_MAX_MS	500

static uint64_t
gap_for(uint64_t ns)
{
	uint64_t gap = (ns * 10 + 999999) / 1000000;	/* ms, up */

	return gap > PUBLISH_GAP_MAX_MS ? PUBLISH_GAP_MAX_MS : gap;
}

static void
publish(struct daemon *d, int sync)
{
	uint64_t t0 = uv_hrtime();

	d->publish_pending = 0;
	if (d->status_cb)
		d->status_cb(d, sync, d->status_arg);
	d->publish_gap = gap_for(uv_hrtime() - t0);
	if (d->render_gap > d->publish_gap)
		d->publish_gap = d->render_gap;
	uv_update_time(d->loop);
	d->publish_last = uv_now(d->loop);
}

static void
publish_cb(uv_timer_t *t)
{
	publish(t->data, 0);
}

static int
publish_due(struct daemon *d)
{
	return d->publish_last == 0 ||
	    uv_now(d->loop) >= d->publish_last + d->publish_gap;
}

void
daemon_status_changed(struct daemon *d)
{
	if (d->publish_pending)
		return;
	d->publish_pending = 1;
	uv_timer_start(&d->publish, publish_cb, publish_due(d) ? 0 :
	    d->publish_last + d->publish_gap - uv_now(d->loop), 0);
}

void
daemon_status_due(struct daemon *d)
{
	uv_update_time(d->loop);
	if (publish_due(d)) {
		uv_timer_stop(&d->publish);
		publish(d, 0);
	} else
		daemon_status_changed(d);
}

/* Always: a render still in flight may not be out yet. */
void
daemon_status_flush(struct daemon *d)
{
	uv_timer_stop(&d->publish);
	publish(d, 1);
}

void
daemon_status_cost(struct daemon *d, uint64_t ns)
{
	d->render_gap = gap_for(ns);
	if (d->render_gap > d->publish_gap)
		d->publish_gap = d->render_gap;
}

void
daemon_set_status_cb(struct daemon *d, daemon_status_cb cb, void *arg)
{
	d->status_cb = cb;
	d->status_arg = arg;
}

static int
any_busy(const struct daemon *d)
{
	for (size_t i = 0; i < d->nworkers; i++)
		if (worker_busy(d->workers[i]))
			return 1;
	return 0;
}

void
daemon_tick_done(struct daemon *d, struct worker *w)
{
	service_tick_done(d->svc, w);
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

int
daemon_open(const struct daemon_opts *o, struct daemon **out, char *err,
    size_t errlen)
{
	struct daemon *d = xcalloc(1, sizeof(*d));
	struct diag dg = { 0 };
	struct crew *c = NULL;
	char *repo, *msg, *dbpath;
	int rc;

	*out = NULL;
	d->opts = *o;
	d->lock_fd = -1;
	d->pid = (long)getpid();
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
	uv_timer_init(d->loop, &d->publish);
	d->publish.data = d;

	if (o->crew) {
		d->manifest = absolute(o->crew);
		file_sig_get(d->manifest, &d->manifest_sig);
		if (crew_load(d->manifest, &c, &dg) == -1 || c == NULL) {
			msg = diag_first_error(&dg);
			snprintf(err, errlen, "%s", msg ? msg : "invalid crew");
			free(msg);
			rc = EXIT_CONFIG;
			goto fail;
		}
		log_crew_warnings(&dg);
	} else if (o->def) {
		char *def = absolute(o->def);
		char *lc = o->lifecycle ? absolute(o->lifecycle) : NULL;

		d->singleton = 1;
		c = crew_singleton(def, lc, o->interval_ms, o->timeout_ms);
		free(def);
		free(lc);
		if (c == NULL) {
			snprintf(err, errlen, "cannot set up singleton");
			rc = EXIT_CONFIG;
			goto fail;
		}
		if (o->boot_grace_set)
			c->boot_grace_ms = o->boot_grace_ms;
	} else {
		snprintf(err, errlen, "--crew FILE or --def FILE is required");
		rc = EXIT_USAGE;
		goto fail;
	}
	diag_release(&dg);
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

	d->data = daemon_data_dir(o->data, c->title ? c->title : "keeper");
	if (mkdir_p(d->data) == -1) {
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
	d->sync = statesync_new(d->loop, d->data);
	dbpath = xasprintf("%s/keeper.db", d->data);
	d->dbpath = dbpath;
	if (store_open(dbpath, &d->store, err, errlen) == -1) {
		rc = 1;
		goto fail;
	}
	store_on_wal(d->store, wal_full, d);
	(void)store_interrupt_open(d->store, util_now_ms(), kill_leftover, d);

	gate_init(&d->gate, d->singleton ? 0 : c->concurrency);
	gate_init(&d->git_gate, 1);
	apply_crew(d, c, 1);
	*out = d;
	return 0;
fail:
	diag_release(&dg);
	if (d->crew == NULL && c != NULL)
		crew_free(c);
	daemon_free(d);
	return rc;
}

/* ---- the control socket: one request line, then the answer ---- */

struct client {
	uv_pipe_t		 pipe;
	struct daemon		*d;
	struct worker		*w;
	struct worker_watch	 watch;
	char			 buf[1024];
	size_t			 len;
	int			 closing;
};

static void
client_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->w) {
		worker_unwatch(c->w, &c->watch);
		c->w = NULL;
	}
	uv_close((uv_handle_t *)&c->pipe, client_closed);
}

struct wreq {
	uv_write_t	 req;
	struct client	*c;
	int		 close_after;
	char		 data[];
};

static void
write_cb(uv_write_t *req, int status)
{
	struct wreq *r = (struct wreq *)req;

	if ((status != 0 || r->close_after) && !r->c->closing)
		client_close(r->c);
	free(r);
}

static void
client_send(struct client *c, const char *s, int close_after)
{
	size_t n = strlen(s);
	struct wreq *r;
	uv_buf_t b;

	if (c->closing)
		return;
	r = xmalloc(sizeof(*r) + n + 1);
	memcpy(r->data, s, n + 1);
	r->c = c;
	r->close_after = close_after;
	b = uv_buf_init(r->data, (unsigned int)n);
	if (uv_write(&r->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0) {
		free(r);
		client_close(c);
	}
}

/* Lines of text prefixed "> " so that the final "exit N" is unambiguous. */
static void
send_text(struct client *c, const char *text, const char *exit_line)
{
	struct sb sb = { 0 };
	const char *p = text, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		sb_adds(&sb, "> ");
		sb_add(&sb, p, nl ? (size_t)(nl - p) : strlen(p));
		sb_addc(&sb, '\n');
		p = nl ? nl + 1 : NULL;
	}
	if (exit_line)
		sb_adds(&sb, exit_line);
	client_send(c, sb.buf ? sb.buf : "", exit_line != NULL);
	sb_release(&sb);
}

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

static void
client_line(struct worker_watch *ww, const char *kind, const char *text)
{
	struct client *c = ww->arg;
	char *s = xasprintf("%s: %s %s", c->w ? worker_name(c->w) : "?", kind,
	    text);

	send_text(c, s, NULL);
	free(s);
}

static void
client_end(struct worker_watch *ww, struct worker *w, enum outcome o,
    const char *summary)
{
	struct client *c = ww->arg;
	char line[32];

	(void)w;
	c->w = NULL;		/* the worker forgets its watchers itself */
	daemon_status_flush(c->d);	/* /_activity agrees with the answer */
	snprintf(line, sizeof(line), "exit %d\n", daemon_exit_for(o));
	send_text(c, summary, line);
}

json_t *
daemon_status_json(struct daemon *d)
{
	json_t *arr = json_array(), *o;
	struct agent_status s;

	for (size_t i = 0; i < d->nworkers; i++) {
		worker_status(d->workers[i], &s);
		o = json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:s, s:i, s:b, "
		    "s:i, s:I}", "name", s.name, "state", s.state ? s.state :
		    "", "hits", s.hits, "repeat", s.repeat, "last_run",
		    (json_int_t)s.last_run_ms, "next_tick",
		    (json_int_t)s.next_tick_ms, "last_outcome",
		    outcome_name(s.last_outcome), "streak", s.no_work_streak,
		    "running", s.running, "queue_place", s.queue_place,
		    "run_started", (json_int_t)s.run_started_ms);
		if (s.error)
			json_object_set_new(o, "error", json_string(s.error));
		if (s.thought)
			json_object_set_new(o, "thought", json_string(s.thought));
		json_array_append_new(arr, o);
	}
	o = json_pack("{s:o, s:i, s:s}", "agents", arr, "pid", (int)d->pid,
	    "data", d->data);
	if (d->crew_error)
		json_object_set_new(o, "crew_error",
		    json_string(d->crew_error));
	return o;
}

static void
client_request(struct client *c, char *line)
{
	struct daemon *d = c->d;
	struct worker *w;
	char *s;
	json_t *j;

	if (strncmp(line, "run-once ", 9) == 0) {
		if (d->draining) {
			send_text(c, "keeper is shutting down", "exit 75\n");
			return;
		}
		if ((w = daemon_find(d, line + 9)) == NULL ||
		    worker_removed(w)) {
			s = xasprintf("no agent named '%s' in the crew",
			    line + 9);
			send_text(c, s, "exit 65\n");
			free(s);
			return;
		}
		c->watch.on_line = client_line;
		c->watch.on_end = client_end;
		c->watch.arg = c;
		c->w = w;
		if (worker_tick(w, "run-once", &c->watch) == -1) {
			c->w = NULL;
			s = xasprintf("%s is mid-tick; not starting a second "
			    "run", line + 9);
			send_text(c, s, "exit 75\n");
			free(s);
		}
	} else if (strcmp(line, "status") == 0) {
		j = daemon_status_json(d);
		s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		line = xasprintf("%s\n", s);
		client_send(c, line, 1);
		free(line);
		free(s);
	} else if (strcmp(line, "ping") == 0) {
		s = xasprintf("pong %ld\n", d->pid);
		client_send(c, s, 1);
		free(s);
	} else {
		client_send(c, "error unknown request\n", 1);
	}
}

static void
client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct client *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->buf + c->len, (unsigned int)(sizeof(c->buf) - 1 -
	    c->len));
}

static void
client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct client *c = s->data;
	char *nl;

	(void)b;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if ((nl = strchr(c->buf, '\n')) != NULL) {
		*nl = '\0';
		uv_read_stop(s);
		client_request(c, c->buf);
		/* Watch for a hang-up while a run-once streams. */
		if (!c->closing)
			uv_read_start(s, client_alloc, client_read);
		c->len = 0;
	} else if (c->len >= sizeof(c->buf) - 1) {
		client_send(c, "error request too long\n", 1);
	}
}

static void
ctl_connection(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;
	struct client *c;

	if (status != 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	uv_pipe_init(d->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, client_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, client_alloc, client_read);
}

/* sun_path holds 108 bytes; a longer path goes through the directory's
 * /proc/self/fd alias. *dfd is to be closed by the caller. */
char *
daemon_sock_path(const char *data, int *dfd)
{
	char *p = xasprintf("%s/keeper.sock", data);

	*dfd = -1;
	if (strlen(p) < 100)
		return p;
	free(p);
	if ((*dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return xasprintf("%s/keeper.sock", data);
	return xasprintf("/proc/self/fd/%d/keeper.sock", *dfd);
}

static int
ctl_listen(struct daemon *d)
{
	int dfd, rc;

	d->ctl_path = daemon_sock_path(d->data, &dfd);
	(void)unlink(d->ctl_path);	/* stale: we hold the lock */
	uv_pipe_init(d->loop, &d->ctl, 0);
	d->ctl.data = d;
	d->ctl_open = 1;
	if ((rc = uv_pipe_bind(&d->ctl, d->ctl_path)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&d->ctl, 64, ctl_connection)) != 0)
		log_warnx("event=control-socket-failed path=%s msg=%s",
		    log_qv(d->ctl_path), log_qv(uv_strerror(rc)));
	if (dfd != -1)
		close(dfd);
	return rc;
}

/* ---- signals and the manifest watch ---- */

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		log_info("event=sighup");
		service_reloading(d->svc);
		daemon_reload(d, 1);
		service_ready(d->svc);
		return;
	}
	if (d->draining)
		return;
	log_info("event=drain signal=%d", signum);
	d->draining = 1;
	if (d->watching)
		uv_timer_stop(&d->settle);
	service_stopping(d->svc);
	for (size_t i = 0; i < d->nworkers; i++)
		worker_stop(d->workers[i]);
	/* Ticks still waiting for a slot never started: they end now. The
	 * array may shrink under us (a removed worker is freed), so walk a
	 * copy. */
	{
		size_t n = d->nworkers;
		struct worker **ws = xcalloc(n + 1, sizeof(*ws));

		memcpy(ws, d->workers, n * sizeof(*ws));
		for (size_t i = 0; i < n; i++)
			worker_unqueue(ws[i]);
		free(ws);
	}
	if (!any_busy(d))
		uv_stop(d->loop);
}

#define MANIFEST_SETTLE_MS	150

static void
on_manifest_settled(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (!d->draining)
		daemon_reload(d, 0);
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

int
daemon_serve(struct daemon *d)
{
	int64_t now = util_now_ms();
	struct plane_web *web;
	char err[512];
	char *dir;

	/* The HTTP plane first: a --listen that cannot bind stops the start
	 * before any tick. */
	if (plane_start(d, &web, err, sizeof(err)) != 0) {
		fprintf(stderr, "keeper: %s\n", err);
		return 1;
	}

	start_zygote(d);
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
	(void)ctl_listen(d);
	if (d->manifest) {
		dir = util_dirname(d->manifest);
		uv_fs_event_init(d->loop, &d->watch);
		uv_timer_init(d->loop, &d->settle);
		d->watch.data = d->settle.data = d;
		d->watching = 1;
		if (uv_fs_event_start(&d->watch, on_manifest_dir, dir, 0) != 0)
			log_warnx("event=watch-failed dir=%s", dir);
		free(dir);
	}
	for (size_t i = 0; i < d->nworkers; i++)
		worker_arm_first(d->workers[i], now, 1);
	log_info("event=start pid=%ld data=%s repo=%s agents=%zu", d->pid,
	    log_qv(d->data), log_qv(d->repo), d->nworkers);
	d->svc = service_new(d);
	service_ready(d->svc);
	plane_ready(web);	/* http.addr: up, signals handled */
	uv_run(d->loop, UV_RUN_DEFAULT);
	plane_stop(web);	/* its handles close in daemon_free() */
	return d->exit_code;
}

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

	if ((w = daemon_find(d, name)) == NULL) {
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
		service_close(d->svc);
		d->svc = NULL;
		uv_close((uv_handle_t *)&d->publish, noop_close);
		if (d->sig_term.loop) {
			uv_close((uv_handle_t *)&d->sig_term, noop_close);
			uv_close((uv_handle_t *)&d->sig_int, noop_close);
			uv_close((uv_handle_t *)&d->sig_hup, noop_close);
		}
		if (d->watching) {
			uv_close((uv_handle_t *)&d->watch, noop_close);
			uv_close((uv_handle_t *)&d->settle, noop_close);
		}
		if (d->ctl_open) {
			uv_close((uv_handle_t *)&d->ctl, noop_close);
			(void)unlink(d->ctl_path);
		}
		statesync_free(d->sync);
		child_spawner_free(d->spawner);
		d->spawner = NULL;
		uv_run(d->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(d->loop);
		free(d->loop);
	}
	if (d->lock_fd != -1)
		close(d->lock_fd);
	store_ckpt_close(d->ckpt_conn);
	store_close(d->store);
	repo_close(d->git);
	redact_free(d->redactor);
	if (d->crew)
		crew_free(d->crew);
	free(d->workers);
	free(d->crew_error);
	free(d->manifest);
	free(d->repo);
	free(d->data);
	free(d->self_exe);
	free(d->ctl_path);
	free(d->dbpath);
	free(d);
	git_libgit2_shutdown();
}
