/* decide(): the business rules of every command over the states of the streams it touches,
 * plus command_streams()/world_evolve() which tell callers what to load and where to fold it. */
#include "domain.h"

#include <stdio.h>
#include <string.h>

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* ---- streams and folding ---- */

int command_streams(const struct command *c, const struct world *w,
                    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1])
{
    switch (c->type) {
    case CMD_PLACE_ORDER:
        stream_id_order(ids[0], c->as.place_order.order_id);
        return 1;
    case CMD_PAY_ORDER:
        stream_id_order(ids[0], c->as.pay_order.order_id);
        stream_id_account(ids[1], c->as.pay_order.account_id);
        return 2;
    case CMD_SHIP_ORDER:
        stream_id_order(ids[0], c->as.ship_order.order_id);
        return 1;
    case CMD_CANCEL_ORDER:
        stream_id_order(ids[0], c->as.cancel_order.order_id);
        /* Only a paid order is refunded, and only its state names the paying account. */
        if (w == NULL || w->order.status != ORDER_PAID)
            return 1;
        stream_id_account(ids[1], w->order.account_id);
        return 2;
    case CMD_OPEN_ACCOUNT:
        stream_id_account(ids[0], c->as.open_account.account_id);
        return 1;
    case CMD_DEPOSIT:
    case CMD_WITHDRAW:
        stream_id_account(ids[0], c->as.funds.account_id);
        return 1;
    case CMD_TRANSFER_FUNDS:
        stream_id_account(ids[0], c->as.transfer_funds.from_account_id);
        stream_id_account(ids[1], c->as.transfer_funds.to_account_id);
        return 2;
    case CMD_CLOSE_ACCOUNT:
        stream_id_account(ids[0], c->as.close_account.account_id);
        return 1;
    case CMD_FORGET_PERSONAL_DATA:
        stream_id_account(ids[0], c->as.forget.account_id);
        return 1;
    case CMD__COUNT:
        break;
    }
    return 0;
}

/* The first id that matches wins: a transfer to the same account is refused before any rule
 * could read account[1], so folding it only once is harmless. */
void world_slot(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n, const char *stream_id,
                struct order_state **order, struct account_state **account)
{
    int accounts = 0;
    *order = NULL;
    *account = NULL;
    for (int i = 0; i < n; i++) {
        bool is_order = strncmp(ids[i], "order-", 6) == 0;
        if (strcmp(ids[i], stream_id) == 0) {
            if (is_order)
                *order = &w->order;
            else if (accounts < 2)
                *account = &w->account[accounts];
            return;
        }
        if (!is_order)
            accounts++;
    }
}

void world_evolve(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n,
                  const struct event *e)
{
    struct order_state *o;
    struct account_state *a;
    world_slot(w, ids, n, e->stream_id, &o, &a);
    if (o)
        order_evolve(o, e);
    else if (a)
        account_evolve(a, e);
}

/* ---- shared rule helpers ---- */

/* Appends a zeroed event at the next version of a stream whose state is at version. */
static struct event *decide_emit(struct decision *out, enum event_type type, const char *stream_id,
                                 int64_t version)
{
    struct event *ev = &out->events[out->count++];
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    COPY(ev->stream_id, stream_id);
    ev->stream_version = version + 1;
    return ev;
}

static bool decide_currency_ok(const char *s)
{
    for (int i = 0; i < 3; i++) {
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    }
    return s[3] == '\0';
}

/* balance - amount >= -overdraft, computed without overflow; a negative limit counts as 0. */
static bool decide_funds_ok(const struct account_state *a, int64_t amount)
{
    int64_t after;
    int64_t floor = a->overdraft_limit_cents > 0 ? -a->overdraft_limit_cents : 0;
    if (__builtin_sub_overflow(a->balance_cents, amount, &after))
        return false;
    return after >= floor;
}

/* balance + amount <= MONEY_MAX, computed without overflow. */
static bool decide_credit_ok(const struct account_state *a, int64_t amount)
{
    int64_t after;
    if (__builtin_add_overflow(a->balance_cents, amount, &after))
        return false;
    return after <= MONEY_MAX;
}

static bool decide_amount_ok(int64_t amount)
{
    return amount >= 1 && amount <= MONEY_MAX;
}

static enum err decide_account_usable(const struct account_state *a, const char *id,
                                      struct err_detail *why)
{
    if (a->version <= 0)
        return err_set(why, ERR_NOT_FOUND, "account %s does not exist", id);
    if (a->status == ACCOUNT_CLOSED)
        return err_set(why, ERR_ACCOUNT_CLOSED, "account %s is closed", id);
    return ERR_OK;
}

