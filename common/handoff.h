/* A first-come, first-served queue of threads waiting for something another thread hands over
 * (a pooled connection, a stream's turn): the giver passes it straight to the oldest waiter,
 * so a thread arriving later cannot take it first. The caller's mutex guards the queue. */
#ifndef ORDERLY_HANDOFF_H
#define ORDERLY_HANDOFF_H

#include <pthread.h>
#include <stdbool.h>

struct handoff_waiter; /* lives on the waiting thread's stack */

struct handoff_queue {
    struct handoff_waiter *head, *tail;
};

/* Under mu: queues behind earlier waiters and sleeps until handed a token or wait_ms pass.
 * Returns the token handed over, or NULL at the deadline (then no longer queued). */
void *handoff_wait(struct handoff_queue *q, pthread_mutex_t *mu, int wait_ms);

/* Under mu: hands token (not NULL) to the oldest waiter; false when nobody waits. */
bool handoff_give(struct handoff_queue *q, void *token);

#endif
