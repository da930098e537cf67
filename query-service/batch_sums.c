/* The rebuild's running totals (project_batch_internal.h, batch_sums_*): customer and revenue
 * deltas of many pages summed in bounded maps and written when a map fills, so the bulk fill
 * writes each customer and day once per flush instead of once per page. */
#include "project_batch_internal.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Sums hold cap keys of each kind (customers, revenue days); b->events is the cap. */
static void sums_alloc(struct batch *s)
{
    keymap_init(&s->customers, s->events);
    keymap_init(&s->revenue, s->events);
    s->customer = xcalloc((size_t)s->events + 1, sizeof *s->customer);
    s->rev = xcalloc((size_t)s->events + 1, sizeof *s->rev);
}

void batch_sums_init(struct batch *s, struct db_conn *c, int cap)
{
    *s = (struct batch){.c = c, .events = cap};
    keymap_init(&s->orders, 0);
    keymap_init(&s->accounts, 0);
    sums_alloc(s);
}

bool batch_sums_flush(struct batch *s)
{
    if (!batch_save_deltas(s))
        return false;
    keymap_free(&s->customers);
    keymap_free(&s->revenue);
    free(s->customer);
    free(s->rev);
    sums_alloc(s);
    return true;
}

bool batch_sums_add(struct batch *s, const struct batch *b)
{
    if ((s->customers.count + b->customers.count > s->events ||
         s->revenue.count + b->revenue.count > s->events) &&
        !batch_sums_flush(s))
        return false;
    for (int i = 0; i < b->customers.count; i++) {
        int known = s->customers.count;
        const struct customer_delta *d = &b->customer[i];
        struct customer_delta *t = &s->customer[keymap_put(&s->customers, b->customers.keys[i])];
        if (s->customers.count > known)
            t->last_ms = NO_TIME_MS;
        t->orders += d->orders;
        t->open += d->open;
        t->spend += d->spend;
        if (d->last_ms > t->last_ms)
            t->last_ms = d->last_ms;
    }
    for (int i = 0; i < b->revenue.count; i++) {
        const struct revenue_delta *r = &b->rev[i];
        struct revenue_delta *t = &s->rev[keymap_put(&s->revenue, b->revenue.keys[i])];
        t->day = r->day;
        memcpy(t->currency, r->currency, sizeof t->currency);
        t->paid += r->paid;
        t->revenue += r->revenue;
        t->refunds += r->refunds;
    }
    return true;
}
