/*
 * size: byte sizes as written in keeper's org files (keeper-crew(5),
 * #+MAX-COMMIT-SIZE:): 50MB, 1GB, 512k, a bare integer meaning bytes, or
 * none. Pure functions, no allocation.
 */
#ifndef KEEPER_SIZE_H
#define KEEPER_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parse s (surrounding white space allowed) into *bytes; "none" gives 0,
 * meaning no limit. 0 on success, -1 when s is not a size (empty, zero,
 * unknown unit, a fraction, overflow). */
int	 size_parse(const char *s, int64_t *bytes);
/* A short human form of bytes ("200 MB", "512 kB", "17 bytes") into buf,
 * in the same powers of 1024 size_parse() reads; returns buf. */
char	*size_format(int64_t bytes, char *buf, size_t len);

#endif
