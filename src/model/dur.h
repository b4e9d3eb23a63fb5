/*
 * dur: durations as written in keeper's org files (SPEC §2): 90s, 15m, 2h,
 * 1d, 250ms, compounds such as 1h30m, and a bare integer meaning
 * milliseconds. Pure functions, no allocation.
 */
#ifndef KEEPER_DUR_H
#define KEEPER_DUR_H

#include <stddef.h>
#include <stdint.h>

/* Parse s (surrounding white space allowed) into *ms. 0 on success, -1
 * when s is not a duration (empty, unknown unit, overflow, negative). */
int	 dur_parse(const char *s, int64_t *ms);
/* Compact form of ms ("1h30m", "250ms", "0s") into buf; returns buf. */
char	*dur_format(int64_t ms, char *buf, size_t len);

#endif
