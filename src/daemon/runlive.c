/*
 * runlive: the runs in flight, for /_runs/ID (runlive.h). A list under
 * one mutex: there are as many entries as runs in flight (the gate's
 * slots), and a reader copies what it needs and lets go.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "redact.h"
#include "runlive.h"
#include "util.h"

struct entry {
	char		*id;
	struct sb	 steps, log;
	char		*current;
	struct redactor	*rd;		/* referenced, or NULL */
	int		 full;		/* the log reached RUNLIVE_LOG_MAX */
	struct entry	*next;
};

struct runlive {
	uv_mutex_t	 mu;
	struct entry	*head;
};

struct runlive *
runlive_new(void)
{
	struct runlive *l = xcalloc(1, sizeof(*l));

	uv_mutex_init(&l->mu);
	return l;
}

static void
entry_free(struct entry *e)
{
	free(e->id);
	free(e->current);
	redact_free(e->rd);
	sb_release(&e->steps);
	sb_release(&e->log);
	free(e);
}

void
runlive_free(struct runlive *l)
{
	struct entry *e, *n;

	if (l == NULL)
		return;
	for (e = l->head; e; e = n) {
		n = e->next;
		entry_free(e);
	}
	uv_mutex_destroy(&l->mu);
	free(l);
}

/* Under mu: the entry of id, unlinked when unlink is set. */
static struct entry *
find(struct runlive *l, const char *id, int unlink)
{
	struct entry **pp, *e;

	for (pp = &l->head; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->id, id) == 0) {
			if (unlink)
				*pp = e->next;
			return e;
		}
	return NULL;
}

void
runlive_begin(struct runlive *l, const char *id, struct redactor *rd)
{
	struct entry *e, *old;

	if (l == NULL)
		return;
	e = xcalloc(1, sizeof(*e));
	e->id = xstrdup(id);
	e->rd = rd ? redact_ref(rd) : NULL;
	uv_mutex_lock(&l->mu);
	if ((old = find(l, id, 1)) != NULL)
		entry_free(old);
	e->next = l->head;
	l->head = e;
	uv_mutex_unlock(&l->mu);
}

void
runlive_step_begin(struct runlive *l, const char *id, const char *name)
{
	struct entry *e;

	if (l == NULL)
		return;
	uv_mutex_lock(&l->mu);
	if ((e = find(l, id, 0)) != NULL) {
		free(e->current);
		e->current = xstrdup(name);
	}
	uv_mutex_unlock(&l->mu);
}

void
runlive_step_end(struct runlive *l, const char *id, const char *text)
{
	struct entry *e;

	if (l == NULL)
		return;
	uv_mutex_lock(&l->mu);
	if ((e = find(l, id, 0)) != NULL) {
		sb_addf(&e->steps, "%s\n", text);
		free(e->current);
		e->current = NULL;
	}
	uv_mutex_unlock(&l->mu);
}

void
runlive_log(struct runlive *l, const char *id, const char *line, size_t n)
{
	struct entry *e;

	if (l == NULL)
		return;
	uv_mutex_lock(&l->mu);
	if ((e = find(l, id, 0)) != NULL && !e->full) {
		if (e->log.len + n + 1 > RUNLIVE_LOG_MAX) {
			sb_adds(&e->log, "[... the rest when the run ends ...]\n");
			e->full = 1;
		} else {
			sb_add(&e->log, line, n);
			sb_add(&e->log, "\n", 1);
		}
	}
	uv_mutex_unlock(&l->mu);
}

void
runlive_end(struct runlive *l, const char *id)
{
	struct entry *e;

	if (l == NULL)
		return;
	uv_mutex_lock(&l->mu);
	if ((e = find(l, id, 1)) != NULL)
		entry_free(e);
	uv_mutex_unlock(&l->mu);
}

int
runlive_get(struct runlive *l, const char *id, char **steps, char **current,
    char **log)
{
	struct redactor *rd = NULL;
	struct entry *e;
	char *raw = NULL;
	size_t n = 0;
	int found = 0;

	*steps = *current = *log = NULL;
	if (l == NULL)
		return 0;
	uv_mutex_lock(&l->mu);
	if ((e = find(l, id, 0)) != NULL) {
		found = 1;
		*steps = xstrndup(e->steps.buf ? e->steps.buf : "",
		    e->steps.len);
		*current = xstrdup(e->current ? e->current : "");
		raw = xstrndup(e->log.buf ? e->log.buf : "", e->log.len);
		n = e->log.len;
		rd = e->rd ? redact_ref(e->rd) : NULL;
	}
	uv_mutex_unlock(&l->mu);
	/* Outside the lock: the loop never waits for a reader's matching. */
	if (found) {
		*log = redact_apply(rd, raw, n, NULL);
		free(raw);
		redact_free(rd);
	}
	return found;
}
