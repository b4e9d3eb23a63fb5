/*
 * alert: the alert layer as the daemon includes it. The pieces live in
 * alertstep.h (the pure transition, core/), alertq.h (delivery) and
 * alerthub.h (the per-agent hub the daemon holds); this header only
 * gathers them for callers that want all of alerting.
 */
#ifndef KEEPER_ALERT_H
#define KEEPER_ALERT_H

#include "alerthub.h"

#endif
