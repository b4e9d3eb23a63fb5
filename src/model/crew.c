/*
 * crew: parse and validate a crew manifest (SPEC §3, keeper-crew(5)).
 *
 * File keywords are read first, wherever they appear, so that a member's
 * defaults (its TIMEOUT) come from the crew whatever the order in the file.
 * Every problem is reported, not only the first, so that one `keeper check`
 * shows them all; the crew is returned only when there is no error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "crew.h"
#include "dur.h"
#include "org.h"
#include "size.h"
#include "table.h"
#include "util.h"

#define CREW_CONCURRENCY_MAX	1024

enum kw_kind { KW_STR, KW_PATH, KW_INT, KW_DUR, KW_REGEX, KW_REDACT,
	KW_DOMAIN, KW_CADENCE, KW_ALERT, KW_DETACHED, KW_SIZE, KW_COUNT,
	KW_PRIORITIES, KW_TZ, KW_CATCH_UP };

static const struct {
	const char	*key;
	enum kw_kind	 kind;
	size_t		 off;		/* of the field in struct crew */
} keywords[] = {
	{ "TITLE",		KW_STR,	  offsetof(struct crew, title) },
	{ "REPO",		KW_PATH,  offsetof(struct crew, repo) },
	{ "CONCURRENCY",	KW_INT,	  offsetof(struct crew, concurrency) },
	{ "STAGGER",		KW_DUR,	  offsetof(struct crew, stagger_ms) },
	{ "BOOT-GRACE",		KW_DUR,	  offsetof(struct crew, boot_grace_ms) },
	{ "BREATHER",		KW_DUR,	  offsetof(struct crew, breather_ms) },
	{ "TIMEOUT",		KW_DUR,	  offsetof(struct crew, timeout_ms) },
	{ "BACKOFF-BASE",	KW_DUR,	  offsetof(struct crew, backoff_base_ms) },
	{ "BACKOFF-CAP",	KW_DUR,	  offsetof(struct crew, backoff_cap_ms) },
	{ "RETENTION",		KW_DUR,	  offsetof(struct crew, retention_ms) },
	{ "CADENCE",		KW_CADENCE, offsetof(struct crew, cadence_fixed) },
	{ "AUTHOR-DOMAIN",	KW_DOMAIN, offsetof(struct crew, author_domain) },
	{ "STEP-PATTERN",	KW_REGEX, offsetof(struct crew, step_pattern) },
	{ "THOUGHT-PATTERN",	KW_REGEX, offsetof(struct crew, thought_pattern) },
	{ "REDACT",		KW_REDACT, 0 },
	{ "ALERT-URL",		KW_ALERT, 0 },
	{ "ALERT-FORMAT",	KW_ALERT, 0 },
	{ "ALERT-CHAT",		KW_ALERT, 0 },
	{ "DETACHED",		KW_DETACHED, offsetof(struct crew,
	    detached_commit) },
	{ "MAX-COMMIT-SIZE",	KW_SIZE,  offsetof(struct crew, max_commit_size) },
	{ "RETRY",		KW_COUNT, offsetof(struct crew, retry) },
	{ "RETRY-DELAY",	KW_DUR,	  offsetof(struct crew, retry_delay_ms) },
	{ "LEASE-TTL",		KW_DUR,	  offsetof(struct crew, lease_ttl_ms) },
	{ "PRIORITIES",		KW_PRIORITIES, 0 },
	{ "TZ",			KW_TZ,	  offsetof(struct crew, tz) },
	{ "CATCH-UP",		KW_CATCH_UP, offsetof(struct crew, catch_up_ms) },
};
#define NKEYWORDS	(sizeof(keywords) / sizeof(keywords[0]))

static const char *const member_props[] = {
	"DEF", "INTERVAL", "LIFECYCLE", "CONTINUOUS", "TIMEOUT", "AUTHOR",
	"DISABLED", "NOTIFY", "NOTIFY-URL", "RETRY", "RETRY-DELAY",
	"TOKEN-BUDGET", "SCHEDULE", "TZ", "CATCH-UP", "JITTER", "CADENCE",
	NULL
};

static char *
basename_noext(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".org") == 0)
		n -= 4;
	return xstrndup(b, n);
}

/* Durations that must be more than zero: a zero interval or timeout is a
 * busy loop or an instant kill, never what the operator meant. */
static int
positive_dur(const char *key)
{
	return strcmp(key, "TIMEOUT") == 0 || strcmp(key, "INTERVAL") == 0 ||
	    strcmp(key, "RETRY-DELAY") == 0 || strcmp(key, "LEASE-TTL") == 0;
}

