/*
 * proc: other processes as Linux's /proc shows them, read in one place:
 * every process, the children and live descendants of one, the
 * environment of one, and whether one holds a given file open.
 *
 * Everything here is a snapshot that may be stale by the time it returns:
 * processes start and end while /proc is read, and a pid can be reused.
 * Callers act on it only where that is harmless (a kill loop that looks
 * again, a lock removed only after a keeper died holding it). A process
 * we may not look into (another user's, under ptrace rules) reads as
 * having no children, no environment and no open files.
 *
 * Ownership: proc_children() and proc_descendants() return a malloc'd
 * array the caller frees (NULL when empty); proc_environ() fills the
 * caller's buffer.
 */
#ifndef KEEPER_PROC_H
#define KEEPER_PROC_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Call fn for every process in /proc until it returns non-zero. Returns
 * what fn returned last (0 when it never stopped the walk), or -1 with
 * errno when /proc cannot be read. */
int	 proc_each(int (*fn)(pid_t pid, void *arg), void *arg);

/* The children of every thread of pid (/proc/PID/task/TID/children, or
 * where the kernel has none every process's parent), zombies included;
 * their number. */
size_t	 proc_children(pid_t pid, pid_t **out);
/* The children of one thread, tid of process pid (its
 * /proc/PID/task/TID/children; without the children files, proc_children()
 * of pid), zombies included; their number. Cheaper than proc_children()
 * when only that thread's children matter: orphans are handed to a child
 * subreaper's main thread. */
size_t	 proc_thread_children(pid_t pid, pid_t tid, pid_t **out);
/* Every descendant of pid, generation by generation, without zombies
 * (they have exited; their pid only waits for a reaper); their number.
 * From the children files; on a kernel without them, from every
 * process's parent in one walk of /proc. */
size_t	 proc_descendants(pid_t pid, pid_t **out);
/* The state letter of pid (R, S, D, Z, ...; /proc/PID/stat), '\0' when
 * it is gone. */
char	 proc_state(pid_t pid);

/* pid's environment, NUL-separated "NAME=value" strings, into buf (at
 * most size - 1 bytes, then a NUL): the number of bytes, or -1. */
ssize_t	 proc_environ(pid_t pid, char *buf, size_t size);
/* 1 when the environment env[0..len) (as proc_environ() gives it) holds
 * the string kv ("NAME=value") exactly. */
int	 proc_env_has(const char *env, size_t len, const char *kv);

/* 1 when one of pid's descriptors is the file want (same device and
 * inode). */
int	 proc_has_open(pid_t pid, const struct stat *want);

#endif
