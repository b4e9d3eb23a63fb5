/*
 * dlcurl: libcurl, opened the first time something needs it.
 *
 * The def interpreter runs in a fresh process every tick. Linked against
 * libcurl it paid 6.4 ms of its 9.3 ms CPU loading curl's TLS, LDAP and
 * IDN libraries even when no step talks HTTP (perf stat, bench/core.sh).
 * Only an llm step pays for them now. keeper itself links libcurl for
 * alerts; there dlopen() finds the copy already mapped.
 */
#ifndef KEEPER_DLCURL_H
#define KEEPER_DLCURL_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

struct dlcurl {
	CURLcode	 (*global_init)(long);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char	*(*easy_strerror)(CURLcode);
	void		 (*easy_cleanup)(CURL *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
	time_t		 (*getdate)(const char *, const time_t *);
};

/* The library, opened and initialised once (thread-safe), or NULL with
 * the reason in err (err may be NULL). */
const struct dlcurl *dlcurl_get(char *err, size_t errlen);

#endif
