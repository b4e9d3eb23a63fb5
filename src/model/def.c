/*
 * def: parse and validate an agent def (SPEC §6, keeper-agent(5)).
 *
 * Steps are the src blocks in document order. A step is named by a #+NAME:
 * line right above its block, else by the title of the heading whose
 * section holds it, else "step-N" (N counts steps from 1). Header arguments
 * follow org-babel: `:key value` pairs on the #+BEGIN_SRC line and on
 * #+HEADER: lines above it, a value running up to the next ` :key`, and a
 * value in double quotes taken literally (with \" and \\ escapes).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "def.h"
#include "dur.h"
#include "org.h"
#include "table.h"
#include "util.h"

static const char *const reserved[] = {	/* template variables */
	"prev", "agent", "state", "hits", NULL
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
add_arg(struct def_step *st, char *key, char *value)
{
	st->args = cfg_grow(st->args, st->nargs, sizeof(*st->args));
	st->args[st->nargs].key = key;
	st->args[st->nargs].value = value;
	st->nargs++;
}

/*
 * Parse org-babel header arguments in s into st->args. Text before the
 * first :key is block switches (-n, -r, ...) and is skipped. -1 with an
 * error in d on an unterminated quote.
 */
static int
parse_args(struct def_step *st, const char *s, const char *path, size_t line,
    struct diag *d)
{
	const char *p = s, *k, *v, *e;
	struct sb sb = { 0 };
	int inq;

	for (;;) {
		while (*p && is_space(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != ':') {
			/* A switch; quoted words belong to it. */
			for (inq = 0; *p && (inq || !is_space(*p)); p++)
				if (*p == '"')
					inq = !inq;
			continue;
		}
		k = ++p;
		while (*p && !is_space(*p))
			p++;
		e = p;
		while (*p && is_space(*p))
			p++;
		v = p;
		if (*p == '"') {
			const char *q = p + 1, *r;

			sb_reset(&sb);
			for (; *q && *q != '"'; q++) {
				if (*q == '\\' && (q[1] == '"' || q[1] == '\\'))
					q++;
				sb_addc(&sb, *q);
			}
			if (*q != '"') {
				diag_err(d, path, line, "unterminated quote in "
				    "header argument ':%.*s'", (int)(e - k), k);
				sb_release(&sb);
				return -1;
			}
			for (r = ++q; *r && is_space(*r); r++)
				;
			if (*r == '\0' || (*r == ':' && r > q)) {
				/* The whole value is quoted: take it as is. */
				p = q;
				add_arg(st, xstrndup(k, (size_t)(e - k)),
				    sb_detach(&sb));
				continue;
			}
		}
		/* The value runs to the next white space followed by ':'. */
		for (inq = 0; *p; p++) {
			if (*p == '"')
				inq = !inq;
			if (!inq && is_space(*p)) {
				const char *q = p;

				while (*q && is_space(*q))
					q++;
				if (*q == ':' || *q == '\0')
					break;
			}
		}
		sb_reset(&sb);
		sb_add(&sb, v, (size_t)(p - v));
		add_arg(st, xstrndup(k, (size_t)(e - k)), sb_detach(&sb));
	}
	sb_release(&sb);
	return 0;
}

/* A forward-only cursor over the raw text, to read the lines right above
 * a block: org-element folds affiliated keywords (#+NAME:, #+HEADER:)
 * into the element, so the document does not list them as keywords. */
struct cursor {
	const char	*buf;
	size_t		 len;
	size_t		 line;		/* 1-based line that starts at off */
	size_t		 off;
};

static void
cursor_to(struct cursor *c, size_t line)
{
	const char *nl;

	while (c->line < line && c->off < c->len &&
	    (nl = memchr(c->buf + c->off, '\n', c->len - c->off)) != NULL) {
		c->off = (size_t)(nl - c->buf) + 1;
		c->line++;
	}
}

/* The line before the one starting at *off: its bytes in [*s, *s + *n),
 * and *off moves to its start. 0 at the top of the buffer. */
static int
line_before(const char *buf, size_t *off, const char **s, size_t *n)
{
	size_t end, start;

	if (*off == 0)
		return 0;
	end = *off - 1;			/* the '\n' ending that line */
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	*s = buf + start;
	*n = end - start;
	*off = start;
	return 1;
}

/* Split a raw "#+KEY: value" line; 0 when it is not one. */
static int
raw_keyword(const char *s, size_t n, const char **key, size_t *klen,
    const char **val, size_t *vlen)
{
	const char *e = s + n, *p;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (e - s < 3 || s[0] != '#' || s[1] != '+')
		return 0;
	for (p = s + 2; p < e && *p != ':' && *p != ' ' && *p != '\t'; p++)
		;
	if (p == e || *p != ':' || p == s + 2)
		return 0;
	*key = s + 2;
	*klen = (size_t)(p - *key);
	for (p++; p < e && is_space(*p); p++)
		;
	while (e > p && is_space(e[-1]))
		e--;
	*val = p;
	*vlen = (size_t)(e - p);
	return 1;
}

static int
key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && strncasecmp(key, want, klen) == 0;
}