/* ---- order commands ---- */

/* Records a field error when bad; returns bad so callers can OR the results together. */
static bool decide_reject(bool bad, struct err_detail *why, const char *field, const char *msg)
{
    if (bad)
        err_field(why, field, "%s", msg);
    return bad;
}

static bool place_order_item_bad(const struct order_item *it, int i, struct err_detail *why)
{
    char name[3][48];
    snprintf(name[0], sizeof name[0], "items[%d].sku", i);
    snprintf(name[1], sizeof name[1], "items[%d].quantity", i);
    snprintf(name[2], sizeof name[2], "items[%d].unit_price_cents", i);
    size_t sku_len = strnlen(it->sku, sizeof it->sku);
    bool bad = decide_reject(sku_len < 1 || sku_len > SKU_MAX, why, name[0],
                             "sku must be between 1 and 64 characters");
    bad |= decide_reject(it->quantity < 1 || it->quantity > QUANTITY_MAX, why, name[1],
                         "quantity must be between 1 and 10000");
    bad |= decide_reject(it->unit_price_cents < 0 || it->unit_price_cents > UNIT_PRICE_MAX, why,
                         name[2], "unit price must be between 0 and 1000000000");
    return bad;
}

/* Collects every bad field, as the codec does, so a caller skipping it still gets a full 422.
 * The limits keep the total under 2^53, but it is summed with overflow checks all the same. */
static enum err place_order_check(const struct place_order_cmd *c, int64_t *total,
                                  struct err_detail *why)
{
    const char *id_rule = "must match ^[A-Za-z0-9_-]{1,64}$";
    bool bad = decide_reject(!id_is_valid(c->order_id), why, "order_id", id_rule);
    bad |= decide_reject(!id_is_valid(c->customer_id), why, "customer_id", id_rule);
    bad |= decide_reject(!decide_currency_ok(c->currency), why, "currency",
                         "currency must be three upper-case letters");
    bad |= decide_reject(c->item_count < 1 || c->item_count > ITEMS_MAX, why, "items",
                         "must hold between 1 and 100 items");
    bool overflow = false;
    *total = 0;
    for (int i = 0; i < c->item_count && i < ITEMS_MAX; i++) {
        int64_t line;
        bad |= place_order_item_bad(&c->items[i], i, why);
        overflow |=
            __builtin_mul_overflow(c->items[i].quantity, c->items[i].unit_price_cents, &line) ||
            __builtin_add_overflow(*total, line, total);
    }
    bad |= decide_reject(overflow || *total > MONEY_MAX, why, "items", "total is too large");
    if (bad)
        return err_set(why, ERR_VALIDATION, "order %s is invalid", c->order_id);
    return ERR_OK;
}

static enum err decide_place_order(const struct place_order_cmd *c, const struct world *w,
                                   struct decision *out, struct err_detail *why)
{
    if (w->order.version > 0)
        return err_set(why, ERR_EXISTS, "order %s already exists", c->order_id);
    int64_t total;
    enum err e = place_order_check(c, &total, why);
    if (e != ERR_OK)
        return e;
    char sid[STREAM_ID_MAX + 1];
    stream_id_order(sid, c->order_id);
    struct ev_order_placed *d =
        &decide_emit(out, EV_ORDER_PLACED, sid, w->order.version)->data.order_placed;
    COPY(d->order_id, c->order_id);
    COPY(d->customer_id, c->customer_id);
    COPY(d->currency, c->currency);
    d->item_count = c->item_count;
    memcpy(d->items, c->items, sizeof c->items[0] * (size_t)c->item_count);
    d->total_cents = total;
    return ERR_OK;
}

static enum err pay_order_check(const struct pay_order_cmd *c, const struct world *w,
                                struct err_detail *why)
{
    const struct order_state *o = &w->order;
    const struct account_state *a = &w->account[0];
    if (o->version <= 0)
        return err_set(why, ERR_NOT_FOUND, "order %s does not exist", c->order_id);
    if (a->version <= 0)
        return err_set(why, ERR_NOT_FOUND, "account %s does not exist", c->account_id);
    if (o->status != ORDER_PLACED)
        return err_set(why, ERR_ORDER_STATE, "order %s is %s, not placed", c->order_id,
                       order_status_name(o->status));
    if (c->amount_cents != o->total_cents)
        return err_set(why, ERR_AMOUNT, "amount %lld does not match order total %lld",
                       (long long)c->amount_cents, (long long)o->total_cents);
    if (a->status == ACCOUNT_CLOSED)
        return err_set(why, ERR_ACCOUNT_CLOSED, "account %s is closed", c->account_id);
    if (strcmp(a->currency, o->currency) != 0)
        return err_set(why, ERR_CURRENCY, "account currency %s does not match order currency %s",
                       a->currency, o->currency);
    if (!decide_funds_ok(a, c->amount_cents))
        return err_set(why, ERR_NO_FUNDS, "account %s has insufficient funds", c->account_id);
    return ERR_OK;
}

