/* Unit tests of the pure domain: decide() as given events + command -> events or error, the
 * evolve folds, stream routing, names and the err table. Cases are tables run by loop tests. */
#include "domain/domain.h"
#include "err.h"

#include "run_suite.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- event builders: "vt" is G(v) for stored history, W(v) for what decide must emit ---- */

#define G(v) (v), 1000 * (v)
#define W(v) (v), 0
#define HEAD(t, sid, v, at)                                                                        \
    .type = (t), .stream_id = sid, .stream_version = (v), .recorded_at_ms = (at)

#define PLACED(id, vt) PLACED_(id, vt)
#define PLACED_(id, v, at)                                                                         \
    {                                                                                              \
        HEAD(EV_ORDER_PLACED, "order-" id, v, at),                                                 \
            .data.order_placed = {.order_id = id,                                                  \
                                  .customer_id = "cust-1",                                         \
                                  .currency = "USD",                                               \
                                  .item_count = 2,                                                 \
                                  .items = {{"sku-a", 2, 500}, {"sku-b", 1, 1000}},                \
                                  .total_cents = 2000},                                            \
    }
#define PAID(id, vt, acct, amt) PAID_(id, vt, acct, amt)
#define PAID_(id, v, at, acct, amt)                                                                \
    {                                                                                              \
        HEAD(EV_ORDER_PAID, "order-" id, v, at), .data.order_paid = { id, acct, amt }              \
    }
#define SHIPPED(id, vt) SHIPPED_(id, vt)
#define SHIPPED_(id, v, at)                                                                        \
    {                                                                                              \
        HEAD(EV_ORDER_SHIPPED, "order-" id, v, at), .data.order_shipped = { id, "DHL", "TRK-1" }   \
    }
#define CANCELLED(id, vt, why, refund) CANCELLED_(id, vt, why, refund)
#define CANCELLED_(id, v, at, why, refund)                                                         \
    {                                                                                              \
        HEAD(EV_ORDER_CANCELLED, "order-" id, v, at), .data.order_cancelled = { id, why, refund }  \
    }
#define OPENED(id, vt, ccy, od) OPENED_(id, vt, ccy, od)
#define OPENED_(id, v, at, ccy, od)                                                                \
    {                                                                                              \
        HEAD(EV_ACCOUNT_OPENED, "account-" id, v, at), .data.account_opened = {                    \
            id,                                                                                    \
            "Alice",                                                                               \
            ccy,                                                                                   \
            od                                                                                     \
        }                                                                                          \
    }
#define FUNDS(t, id, vt, amt, ref) FUNDS_(t, id, vt, amt, ref)
#define FUNDS_(t, id, v, at, amt, ref)                                                             \
    {                                                                                              \
        HEAD(t, "account-" id, v, at), .data.funds = { id, amt, ref }                              \
    }
#define DEPOSITED(id, vt, amt)          FUNDS_(EV_FUNDS_DEPOSITED, id, vt, amt, "r")
#define WITHDRAWN(id, vt, amt)          FUNDS_(EV_FUNDS_WITHDRAWN, id, vt, amt, "r")
#define XFER(t, sid, vt, from, to, amt) XFER_(t, sid, vt, from, to, amt)
#define XFER_(t, sid, v, at, from, to, amt)                                                        \
    {                                                                                              \
        HEAD(t, sid, v, at), .data.transfer = { "t1", from, to, amt }                              \
    }
#define CLOSED(id, vt) CLOSED_(id, vt)
#define CLOSED_(id, v, at)                                                                         \
    {                                                                                              \
        HEAD(EV_ACCOUNT_CLOSED, "account-" id, v, at), .data.account_closed = { id }               \
    }

#define EVENTS(...)                                                                                \
    (const struct event[]){__VA_ARGS__},                                                           \
        (int)(sizeof((const struct event[]){__VA_ARGS__}) / sizeof(struct event))
#define GIVEN(...) .given = EVENTS(__VA_ARGS__)
#define WANT(...)  .want = EVENTS(__VA_ARGS__)

/* a1 is a USD account holding 5000 at version 2; b1 an empty USD account at version 1. */
#define A1_5000 OPENED("a1", G(1), "USD", 0), DEPOSITED("a1", G(2), 5000)
#define B1      OPENED("b1", G(1), "USD", 0)

#define PLACE(id, q, p)                                                                            \
    .type = CMD_PLACE_ORDER,                                                                       \
    .as.place_order = {id, "cust-1", "USD", 2, {{"sku-a", q, p}, {"sku-b", 1, 1000}}}
#define PAY(amt)           .type = CMD_PAY_ORDER, .as.pay_order = {"o1", "a1", amt}
#define SHIP               .type = CMD_SHIP_ORDER, .as.ship_order = {"o1", "DHL", "TRK-1"}
#define CANCEL             .type = CMD_CANCEL_ORDER, .as.cancel_order = {"o1", "changed mind"}
#define OPEN(id, ccy, od)  .type = CMD_OPEN_ACCOUNT, .as.open_account = {id, "Alice", ccy, od}
#define DEPOSIT(amt)       .type = CMD_DEPOSIT, .as.funds = {"a1", amt, "ref-1"}
#define WITHDRAW(amt)      .type = CMD_WITHDRAW, .as.funds = {"a1", amt, "ref-1"}
#define TRANSFER(f, t, am) .type = CMD_TRANSFER_FUNDS, .as.transfer_funds = {"t1", f, t, am}
#define CLOSE              .type = CMD_CLOSE_ACCOUNT, .as.close_account = {"a1"}

