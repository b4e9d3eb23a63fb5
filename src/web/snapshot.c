/*
 * snapshot: a mutex-protected pointer swap with reference counts. The
 * mutex is held only to swap or to take a reference (a few instructions),
 * never while a body is built or sent; a condition variable wakes the
 * Server-Sent Events streams on each publish.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot.h"
#include "util.h"

struct snapshot_store {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	struct snapshot	*cur;
	uint64_t	 version;
	uint64_t	 kicks;		/* snapshot_kick() calls */
	int		 closed;
};

static char *
body_or_empty(char *s, size_t *len)
{
	if (s != NULL)
		return s;
	*len = 2;
	return xstrdup("{}");
}

struct snapshot *
snapshot_new(char *activity, size_t activity_len, char *health,
    size_t health_len, int health_code, char *changes, size_t changes_len)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));

	s->activity = body_or_empty(activity, &activity_len);
	s->activity_len = activity_len;
	s->health = body_or_empty(health, &health_len);
	s->health_len = health_len;
	s->health_code = health_code;
	s->changes = body_or_empty(changes, &changes_len);
	s->changes_len = changes_len;
	pthread_mutex_init(&s->mu, NULL);
	s->timeline = xstrdup("{}");
	s->timeline_len = 2;
	s->agenda = xstrdup("[]");
	s->agenda_len = 2;
	atomic_init(&s->refs, 1);
	return s;
}

void
snapshot_release(struct snapshot *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->activity);
	free(s->health);
	free(s->changes);
	free(s->metrics);
	free(s->ma);
	free(s->ma_names);
	pthread_mutex_destroy(&s->mu);
	free(s->timeline);
	free(s->agenda);
	free(s);
}

void
snapshot_set_more(struct snapshot *s, char *metrics, size_t metrics_len,
    char *timeline, size_t timeline_len)
{
	if (metrics != NULL) {
		free(s->metrics);
		s->metrics = metrics;
		s->metrics_len = metrics_len;
	}
	if (timeline != NULL) {
		free(s->timeline);
		s->timeline = timeline;
		s->timeline_len = timeline_len;
	}
}

void
snapshot_set_series(struct snapshot *s, const struct metrics_agent *ma,
    size_t n, const struct metrics_crew *mc)
{
	size_t names = 0, off = 0;

	s->ma = xreallocarray(NULL, n ? n : 1, sizeof(*s->ma));
	memcpy(s->ma, ma, n * sizeof(*ma));
	for (size_t i = 0; i < n; i++)
		names += strlen(ma[i].name) + 1;
	s->ma_names = xmalloc(names ? names : 1);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(ma[i].name) + 1;

		memcpy(s->ma_names + off, ma[i].name, l);
		s->ma[i].name = s->ma_names + off;
		off += l;
	}
	s->nma = n;
	s->mc = *mc;
}

const char *
snapshot_metrics(struct snapshot *s, size_t *len)
{
	struct sb b = { 0 };

	pthread_mutex_lock(&s->mu);
	if (s->metrics == NULL) {
		if (s->ma != NULL)
			metrics_render(&b, s->ma, s->nma, &s->mc);
		s->metrics_len = b.len;
		s->metrics = b.buf ? sb_detach(&b) : xstrdup("");
		/* The text serves every later reader; the series are done. */
		free(s->ma);
		free(s->ma_names);
		s->ma = NULL;
		s->ma_names = NULL;
	}
	*len = s->metrics_len;
	pthread_mutex_unlock(&s->mu);
	return s->metrics;
}

void
snapshot_set_agenda(struct snapshot *s, char *agenda, size_t agenda_len)
{
	if (agenda == NULL)
		return;
	free(s->agenda);
	s->agenda = agenda;
	s->agenda_len = agenda_len;
}

struct snapshot_store *
snapshot_store_new(void)
{
	struct snapshot_store *st = xcalloc(1, sizeof(*st));
	pthread_condattr_t ca;

	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Readers before the first publish see empty bodies, version 0. */
	st->cur = snapshot_new(NULL, 0, NULL, 0, 200, NULL, 0);
	return st;
}

void
snapshot_store_close(struct snapshot_store *st)
{
	pthread_mutex_lock(&st->mu);
	st->closed = 1;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

void
snapshot_store_free(struct snapshot_store *st)
{
	if (st == NULL)
		return;
	snapshot_store_close(st);
	snapshot_release(st->cur);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

void
snapshot_publish(struct snapshot_store *st, struct snapshot *s)
{
	struct snapshot *old;

	pthread_mutex_lock(&st->mu);
	s->version = ++st->version;
	old = st->cur;
	st->cur = s;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	snapshot_release(old);	/* outside the lock: it may free */
}

struct snapshot *
snapshot_acquire(struct snapshot_store *st)
{
	struct snapshot *s;

	pthread_mutex_lock(&st->mu);
	s = st->cur;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&st->mu);
	return s;
}

void
snapshot_kick(struct snapshot_store *st)
{
	pthread_mutex_lock(&st->mu);
	st->kicks++;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

int
snapshot_wait(struct snapshot_store *st, uint64_t seen, int timeout_ms)
{
	struct timespec dl;
	uint64_t kicks;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->mu);
	kicks = st->kicks;
	for (;;) {
		if (st->closed) {
			r = -1;
			break;
		}
		if (st->version > seen) {
			r = 1;
			break;
		}
		if (st->kicks != kicks)
			break;
		if (pthread_cond_timedwait(&st->cv, &st->mu, &dl) == ETIMEDOUT) {
			r = st->closed ? -1 : st->version > seen;
			break;
		}
	}
	pthread_mutex_unlock(&st->mu);
	return r;
}
