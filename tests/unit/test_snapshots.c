/* Unit tests of snapshots: the state codec (every field round trips, anything odd is refused)
 * and the property that decisions over snapshot + tail equal decisions over a full replay. */
#include "codec/snapshot_codec.h"
#include "xalloc.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

/* ---- codec ---- */

static void sample_order(struct order_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = ORDER_CANCELLED;
    s->version = 4;
    snprintf(s->order_id, sizeof s->order_id, "o-1");
    snprintf(s->customer_id, sizeof s->customer_id, "c-1");
    snprintf(s->currency, sizeof s->currency, "EUR");
    s->item_count = 2;
    snprintf(s->items[0].sku, sizeof s->items[0].sku, "A");
    s->items[0].quantity = 2;
    s->items[0].unit_price_cents = 150;
    snprintf(s->items[1].sku, sizeof s->items[1].sku, "B\xc3\xa9");
    s->items[1].quantity = 1;
    s->items[1].unit_price_cents = 0;
    s->total_cents = 300;
    s->paid_cents = 300;
    s->refunded_cents = 300;
    snprintf(s->account_id, sizeof s->account_id, "acc-9");
    snprintf(s->carrier, sizeof s->carrier, "DHL");
    snprintf(s->tracking_number, sizeof s->tracking_number, "T-1");
    snprintf(s->cancel_reason, sizeof s->cancel_reason, "changed \"mind\"");
    s->placed_at_ms = 1764092168123LL;
    s->updated_at_ms = 1764092169456LL;
}

static void sample_account(struct account_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = ACCOUNT_OPEN;
    s->version = 250;
    snprintf(s->account_id, sizeof s->account_id, "acc-9");
    snprintf(s->owner, sizeof s->owner, "Zoë");
    snprintf(s->currency, sizeof s->currency, "USD");
    s->balance_cents = -700;
    s->overdraft_limit_cents = 1000;
    s->opened_at_ms = 1764092168000LL;
    s->updated_at_ms = 1764092170001LL;
}

