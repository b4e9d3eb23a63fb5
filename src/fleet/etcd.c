/*
 * etcd: the v3 JSON gateway client (see etcd.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base64.h"
#include "etcd.h"
#include "util.h"

#define ETCD_MAX_URLS	8
#define ETCD_MAX_REPLY	(16u << 20)	/* a bigger answer is an error */

struct etcd {
	char		*urls[ETCD_MAX_URLS];
	size_t		 nurls;
	size_t		 cur;		/* the one that answered last */
	long		 timeout_ms;
	CURL		*c;		/* reused: keeps the connection */
};

struct etcd *
etcd_new(const char *urls, long timeout_ms, char *err, size_t errlen)
{
	struct etcd *e = xcalloc(1, sizeof(*e));
	char *copy = xstrdup(urls ? urls : ""), *save = NULL, *u;
	size_t n;

	for (u = strtok_r(copy, ", ", &save); u && e->nurls < ETCD_MAX_URLS;
	    u = strtok_r(NULL, ", ", &save)) {
		n = strlen(u);
		while (n > 0 && u[n - 1] == '/')
			u[--n] = '\0';
		if (n > 0)
			e->urls[e->nurls++] = xstrdup(u);
	}
	free(copy);
	if (e->nurls == 0) {
		snprintf(err, errlen, "no etcd endpoint in '%s'", urls ?
		    urls : "");
		free(e);
		return NULL;
	}
	e->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return e;
}

void
etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->nurls; i++)
		free(e->urls[i]);
	if (e->c)
		curl_easy_cleanup(e->c);
	free(e);
}

const char *
etcd_endpoint(const struct etcd *e)
{
	return e->urls[e->cur];
}

void
etcd_kv_release(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* ---- JSON and base64 ---- */

static char *
b64(const void *p, size_t n)
{
	struct sb b = { 0 };

	base64_encode_sb(&b, p, n);
	return sb_detach(&b);
}

/* The gateway sends int64 as strings (and sometimes as numbers). */
static int64_t
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

static char *
b64field(json_t *o, const char *k, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, k));
	char *d;

	if (s == NULL) {
		if (len)
			*len = 0;
		return xstrdup("");
	}
	if ((d = base64_decode(s, strlen(s), len)) == NULL) {
		if (len)
			*len = 0;
		return xstrdup("");
	}
	return d;
}

static void
kv_from(json_t *o, struct etcd_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	kv->key = b64field(o, "key", NULL);
	kv->value = b64field(o, "value", &kv->vlen);
	kv->create_rev = jint(o, "create_revision");
	kv->mod_rev = jint(o, "mod_revision");
	kv->lease = jint(o, "lease");
}

/* The end of the range of keys that start with prefix: prefix with its
 * last byte that can be incremented incremented ("\0": every key). */
static char *
prefix_end(const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);
	char *e = xstrndup(prefix, n);

	while (n > 0 && (unsigned char)e[n - 1] == 0xff)
		n--;
	if (n == 0) {
		e[0] = '\0';
		*len = 1;
		return e;
	}
	e[n - 1]++;
	*len = n;
	return e;
}

/* ---- requests ---- */

struct body {
	struct sb	 sb;
	int		 too_big;
};

static size_t
collect(char *p, size_t sz, size_t n, void *arg)
{
	struct body *b = arg;

	if (b->sb.len + sz * n > ETCD_MAX_REPLY) {
		b->too_big = 1;
		return 0;
	}
	sb_add(&b->sb, p, sz * n);
	return sz * n;
}

/* POST body to path on each endpoint in turn, from the last good one;
 * *out gets the parsed answer. A server that answers with an error
 * (HTTP 4xx/5xx, etcd's {"error"}) is not retried elsewhere. */