struct decide_case {
    const char *name;
    const struct event *given;
    int ngiven;
    struct command cmd;
    enum err err;
    const char *detail; /* substring the detail must hold, for refusals */
    const char *field;  /* a field error that must be present */
    int nfields;        /* exact number of field errors, when > 0 */
    const struct event *want;
    int nwant;
};

static const struct decide_case decide_cases[] = {
    /* PlaceOrder */
    {"place ok", .cmd = {PLACE("o1", 2, 500)}, WANT(PLACED("o1", W(1)))},
    {"place max quantity and price", .cmd = {PLACE("o1", 10000, 1000000000)},
     WANT({HEAD(EV_ORDER_PLACED, "order-o1", 1, 0),
           .data.order_placed = {"o1",
                                 "cust-1",
                                 "USD",
                                 2,
                                 {{"sku-a", 10000, 1000000000}, {"sku-b", 1, 1000}},
                                 10000000001000LL}})},
    {"place exists", GIVEN(PLACED("o1", G(1))), .cmd = {PLACE("o1", 2, 500)}, ERR_EXISTS,
     "order o1 already exists"},
    {"place bad order id", .cmd = {PLACE("bad id", 2, 500)}, ERR_VALIDATION, "", "order_id", 1},
    {"place bad customer",
     .cmd = {.type = CMD_PLACE_ORDER, .as.place_order = {"o1", "", "USD", 1, {{"s", 1, 1}}}},
     ERR_VALIDATION, "", "customer_id", 1},
    {"place bad currency",
     .cmd = {.type = CMD_PLACE_ORDER, .as.place_order = {"o1", "c", "usd", 1, {{"s", 1, 1}}}},
     ERR_VALIDATION, "", "currency", 1},
    {"place no items", .cmd = {.type = CMD_PLACE_ORDER, .as.place_order = {"o1", "c", "USD", 0}},
     ERR_VALIDATION, "", "items", 1},
    {"place 101 items", .cmd = {.type = CMD_PLACE_ORDER, .as.place_order = {"o1", "c", "USD", 101}},
     ERR_VALIDATION, "", "items"},
    {"place quantity 0", .cmd = {PLACE("o1", 0, 500)}, ERR_VALIDATION, "", "items[0].quantity", 1},
    {"place quantity 10001", .cmd = {PLACE("o1", 10001, 500)}, ERR_VALIDATION, "",
     "items[0].quantity", 1},
    {"place price -1", .cmd = {PLACE("o1", 1, -1)}, ERR_VALIDATION, "", "items[0].unit_price_cents",
     1},
    {"place price 10^9+1", .cmd = {PLACE("o1", 1, 1000000001)}, ERR_VALIDATION, "",
     "items[0].unit_price_cents", 1},
    {"place empty sku",
     .cmd = {.type = CMD_PLACE_ORDER, .as.place_order = {"o1", "c", "USD", 1, {{"", 1, 1}}}},
     ERR_VALIDATION, "", "items[0].sku", 1},
    {"place collects every field",
     .cmd = {.type = CMD_PLACE_ORDER, .as.place_order = {"o1", "c", "EU", 1, {{"s", 0, -5}}}},
     ERR_VALIDATION, "", "items[0].unit_price_cents", 3},
    /* PayOrder */
    {"pay ok", GIVEN(PLACED("o1", G(1)), A1_5000), .cmd = {PAY(2000)},
     WANT(PAID("o1", W(2), "a1", 2000), FUNDS(EV_FUNDS_WITHDRAWN, "a1", W(3), 2000, "order:o1"))},
    {"pay into overdraft limit", GIVEN(PLACED("o1", G(1)), OPENED("a1", G(1), "USD", 2000)),
     .cmd = {PAY(2000)},
     WANT(PAID("o1", W(2), "a1", 2000), FUNDS(EV_FUNDS_WITHDRAWN, "a1", W(2), 2000, "order:o1"))},
    {"pay order missing", GIVEN(A1_5000), .cmd = {PAY(2000)}, ERR_NOT_FOUND, "order o1"},
    {"pay both missing", .cmd = {PAY(2000)}, ERR_NOT_FOUND, "order o1"},
    {"pay account missing", GIVEN(PLACED("o1", G(1))), .cmd = {PAY(2000)}, ERR_NOT_FOUND,
     "account a1"},
    {"pay already paid", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), A1_5000),
     .cmd = {PAY(2000)}, ERR_ORDER_STATE, "order o1 is paid, not placed"},
    {"pay cancelled", GIVEN(PLACED("o1", G(1)), CANCELLED("o1", G(2), "x", 0), A1_5000),
     .cmd = {PAY(2000)}, ERR_ORDER_STATE, "is cancelled"},
    {"pay state before closed",
     GIVEN(PLACED("o1", G(1)), SHIPPED("o1", G(2)), A1_5000, CLOSED("a1", G(3))),
     .cmd = {PAY(2000)}, ERR_ORDER_STATE, "is shipped"},
    {"pay wrong amount", GIVEN(PLACED("o1", G(1)), A1_5000), .cmd = {PAY(1999)}, ERR_AMOUNT,
     "1999"},
    {"pay amount before closed", GIVEN(PLACED("o1", G(1)), A1_5000, CLOSED("a1", G(3))),
     .cmd = {PAY(1)}, ERR_AMOUNT},
    {"pay account closed", GIVEN(PLACED("o1", G(1)), A1_5000, CLOSED("a1", G(3))),
     .cmd = {PAY(2000)}, ERR_ACCOUNT_CLOSED, "account a1 is closed"},
    {"pay currency", GIVEN(PLACED("o1", G(1)), OPENED("a1", G(1), "EUR", 9000)), .cmd = {PAY(2000)},
     ERR_CURRENCY, "EUR"},
    {"pay no funds",
     GIVEN(PLACED("o1", G(1)), OPENED("a1", G(1), "USD", 1000), DEPOSITED("a1", G(2), 999)),
     .cmd = {PAY(2000)}, ERR_NO_FUNDS, "account a1"},
    /* ShipOrder */
    {"ship ok", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000)), .cmd = {SHIP},
     WANT(SHIPPED("o1", W(3)))},
    {"ship missing", .cmd = {SHIP}, ERR_NOT_FOUND, "order o1"},
    {"ship placed", GIVEN(PLACED("o1", G(1))), .cmd = {SHIP}, ERR_ORDER_STATE,
     "order o1 is placed, not paid"},
    {"ship twice", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), SHIPPED("o1", G(3))),
     .cmd = {SHIP}, ERR_ORDER_STATE, "is shipped"},
    {"ship cancelled", GIVEN(PLACED("o1", G(1)), CANCELLED("o1", G(2), "x", 0)), .cmd = {SHIP},
     ERR_ORDER_STATE, "is cancelled"},
    /* CancelOrder */
    {"cancel placed", GIVEN(PLACED("o1", G(1))), .cmd = {CANCEL},
     WANT(CANCELLED("o1", W(2), "changed mind", 0))},
    {"cancel paid refunds",
     GIVEN(PLACED("o1", G(1)), A1_5000, PAID("o1", G(2), "a1", 2000), WITHDRAWN("a1", G(3), 2000)),
     .cmd = {CANCEL},
     WANT(CANCELLED("o1", W(3), "changed mind", 2000),
          FUNDS(EV_FUNDS_DEPOSITED, "a1", W(4), 2000, "refund:o1"))},
    {"cancel missing", .cmd = {CANCEL}, ERR_NOT_FOUND, "order o1"},
    {"cancel paid account missing", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000)),
     .cmd = {CANCEL}, ERR_NOT_FOUND, "account a1"},
    {"cancel paid account closed",
     GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), A1_5000, CLOSED("a1", G(3))),
     .cmd = {CANCEL}, ERR_ACCOUNT_CLOSED, "account a1"},
    {"cancel refund overflows",
     GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), OPENED("a1", G(1), "USD", 0),
           DEPOSITED("a1", G(2), MONEY_MAX - 1999)),
     .cmd = {CANCEL}, ERR_OVERFLOW, "a1"},
    {"cancel shipped", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), SHIPPED("o1", G(3))),
     .cmd = {CANCEL}, ERR_ORDER_STATE, "is shipped"},
    {"cancel twice", GIVEN(PLACED("o1", G(1)), CANCELLED("o1", G(2), "x", 0)), .cmd = {CANCEL},
     ERR_ORDER_STATE, "is cancelled"},
    /* OpenAccount */
    {"open ok", .cmd = {OPEN("a1", "USD", 500)}, WANT(OPENED("a1", W(1), "USD", 500))},
    {"open max overdraft", .cmd = {OPEN("a1", "USD", MONEY_MAX)},
     WANT(OPENED("a1", W(1), "USD", MONEY_MAX))},
    {"open exists", GIVEN(B1, OPENED("a1", G(1), "EUR", 0)), .cmd = {OPEN("a1", "USD", 0)},
     ERR_EXISTS, "account a1 already exists"},
    {"open negative overdraft", .cmd = {OPEN("a1", "USD", -1)}, ERR_VALIDATION, "",
     "overdraft_limit_cents", 1},
    {"open overdraft too big", .cmd = {OPEN("a1", "USD", MONEY_MAX + 1)}, ERR_VALIDATION, "",
     "overdraft_limit_cents", 1},
    {"open bad currency", .cmd = {OPEN("a1", "US", 0)}, ERR_VALIDATION, "", "currency", 1},
    /* Deposit */
    {"deposit ok", GIVEN(A1_5000), .cmd = {DEPOSIT(700)},
     WANT(FUNDS(EV_FUNDS_DEPOSITED, "a1", W(3), 700, "ref-1"))},
    {"deposit to max", GIVEN(A1_5000), .cmd = {DEPOSIT(MONEY_MAX - 5000)},
     WANT(FUNDS(EV_FUNDS_DEPOSITED, "a1", W(3), MONEY_MAX - 5000, "ref-1"))},
    {"deposit missing", GIVEN(B1), .cmd = {DEPOSIT(700)}, ERR_NOT_FOUND, "account a1"},
    {"deposit closed", GIVEN(OPENED("a1", G(1), "USD", 0), CLOSED("a1", G(2))),
     .cmd = {DEPOSIT(700)}, ERR_ACCOUNT_CLOSED, "account a1 is closed"},
    {"deposit closed before amount", GIVEN(OPENED("a1", G(1), "USD", 0), CLOSED("a1", G(2))),
     .cmd = {DEPOSIT(0)}, ERR_ACCOUNT_CLOSED},
    {"deposit zero", GIVEN(A1_5000), .cmd = {DEPOSIT(0)}, ERR_VALIDATION, "", "amount_cents", 1},
    {"deposit too big", GIVEN(A1_5000), .cmd = {DEPOSIT(MONEY_MAX + 1)}, ERR_VALIDATION, "",
     "amount_cents", 1},
    {"deposit overflow", GIVEN(A1_5000), .cmd = {DEPOSIT(MONEY_MAX - 4999)}, ERR_OVERFLOW, "a1"},
    /* Withdraw */
    {"withdraw all", GIVEN(A1_5000), .cmd = {WITHDRAW(5000)},
     WANT(FUNDS(EV_FUNDS_WITHDRAWN, "a1", W(3), 5000, "ref-1"))},
    {"withdraw to overdraft limit", GIVEN(OPENED("a1", G(1), "USD", 500)), .cmd = {WITHDRAW(500)},
     WANT(FUNDS(EV_FUNDS_WITHDRAWN, "a1", W(2), 500, "ref-1"))},
    {"withdraw past overdraft", GIVEN(OPENED("a1", G(1), "USD", 500)), .cmd = {WITHDRAW(501)},
     ERR_NO_FUNDS, "account a1"},
    {"withdraw no funds", GIVEN(A1_5000), .cmd = {WITHDRAW(5001)}, ERR_NO_FUNDS},
    {"withdraw missing", .cmd = {WITHDRAW(1)}, ERR_NOT_FOUND, "account a1"},
    {"withdraw closed", GIVEN(OPENED("a1", G(1), "USD", 0), CLOSED("a1", G(2))),
     .cmd = {WITHDRAW(1)}, ERR_ACCOUNT_CLOSED},
    {"withdraw negative", GIVEN(A1_5000), .cmd = {WITHDRAW(-5)}, ERR_VALIDATION, "", "amount_cents",
     1},
    /* TransferFunds */
    {"transfer ok", GIVEN(A1_5000, B1), .cmd = {TRANSFER("a1", "b1", 1500)},
     WANT(XFER(EV_TRANSFER_SENT, "account-a1", W(3), "a1", "b1", 1500),
          XFER(EV_TRANSFER_RECEIVED, "account-b1", W(2), "a1", "b1", 1500))},
    {"transfer to self", GIVEN(A1_5000), .cmd = {TRANSFER("a1", "a1", 1)}, ERR_VALIDATION, "",
     "to_account_id", 1},
    {"transfer zero", GIVEN(A1_5000, B1), .cmd = {TRANSFER("a1", "b1", 0)}, ERR_VALIDATION, "",
     "amount_cents", 1},
    {"transfer from missing", GIVEN(B1), .cmd = {TRANSFER("a1", "b1", 1)}, ERR_NOT_FOUND,
     "account a1"},
    {"transfer to missing", GIVEN(A1_5000), .cmd = {TRANSFER("a1", "b1", 1)}, ERR_NOT_FOUND,
     "account b1"},
    {"transfer missing before closed", GIVEN(A1_5000, CLOSED("a1", G(3))),
     .cmd = {TRANSFER("a1", "b1", 1)}, ERR_NOT_FOUND, "account b1"},
    {"transfer from closed", GIVEN(A1_5000, CLOSED("a1", G(3)), B1),
     .cmd = {TRANSFER("a1", "b1", 1)}, ERR_ACCOUNT_CLOSED, "account a1"},
    {"transfer to closed", GIVEN(A1_5000, B1, CLOSED("b1", G(2))), .cmd = {TRANSFER("a1", "b1", 1)},
     ERR_ACCOUNT_CLOSED, "account b1"},
    {"transfer currency", GIVEN(A1_5000, OPENED("b1", G(1), "EUR", 0)),
     .cmd = {TRANSFER("a1", "b1", 1)}, ERR_CURRENCY, "EUR"},
    {"transfer no funds", GIVEN(A1_5000, B1), .cmd = {TRANSFER("a1", "b1", 5001)}, ERR_NO_FUNDS,
     "account a1"},
    {"transfer receiver overflow", GIVEN(A1_5000, B1, DEPOSITED("b1", G(2), MONEY_MAX)),
     .cmd = {TRANSFER("a1", "b1", 1)}, ERR_OVERFLOW, "account b1"},
    /* CloseAccount */
    {"close ok", GIVEN(A1_5000, WITHDRAWN("a1", G(3), 5000)), .cmd = {CLOSE},
     WANT(CLOSED("a1", W(4)))},
    {"close missing", .cmd = {CLOSE}, ERR_NOT_FOUND, "account a1"},
    {"close closed", GIVEN(OPENED("a1", G(1), "USD", 0), CLOSED("a1", G(2))), .cmd = {CLOSE},
     ERR_ACCOUNT_CLOSED},
    {"close not empty", GIVEN(A1_5000), .cmd = {CLOSE}, ERR_ACCOUNT_NOT_EMPTY, "5000"},
    {"close overdrawn", GIVEN(OPENED("a1", G(1), "USD", 10), WITHDRAWN("a1", G(2), 10)),
     .cmd = {CLOSE}, ERR_ACCOUNT_NOT_EMPTY, "-10"},
};

