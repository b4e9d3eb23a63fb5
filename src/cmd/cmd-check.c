/*
 * cmd-check: `keeper check [--as crew|lifecycle|def] [--strict] FILE...`.
 *
 * Recognises each file's kind, parses it with its model and prints every
 * problem as FILE:LINE: message on stderr. A crew is checked with
 * everything it names (member defs and lifecycles, per-state defs), each
 * file once. Exit 0 when there is no error, 65 when there is one (or a
 * warning under --strict), 64 on a usage error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cmd.h"
#include "crew.h"
#include "def.h"
#include "diag.h"
#include "lcspec.h"
#include "org.h"
#include "table.h"
#include "util.h"
#include "walk.h"

#define CHECK_MAX_SHOWN	100	/* problems printed per file */

enum kind { K_UNKNOWN, K_CREW, K_LIFECYCLE, K_DEF };

static const char *const kind_names[] = {
	"unknown", "crew", "lifecycle", "def"
};

struct job {
	char		*path;
	enum kind	 kind;		/* K_UNKNOWN: detect */
	char		*from;		/* the file that names it, or NULL */
	size_t		 from_line;
};

struct checker {
	struct job	*jobs;		/* a queue: files still to check */
	size_t		 njobs;
	size_t		 next;
	struct table	 seen;		/* files already queued */
	size_t		 nerrors;
	size_t		 nwarnings;
};

static const char usage_line[] =
    "usage: keeper check [--as crew|lifecycle|def] [--strict] FILE...";

static void
help(void)
{
	printf("%s\n\n"
	    "Parse crew manifests, lifecycle specs and agent defs and print\n"
	    "every problem as FILE:LINE: message. A crew is checked with the\n"
	    "defs and lifecycles its members name, and the per-state defs of\n"
	    "those lifecycles.\n\n"
	    "A file's kind is recognised from its content, in this order:\n"
	    "  lifecycle  a #+START: line, or a level-1 heading with :NEXT:\n"
	    "  crew       a level-1 heading with :DEF:, or a crew keyword\n"
	    "             (#+REPO:, #+CONCURRENCY:, #+STAGGER:, ...)\n"
	    "  def        a src block\n\n"
	    "  --as KIND  treat every FILE as KIND (crew, lifecycle or def)\n"
	    "  --strict   count warnings as problems\n\n"
	    "Exit status: 0 clean, 65 problems, 64 usage error.\n"
	    "See keeper-crew(5), keeper-lifecycle(5), keeper-agent(5).\n",
	    usage_line);
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "keeper check: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s\n", usage_line);
	return EXIT_USAGE;
}

static void
enqueue(struct checker *ck, const char *path, enum kind kind,
    const char *from, size_t from_line)
{
	char *key = realpath(path, NULL);
	struct job *j;
	int added;

	/* The same file reached by two paths is checked once. */
	(void)table_put(&ck->seen, key ? key : path, &added);
	if (!added) {
		free(key);
		return;
	}
	free(key);
	ck->jobs = cfg_grow(ck->jobs, ck->njobs, sizeof(*ck->jobs));
	j = &ck->jobs[ck->njobs++];
	j->path = xstrdup(path);
	j->kind = kind;
	j->from = from ? xstrdup(from) : NULL;
	j->from_line = from_line;
}

/* Print s with control and non-ASCII bytes escaped: file content ends
 * up in messages and must not garble the terminal. */
static void
put_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c < 0x20 || c >= 0x7f)
			fprintf(stderr, c == '\\' ? "\\\\" : "\\x%02x", c);
		else
			fputc(c, stderr);
	}
}

