/*
 * fleet: the role machine on its own thread (see fleet.h).
 *
 *   standby:  grant a lease; create the leader key on it if nobody holds
 *             it. Won: read the state, become active. Lost: give the
 *             lease back, note who holds the key, and watch the key until
 *             it is deleted (its holder's lease lapsed, or it resigned);
 *             then campaign again.
 *   active:   keep the lease alive every TTL/3 and write the queued state
 *             puts; a keep-alive that etcd says expired, or no answer
 *             before the lease's deadline, or a put refused because the
 *             leader key is no longer ours, and this keeper is standby
 *             again (the loop hears it at once and stops what runs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "fleet.h"
#include "log.h"
#include "table.h"
#include "util.h"

#define FLEET_RETRY_MS	200	/* after an etcd error, before retrying */

struct put {
	char	*value;
	size_t	 len;
};

struct fleet {
	struct fleet_opts o;
	char		*urls, *crew, *identity;
	char		*leader, *prefix;	/* keys */
	int64_t		 ttl_s;			/* asked of etcd */
	int64_t		 margin_ms;		/* fencing's safety margin */
	struct etcd	*e;			/* the thread's */

	uv_thread_t	 th;
	int		 th_up;
	uv_async_t	 async;
	uv_mutex_t	 mu;
	uv_cond_t	 cv;
	/* Under mu. */
	int		 quit;
	int		 have_identity;		/* campaigns may start */
	_Atomic int	 stop_watch;
	enum fleet_role	 role;
	char		*active;
	int64_t		 lease, lease_rev;	/* ours, while active */
	int64_t		 live_until;		/* monotonic ms */
	struct fleet_state *state;
	size_t		 nstate;
	struct table	 puts;			/* name -> struct put * */
	uint64_t	 requests, became;
};

static void
notify(struct fleet *f)
{
	uv_async_send(&f->async);
}

static void
on_async(uv_async_t *h)
{
	struct fleet *f = h->data;

	if (f->o.changed)
		f->o.changed(f, f->o.arg);
}

/* ---- the loop's side ---- */

enum fleet_role
fleet_role(struct fleet *f)
{
	enum fleet_role r;

	uv_mutex_lock(&f->mu);
	r = f->role;
	uv_mutex_unlock(&f->mu);
	return r;
}

char *
fleet_active(struct fleet *f)
{
	char *s;

	uv_mutex_lock(&f->mu);
	s = f->active ? xstrdup(f->active) : NULL;
	uv_mutex_unlock(&f->mu);
	return s;
}

int64_t
fleet_live_until(struct fleet *f)
{
	int64_t t;

	uv_mutex_lock(&f->mu);
	t = f->role == FLEET_ACTIVE ? f->live_until : 0;
	uv_mutex_unlock(&f->mu);
	return t;
}

int
fleet_live(struct fleet *f)
{
	int64_t t = fleet_live_until(f);

	return t > 0 && util_mono_ms() < t;
}

int64_t
fleet_lease(struct fleet *f)
{
	int64_t l;

	uv_mutex_lock(&f->mu);
	l = f->role == FLEET_ACTIVE ? f->lease : 0;
	uv_mutex_unlock(&f->mu);
	return l;
}

struct fleet_state *
fleet_take_state(struct fleet *f, size_t *n)
{
	struct fleet_state *s;

	uv_mutex_lock(&f->mu);
	s = f->state;
	*n = f->nstate;
	f->state = NULL;
	f->nstate = 0;
	uv_mutex_unlock(&f->mu);
	return s;
}

void
fleet_state_free(struct fleet_state *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].value);
	}
	free(s);
}

void
fleet_put(struct fleet *f, const char *name, const char *value, size_t len)
{
	struct table_ent *e;
	struct put *p;
	int added;

	uv_mutex_lock(&f->mu);
	e = table_put(&f->puts, name, &added);
	if (added)
		e->v.ptr = xcalloc(1, sizeof(struct put));
	p = e->v.ptr;
	free(p->value);
	p->value = xmalloc(len + 1);
	memcpy(p->value, value, len);
	p->value[len] = '\0';
	p->len = len;
	uv_cond_signal(&f->cv);
	uv_mutex_unlock(&f->mu);
}

