/*
 * cfg: small helpers shared by the config models (crew, lcspec, def):
 * reading a config file with a size limit, the name, integer and boolean
 * rules, PCRE2 pattern checks, and the lists of standard org keywords and
 * properties that keeper passes over without a warning.
 *
 * Nothing here prints; problems go to the caller's diag.
 */
#ifndef KEEPER_CFG_H
#define KEEPER_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Config files larger than this are refused rather than read: no real
 * config comes near it, and parsing a hostile one costs memory in
 * proportion (some 200 bytes per heading). */
#define CFG_MAX_BYTES	(4u * 1024 * 1024)

/* Read a config file. NULL with an error in d when it cannot be read, is a
 * directory or is too large; the caller frees the buffer. */
char	*cfg_read(const char *path, size_t *len, struct diag *d);
/* 1 when name matches [A-Za-z0-9._-]+, is shorter than max, and is safe as
 * a file name and git ref component (no leading '.' or '-', no "..", no
 * trailing '.' or ".lock"). */
int	 cfg_name_ok(const char *name, size_t max);
/* Decimal integer in [min, max], surrounding white space allowed. */
int	 cfg_int(const char *s, long min, long max, long *out);
/* "t" -> 1, "nil" or "" -> 0, else -1. Case-insensitive. */
int	 cfg_bool(const char *s);
/* Compile a PCRE2 pattern the way redaction does. 0 if it compiles, else
 * -1 with a message in err. Empty-matching patterns are refused when
 * nonempty is set (a redaction that matches nothing would fire everywhere). */
int	 cfg_regex_check(const char *pat, int nonempty, char *err, size_t len);
/* PATH resolved against DIR ("." leaves it as written); caller frees. */
char	*cfg_resolve(const char *dir, const char *path);
/* Make room for element n of an array of n elements of size sz that has
 * been grown only by this function: capacity doubles at powers of two,
 * so appending stays linear however long the array gets. */
void	*cfg_grow(void *array, size_t n, size_t sz);
/* A NUL-terminated copy of len bytes at s (NULL s gives ""). */
char	*cfg_strn(const char *s, size_t len);
/* Standard org keywords/properties keeper does not use but tolerates. */
int	 cfg_org_keyword(const char *key);
int	 cfg_org_property(const char *key);

#endif
