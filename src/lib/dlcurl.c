/*
 * dlcurl: see dlcurl.h. The soname is the one Debian's libcurl4 ships
 * (libcurl4-openssl-dev's libcurl.so points at it); curl has kept ABI 4
 * since 2006.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dlcurl.h"

#define DLCURL_SONAME	"libcurl.so.4"

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static struct dlcurl	 lib;
static const struct dlcurl *loaded;
static char		 why[256];

/* dlsym() into a function pointer: the POSIX-blessed copy through void *. */
#define SYM(field, name) do {						\
	void *p_ = dlsym(h, name);					\
	if (p_ == NULL) {						\
		snprintf(why, sizeof(why), "%s: no symbol %s",		\
		    DLCURL_SONAME, name);				\
		return;							\
	}								\
	memcpy(&lib.field, &p_, sizeof(p_));				\
} while (0)

static void
load(void)
{
	void *h = dlopen(DLCURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(why, sizeof(why), "cannot load libcurl: %s",
		    dlerror());
		return;
	}
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(getdate, "curl_getdate");
	if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, sizeof(why), "cannot initialise libcurl");
		return;
	}
	loaded = &lib;		/* the handle stays open for the process */
}

const struct dlcurl *
dlcurl_get(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (loaded == NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return loaded;
}