void
fleet_counters(struct fleet *f, uint64_t *requests, uint64_t *became)
{
	uv_mutex_lock(&f->mu);
	*requests = f->requests;
	*became = f->became;
	uv_mutex_unlock(&f->mu);
}

/* ---- the thread's side ---- */

static void
count(struct fleet *f)
{
	uv_mutex_lock(&f->mu);
	f->requests++;
	uv_mutex_unlock(&f->mu);
}

static int
quitting(struct fleet *f)
{
	int q;

	uv_mutex_lock(&f->mu);
	q = f->quit;
	uv_mutex_unlock(&f->mu);
	return q;
}

/* Wait up to ms, or until a put or quit comes. */
static void
nap(struct fleet *f, int64_t ms)
{
	uv_mutex_lock(&f->mu);
	if (!f->quit && (f->puts.n == 0 || f->role != FLEET_ACTIVE))
		(void)uv_cond_timedwait(&f->cv, &f->mu, (uint64_t)(ms > 0 ?
		    ms : 1) * 1000000);
	uv_mutex_unlock(&f->mu);
}

static void	drop_puts(struct fleet *);

static void
became_standby(struct fleet *f, const char *why)
{
	drop_puts(f);
	uv_mutex_lock(&f->mu);
	if (f->role == FLEET_ACTIVE)
		log_warnx("event=lease-lost lease=%lld msg=%s",
		    (long long)f->lease, log_qv(why));
	f->role = FLEET_STANDBY;
	f->lease = 0;
	f->lease_rev = 0;
	f->live_until = 0;
	free(f->active);
	f->active = NULL;
	uv_mutex_unlock(&f->mu);
	notify(f);
}

struct collect {
	struct fleet_state *v;
	size_t		 n;
	size_t		 skip;		/* the prefix's length */
};

static void
collect_state(const struct etcd_kv *kv, void *arg)
{
	struct collect *c = arg;

	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n].name = xstrdup(kv->key + c->skip);
	c->v[c->n].value = xmalloc(kv->vlen + 1);
	memcpy(c->v[c->n].value, kv->value, kv->vlen + 1);
	c->v[c->n].len = kv->vlen;
	c->n++;
}

static int
on_leader_event(const struct etcd_event *ev, void *arg)
{
	(void)arg;
	return ev->type == ETCD_DELETE;	/* gone: campaign */
}

/* One campaign: 1 when this keeper became active. */
static int
campaign(struct fleet *f)
{
	struct etcd_kv holder;
	struct collect c = { 0 };
	int64_t lease, ttl, rev, t0;
	char err[512], *id;
	int created, r;

	t0 = util_mono_ms();
	count(f);
	if (etcd_grant(f->e, f->ttl_s, &lease, &ttl, err, sizeof(err)) != 0) {
		log_debug("event=lease-grant-failed msg=%s", log_qv(err));
		nap(f, FLEET_RETRY_MS);
		return 0;
	}
	count(f);
	uv_mutex_lock(&f->mu);
	id = xstrdup(f->identity);
	uv_mutex_unlock(&f->mu);
	r = etcd_create(f->e, f->leader, id, strlen(id), lease, &created,
	    &holder, &rev, err, sizeof(err));
	if (r != 0) {
		free(id);
		count(f);
		(void)etcd_revoke(f->e, lease, err, sizeof(err));
		nap(f, FLEET_RETRY_MS);
		return 0;
	}
	if (!created) {
		free(id);
		count(f);
		(void)etcd_revoke(f->e, lease, err, sizeof(err));
		uv_mutex_lock(&f->mu);
		free(f->active);
		f->active = xstrdup(holder.value);
		uv_mutex_unlock(&f->mu);
		notify(f);
		count(f);
		if (etcd_watch(f->e, f->leader, 0, holder.mod_rev + 1,
		    on_leader_event, f, &f->stop_watch, err, sizeof(err)) != 0)
			nap(f, FLEET_RETRY_MS);
		etcd_kv_release(&holder);
		return 0;
	}
	/* Won: what the last active keeper left, before anything runs. */
	c.skip = strlen(f->prefix);
	count(f);
	if (etcd_get_prefix(f->e, f->prefix, collect_state, &c, NULL, err,
	    sizeof(err)) != 0) {
		/* Without the state it would start from scratch: resign and
		 * try again rather than run from a stale position. */
		log_warnx("event=lease-state-unreadable msg=%s", log_qv(err));
		free(id);
		fleet_state_free(c.v, c.n);
		count(f);
		(void)etcd_revoke(f->e, lease, err, sizeof(err));
		nap(f, FLEET_RETRY_MS);
		return 0;
	}
	uv_mutex_lock(&f->mu);
	f->role = FLEET_ACTIVE;
	f->lease = lease;
	f->lease_rev = rev;
	f->live_until = t0 + ttl * 1000 - f->margin_ms;
	free(f->active);
	f->active = id;		/* what the key holds */
	fleet_state_free(f->state, f->nstate);
	f->state = c.v;
	f->nstate = c.n;
	f->became++;
	uv_mutex_unlock(&f->mu);
	log_info("event=lease-active lease=%lld ttl_s=%lld", (long long)lease,
	    (long long)ttl);
	notify(f);
	return 1;
}