/*
 * Priorities as org has them (org-priority-highest, -lowest, -default):
 * a letter A to Z, its character code the value, or a number from 0 to
 * CREW_PRIORITY_MAX; the highest priority has the smallest value. A
 * cookie holds one character (org-element reads "[#X]"), so a numeric
 * cookie is one digit.
 */
static int
prio_value(const char *s, size_t n, int numeric, int *out)
{
	long v = 0;

	if (n == 1 && s[0] >= 'A' && s[0] <= 'Z' && !numeric) {
		*out = s[0];
		return 0;
	}
	if (n == 0 || n > 2 || !numeric)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > CREW_PRIORITY_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static void
prio_name(const struct crew *c, int value, char *buf, size_t len)
{
	if (c->prio_numeric)
		snprintf(buf, len, "%d", value);
	else
		snprintf(buf, len, "%c", value);
}

/* #+PRIORITIES: HIGHEST LOWEST DEFAULT, letters or numbers, not mixed. */
static int
parse_priorities(struct crew *c, const char *val)
{
	const char *p = val, *w[4];
	size_t n[4], k = 0;
	int v[3], numeric;

	while (*p && k < 4) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		w[k] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		n[k] = (size_t)(p - w[k]);
		k++;
	}
	if (k != 3)
		return -1;
	numeric = w[0][0] >= '0' && w[0][0] <= '9';
	for (size_t i = 0; i < 3; i++)
		if (prio_value(w[i], n[i], numeric, &v[i]) == -1)
			return -1;
	if (v[0] >= v[1] || v[2] < v[0] || v[2] > v[1])
		return -1;
	c->prio_numeric = numeric;
	c->prio_highest = v[0];
	c->prio_lowest = v[1];
	c->prio_default = v[2];
	return 0;
}

int
crew_priority_rank(const struct crew *c, int value)
{
	int r = value - c->prio_highest;

	return r < 0 ? 0 : r > CREW_PRIORITY_MAX ? CREW_PRIORITY_MAX : r;
}

static int
domain_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* "Name <mail>": a nonempty name, then one pair of angle brackets closing
 * the value around a nonempty address, as a git signature needs. */
static int
author_ok(const char *s)
{
	const char *lt = strchr(s, '<');
	size_t n = strlen(s);
	int named = 0;

	if (lt == NULL || s[n - 1] != '>' || lt + 1 >= s + n - 1)
		return 0;
	if (strchr(lt + 1, '<') != NULL || strchr(s, '>') != s + n - 1 ||
	    strchr(s, '\n') != NULL)
		return 0;
	for (const char *p = s; p < lt; p++)
		if (*p != ' ' && *p != '\t')
			named = 1;
	return named;
}

/*
 * #+ALERT-FORMAT: and #+ALERT-CHAT: are the defaults of the crew's
 * destinations, wherever they stand in the file: the #+ALERT-URL: lines
 * are parsed after every keyword (parse_alert_urls()).
 */
static void
parse_alert_keyword(struct crew *c, const char *key, const char *val,
    size_t line, struct diag *d)
{
	char err[256];

	if (strcmp(key, "ALERT-FORMAT") == 0) {
		if (alert_dest_format_parse(val, &c->alert_format, err,
		    sizeof(err)) == -1)
			diag_err(d, c->path, line, "invalid #+ALERT-FORMAT: %s",
			    err);
	} else if (strcmp(key, "ALERT-CHAT") == 0) {
		if (!alert_dest_chat_ok(val)) {
			diag_err(d, c->path, line, "invalid #+ALERT-CHAT: '%s' "
			    "(a telegram chat: a number, or @channelname)",
			    val);
			return;
		}
		free(c->alert_chat);
		c->alert_chat = xstrdup(val);
	} else if (*val == '\0')
		diag_err(d, c->path, line, "empty #+ALERT-URL:");
}

static void
parse_alert_urls(struct crew *c, const org_doc *doc, struct diag *d)
{
	char *key, *val, err[256];

	for (size_t i = 0; i < doc->nkeywords; i++) {
		const org_keyword *kw = &doc->keywords[i];

		key = cfg_strn(kw->key.s, kw->key.len);
		val = cfg_strn(kw->value.s, kw->value.len);
		if (strcmp(key, "ALERT-URL") == 0 && *val != '\0' &&
		    alert_dest_parse(&c->alerts, val, c->alert_format,
		    c->alert_chat, err, sizeof(err)) == -1)
			diag_err(d, c->path, kw->line, "invalid #+ALERT-URL: %s",
			    err);
		free(key);
		free(val);
	}
}

/* :CATCH-UP: and #+CATCH-UP:: a duration (0 never catches up) or
 * `unlimited`. */
static int
catch_up_parse(const char *v, int64_t *ms)
{
	if (strcmp(v, "unlimited") == 0) {
		*ms = CREW_CATCH_UP_ALL;
		return 0;
	}
	return dur_parse(v, ms);
}