static int
commented(const org_doc *doc, long h)
{
	for (size_t depth = 0; h >= 0 && (size_t)h < doc->nheadings &&
	    depth <= doc->nheadings; depth++) {
		if (doc->headings[h].commented)
			return 1;
		h = doc->headings[h].parent;
	}
	return 0;
}

static int
blank(const char *s)
{
	for (; *s; s++)
		if (!is_space(*s))
			return 0;
	return 1;
}

/* Interpret the header arguments keeper knows. */
static void
known_args(struct def_step *st, const char *path, struct diag *d)
{
	const char *lang = st->lang == DEF_LLM ? "llm" : st->lang == DEF_SH ?
	    "sh" : "bash";

	for (size_t i = 0; i < st->nargs; i++) {
		const char *k = st->args[i].key, *v = st->args[i].value;

		if (strcmp(k, "timeout") == 0) {
			if (dur_parse(v, &st->timeout_ms) == -1 ||
			    st->timeout_ms == 0) {
				diag_err(d, path, st->line,
				    "invalid duration '%s' for :timeout", v);
				st->timeout_ms = 0;
			}
		} else if (strcmp(k, "dir") == 0) {
			if (st->lang == DEF_LLM)
				diag_warn(d, path, st->line,
				    ":dir is ignored in llm blocks");
			free(st->dir);
			st->dir = *v ? xstrdup(v) : NULL;
		} else if (strcmp(k, "model") == 0 ||
		    strcmp(k, "system") == 0) {
			char **f = k[0] == 'm' ? &st->model : &st->system;

			if (st->lang != DEF_LLM)
				diag_warn(d, path, st->line,
				    ":%s is ignored in %s blocks", k, lang);
			free(*f);
			*f = *v ? xstrdup(v) : NULL;
		}
	}
}

/* Keywords that attach to the element below them (org-element's
 * affiliated keywords). */
static int
affiliated(const char *key, size_t klen)
{
	static const char *const aff[] = {
		"NAME", "HEADER", "HEADERS", "CAPTION", "RESULTS", "PLOT",
		"SRCNAME", "TBLNAME", "DATA", "LABEL", "SOURCE", NULL
	};

	if (klen > 5 && strncasecmp(key, "ATTR_", 5) == 0)
		return 1;
	for (size_t i = 0; aff[i]; i++)
		if (key_is(key, klen, aff[i]))
			return 1;
	return 0;
}

