/*
 * log: logfmt lines on stderr. The message passed in is the key=value
 * tail; log_* prefix it with the level (and errno text for log_warn/fatal).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int log_verbosity;

void
log_init(int verbose)
{
	log_verbosity = verbose;
}

static void
vlog(const char *level, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno)
		fprintf(stderr, "level=%s %s err=\"%s\"\n", level, msg,
		    strerror(saved));
	else
		fprintf(stderr, "level=%s %s\n", level, msg);
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
