/* order_evolve: folds order-stream events into struct order_state.
 * Events may come from plain SQL, so money arithmetic saturates instead of overflowing. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

static int64_t order_add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static void order_on_placed(struct order_state *s, const struct event *e)
{
    const struct ev_order_placed *d = &e->data.order_placed;
    s->status = ORDER_PLACED;
    snprintf(s->order_id, sizeof s->order_id, "%s", d->order_id);
    snprintf(s->customer_id, sizeof s->customer_id, "%s", d->customer_id);
    snprintf(s->currency, sizeof s->currency, "%s", d->currency);
    int n = d->item_count;
    if (n < 0)
        n = 0;
    if (n > ITEMS_MAX)
        n = ITEMS_MAX;
    s->item_count = n;
    memcpy(s->items, d->items, sizeof s->items[0] * (size_t)n);
    s->total_cents = d->total_cents;
    s->placed_at_ms = e->recorded_at_ms;
}

void order_evolve(struct order_state *s, const struct event *e)
{
    if (!event_type_is_order(e->type))
        return;
    switch (e->type) {
    case EV_ORDER_PLACED:
        order_on_placed(s, e);
        break;
    case EV_ORDER_PAID:
        s->status = ORDER_PAID;
        s->paid_cents = order_add_sat(s->paid_cents, e->data.order_paid.amount_cents);
        snprintf(s->account_id, sizeof s->account_id, "%s", e->data.order_paid.account_id);
        break;
    case EV_ORDER_SHIPPED:
        s->status = ORDER_SHIPPED;
        snprintf(s->carrier, sizeof s->carrier, "%s", e->data.order_shipped.carrier);
        snprintf(s->tracking_number, sizeof s->tracking_number, "%s",
                 e->data.order_shipped.tracking_number);
        break;
    case EV_ORDER_CANCELLED:
        s->status = ORDER_CANCELLED;
        s->refunded_cents =
            order_add_sat(s->refunded_cents, e->data.order_cancelled.refunded_cents);
        snprintf(s->cancel_reason, sizeof s->cancel_reason, "%s", e->data.order_cancelled.reason);
        break;
    default:
        return;
    }
    s->version = e->stream_version;
    s->updated_at_ms = e->recorded_at_ms;
}
