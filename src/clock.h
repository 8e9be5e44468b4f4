/* clock.h -- the two clocks: wall time for what is stored and shown
 * (token claims, session times, rate-limit windows shared across hosts),
 * monotonic time for what one process waits on (backoff, timeouts, the
 * master's respawn pacing), which a clock step must not move. */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <stdint.h>

/* Wall-clock milliseconds since the epoch. */
int64_t sg_now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
int64_t sg_monotonic_ms(void);

#endif
