/*
 * rundoc: a history row as JSON, the one shape `keeper history --json`,
 * `keeper history --run ID --json` and GET /_runs/ID share (SPEC §9,
 * §10). Text from agents may hold any bytes: every string is cleaned to
 * valid UTF-8 as /_activity cleans it (utf8.h), so no key is ever
 * dropped, and NUL bytes in the output survive (as \u0000).
 *
 * Ownership: the json_t returned is the caller's (json_decref()); the
 * row is borrowed for the call.
 */
#ifndef KEEPER_RUNDOC_H
#define KEEPER_RUNDOC_H

#include <jansson.h>

#include "store.h"

/* The row as history lists it; whole adds what one run shows: "result"
 * (the kept head of its output), "log", and "steps" as a list of
 * {"name","status","ms"} instead of the stored text. */
json_t	*rundoc_json(const struct run_rec *, int whole);
/* steps text ("NAME STATUS MS" lines) as that list. */
json_t	*rundoc_steps(const char *steps);

#endif