static int
post(struct etcd *e, const char *path, json_t *req, json_t **out, char *err,
    size_t errlen)
{
	char *data = json_dumps(req, JSON_COMPACT), *url = NULL;
	struct curl_slist *h = curl_slist_append(NULL,
	    "Content-Type: application/json");
	struct body b;
	json_error_t je;
	CURLcode rc = CURLE_OK;
	long code = 0;
	int ret = -1;

	memset(&b, 0, sizeof(b));
	*out = NULL;
	if (e->c == NULL && (e->c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "etcd: cannot start an HTTP client");
		goto done;
	}
	for (size_t k = 0; k < e->nurls; k++) {
		size_t i = (e->cur + k) % e->nurls;

		free(url);
		url = xasprintf("%s%s", e->urls[i], path);
		sb_reset(&b.sb);
		b.too_big = 0;
		curl_easy_reset(e->c);
		curl_easy_setopt(e->c, CURLOPT_URL, url);
		curl_easy_setopt(e->c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e->c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(e->c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e->c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
		curl_easy_setopt(e->c, CURLOPT_CONNECTTIMEOUT_MS,
		    e->timeout_ms);
		curl_easy_setopt(e->c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(e->c, CURLOPT_WRITEDATA, &b);
		if ((rc = curl_easy_perform(e->c)) != CURLE_OK)
			continue;
		e->cur = i;
		curl_easy_getinfo(e->c, CURLINFO_RESPONSE_CODE, &code);
		*out = json_loadb(b.sb.buf ? b.sb.buf : "", b.sb.len, 0, &je);
		if (*out == NULL || !json_is_object(*out)) {
			snprintf(err, errlen, "etcd %s: HTTP %ld, not JSON",
			    e->urls[i], code);
			json_decref(*out);
			*out = NULL;
			goto done;
		}
		if (code >= 300 || json_object_get(*out, "error") != NULL) {
			const char *m = json_string_value(json_object_get(*out,
			    "message"));

			if (m == NULL)
				m = json_string_value(json_object_get(*out,
				    "error"));
			snprintf(err, errlen, "etcd %s: HTTP %ld: %s",
			    e->urls[i], code, m ? m : "error");
			json_decref(*out);
			*out = NULL;
			goto done;
		}
		ret = 0;
		goto done;
	}
	snprintf(err, errlen, "etcd %s: %s", e->urls[(e->cur + e->nurls - 1) %
	    e->nurls], b.too_big ? "answer too large" :
	    curl_easy_strerror(rc));
done:
	curl_slist_free_all(h);
	sb_release(&b.sb);
	free(url);
	free(data);
	return ret;
}

int
etcd_grant(struct etcd *e, int64_t ttl_s, int64_t *id, int64_t *ttl,
    char *err, size_t errlen)
{
	json_t *req = json_pack("{s:I}", "TTL", (json_int_t)ttl_s), *r;
	int rc = post(e, "/v3/lease/grant", req, &r, err, errlen);

	json_decref(req);
	if (rc != 0)
		return -1;
	*id = jint(r, "ID");
	if (ttl)
		*ttl = jint(r, "TTL");
	json_decref(r);
	if (*id == 0) {
		snprintf(err, errlen, "etcd %s: granted no lease",
		    etcd_endpoint(e));
		return -1;
	}
	return 0;
}

int
etcd_keepalive(struct etcd *e, int64_t id, int64_t *ttl, char *err,
    size_t errlen)
{
	char ids[32];
	json_t *req, *r, *res;
	int rc;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	req = json_pack("{s:s}", "ID", ids);
	rc = post(e, "/v3/lease/keepalive", req, &r, err, errlen);
	json_decref(req);
	if (rc != 0)
		return -1;
	/* A unary call through the gateway: {"result": {...}}. */
	res = json_object_get(r, "result");
	*ttl = jint(res ? res : r, "TTL");
	json_decref(r);
	return 0;
}

int
etcd_revoke(struct etcd *e, int64_t id, char *err, size_t errlen)
{
	char ids[32];
	json_t *req, *r;
	int rc;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	req = json_pack("{s:s}", "ID", ids);
	rc = post(e, "/v3/lease/revoke", req, &r, err, errlen);
	json_decref(req);
	json_decref(r);
	return rc;
}

static json_t *
put_req(const char *key, const void *value, size_t vlen, int64_t lease)
{
	char *k = b64(key, strlen(key)), *v = b64(value, vlen), ls[32];
	json_t *o = json_pack("{s:s, s:s}", "key", k, "value", v);

	if (lease != 0) {
		snprintf(ls, sizeof(ls), "%" PRId64, lease);
		json_object_set_new(o, "lease", json_string(ls));
	}
	free(k);
	free(v);
	return o;
}

int
etcd_put(struct etcd *e, const char *key, const void *value, size_t vlen,
    int64_t lease, char *err, size_t errlen)
{
	json_t *req = put_req(key, value, vlen, lease), *r;
	int rc = post(e, "/v3/kv/put", req, &r, err, errlen);

	json_decref(req);
	json_decref(r);
	return rc;
}

static int64_t
header_rev(json_t *r)
{
	return jint(json_object_get(r, "header"), "revision");
}

int
etcd_get(struct etcd *e, const char *key, struct etcd_kv *kv, int *found,
    int64_t *rev, char *err, size_t errlen)
{
	char *k = b64(key, strlen(key));
	json_t *req = json_pack("{s:s}", "key", k), *r, *kvs;
	int rc = post(e, "/v3/kv/range", req, &r, err, errlen);

	free(k);
	json_decref(req);
	memset(kv, 0, sizeof(*kv));
	*found = 0;
	if (rc != 0)
		return -1;
	kvs = json_object_get(r, "kvs");
	if (json_array_size(kvs) > 0) {
		kv_from(json_array_get(kvs, 0), kv);
		*found = 1;
	}
	if (rev)
		*rev = header_rev(r);
	json_decref(r);
	return 0;
}

int
etcd_get_prefix(struct etcd *e, const char *prefix,
    void (*cb)(const struct etcd_kv *, void *), void *arg, int64_t *rev,
    char *err, size_t errlen)
{
	size_t elen;
	char *end = prefix_end(prefix, &elen);
	char *k = b64(prefix, strlen(prefix)), *ke = b64(end, elen);
	json_t *req = json_pack("{s:s, s:s}", "key", k, "range_end", ke), *r;
	json_t *kvs, *it;
	struct etcd_kv kv;
	size_t i;
	int rc = post(e, "/v3/kv/range", req, &r, err, errlen);

	free(end);
	free(k);
	free(ke);
	json_decref(req);
	if (rc != 0)
		return -1;
	kvs = json_object_get(r, "kvs");
	json_array_foreach(kvs, i, it) {
		kv_from(it, &kv);
		cb(&kv, arg);
		etcd_kv_release(&kv);
	}
	if (rev)
		*rev = header_rev(r);
	json_decref(r);
	return 0;
}

int
etcd_delete(struct etcd *e, const char *key, char *err, size_t errlen)
{
	char *k = b64(key, strlen(key));
	json_t *req = json_pack("{s:s}", "key", k), *r;
	int rc = post(e, "/v3/kv/deleterange", req, &r, err, errlen);

	free(k);
	json_decref(req);
	json_decref(r);
	return rc;
}

int
etcd_create(struct etcd *e, const char *key, const void *value, size_t vlen,
    int64_t lease, int *created, struct etcd_kv *holder, int64_t *rev,
    char *err, size_t errlen)
{
	char *k = b64(key, strlen(key));
	json_t *req, *r, *resp, *kvs;
	int rc;

	req = json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:o}], s:[{s:{s:s}}]}",
	    "compare", "target", "CREATE", "result", "EQUAL", "key", k,
	    "createRevision", "0",
	    "success", "requestPut", put_req(key, value, vlen, lease),
	    "failure", "requestRange", "key", k);
	free(k);
	rc = post(e, "/v3/kv/txn", req, &r, err, errlen);
	json_decref(req);
	if (holder)
		memset(holder, 0, sizeof(*holder));
	*created = 0;
	if (rc != 0)
		return -1;
	*created = json_is_true(json_object_get(r, "succeeded"));
	if (rev)
		*rev = header_rev(r);
	if (!*created && holder != NULL) {
		resp = json_array_get(json_object_get(r, "responses"), 0);
		kvs = json_object_get(json_object_get(resp, "response_range"),
		    "kvs");
		if (json_array_size(kvs) > 0)
			kv_from(json_array_get(kvs, 0), holder);
	}
	json_decref(r);
	return 0;
}

