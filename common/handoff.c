#include "handoff.h"

#include "clock.h"

#include <stddef.h>

struct handoff_waiter {
    struct handoff_waiter *next;
    pthread_cond_t handed;
    void *token; /* set by handoff_give */
};

/* Unlinks w if it is still queued. */
static void unlink_waiter(struct handoff_queue *q, struct handoff_waiter *w)
{
    struct handoff_waiter **link = &q->head, *prev = NULL;
    while (*link && *link != w) {
        prev = *link;
        link = &(*link)->next;
    }
    if (!*link)
        return;
    *link = w->next;
    if (q->tail == w)
        q->tail = prev;
}

void *handoff_wait(struct handoff_queue *q, pthread_mutex_t *mu, int wait_ms)
{
    struct handoff_waiter w = {0};
    clock_cond_init(&w.handed);
    if (q->tail)
        q->tail->next = &w;
    else
        q->head = &w;
    q->tail = &w;
    struct timespec until = clock_deadline_after(wait_ms);
    while (!w.token && pthread_cond_timedwait(&w.handed, mu, &until) == 0)
        ;
    /* Handed over between the deadline and re-taking mu still counts. */
    if (!w.token)
        unlink_waiter(q, &w);
    pthread_cond_destroy(&w.handed);
    return w.token;
}

bool handoff_give(struct handoff_queue *q, void *token)
{
    struct handoff_waiter *w = q->head;
    if (!w)
        return false;
    q->head = w->next;
    if (!q->head)
        q->tail = NULL;
    w->token = token;
    pthread_cond_signal(&w->handed);
    return true;
}