static enum err decide_pay_order(const struct pay_order_cmd *c, const struct world *w,
                                 struct decision *out, struct err_detail *why)
{
    enum err e = pay_order_check(c, w, why);
    if (e != ERR_OK)
        return e;
    char sid[STREAM_ID_MAX + 1];
    stream_id_order(sid, c->order_id);
    struct ev_order_paid *p =
        &decide_emit(out, EV_ORDER_PAID, sid, w->order.version)->data.order_paid;
    COPY(p->order_id, c->order_id);
    COPY(p->account_id, c->account_id);
    p->amount_cents = c->amount_cents;
    stream_id_account(sid, c->account_id);
    struct ev_funds *f =
        &decide_emit(out, EV_FUNDS_WITHDRAWN, sid, w->account[0].version)->data.funds;
    COPY(f->account_id, c->account_id);
    f->amount_cents = c->amount_cents;
    snprintf(f->reference, sizeof f->reference, "order:%s", c->order_id);
    return ERR_OK;
}

static enum err decide_ship_order(const struct ship_order_cmd *c, const struct world *w,
                                  struct decision *out, struct err_detail *why)
{
    const struct order_state *o = &w->order;
    if (o->version <= 0)
        return err_set(why, ERR_NOT_FOUND, "order %s does not exist", c->order_id);
    if (o->status != ORDER_PAID)
        return err_set(why, ERR_ORDER_STATE, "order %s is %s, not paid", c->order_id,
                       order_status_name(o->status));
    char sid[STREAM_ID_MAX + 1];
    stream_id_order(sid, c->order_id);
    struct ev_order_shipped *d =
        &decide_emit(out, EV_ORDER_SHIPPED, sid, o->version)->data.order_shipped;
    COPY(d->order_id, c->order_id);
    COPY(d->carrier, c->carrier);
    COPY(d->tracking_number, c->tracking_number);
    return ERR_OK;
}

/* A paid order is refunded to the account that paid it: w->account[0]. */
static enum err cancel_order_refund(const struct cancel_order_cmd *c, const struct world *w,
                                    struct decision *out, struct err_detail *why)
{
    const struct order_state *o = &w->order;
    const struct account_state *a = &w->account[0];
    enum err e = decide_account_usable(a, o->account_id, why);
    if (e != ERR_OK)
        return e;
    if (!decide_credit_ok(a, o->paid_cents))
        return err_set(why, ERR_OVERFLOW, "refund would overflow account %s", o->account_id);
    char sid[STREAM_ID_MAX + 1];
    stream_id_order(sid, c->order_id);
    struct ev_order_cancelled *d =
        &decide_emit(out, EV_ORDER_CANCELLED, sid, o->version)->data.order_cancelled;
    COPY(d->order_id, c->order_id);
    COPY(d->reason, c->reason);
    d->refunded_cents = o->paid_cents;
    stream_id_account(sid, o->account_id);
    struct ev_funds *f = &decide_emit(out, EV_FUNDS_DEPOSITED, sid, a->version)->data.funds;
    COPY(f->account_id, o->account_id);
    f->amount_cents = o->paid_cents;
    snprintf(f->reference, sizeof f->reference, "refund:%s", c->order_id);
    return ERR_OK;
}

static enum err decide_cancel_order(const struct cancel_order_cmd *c, const struct world *w,
                                    struct decision *out, struct err_detail *why)
{
    const struct order_state *o = &w->order;
    if (o->version <= 0)
        return err_set(why, ERR_NOT_FOUND, "order %s does not exist", c->order_id);
    if (o->status == ORDER_PAID)
        return cancel_order_refund(c, w, out, why);
    if (o->status != ORDER_PLACED)
        return err_set(why, ERR_ORDER_STATE, "order %s is %s, not placed or paid", c->order_id,
                       order_status_name(o->status));
    char sid[STREAM_ID_MAX + 1];
    stream_id_order(sid, c->order_id);
    struct ev_order_cancelled *d =
        &decide_emit(out, EV_ORDER_CANCELLED, sid, o->version)->data.order_cancelled;
    COPY(d->order_id, c->order_id);
    COPY(d->reason, c->reason);
    d->refunded_cents = 0;
    return ERR_OK;
}

