/*
 * util: allocation that never returns NULL, a growable string buffer, and
 * small helpers (strings, files, clocks, spawn attributes) shared by every
 * module.
 *
 * Out of memory is decided once, here: x*alloc() print a message and abort.
 * Everything returned by x*() and sb_detach() is owned by the caller and
 * released with free().
 */
#ifndef KEEPER_UTIL_H
#define KEEPER_UTIL_H

#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A growable NUL-terminated byte buffer. Zero-initialised is empty. */
struct sb {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};
void	 sb_add(struct sb *, const void *, size_t);
void	 sb_adds(struct sb *, const char *);
void	 sb_addc(struct sb *, char);
void	 sb_addf(struct sb *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 sb_vaddf(struct sb *, const char *, va_list);
void	 sb_reset(struct sb *);
char	*sb_detach(struct sb *);	/* returns buf ("" if empty), sb is reset */
void	 sb_release(struct sb *);

/* Free a NULL-terminated vector of strings and the strings; NULL is fine. */
void	 util_strv_free(char **);

/* Read a whole file; *len gets its size. NULL with errno set on failure. */
char	*util_read_file(const char *path, size_t *len);
/* Directory part of path ("." when none); caller frees. */
char	*util_dirname(const char *path);
/* PATH resolved against the directory BASE unless absolute; caller frees. */
char	*util_resolve(const char *base, const char *path);

/* posix_spawn attributes for a child that leads a new session, with an
 * empty signal mask and every signal at its default; destroy when done. */
void	 util_spawnattr_session(posix_spawnattr_t *);

/* Wall clock in milliseconds since the epoch, and a monotonic clock. */
int64_t	 util_now_ms(void);
int64_t	 util_mono_ms(void);

#endif