static size_t
kw_index(const char *key)
{
	size_t i;

	for (i = 0; i < NKEYWORDS; i++)
		if (strcmp(key, keywords[i].key) == 0)
			break;
	return i;
}

/* The keywords of the git stage (keeper-crew(5), GIT): #+DETACHED: refuse
 * or commit, and #+MAX-COMMIT-SIZE: a size or none. */
static void
parse_git_keyword(struct crew *c, enum kw_kind kind, const char *key,
    const char *val, size_t line, void *field, struct diag *d)
{
	int64_t bytes;

	if (kind == KW_DETACHED) {
		if (strcmp(val, "refuse") != 0 && strcmp(val, "commit") != 0)
			diag_err(d, c->path, line, "invalid #+%s: '%s' "
			    "(expected refuse or commit)", key, val);
		else
			*(int *)field = strcmp(val, "commit") == 0;
		return;
	}
	if (size_parse(val, &bytes) == -1)
		diag_err(d, c->path, line, "invalid size '%s' for #+%s: "
		    "(expected e.g. 50MB, 512k, 1GB or none)", val, key);
	else
		*(int64_t *)field = bytes;
}

static void
parse_keyword(struct crew *c, const org_keyword *kw, size_t *seen,
    struct diag *d)
{
	char *key = cfg_strn(kw->key.s, kw->key.len);
	char *val = cfg_strn(kw->value.s, kw->value.len);
	char err[300];
	size_t i;
	int64_t ms;
	long n;

	if ((i = kw_index(key)) == NKEYWORDS) {
		if (!cfg_org_keyword(key))
			diag_warn(d, c->path, kw->line,
			    "unknown keyword '#+%s:'", key);
		goto done;
	}
	if (keywords[i].kind != KW_REDACT &&
	    strcmp(key, "ALERT-URL") != 0) {
		if (seen[i])
			diag_warn(d, c->path, kw->line,
			    "duplicate #+%s: (overrides line %zu)", key,
			    seen[i]);
		seen[i] = kw->line;
	}
	switch (keywords[i].kind) {
	case KW_STR:
		if (*val) {
			char **f = (char **)((char *)c + keywords[i].off);

			free(*f);
			*f = val;
			val = NULL;
		}
		break;
	case KW_PATH:
	case KW_REGEX:
	case KW_DOMAIN: {
		char **f = (char **)((char *)c + keywords[i].off);

		if (*val == '\0') {
			diag_err(d, c->path, kw->line, "empty #+%s:", key);
			break;
		}
		if (keywords[i].kind == KW_REGEX &&
		    cfg_regex_check(val, 0, err, sizeof(err)) == -1) {
			diag_err(d, c->path, kw->line,
			    "invalid regex '%s' in #+%s: %s", val, key, err);
			break;
		}
		if (keywords[i].kind == KW_DOMAIN && !domain_ok(val)) {
			diag_err(d, c->path, kw->line,
			    "invalid #+%s: '%s' (expected a domain name)",
			    key, val);
			break;
		}
		free(*f);
		if (keywords[i].kind == KW_PATH)
			*f = cfg_resolve(c->dir, val);
		else {
			*f = val;
			val = NULL;
		}
		break;
	}
	case KW_INT:
		if (cfg_int(val, 1, CREW_CONCURRENCY_MAX, &n) == -1) {
			diag_err(d, c->path, kw->line,
			    "invalid #+%s: '%s' (expected an integer from 1 "
			    "to %d)", key, val, CREW_CONCURRENCY_MAX);
			break;
		}
		*(int *)((char *)c + keywords[i].off) = (int)n;
		break;
	case KW_DUR:
		if (dur_parse(val, &ms) == -1) {
			diag_err(d, c->path, kw->line,
			    "invalid duration '%s' for #+%s:", val, key);
			break;
		}
		if (ms == 0 && positive_dur(key)) {
			diag_err(d, c->path, kw->line,
			    "#+%s: must be more than zero", key);
			break;
		}
		*(int64_t *)((char *)c + keywords[i].off) = ms;
		break;
	case KW_COUNT:
		if (cfg_int(val, 0, CREW_RETRY_MAX, &n) == -1) {
			diag_err(d, c->path, kw->line,
			    "invalid #+%s: '%s' (expected an integer from 0 "
			    "to %d)", key, val, CREW_RETRY_MAX);
			break;
		}
		*(int *)((char *)c + keywords[i].off) = (int)n;
		break;
	case KW_PRIORITIES:
		if (parse_priorities(c, val) == -1)
			diag_err(d, c->path, kw->line,
			    "invalid #+%s: '%s' (expected the highest, lowest "
			    "and default priority, letters or numbers, e.g. "
			    "A C B)", key, val);
		break;
	case KW_CADENCE:
		if (strcmp(val, "after") != 0 && strcmp(val, "fixed") != 0) {
			diag_err(d, c->path, kw->line,
			    "invalid #+%s: '%s' (expected after or fixed)",
			    key, val);
			break;
		}
		*(int *)((char *)c + keywords[i].off) = strcmp(val,
		    "fixed") == 0;
		break;
	case KW_ALERT:
		parse_alert_keyword(c, key, val, kw->line, d);
		break;
	case KW_TZ:
		if (!cal_zone_known(val)) {
			diag_err(d, c->path, kw->line, "unknown time zone '%s' "
			    "in #+TZ: (expected an IANA name such as "
			    "Europe/Stockholm)", val);
			break;
		}
		free(c->tz);
		c->tz = val;
		val = NULL;
		break;
	case KW_CATCH_UP:
		if (catch_up_parse(val, &c->catch_up_ms) == -1)
			diag_err(d, c->path, kw->line, "invalid #+CATCH-UP: "
			    "'%s' (expected a duration, 0 or unlimited)", val);
		break;
	case KW_DETACHED:
	case KW_SIZE:
		parse_git_keyword(c, keywords[i].kind, key, val, kw->line,
		    (char *)c + keywords[i].off, d);
		break;
	case KW_REDACT:
		if (*val == '\0') {
			diag_err(d, c->path, kw->line, "empty #+REDACT:");
			break;
		}
		if (cfg_regex_check(val, 1, err, sizeof(err)) == -1) {
			diag_err(d, c->path, kw->line,
			    "invalid regex '%s' in #+REDACT: %s", val, err);
			break;
		}
		c->redact = cfg_grow(c->redact, c->nredact,
		    sizeof(*c->redact));
		c->redact[c->nredact].regex = val;
		c->redact[c->nredact].line = kw->line;
		c->nredact++;
		val = NULL;
		break;
	}
done:
	free(key);
	free(val);
}

