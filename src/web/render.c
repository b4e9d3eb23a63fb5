/*
 * render: snapshot building (see render.h). Each publish renders
 * /_activity, /_health and /_changes, redacts them and swaps them in. The dashboard counts clocks
 * down by itself, so a publish whose bodies differ from the last one only
 * in "now" is skipped: Server-Sent Events streams then carry real changes,
 * and the daemon can republish on a timer (for health that decays with
 * time) without waking every client each second.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

struct render {
	struct snapshot_store	*store;
	status_redact_fn	 redact;
	void			*redact_arg;
	json_t			*commits;	/* cached feed, an array */
	char			*key;		/* last bodies, sans clock */
};

struct render *
render_new(struct snapshot_store *st, status_redact_fn fn, void *arg)
{
	struct render *p = xcalloc(1, sizeof(*p));

	p->store = st;
	p->redact = fn;
	p->redact_arg = arg;
	p->commits = json_array();
	return p;
}

void
render_free(struct render *p)
{
	if (p == NULL)
		return;
	json_decref(p->commits);
	free(p->key);
	free(p);
}

void
render_set_redact(struct render *p, status_redact_fn fn, void *arg)
{
	p->redact = fn;
	p->redact_arg = arg;
	free(p->key);		/* the same status may now render otherwise */
	p->key = NULL;
}

void
render_set_commits(struct render *p, json_t *commits)
{
	json_decref(p->commits);
	p->commits = json_is_array(commits) ? commits : json_array();
	if (!json_is_array(commits))
		json_decref(commits);
}

static char *
memdup(const char *s, size_t len)
{
	char *d = xmalloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Dumps v without its clock field (obj.field), for the change key. */
static void
add_key(struct sb *k, json_t *obj, const char *field, json_t *v)
{
	json_t *clock = json_object_get(obj, field);
	char *s;

	json_incref(clock);
	json_object_del(obj, field);
	s = status_dump(v, NULL);
	sb_adds(k, s);
	sb_addc(k, '\n');
	free(s);
	if (clock != NULL)
		json_object_set_new(obj, field, clock);
}

/* The rendered activity is the key's text with "now" put back in front:
 * one dump of the whole crew per publish, not two. */
static char *
with_now(const char *obj, size_t len, int64_t now, size_t *outlen)
{
	struct sb b = { 0 };

	sb_addf(&b, "{\"now\":%lld", (long long)now);
	if (len > 2)
		sb_addc(&b, ',');
	sb_add(&b, obj + 1, len - 1);
	*outlen = b.len;
	return sb_detach(&b);
}

int
render_publish(struct render *p, const struct agent_status *as, size_t n,
    const struct status_crew *c, const struct render_more *more, int64_t now)
{
	json_t *act, *health, *changes;
	struct sb key = { 0 };
	struct snapshot *snap;
	char *ak, *ab, *hb, *cb;
	size_t akl, al, hl, cl;
	int code = 200, rc = 0;

	act = status_activity(as, n, c, now);
	health = status_health_json(as, n, c, now, &code);
	changes = status_changes(json_deep_copy(p->commits), as, n, c, now);
	status_redact_json(act, p->redact, p->redact_arg);
	status_redact_json(health, p->redact, p->redact_arg);
	status_redact_json(changes, p->redact, p->redact_arg);

	json_object_del(act, "now");
	ak = status_dump(act, &akl);
	hb = status_dump(health, &hl);
	sb_add(&key, ak, akl);
	sb_addc(&key, '\n');
	sb_add(&key, hb, hl);
	sb_addc(&key, '\n');
	add_key(&key, json_object_get(changes, "keeper"), "now", changes);
	if (more != NULL)
		sb_addf(&key, "more %llu\n", (unsigned long long)more->version);
	if (p->key != NULL && strcmp(p->key, key.buf) == 0) {
		sb_release(&key);
		free(ak);
		free(hb);
		goto done;
	}
	free(p->key);
	p->key = sb_detach(&key);
	ab = with_now(ak, akl, now, &al);
	free(ak);
	cb = status_dump(changes, &cl);
	snap = snapshot_new(ab, al, hb, hl, code, cb, cl);
	snap->role_active = c->role != NULL && strcmp(c->role, "active") == 0;
	if (more != NULL) {
		/* Names and numbers only: nothing in them to redact. */
		if (more->metrics != NULL && more->crew != NULL)
			snapshot_set_series(snap, more->metrics, n,
			    more->crew);
		snapshot_set_more(snap, NULL, 0, more->timeline ?
		    memdup(more->timeline, more->timeline_len) : NULL,
		    more->timeline_len);
		if (more->agenda != NULL)
			snapshot_set_agenda(snap, memdup(more->agenda,
			    more->agenda_len), more->agenda_len);
	}
	snapshot_publish(p->store, snap);
	rc = 1;
done:
	json_decref(act);
	json_decref(health);
	json_decref(changes);
	return rc;
}
