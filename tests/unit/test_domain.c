/* Unit tests of decide(): given events + command -> events or error, one table of cases run as
 * a loop test, and world_load's "load until the stream list stops growing". */
#include "domain/domain.h"
#include "domain_fixture.h"
#include "err.h"

#include "run_suite.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a1 is a USD account holding 5000 at version 2; b1 an empty USD account at version 1. */
#define A1_5000 OPENED("a1", G(1), "USD", 0), DEPOSITED("a1", G(2), 5000)
#define B1      OPENED("b1", G(1), "USD", 0)

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

static Suite *decide_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tcase_create("decide");
    tcase_add_loop_test(tc, test_decide, 0, (int)(sizeof decide_cases / sizeof decide_cases[0]));
    tcase_add_test(tc, test_decide_null_why);
    tcase_add_test(tc, test_world_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(decide_suite());
}
