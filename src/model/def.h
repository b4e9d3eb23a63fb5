/*
 * def: the agent def model (SPEC §6, keeper-agent(5)). An agent def is an
 * org file whose src blocks, in document order, are its steps; the heading
 * above a block names the step.
 *
 * Ownership: def_load()/def_parse() allocate; def_free() releases all.
 */
#ifndef KEEPER_DEF_H
#define KEEPER_DEF_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum def_lang { DEF_SH, DEF_BASH, DEF_LLM };

struct def_arg {			/* one org-babel header argument */
	char	*key;			/* without the colon: "timeout" */
	char	*value;			/* "" when given without a value */
};

struct def_step {
	char		*name;		/* heading title above the block */
	size_t		 line;		/* of the #+BEGIN_SRC line */
	enum def_lang	 lang;
	char		*body;		/* unescaped block contents */
	struct def_arg	*args;
	size_t		 nargs;
	int64_t		 timeout_ms;	/* :timeout, 0 = only the run's */
	char		*dir;		/* :dir, as written, or NULL */
	char		*model;		/* llm :model, or NULL */
	char		*system;	/* llm :system, or NULL */
};

struct agent_def {
	char		*path;
	char		*title;		/* #+TITLE:, or NULL */
	char		*model;		/* #+MODEL:, or NULL */
	char		*system;	/* #+SYSTEM:, or NULL */
	struct def_step	*steps;
	size_t		 nsteps;
};

int	 def_load(const char *path, struct agent_def **out, struct diag *d);
int	 def_parse(const char *path, const char *buf, size_t len,
	    struct agent_def **out, struct diag *d);
const char *def_arg(const struct def_step *, const char *key); /* or NULL */
void	 def_free(struct agent_def *);

#endif
