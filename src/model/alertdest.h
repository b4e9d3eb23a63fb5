/*
 * alertdest: where alerts and results go, as configured (keeper(1)
 * ALERTS, keeper-crew(5)): a list of destinations, each a receiver URL
 * with the format it speaks and, for Telegram, the chat. A config model,
 * pure: the crew loader validates #+ALERT-URL: and :NOTIFY-URL: lines
 * with it, the settings' KEEPER_ALERT_URL goes through the same parser,
 * and alertfmt.h builds each format's requests for these destinations.
 *
 * A value is a URL followed by its options, format=NAME and chat=ID (a
 * number, or @channelname; telegram only); one value may name several
 * destinations, each URL starting the next, which is how
 * KEEPER_ALERT_URL lists more than one:
 *
 *   #+ALERT-FORMAT: ntfy			default format (json)
 *   #+ALERT-CHAT: -1001234567890		default telegram chat
 *   #+ALERT-URL: https://ntfy.sh/ops-keeper
 *   #+ALERT-URL: https://api.telegram.org/bot123:ABC/sendMessage format=telegram
 *
 * Error messages name a destination by its place and its scheme and host
 * only: the rest of a URL (a bot token, a webhook key) is a secret and
 * never appears in a log.
 *
 * Ownership: a struct alert_dests owns its destinations and their
 * strings (alert_dest_release); caller-allocated, zero-initialised.
 */
#ifndef KEEPER_ALERTDEST_H
#define KEEPER_ALERTDEST_H

#include <stddef.h>

enum alert_format {
	ALERT_FMT_JSON = 0,
	ALERT_FMT_NTFY,
	ALERT_FMT_SLACK,
	ALERT_FMT_DISCORD,
	ALERT_FMT_TELEGRAM
};

#define ALERT_DEST_MAX	16	/* destinations in one list */

struct alert_dest {
	enum alert_format format;
	char		*url;
	char		*chat;		/* telegram chat id; NULL otherwise */
};

struct alert_dests {
	struct alert_dest *v;
	size_t		 n;
};

/* "json", "ntfy", ...; "?" for none of them. */
const char	*alert_dest_format_name(enum alert_format);
/* 0, or -1 with err for an unknown name. */
int		 alert_dest_format_parse(const char *name, enum alert_format *,
		    char *err, size_t errlen);

/*
 * Append the destinations of one value to *list: "URL [format=F]
 * [chat=ID] [URL ...]". deflt is the format of a destination without
 * format=, deflt_chat (may be NULL) the chat of a telegram one without
 * chat=. 0, or -1 with err and *list unchanged.
 */
int		 alert_dest_parse(struct alert_dests *list, const char *value,
		    enum alert_format deflt, const char *deflt_chat, char *err,
		    size_t errlen);
/* dst (empty) becomes a copy of src; append adds to dst copies of the
 * destinations of src it does not have yet (alert_dest_same()), so a
 * receiver named twice gets one copy. */
void		 alert_dest_copy(struct alert_dests *dst,
		    const struct alert_dests *src);
void		 alert_dest_append(struct alert_dests *dst,
		    const struct alert_dests *src);
/* 1 when the two name the same receiver, format and chat. */
int		 alert_dest_same(const struct alert_dest *,
		    const struct alert_dest *);
/* 1 when the lists are the same, in the same order. */
int		 alert_dest_equal(const struct alert_dests *,
		    const struct alert_dests *);
void		 alert_dest_release(struct alert_dests *);
/* 1 when c is a telegram chat: a number, or @channelname. */
int		 alert_dest_chat_ok(const char *c);
/* "https://api.telegram.org" of a URL, never its path: for logs. */
void		 alert_dest_origin(const char *url, char *buf, size_t len);

#endif