static int
is_member_prop(const char *key)
{
	for (size_t i = 0; member_props[i]; i++)
		if (strcasecmp(key, member_props[i]) == 0)
			return 1;
	return 0;
}

/* Duration property of member heading h; 0 when absent, -1 on error. */
static int
member_dur(struct crew *c, const org_doc *doc, long h, const char *key,
    int64_t *ms, struct diag *d)
{
	size_t line = 0;
	char *v = org_property(doc, h, key, 0, &line);
	int ret = 0;

	if (v == NULL)
		return 0;
	if (dur_parse(v, ms) == -1) {
		diag_err(d, c->path, line, "invalid duration '%s' for :%s:",
		    v, key);
		ret = -1;
	} else if (*ms == 0 && positive_dur(key)) {
		diag_err(d, c->path, line, ":%s: must be more than zero", key);
		ret = -1;
	}
	free(v);
	return ret;
}

/* :NOTIFY: and :NOTIFY-URL: (keeper-crew(5)); a member's own URLs take
 * the crew's #+ALERT-FORMAT: and #+ALERT-CHAT: as their defaults. */
static void
parse_member_notify(struct crew *c, const org_doc *doc, long h,
    struct crew_member *m, struct diag *d)
{
	static const char *const names[] = {
		[CREW_NOTIFY_DONE] = "done",
		[CREW_NOTIFY_FAILED] = "failed",
		[CREW_NOTIFY_ALWAYS] = "always",
	};
	size_t line = 0, url_line = 0;
	char *v, err[256];

	if ((v = org_property(doc, h, "NOTIFY", 0, &line)) != NULL) {
		for (int i = CREW_NOTIFY_DONE; i <= CREW_NOTIFY_ALWAYS; i++)
			if (strcmp(v, names[i]) == 0)
				m->notify = (enum crew_notify)i;
		if (m->notify == CREW_NOTIFY_NONE)
			diag_err(d, c->path, line, "invalid :NOTIFY: '%s' "
			    "(expected done, failed or always)", v);
		free(v);
	}
	if ((v = org_property(doc, h, "NOTIFY-URL", 0, &url_line)) == NULL)
		return;
	if (*v == '\0')
		diag_err(d, c->path, url_line, "empty :NOTIFY-URL:");
	else if (alert_dest_parse(&m->notify_dests, v, c->alert_format,
	    c->alert_chat, err, sizeof(err)) == -1)
		diag_err(d, c->path, url_line, "invalid :NOTIFY-URL: %s", err);
	else if (m->notify == CREW_NOTIFY_NONE && line == 0)
		diag_warn(d, c->path, url_line, ":NOTIFY-URL: without "
		    ":NOTIFY: sends nothing");
	free(v);
}

