/* The one description of an order and an account: every field of the state once, with its kind,
 * in the contract's order (API.md). view_codec.c expands it into the GET view's field table (the
 * document a GET serves and the projector reads back), snapshot_codec.c into the snapshot's, so
 * a new field is one line here (plus the domain, and a migration when a query filters on it).
 *
 * X(kind, member, name, min, max); kinds and how each table writes them:
 *   K_ID, K_CCY          F_ID / F_CCY in both
 *   K_TEXT               F_TEXT, min..max characters
 *   K_OPT_TEXT           view: null while "" (optional); snapshot: always a string
 *   K_MONEY, K_INT       F_MONEY / F_INT, min..max
 *   K_ITEMS              F_ARRAY of codec_order_item_fields, count in item_count
 *   K_TIME               view: RFC 3339 "name"; snapshot: epoch ms "name_ms", min..max
 *   K_STATUS             view: the status name; snapshot: decoded apart (snapshot_codec.c) */
#ifndef ORDERLY_STATE_FIELDS_H
#define ORDERLY_STATE_FIELDS_H

#include "codec/validate.h"
#include "domain/domain.h"

#define STATE_TIME_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z in epoch ms */

#define ORDER_FIELDS(X)                                                                            \
    X(K_ID, order_id, "order_id", 0, 0)                                                            \
    X(K_ID, customer_id, "customer_id", 0, 0)                                                      \
    X(K_STATUS, status, "status", ORDER_PLACED, ORDER_CANCELLED)                                   \
    X(K_CCY, currency, "currency", 0, 0)                                                           \
    X(K_ITEMS, items, "items", 1, ITEMS_MAX)                                                       \
    X(K_MONEY, total_cents, "total_cents", 0, MONEY_MAX)                                           \
    X(K_MONEY, paid_cents, "paid_cents", 0, MONEY_MAX)                                             \
    X(K_MONEY, refunded_cents, "refunded_cents", 0, MONEY_MAX)                                     \
    X(K_OPT_TEXT, account_id, "account_id", 0, ID_MAX)                                             \
    X(K_OPT_TEXT, carrier, "carrier", 0, TEXT_MAX)                                                 \
    X(K_OPT_TEXT, tracking_number, "tracking_number", 0, TEXT_MAX)                                 \
    X(K_OPT_TEXT, cancel_reason, "cancel_reason", 0, TEXT_MAX)                                     \
    X(K_TIME, placed_at_ms, "placed_at", 0, STATE_TIME_MAX)                                        \
    X(K_TIME, updated_at_ms, "updated_at", 0, STATE_TIME_MAX)                                      \
    X(K_INT, version, "version", 1, MONEY_MAX)

/* The owner is sealed in snapshots (the command side never opens it) and opened or
 * "[forgotten]" in views (docs/forgetting.md); a balance may go below zero to the overdraft. */
#define ACCOUNT_FIELDS(X)                                                                          \
    X(K_ID, account_id, "account_id", 0, 0)                                                        \
    X(K_TEXT, owner, "owner", 0, OWNER_STORED_MAX)                                                 \
    X(K_CCY, currency, "currency", 0, 0)                                                           \
    X(K_INT, balance_cents, "balance_cents", -MONEY_MAX, MONEY_MAX)                                \
    X(K_MONEY, overdraft_limit_cents, "overdraft_limit_cents", 0, MONEY_MAX)                       \
    X(K_STATUS, status, "status", ACCOUNT_OPEN, ACCOUNT_CLOSED)                                    \
    X(K_TIME, opened_at_ms, "opened_at", 0, STATE_TIME_MAX)                                        \
    X(K_TIME, updated_at_ms, "updated_at", 0, STATE_TIME_MAX)                                      \
    X(K_INT, version, "version", 1, MONEY_MAX)

/* Field-spec rows of one kind, for a state type T whose status is named by S. */
#define STATE_ID(T, S, m, n, lo, hi)   {n, F_ID, REQUIRED, FIELD_AT(T, m)},
#define STATE_CCY(T, S, m, n, lo, hi)  {n, F_CCY, REQUIRED, FIELD_AT(T, m)},
#define STATE_TEXT(T, S, m, n, lo, hi) {n, F_TEXT, REQUIRED, FIELD_AT(T, m), .min = lo, .max = hi},
#define STATE_MONEY(T, S, m, n, lo, hi)                                                            \
    {n, F_MONEY, REQUIRED, FIELD_AT(T, m), .min = lo, .max = hi},
#define STATE_INT(T, S, m, n, lo, hi) {n, F_INT, REQUIRED, FIELD_AT(T, m), .min = lo, .max = hi},
#define STATE_ITEMS(T, S, m, n, lo, hi)                                                            \
    {n,                                                                                            \
     F_ARRAY,                                                                                      \
     REQUIRED,                                                                                     \
     FIELD_ARRAY_AT(T, m, item_count),                                                             \
     .min = lo,                                                                                    \
     .max = hi,                                                                                    \
     .item = codec_order_item_fields},

#define VIEW_K_ID    STATE_ID
#define VIEW_K_CCY   STATE_CCY
#define VIEW_K_TEXT  STATE_TEXT
#define VIEW_K_MONEY STATE_MONEY
#define VIEW_K_INT   STATE_INT
#define VIEW_K_ITEMS STATE_ITEMS
#define VIEW_K_OPT_TEXT(T, S, m, n, lo, hi)                                                        \
    {n, F_TEXT, OPTIONAL, FIELD_AT(T, m), .min = lo, .max = hi, .null_when_empty = true},
#define VIEW_K_TIME(T, S, m, n, lo, hi) {n, F_TIME, REQUIRED, FIELD_AT(T, m)},
#define VIEW_K_STATUS(T, S, m, n, lo, hi)                                                          \
    {n, F_ENUM, REQUIRED, FIELD_AT(T, m), .min = lo, .max = hi, .enum_name = S},

#define SNAP_K_ID       STATE_ID
#define SNAP_K_CCY      STATE_CCY
#define SNAP_K_TEXT     STATE_TEXT
#define SNAP_K_MONEY    STATE_MONEY
#define SNAP_K_INT      STATE_INT
#define SNAP_K_ITEMS    STATE_ITEMS
#define SNAP_K_OPT_TEXT STATE_TEXT
#define SNAP_K_TIME(T, S, m, n, lo, hi)                                                            \
    {n "_ms", F_INT, REQUIRED, FIELD_AT(T, m), .min = lo, .max = hi},
#define SNAP_K_STATUS(T, S, m, n, lo, hi)

static inline const char *state_order_status(int s)
{
    return order_status_name((enum order_status)s);
}

static inline const char *state_account_status(int s)
{
    return account_status_name((enum account_status)s);
}

#endif
