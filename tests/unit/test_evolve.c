/* Unit tests of the domain beyond decide(): the evolve folds, stream routing
 * (command_streams, world_evolve), event and command names, ids and the err table. */
#include "domain/domain.h"
#include "domain_fixture.h"
#include "err.h"

#include "run_suite.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Suite *evolve_suite(void)
{
    Suite *s = suite_create("evolve");
    TCase *tc = tcase_create("evolve");
    tcase_add_loop_test(tc, test_evolve, 0, (int)(sizeof evolve_cases / sizeof evolve_cases[0]));
    tcase_add_test(tc, test_evolve_opened_fields);
    suite_add_tcase(s, tc);
    tc = tcase_create("streams");
    tcase_add_loop_test(tc, test_command_streams, 0,
                        (int)(sizeof streams_cases / sizeof streams_cases[0]));
    tcase_add_test(tc, test_world_evolve_routing);
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
    return run_suite(evolve_suite());
}