/* :RETRY: N, from 0 to CREW_RETRY_MAX; -1 on error. */
static int
member_count(struct crew *c, const org_doc *doc, long h, const char *key,
    int *out, struct diag *d)
{
	size_t line = 0;
	char *v = org_property(doc, h, key, 0, &line);
	long n;
	int ret = 0;

	if (v == NULL)
		return 0;
	if (cfg_int(v, 0, CREW_RETRY_MAX, &n) == -1) {
		diag_err(d, c->path, line, "invalid :%s: '%s' (expected an "
		    "integer from 0 to %d)", key, v, CREW_RETRY_MAX);
		ret = -1;
	} else
		*out = (int)n;
	free(v);
	return ret;
}

/* :TOKEN-BUDGET: N/D, N tokens within any window of D; -1 on error. */
static int
member_budget(struct crew *c, const org_doc *doc, long h,
    struct crew_member *m, struct diag *d)
{
	size_t line = 0;
	char *v = org_property(doc, h, "TOKEN-BUDGET", 0, &line), *slash, *e;
	long long n = 0;
	int64_t ms = 0;
	int ret = -1;

	if (v == NULL)
		return 0;
	if ((slash = strchr(v, '/')) != NULL) {
		*slash = '\0';
		n = strtoll(v, &e, 10);
		if (e == v || *e != '\0' || v[0] == '-' || v[0] == '+' ||
		    n <= 0 || n > 1000000000000000LL ||
		    dur_parse(slash + 1, &ms) == -1 || ms <= 0)
			n = 0;
		*slash = '/';
	}
	if (n > 0) {
		m->token_budget = n;
		m->token_window_ms = ms;
		ret = 0;
	} else
		diag_err(d, c->path, line, "invalid :TOKEN-BUDGET: '%s' "
		    "(expected TOKENS/DURATION, e.g. 200000/1d)", v);
	free(v);
	return ret;
}

/* The heading's priority cookie, or the crew's default. */
static void
member_priority(struct crew *c, const org_heading *hd,
    struct crew_member *m, struct diag *d)
{
	char lo[4], hi[4];
	int v = c->prio_default;

	if (hd->priority.s != NULL) {
		char ch = hd->priority.len == 1 ? hd->priority.s[0] : '?';

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
			diag_err(d, c->path, hd->line, "invalid priority "
			    "cookie '[#%.*s]' (expected a letter A to Z or a "
			    "digit)", (int)hd->priority.len, hd->priority.s);
			return;
		}
		if (prio_value(&ch, 1, c->prio_numeric, &v) == -1 ||
		    v < c->prio_highest || v > c->prio_lowest) {
			prio_name(c, c->prio_highest, hi, sizeof(hi));
			prio_name(c, c->prio_lowest, lo, sizeof(lo));
			diag_err(d, c->path, hd->line, "priority [#%c] is "
			    "outside the range %s to %s of #+PRIORITIES:", ch,
			    hi, lo);
			return;
		}
	}
	m->priority = crew_priority_rank(c, v);
	prio_name(c, v, m->priority_name, sizeof(m->priority_name));
}

/* The SCHEDULED: timestamp of heading hd as a calendar schedule. */
static void
member_scheduled(struct crew *c, const org_doc *doc, const org_heading *hd,
    struct crew_member *m, struct diag *d)
{
	const org_planning *pl = &doc->plannings[hd->planning];
	const org_timestamp *ts = &pl->scheduled_ts;
	struct cal_org o = { 0 };
	char err[128];

	m->schedule = cfg_strn(pl->scheduled.s, pl->scheduled.len);
	m->schedule_line = pl->line;
	if (ts->type != ORG_TS_ACTIVE && ts->type != ORG_TS_ACTIVE_RANGE) {
		diag_err(d, c->path, pl->line, "SCHEDULED: '%s' is not an "
		    "active timestamp (expected e.g. <2026-12-05 Sat 06:00 "
		    "+1d>)", m->schedule);
		return;
	}
	o.year = ts->year_start;
	o.month = ts->month_start;
	o.day = ts->day_start;
	o.hour = ts->hour_start;
	o.minute = ts->hour_start < 0 ? 0 : ts->minute_start;
	o.value = ts->repeater_value;
	o.unit = ts->repeater_unit;
	o.repeat = ts->repeater_type == ORG_REP_CUMULATE ? CAL_REPEAT_CUMULATE :
	    ts->repeater_type == ORG_REP_CATCH_UP ? CAL_REPEAT_CATCH_UP :
	    ts->repeater_type == ORG_REP_RESTART ? CAL_REPEAT_RESTART :
	    CAL_REPEAT_NONE;
	if (cal_sched_org(&m->cal, &o, err, sizeof(err)) == -1)
		diag_err(d, c->path, pl->line, "SCHEDULED: %s", err);
	else
		m->calendar = 1;
}

