/*
 * statesync: batched, durable, atomic state-file writes on the thread pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "statefile.h"
#include "statesync.h"
#include "table.h"
#include "util.h"

#define STATESYNC_GAP_MS	25	/* between batch starts */

struct job {
	struct job	*next;
	char		*path;
	char		*data;
	size_t		 len;
	int		 err;		/* errno of a failed write, 0 ok */
};

struct statesync {
	uv_loop_t	*loop;
	char		*dir;
	struct job	*pending;	/* newest content per path */
	struct table	 index;		/* pending by path (borrowed keys) */
	struct job	*batch;		/* owned by the thread while in flight */
	uv_work_t	 work;
	int		 inflight;
	uv_timer_t	 gap;		/* holds the next batch back */
	int		 gap_open;
	uint64_t	 started;	/* the last batch's start, loop ms */
	statesync_mirror_fn mirror;
	void		*mirror_arg;
};

/*
 * The pending jobs are found by path through a hash index: a crew of
 * 10,000 agents due at once puts 10,000 files while a batch is in
 * flight, and a walk of the pending list per put held the loop 360 ms.
 */

/* The pending jobs become the batch; the index starts empty again. */
static void
take_pending(struct statesync *s)
{
	s->batch = s->pending;
	s->pending = NULL;
	table_clear(&s->index);
	s->inflight = 1;
}

struct statesync *
statesync_new(uv_loop_t *loop, const char *dir)
{
	struct statesync *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->dir = xstrdup(dir);
	uv_timer_init(loop, &s->gap);
	s->gap.data = s;
	s->gap_open = 1;
	return s;
}

static void
job_free(struct job *j)
{
	free(j->path);
	free(j->data);
	free(j);
}

/*
 * The spare is overwritten in place and cut only when the old content was
 * longer. Opening it with O_TRUNC freed its blocks on every write, and
 * ext4 then flushes a file truncated to zero on close (auto_da_alloc):
 * together 14% of the daemon's CPU with 500 one-second agents.
 */
static int
cut_to(int fd, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((size_t)st.st_size > len && ftruncate(fd, (off_t)len) == -1)
		return -1;
	return 0;
}

/*
 * DIR/.BASE.prev for DIR/BASE. The dot keeps it from ever being another
 * state file: those all start with a letter (keeper-last-run-NAME,
 * lifecycle-pos-NAME), and NAME.prev is a valid member name, so
 * BASE.prev would be agent NAME.prev's own file.
 */
static char *
spare_path(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xasprintf(".%s.prev", path);
	return xasprintf("%.*s/.%s.prev", (int)(slash - path), path,
	    slash + 1);
}

/*
 * Runs on a pool thread. Each file's new content goes into .BASE.prev, one
 * syncfs makes the batch durable, and then it and PATH trade places
 * (renameat2 RENAME_EXCHANGE): PATH is the new, synced inode and the
 * spare keeps the old one for the next write to reuse. So no inode is
 * created or freed per write. On ext4 without a journal a create skips,
 * by scanning them, the inodes freed in the last seconds: with a file
 * created and one freed per tick, state writes grew slower the longer a
 * busy crew ran. Where the exchange is not supported, or PATH does not
 * exist yet, it is a plain rename (fs_exchange()). Then one directory
 * sync. fs_write_atomic() is the same steps for one file; a batch shares
 * the sync and the directory's fsync among all of its files.
 */
static void
write_batch(const char *dir, struct job *batch)
{
	struct job *j;
	char **tmp;
	size_t n = 0, i;
	int fd, dfd;

	for (j = batch; j; j = j->next)
		n++;
	tmp = xcalloc(n, sizeof(*tmp));
	for (j = batch, i = 0; j; j = j->next, i++) {
		tmp[i] = spare_path(j->path);
		if ((fd = open(tmp[i], O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644)) == -1 || fs_write_all(fd, j->data, j->len) == -1 ||
		    cut_to(fd, j->len) == -1)
			j->err = errno ? errno : EIO;
		if (fd != -1)
			close(fd);
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (syncfs(dfd) == -1)
			for (j = batch; j; j = j->next)
				j->err = j->err ? j->err : errno;
		close(dfd);
	}
	for (j = batch, i = 0; j; j = j->next, i++) {
		if (j->err == 0 && fs_exchange(tmp[i], j->path) == -1)
			j->err = errno;
		if (j->err)
			(void)unlink(tmp[i]);
		free(tmp[i]);
	}
	(void)fs_sync_dir(dir);
	free(tmp);
}