int
etcd_put_if(struct etcd *e, const char *guard, int64_t guard_rev,
    const char *key, const void *value, size_t vlen, int *done, char *err,
    size_t errlen)
{
	char *g = b64(guard, strlen(guard)), rev[32];
	json_t *req, *r;
	int rc;

	snprintf(rev, sizeof(rev), "%" PRId64, guard_rev);
	req = json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:o}]}",
	    "compare", "target", "CREATE", "result", "EQUAL", "key", g,
	    "createRevision", rev,
	    "success", "requestPut", put_req(key, value, vlen, 0));
	free(g);
	rc = post(e, "/v3/kv/txn", req, &r, err, errlen);
	json_decref(req);
	*done = 0;
	if (rc != 0)
		return -1;
	*done = json_is_true(json_object_get(r, "succeeded"));
	json_decref(r);
	return 0;
}

/* ---- watch ---- */

struct watch {
	struct sb	 line;
	int		(*cb)(const struct etcd_event *, void *);
	void		*arg;
	const _Atomic int *stop;
	int		 stopped;	/* by cb or stop */
	int		 created;
	char		 err[256];
};

/* One JSON object of the stream: {"result": {"events": [...]}}. */
static int
watch_object(struct watch *w, const char *s, size_t n)
{
	json_error_t je;
	json_t *o = json_loadb(s, n, 0, &je), *res, *evs, *ev;
	struct etcd_event e;
	struct etcd_kv kv;
	size_t i;
	int stop = 0;

	if (o == NULL)
		return 0;
	res = json_object_get(o, "result");
	if (res == NULL && json_object_get(o, "error") != NULL) {
		const char *m = json_string_value(json_object_get(
		    json_object_get(o, "error"), "message"));

		snprintf(w->err, sizeof(w->err), "watch: %s", m ? m : "error");
		json_decref(o);
		return -1;
	}
	if (json_is_true(json_object_get(res, "created")))
		w->created = 1;
	if (json_is_true(json_object_get(res, "canceled"))) {
		const char *m = json_string_value(json_object_get(res,
		    "cancel_reason"));

		snprintf(w->err, sizeof(w->err), "watch canceled: %s",
		    m ? m : "compacted");
		json_decref(o);
		return -1;
	}
	evs = json_object_get(res, "events");
	json_array_foreach(evs, i, ev) {
		const char *t = json_string_value(json_object_get(ev, "type"));

		kv_from(json_object_get(ev, "kv"), &kv);
		e.type = t && strcmp(t, "DELETE") == 0 ? ETCD_DELETE : ETCD_PUT;
		e.kv = &kv;
		if (!stop && w->cb(&e, w->arg) != 0)
			stop = 1;
		etcd_kv_release(&kv);
	}
	json_decref(o);
	if (stop) {
		w->stopped = 1;
		return -1;
	}
	return 0;
}