/*
 * SPEC §5a: :SCHEDULE: or a SCHEDULED: line instead of :INTERVAL: (one
 * of the three at most), :TZ:, :CATCH-UP:, :JITTER:; and :CADENCE:.
 */
static void
parse_member_calendar(struct crew *c, const org_doc *doc, long h,
    struct crew_member *m, struct diag *d)
{
	const org_heading *hd = &doc->headings[h];
	size_t iline = 0, sline = 0, line = 0, pline = 0;
	char *iv = org_property(doc, h, "INTERVAL", 0, &iline);
	char *sv = org_property(doc, h, "SCHEDULE", 0, &sline);
	char *v, err[200];
	int has_sched = 0;

	if (hd->planning >= 0 &&
	    doc->plannings[hd->planning].scheduled.s != NULL) {
		has_sched = 1;
		pline = doc->plannings[hd->planning].line;
	}
	if ((iv != NULL) + (sv != NULL) + has_sched > 1) {
		diag_err(d, c->path, sv ? sline : pline, "member '%s' has more "
		    "than one of :INTERVAL:, :SCHEDULE: and SCHEDULED: (give "
		    "one)", m->name);
		goto done;
	}
	if (sv != NULL) {
		m->schedule = xstrdup(sv);
		m->schedule_line = sline;
		if (cal_sched_parse_cron(&m->cal, sv, err, sizeof(err)) == -1)
			diag_err(d, c->path, sline, ":SCHEDULE: %s", err);
		else
			m->calendar = 1;
	} else if (has_sched)
		member_scheduled(c, doc, hd, m, d);
	if (m->schedule != NULL && m->continuous)
		diag_err(d, c->path, m->schedule_line, "member '%s' is "
		    ":CONTINUOUS: and on the calendar (give one)", m->name);
	if ((v = org_property(doc, h, "TZ", 0, &line)) != NULL) {
		if (!cal_zone_known(v))
			diag_err(d, c->path, line, "unknown time zone '%s' in "
			    ":TZ: (expected an IANA name such as "
			    "Europe/Stockholm)", v);
		else {
			free(m->tz);
			m->tz = xstrdup(v);
		}
		free(v);
	}
	if ((v = org_property(doc, h, "CATCH-UP", 0, &line)) != NULL) {
		if (catch_up_parse(v, &m->catch_up_ms) == -1)
			diag_err(d, c->path, line, "invalid :CATCH-UP: '%s' "
			    "(expected a duration, 0 or unlimited)", v);
		free(v);
	}
	(void)member_dur(c, doc, h, "JITTER", &m->jitter_ms, d);
	if ((v = org_property(doc, h, "CADENCE", 0, &line)) != NULL) {
		if (strcmp(v, "after") != 0 && strcmp(v, "fixed") != 0)
			diag_err(d, c->path, line, "invalid :CADENCE: '%s' "
			    "(expected after or fixed)", v);
		else
			m->cadence_fixed = strcmp(v, "fixed") == 0;
		free(v);
	}
done:
	free(iv);
	free(sv);
}

/* Parse level-1 heading h as a member; adds it to c when it is runnable.
 * names/nlines remember the names seen for duplicate detection. */
static void
parse_member(struct crew *c, const org_doc *doc, long h,
    struct table *names, struct diag *d)
{
	const org_heading *hd = &doc->headings[h];
	struct crew_member m = { 0 };
	struct table_ent *e;
	size_t nerr = d->nerrors, line;
	char *v, *key;
	int b, bad = 0, added;

	if (hd->commented)
		return;
	if ((v = org_property(doc, h, "DISABLED", 0, &line)) != NULL) {
		b = cfg_bool(v);
		if (b == -1)
			diag_err(d, c->path, line,
			    "invalid :DISABLED: '%s' (expected t or nil)", v);
		free(v);
		if (b != 0)
			return;
	}

	m.name = cfg_strn(hd->title.s, hd->title.len);
	m.line = hd->line;
	m.interval_ms = 3600000;
	m.timeout_ms = c->timeout_ms;
	m.retry = c->retry;
	m.retry_delay_ms = c->retry_delay_ms;
	m.cadence_fixed = c->cadence_fixed;
	m.tz = c->tz ? xstrdup(c->tz) : NULL;
	m.catch_up_ms = c->catch_up_ms;
	if (hd->title.len == 0) {
		diag_err(d, c->path, hd->line, "member heading without a name");
		bad = 1;
	} else if (strlen(m.name) >= CREW_NAME_MAX) {
		diag_err(d, c->path, hd->line,
		    "member name '%s' too long (limit %d characters)", m.name,
		    CREW_NAME_MAX - 1);
		bad = 1;
	} else if (strlen(m.name) != hd->title.len ||
	    !cfg_name_ok(m.name, CREW_NAME_MAX)) {
		diag_err(d, c->path, hd->line,
		    "invalid member name '%s' (letters, digits, '.', '_' and "
		    "'-' only, not starting with '.' or '-')", m.name);
		bad = 1;
	} else {
		e = table_put(names, m.name, &added);
		if (added)
			e->v.num = hd->line;
		else {
			diag_err(d, c->path, hd->line, "duplicate member '%s' "
			    "(first at line %zu)", m.name, e->v.num);
			bad = 1;
		}
	}

