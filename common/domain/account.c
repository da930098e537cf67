/* account_evolve: folds account-stream events into struct account_state.
 * Events may come from plain SQL, so balance arithmetic saturates instead of overflowing. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

static int64_t account_add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t account_sub_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

static void account_on_opened(struct account_state *s, const struct event *e)
{
    const struct ev_account_opened *d = &e->data.account_opened;
    s->status = ACCOUNT_OPEN;
    snprintf(s->account_id, sizeof s->account_id, "%s", d->account_id);
    snprintf(s->owner, sizeof s->owner, "%s", d->owner);
    snprintf(s->currency, sizeof s->currency, "%s", d->currency);
    s->overdraft_limit_cents = d->overdraft_limit_cents;
    s->balance_cents = 0;
    s->opened_at_ms = e->recorded_at_ms;
}

void account_evolve(struct account_state *s, const struct event *e)
{
    switch (e->type) {
    case EV_ACCOUNT_OPENED:
        account_on_opened(s, e);
        break;
    case EV_FUNDS_DEPOSITED:
        s->balance_cents = account_add_sat(s->balance_cents, e->data.funds.amount_cents);
        break;
    case EV_TRANSFER_RECEIVED:
        s->balance_cents = account_add_sat(s->balance_cents, e->data.transfer.amount_cents);
        break;
    case EV_FUNDS_WITHDRAWN:
        s->balance_cents = account_sub_sat(s->balance_cents, e->data.funds.amount_cents);
        break;
    case EV_TRANSFER_SENT:
        s->balance_cents = account_sub_sat(s->balance_cents, e->data.transfer.amount_cents);
        break;
    case EV_ACCOUNT_CLOSED:
        s->status = ACCOUNT_CLOSED;
        break;
    case EV_PERSONAL_DATA_FORGOTTEN:
        snprintf(s->owner, sizeof s->owner, "%s", OWNER_FORGOTTEN);
        break;
    default:
        return; /* order events and unknown types leave the account untouched */
    }
    s->version = e->stream_version;
    s->updated_at_ms = e->recorded_at_ms;
}