/* world_load's loader over a case's history: fold every given event into the listed streams. */
static enum err fold_given(void *cls, struct world *w, const char ids[][STREAM_ID_MAX + 1], int n)
{
    const struct decide_case *dc = cls;
    for (int i = 0; i < dc->ngiven; i++)
        world_evolve(w, ids, n, &dc->given[i]);
    return ERR_OK;
}

/* Loads the world as a caller does (CancelOrder of a paid order adds the refund account). */
static void load_world(const struct decide_case *dc, struct world *w)
{
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n;
    ck_assert(world_load(&dc->cmd, w, ids, &n, fold_given, (void *)dc) == ERR_OK);
}

/* A loader that counts its calls and folds a case's history, or fails with fail. */
struct counting_loader {
    const struct decide_case *dc;
    int calls;
    enum err fail;
};

static enum err count_and_fold(void *cls, struct world *w, const char ids[][STREAM_ID_MAX + 1],
                               int n)
{
    struct counting_loader *l = cls;
    l->calls++;
    return l->fail != ERR_OK ? l->fail : fold_given((void *)l->dc, w, ids, n);
}

static const struct decide_case *case_named(const char *name)
{
    for (size_t i = 0; i < sizeof decide_cases / sizeof decide_cases[0]; i++)
        if (strcmp(decide_cases[i].name, name) == 0)
            return &decide_cases[i];
    ck_abort_msg("no case %s", name);
    return NULL;
}

