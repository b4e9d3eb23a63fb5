/*
 * redact: replace credentials with [REDACTED] (SPEC §11).
 *
 * Every pattern, built-in or the crew's, is run over the original text and
 * its matches are collected as byte ranges; overlapping and touching ranges
 * are merged and each merged range becomes one [REDACTED]. Working on the
 * original text (rather than feeding one pattern's output to the next)
 * keeps the result independent of pattern order and stops a pattern from
 * matching an earlier replacement.
 *
 * Patterns match bytes, not UTF-8 characters: text from agents may hold
 * invalid UTF-8 or NUL bytes, and a credential must be found even next to
 * such bytes (in PCRE2's invalid-UTF mode an invalid byte is a barrier no
 * match crosses, which would leave the tail of a secret in clear). The
 * built-ins use \K to keep a key name or the word Bearer in clear and
 * redact only what follows.
 *
 * If a match fails for a reason other than "no match" (a crew pattern
 * that backtracks past PCRE2's match limit), the rest of the text from
 * that point is redacted: failing closed never publishes a secret.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "util.h"

#define REDACTED	"[REDACTED]"

/*
 * A key name that ends in one of these words, then '=' or ':', then the
 * value. The name may carry any prefix (DB_PASSWORD, x-api-key,
 * aws_secret_access_key, OPENAI_KEY, PGPASSWORD) but must end in the
 * word, so prompt_tokens or token_count are left alone; a bare "key" or
 * "monkey" is not a credential, "_key" and "-key" are. The look-behind makes a
 * match start only where a name starts, keeping the scan linear on long
 * runs of letters.
 */
#define KEYWORDS \
	"pass(?:word|wd)|pwd|token|secret|apikey|[_-]key|credentials?"

static const char *const builtin_patterns[] = {
	/* OpenAI/Anthropic-style keys: sk-…, sk-proj-…, sk-ant-… */
	"\\bsk-(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,}",
	/* GitHub tokens: ghp_ gho_ ghu_ ghs_ ghr_, and fine-grained PATs */
	"\\bgh[pousr]_[A-Za-z0-9]{20,}",
	"\\bgithub_pat_[A-Za-z0-9_]{20,}",
	/* Slack tokens: xoxb- xoxa- xoxp- xoxr- xoxs- xoxo- */
	"\\bxox[abposr]-[A-Za-z0-9-]{10,}",
	/* Stripe, Google, Hugging Face, GitLab */
	"\\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
	"\\bAIza[0-9A-Za-z_-]{35}",
	"\\bhf_[A-Za-z0-9]{30,}",
	"\\bglpat-[A-Za-z0-9_-]{20,}",
	/* JSON Web Tokens: header.payload.signature */
	"\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}",
	/* AWS access key ids */
	"\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b",
	/* Bearer TOKEN: keep the word; a token holds a digit or is long,
	 * which the words of "the bearer of bad news" are not */
	"(?i)\\bbearer[ \\t]+\\K(?:(?=[A-Za-z._~+/-]*[0-9])"
	    "[A-Za-z0-9._~+/-]{8,}|[A-Za-z0-9._~+/-]{20,})=*",
	/* Authorization: Basic … / token … */
	"(?i)\\bauthorization[\"']?[ \\t]*[:=][ \\t]*[\"']?(?:basic|token)"
	    "[ \\t]+\\K[A-Za-z0-9._~+/-]+=*",
	/* key=value, key: value, "key": "value", case-insensitive */
	"(?i)(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*?(?:" KEYWORDS ")"
	    "[\"']?[ \\t]*[:=][ \\t]*"
	    "(?:\"\\K[^\"\\n]+|'\\K[^'\\n]+|\\K[^\\s\"',;&\\x00-\\x1f]+)",
	/* credentials in a URL: scheme://user:PASSWORD@host */
	"://[^/\\s:@]+:\\K[^/\\s@]+(?=@)",
	/* PEM private keys; a block cut short is redacted to the end */
	"-----BEGIN[A-Z ]*PRIVATE KEY-----(?:(?!-----END)[\\s\\S])*+"
	    "(?:-----END[A-Z ]*PRIVATE KEY-----)?",
};
#define NBUILTIN (sizeof(builtin_patterns) / sizeof(builtin_patterns[0]))

struct redactor {
	pcre2_code	**codes;
	size_t		  ncodes;
	_Atomic int	  refs;
};

struct range {
	size_t	start;
	size_t	end;
};

