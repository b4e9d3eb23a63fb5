/*
 * libFuzzer harness for def_parse(); the checks are in fuzz_model.h.
 */
#include "def.h"
#include "fuzz_model.h"

FUZZ_MODEL(struct agent_def, def_parse, def_free)