/* A paid order's cancel loads twice (the refund account appears); an unpaid one once; a
 * loader's error ends the load. */
START_TEST(test_world_load)
{
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n;
    struct world *w = calloc(1, sizeof *w);
    struct counting_loader paid = {case_named("cancel paid refunds"), 0, ERR_OK};
    ck_assert(world_load(&paid.dc->cmd, w, ids, &n, count_and_fold, &paid) == ERR_OK);
    ck_assert_int_eq(paid.calls, 2);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(ids[1], "account-a1");
    struct counting_loader placed = {case_named("cancel placed"), 0, ERR_OK};
    ck_assert(world_load(&placed.dc->cmd, w, ids, &n, count_and_fold, &placed) == ERR_OK);
    ck_assert_int_eq(placed.calls, 1);
    ck_assert_int_eq(n, 1);
    struct counting_loader down = {case_named("cancel paid refunds"), 0, ERR_DB_DOWN};
    ck_assert(world_load(&down.dc->cmd, w, ids, &n, count_and_fold, &down) == ERR_DB_DOWN);
    ck_assert_int_eq(down.calls, 1);
    free(w);
}
END_TEST

static void assert_event_eq(const struct event *got, const struct event *want)
{
    ck_assert_str_eq(event_type_name(got->type), event_type_name(want->type));
    ck_assert_str_eq(got->stream_id, want->stream_id);
    ck_assert_int_eq(got->stream_version, want->stream_version);
    ck_assert_int_eq(got->position, 0);
    ck_assert_int_eq(got->recorded_at_ms, 0);
    /* Both sides are zero-filled past each string, so whole-payload equality checks every
     * field, including items and totals; the string checks above give readable failures. */
    ck_assert_mem_eq(&got->data, &want->data, sizeof got->data);
}

