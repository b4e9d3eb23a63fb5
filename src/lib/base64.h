/*
 * base64: RFC 4648's standard alphabet, with padding: what RFC 2047
 * encoded words (alert headers) and etcd's JSON gateway (its keys and
 * values) carry.
 */
#ifndef KEEPER_BASE64_H
#define KEEPER_BASE64_H

#include <stddef.h>

struct sb;

/* Append n bytes at s to sb, encoded. */
void	 base64_encode_sb(struct sb *, const void *s, size_t n);
/* s[0..len) decoded into a new NUL-terminated buffer (*outlen its length,
 * may be NULL), or NULL when s is not padded base64. Caller frees. */
char	*base64_decode(const char *s, size_t len, size_t *outlen);

#endif