	for (size_t i = 0; i < hd->nprops; i++) {
		const org_prop *p = &doc->props[hd->props + i];

		key = cfg_strn(p->key.s, p->key.len);
		if (!is_member_prop(key) && !cfg_org_property(key))
			diag_warn(d, c->path, p->line,
			    "unknown property ':%s:'", key);
		free(key);
	}

	(void)member_dur(c, doc, h, "INTERVAL", &m.interval_ms, d);
	(void)member_dur(c, doc, h, "TIMEOUT", &m.timeout_ms, d);
	(void)member_count(c, doc, h, "RETRY", &m.retry, d);
	(void)member_dur(c, doc, h, "RETRY-DELAY", &m.retry_delay_ms, d);
	(void)member_budget(c, doc, h, &m, d);
	member_priority(c, hd, &m, d);
	if ((v = org_property(doc, h, "CONTINUOUS", 0, &line)) != NULL) {
		if ((b = cfg_bool(v)) == -1)
			diag_err(d, c->path, line,
			    "invalid :CONTINUOUS: '%s' (expected t or nil)", v);
		else
			m.continuous = b;
		free(v);
	}
	if ((v = org_property(doc, h, "AUTHOR", 0, &line)) != NULL) {
		if (!author_ok(v))
			diag_err(d, c->path, line,
			    "invalid :AUTHOR: '%s' (expected 'Name <email>')",
			    v);
		else
			m.author = xstrdup(v);
		free(v);
	}
	if ((v = org_property(doc, h, "LIFECYCLE", 0, &line)) != NULL) {
		if (*v) {
			m.lifecycle = cfg_resolve(c->dir, v);
			m.lifecycle_line = line;
		}
		free(v);
	}
	if ((v = org_property(doc, h, "DEF", 0, &line)) != NULL) {
		if (*v) {
			m.def = cfg_resolve(c->dir, v);
			m.def_line = line;
		}
		free(v);
	}
	parse_member_notify(c, doc, h, &m, d);
	parse_member_calendar(c, doc, h, &m, d);
	if (m.def == NULL && !bad)
		diag_warn(d, c->path, hd->line,
		    "member '%s' has no :DEF: and is skipped", m.name);

	if (bad || d->nerrors != nerr || m.def == NULL) {
		free(m.name);
		free(m.def);
		free(m.lifecycle);
		free(m.author);
		free(m.schedule);
		free(m.tz);
		alert_dest_release(&m.notify_dests);
		return;
	}
	c->members = cfg_grow(c->members, c->nmembers,
	    sizeof(*c->members));
	c->members[c->nmembers++] = m;
}

static struct crew *
crew_new(const char *path)
{
	struct crew *c = xcalloc(1, sizeof(*c));

	c->path = xstrdup(path);
	c->dir = util_dirname(path);
	c->title = basename_noext(path);
	c->concurrency = 2;
	c->stagger_ms = 30000;
	c->boot_grace_ms = 60000;
	c->breather_ms = 45000;
	c->timeout_ms = 15 * 60000;
	c->backoff_base_ms = 60000;
	c->backoff_cap_ms = 30 * 60000;
	c->retention_ms = 90LL * 86400000;
	c->retry_delay_ms = 60000;
	c->lease_ttl_ms = 10000;
	c->prio_highest = 'A';		/* org's defaults: A C B */
	c->prio_lowest = 'C';
	c->prio_default = 'B';
	c->author_domain = xstrdup("keeper.invalid");
	c->max_commit_size = CREW_MAX_COMMIT_SIZE;
	c->cadence_fixed = 1;		/* SPEC §5: fixed is the default */
	c->catch_up_ms = CREW_CATCH_UP_ALL;
	return c;
}

int
crew_parse(const char *path, const char *buf, size_t len, struct crew **out,
    struct diag *d)
{
	struct crew *c;
	org_doc *doc;
	size_t seen[NKEYWORDS] = { 0 }, nerr = d->nerrors;
	struct table names = { .flags = TABLE_COPY };

