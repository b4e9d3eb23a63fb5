/*
 * spawn_loop: the physical limit keeper's spawn path is measured against.
 * fork, exec /bin/sh -c true (or the given command), wait, in a row for
 * SECONDS; prints runs/s. Output of the command goes to /dev/null.
 * usage: spawn_loop SECONDS [CMD ARG...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5, t0 = now(), t;
	long n = 0;
	int st;
	pid_t pid;

	do {
		if ((pid = fork()) == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			dup2(fd, 3);
			if (argc > 2)
				execv(argv[2], argv + 2);
			else
				execl("/bin/sh", "sh", "-c", "true",
				    (char *)NULL);
			_exit(127);
		}
		if (pid == -1 || waitpid(pid, &st, 0) != pid || st != 0) {
			fprintf(stderr, "spawn_loop: run failed\n");
			return 1;
		}
		n++;
	} while ((t = now()) - t0 < secs);
	printf("%.1f\n", n / (t - t0));
	return 0;
}