/* Build the step for src block b; 0 when it is one, -1 when not. */
static int
parse_step(struct agent_def *df, const org_doc *doc, struct cursor *cur,
    const org_block *b, struct def_step *st, struct diag *d)
{
	struct sb hdr = { 0 }, up = { 0 };
	char *lang = cfg_strn(b->lang.s, b->lang.len), *v;
	const char *name = NULL, *ls, *key, *val;
	size_t namelen = 0, off, n, klen, vlen;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->line = b->line;
	if (*lang == '\0') {
		diag_err(d, df->path, b->line, "src block without a language");
		goto done;
	}
	if (strcmp(lang, "sh") == 0)
		st->lang = DEF_SH;
	else if (strcmp(lang, "bash") == 0)
		st->lang = DEF_BASH;
	else if (strcmp(lang, "llm") == 0)
		st->lang = DEF_LLM;
	else {
		diag_err(d, df->path, b->line,
		    "unsupported language '%s' (expected sh, bash or llm)",
		    lang);
		goto done;
	}

	/* Affiliated keywords right above the block: #+NAME:, #+HEADER:.
	 * Read upwards; #+HEADER: values are prepended so that the upper
	 * lines come first and the BEGIN line, added last, wins. */
	cursor_to(cur, b->line);
	off = cur->line == b->line ? cur->off : 0;
	while (line_before(cur->buf, &off, &ls, &n) &&
	    raw_keyword(ls, n, &key, &klen, &val, &vlen) &&
	    affiliated(key, klen)) {
		if (key_is(key, klen, "NAME")) {
			name = val;	/* the topmost one, as org-element */
			namelen = vlen;
		} else if (key_is(key, klen, "HEADER") ||
		    key_is(key, klen, "HEADERS")) {
			sb_reset(&up);
			sb_addc(&up, ' ');
			sb_add(&up, val, vlen);
			if (hdr.len)
				sb_add(&up, hdr.buf, hdr.len);
			sb_reset(&hdr);
			sb_add(&hdr, up.buf, up.len);
		}
	}
	sb_release(&up);
	if (b->params.s != NULL) {
		v = cfg_strn(b->params.s, b->params.len);
		sb_adds(&hdr, " ");
		sb_adds(&hdr, v);
		free(v);
	}
	if (hdr.buf && parse_args(st, hdr.buf, df->path, b->line, d) == -1)
		goto done;
	known_args(st, df->path, d);

	if (name != NULL && namelen > 0)
		st->name = cfg_strn(name, namelen);
	else if (b->heading >= 0 && (size_t)b->heading < doc->nheadings &&
	    doc->headings[b->heading].title.len > 0)
		st->name = cfg_strn(doc->headings[b->heading].title.s,
		    doc->headings[b->heading].title.len);
	else
		st->name = xasprintf("step-%zu", df->nsteps + 1);
	for (size_t i = 0; reserved[i]; i++)
		if (strcmp(st->name, reserved[i]) == 0)
			diag_err(d, df->path, b->line,
			    "step name '%s' is reserved for {{%s}}", st->name,
			    st->name);

	st->body = cfg_strn(b->value.s, b->value.len);
	if (blank(st->body)) {
		if (st->lang == DEF_LLM)
			diag_err(d, df->path, b->line, "empty llm template");
		else
			diag_warn(d, df->path, b->line, "empty %s block",
			    lang);
	}
	ret = 0;
done:
	sb_release(&hdr);
	free(lang);
	return ret;
}

static void
step_release(struct def_step *st)
{
	free(st->name);
	free(st->body);
	for (size_t i = 0; i < st->nargs; i++) {
		free(st->args[i].key);
		free(st->args[i].value);
	}
	free(st->args);
	free(st->dir);
	free(st->model);
	free(st->system);
}

