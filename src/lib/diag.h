/*
 * diag: the caller-owned error record that config loaders fill.
 *
 * Loaders never print. They append problems here as FILE:LINE: message
 * (git-style wording: lower case, no full stop, the subject quoted) and the
 * caller decides whether to print, log or record them. A diag owns its
 * strings; diag_release() frees them.
 */
#ifndef KEEPER_DIAG_H
#define KEEPER_DIAG_H

#include <stddef.h>

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag_item {
	enum diag_level	 level;
	char		*file;
	size_t		 line;		/* 0 when the problem has no line */
	char		*msg;
};

struct diag {
	struct diag_item *items;
	size_t		  n;
	size_t		  nerrors;
};

void	 diag_add(struct diag *, enum diag_level, const char *file,
	    size_t line, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
#define diag_err(d, f, l, ...)	diag_add((d), DIAG_ERROR, (f), (l), __VA_ARGS__)
#define diag_warn(d, f, l, ...)	diag_add((d), DIAG_WARNING, (f), (l), __VA_ARGS__)
/* "FILE:LINE: message" ("warning: " after the location for warnings). */
char	*diag_format(const struct diag_item *);
/* The first error formatted, or NULL when there is none; caller frees. */
char	*diag_first_error(const struct diag *);
void	 diag_release(struct diag *);

#endif
