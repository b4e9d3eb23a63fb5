/*
 * llm: one chat-completions request to an OpenAI-compatible endpoint
 * through libcurl (SPEC §6), with bounded retries.
 *
 * Blocking: call it from the def interpreter (a child process) or a worker
 * thread, never from the event loop. Ownership: the request's strings are
 * borrowed; the reply's content is malloc'd and freed by
 * llm_reply_release().
 *
 * Threads: libcurl is opened and set up once, on first use, under a
 * pthread_once (dlcurl.h); llm_global_init() does it early and says
 * whether it worked. llm_chat() may run in several threads at once, each
 * call using its own curl handle.
 */
#ifndef KEEPER_LLM_H
#define KEEPER_LLM_H

#include <stddef.h>
#include <stdint.h>

struct llm_request {
	const char	*url;		/* full .../chat/completions, or a base
					   URL such as .../v1 */
	const char	*key;		/* Bearer token, or NULL */
	const char	*model;
	const char	*system;	/* system prompt, or NULL */
	const char	*prompt;	/* the user message */
	int64_t		 timeout_ms;	/* whole call incl. retries, > 0 */
	/* Told before each wait for another attempt, with the words of it
	 * ("HTTP 500 from HOST, try 3 in 4s"); may be NULL. */
	void		(*on_retry)(void *arg, const char *text);
	void		*retry_arg;
};

struct llm_reply {
	char		*content;	/* choices[0].message.content */
	long		 prompt_tokens;	/* -1 when the reply had no usage */
	long		 completion_tokens;
	long		 total_tokens;
	long		 http_status;	/* of the last attempt */
	int		 attempts;
	/* On failure, the endpoint's answer in the words history keeps
	 * (SPEC §6): "HTTP 500 from HOST after 3 tries: MESSAGE", "cannot
	 * reach HOST after 2 tries: ...", "timed out after 2m waiting for
	 * HOST (...)"; "" on success. */
	char		 why[512];
};

/* 0 with reply filled, or -1 with a one-line reason in err ("llm: ...").
 * On failure the reply's content is NULL but http_status and attempts
 * say how far the call got; llm_reply_release() is safe either way. */
int	llm_chat(const struct llm_request *, struct llm_reply *,
	    char *err, size_t errlen);
void	llm_reply_release(struct llm_reply *);
/* libcurl's global initialisation, once; 0 or -1. llm_chat() calls it
 * too, but only a call from main() before threads start is safe. */
int	llm_global_init(void);

/*
 * The pure parts of a call, exposed for tests and for callers that want
 * to check a configuration early.
 */
#define LLM_MAX_REPLY	(8u << 20)	/* a bigger reply body is an error */

/* The URL a request goes to: URL itself when its path already ends in
 * /chat/completions, else URL with trailing slashes dropped and
 * /chat/completions appended (a query string stays at the end). */
char	*llm_endpoint(const char *url);
/* The request body {"model","messages":[system?, user]}, compact JSON;
 * invalid UTF-8 becomes U+FFFD; model and system are left out when NULL
 * or empty. Caller frees. */
char	*llm_request_body(const char *model, const char *system,
	    const char *prompt);
/* Parse a 2xx reply body into reply (content and usage). 0, or -1 with
 * "llm: reply is not JSON" / "llm: reply has no
 * choices[0].message.content" in err. */
int	llm_parse_reply(const char *body, size_t len, struct llm_reply *,
	    char *err, size_t errlen);
/* "HTTP 401: <error.message>" (or the body's first line) for an error
 * reply, one line, bounded, into buf. */
void	llm_error_reason(long status, const char *body, size_t len,
	    char *buf, size_t buflen);
/* The host (and port, when the URL gives one) of url, without user
 * information, into buf: "127.0.0.1:8000", "api.example.com". */
void	llm_url_host(const char *url, char *buf, size_t buflen);
/* A Retry-After value (delay-seconds or HTTP-date) as a wait in ms from
 * now_ms (wall clock, ms since the epoch); -1 when absent or invalid. */
int64_t	llm_retry_after_ms(const char *value, int64_t now_ms);
/* The wait before the next attempt after FAILURES failed ones (>= 1):
 * 500 ms, 1 s, 2 s, ... capped at 30 s. */
int64_t	llm_backoff_ms(int failures);
/* Whether an HTTP status is worth another attempt: 429 and 5xx. */
int	llm_status_retryable(long status);

#endif
