/*
 * alertdest: see alertdest.h. A value is read token by token: a URL
 * starts a destination, each option after it belongs to it; the defaults
 * are applied once the whole value has been read, so an option may follow
 * its URL in any order.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alertdest.h"
#include "util.h"

static const char *const fmt_names[] = {
	[ALERT_FMT_JSON] = "json",
	[ALERT_FMT_NTFY] = "ntfy",
	[ALERT_FMT_SLACK] = "slack",
	[ALERT_FMT_DISCORD] = "discord",
	[ALERT_FMT_TELEGRAM] = "telegram",
};
#define NFMT	(sizeof(fmt_names) / sizeof(fmt_names[0]))

const char *
alert_dest_format_name(enum alert_format f)
{
	return (size_t)f < NFMT ? fmt_names[f] : "?";
}

int
alert_dest_format_parse(const char *name, enum alert_format *f, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < NFMT; i++)
		if (strcmp(name, fmt_names[i]) == 0) {
			*f = (enum alert_format)i;
			return 0;
		}
	snprintf(err, errlen, "unknown alert format '%s' (json, ntfy, slack, "
	    "discord, telegram)", name);
	return -1;
}

void
alert_dest_origin(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *host, *end, *at;

	if (p == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	host = p + 3;
	end = host + strcspn(host, "/?#");
	/* user:password@ is a secret too. */
	for (at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	snprintf(buf, len, "%.*s://%.*s", (int)(p - url), url,
	    (int)(end - host), host);
}

int
alert_dest_chat_ok(const char *c)
{
	const char *p = c;

	if (*p == '@') {
		for (p++; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				return 0;
		return p - c > 1 && p - c <= 65;
	}
	if (*p == '-')
		p++;
	if (*p == '\0')
		return 0;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return p - c <= 21;
}

static int
is_url(const char *t, size_t n)
{
	return (n >= 7 && strncasecmp(t, "http://", 7) == 0) ||
	    (n >= 8 && strncasecmp(t, "https://", 8) == 0);
}

/* Something between "://" and the path besides a user:password@. */
static int
has_host(const char *url)
{
	const char *host = strstr(url, "://") + 3;
	size_t n = strcspn(host, "/?#");
	const char *at = memchr(host, '@', n);

	return at ? at + 1 < host + n : n > 0;
}

/* One destination being parsed. */
struct pdest {
	char		*url;
	int		 has_format;
	enum alert_format format;
	char		*chat;
};

static void
pdests_free(struct pdest *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].url);
		free(v[i].chat);
	}
	free(v);
}