static int
compile_one(const char *pat, pcre2_code **out, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *code;
	int rc;

	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_NEVER_UTF, &rc, &off, NULL);
	if (code == NULL) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		snprintf(err, errlen, "redact pattern \"%s\": %s at offset %zu",
		    pat, (char *)msg, (size_t)off);
		return -1;
	}
	/* JIT is an optimisation: without it (no JIT support, or no
	 * executable memory) the interpreter gives the same answers. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	*out = code;
	return 0;
}

struct redactor *
redact_new(const char *const *extra, size_t nextra, char *err,
    size_t errlen)
{
	struct redactor *r;
	size_t i;

	r = xcalloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->codes = xcalloc(NBUILTIN + nextra, sizeof(*r->codes));
	for (i = 0; i < NBUILTIN; i++) {
		if (compile_one(builtin_patterns[i], &r->codes[r->ncodes],
		    err, errlen) == -1)
			goto fail;
		r->ncodes++;
	}
	for (i = 0; i < nextra; i++) {
		if (extra[i] == NULL || extra[i][0] == '\0') {
			snprintf(err, errlen, "redact pattern %zu is empty",
			    i + 1);
			goto fail;
		}
		if (compile_one(extra[i], &r->codes[r->ncodes], err,
		    errlen) == -1)
			goto fail;
		r->ncodes++;
	}
	return r;
fail:
	redact_free(r);
	return NULL;
}

void
redact_free(struct redactor *r)
{
	size_t i;

	if (r == NULL || atomic_fetch_sub(&r->refs, 1) > 1)
		return;
	for (i = 0; i < r->ncodes; i++)
		pcre2_code_free(r->codes[i]);
	free(r->codes);
	free(r);
}

struct redactor *
redact_ref(struct redactor *r)
{
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

/* The built-in redactor behind redact_apply(NULL, …), made once. */
static struct redactor *builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
builtin_init(void)
{
	char err[256];

	builtin = redact_new(NULL, 0, err, sizeof(err));
}

void
redact_warm(void)
{
	pthread_once(&builtin_once, builtin_init);
}

static void
ranges_add(struct range **v, size_t *n, size_t *cap, size_t start,
    size_t end)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].start = start;
	(*v)[*n].end = end;
	(*n)++;
}

/* Every non-empty match of one pattern in text, appended to v. md needs
 * only the whole match's pair; PCRE2 answers 0 ("ovector too small") for
 * a pattern with groups, which is still a match. */
static void
collect(const pcre2_code *code, pcre2_match_data *md, const char *text,
    size_t len, struct range **v, size_t *n, size_t *cap)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	size_t off = 0, s, e;
	int rc;

	while (off <= len) {
		rc = pcre2_match(code, (PCRE2_SPTR)text, len, off, 0, md,
		    NULL);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			ranges_add(v, n, cap, off, len);
			break;
		}
		s = ov[0];
		e = ov[1];
		/* \K inside a look-ahead can put the start after the end;
		 * PCRE2 refuses that by default, but be safe. */
		if (s > e) {
			size_t t = s;

			s = e;
			e = t;
		}
		if (e > s)
			ranges_add(v, n, cap, s, e);
		/* An empty match (or one ending where the search began)
		 * must still move on, or the loop would never end. */
		off = ov[1] > off ? ov[1] : off + 1;
	}
}

static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

char *
redact_apply(const struct redactor *r, const char *text, size_t len,
    size_t *outlen)
{
	struct range *v = NULL;
	struct sb out = { 0 };
	pcre2_match_data *md = NULL;
	size_t n = 0, cap = 0, i, pos, end;
	char *s;

	if (r == NULL) {
		pthread_once(&builtin_once, builtin_init);
		r = builtin;
	}
	if (text == NULL)
		text = "";
	if (r != NULL)
		md = pcre2_match_data_create(1, NULL);
	if (md == NULL) {
		/* The built-ins failed to compile, or no memory: nothing can
		 * be checked, so nothing is let through. */
		if (len > 0)
			ranges_add(&v, &n, &cap, 0, len);
	} else {
		for (i = 0; i < r->ncodes; i++)
			collect(r->codes[i], md, text, len, &v, &n, &cap);
		pcre2_match_data_free(md);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), range_cmp);

	pos = 0;
	for (i = 0; i < n; ) {
		end = v[i].end;
		sb_add(&out, text + pos, v[i].start - pos);
		/* Merge every range that overlaps or touches this one. */
		for (i++; i < n && v[i].start <= end; i++)
			if (v[i].end > end)
				end = v[i].end;
		sb_adds(&out, REDACTED);
		pos = end;
	}
	sb_add(&out, text + pos, len - pos);
	free(v);
	if (outlen != NULL)
		*outlen = out.len;
	s = sb_detach(&out);
	return s;
}
