/*
 * runview: one run for /_runs/ID (runview.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "log.h"
#include "redact.h"
#include "rundoc.h"
#include "runlive.h"
#include "runview.h"
#include "status.h"
#include "store.h"
#include "util.h"

struct runview {
	uv_mutex_t	 mu;
	char		*dbpath;
	struct store	*db;		/* opened on the first request (mu) */
	struct runlive	*live;
};

struct found {
	json_t	*doc;
};

static void
row_cb(const struct run_rec *r, void *arg)
{
	struct found *f = arg;

	f->doc = rundoc_json(r, 1);
}

/* Served text passes the built-in patterns once more: what was stored
 * was redacted with the crew's too when it was written. */
static char *
redact_fn(void *arg, const char *text, size_t len)
{
	size_t n = 0;
	char *r = redact_apply(NULL, text, len, &n);

	(void)arg;
	if (r != NULL && n == len && memcmp(r, text, len) == 0) {
		free(r);
		return NULL;
	}
	return r;
}

/* A row still open: what the run has said so far. */
static void
overlay_live(struct runview *v, const char *id, json_t *doc)
{
	char *steps, *current, *log;

	if (!runlive_get(v->live, id, &steps, &current, &log))
		return;
	json_object_set_new(doc, "steps", rundoc_steps(steps));
	json_object_set_new(doc, "step", status_json_str(current, strlen(current)));
	json_object_set_new(doc, "log", status_json_str(log, strlen(log)));
	free(steps);
	free(current);
	free(log);
}

int
runview_get(void *arg, const char *id, char **body, size_t *len)
{
	struct runview *v = arg;
	struct found f = { NULL };
	char err[512];
	int rc = -1;

	uv_mutex_lock(&v->mu);
	if (v->db == NULL && access(v->dbpath, F_OK) == 0 &&
	    store_open(v->dbpath, &v->db, err, sizeof(err)) != 0)
		log_warnx("event=runs-read-failed error=%s", log_qv(err));
	if (v->db != NULL && store_run(v->db, strtoll(id, NULL, 10), row_cb,
	    &f) < 0) {
		log_warnx("event=runs-read-failed error=%s",
		    log_qv(store_errmsg(v->db)));
		/* A damaged or replaced file: open it again next time. */
		store_close(v->db);
		v->db = NULL;
	}
	uv_mutex_unlock(&v->mu);
	if (f.doc == NULL)
		return -1;
	if (json_is_true(json_object_get(f.doc, "running")))
		overlay_live(v, id, f.doc);
	status_redact_json(f.doc, redact_fn, NULL);
	if ((*body = json_dumps(f.doc, JSON_COMPACT)) != NULL) {
		*len = strlen(*body);
		rc = 0;
	}
	json_decref(f.doc);
	return rc;
}

struct runview *
runview_new(const char *dbpath, struct runlive *live)
{
	struct runview *v = xcalloc(1, sizeof(*v));

	uv_mutex_init(&v->mu);
	v->dbpath = xstrdup(dbpath);
	v->live = live;
	return v;
}

void
runview_free(struct runview *v)
{
	if (v == NULL)
		return;
	store_close(v->db);
	uv_mutex_destroy(&v->mu);
	free(v->dbpath);
	free(v);
}
