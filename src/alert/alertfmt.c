/*
 * alertfmt: see alertfmt.h. Each format is a function of the message's
 * parts (a title, a line, the time and run) and the destination; the
 * text is cleaned to valid UTF-8 once and cut once, to the receiver's
 * limit, so every format cuts the same way.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "alertfmt.h"
#include "outcome.h"
#include "base64.h"
#include "util.h"
#include "utf8.h"

static const char CT_JSON[] = "application/json";
static const char CT_TEXT[] = "text/plain; charset=utf-8";


/* The receivers' limits (alertfmt.h says where each comes from). */
#define NTFY_LIMIT_BYTES	4096
#define SLACK_LIMIT		16383
#define DISCORD_LIMIT		2000
#define TELEGRAM_LIMIT		4096
#define JSON_LIMIT_BYTES	65536
#define TITLE_LIMIT_BYTES	200

size_t
alert_fmt_limit(enum alert_format f, int *bytes)
{
	*bytes = 0;
	switch (f) {
	case ALERT_FMT_JSON:
		*bytes = 1;
		return JSON_LIMIT_BYTES;
	case ALERT_FMT_NTFY:
		*bytes = 1;
		return NTFY_LIMIT_BYTES;
	case ALERT_FMT_SLACK:
		return SLACK_LIMIT;
	case ALERT_FMT_DISCORD:
		return DISCORD_LIMIT;
	case ALERT_FMT_TELEGRAM:
		return TELEGRAM_LIMIT;
	}
	return DISCORD_LIMIT;
}

/* ---- UTF-8: clean and cut (utf8.h decodes and cleans) ---- */

/* Append s to b as valid UTF-8: each invalid byte becomes U+FFFD. */
static void
clean_into(struct sb *b, const char *s)
{
	utf8_clean_sb(b, s, strlen(s), 0);
}

/* The valid sequence at s (n bytes left): its length, code point in *cp. */
static size_t
u8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	uint32_t c = 0;
	size_t k = n > 0 ? utf8_decode((const char *)s, n, &c) : 0;

	*cp = c;
	return k;
}

static size_t
cost(unsigned cp, size_t k, int bytes)
{
	if (bytes)
		return k;
	return cp >= 0x10000 ? 2 : 1;	/* a surrogate pair in UTF-16 */
}

/*
 * Append the valid UTF-8 s to b, cut to limit (bytes or UTF-16 units)
 * with the mark inside the limit. With entities, a cut never splits an
 * "&amp;"-style entity (slack's escapes): it backs up to its '&'.
 */
static void
cut_into(struct sb *b, const char *s, size_t limit, int bytes, int entities)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i, k, used = 0, mark = 0;
	unsigned cp;

	for (i = 0; i < n; i += k) {
		k = u8_seq(u + i, n - i, &cp);
		used += cost(cp, k, bytes);
	}
	if (used <= limit) {
		sb_add(b, s, n);
		return;
	}
	for (i = 0; i < sizeof(ALERT_FMT_CUT_MARK) - 1; i += k) {
		k = u8_seq((const unsigned char *)ALERT_FMT_CUT_MARK + i,
		    sizeof(ALERT_FMT_CUT_MARK) - 1 - i, &cp);
		mark += cost(cp, k, bytes);
	}
	used = 0;
	for (i = 0; i < n && limit >= mark; i += k) {
		k = u8_seq(u + i, n - i, &cp);
		if (used + cost(cp, k, bytes) > limit - mark)
			break;
		used += cost(cp, k, bytes);
	}
	if (entities) {
		/* An entity is at most "&amp;": look back that far. */
		for (size_t j = i; j > 0 && i - j < 5; j--)
			if (u[j - 1] == ';')
				break;
			else if (u[j - 1] == '&') {
				i = j - 1;
				break;
			}
	}
	sb_add(b, s, i);
	if (limit >= mark)
		sb_adds(b, ALERT_FMT_CUT_MARK);
}

char *
alert_fmt_cut(const char *s, size_t limit, int bytes)
{
	struct sb clean = { 0 }, out = { 0 };

	clean_into(&clean, s ? s : "");
	cut_into(&out, clean.buf ? clean.buf : "", limit, bytes, 0);
	sb_release(&clean);
	return sb_detach(&out);
}

/* ---- headers ---- */

/*
 * "Name: value" with value made safe for a header line: control
 * characters become spaces (no header can be smuggled in through a
 * crew title), and a value with any non-ASCII byte is sent as one RFC
 * 2047 encoded word, which ntfy documents as the way to send UTF-8 in a
 * header.
 */