static void
parse_keywords(struct agent_def *df, const org_doc *doc, struct diag *d)
{
	size_t title = 0, model = 0;
	struct sb sys = { 0 };
	char *key, *v;

	for (size_t i = 0; i < doc->nkeywords; i++) {
		const org_keyword *kw = &doc->keywords[i];

		key = cfg_strn(kw->key.s, kw->key.len);
		v = cfg_strn(kw->value.s, kw->value.len);
		if (strcmp(key, "TITLE") == 0 || strcmp(key, "MODEL") == 0) {
			char **f = key[0] == 'T' ? &df->title : &df->model;
			size_t *seen = key[0] == 'T' ? &title : &model;

			if (*seen)
				diag_warn(d, df->path, kw->line,
				    "duplicate #+%s: (overrides line %zu)",
				    key, *seen);
			*seen = kw->line;
			free(*f);
			*f = *v ? v : NULL;
			if (*f == v)
				v = NULL;
		} else if (strcmp(key, "SYSTEM") == 0) {
			/* Several #+SYSTEM: lines make one multi-line prompt. */
			if (sys.len)
				sb_addc(&sys, '\n');
			sb_adds(&sys, v);
		} else if (!cfg_org_keyword(key))
			diag_warn(d, df->path, kw->line,
			    "unknown keyword '#+%s:'", key);
		free(key);
		free(v);
	}
	if (sys.len)
		df->system = sb_detach(&sys);
	sb_release(&sys);
}

int
def_parse(const char *path, const char *buf, size_t len,
    struct agent_def **out, struct diag *d)
{
	struct table names = { .flags = TABLE_COPY };
	struct table_ent *e;
	struct agent_def *df;
	struct def_step st;
	org_doc *doc;
	size_t nerr = d->nerrors, nsrc = 0;
	int added;
	struct cursor cur = { buf, len, 1, 0 };

	*out = NULL;
	if ((doc = org_parse(buf, len)) == NULL) {
		diag_err(d, path, 0, "out of memory parsing the file");
		return -1;
	}
	df = xcalloc(1, sizeof(*df));
	df->path = xstrdup(path);
	parse_keywords(df, doc, d);
	for (size_t i = 0; i < doc->nblocks; i++) {
		const org_block *b = &doc->blocks[i];

		if (b->name.len == 3 && strncmp(b->name.s, "SRC", 3) == 0)
			nsrc++;
	}
	df->steps = xcalloc(nsrc ? nsrc : 1, sizeof(*df->steps));
	for (size_t i = 0; i < doc->nblocks; i++) {
		const org_block *b = &doc->blocks[i];

		if (b->name.len != 3 || strncmp(b->name.s, "SRC", 3) != 0)
			continue;
		/* Like org-babel, a commented subtree does not run. */
		if (commented(doc, b->heading))
			continue;
		if (parse_step(df, doc, &cur, b, &st, d) == -1) {
			step_release(&st);
			continue;
		}
		e = table_put(&names, st.name, &added);
		if (!added) {
			diag_err(d, path, st.line, "duplicate step name '%s' "
			    "(first at line %zu)", st.name, e->v.num);
			step_release(&st);
			continue;
		}
		e->v.num = st.line;
		df->steps[df->nsteps++] = st;
	}
	if (df->nsteps == 0 && d->nerrors == nerr)
		diag_err(d, path, 0, "no steps (an agent def needs at least "
		    "one sh, bash or llm src block)");
	table_release(&names);
	org_free(doc);
	if (d->nerrors != nerr) {
		def_free(df);
		return -1;
	}
	*out = df;
	return 0;
}

int
def_load(const char *path, struct agent_def **out, struct diag *d)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((buf = cfg_read(path, &len, d)) == NULL)
		return -1;
	rc = def_parse(path, buf, len, out, d);
	free(buf);
	return rc;
}

const char *
def_arg(const struct def_step *st, const char *key)
{
	const char *v = NULL;

	if (st == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < st->nargs; i++)	/* the last one wins */
		if (strcmp(st->args[i].key, key) == 0)
			v = st->args[i].value;
	return v;
}

void
def_free(struct agent_def *df)
{
	if (df == NULL)
		return;
	for (size_t i = 0; i < df->nsteps; i++)
		step_release(&df->steps[i]);
	free(df->steps);
	free(df->path);
	free(df->title);
	free(df->model);
	free(df->system);
	free(df);
}