static void
work_cb(uv_work_t *req)
{
	struct statesync *s = req->data;

	write_batch(s->dir, s->batch);
}

static void kick(struct statesync *);

static void
after_cb(uv_work_t *req, int status)
{
	struct statesync *s = req->data;
	struct job *j, *next;

	(void)status;
	for (j = s->batch; j; j = next) {
		next = j->next;
		if (j->err)
			log_warnx("event=state-write-failed path=%s msg=%s",
			    log_qv(j->path), log_qv(strerror(j->err)));
		job_free(j);
	}
	s->batch = NULL;
	s->inflight = 0;
	kick(s);
}

static void
gap_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
gap_cb(uv_timer_t *t)
{
	kick(t->data);
}

/*
 * A batch starts at most every STATESYNC_GAP_MS: the syncfs and the
 * directory's fsync are the batch's cost whatever its size, and with a
 * batch per tick (a busy crew of one-second agents) they were a fifth
 * of the daemon's CPU. A crash loses at most that much more of the
 * newest writes; none is ever torn.
 */
static void
kick(struct statesync *s)
{
	uint64_t now;

	if (s->inflight || s->pending == NULL)
		return;
	uv_update_time(s->loop);
	now = uv_now(s->loop);
	if (s->started != 0 && now - s->started < STATESYNC_GAP_MS) {
		if (s->gap_open && !uv_is_active((uv_handle_t *)&s->gap))
			uv_timer_start(&s->gap, gap_cb, STATESYNC_GAP_MS -
			    (now - s->started), 0);
		return;
	}
	s->started = now;
	take_pending(s);
	s->work.data = s;
	if (uv_queue_work(s->loop, &s->work, work_cb, after_cb) != 0) {
		/* No pool: write on this thread rather than lose state. */
		write_batch(s->dir, s->batch);
		after_cb(&s->work, 0);
	}
}

void
statesync_put(struct statesync *s, const char *path, const char *data,
    size_t len)
{
	struct table_ent *e = table_get(&s->index, path);
	struct job *j;

	if (e == NULL) {
		j = xcalloc(1, sizeof(*j));
		j->path = xstrdup(path);
		j->next = s->pending;
		s->pending = j;
		table_put(&s->index, j->path, NULL)->v.ptr = j;
	} else {
		j = e->v.ptr;
		free(j->data);
	}
	j->data = xmalloc(len + 1);
	memcpy(j->data, data, len);
	j->data[len] = '\0';
	j->len = len;
	kick(s);
	if (s->mirror != NULL) {
		const char *base = strrchr(path, '/');

		s->mirror(base ? base + 1 : path, data, len, s->mirror_arg);
	}
}

void
statesync_mirror(struct statesync *s, statesync_mirror_fn fn, void *arg)
{
	s->mirror = fn;
	s->mirror_arg = arg;
}

int
statesync_busy(const struct statesync *s)
{
	return s->inflight || s->pending != NULL;
}

void
statesync_flush(struct statesync *s)
{
	if (s->gap_open)
		uv_timer_stop(&s->gap);
	while (s->inflight)
		uv_run(s->loop, UV_RUN_ONCE);
	if (s->pending) {
		take_pending(s);
		write_batch(s->dir, s->batch);
		after_cb(&s->work, 0);
	}
}

void
statesync_free(struct statesync *s)
{
	if (s == NULL)
		return;
	statesync_flush(s);
	table_release(&s->index);
	free(s->dir);
	/* The timer's memory is s: it goes in its close callback. */
	s->gap_open = 0;
	uv_close((uv_handle_t *)&s->gap, gap_closed);
}