static char *
header(const char *name, const char *value)
{
	struct sb h = { 0 };
	char *cut = alert_fmt_cut(value, TITLE_LIMIT_BYTES, 1);
	int ascii = 1;

	for (unsigned char *p = (unsigned char *)cut; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		if (*p >= 0x80)
			ascii = 0;
	}
	sb_addf(&h, "%s: ", name);
	if (ascii)
		sb_adds(&h, cut);
	else {
		sb_adds(&h, "=?UTF-8?B?");
		base64_encode_sb(&h, cut, strlen(cut));
		sb_adds(&h, "?=");
	}
	free(cut);
	return sb_detach(&h);
}

static void
req_hdr(struct alert_req *r, char *line)
{
	if (r->nhdr < ALERT_REQ_MAX_HDR)
		r->hdr[r->nhdr++] = line;
	else
		free(line);
}

/* ---- the formats ---- */

/* What every format builds its message from. */
struct msg {
	const char	*id;
	const char	*title;		/* ntfy's Title header */
	const char	*head;		/* first line of a chat message */
	const char	*body;		/* the rest; "" none */
	const char	*priority;	/* ntfy */
	const char	*tag;		/* ntfy emoji short code */
	const char	*agent;
	char		*json;		/* the json format's body, taken */
};

static void
iso_time(char buf[32], int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *
dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

/* The chat text: head and body on their own lines, clean, escaped for
 * slack, cut to the format's limit. */
static char *
chat_text(const struct msg *m, enum alert_format f)
{
	struct sb raw = { 0 }, clean = { 0 }, esc = { 0 }, out = { 0 };
	size_t limit;
	int bytes;
	const char *src;

	sb_adds(&raw, m->head);
	if (*m->body != '\0') {
		sb_addc(&raw, '\n');
		sb_adds(&raw, m->body);
	}
	clean_into(&clean, raw.buf);
	src = clean.buf;
	if (f == ALERT_FMT_SLACK) {
		/* Slack reads &, < and > as markup (<!channel> pings
		 * everyone); its documented escapes make them text. */
		for (const char *p = clean.buf; *p; p++)
			if (*p == '&')
				sb_adds(&esc, "&amp;");
			else if (*p == '<')
				sb_adds(&esc, "&lt;");
			else if (*p == '>')
				sb_adds(&esc, "&gt;");
			else
				sb_addc(&esc, *p);
		src = esc.buf ? esc.buf : "";
	}
	limit = alert_fmt_limit(f, &bytes);
	cut_into(&out, src, limit, bytes, f == ALERT_FMT_SLACK);
	sb_release(&raw);
	sb_release(&clean);
	sb_release(&esc);
	return sb_detach(&out);
}

static int
build(struct alert_req *r, const struct alert_dest *d, struct msg *m)
{
	json_t *o = NULL;
	char *text = NULL, *tags;
	size_t limit;
	int bytes;

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", m->id);
	r->format = d->format;
	r->url = xstrdup(d->url);
	r->content_type = CT_JSON;
	req_hdr(r, xasprintf("Idempotency-Key: %s", m->id));
	switch (d->format) {
	case ALERT_FMT_JSON:
		r->body = m->json;
		m->json = NULL;
		break;
	case ALERT_FMT_NTFY:
		r->content_type = CT_TEXT;
		limit = alert_fmt_limit(d->format, &bytes);
		r->body = alert_fmt_cut(*m->body ? m->body : m->head, limit,
		    bytes);
		req_hdr(r, header("Title", m->title));
		req_hdr(r, header("Priority", m->priority));
		tags = xasprintf("%s,%s", m->tag, m->agent);
		for (char *p = tags + strlen(m->tag) + 1; *p; p++)
			if (*p == ',')
				*p = '_';
		req_hdr(r, header("Tags", tags));
		free(tags);
		break;
	case ALERT_FMT_SLACK:
		text = chat_text(m, d->format);
		r->body = dump(json_pack("{s:s}", "text", text));
		break;
	case ALERT_FMT_DISCORD:
		text = chat_text(m, d->format);
		r->body = dump(json_pack("{s:s, s:{s:[]}}", "content", text,
		    "allowed_mentions", "parse"));
		break;
	case ALERT_FMT_TELEGRAM:
		if (d->chat == NULL)
			break;
		text = chat_text(m, d->format);
		o = json_pack("{s:s, s:s}", "chat_id", d->chat, "text", text);
		r->body = dump(o);
		break;
	}
	free(text);
	free(m->json);
	m->json = NULL;
	if (r->body == NULL) {
		alert_fmt_req_release(r);
		return -1;
	}
	r->bodylen = strlen(r->body);
	return 0;
}

int
alert_fmt_alert(struct alert_req *r, const struct alert_dest *d,
    const struct alert *a, const char *crew)
{
	struct msg m = { .id = a->id, .agent = a->agent };
	char at[32], *line;
	struct sb title = { 0 }, head = { 0 }, when = { 0 }, nbody = { 0 };
	int rc;

	iso_time(at, a->at_ms);
	line = alert_text(a);
	if (crew != NULL) {
		sb_addf(&title, "%s: ", crew);
		sb_addf(&head, "%s: ", crew);
	}
	sb_addf(&title, "%s %s", a->agent, alert_event_name(a));
	sb_adds(&head, line);
	if (a->run_id[0] != '\0')
		sb_addf(&when, "run %s at %s", a->run_id, at);
	else
		sb_addf(&when, "at %s", at);
	/* ntfy shows the title above the body, so its body is the line and
	 * its time; a chat message leads with the line and the crew. */
	sb_addf(&nbody, "%s\n%s", line, when.buf);
	switch (a->to) {
	case ALERT_FAILING:
		m.priority = "high";
		m.tag = "rotating_light";
		break;
	case ALERT_STALE:
		m.priority = "high";
		m.tag = "warning";
		break;
	case ALERT_BUDGET:
		m.priority = "high";
		m.tag = "money_with_wings";
		break;
	default:
		m.priority = "default";
		m.tag = "white_check_mark";
		break;
	}
	m.title = title.buf;
	m.head = head.buf;
	m.body = d->format == ALERT_FMT_NTFY ? nbody.buf : when.buf;
	if (d->format == ALERT_FMT_JSON)
		m.json = alert_json(a, crew);	/* today's body, unchanged */
	rc = build(r, d, &m);
	free(line);
	sb_release(&title);
	sb_release(&head);
	sb_release(&when);
	sb_release(&nbody);
	return rc;
}

static int
outcome_is_failure(enum outcome o)
{
	return o == OUTCOME_FAILED || o == OUTCOME_KILLED ||
	    o == OUTCOME_ERROR || o == OUTCOME_INTERRUPTED;
}

int
alert_fmt_result(struct alert_req *r, const struct alert_dest *d,
    const struct alert_result *res, const char *crew)
{
	struct msg m = { .agent = res->agent };
	const char *outcome = res->outcome ? res->outcome : "";
	const char *run = res->run_id ? res->run_id : "";
	const char *text = res->text ? res->text : "";
	char id[17], at[32], *cut;
	struct sb head = { 0 };
	json_t *o;
	int rc;

	alert_make_result_id(id, res->agent, run);
	iso_time(at, res->at_ms);
	m.id = id;
	if (crew != NULL)
		sb_addf(&head, "%s: ", crew);
	sb_addf(&head, "%s %s", res->agent, outcome);
	if (*run != '\0')
		sb_addf(&head, " (run %s)", run);
	m.title = head.buf;
	m.head = head.buf;
	m.body = text;
	if (outcome_is_failure(outcome_parse(outcome))) {
		m.priority = "high";
		m.tag = "x";
	} else if (outcome_parse(outcome) == OUTCOME_NO_WORK) {
		m.priority = "low";
		m.tag = "zzz";
	} else {
		m.priority = "default";
		m.tag = "page_facing_up";
	}
	if (d->format == ALERT_FMT_NTFY && *text == '\0')
		m.body = "(no output)";
	if (d->format == ALERT_FMT_JSON) {
		cut = alert_fmt_cut(text, JSON_LIMIT_BYTES, 1);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
		    "kind", "result", "id", id, "agent", res->agent,
		    "outcome", outcome, "at", at, "at_ms",
		    (json_int_t)res->at_ms, "text", cut);
		free(cut);
		if (o != NULL) {
			json_object_set_new(o, "run", *run ? json_string(run) :
			    json_null());
			if (crew != NULL)
				json_object_set_new(o, "crew",
				    json_string(crew));
		}
		m.json = dump(o);
	}
	rc = build(r, d, &m);
	if (rc == 0)
		snprintf(r->result_run, sizeof(r->result_run), "%s", run);
	sb_release(&head);
	return rc;
}

void
alert_fmt_req_copy(struct alert_req *dst, const struct alert_req *src)
{
	*dst = *src;
	dst->url = xstrdup(src->url);
	dst->body = xmalloc(src->bodylen + 1);
	memcpy(dst->body, src->body, src->bodylen);
	dst->body[src->bodylen] = '\0';
	for (int i = 0; i < src->nhdr; i++)
		dst->hdr[i] = xstrdup(src->hdr[i]);
}

void
alert_fmt_req_release(struct alert_req *r)
{
	free(r->url);
	free(r->body);
	for (int i = 0; i < r->nhdr; i++)
		free(r->hdr[i]);
	memset(r, 0, sizeof(*r));
}

