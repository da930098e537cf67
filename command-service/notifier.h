/* The after-commit notifier: wakes the query side's projectors after appends commit and
 * expires old idempotency keys, on a connection of its own outside the request pool. */
#ifndef ORDERLY_NOTIFIER_H
#define ORDERLY_NOTIFIER_H

/* Starts the notifier thread: at most one NOTIFY per NOTIFY_INTERVAL_MS, coalescing the pokes
 * in between. The connection is lazy, so an unreachable database only delays wake-ups.
 * Arguments are borrowed until notifier_stop. */
void notifier_start(const char *conninfo, const char *options);
/* Any thread: a NOTIFY is due (cheap; never blocks on the database). */
void notifier_poke(void);
/* Stops and joins the thread; a no-op when it is not running. */
void notifier_stop(void);

#endif