/* The queue emptied: what a keeper that is not active wrote is its own,
 * never the crew's (its successor's state must not be overwritten when
 * it becomes active again). */
static void
drop_puts(struct fleet *f)
{
	struct table_ent *e;
	size_t pos = 0;

	uv_mutex_lock(&f->mu);
	while ((e = table_next(&f->puts, &pos)) != NULL) {
		free(((struct put *)e->v.ptr)->value);
		free(e->v.ptr);
	}
	table_clear(&f->puts);
	uv_mutex_unlock(&f->mu);
}

/* Put name back in the queue after a failed write, unless a newer value
 * came meanwhile. */
static void
requeue(struct fleet *f, const char *name, struct put *p)
{
	struct table_ent *e;
	int added;

	uv_mutex_lock(&f->mu);
	e = table_put(&f->puts, name, &added);
	if (added)
		e->v.ptr = p;
	else {
		free(p->value);
		free(p);
	}
	uv_mutex_unlock(&f->mu);
}

/* Write what is queued, while the leader key is still ours: 0 all
 * written, 1 an error (the rest waits for the next round), -1 the key is
 * not ours any more. */
static int
flush_puts(struct fleet *f)
{
	struct table_ent *e;
	struct put *p;
	char *name, *key, err[512];
	int64_t rev;
	size_t pos;
	int done, rc;

	for (;;) {
		uv_mutex_lock(&f->mu);
		pos = 0;
		if ((e = table_next(&f->puts, &pos)) == NULL) {
			uv_mutex_unlock(&f->mu);
			return 0;
		}
		name = xstrdup(e->key);
		p = e->v.ptr;
		(void)table_del(&f->puts, name);
		rev = f->lease_rev;
		uv_mutex_unlock(&f->mu);
		key = xasprintf("%s%s", f->prefix, name);
		count(f);
		rc = etcd_put_if(f->e, f->leader, rev, key, p->value, p->len,
		    &done, err, sizeof(err));
		free(key);
		if (rc != 0) {
			requeue(f, name, p);
			free(name);
			return 1;
		}
		free(name);
		free(p->value);
		free(p);
		if (!done)
			return -1;
	}
}

static void
keep(struct fleet *f)
{
	int64_t ttl, t, until, lease, period = f->ttl_s * 1000 / 3;
	char err[512];
	int rc;

	while (!quitting(f)) {
		uv_mutex_lock(&f->mu);
		lease = f->lease;
		until = f->live_until;
		uv_mutex_unlock(&f->mu);
		if (flush_puts(f) == -1) {
			became_standby(f, "the leader key is no longer ours");
			return;
		}
		t = util_mono_ms();
		count(f);
		rc = etcd_keepalive(f->e, lease, &ttl, err, sizeof(err));
		if (rc == 0 && ttl == 0) {
			became_standby(f, "etcd says the lease expired");
			return;
		}
		/* Sent after the fence had fallen (this keeper was stopped or
		 * starved): the loop may already have acted on the loss, and
		 * a lease that lapsed for it is never taken up again. */
		if (t >= until) {
			count(f);
			(void)etcd_revoke(f->e, lease, err, sizeof(err));
			became_standby(f, "renewed too late: resigned");
			return;
		}
		if (rc == 0) {
			uv_mutex_lock(&f->mu);
			f->live_until = t + ttl * 1000 - f->margin_ms;
			uv_mutex_unlock(&f->mu);
			nap(f, period);
			continue;
		}
		if (util_mono_ms() >= until) {
			became_standby(f, err);
			return;
		}
		nap(f, FLEET_RETRY_MS);
	}
}

