/*
 * redact_bench: redact a file N times with keeper's redactor (built-ins)
 * and print the throughput. Built by bench/redact.sh against libkeeper.a.
 */
#include <stdio.h>
#include <stdlib.h>

#include "redact.h"
#include "util.h"

int
main(int argc, char **argv)
{
	size_t len, outlen = 0;
	int64_t t0, t1;
	char *text, *out;
	int i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: redact_bench FILE N\n");
		return 2;
	}
	if ((text = util_read_file(argv[1], &len)) == NULL) {
		perror(argv[1]);
		return 1;
	}
	n = atoi(argv[2]);
	t0 = util_mono_ms();
	for (i = 0; i < n; i++) {
		out = redact_apply(NULL, text, len, &outlen);
		free(out);
	}
	t1 = util_mono_ms();
	printf("keeper redact_apply  %8.1f MB/s  (%d x %zu bytes in %lld ms, "
	    "out %zu bytes)\n", (double)len * n / 1e6 /
	    ((double)(t1 - t0 > 0 ? t1 - t0 : 1) / 1000), n, len,
	    (long long)(t1 - t0), outlen);
	free(text);
	return 0;
}
