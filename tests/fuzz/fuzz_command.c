/* libFuzzer target for the write side's pure pipeline: a request body through command_decode,
 * then decide() against a small world, problem+json rendering and the event codec round trip. */
#include "codec/codec.h"
#include "domain/domain.h"
#include "http/http.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Input layout: byte 0 picks the command, byte 1 the world, then "<path id>\n<body>". The ids
 * below are the ones the seed corpus uses, so mutations reach decide()'s rules quickly. */
#define FUZZ_ACCOUNT_A "a1"
#define FUZZ_ACCOUNT_B "b2"
#define FUZZ_ORDER     "o1"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_command: invariant broken: %s\n", what);
    abort();
}

static void event_init(struct event *e, enum event_type t, const char *stream_id, int64_t version)
{
    memset(e, 0, sizeof *e);
    e->type = t;
    snprintf(e->stream_id, sizeof e->stream_id, "%s", stream_id);
    e->stream_version = version;
    e->recorded_at_ms = 1700000000000LL + version;
}

/* An open account with balance (and overdraft) chosen by sel; closed when sel says so. */
static void world_account(struct account_state *a, const char *id, uint8_t sel)
{
    char sid[STREAM_ID_MAX + 1];
    struct event e;
    stream_id_account(sid, id);
    event_init(&e, EV_ACCOUNT_OPENED, sid, 1);
    snprintf(e.data.account_opened.account_id, ID_MAX + 1, "%s", id);
    snprintf(e.data.account_opened.owner, TEXT_MAX + 1, "fuzz");
    snprintf(e.data.account_opened.currency, 4, "%s", (sel & 4) ? "USD" : "EUR");
    e.data.account_opened.overdraft_limit_cents = (sel & 8) ? 500 : 0;
    account_evolve(a, &e);
    event_init(&e, EV_FUNDS_DEPOSITED, sid, 2);
    snprintf(e.data.funds.account_id, ID_MAX + 1, "%s", id);
    e.data.funds.amount_cents = (sel & 16) ? MONEY_MAX : 2500;
    account_evolve(a, &e);
    if (sel & 32) {
        event_init(&e, EV_ACCOUNT_CLOSED, sid, 3);
        snprintf(e.data.account_closed.account_id, ID_MAX + 1, "%s", id);
        account_evolve(a, &e);
    }
}

/* An order placed (and paid by account a1 when sel asks) for a total of 2500. */
static void world_order(struct order_state *o, uint8_t sel)
{
    char sid[STREAM_ID_MAX + 1];
    struct event e;
    stream_id_order(sid, FUZZ_ORDER);
    event_init(&e, EV_ORDER_PLACED, sid, 1);
    struct ev_order_placed *p = &e.data.order_placed;
    snprintf(p->order_id, ID_MAX + 1, FUZZ_ORDER);
    snprintf(p->customer_id, ID_MAX + 1, "c1");
    snprintf(p->currency, 4, "EUR");
    p->item_count = 1;
    snprintf(p->items[0].sku, SKU_MAX + 1, "sku");
    p->items[0].quantity = 1;
    p->items[0].unit_price_cents = p->total_cents = 2500;
    order_evolve(o, &e);
    if (sel & 64) {
        event_init(&e, EV_ORDER_PAID, sid, 2);
        snprintf(e.data.order_paid.order_id, ID_MAX + 1, FUZZ_ORDER);
        snprintf(e.data.order_paid.account_id, ID_MAX + 1, FUZZ_ACCOUNT_A);
        e.data.order_paid.amount_cents = 2500;
        order_evolve(o, &e);
    }
}

/* Fills only the slots whose stream is one of the fixed ids; the rest stay "not found". */
static void world_build(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n, uint8_t sel)
{
    memset(w, 0, sizeof *w);
    int accounts = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(ids[i], "order-", 6) == 0) {
            if ((sel & 1) && strcmp(ids[i] + 6, FUZZ_ORDER) == 0)
                world_order(&w->order, sel);
            continue;
        }
        if (accounts >= 2)
            continue;
        struct account_state *a = &w->account[accounts++];
        const char *id = ids[i] + 8;
        if ((sel & 2) && (strcmp(id, FUZZ_ACCOUNT_A) == 0 || strcmp(id, FUZZ_ACCOUNT_B) == 0))
            world_account(a, id, sel);
    }
}

