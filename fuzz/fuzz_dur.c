/*
 * libFuzzer harness for dur_parse() and dur_format(): any bytes must
 * parse or fail cleanly, and whatever parses must format back to a string
 * that parses to the same value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dur.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[64];
	int64_t ms, back;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (dur_parse(s, &ms) == 0) {
		if (ms < 0)
			abort();
		dur_format(ms, buf, sizeof(buf));
		if (dur_parse(buf, &back) != 0 || back != ms)
			abort();
	}
	free(s);
	return 0;
}
