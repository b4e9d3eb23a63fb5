/*
 * The body shared by the libFuzzer harnesses of the org-file models
 * (crew, lcspec, def): any bytes must give a model or a diag, never a
 * crash, a leak or an out-of-bounds read. The formatted messages are
 * built too, since check prints them.
 *
 * FUZZ_MODEL(type, parse, release) defines LLVMFuzzerTestOneInput for
 *	int parse(const char *, const char *, size_t, type **, struct diag *)
 * and its matching release(type *). A macro, since the model types differ.
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "diag.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MODEL(type, parse, release)				\
int									\
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)		\
{									\
	struct diag d = { 0 };						\
	type *out = NULL;						\
									\
	if (parse("fuzz/dir/input.org", (const char *)data, size, &out,	\
	    &d) == 0 && out == NULL)					\
		abort();	/* success must give a model */		\
	if (out != NULL && d.nerrors != 0)				\
		abort();	/* errors must give none */		\
	for (size_t i = 0; i < d.n; i++)				\
		free(diag_format(&d.items[i]));				\
	release(out);							\
	diag_release(&d);						\
	return 0;							\
}

#endif
