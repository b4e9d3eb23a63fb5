/*
 * output: step outputs, each in an unlinked temporary file made when its
 * first byte arrives (a step that prints nothing costs no file). A step's
 * output is the next step's stdin and, for the last step, the def's
 * result; memory stays bounded whatever a step prints, and only a
 * {{placeholder}} reads one back into memory (EXEC_TEMPLATE_MAX bytes at
 * most). Neighbours: exec-int.h, template.c (the placeholders), interp.c
 * (the result copy).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec-int.h"
#include "fs.h"

static int
tmpfile_open(struct run *r)
{
	char *path = xasprintf("%s/keeper-step-XXXXXX", r->tmpdir);
	int fd;

	fd = mkostemp(path, O_CLOEXEC);
	if (fd != -1)
		(void)unlink(path);
	free(path);
	return fd;
}

/* The step's stdout into its temp file, made on the first byte: a step
 * that prints nothing (most `true`-like steps) costs no file create. */
int
exec__out_write(struct run *r, struct out *o, const char *buf, size_t n)
{
	if (o->fd == -1) {
		char fd[16];

		if ((o->fd = tmpfile_open(r)) == -1)
			return -1;
		/* A run killed at its TIMEOUT never copies its result:
		 * the daemon reads what the step printed from here. */
		if (r->o->event_fd >= 0) {
			int k = snprintf(fd, sizeof(fd), "%d", o->fd);

			exec__emit(r, EVENT_OUTPUT, fd, (size_t)k);
		}
	}
	if (fs_write_all(o->fd, buf, n) == -1)
		return -1;
	o->size += (off_t)n;
	return 0;
}

/* An earlier step's output, read back for a placeholder. */
int
exec__read_output(struct run *r, size_t j, char **val, size_t *len,
    char *err, size_t errlen)
{
	const struct out *o = &r->outs[j];
	size_t got = 0;
	ssize_t n;

	if (o->size > (off_t)EXEC_TEMPLATE_MAX) {
		snprintf(err, errlen, "output of step \"%s\" is %lld bytes, "
		    "over the %u a placeholder may insert",
		    r->def->steps[j].name, (long long)o->size,
		    EXEC_TEMPLATE_MAX);
		return -2;
	}
	*val = xmalloc((size_t)o->size + 1);
	while (got < (size_t)o->size) {
		n = pread(o->fd, *val + got, (size_t)o->size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot read the output of step "
			    "\"%s\": %s", r->def->steps[j].name,
			    n == 0 ? "short file" : strerror(errno));
			free(*val);
			*val = NULL;
			return -2;
		}
		got += (size_t)n;
	}
	/* Like $(...) in the shell: the trailing newlines go, so that
	 * "Count: {{prev}} words" reads as written. */
	while (got > 0 && (*val)[got - 1] == '\n')
		got--;
	(*val)[got] = '\0';
	*len = got;
	return 0;
}

/* An output whole into to: the def's result. */
int
exec__copy_out(int from, off_t size, int to)
{
	char buf[65536];
	off_t at = 0;
	ssize_t n;

	while (at < size) {
		n = pread(from, buf, sizeof(buf), at);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (fs_write_all(to, buf, (size_t)n) == -1)
			return -1;
		at += n;
	}
	return 0;
}