/* The stream is JSON objects, one a line. */
static size_t
watch_data(char *p, size_t sz, size_t n, void *arg)
{
	struct watch *w = arg;
	size_t len = sz * n;
	char *nl;

	sb_add(&w->line, p, len);
	while (w->line.len > 0 && (nl = memchr(w->line.buf, '\n',
	    w->line.len)) != NULL) {
		size_t k = (size_t)(nl - w->line.buf);

		if (watch_object(w, w->line.buf, k) != 0)
			return 0;	/* aborts the transfer */
		memmove(w->line.buf, nl + 1, w->line.len - k - 1);
		w->line.len -= k + 1;
		w->line.buf[w->line.len] = '\0';
	}
	if (w->line.len > ETCD_MAX_REPLY)
		return 0;
	return len;
}

static int
watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	struct watch *w = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (w->stop != NULL && *w->stop) {
		w->stopped = 1;
		return 1;
	}
	return 0;
}

int
etcd_watch(struct etcd *e, const char *key, int prefix, int64_t start_rev,
    int (*cb)(const struct etcd_event *, void *), void *arg,
    const _Atomic int *stop, char *err, size_t errlen)
{
	struct watch w = { .cb = cb, .arg = arg, .stop = stop };
	struct curl_slist *h = curl_slist_append(NULL,
	    "Content-Type: application/json");
	char *k = b64(key, strlen(key)), *end = NULL, *ke = NULL, *data, *url;
	char rev[32];
	json_t *cr = json_pack("{s:s}", "key", k), *req;
	CURL *c;
	CURLcode rc;
	size_t elen;
	int ret = -1;

	if (prefix) {
		end = prefix_end(key, &elen);
		ke = b64(end, elen);
		json_object_set_new(cr, "range_end", json_string(ke));
	}
	if (start_rev > 0) {
		snprintf(rev, sizeof(rev), "%" PRId64, start_rev);
		json_object_set_new(cr, "start_revision", json_string(rev));
	}
	req = json_pack("{s:o}", "create_request", cr);
	data = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	url = xasprintf("%s/v3/watch", etcd_endpoint(e));
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "etcd: cannot start an HTTP client");
		goto done;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	/* A quiet watch is not a dead one; a dead peer is found by the
	 * lease's own keep-alives. TCP keep-alive notices a vanished host. */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (w.stopped)
		ret = 0;
	else if (w.err[0])
		snprintf(err, errlen, "etcd %s: %s", etcd_endpoint(e), w.err);
	else
		snprintf(err, errlen, "etcd %s: watch ended: %s",
		    etcd_endpoint(e), rc == CURLE_OK ? "the server closed it" :
		    curl_easy_strerror(rc));
done:
	curl_slist_free_all(h);
	sb_release(&w.line);
	free(url);
	free(data);
	free(k);
	free(end);
	free(ke);
	return ret;
}