/* Every emitted event must encode to JSON and decode back to the same data. */
static void check_event_round_trip(const struct event *e)
{
    json_t *data = event_data_to_json(e);
    if (!data)
        fuzz_fail("event_data_to_json returned NULL");
    struct event back;
    memset(&back, 0, sizeof back);
    back.type = e->type;
    struct err_detail why = {0};
    if (event_data_from_json(&back, event_schema_version(e->type), data, &why) != ERR_OK)
        fuzz_fail(why.detail);
    if (memcmp(&back.data, &e->data, sizeof e->data) != 0)
        fuzz_fail("event data changed in a JSON round trip");
    json_decref(data);
}

static void check_decision(const struct decision *d, const char ids[][STREAM_ID_MAX + 1], int n)
{
    if (d->count < 1 || d->count > EVENTS_MAX)
        fuzz_fail("decision with no events or too many");
    for (int i = 0; i < d->count; i++) {
        bool known = false;
        for (int j = 0; j < n; j++)
            known |= strcmp(d->events[i].stream_id, ids[j]) == 0;
        if (!known || d->events[i].stream_version < 1)
            fuzz_fail("event on a stream the command did not load");
        check_event_round_trip(&d->events[i]);
    }
}

/* A problem body must always render as JSON, whatever bytes the detail quotes. */
static void check_problem(enum err rc, const struct err_detail *why)
{
    size_t len = 0;
    char *body = problem_render(rc, why, &len);
    json_t *parsed = body ? json_loadb(body, len, 0, NULL) : NULL;
    if (!parsed)
        fuzz_fail("problem_render produced no JSON");
    json_decref(parsed);
    free(body);
}

/* commands.c generates a UUID for a creating command without an id before decide(). */
static void fill_generated_id(struct command *c)
{
    char *id = c->type == CMD_PLACE_ORDER      ? c->as.place_order.order_id
               : c->type == CMD_OPEN_ACCOUNT   ? c->as.open_account.account_id
               : c->type == CMD_TRANSFER_FUNDS ? c->as.transfer_funds.transfer_id
                                               : NULL;
    if (id && !id[0])
        snprintf(id, ID_MAX + 1, "%s", "0b7c1c4e-9f3d-4d0e-8a57-2f6de1c0a9b1");
}

static void run_one(enum command_type t, uint8_t sel, const char *path_id, const char *body,
                    size_t len)
{
    struct command *c = xcalloc(1, sizeof *c);
    struct world *w = xcalloc(1, sizeof *w);
    struct decision *d = xcalloc(1, sizeof *d);
    struct err_detail why = {0};
    enum err rc = command_decode(t, path_id, body, len, c, &why);
    if (rc != ERR_OK) {
        if (rc != ERR_BAD_JSON && rc != ERR_VALIDATION)
            fuzz_fail("command_decode failed with an unexpected error");
        check_problem(rc, &why);
        goto out;
    }
    fill_generated_id(c);
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n = command_streams(c, NULL, ids);
    world_build(w, (const char(*)[STREAM_ID_MAX + 1]) ids, n, sel);
    n = command_streams(c, w, ids); /* CancelOrder learns its refund account from the order */
    world_build(w, (const char(*)[STREAM_ID_MAX + 1]) ids, n, sel);
    memset(&why, 0, sizeof why);
    rc = decide(c, w, d, &why);
    if (rc == ERR_OK)
        check_decision(d, (const char(*)[STREAM_ID_MAX + 1]) ids, n);
    else
        check_problem(rc, &why);
out:
    free(c);
    free(w);
    free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum command_type t = (enum command_type)(data[0] % CMD__COUNT);
    uint8_t sel = data[1];
    const char *rest = (const char *)data + 2;
    size_t len = size - 2;
    const char *nl = memchr(rest, '\n', len);
    size_t id_len = nl ? (size_t)(nl - rest) : 0;
    /* The server hands decode a NUL-terminated id that the router checked with id_is_valid. */
    char *path_id = xmalloc(id_len + 1);
    memcpy(path_id, rest, id_len);
    path_id[id_len] = '\0';
    const char *body = nl ? nl + 1 : rest;
    size_t body_len = len - (size_t)(body - rest);
    /* Like server.c's body_append: a NUL-terminated copy of exactly body_len bytes. */
    char *copy = xmalloc(body_len + 1);
    memcpy(copy, body, body_len);
    copy[body_len] = '\0';
    run_one(t, sel, id_is_valid(path_id) ? path_id : NULL, body_len ? copy : NULL, body_len);
    free(copy);
    free(path_id);
    return 0;
}