static void
run(void *arg)
{
	struct fleet *f = arg;
	char err[512];
	int64_t lease;

	uv_mutex_lock(&f->mu);
	while (!f->have_identity && !f->quit)
		uv_cond_wait(&f->cv, &f->mu);
	uv_mutex_unlock(&f->mu);
	while (!quitting(f)) {
		if (campaign(f))
			keep(f);
	}
	/* Resign: a standby takes over at once, not after the TTL. */
	lease = fleet_lease(f);
	if (lease != 0)
		(void)etcd_revoke(f->e, lease, err, sizeof(err));
}

struct fleet *
fleet_start(const struct fleet_opts *o, char *err, size_t errlen)
{
	struct fleet *f = xcalloc(1, sizeof(*f));
	long timeout;

	f->o = *o;
	f->urls = xstrdup(o->urls);
	f->crew = xstrdup(o->crew);
	f->identity = xstrdup(o->identity ? o->identity : "{}");
	f->have_identity = !o->wait_identity;
	f->o.urls = f->urls;
	f->o.crew = f->crew;
	f->o.identity = f->identity;
	f->leader = xasprintf("/keeper/%s/leader", f->crew);
	f->prefix = xasprintf("/keeper/%s/state/", f->crew);
	f->ttl_s = (o->ttl_ms + 999) / 1000;
	if (f->ttl_s < 2)	/* etcd's minimum, about */
		f->ttl_s = 2;
	/* Fenced a tenth early (at least 100 ms): clocks drift, a
	 * keep-alive's answer is late. */
	f->margin_ms = f->ttl_s * 100 > 100 ? f->ttl_s * 100 : 100;
	/* A request may not outlast a third of the lease. */
	timeout = (long)(f->ttl_s * 1000 / 3);
	if ((f->e = etcd_new(f->urls, timeout < 2000 ? timeout : 2000, err,
	    errlen)) == NULL)
		goto fail;
	f->puts.flags = TABLE_COPY;
	uv_mutex_init(&f->mu);
	uv_cond_init(&f->cv);
	uv_async_init(o->loop, &f->async, on_async);
	f->async.data = f;
	if (uv_thread_create(&f->th, run, f) != 0) {
		snprintf(err, errlen, "cannot start the lease's thread");
		uv_close((uv_handle_t *)&f->async, NULL);
		uv_mutex_destroy(&f->mu);
		uv_cond_destroy(&f->cv);
		etcd_free(f->e);
		goto fail;
	}
	f->th_up = 1;
	return f;
fail:
	free(f->urls);
	free(f->crew);
	free(f->identity);
	free(f->leader);
	free(f->prefix);
	free(f);
	return NULL;
}

static void
closed(uv_handle_t *h)
{
	struct fleet *f = h->data;
	struct table_ent *e;
	size_t pos = 0;

	while ((e = table_next(&f->puts, &pos)) != NULL) {
		free(((struct put *)e->v.ptr)->value);
		free(e->v.ptr);
	}
	table_release(&f->puts);
	fleet_state_free(f->state, f->nstate);
	uv_mutex_destroy(&f->mu);
	uv_cond_destroy(&f->cv);
	etcd_free(f->e);
	free(f->active);
	free(f->urls);
	free(f->crew);
	free(f->identity);
	free(f->leader);
	free(f->prefix);
	free(f);
}

void
fleet_set_identity(struct fleet *f, const char *identity)
{
	uv_mutex_lock(&f->mu);
	free(f->identity);
	f->identity = xstrdup(identity);
	f->o.identity = f->identity;
	f->have_identity = 1;
	uv_cond_broadcast(&f->cv);
	uv_mutex_unlock(&f->mu);
}

void
fleet_stop(struct fleet *f)
{
	if (f == NULL)
		return;
	uv_mutex_lock(&f->mu);
	f->quit = 1;
	f->stop_watch = 1;
	uv_cond_broadcast(&f->cv);
	uv_mutex_unlock(&f->mu);
	if (f->th_up)
		uv_thread_join(&f->th);
	uv_close((uv_handle_t *)&f->async, closed);
}
