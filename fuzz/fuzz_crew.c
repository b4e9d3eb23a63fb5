/*
 * libFuzzer harness for crew_parse(); the checks are in fuzz_model.h.
 */
#include "crew.h"
#include "fuzz_model.h"

FUZZ_MODEL(struct crew, crew_parse, crew_free)
