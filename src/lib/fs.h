/*
 * fs: the file-system helpers every layer shares, each written once: the
 * atomic durable file write, its parts (a full write, a directory sync, a
 * swap of two names) for a writer that batches them itself (statesync.c),
 * mkdir -p, a path made absolute and the PATH look-up exec would do. (A
 * file's signature, to notice a change without reading it, is
 * filesig.h's.)
 *
 * Errors: functions return 0 or -1 with errno set; those that take err
 * write a one-line reason there (git-style: lower case, no full stop, the
 * path quoted). fs_which() returns the errno instead.
 *
 * Ownership: fs_absolute() returns a malloc'd string; nothing else here
 * allocates what outlives the call.
 */
#ifndef KEEPER_FS_H
#define KEEPER_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write len bytes at p to fd whole: again after EINTR, waiting in poll()
 * while a non-blocking descriptor (an event pipe) is full. */
int	 fs_write_all(int fd, const void *p, size_t len);

/*
 * Replace path atomically and durably: a temporary file in the same
 * directory (.BASE.tmp.PID.N, so that a leftover from a crash is hidden
 * and never mistaken for a state file), written whole, fsync'd, renamed
 * over path, and the directory fsync'd, so that after a crash path holds
 * the old content or the new, never a torn one. Mode 0644 less the umask,
 * as for a file open(2) makes. On failure the temporary file is gone and
 * path is as it was.
 */
int	 fs_write_atomic(const char *path, const void *buf, size_t len,
	    char *err, size_t errlen);
/* The same for content in pieces: n buffers, one after another. */
struct fs_piece {
	const void	*buf;
	size_t		 len;
};
int	 fs_write_atomicv(const char *path, const struct fs_piece *, size_t n,
	    char *err, size_t errlen);

/* fsync the directory dir: what makes a rename or create in it durable. */
int	 fs_sync_dir(const char *dir);
/* Swap the names from and to (renameat2 RENAME_EXCHANGE), so to gets
 * from's inode and from to's; where that is not supported, or to does
 * not exist yet, rename from over to. */
int	 fs_exchange(const char *from, const char *to);

/* Make dir and any missing parents (mode 0755), as mkdir -p. 0 when it
 * exists as a directory afterwards; else -1 with errno of the first
 * failure. */
int	 fs_mkdir_p(const char *dir);
/* path made absolute against the working directory (as written when that
 * cannot be read). No "." or ".." is resolved and no link followed. */
char	*fs_absolute(const char *path);

/*
 * What execvp(3) would run for prog with path as PATH: prog itself when
 * it holds a '/', else the first executable prog in a directory of path
 * (an empty entry is the working directory; /bin:/usr/bin when path is
 * NULL or empty), into buf. 0, or the errno (ENOENT: none;
 * ENAMETOOLONG). path is the caller's to read (settings.h): fs reads no
 * environment.
 */
int	 fs_which(const char *prog, const char *path, char *buf, size_t len);

#endif
