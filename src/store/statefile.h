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

enum statefile_kind { SF_LAST_RUN, SF_POS };

/* DATA/keeper-last-run-NAME or DATA/lifecycle-pos-NAME; NAME NULL is the
 * singleton form (keeper-last-run, lifecycle-pos). */
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
int	 statefile_write_pos(const char *path, const struct lc_pos *,
	    char *err, size_t errlen);
/* Same returns as statefile_read_last_run(); pos is empty unless 0. */
int	 statefile_read_pos(const char *path, struct lc_pos *, char *err,
	    size_t errlen);

#endif
