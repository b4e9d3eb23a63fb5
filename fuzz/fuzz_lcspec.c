/*
 * libFuzzer harness for lc_spec_parse(); the checks are in fuzz_model.h.
 */
#include "lcspec.h"
#include "fuzz_model.h"

FUZZ_MODEL(struct lc_spec, lc_spec_parse, lc_spec_free)
