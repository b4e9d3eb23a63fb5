/*
 * reason: the words of a run that was not done (reason.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "utf8.h"
#include "util.h"

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

char *
reason_last_line(const char *log, size_t len, size_t from)
{
	size_t end = len, start;
	char *line;

	if (log == NULL || from >= len)
		return NULL;
	for (;;) {
		while (end > from && blank(log[end - 1]))
			end--;
		if (end <= from)
			return NULL;
		start = end;
		while (start > from && log[start - 1] != '\n')
			start--;
		while (start < end && blank(log[start]))
			start++;
		if (start < end)
			break;
		end = start;
	}
	end = start + utf8_cut(log + start, end - start, REASON_LINE_MAX);
	line = utf8_clean(log + start, end - start, UTF8_ONELINE, NULL);
	return line;
}

size_t
reason_log_from(uint64_t at, uint64_t total, size_t textlen, size_t taillen)
{
	uint64_t back;

	if (at >= total)
		return textlen;
	if (total == textlen)
		return (size_t)at;
	/* Truncated: only the tail maps back, from the end. */
	back = total - at;
	if (back > taillen)
		return textlen - taillen;
	return textlen - (size_t)back;
}

char *
reason_text(const struct reason_in *in)
{
	struct sb sb = { 0 };
	int add_line = 1;

	if (in->said != NULL && in->said[0] != '\0' &&
	    in->outcome != OUTCOME_KILLED) {
		sb_adds(&sb, in->said);
		add_line = in->said_log;
	} else {
		if (in->step != NULL && in->step[0] != '\0')
			sb_addf(&sb, "%s: ", in->step);
		if (in->outcome == OUTCOME_KILLED)
			sb_addf(&sb, "killed after the %lld ms timeout",
			    (long long)in->timeout_ms);
		else if (in->exited)
			sb_addf(&sb, "exit status %d", in->exit_code);
		else
			sb_addf(&sb, "killed by signal %d (%s)",
			    in->term_signal, strsignal(in->term_signal));
	}
	if (add_line && in->line != NULL && in->line[0] != '\0')
		sb_addf(&sb, ": %s", in->line);
	return sb_detach(&sb);
}
