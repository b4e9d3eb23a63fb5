/*
 * preflight: the deployment rules the daemon enforces when it starts and
 * `keeper doctor` reports on, written once (SPEC §8):
 *
 *  - which data directory a crew uses: --data, else $KEEPER_DATA, else
 *    $XDG_STATE_HOME/keeper/TITLE, else ~/.local/state/keeper/TITLE; with
 *    none of them (no HOME either) there is no default, rather than one
 *    under /tmp that a reboot or a neighbour may clean;
 *  - whether a data directory inside the tenant work tree is safe: only
 *    when git ignores it (else keeper would commit its own state);
 *  - who holds a data directory's lock.
 *
 * Ownership: returned strings are malloc'd for the caller.
 */
#ifndef KEEPER_PREFLIGHT_H
#define KEEPER_PREFLIGHT_H

#include <stddef.h>

struct settings;

/* The data directory (absolute) for --data opt (NULL: none) and a crew of
 * this title, with the environment's settings; NULL when nothing names
 * one. */
char	*preflight_data_dir(const char *opt, const char *title,
	    const struct settings *);

enum preflight_tree {
	PF_OUTSIDE,		/* not inside the work tree (or no repo) */
	PF_IGNORED,		/* inside, and git ignores it */
	PF_NOT_IGNORED,		/* inside and not ignored: refused */
	PF_IS_TREE		/* the work tree itself: refused */
};

/* Where data stands against the work tree of repo. *rel (may be NULL)
 * gets data's path relative to the work tree when inside, and *workdir
 * the work tree; both malloc'd or NULL. */
enum preflight_tree preflight_data_in_tree(const char *repo, const char *data,
	    char **workdir, char **rel);

/* The pid holding DATA/keeper.lock, -1 when held by a keeper that has
 * not written its pid yet, 0 when none. */
long	 preflight_lock_holder(const char *data);

/*
 * One keeper per tenant work tree: two daemons with their own data
 * directories and one #+REPO: commit each other's half-written files.
 * Takes GITDIR/keeper-daemon.lock (flock, holding "PID DATA") for the
 * caller's life: 0 with *fd (-1 when repo is not a git work tree: nothing
 * is committed there), or -1 with a message naming the keeper that holds
 * it.
 */
int	 preflight_repo_lock(const char *repo, const char *data, int *fd,
	    char *err, size_t errlen);

#endif
