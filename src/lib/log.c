/*
 * log: logfmt lines on stderr. The message passed in is the key=value
 * tail; log_* prefix it with the level (and errno text for log_warn/fatal).
 *
 * Under systemd, stderr is a journal stream ($JOURNAL_STREAM names its
 * device and inode): each line then also starts with a <N> syslog priority
 * so `journalctl -p warning` works, and journald adds the timestamp.
 * Each line is written with a single call so lines from the alert thread
 * never interleave with the loop's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

static int log_verbosity;
static int log_journal;		/* stderr is the journal: add <N> */

static int
stderr_is_journal(const char *js)
{
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(2, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int verbose, const char *journal_stream)
{
	log_verbosity = verbose;
	log_journal = stderr_is_journal(journal_stream);
}

static int
plain_token(const char *v)
{
	if (*v == '\0')
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == '"' || *v == '=' ||
		    *v == '\\' || *v == 0x7f)
			return 0;
	return 1;
}

static void
quote_into(struct sb *b, const char *v)
{
	if (v != NULL && plain_token(v)) {
		sb_adds(b, v);
		return;
	}
	sb_addc(b, '"');
	for (; v != NULL && *v; v++) {
		switch (*v) {
		case '"':
			sb_adds(b, "\\\"");
			break;
		case '\\':
			sb_adds(b, "\\\\");
			break;
		case '\n':
			sb_adds(b, "\\n");
			break;
		case '\t':
			sb_adds(b, "\\t");
			break;
		case '\r':
			sb_adds(b, "\\r");
			break;
		default:
			if ((unsigned char)*v < ' ' || *v == 0x7f)
				sb_addf(b, "\\x%02x", (unsigned char)*v);
			else
				sb_addc(b, *v);
		}
	}
	sb_addc(b, '"');
}

const char *
log_qv(const char *value)
{
	/* Fixed slots, not heap: nothing to free when a thread ends. */
	static _Thread_local char ring[8][1024];
	static _Thread_local unsigned next;
	char *slot = ring[next++ % 8];
	struct sb b = { 0 };

	quote_into(&b, value);
	snprintf(slot, sizeof(ring[0]), "%s", b.buf);
	if (b.len >= sizeof(ring[0]) && slot[0] == '"') {
		/* Truncated: keep it a well-formed quoted value. */
		size_t n = sizeof(ring[0]) - 5;
		while (n > 1 && slot[n - 1] == '\\')
			n--;
		memcpy(slot + n, "...\"", 5);
	}
	sb_release(&b);
	return slot;
}

void
log_kv(struct sb *b, const char *key, const char *value)
{
	sb_addf(b, " %s=", key);
	quote_into(b, value);
}

static int
priority(const char *level)
{
	switch (level[0]) {
	case 'f':
		return 2;	/* LOG_CRIT */
	case 'e':
		return 3;	/* LOG_ERR */
	case 'w':
		return 4;	/* LOG_WARNING */
	case 'd':
		return 7;	/* LOG_DEBUG */
	default:
		return 6;	/* LOG_INFO */
	}
}

static void
vlog(const char *level, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[2048], line[2200], pri[4] = "", *p;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One event, one line, whatever the message held. */
	for (p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_journal)
		snprintf(pri, sizeof(pri), "<%d>", priority(level));
	if (with_errno)
		snprintf(line, sizeof(line), "%slevel=%s %s err=%s\n", pri,
		    level, msg, log_qv(strerror(saved)));
	else
		snprintf(line, sizeof(line), "%slevel=%s %s\n", pri, level,
		    msg);
	fputs(line, stderr);
	fflush(stderr);
	errno = saved;
}

#define LOGFN(name, level, witherr, cond)		\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	if (!(cond))					\
		return;					\
	va_start(ap, fmt);				\
	vlog(level, witherr, fmt, ap);			\
	va_end(ap);					\
}

LOGFN(log_warn, "warn", 1, 1)
LOGFN(log_warnx, "warn", 0, 1)
LOGFN(log_info, "info", 0, 1)
LOGFN(log_debug, "debug", 0, log_verbosity > 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
