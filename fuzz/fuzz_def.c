/*
 * libFuzzer harness for def_parse(): any bytes must give a model or a
 * diag, never a crash, a leak or an out-of-bounds read. The formatted
 * messages are built too, since check prints them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "def.h"
#include "diag.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	struct agent_def *out = NULL;

	if (def_parse("fuzz/dir/input.org", (const char *)data, size, &out,
	    &d) == 0 && out == NULL)
		abort();	/* success must give a model */
	if (out != NULL && d.nerrors != 0)
		abort();	/* errors must give none */
	for (size_t i = 0; i < d.n; i++)
		free(diag_format(&d.items[i]));
	def_free(out);
	diag_release(&d);
	return 0;
}