static bool has_field(const struct err_detail *why, const char *field)
{
    for (int i = 0; i < why->field_count; i++) {
        if (strcmp(why->fields[i].field, field) == 0)
            return why->fields[i].message[0] != '\0';
    }
    return false;
}

START_TEST(test_decide)
{
    const struct decide_case *dc = &decide_cases[_i];
    struct world *w = calloc(1, sizeof *w);
    struct decision *out = calloc(1, sizeof *out);
    struct err_detail why = {0};
    load_world(dc, w);
    enum err e = decide(&dc->cmd, w, out, &why);
    ck_assert_msg(e == dc->err, "%s: got %s (%s), want %s", dc->name, err_name(e), why.detail,
                  err_name(dc->err));
    if (dc->err == ERR_OK) {
        ck_assert_int_eq(out->count, dc->nwant);
        for (int i = 0; i < dc->nwant; i++)
            assert_event_eq(&out->events[i], &dc->want[i]);
    } else {
        ck_assert_int_eq(out->count, 0);
        ck_assert_msg(why.detail[0] != '\0', "%s: empty detail", dc->name);
        if (dc->detail != NULL)
            ck_assert_msg(strstr(why.detail, dc->detail) != NULL, "%s: detail '%s' lacks '%s'",
                          dc->name, why.detail, dc->detail);
        if (dc->field != NULL)
            ck_assert_msg(has_field(&why, dc->field), "%s: no field error %s", dc->name, dc->field);
        if (dc->nfields > 0)
            ck_assert_int_eq(why.field_count, dc->nfields);
    }
    free(w);
    free(out);
}
END_TEST

