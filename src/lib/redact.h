/*
 * redact: replace credentials with [REDACTED] in everything keeper stores
 * or publishes (SPEC §11). Built-in patterns plus a crew's #+REDACT: lines,
 * PCRE2, compiled once (JIT where available).
 *
 * A redactor is immutable after redact_new() and safe to share between
 * threads (each call uses its own match data). Ownership: redact_new()
 * returns it with one reference; redact_ref() takes another (the render
 * thread keeps the one it renders with while the loop swaps in a new
 * crew's), and redact_free() drops one, freeing it with the last.
 * redact_apply() returns a malloc'd string the caller frees.
 */
#ifndef KEEPER_REDACT_H
#define KEEPER_REDACT_H

#include <stddef.h>

struct redactor;

/* extra: the crew's own patterns (may be NULL/0). NULL with a message in
 * err naming the bad pattern when one does not compile. */
struct redactor	*redact_new(const char *const *extra, size_t nextra,
		    char *err, size_t errlen);
/* text with every match replaced; *outlen (if not NULL) gets its length.
 * A NULL redactor applies the built-in patterns only. */
char		*redact_apply(const struct redactor *, const char *text,
		    size_t len, size_t *outlen);
struct redactor	*redact_ref(struct redactor *);	/* NULL is fine */
void		 redact_free(struct redactor *);
/* Compile the built-ins now rather than on first use, so processes forked
 * later (the zygote's runs) inherit them compiled. */
void		 redact_warm(void);

#endif