static char *dump_order(const struct order_state *s)
{
    json_t *j = snapshot_order_to_json(s);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static char *dump_account(const struct account_state *s)
{
    json_t *j = snapshot_account_to_json(s);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

START_TEST(test_state_round_trip)
{
    struct order_state o, *o2 = xmalloc(sizeof *o2);
    struct account_state a, a2;
    struct err_detail why = {0};
    sample_order(&o);
    sample_account(&a);
    char *ot = dump_order(&o), *at = dump_account(&a);
    memset(o2, 0xAB, sizeof *o2);
    memset(&a2, 0xAB, sizeof a2);
    ck_assert_msg(snapshot_decode("order-o-1", 4, ot, o2, NULL, &why), "%s", why.detail);
    ck_assert_msg(snapshot_decode("account-acc-9", 250, at, NULL, &a2, &why), "%s", why.detail);
    ck_assert(memcmp(&o, o2, sizeof o) == 0);
    ck_assert(memcmp(&a, &a2, sizeof a) == 0);
    free(ot);
    free(at);
    free(o2);
}
END_TEST

/* Each case edits one field of a good account snapshot (NULL value: remove it). */
static const struct bad_snapshot_case {
    const char *stream_id;
    int64_t version;
    const char *key, *value;
    const char *detail;
} bad_cases[] = {
    {"account-acc-9", 250, "balance_cents", "1.5",
     "account snapshot field balance_cents: must be an integer"},
    {"account-acc-9", 250, "owner", NULL, "account snapshot field owner: is required"},
    {"account-acc-9", 250, "status", "\"frozen\"", "account snapshot field status: unknown status"},
    {"account-acc-9", 250, "currency", "\"usd\"", "account snapshot field currency: "},
    {"account-acc-9", 250, "version", "0", "account snapshot field version: "},
    {"account-acc-9", 251, NULL, NULL,
     "snapshot of account-acc-9 holds account-acc-9 at version "
     "250, not 251"},
    {"account-other", 250, NULL, NULL, "snapshot of account-other holds account-acc-9"},
    {"order-acc-9", 250, NULL, NULL, "no slot for the snapshot of order-acc-9"},
};

START_TEST(test_state_refused)
{
    const struct bad_snapshot_case *k = &bad_cases[_i];
    struct account_state a;
    struct err_detail why = {0};
    sample_account(&a);
    json_t *j = snapshot_account_to_json(&a);
    if (k->key && k->value)
        json_object_set_new(j, k->key, json_loads(k->value, JSON_DECODE_ANY, NULL));
    else if (k->key)
        json_object_del(j, k->key);
    char *text = json_dumps(j, JSON_COMPACT);
    ck_assert(!snapshot_decode(k->stream_id, k->version, text, NULL, &a, &why));
    ck_assert_msg(strncmp(why.detail, k->detail, strlen(k->detail)) == 0, "%s", why.detail);
    free(text);
    json_decref(j);
}
END_TEST

START_TEST(test_state_garbage)
{
    static const char *const garbage[] = {"", "[]", "\"x\"", "{}", "{\"version\":1}", "nul"};
    struct account_state a;
    struct order_state *o = xmalloc(sizeof *o);
    struct err_detail why = {0};
    for (int i = 0; i < COUNT(garbage); i++) {
        ck_assert(!snapshot_decode("account-a", 1, garbage[i], NULL, &a, &why));
        ck_assert(!snapshot_decode("order-a", 1, garbage[i], o, NULL, &why));
    }
    free(o);
}
END_TEST

/* ---- property: snapshot + tail decides like a full replay ---- */

#define ORDERS   4
#define ACCOUNTS 3
#define STEPS    1000

struct history {
    char stream_id[STREAM_ID_MAX + 1];
    int count, cap;
    struct event *events;
};

struct sim {
    unsigned seed;
    struct history streams[ORDERS + ACCOUNTS];
    int64_t totals[ORDERS]; /* each order's total, so PayOrder is often right */
    int64_t position, now_ms;
};

static int rnd(struct sim *s, int n)
{
    return (int)(rand_r(&s->seed) % (unsigned)n);
}

static struct history *history_of(struct sim *s, const char *stream_id)
{
    for (int i = 0; i < ORDERS + ACCOUNTS; i++)
        if (strcmp(s->streams[i].stream_id, stream_id) == 0)
            return &s->streams[i];
    ck_abort_msg("no stream %s", stream_id);
    return NULL;
}

/* Folds h into w's slot for it: from a snapshot at a random version (through JSON, as stored)
 * when snap is set, else from the start. */
static void load_stream(struct sim *s, struct world *w, const char ids[][STREAM_ID_MAX + 1], int n,
                        const struct history *h, bool snap)
{
    int cut = snap && h->count ? rnd(s, h->count + 1) : 0;
    if (cut > 0) {
        struct world *scratch = xcalloc(1, sizeof *scratch);
        for (int i = 0; i < cut; i++)
            world_evolve(scratch, ids, n, &h->events[i]);
        struct order_state *so, *o;
        struct account_state *sa, *a;
        struct err_detail why = {0};
        world_slot(scratch, ids, n, h->stream_id, &so, &sa);
        world_slot(w, ids, n, h->stream_id, &o, &a);
        char *text = so ? dump_order(so) : dump_account(sa);
        ck_assert_msg(snapshot_decode(h->stream_id, cut, text, o, a, &why), "%s", why.detail);
        free(text);
        free(scratch);
    }
    for (int i = cut; i < h->count; i++)
        world_evolve(w, ids, n, &h->events[i]);
}

struct sim_load {
    struct sim *sim;
    bool snap;
};

/* world_load's loader over the simulated histories, each from a snapshot or from the start. */
static enum err load_streams(void *cls, struct world *w, const char ids[][STREAM_ID_MAX + 1], int n)
{
    struct sim_load *l = cls;
    for (int i = 0; i < n; i++)
        load_stream(l->sim, w, ids, n, history_of(l->sim, ids[i]), l->snap);
    return ERR_OK;
}

/* As the command service loads: world_load with a loader over the histories. */
static void load_world(struct sim *s, const struct command *c, struct world *w, bool snap)
{
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n;
    struct sim_load l = {s, snap};
    ck_assert(world_load(c, w, ids, &n, load_streams, &l) == ERR_OK);
}

static void random_command(struct sim *s, struct command *c)
{
    static const char *const ccy[] = {"EUR", "USD"};
    static const int64_t amounts[] = {1, 50, 700, 5000, 20000};
    char oid[ID_MAX + 1], aid[ID_MAX + 1], bid[ID_MAX + 1];
    int o = rnd(s, ORDERS);
    snprintf(oid, sizeof oid, "o%d", o);
    snprintf(aid, sizeof aid, "a%d", rnd(s, ACCOUNTS));
    snprintf(bid, sizeof bid, "a%d", rnd(s, ACCOUNTS));
    /* Now and then an amount that overflows a balance. */
    int64_t amount = rnd(s, 50) ? amounts[rnd(s, COUNT(amounts))] : MONEY_MAX;
    memset(c, 0, sizeof *c);
    /* Mostly money movements, so account streams grow long; closing is rare. */
    static const enum command_type weighted[] = {
        CMD_DEPOSIT,      CMD_DEPOSIT,        CMD_DEPOSIT,        CMD_DEPOSIT,
        CMD_DEPOSIT,      CMD_DEPOSIT,        CMD_WITHDRAW,       CMD_WITHDRAW,
        CMD_WITHDRAW,     CMD_TRANSFER_FUNDS, CMD_TRANSFER_FUNDS, CMD_TRANSFER_FUNDS,
        CMD_PAY_ORDER,    CMD_PAY_ORDER,      CMD_PLACE_ORDER,    CMD_PLACE_ORDER,
        CMD_SHIP_ORDER,   CMD_CANCEL_ORDER,   CMD_OPEN_ACCOUNT,   CMD_OPEN_ACCOUNT,
        CMD_CLOSE_ACCOUNT};
    c->type = weighted[rnd(s, COUNT(weighted))];
    if (c->type == CMD_CLOSE_ACCOUNT && rnd(s, 5)) /* an early close would end a stream */
        c->type = CMD_DEPOSIT;
    switch (c->type) {
    case CMD_PLACE_ORDER: {
        struct place_order_cmd *p = &c->as.place_order;
        snprintf(p->order_id, sizeof p->order_id, "%s", oid);
        snprintf(p->customer_id, sizeof p->customer_id, "c%d", rnd(s, 2));
        snprintf(p->currency, sizeof p->currency, "%s", ccy[rnd(s, 2)]);
        p->item_count = 1 + rnd(s, 3);
        for (int i = 0; i < p->item_count; i++) {
            snprintf(p->items[i].sku, sizeof p->items[i].sku, "sku%d", i);
            p->items[i].quantity = 1 + rnd(s, 5);
            p->items[i].unit_price_cents = rnd(s, 3000);
        }
        break;
    }
    case CMD_PAY_ORDER:
        snprintf(c->as.pay_order.order_id, ID_MAX + 1, "%s", oid);
        snprintf(c->as.pay_order.account_id, ID_MAX + 1, "%s", aid);
        c->as.pay_order.amount_cents = rnd(s, 4) ? s->totals[o] : amount;
        break;
    case CMD_SHIP_ORDER:
        snprintf(c->as.ship_order.order_id, ID_MAX + 1, "%s", oid);
        snprintf(c->as.ship_order.carrier, TEXT_MAX + 1, "DHL");
        snprintf(c->as.ship_order.tracking_number, TEXT_MAX + 1, "T%d", rnd(s, 100));
        break;
    case CMD_CANCEL_ORDER:
        snprintf(c->as.cancel_order.order_id, ID_MAX + 1, "%s", oid);
        snprintf(c->as.cancel_order.reason, TEXT_MAX + 1, "r%d", rnd(s, 100));
        break;
    case CMD_OPEN_ACCOUNT:
        snprintf(c->as.open_account.account_id, ID_MAX + 1, "%s", aid);
        snprintf(c->as.open_account.owner, TEXT_MAX + 1, "owner %d", rnd(s, 9));
        snprintf(c->as.open_account.currency, 4, "%s", ccy[rnd(s, 2)]);
        c->as.open_account.overdraft_limit_cents = rnd(s, 2) ? 0 : rnd(s, 10000);
        break;
    case CMD_DEPOSIT:
    case CMD_WITHDRAW:
        snprintf(c->as.funds.account_id, ID_MAX + 1, "%s", aid);
        c->as.funds.amount_cents = amount;
        snprintf(c->as.funds.reference, TEXT_MAX + 1, "ref%d", rnd(s, 100));
        break;
    case CMD_TRANSFER_FUNDS:
        snprintf(c->as.transfer_funds.transfer_id, ID_MAX + 1, "t%lld", (long long)s->position);
        snprintf(c->as.transfer_funds.from_account_id, ID_MAX + 1, "%s", aid);
        snprintf(c->as.transfer_funds.to_account_id, ID_MAX + 1, "%s", bid);
        c->as.transfer_funds.amount_cents = amount;
        break;
    default:
        snprintf(c->as.close_account.account_id, ID_MAX + 1, "%s", aid);
        break;
    }
}

/* Stores the decision's events as the database would: positions and times assigned. */
static void append(struct sim *s, const struct decision *d)
{
    s->now_ms += 1 + rnd(s, 5000);
    for (int i = 0; i < d->count; i++) {
        struct history *h = history_of(s, d->events[i].stream_id);
        if (h->count == h->cap) {
            h->cap = h->cap ? h->cap * 2 : 16;
            h->events = xrealloc(h->events, (size_t)h->cap * sizeof *h->events);
        }
        struct event *e = &h->events[h->count++];
        *e = d->events[i];
        ck_assert_int_eq(e->stream_version, h->count);
        e->position = ++s->position;
        e->recorded_at_ms = s->now_ms;
        if (e->type == EV_ORDER_PLACED)
            s->totals[e->data.order_placed.order_id[1] - '0'] = e->data.order_placed.total_cents;
    }
}

static void sim_init(struct sim *s, unsigned seed)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->now_ms = 1764000000000LL;
    for (int i = 0; i < ORDERS; i++)
        snprintf(s->streams[i].stream_id, STREAM_ID_MAX + 1, "order-o%d", i);
    for (int i = 0; i < ACCOUNTS; i++)
        snprintf(s->streams[ORDERS + i].stream_id, STREAM_ID_MAX + 1, "account-a%d", i);
}

START_TEST(test_snapshot_decides_like_replay)
{
    struct sim s;
    struct world *full = xmalloc(sizeof *full), *snap = xmalloc(sizeof *snap);
    struct decision d1, d2;
    int accepted = 0;
    sim_init(&s, 1000u + (unsigned)_i);
    for (int step = 0; step < STEPS; step++) {
        struct command c;
        struct err_detail w1 = {0}, w2 = {0};
        random_command(&s, &c);
        load_world(&s, &c, full, false);
        load_world(&s, &c, snap, true);
        ck_assert_msg(memcmp(full, snap, sizeof *full) == 0, "seed %d step %d: states differ", _i,
                      step);
        enum err r1 = decide(&c, full, &d1, &w1), r2 = decide(&c, snap, &d2, &w2);
        ck_assert_int_eq(r1, r2);
        ck_assert_str_eq(w1.detail, w2.detail);
        if (r1 != ERR_OK)
            continue;
        ck_assert_int_eq(d1.count, d2.count);
        ck_assert(memcmp(d1.events, d2.events, (size_t)d1.count * sizeof d1.events[0]) == 0);
        append(&s, &d1);
        accepted++;
    }
    /* The histories must be worth testing: long streams, many kinds of event. */
    ck_assert_int_gt(accepted, STEPS / 8);
    int longest = 0;
    for (int i = 0; i < ORDERS + ACCOUNTS; i++)
        longest = s.streams[i].count > longest ? s.streams[i].count : longest;
    ck_assert_int_ge(longest, 100);
    for (int i = 0; i < ORDERS + ACCOUNTS; i++)
        free(s.streams[i].events);
    free(full);
    free(snap);
}
END_TEST

static Suite *snapshots_suite(void)
{
    Suite *s = suite_create("snapshots");
    TCase *codec = tcase_create("codec");
    tcase_add_test(codec, test_state_round_trip);
    tcase_add_loop_test(codec, test_state_refused, 0, COUNT(bad_cases));
    tcase_add_test(codec, test_state_garbage);
    suite_add_tcase(s, codec);
    TCase *prop = tcase_create("property");
    tcase_set_timeout(prop, 60);
    tcase_add_loop_test(prop, test_snapshot_decides_like_replay, 0, 20);
    suite_add_tcase(s, prop);
    return s;
}

int main(void)
{
    return run_suite(snapshots_suite());
}