/* ---- account commands ---- */

static enum err decide_open_account(const struct open_account_cmd *c, const struct world *w,
                                    struct decision *out, struct err_detail *why)
{
    if (w->account[0].version > 0)
        return err_set(why, ERR_EXISTS, "account %s already exists", c->account_id);
    bool bad = decide_reject(!id_is_valid(c->account_id), why, "account_id",
                             "must match ^[A-Za-z0-9_-]{1,64}$");
    bad |= decide_reject(!decide_currency_ok(c->currency), why, "currency",
                         "currency must be three upper-case letters");
    bad |= decide_reject(c->overdraft_limit_cents < 0 || c->overdraft_limit_cents > MONEY_MAX, why,
                         "overdraft_limit_cents", "must be between 0 and 9007199254740991");
    if (bad)
        return err_set(why, ERR_VALIDATION, "account %s is invalid", c->account_id);
    char sid[STREAM_ID_MAX + 1];
    stream_id_account(sid, c->account_id);
    struct ev_account_opened *d = &decide_emit(out, EV_ACCOUNT_OPENED, sid, 0)->data.account_opened;
    COPY(d->account_id, c->account_id);
    COPY(d->owner, c->owner);
    COPY(d->currency, c->currency);
    d->overdraft_limit_cents = c->overdraft_limit_cents;
    return ERR_OK;
}

static enum err funds_amount_check(int64_t amount, struct err_detail *why)
{
    if (decide_amount_ok(amount))
        return ERR_OK;
    err_field(why, "amount_cents", "must be between 1 and 9007199254740991");
    return err_set(why, ERR_VALIDATION, "amount %lld is out of range", (long long)amount);
}

/* Deposit and Withdraw differ only in the rule on the balance and the event type. */
static enum err decide_funds(const struct command *cmd, const struct world *w, struct decision *out,
                             struct err_detail *why)
{
    const struct funds_cmd *c = &cmd->as.funds;
    const struct account_state *a = &w->account[0];
    bool deposit = cmd->type == CMD_DEPOSIT;
    enum err e = decide_account_usable(a, c->account_id, why);
    if (e == ERR_OK)
        e = funds_amount_check(c->amount_cents, why);
    if (e != ERR_OK)
        return e;
    if (deposit && !decide_credit_ok(a, c->amount_cents))
        return err_set(why, ERR_OVERFLOW, "deposit would overflow account %s", c->account_id);
    if (!deposit && !decide_funds_ok(a, c->amount_cents))
        return err_set(why, ERR_NO_FUNDS, "account %s has insufficient funds", c->account_id);
    char sid[STREAM_ID_MAX + 1];
    stream_id_account(sid, c->account_id);
    enum event_type t = deposit ? EV_FUNDS_DEPOSITED : EV_FUNDS_WITHDRAWN;
    struct ev_funds *f = &decide_emit(out, t, sid, a->version)->data.funds;
    COPY(f->account_id, c->account_id);
    f->amount_cents = c->amount_cents;
    COPY(f->reference, c->reference);
    return ERR_OK;
}

static enum err transfer_check(const struct transfer_funds_cmd *c, const struct world *w,
                               struct err_detail *why)
{
    const struct account_state *from = &w->account[0], *to = &w->account[1];
    if (strcmp(c->from_account_id, c->to_account_id) == 0) {
        err_field(why, "to_account_id", "must differ from from_account_id");
        return err_set(why, ERR_VALIDATION, "cannot transfer from an account to itself");
    }
    enum err e = funds_amount_check(c->amount_cents, why);
    if (e != ERR_OK)
        return e;
    if (from->version <= 0 || to->version <= 0)
        return err_set(why, ERR_NOT_FOUND, "account %s does not exist",
                       from->version <= 0 ? c->from_account_id : c->to_account_id);
    if ((e = decide_account_usable(from, c->from_account_id, why)) != ERR_OK ||
        (e = decide_account_usable(to, c->to_account_id, why)) != ERR_OK)
        return e;
    if (strcmp(from->currency, to->currency) != 0)
        return err_set(why, ERR_CURRENCY, "account currencies %s and %s differ", from->currency,
                       to->currency);
    if (!decide_funds_ok(from, c->amount_cents))
        return err_set(why, ERR_NO_FUNDS, "account %s has insufficient funds", c->from_account_id);
    if (!decide_credit_ok(to, c->amount_cents))
        return err_set(why, ERR_OVERFLOW, "transfer would overflow account %s", c->to_account_id);
    return ERR_OK;
}

