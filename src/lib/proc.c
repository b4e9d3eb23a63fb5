/*
 * proc: walking /proc (see proc.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

/* A decimal pid, or 0 when name is not one (".", "self", ...). */
static pid_t
pid_of(const char *name)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)name[0]))
		return 0;
	v = strtol(name, &end, 10);
	return *end == '\0' && v > 0 ? (pid_t)v : 0;
}

int
proc_each(int (*fn)(pid_t pid, void *arg), void *arg)
{
	struct dirent *e;
	DIR *d;
	pid_t pid;
	int rc = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if ((pid = pid_of(e->d_name)) > 0)
			rc = fn(pid, arg);
	closedir(d);
	return rc;
}

/* A whole small /proc file into sb (they report size 0, so read to EOF);
 * -1 when it cannot be opened. */
static int
slurp(const char *path, struct sb *sb)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		sb_add(sb, buf, (size_t)n);
	}
	close(fd);
	return 0;
}

static void
push(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = pid;
}

/* Append pid's children to v. */
static void
add_children(pid_t pid, pid_t **v, size_t *n, size_t *cap)
{
	struct sb sb = { 0 };
	struct dirent *e;
	char path[64];
	pid_t tid;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if ((tid = pid_of(e->d_name)) == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
		    (long)pid, (long)tid);
		sb_reset(&sb);
		if (slurp(path, &sb) == -1 || sb.len == 0)
			continue;
		for (char *p = sb.buf, *end; *p != '\0'; p = end) {
			long child = strtol(p, &end, 10);

			if (end == p)
				break;
			if (child > 0)
				push(v, n, cap, (pid_t)child);
		}
	}
	closedir(d);
	sb_release(&sb);
}


/* Whether the kernel has /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN:
 * Debian's and most distributions' kernels do); -1 until asked. */
static atomic_int have_children = -1;

static int
children_file(void)
{
	if (have_children < 0)
		have_children = access("/proc/thread-self/children", R_OK) == 0;
	return have_children;
}

/* One process as its stat line shows it. */
struct pstat {
	pid_t	 pid, ppid;
	char	 state;
};

struct pstats {
	struct pstat	*v;
	size_t		 n, cap;
};

static int
add_pstat(pid_t pid, void *arg)
{
	struct pstats *ps = arg;
	char path[64], buf[512], *rp;
	struct pstat p = { pid, 0, 0 };
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return 0;
	buf[got] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and ')'. */
	if ((rp = strrchr(buf, ')')) == NULL ||
	    sscanf(rp + 1, " %c %d", &p.state, &p.ppid) != 2)
		return 0;
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 256;
		ps->v = xreallocarray(ps->v, ps->cap, sizeof(*ps->v));
	}
	ps->v[ps->n++] = p;
	return 0;
}

/* Without the children files: every process's parent from one walk of
 * /proc, then the tree below pid, a generation at a time. */
static size_t
descendants_by_parent(pid_t pid, pid_t **out)
{
	struct pstats ps = { 0 };
	unsigned char *mark;
	size_t nout = 0;
	int changed;

	(void)proc_each(add_pstat, &ps);
	mark = xcalloc(ps.n ? ps.n : 1, 1);
	for (size_t i = 0; i < ps.n; i++)
		mark[i] = ps.v[i].ppid == pid;
	do {
		changed = 0;
		for (size_t i = 0; i < ps.n; i++)
			for (size_t j = 0; !mark[i] && j < ps.n; j++)
				if (mark[j] && ps.v[j].pid == ps.v[i].ppid)
					mark[i] = changed = 1;
	} while (changed);
	*out = NULL;
	for (size_t i = 0; i < ps.n; i++)
		if (mark[i] && ps.v[i].state != 'Z' && ps.v[i].state != 'X') {
			if (*out == NULL)
				*out = xreallocarray(NULL, ps.n, sizeof(pid_t));
			(*out)[nout++] = ps.v[i].pid;
		}
	free(mark);
	free(ps.v);
	return nout;
}

size_t
proc_children(pid_t pid, pid_t **out)
{
	struct pstats ps = { 0 };
	size_t n = 0, cap = 0;

	*out = NULL;
	if (children_file()) {
		add_children(pid, out, &n, &cap);
		return n;
	}
	(void)proc_each(add_pstat, &ps);
	for (size_t i = 0; i < ps.n; i++)
		if (ps.v[i].ppid == pid)
			push(out, &n, &cap, ps.v[i].pid);
	free(ps.v);
	return n;
}

size_t
proc_thread_children(pid_t pid, pid_t tid, pid_t **out)
{
	struct sb sb = { 0 };
	size_t n = 0, cap = 0;
	char path[64];

	if (!children_file())
		return proc_children(pid, out);
	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid,
	    (long)tid);
	if (slurp(path, &sb) == 0 && sb.len > 0)
		for (char *p = sb.buf, *end; *p != '\0'; p = end) {
			long child = strtol(p, &end, 10);

			if (end == p)
				break;
			if (child > 0)
				push(out, &n, &cap, (pid_t)child);
		}
	sb_release(&sb);
	return n;
}

static int
has(const pid_t *v, size_t n, pid_t p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return 1;
	return 0;
}

size_t
proc_descendants(pid_t pid, pid_t **out)
{
	pid_t *queue = NULL, *live = NULL;
	size_t n = 0, cap = 0, nlive = 0, livecap = 0;
	char st;

	if (!children_file())
		return descendants_by_parent(pid, out);
	add_children(pid, &queue, &n, &cap);
	/* Breadth first: queue[] grows as it is read. A pid met twice
	 * (reused while we read) is walked once, so the walk ends whatever
	 * /proc says. Zombies have exited: they have no children left and
	 * their pid only waits for a reaper. */
	for (size_t i = 0; i < n; i++) {
		if (has(live, nlive, queue[i]) || (st = proc_state(queue[i])) ==
		    '\0' || st == 'Z' || st == 'X')
			continue;
		push(&live, &nlive, &livecap, queue[i]);
		add_children(queue[i], &queue, &n, &cap);
	}
	free(queue);
	*out = live;
	return nlive;
}

char
proc_state(pid_t pid)
{
	char path[64], buf[512], *rp, st = '\0';
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return '\0';
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return '\0';
	buf[got] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and ')'. */
	if ((rp = strrchr(buf, ')')) != NULL && sscanf(rp + 1, " %c", &st) != 1)
		st = '\0';
	return st;
}

ssize_t
proc_environ(pid_t pid, char *buf, size_t size)
{
	char path[64];
	size_t len = 0;
	ssize_t n;
	int fd;

	if (size == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (len < size - 1 && (n = read(fd, buf + len,
	    size - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

int
proc_env_has(const char *env, size_t len, const char *kv)
{
	size_t n = strlen(kv);

	for (const char *p = env; p < env + len; p += strlen(p) + 1)
		if ((size_t)(env + len - p) >= n && strcmp(p, kv) == 0)
			return 1;
	return 0;
}

int
proc_has_open(pid_t pid, const struct stat *want)
{
	char dir[64], link[sizeof(dir) + 256];
	struct dirent *f;
	struct stat st;
	int found = 0;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((fds = opendir(dir)) == NULL)
		return 0;
	while (!found && (f = readdir(fds)) != NULL) {
		if (f->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, f->d_name);
		found = stat(link, &st) == 0 && st.st_dev == want->st_dev &&
		    st.st_ino == want->st_ino;
	}
	closedir(fds);
	return found;
}
