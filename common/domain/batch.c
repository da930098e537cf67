/* A run of commands on one stream decided in order over one state (domain/batch.h). */
#include "domain/batch.h"

bool batch_joinable(const struct command *c)
{
    switch (c->type) {
    case CMD_DEPOSIT:
    case CMD_WITHDRAW:
    case CMD_CLOSE_ACCOUNT:
    case CMD_SHIP_ORDER:
        return true;
    default:
        /* PlaceOrder/OpenAccount skip the load, OpenAccount/ForgetPersonalData write account
         * keys, CancelOrder may refund another stream, PayOrder and TransferFunds have two. */
        return false;
    }
}

int64_t batch_target_version(const struct command *c, const struct world *w)
{
    bool is_order = c->type == CMD_PLACE_ORDER || c->type == CMD_PAY_ORDER ||
                    c->type == CMD_SHIP_ORDER || c->type == CMD_CANCEL_ORDER;
    return is_order ? w->order.version : w->account[0].version;
}

enum err batch_decide(const struct command *c, int64_t if_match, const struct world *w,
                      struct decision *out, struct err_detail *why)
{
    out->count = 0;
    int64_t at = batch_target_version(c, w);
    if (if_match >= 0 && at != if_match)
        return err_set(why, ERR_PRECONDITION, "stream is at version %lld, not %lld", (long long)at,
                       (long long)if_match);
    return decide(c, w, out, why);
}

void batch_fold(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n,
                const struct decision *d)
{
    for (int i = 0; i < d->count; i++)
        world_evolve(w, ids, n, &d->events[i]);
}
