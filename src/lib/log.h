/*
 * log: one line per event on stderr, logfmt style
 * (`level=info agent=wren event=tick outcome=done dur_ms=812`).
 *
 * Quiet by default (warnings and errors, plus info); log_verbose(1) turns
 * on debug. fatal()/fatalx() are for start-up and broken invariants only.
 */
#ifndef KEEPER_LOG_H
#define KEEPER_LOG_H

/* journal_stream: $JOURNAL_STREAM, to tell whether stderr is the journal
 * (lines then carry their priority); NULL when unset. */
void	log_init(int verbose, const char *journal_stream);
/*
 * A logfmt value: VALUE as is when it is a plain token, else in double
 * quotes with \" \\ \n \t escaped ("" for NULL or empty). The result
 * lives in a small per-thread ring, valid for the next 8 calls, so
 * several may appear in one log_*() call:
 *	log_info("agent=%s event=error error=%s", name, log_qv(msg));
 */
const char *log_qv(const char *value);
/* Append " KEY=VALUE" (VALUE quoted as by log_qv) to a line being built. */
struct sb;
void	log_kv(struct sb *, const char *key, const char *value);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