/* decide must not need why: refusals with why == NULL still return the code. */
START_TEST(test_decide_null_why)
{
    struct world w = {0};
    struct decision out;
    struct command c = {CLOSE};
    ck_assert_int_eq(decide(&c, &w, &out, NULL), ERR_NOT_FOUND);
    struct command p = {.type = CMD_PLACE_ORDER, .as.place_order = {"o 1", "c", "x", 0}};
    ck_assert_int_eq(decide(&p, &w, &out, NULL), ERR_VALIDATION);
}
END_TEST

/* ---- evolve ---- */

struct evolve_case {
    const char *name;
    const struct event *given;
    int ngiven;
    enum order_status order_status;
    enum account_status account_status;
    int64_t version, updated_at_ms;
    int64_t paid_cents, refunded_cents; /* order cases */
    int64_t balance_cents;              /* account cases */
};

static const struct evolve_case evolve_cases[] = {
    {"placed", GIVEN(PLACED("o1", G(1))), ORDER_PLACED, 0, 1, 1000},
    {"paid", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000)), ORDER_PAID, 0, 2, 2000, 2000},
    {"shipped", GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), SHIPPED("o1", G(3))),
     ORDER_SHIPPED, 0, 3, 3000, 2000},
    {"cancelled after pay",
     GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", 2000), CANCELLED("o1", G(3), "x", 2000)),
     ORDER_CANCELLED, 0, 3, 3000, 2000, 2000},
    {"paid saturates",
     GIVEN(PLACED("o1", G(1)), PAID("o1", G(2), "a1", INT64_MAX), PAID("o1", G(3), "a1", 5)),
     ORDER_PAID, 0, 3, 3000, INT64_MAX},
    {"order ignores account events", GIVEN(PLACED("o1", G(1)), DEPOSITED("a1", G(7), 5)),
     ORDER_PLACED, 0, 1, 1000},
    {"opened", GIVEN(OPENED("a1", G(1), "USD", 300)), 0, ACCOUNT_OPEN, 1, 1000},
    {"every money event",
     GIVEN(OPENED("a1", G(1), "USD", 0), DEPOSITED("a1", G(2), 1000), WITHDRAWN("a1", G(3), 300),
           XFER(EV_TRANSFER_SENT, "account-a1", G(4), "a1", "b1", 200),
           XFER(EV_TRANSFER_RECEIVED, "account-a1", G(5), "b1", "a1", 50)),
     0, ACCOUNT_OPEN, 5, 5000, .balance_cents = 550},
    {"closed", GIVEN(OPENED("a1", G(1), "USD", 0), CLOSED("a1", G(2))), 0, ACCOUNT_CLOSED, 2, 2000},
    {"deposit saturates",
     GIVEN(OPENED("a1", G(1), "USD", 0), DEPOSITED("a1", G(2), INT64_MAX),
           XFER(EV_TRANSFER_RECEIVED, "account-a1", G(3), "b1", "a1", 9)),
     0, ACCOUNT_OPEN, 3, 3000, .balance_cents = INT64_MAX},
    {"withdraw saturates",
     GIVEN(OPENED("a1", G(1), "USD", 0), WITHDRAWN("a1", G(2), INT64_MAX),
           XFER(EV_TRANSFER_SENT, "account-a1", G(3), "a1", "b1", 9)),
     0, ACCOUNT_OPEN, 3, 3000, .balance_cents = INT64_MIN},
    {"account ignores order events", GIVEN(OPENED("a1", G(1), "USD", 0), PLACED("o1", G(4))), 0,
     ACCOUNT_OPEN, 1, 1000},
};

static void assert_order_fields(const struct order_state *o, const struct evolve_case *ec)
{
    ck_assert_str_eq(order_status_name(o->status), order_status_name(ec->order_status));
    ck_assert_str_eq(o->order_id, "o1");
    ck_assert_str_eq(o->customer_id, "cust-1");
    ck_assert_str_eq(o->currency, "USD");
    ck_assert_int_eq(o->item_count, 2);
    ck_assert_str_eq(o->items[1].sku, "sku-b");
    ck_assert_int_eq(o->items[0].quantity, 2);
    ck_assert_int_eq(o->items[0].unit_price_cents, 500);
    ck_assert_int_eq(o->total_cents, 2000);
    ck_assert_int_eq(o->placed_at_ms, 1000);
    ck_assert_int_eq(o->paid_cents, ec->paid_cents);
    ck_assert_int_eq(o->refunded_cents, ec->refunded_cents);
    ck_assert_str_eq(o->account_id, o->status >= ORDER_PAID && ec->paid_cents ? "a1" : "");
    ck_assert_str_eq(o->carrier, o->status == ORDER_SHIPPED ? "DHL" : "");
    ck_assert_str_eq(o->tracking_number, o->status == ORDER_SHIPPED ? "TRK-1" : "");
    ck_assert_str_eq(o->cancel_reason, o->status == ORDER_CANCELLED ? "x" : "");
}

static void assert_account_fields(const struct account_state *a, const struct evolve_case *ec)
{
    ck_assert_str_eq(account_status_name(a->status), account_status_name(ec->account_status));
    ck_assert_str_eq(a->account_id, "a1");
    ck_assert_str_eq(a->owner, "Alice");
    ck_assert_str_eq(a->currency, "USD");
    ck_assert_int_eq(a->opened_at_ms, 1000);
    ck_assert_int_eq(a->balance_cents, ec->balance_cents);
}

