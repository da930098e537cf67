/* Builders shared by the domain's unit suites (test_domain.c, test_evolve.c): stored and
 * decided events, and commands, as designated initializers. */
#ifndef ORDERLY_TEST_DOMAIN_FIXTURE_H
#define ORDERLY_TEST_DOMAIN_FIXTURE_H

#include "domain/domain.h"

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

/* ---- command builders ---- */

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

#endif
