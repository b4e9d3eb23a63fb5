/*
 * alertfmt: alerts and result deliveries in each receiver's own format,
 * as prepared HTTP requests (URL, headers, body) the delivery queue sends
 * unchanged. Pure: nothing here
 * reads a clock, file or environment variable, or touches the network.
 *
 * Formats (keeper(1) ALERTS):
 *
 *   json	today's JSON object, Content-Type application/json
 *   ntfy	plain-text body; Title, Priority and Tags headers
 *   slack	incoming webhook {"text": ...}; Mattermost takes it too
 *   discord	webhook {"content": ..., "allowed_mentions": {"parse": []}}
 *		(no text from an agent can ping @everyone)
 *   telegram	Bot API sendMessage {"chat_id": ..., "text": ...}; the URL
 *		carries the bot token (https://api.telegram.org/botTOKEN/
 *		sendMessage)
 *
 * Every request carries an Idempotency-Key header with the alert's or the
 * result's deterministic id. Message text is cut to the receiver's limit
 * at a UTF-8 character boundary and marked with ALERT_FMT_CUT_MARK:
 * ntfy 4,096 bytes (a longer message becomes an attachment), Discord
 * 2,000 characters, Telegram 4,096, slack 16,383 (Slack truncates at
 * 40,000, but Mattermost, which takes the same format, caps a post at
 * 16,383), and keeper's own 65,536 bytes for a json result's text.
 * Characters are counted as UTF-16 code units, which is never fewer than
 * any of these services counts. Invalid UTF-8 becomes U+FFFD.
 *
 * Destinations (URL, format, chat) are alertdest.h's.
 *
 * Ownership: a struct alert_req owns its strings (alert_fmt_req_release);
 * caller-allocated, zero-initialised.
 */
#ifndef KEEPER_ALERTFMT_H
#define KEEPER_ALERTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "alertdest.h"
#include "alertstep.h"

#define ALERT_FMT_CUT_MARK	"\xe2\x80\xa6 (cut)"	/* "… (cut)" */

/* A prepared POST. hdr lines are "Name: value"; content_type is a
 * static string, not owned. */
#define ALERT_REQ_MAX_HDR	4
struct alert_req {
	char		*url;
	const char	*content_type;
	char		*body;
	size_t		 bodylen;
	char		*hdr[ALERT_REQ_MAX_HDR];
	int		 nhdr;
	char		 id[17];	/* the Idempotency-Key */
	enum alert_format format;	/* the destination's */
	char		 result_run[32]; /* a result's run id, for delivery
					   reports; "" for an alert */
};

/* A run's result, to deliver as a message (dual delivery). */
struct alert_result {
	const char	*agent;
	const char	*run_id;
	const char	*outcome;	/* outcome_name(): "done", "failed" */
	const char	*text;		/* already redacted; NULL empty */
	int64_t		 at_ms;		/* when the run ended */
};

/* The request for an alert (crew may be NULL) or a result to dest. *req
 * is filled (release it after); 0, or -1 when out of options (a body
 * jansson cannot build). */
int		 alert_fmt_alert(struct alert_req *,
		    const struct alert_dest *, const struct alert *,
		    const char *crew);
int		 alert_fmt_result(struct alert_req *,
		    const struct alert_dest *, const struct alert_result *,
		    const char *crew);
void		 alert_fmt_req_copy(struct alert_req *dst,
		    const struct alert_req *src);
void		 alert_fmt_req_release(struct alert_req *);

/*
 * The text limit a format's message gets, and whether it counts bytes
 * (1) or UTF-16 code units (0).
 */
size_t		 alert_fmt_limit(enum alert_format, int *bytes);
/* s as valid UTF-8 (invalid bytes become U+FFFD), cut to at most limit
 * bytes or UTF-16 units, the cut marked with ALERT_FMT_CUT_MARK within
 * the limit. Caller frees. */
char		*alert_fmt_cut(const char *s, size_t limit, int bytes);

#endif