/* Folds the whole history through the case's own aggregate, so events of the other kind must
 * leave it untouched. */
START_TEST(test_evolve)
{
    const struct evolve_case *ec = &evolve_cases[_i];
    bool is_order = ec->order_status != ORDER_NONE;
    struct order_state *o = calloc(1, sizeof *o);
    struct account_state a = {0};
    for (int i = 0; i < ec->ngiven; i++) {
        if (is_order)
            order_evolve(o, &ec->given[i]);
        else
            account_evolve(&a, &ec->given[i]);
    }
    ck_assert_int_eq(is_order ? o->version : a.version, ec->version);
    ck_assert_int_eq(is_order ? o->updated_at_ms : a.updated_at_ms, ec->updated_at_ms);
    if (is_order)
        assert_order_fields(o, ec);
    else
        assert_account_fields(&a, ec);
    free(o);
}
END_TEST

/* Opening starts the balance at zero whatever the state held, and keeps the overdraft limit. */
START_TEST(test_evolve_opened_fields)
{
    struct account_state a = {.balance_cents = 77};
    const struct event e = OPENED("zz", G(1), "EUR", 300);
    account_evolve(&a, &e);
    ck_assert_int_eq(a.balance_cents, 0);
    ck_assert_int_eq(a.overdraft_limit_cents, 300);
    ck_assert_str_eq(a.currency, "EUR");
    ck_assert_str_eq(a.account_id, "zz");
}
END_TEST

/* ---- command_streams and world_evolve ---- */

struct streams_case {
    struct command cmd;
    enum order_status order_status; /* of the world passed in */
    int n;
    const char *ids[2];
};

static const struct streams_case streams_cases[] = {
    {{PLACE("o1", 1, 1)}, 0, 1, {"order-o1"}},
    {{PAY(1)}, 0, 2, {"order-o1", "account-a1"}},
    {{SHIP}, ORDER_PAID, 1, {"order-o1"}},
    {{CANCEL}, ORDER_NONE, 1, {"order-o1"}},
    {{CANCEL}, ORDER_PLACED, 1, {"order-o1"}},
    {{CANCEL}, ORDER_PAID, 2, {"order-o1", "account-payer"}},
    {{CANCEL}, ORDER_SHIPPED, 1, {"order-o1"}},
    {{OPEN("a1", "USD", 0)}, 0, 1, {"account-a1"}},
    {{DEPOSIT(1)}, 0, 1, {"account-a1"}},
    {{WITHDRAW(1)}, 0, 1, {"account-a1"}},
    {{TRANSFER("a1", "b1", 1)}, 0, 2, {"account-a1", "account-b1"}},
    {{CLOSE}, 0, 1, {"account-a1"}},
};

