/*
 * llm: one chat-completions request to an OpenAI-compatible endpoint
 * through libcurl (SPEC §6), with bounded retries.
 *
 * Blocking: call it from the def interpreter (a child process) or a worker
 * thread, never from the event loop. Ownership: the request's strings are
 * borrowed; the reply's content is malloc'd and freed by
 * llm_reply_release().
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
};

struct llm_reply {
	char		*content;	/* choices[0].message.content */
	long		 prompt_tokens;	/* -1 when the reply had no usage */
	long		 completion_tokens;
	long		 total_tokens;
	long		 http_status;	/* of the last attempt */
	int		 attempts;
};

/* 0 with reply filled, or -1 with a one-line reason in err. */
int	llm_chat(const struct llm_request *, struct llm_reply *,
	    char *err, size_t errlen);
void	llm_reply_release(struct llm_reply *);

#endif
