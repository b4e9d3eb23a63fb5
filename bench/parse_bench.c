/*
 * parse_bench: time org_parse alone over a file already in memory.
 * Prints the median of N runs (default 5) in MB/s of CPU time (process
 * CPU clock: the machine may be shared, and the other tools are measured
 * the same way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "org.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	FILE	*f;
	char	*buf;
	long	 len;
	int	 n = argc > 2 ? atoi(argv[2]) : 5, i;
	double	 t[64], t0;
	org_doc	*d;
	size_t	 nel = 0;

	if (argc < 2 || n < 1 || n > 64) {
		fprintf(stderr, "usage: parse_bench FILE [RUNS]\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "parse_bench: cannot read %s\n", argv[1]);
		return 1;
	}
	if ((buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len)
		return 1;
	fclose(f);
	for (i = 0; i < n; i++) {
		t0 = now();
		if ((d = org_parse(buf, (size_t)len)) == NULL)
			return 1;
		t[i] = now() - t0;
		nel = d->nelems;
		org_free(d);
	}
	qsort(t, (size_t)n, sizeof(t[0]), cmp);
	printf("%.1f MB/s (median of %d, %zu elements, %.2f ms)\n",
	    (double)len / 1e6 / t[n / 2], n, nel, t[n / 2] * 1e3);
	free(buf);
	return 0;
}
