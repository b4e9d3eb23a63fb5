/*
 * etcd: a small client of etcd v3's JSON gateway (the HTTP/JSON face of
 * its gRPC API, `/v3/...`), over libcurl and jansson: leases, keys, one
 * transaction shape (create a key only if nobody holds it) and watches.
 * It is what several keepers sharing a crew use to agree on who is
 * active (SPEC §12); keeper needs no other consensus.
 *
 * Keys and values travel base64-encoded and 64-bit numbers as JSON
 * strings, as the gateway does; this module hides both.
 *
 * Blocking: call from a thread of its own, never the loop. One handle is
 * used by one thread at a time; a watch takes a handle of its own.
 * Several endpoints may be given: a call that cannot reach one tries the
 * next, and the one that answered is tried first next time.
 *
 * Errors: functions return 0, or -1 with a one-line reason in the
 * caller's buffer ("etcd http://127.0.0.1:2379: connection refused").
 *
 * Ownership: etcd_new() allocates, etcd_free() releases. struct etcd_kv
 * owns its strings until etcd_kv_release(); callbacks get borrowed ones,
 * valid for the call.
 */
#ifndef KEEPER_ETCD_H
#define KEEPER_ETCD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct etcd;

struct etcd_kv {
	char		*key;
	char		*value;		/* NUL-terminated; vlen its length */
	size_t		 vlen;
	int64_t		 create_rev;
	int64_t		 mod_rev;
	int64_t		 lease;		/* 0 when none */
};

enum etcd_event_type { ETCD_PUT, ETCD_DELETE };

struct etcd_event {
	enum etcd_event_type	 type;
	const struct etcd_kv	*kv;
};

/* urls: "http://host:2379" or several, comma-separated; timeout_ms bounds
 * each request (not a watch). NULL with err when urls has none. */
struct etcd	*etcd_new(const char *urls, long timeout_ms, char *err,
		    size_t errlen);
void		 etcd_free(struct etcd *);
/* The endpoint the last call reached. */
const char	*etcd_endpoint(const struct etcd *);

/* A lease of ttl seconds: its id, and the TTL etcd granted. */
int	 etcd_grant(struct etcd *, int64_t ttl_s, int64_t *id, int64_t *ttl,
	    char *err, size_t errlen);
/* Renew; *ttl gets the seconds left, 0 when the lease had expired. */
int	 etcd_keepalive(struct etcd *, int64_t id, int64_t *ttl, char *err,
	    size_t errlen);
int	 etcd_revoke(struct etcd *, int64_t id, char *err, size_t errlen);

/* Put key = value (vlen bytes), attached to lease (0: none). */
int	 etcd_put(struct etcd *, const char *key, const void *value,
	    size_t vlen, int64_t lease, char *err, size_t errlen);
/* key's entry into *kv (*found 0 and kv zeroed when absent); *rev (may
 * be NULL) the store's revision at the read. */
int	 etcd_get(struct etcd *, const char *key, struct etcd_kv *kv,
	    int *found, int64_t *rev, char *err, size_t errlen);
/* Every key under prefix, in key order, to cb. */
int	 etcd_get_prefix(struct etcd *, const char *prefix,
	    void (*cb)(const struct etcd_kv *, void *), void *arg,
	    int64_t *rev, char *err, size_t errlen);
int	 etcd_delete(struct etcd *, const char *key, char *err,
	    size_t errlen);
/*
 * Create key = value on lease only if the key does not exist (a
 * transaction comparing its create revision with 0). *created says
 * whether it did; when not, *holder (may be NULL) gets the entry that
 * stood in the way. *rev (may be NULL) is the store's revision after the
 * transaction: the created key's create revision when it did.
 */
int	 etcd_create(struct etcd *, const char *key, const void *value,
	    size_t vlen, int64_t lease, int *created, struct etcd_kv *holder,
	    int64_t *rev, char *err, size_t errlen);

/* Put key = value only while guard exists with create revision
 * guard_rev (a fencing token: the leader key as its holder created it).
 * *done says whether it did. */
int	 etcd_put_if(struct etcd *, const char *guard, int64_t guard_rev,
	    const char *key, const void *value, size_t vlen, int *done,
	    char *err, size_t errlen);

/*
 * Watch key (prefix: every key under it) from revision start_rev (0: from
 * now): cb gets each event, and the watch ends when cb returns non-zero,
 * when *stop becomes non-zero (checked about every 100 ms), or on an
 * error. 0 when stopped (by cb or stop), -1 with err otherwise.
 */
int	 etcd_watch(struct etcd *, const char *key, int prefix,
	    int64_t start_rev, int (*cb)(const struct etcd_event *, void *),
	    void *arg, const _Atomic int *stop, char *err, size_t errlen);

void	 etcd_kv_release(struct etcd_kv *);

#endif