static void
report(struct checker *ck, const struct diag *d)
{
	size_t shown = 0;

	for (size_t i = 0; i < d->n; i++) {
		char *s;

		if (d->items[i].level == DIAG_ERROR)
			ck->nerrors++;
		else
			ck->nwarnings++;
		if (shown++ == CHECK_MAX_SHOWN) {
			fprintf(stderr, "%s: %zu more problems not shown\n",
			    d->items[i].file, d->n - i);
			continue;
		}
		if (shown > CHECK_MAX_SHOWN)
			continue;
		s = diag_format(&d->items[i]);
		put_safe(s);
		fputc('\n', stderr);
		free(s);
	}
}

static int
has_src_block(const org_doc *doc)
{
	for (size_t i = 0; i < doc->nblocks; i++)
		if (doc->blocks[i].name.len == 3 &&
		    memcmp(doc->blocks[i].name.s, "SRC", 3) == 0)
			return 1;
	return 0;
}

static int
level1_has(const org_doc *doc, const char *key)
{
	for (size_t h = 0; h < doc->nheadings; h++) {
		char *v;

		if (doc->headings[h].level != 1)
			continue;
		if ((v = org_property(doc, (long)h, key, 0, NULL)) != NULL) {
			free(v);
			return 1;
		}
	}
	return 0;
}

static enum kind
detect(const char *buf, size_t len)
{
	static const char *const crew_kw[] = {
		"REPO", "CONCURRENCY", "STAGGER", "BOOT-GRACE", "BREATHER",
		"TIMEOUT", "BACKOFF-BASE", "BACKOFF-CAP", "RETENTION",
		"AUTHOR-DOMAIN", "STEP-PATTERN", "THOUGHT-PATTERN", "REDACT",
		"DETACHED", "MAX-COMMIT-SIZE", "RETRY", "RETRY-DELAY",
		"LEASE-TTL", NULL
	};
	enum kind k = K_UNKNOWN;
	org_doc *doc;

	if ((doc = org_parse(buf, len)) == NULL)
		return K_UNKNOWN;
	if (org_keyword_get(doc, "START") != NULL || level1_has(doc, "NEXT"))
		k = K_LIFECYCLE;
	else if (level1_has(doc, "DEF"))
		k = K_CREW;
	else {
		for (size_t i = 0; crew_kw[i] && k == K_UNKNOWN; i++)
			if (org_keyword_get(doc, crew_kw[i]) != NULL)
				k = K_CREW;
		if (k == K_UNKNOWN && has_src_block(doc))
			k = K_DEF;
	}
	org_free(doc);
	return k;
}

/* A file another names joins the queue (once). */
static void
enqueue_ref(const struct walk_ref *r, void *arg)
{
	enqueue(arg, r->path, r->kind == WALK_DEF ? K_DEF : K_LIFECYCLE,
	    r->from, r->line);
}

/* An llm step that no :model or #+MODEL: covers fails at once wherever
 * KEEPER_LLM_MODEL is not set (SPEC §6): worth a warning here, where the
 * environment the daemon will have is unknown. A step behind :if-env is
 * the operator's to switch on, with the settings it needs (the run says
 * which at once): no warning, as doctor makes it a note. */
static void
check_models(const struct agent_def *df, const char *path, struct diag *d)
{
	for (size_t i = 0; i < df->nsteps; i++) {
		const struct def_step *s = &df->steps[i];

		if (s->lang == DEF_LLM && def_arg(s, "if-env") == NULL &&
		    (s->model == NULL ||
		    s->model[0] == '\0') && (df->model == NULL ||
		    df->model[0] == '\0'))
			diag_warn(d, path, s->line, "llm step \"%s\" has no "
			    ":model and the def no #+MODEL:; it fails at once "
			    "unless KEEPER_LLM_MODEL is set", s->name);
	}
}

