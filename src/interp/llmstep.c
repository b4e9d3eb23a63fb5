/*
 * llmstep: an llm step (SPEC §6). Its body and the def's system prompt are
 * templates (template.c), sent as one chat completion (llm.c) to
 * KEEPER_LLM_URL with KEEPER_LLM_KEY and the step's, the def's or
 * KEEPER_LLM_MODEL's model; the reply is the step's output, scanned for
 * telemetry and for NO-WORK like a shell step's. Neighbours: exec-int.h,
 * shstep.c (the other step kind).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-int.h"
#include "llm.h"
#include "settings.h"
#include "nowork.h"

/* The step and the run, for a retry's telemetry. */
struct retry_ctx {
	struct run	*r;
	const char	*name;
};

static void
on_retry(void *arg, const char *text)
{
	struct retry_ctx *x = arg;
	char *msg = xasprintf("%s: %s", x->name, text);

	exec__emit(x->r, EVENT_STEP, msg, strlen(msg));
	free(msg);
}

enum step_st
exec__run_llm(struct run *r, size_t i)
{
	const struct def_step *s = &r->def->steps[i];
	struct out *o = &r->outs[i];
	struct sb prompt = { 0 }, system = { 0 };
	struct llm_request req;
	struct llm_reply rep;
	struct nowork nw = { 0 };
	enum step_st ret = ST_FAILED;
	const char *sys, *url;
	char err[1024], usage[80], *u;
	size_t clen;
	int n;
	struct retry_ctx rx = { r, s->name };

	memset(&rep, 0, sizeof(rep));
	memset(&req, 0, sizeof(req));
	if (exec__expand(r, i, s->body, &prompt) == -1)
		goto done;
	sys = s->system ? s->system : r->def->system;
	if (sys && exec__expand(r, i, sys, &system) == -1)
		goto done;
	url = r->set->llm_url;
	if (url == NULL) {
		exec__seterr(r, "step \"%s\": KEEPER_LLM_URL is not set",
		    s->name);
		exec__setwhy(r, i, 0, "KEEPER_LLM_URL is not set: set it to "
		    "the endpoint's .../v1 or .../chat/completions URL");
		goto done;
	}
	req.url = url;
	req.key = r->set->llm_key;
	req.model = s->model ? s->model : r->def->model;
	if (req.model == NULL || req.model[0] == '\0')
		req.model = r->set->llm_model;
	if (req.model == NULL || req.model[0] == '\0') {
		exec__seterr(r, "step \"%s\": no model: set :model, #+MODEL: "
		    "or KEEPER_LLM_MODEL", s->name);
		exec__setwhy(r, i, 0, "no model: set :model on the block, "
		    "#+MODEL: in the def or KEEPER_LLM_MODEL");
		goto done;
	}
	req.system = sys ? system.buf ? system.buf : "" : NULL;
	req.prompt = prompt.buf ? prompt.buf : "";
	req.timeout_ms = s->timeout_ms > 0 ? s->timeout_ms :
	    EXEC_LLM_TIMEOUT_MS;
	req.on_retry = on_retry;
	req.retry_arg = &rx;
	if (llm_chat(&req, &rep, err, sizeof(err)) == -1) {
		u = redact_apply(r->rd, err, strlen(err), NULL);
		exec__seterr(r, "step \"%s\": %s", s->name, u);
		free(u);
		exec__setwhy(r, i, 0, "%s", rep.why[0] ? rep.why :
		    strncmp(err, "llm: ", 5) == 0 ? err + 5 : err);
		goto done;
	}
	n = event_usage_text(usage, sizeof(usage), rep.prompt_tokens,
	    rep.completion_tokens, rep.total_tokens);
	exec__emit(r, EVENT_USAGE, usage, (size_t)n);
	clen = strlen(rep.content);
	if (exec__out_write(r, o, rep.content, clen) == -1) {
		exec__seterr(r, "step \"%s\": cannot store its output in %s: "
		    "%s", s->name, r->tmpdir, strerror(errno));
		goto done;
	}
	exec__scan_feed(r, rep.content, clen);
	exec__scan_flush(r);
	nowork_feed(&nw, rep.content, clen);
	ret = nowork_result(&nw) ? ST_NO_WORK : ST_OK;
done:
	llm_reply_release(&rep);
	sb_release(&prompt);
	sb_release(&system);
	return ret;
}
