/*
 * statefile: the small state files of SPEC §8, each replaced atomically
 * (fs_write_atomic(): temp file in the same directory, write, fsync,
 * rename, fsync the directory): a crash leaves the old or the new content,
 * never a torn one. The daemon's own writes go through statesync.h, which
 * batches them; these are for one file at a time.
 *
 * Readers tolerate garbage: a file that does not parse counts as missing
 * and the caller gets a warning in its buffer.
 *
 * Ownership: statefile_path() returns a malloc'd string.
 */
#ifndef KEEPER_STATEFILE_H
#define KEEPER_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "lifecycle.h"
#include "pause.h"

enum statefile_kind { SF_LAST_RUN, SF_POS, SF_PAUSE, SF_LAST_FIRE };

/* DATA/keeper-last-run-NAME, DATA/lifecycle-pos-NAME, DATA/pause-NAME or
 * DATA/keeper-last-fire-NAME; NAME NULL is the singleton form
 * (keeper-last-run, lifecycle-pos, keeper-last-fire). A pause is always
 * named after its member, singleton or not. The last-fire file is a
 * calendar member's cursor (fire.h): the schedule's instant of the
 * newest fire run or recorded as missed, as unix seconds like the
 * last-run file's, then the schedule's signature in hex (a cursor kept
 * under another schedule is not this one's). */
char	*statefile_path(const char *data, enum statefile_kind,
	    const char *name);
/* The last-run text for ms ("1700000000.123\n") into buf; its length. */
int	 statefile_format_last_run(int64_t ms, char *buf, size_t len);
/* Unix seconds as text, with milliseconds. */
int	 statefile_write_last_run(const char *path, int64_t ms, char *err,
	    size_t errlen);
/* 0 with *ms set; 1 missing; 2 garbage (warning in err); both leave *ms
 * alone. */
int	 statefile_read_last_run(const char *path, int64_t *ms, char *err,
	    size_t errlen);
/* "SECONDS.MMM SIG\n" into buf; its length. */
int	 statefile_format_last_fire(int64_t ms, uint64_t sig, char *buf,
	    size_t len);
/* Same returns as statefile_read_last_run(); *sig 0 when the file has
 * none. */
int	 statefile_read_last_fire(const char *path, int64_t *ms, uint64_t *sig,
	    char *err, size_t errlen);
int	 statefile_write_pos(const char *path, const struct lc_pos *,
	    char *err, size_t errlen);
/* Same returns as statefile_read_last_run(); pos is empty unless 0. */
int	 statefile_read_pos(const char *path, struct lc_pos *, char *err,
	    size_t errlen);

/*
 * The pause file (SPEC §5b): one line, "UNTIL WHY", UNTIL unix ms (0:
 * until resumed) and WHY the rest of the line; an empty file is no pause
 * (a resume through the daemon's group commit writes one, which cannot
 * race a pending write as an unlink would).
 */
/* The file's text for p (empty when p is off) into buf; its length. */
int	 statefile_format_pause(const struct pause *, char *buf, size_t len);
/* 0 with *p set (the pause may have expired); 1 missing or empty (p off);
 * 2 garbage (p off, warning in err). */
int	 statefile_read_pause(const char *path, struct pause *, char *err,
	    size_t errlen);
/* Whether member name is paused at now, from data's pause file: 1 with
 * *out (may be NULL) filled (out->until_ms 0: until resumed), else 0.
 * For the commands that read the data directory without a daemon (a
 * daemon's own view is struct agent_status's paused). */
int	 statefile_paused(const char *data, const char *name, int64_t now_ms,
	    struct pause *out);

#endif