/* j is a copy: enqueue() may move the job array while we run. */
static void
check_one(struct checker *ck, const struct job *j)
{
	struct diag d = { 0 }, rd = { 0 };
	struct crew *c = NULL;
	struct lc_spec *sp = NULL;
	struct agent_def *df = NULL;
	enum kind kind = j->kind;
	char *buf;
	size_t len;

	if ((buf = cfg_read(j->path, &len, &rd)) == NULL) {
		if (j->from != NULL)
			/* Say where the missing file is named. */
			diag_err(&d, j->from, j->from_line, "%s '%s': %s",
			    kind_names[kind], j->path, rd.items[0].msg);
		else
			diag_err(&d, j->path, 0, "%s", rd.items[0].msg);
		goto done;
	}
	if (kind == K_UNKNOWN && (kind = detect(buf, len)) == K_UNKNOWN) {
		diag_err(&d, j->path, 0, "cannot tell whether this is a crew, "
		    "a lifecycle or a def (use --as)");
		goto done;
	}
	switch (kind) {
	case K_CREW:
		if (crew_parse(j->path, buf, len, &c, &d) == 0)
			walk_crew(c, enqueue_ref, ck);
		break;
	case K_LIFECYCLE:
		if (lc_spec_parse(j->path, buf, len, &sp, &d) == 0)
			walk_lifecycle(sp, NULL, enqueue_ref, ck);
		break;
	case K_DEF:
		if (def_parse(j->path, buf, len, &df, &d) == 0 && df != NULL)
			check_models(df, j->path, &d);
		break;
	case K_UNKNOWN:
		break;
	}
done:
	report(ck, &d);
	diag_release(&d);
	diag_release(&rd);
	crew_free(c);
	lc_spec_free(sp);
	def_free(df);
	free(buf);
}

int
cmd_check(int argc, char **argv, const struct settings *settings)
{
	struct checker ck = { .seen.flags = TABLE_COPY };
	enum kind as = K_UNKNOWN;
	int strict = 0, nfiles = 0, opts = 1, rc;
	const char *v;

	(void)settings;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0) {
			opts = 0;
			continue;
		}
		if (opts && (strcmp(a, "--help") == 0 ||
		    strcmp(a, "-h") == 0)) {
			help();
			rc = 0;
			goto done;
		}
		if (opts && strcmp(a, "--strict") == 0) {
			strict = 1;
			continue;
		}
		if (opts && (strcmp(a, "--as") == 0 ||
		    strncmp(a, "--as=", 5) == 0)) {
			if (a[4] == '=')
				v = a + 5;
			else if (i + 1 < argc)
				v = argv[++i];
			else {
				rc = usage_error("%s needs a kind", a);
				goto done;
			}
			if (strcmp(v, "crew") == 0)
				as = K_CREW;
			else if (strcmp(v, "lifecycle") == 0)
				as = K_LIFECYCLE;
			else if (strcmp(v, "def") == 0 ||
			    strcmp(v, "agent") == 0)
				as = K_DEF;
			else {
				rc = usage_error("unknown kind '%s' (expected "
				    "crew, lifecycle or def)", v);
				goto done;
			}
			continue;
		}
		if (opts && a[0] == '-' && a[1] != '\0') {
			rc = usage_error("unknown option '%s'", a);
			goto done;
		}
		nfiles++;
	}
	if (nfiles == 0) {
		rc = usage_error("%s", "no files to check");
		goto done;
	}

	/* Second pass, now that --as is known wherever it was given. */
	opts = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0) {
			opts = 0;
			continue;
		}
		if (opts && strcmp(a, "--as") == 0) {
			i++;
			continue;
		}
		if (opts && a[0] == '-' && a[1] != '\0')
			continue;
		enqueue(&ck, a, as, NULL, 0);
	}
	for (ck.next = 0; ck.next < ck.njobs; ck.next++) {
		struct job j = ck.jobs[ck.next];

		check_one(&ck, &j);
	}
	rc = ck.nerrors || (strict && ck.nwarnings) ? EXIT_CONFIG : 0;
done:
	for (size_t i = 0; i < ck.njobs; i++) {
		free(ck.jobs[i].path);
		free(ck.jobs[i].from);
	}
	free(ck.jobs);
	table_release(&ck.seen);
	return rc;
}
