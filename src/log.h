/*
 * log: one line per event on stderr, logfmt style
 * (`level=info agent=wren event=tick outcome=done dur_ms=812`).
 *
 * Quiet by default (warnings and errors, plus info); log_verbose(1) turns
 * on debug. fatal()/fatalx() are for start-up and broken invariants only.
 */
#ifndef KEEPER_LOG_H
#define KEEPER_LOG_H

void	log_init(int verbose);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
