/*
 * outcome: names of tick outcomes.
 */
#include <string.h>

#include "outcome.h"

static const char *const names[] = {
	[OUTCOME_NONE] = "",
	[OUTCOME_DONE] = "done",
	[OUTCOME_NO_WORK] = "no_work",
	[OUTCOME_FAILED] = "failed",
	[OUTCOME_KILLED] = "killed",
	[OUTCOME_GATED] = "gated",
	[OUTCOME_DREAMED] = "dreamed",
	[OUTCOME_ERROR] = "error",
	[OUTCOME_INTERRUPTED] = "interrupted",
	[OUTCOME_MISSED] = "missed",
};

const char *
outcome_name(enum outcome o)
{
	if ((unsigned)o >= sizeof(names) / sizeof(names[0]))
		return "";
	return names[o];
}

enum outcome
outcome_parse(const char *s)
{
	for (unsigned i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum outcome)i;
	return OUTCOME_NONE;
}
