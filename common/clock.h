/* The monotonic clock, as every deadline and interval in the services reads it (wall-clock
 * changes must not stretch or cut a wait). */
#ifndef ORDERLY_CLOCK_H
#define ORDERLY_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t clock_now_ms(void);

/* CLOCK_MONOTONIC ms from now, for pthread_cond_timedwait on a condition variable whose clock
 * is CLOCK_MONOTONIC (clock_cond_init makes such ones). */
struct timespec clock_deadline_after(int ms);

/* Initialises c to time its waits on CLOCK_MONOTONIC, as clock_deadline_after's deadlines are. */
void clock_cond_init(pthread_cond_t *c);

/* Seconds since t0, a CLOCK_MONOTONIC reading. */
double clock_seconds_since(const struct timespec *t0);

#endif