START_TEST(test_command_streams)
{
    const struct streams_case *sc = &streams_cases[_i];
    struct world *w = calloc(1, sizeof *w);
    w->order.status = sc->order_status;
    w->order.version = sc->order_status != ORDER_NONE ? 2 : 0;
    snprintf(w->order.account_id, sizeof w->order.account_id, "payer");
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n = command_streams(&sc->cmd, w, ids);
    ck_assert_int_eq(n, sc->n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(ids[i], sc->ids[i]);
    free(w);
}
END_TEST

START_TEST(test_world_evolve_routing)
{
    struct world *w = calloc(1, sizeof *w);
    const char ids[2][STREAM_ID_MAX + 1] = {"account-a1", "account-b1"};
    const struct event to_b = OPENED("b1", G(1), "USD", 0);
    const struct event unknown = OPENED("c1", G(1), "USD", 0);
    world_evolve(w, ids, 2, &unknown);
    ck_assert_int_eq(w->account[0].version + w->account[1].version + w->order.version, 0);
    world_evolve(w, ids, 2, &to_b);
    ck_assert_int_eq(w->account[0].version, 0);
    ck_assert_str_eq(w->account[1].account_id, "b1");

    /* With an order first, the first account stream is account[0]. */
    memset(w, 0, sizeof *w);
    const char mixed[2][STREAM_ID_MAX + 1] = {"order-o1", "account-a1"};
    const struct event placed = PLACED("o1", G(1));
    const struct event opened = OPENED("a1", G(1), "USD", 0);
    world_evolve(w, mixed, 2, &placed);
    world_evolve(w, mixed, 2, &opened);
    ck_assert_int_eq(w->order.status, ORDER_PLACED);
    ck_assert_str_eq(w->account[0].account_id, "a1");
    ck_assert_int_eq(w->account[1].version, 0);
    world_evolve(w, mixed, 1, &opened); /* n limits the ids consulted */
    ck_assert_int_eq(w->account[0].version, 1);
    free(w);
}
END_TEST

/* ---- names and ids ---- */

START_TEST(test_event_names)
{
    for (int t = 0; t < EV__COUNT; t++) {
        enum event_type back;
        ck_assert(event_type_parse(event_type_name((enum event_type)t), &back));
        ck_assert_int_eq(back, t);
        ck_assert_int_eq(event_type_is_order((enum event_type)t), t <= EV_ORDER_CANCELLED);
    }
    enum event_type back = EV_ACCOUNT_CLOSED;
    ck_assert(!event_type_parse("orderplaced", &back));
    ck_assert(!event_type_parse("", &back));
    ck_assert_int_eq(back, EV_ACCOUNT_CLOSED);
    ck_assert_str_eq(event_type_name(EV_TRANSFER_RECEIVED), "TransferReceived");
    ck_assert_str_eq(command_type_name(CMD_TRANSFER_FUNDS), "TransferFunds");
    ck_assert_str_eq(command_type_name(CMD_PLACE_ORDER), "PlaceOrder");
    ck_assert_str_eq(order_status_name(ORDER_NONE), "");
    ck_assert_str_eq(order_status_name(ORDER_CANCELLED), "cancelled");
    ck_assert_str_eq(account_status_name(ACCOUNT_OPEN), "open");
    ck_assert_str_eq(account_status_name(ACCOUNT_CLOSED), "closed");
    ck_assert_str_eq(account_status_name(ACCOUNT_NONE), "");
}
END_TEST

static const struct {
    const char *id;
    bool ok;
} id_cases[] = {
    {"a", true},
    {"Az09_-", true},
    {"0123456789012345678901234567890123456789012345678901234567890123", true},
    {"01234567890123456789012345678901234567890123456789012345678901234", false},
    {"", false},
    {"a b", false},
    {"a.b", false},
    {"a/b", false},
    {"caf\xc3\xa9", false},
};

START_TEST(test_id_is_valid)
{
    ck_assert_msg(id_is_valid(id_cases[_i].id) == id_cases[_i].ok, "id '%s'", id_cases[_i].id);
}
END_TEST

START_TEST(test_stream_ids)
{
    char out[STREAM_ID_MAX + 1];
    stream_id_order(out, "o-1");
    ck_assert_str_eq(out, "order-o-1");
    char id[ID_MAX + 1];
    memset(id, 'x', ID_MAX);
    id[ID_MAX] = '\0';
    stream_id_account(out, id);
    ck_assert_int_eq(strlen(out), STREAM_ID_MAX);
    ck_assert(strncmp(out, "account-xxx", 11) == 0);
}
END_TEST

/* ---- err ---- */

START_TEST(test_err_table)
{
    ck_assert_int_eq(err_status(ERR_OK), 200);
    ck_assert_int_eq(err_status(ERR_NO_FUNDS), 409);
    ck_assert_int_eq(err_status(ERR_VALIDATION), 422);
    ck_assert_int_eq(err_status(ERR_DB_DOWN), 503);
    ck_assert_str_eq(err_slug(ERR_ACCOUNT_CLOSED), "account-closed");
    ck_assert_str_eq(err_title(ERR_NOT_FOUND), "no such resource");
    ck_assert_str_eq(err_name(ERR_BAD_EVENT), "ERR_BAD_EVENT");
    ck_assert_int_eq(err_status((enum err)ERR__COUNT), 500);
}
END_TEST

START_TEST(test_err_detail)
{
    struct err_detail why = {0};
    ck_assert_int_eq(err_set(&why, ERR_NO_FUNDS, "account %s is short by %d", "a1", 5),
                     ERR_NO_FUNDS);
    ck_assert_str_eq(why.detail, "account a1 is short by 5");
    ck_assert_int_eq(err_set(NULL, ERR_EXISTS, "x"), ERR_EXISTS);
    err_field(NULL, "f", "m");
    char big[400];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    err_set(&why, ERR_VALIDATION, "%s", big);
    ck_assert_int_eq(strlen(why.detail), sizeof why.detail - 1);
    for (int i = 0; i < FIELD_ERRORS_MAX + 5; i++)
        err_field(&why, "items", "bad item %d", i);
    ck_assert_int_eq(why.field_count, FIELD_ERRORS_MAX);
    ck_assert_str_eq(why.fields[0].field, "items");
    ck_assert_str_eq(why.fields[FIELD_ERRORS_MAX - 1].message, "bad item 31");
}
END_TEST

static Suite *domain_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tcase_create("decide");
    tcase_add_loop_test(tc, test_decide, 0, (int)(sizeof decide_cases / sizeof decide_cases[0]));
    tcase_add_test(tc, test_decide_null_why);
    suite_add_tcase(s, tc);
    tc = tcase_create("evolve");
    tcase_add_loop_test(tc, test_evolve, 0, (int)(sizeof evolve_cases / sizeof evolve_cases[0]));
    tcase_add_test(tc, test_evolve_opened_fields);
    suite_add_tcase(s, tc);
    tc = tcase_create("streams");
    tcase_add_loop_test(tc, test_command_streams, 0,
                        (int)(sizeof streams_cases / sizeof streams_cases[0]));
    tcase_add_test(tc, test_world_evolve_routing);
    tcase_add_test(tc, test_world_load);
    suite_add_tcase(s, tc);
    tc = tcase_create("names");
    tcase_add_test(tc, test_event_names);
    tcase_add_loop_test(tc, test_id_is_valid, 0, (int)(sizeof id_cases / sizeof id_cases[0]));
    tcase_add_test(tc, test_stream_ids);
    tcase_add_test(tc, test_err_table);
    tcase_add_test(tc, test_err_detail);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(domain_suite());
}