int
alert_dest_parse(struct alert_dests *list, const char *value,
    enum alert_format deflt, const char *deflt_chat, char *err,
    size_t errlen)
{
	struct pdest *v = NULL, *cur;
	size_t n = 0, len, place;
	const char *p = value ? value : "", *t;
	char origin[128], name[32];
	int rc = -1;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		t = p;
		len = strcspn(t, " \t");
		p += len;
		cur = n > 0 ? &v[n - 1] : NULL;
		place = list->n + n;
		if (is_url(t, len)) {
			for (size_t i = 0; i < len; i++)
				if ((unsigned char)t[i] < 0x21 ||
				    (unsigned char)t[i] >= 0x7f) {
					snprintf(err, errlen, "alert "
					    "destination %zu: a URL holds "
					    "only printable ASCII (percent-"
					    "encode the rest)", place + 1);
					goto done;
				}
			v = xreallocarray(v, n + 1, sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			v[n++].url = xstrndup(t, len);
			if (!has_host(v[n - 1].url)) {
				snprintf(err, errlen, "alert destination %zu: "
				    "URL has no host", place + 1);
				goto done;
			}
			continue;
		}
		if (len > 7 && strncmp(t, "format=", 7) == 0) {
			if (cur == NULL)
				goto before_url;
			if (cur->has_format)
				goto twice;
			snprintf(name, sizeof(name), "%.*s", (int)(len - 7),
			    t + 7);
			if (alert_dest_format_parse(name, &cur->format, err,
			    errlen) == -1)
				goto done;
			cur->has_format = 1;
			continue;
		}
		if (len > 5 && strncmp(t, "chat=", 5) == 0) {
			if (cur == NULL)
				goto before_url;
			if (cur->chat != NULL)
				goto twice;
			cur->chat = xstrndup(t + 5, len - 5);
			if (!alert_dest_chat_ok(cur->chat)) {
				snprintf(err, errlen, "bad telegram chat id "
				    "'%s' (a number, or @channelname)",
				    cur->chat);
				goto done;
			}
			continue;
		}
		if (memchr(t, '=', len) != NULL && strcspn(t, "=/:") ==
		    (size_t)((const char *)memchr(t, '=', len) - t)) {
			snprintf(err, errlen, "unknown alert option '%.*s' "
			    "(format=, chat=)", (int)(strcspn(t, "=") + 1), t);
			goto done;
		}
		/* Not a URL: show it up to its first '/' or '?', where a
		 * secret would begin. */
		snprintf(err, errlen, "'%.*s' is not an http:// or https:// URL",
		    (int)(strcspn(t, "/?#") < len ? strcspn(t, "/?#") : len),
		    t);
		goto done;
	}
	if (n == 0) {
		snprintf(err, errlen, "no alert URL");
		goto done;
	}
	if (list->n + n > ALERT_DEST_MAX) {
		snprintf(err, errlen, "more than %d alert destinations",
		    ALERT_DEST_MAX);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		place = list->n + i + 1;
		alert_dest_origin(v[i].url, origin, sizeof(origin));
		if (!v[i].has_format)
			v[i].format = deflt;
		if (v[i].format != ALERT_FMT_TELEGRAM) {
			if (v[i].chat != NULL) {
				snprintf(err, errlen, "alert destination %zu "
				    "(%s): chat= is only for telegram", place,
				    origin);
				goto done;
			}
			continue;
		}
		if (v[i].chat == NULL && deflt_chat != NULL &&
		    *deflt_chat != '\0') {
			if (!alert_dest_chat_ok(deflt_chat)) {
				snprintf(err, errlen, "bad telegram chat id "
				    "'%s' (a number, or @channelname)",
				    deflt_chat);
				goto done;
			}
			v[i].chat = xstrdup(deflt_chat);
		}
		if (v[i].chat == NULL) {
			snprintf(err, errlen, "alert destination %zu (%s): "
			    "telegram needs a chat (chat=ID or #+ALERT-CHAT:)",
			    place, origin);
			goto done;
		}
	}
	list->v = xreallocarray(list->v, list->n + n, sizeof(*list->v));
	for (size_t i = 0; i < n; i++) {
		list->v[list->n + i] = (struct alert_dest){ .format =
		    v[i].format, .url = v[i].url, .chat = v[i].chat };
		v[i].url = v[i].chat = NULL;
	}
	list->n += n;
	rc = 0;
	goto done;
before_url:
	snprintf(err, errlen, "'%.*s' comes before any URL",
	    (int)(strcspn(t, "=") + 1), t);
	goto done;
twice:
	snprintf(err, errlen, "alert destination %zu: %.*s given twice",
	    list->n + n, (int)(strcspn(t, "=") + 1), t);
done:
	pdests_free(v, n);
	return rc;
}

void
alert_dest_copy(struct alert_dests *dst, const struct alert_dests *src)
{
	dst->n = src->n;
	dst->v = src->n ? xcalloc(src->n, sizeof(*dst->v)) : NULL;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].format = src->v[i].format;
		dst->v[i].url = xstrdup(src->v[i].url);
		dst->v[i].chat = src->v[i].chat ? xstrdup(src->v[i].chat) :
		    NULL;
	}
}

void
alert_dest_release(struct alert_dests *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].url);
		free(l->v[i].chat);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
alert_dest_append(struct alert_dests *dst, const struct alert_dests *src)
{
	int have;

	for (size_t i = 0; i < src->n; i++) {
		have = 0;
		for (size_t k = 0; k < dst->n && !have; k++)
			have = alert_dest_same(&dst->v[k], &src->v[i]);
		if (have)
			continue;
		dst->v = xreallocarray(dst->v, dst->n + 1, sizeof(*dst->v));
		dst->v[dst->n].format = src->v[i].format;
		dst->v[dst->n].url = xstrdup(src->v[i].url);
		dst->v[dst->n].chat = src->v[i].chat ?
		    xstrdup(src->v[i].chat) : NULL;
		dst->n++;
	}
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
alert_dest_same(const struct alert_dest *a, const struct alert_dest *b)
{
	return a->format == b->format && same_str(a->url, b->url) &&
	    same_str(a->chat, b->chat);
}

int
alert_dest_equal(const struct alert_dests *a, const struct alert_dests *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!alert_dest_same(&a->v[i], &b->v[i]))
			return 0;
	return 1;
}
