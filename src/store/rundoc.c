/*
 * rundoc: history rows as JSON (rundoc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "rundoc.h"
#include "status.h"
#include "utf8.h"
#include "util.h"

static json_t *
jstr(const char *s)
{
	return status_json_str(s, s ? strlen(s) : 0);
}

static json_t *
jms(int64_t v)
{
	return v ? json_integer(v) : json_null();
}

/* One "NAME STATUS MS" line, read from the right: names may hold
 * spaces. */
static json_t *
step_of(const char *line, size_t len)
{
	const char *ms, *st;
	json_t *o;

	for (ms = line + len; ms > line && ms[-1] != ' '; ms--)
		;
	if (ms == line)
		return NULL;
	for (st = ms - 1; st > line && st[-1] != ' '; st--)
		;
	if (st == line)
		return NULL;
	o = json_object();
	json_object_set_new(o, "name", status_json_str(line, (size_t)(st - 1 -
	    line)));
	json_object_set_new(o, "status", status_json_str(st, (size_t)(ms - 1 -
	    st)));
	json_object_set_new(o, "ms", json_integer(strtoll(ms, NULL, 10)));
	return o;
}

json_t *
rundoc_steps(const char *steps)
{
	json_t *a = json_array(), *o;
	const char *p = steps, *nl;
	size_t n;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > 0 && (o = step_of(p, n)) != NULL)
			json_array_append_new(a, o);
		p = nl ? nl + 1 : NULL;
	}
	return a;
}

json_t *
rundoc_json(const struct run_rec *r, int whole)
{
	json_t *o = json_object();
	size_t hl = r->output_head ? (r->output_head_len ? r->output_head_len :
	    strlen(r->output_head)) : 0;

	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "agent", jstr(r->agent));
	json_object_set_new(o, "trigger", jstr(r->trigger));
	json_object_set_new(o, "state", jstr(r->state));
	json_object_set_new(o, "hits", json_integer(r->hits));
	json_object_set_new(o, "repeat", json_integer(r->repeat));
	json_object_set_new(o, "scheduled", jms(r->scheduled_ms));
	json_object_set_new(o, "started", jms(r->started_ms));
	json_object_set_new(o, "ended", jms(r->ended_ms));
	json_object_set_new(o, "duration_ms", r->started_ms && r->ended_ms ?
	    json_integer(r->duration_ms) : json_null());
	json_object_set_new(o, "outcome", r->outcome ?
	    json_string(outcome_name(r->outcome)) : json_null());
	json_object_set_new(o, "exit_code", r->exit_code >= 0 ?
	    json_integer(r->exit_code) : json_null());
	json_object_set_new(o, "output_bytes", json_integer(r->output_bytes));
	json_object_set_new(o, "output_head", status_json_str(r->output_head, hl));
	json_object_set_new(o, "commit_id", jstr(r->commit_id));
	json_object_set_new(o, "committed", jms(r->committed_ms));
	json_object_set_new(o, "git", jstr(r->git));
	json_object_set_new(o, "error", jstr(r->error));
	json_object_set_new(o, "delivery", jstr(r->delivery));
	json_object_set_new(o, "tokens_prompt", r->tokens_prompt >= 0 ?
	    json_integer(r->tokens_prompt) : json_null());
	json_object_set_new(o, "tokens_completion", r->tokens_completion >= 0 ?
	    json_integer(r->tokens_completion) : json_null());
	json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) :
	    json_null());
	json_object_set_new(o, "pgid", r->pgid ? json_integer(r->pgid) :
	    json_null());
	json_object_set_new(o, "daemon_pid", json_integer(r->daemon_pid));
	if (!whole) {
		json_object_set_new(o, "steps", jstr(r->steps));
		return o;
	}
	json_object_set_new(o, "running", json_boolean(r->outcome ==
	    OUTCOME_NONE));
	json_object_set_new(o, "steps", rundoc_steps(r->steps));
	json_object_set_new(o, "result", status_json_str(r->output_head, hl));
	json_object_set_new(o, "log", r->log ? jstr(r->log) : json_string(""));
	return o;
}