	*out = NULL;
	if ((doc = org_parse(buf, len)) == NULL) {
		diag_err(d, path, 0, "out of memory parsing the file");
		return -1;
	}
	c = crew_new(path);
	for (size_t i = 0; i < doc->nkeywords; i++)
		parse_keyword(c, &doc->keywords[i], seen, d);
	parse_alert_urls(c, doc, d);
	if (c->backoff_cap_ms < c->backoff_base_ms)
		diag_warn(d, c->path, seen[kw_index("BACKOFF-CAP")] ?
		    seen[kw_index("BACKOFF-CAP")] : seen[kw_index("BACKOFF-BASE")],
		    "#+BACKOFF-CAP: is less than #+BACKOFF-BASE:; the backoff "
		    "never grows");
	for (size_t h = 0; h < doc->nheadings; h++)
		if (doc->headings[h].level == 1)
			parse_member(c, doc, (long)h, &names, d);
	table_release(&names);
	org_free(doc);
	if (d->nerrors != nerr) {
		crew_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int
crew_load(const char *path, struct crew **out, struct diag *d)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((buf = cfg_read(path, &len, d)) == NULL)
		return -1;
	rc = crew_parse(path, buf, len, out, d);
	free(buf);
	return rc;
}

struct crew *
crew_singleton(const char *def, const char *lifecycle, int64_t interval_ms,
    int64_t timeout_ms)
{
	struct crew *c = crew_new(def);
	struct crew_member *m;
	char *name = basename_noext(def);

	/* The name appears in commits and file names: keep it to the
	 * characters a member name may have. */
	for (char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			*p = '-';
	if (!cfg_name_ok(name, CREW_NAME_MAX)) {
		free(name);
		name = xstrdup("agent");
	}
	c->concurrency = 0;
	if (timeout_ms > 0)
		c->timeout_ms = timeout_ms;
	c->members = xcalloc(1, sizeof(*c->members));
	c->nmembers = 1;
	m = &c->members[0];
	m->name = name;
	m->def = xstrdup(def);
	m->lifecycle = lifecycle ? xstrdup(lifecycle) : NULL;
	m->interval_ms = interval_ms > 0 ? interval_ms : 3600000;
	m->timeout_ms = c->timeout_ms;
	m->retry_delay_ms = c->retry_delay_ms;
	m->cadence_fixed = c->cadence_fixed;
	m->catch_up_ms = c->catch_up_ms;
	m->priority = crew_priority_rank(c, c->prio_default);
	prio_name(c, c->prio_default, m->priority_name,
	    sizeof(m->priority_name));
	return c;
}

const struct crew_member *
crew_find(const struct crew *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].name, name) == 0)
			return &c->members[i];
	return NULL;
}

void
crew_free(struct crew *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nmembers; i++) {
		free(c->members[i].name);
		free(c->members[i].def);
		free(c->members[i].lifecycle);
		free(c->members[i].author);
		free(c->members[i].schedule);
		free(c->members[i].tz);
		alert_dest_release(&c->members[i].notify_dests);
	}
	free(c->members);
	for (size_t i = 0; i < c->nredact; i++)
		free(c->redact[i].regex);
	free(c->redact);
	free(c->path);
	free(c->dir);
	free(c->title);
	free(c->repo);
	free(c->author_domain);
	free(c->step_pattern);
	free(c->thought_pattern);
	alert_dest_release(&c->alerts);
	free(c->alert_chat);
	free(c->tz);
	free(c);
}

int
crew_notify_wants(enum crew_notify n, enum outcome o)
{
	switch (n) {
	case CREW_NOTIFY_NONE:
		return 0;
	case CREW_NOTIFY_DONE:
		return o == OUTCOME_DONE;
	case CREW_NOTIFY_FAILED:
		return o == OUTCOME_FAILED || o == OUTCOME_KILLED;
	case CREW_NOTIFY_ALWAYS:
		return o == OUTCOME_DONE || o == OUTCOME_NO_WORK ||
		    o == OUTCOME_FAILED || o == OUTCOME_KILLED;
	}
	return 0;
}

char *
crew_member_schedule_text(const struct crew *c, const struct crew_member *m,
    char *buf, size_t len)
{
	char d[32];

	if (m->calendar) {
		/* The zone is named only when the member has one of its
		 * own or the crew's: the machine's is the reader's too. */
		size_t n = (size_t)cal_describe(&m->cal, NULL, buf, len);

		if (m->tz != NULL && n < len)
			snprintf(buf + n, len - n, " %s", m->tz);
		return buf;
	}
	if (m->continuous)
		snprintf(buf, len, "continuous, %s breather",
		    dur_format(c->breather_ms, d, sizeof(d)));
	else
		snprintf(buf, len, "every %s",
		    dur_format(m->interval_ms, d, sizeof(d)));
	return buf;
}
