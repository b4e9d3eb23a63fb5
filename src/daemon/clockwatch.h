/*
 * clockwatch (prefix clockwatch_): hears when the realtime clock is set
 * (settimeofday, clock_settime, an NTP step), so calendar fires follow
 * the wall clock (SPEC §5a): a timerfd on CLOCK_REALTIME, armed at the end
 * of time with TFD_TIMER_CANCEL_ON_SET, becomes readable (its read fails
 * with ECANCELED) whenever the clock is set; a uv_poll watches it on the
 * loop. A slewed clock (adjtime, NTP's gradual kind) is not a step and
 * says nothing: timers armed on the monotonic clock drift with it by at
 * most the slew.
 *
 * Ownership: clockwatch_start() returns a watch the caller stops with
 * clockwatch_stop() (closed asynchronously; memory goes with it). NULL
 * when the kernel has no such timer (then the fires still re-plan at
 * each wake-up, only later after a step forward).
 */
#ifndef KEEPER_CLOCKWATCH_H
#define KEEPER_CLOCKWATCH_H

#include <uv.h>

struct clockwatch;

struct clockwatch *clockwatch_start(uv_loop_t *, void (*on_set)(void *),
	    void *arg);
void	 clockwatch_stop(struct clockwatch *);

#endif