static void transfer_fill(struct ev_transfer *t, const struct transfer_funds_cmd *c)
{
    COPY(t->transfer_id, c->transfer_id);
    COPY(t->from_account_id, c->from_account_id);
    COPY(t->to_account_id, c->to_account_id);
    t->amount_cents = c->amount_cents;
}

static enum err decide_transfer(const struct transfer_funds_cmd *c, const struct world *w,
                                struct decision *out, struct err_detail *why)
{
    enum err e = transfer_check(c, w, why);
    if (e != ERR_OK)
        return e;
    char sid[STREAM_ID_MAX + 1];
    stream_id_account(sid, c->from_account_id);
    transfer_fill(&decide_emit(out, EV_TRANSFER_SENT, sid, w->account[0].version)->data.transfer,
                  c);
    stream_id_account(sid, c->to_account_id);
    transfer_fill(
        &decide_emit(out, EV_TRANSFER_RECEIVED, sid, w->account[1].version)->data.transfer, c);
    return ERR_OK;
}

static enum err decide_close_account(const struct close_account_cmd *c, const struct world *w,
                                     struct decision *out, struct err_detail *why)
{
    const struct account_state *a = &w->account[0];
    enum err e = decide_account_usable(a, c->account_id, why);
    if (e != ERR_OK)
        return e;
    if (a->balance_cents != 0)
        return err_set(why, ERR_ACCOUNT_NOT_EMPTY, "account %s balance is %lld, not 0",
                       c->account_id, (long long)a->balance_cents);
    char sid[STREAM_ID_MAX + 1];
    stream_id_account(sid, c->account_id);
    struct ev_account_closed *d =
        &decide_emit(out, EV_ACCOUNT_CLOSED, sid, a->version)->data.account_closed;
    COPY(d->account_id, c->account_id);
    return ERR_OK;
}

/* Closed accounts may be forgotten too (that is when it is usually asked for). The command side
 * holds owners sealed, so OWNER_FORGOTTEN there can only come from PersonalDataForgotten. */
static enum err decide_forget(const struct forget_personal_data_cmd *c, const struct world *w,
                              struct decision *out, struct err_detail *why)
{
    const struct account_state *a = &w->account[0];
    if (a->version <= 0 || a->status == ACCOUNT_NONE)
        return err_set(why, ERR_NOT_FOUND, "account %s does not exist", c->account_id);
    if (strcmp(a->owner, OWNER_FORGOTTEN) == 0)
        return err_set(why, ERR_FORGOTTEN, "account %s personal data is already forgotten",
                       c->account_id);
    char sid[STREAM_ID_MAX + 1];
    stream_id_account(sid, c->account_id);
    struct ev_personal_data_forgotten *d =
        &decide_emit(out, EV_PERSONAL_DATA_FORGOTTEN, sid, a->version)
             ->data.personal_data_forgotten;
    COPY(d->account_id, c->account_id);
    return ERR_OK;
}

enum err decide(const struct command *c, const struct world *w, struct decision *out,
                struct err_detail *why)
{
    out->count = 0;
    switch (c->type) {
    case CMD_PLACE_ORDER:
        return decide_place_order(&c->as.place_order, w, out, why);
    case CMD_PAY_ORDER:
        return decide_pay_order(&c->as.pay_order, w, out, why);
    case CMD_SHIP_ORDER:
        return decide_ship_order(&c->as.ship_order, w, out, why);
    case CMD_CANCEL_ORDER:
        return decide_cancel_order(&c->as.cancel_order, w, out, why);
    case CMD_OPEN_ACCOUNT:
        return decide_open_account(&c->as.open_account, w, out, why);
    case CMD_DEPOSIT:
    case CMD_WITHDRAW:
        return decide_funds(c, w, out, why);
    case CMD_TRANSFER_FUNDS:
        return decide_transfer(&c->as.transfer_funds, w, out, why);
    case CMD_CLOSE_ACCOUNT:
        return decide_close_account(&c->as.close_account, w, out, why);
    case CMD_FORGET_PERSONAL_DATA:
        return decide_forget(&c->as.forget, w, out, why);
    case CMD__COUNT:
        break;
    }
    return err_set(why, ERR_INTERNAL, "unknown command type %d", (int)c->type);
}
