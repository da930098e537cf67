/* Unit tests of a projector batch's pure steps (query-service/project_batch_internal.h): which
 * streams a batch holds and which are new, the fold through the domain's evolve functions, and
 * the column arrays its INSERT, UPDATE and delta statements take. Rows are built with libpq, no
 * server: the database steps are covered by the integration tests. */
#include "project_batch_internal.h"
#include "query_rows.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define T0     (20000 * DAY_MS + 3600000) /* 2024-10-04T01:00:00Z */

#define PLACED                                                                                     \
    "{'order_id':'o-1','customer_id':'c-1','currency':'EUR','items':[{'sku':'B','quantity':2,"     \
    "'unit_price_cents':1250}],'total_cents':2500}"
#define PAID      "{'order_id':'o-1','account_id':'a-1','amount_cents':2500}"
#define CANCELLED "{'order_id':'o-1','reason':'r','refunded_cents':2500}"
#define OPENED                                                                                     \
    "{'account_id':'a-1','owner':'Alice \\\\ \\'A\\'','currency':'EUR','overdraft_limit_cents':0}"
#define DEPOSITED "{'account_id':'a-1','amount_cents':700,'reference':'x'}"

static struct batch b;
static struct err_detail why;

static void setup(void)
{
    memset(&b, 0, sizeof b);
    memset(&why, 0, sizeof why);
}

static void teardown(void)
{
    batch_free(&b);
}

/* Indexes and folds res; every stream must start in the batch (nothing is loaded here). */
static void fold(PGresult *res)
{
    ck_assert_int_eq(batch_index(&b, res, &why), ERR_OK);
    ck_assert_msg(batch_fold(&b, res, &why) == ERR_OK, "%s", why.detail);
}

static const char *col(struct batch_columns *t, int i)
{
    return param_array_done(&t->col[i]);
}

START_TEST(test_index_marks_fresh_streams)
{
    PGresult *res = rows_new(8);
    rows_event(res, 1, "order-o-1", 1, "OrderPlaced", 2, PLACED, T0);
    rows_event(res, 2, "order-o-2", 3, "OrderPaid", 1, PAID, T0);
    rows_event(res, 3, "account-a-1", 1, "AccountOpened", 1, OPENED, T0);
    rows_event(res, 4, "order-o-1", 2, "OrderPaid", 1, PAID, T0);
    ck_assert_int_eq(batch_index(&b, res, &why), ERR_OK);
    ck_assert_int_eq(b.events, 4);
    ck_assert_int_eq(b.orders.count, 2);
    ck_assert_int_eq(b.accounts.count, 1);
    ck_assert_str_eq(b.orders.keys[0], "o-1");
    ck_assert_str_eq(b.orders.keys[1], "o-2");
    ck_assert(b.order[0].fresh);  /* its OrderPlaced is here: no row to look up */
    ck_assert(!b.order[1].fresh); /* its row must be loaded */
    ck_assert(b.account[0].fresh);
    PQclear(res);
}
END_TEST

static const struct {
    const char *stream, *type, *detail;
} bad_streams[] = {
    {"order-o-1", "NoSuchEvent", "event 5: unknown type \"NoSuchEvent\""},
    {"account-a-1", "OrderPaid", "event 5: OrderPaid in stream \"account-a-1\""},
    {"order-", "OrderPaid", "event 5: OrderPaid in stream \"order-\""},
};

START_TEST(test_index_refuses)
{
    PGresult *res = rows_new(8);
    rows_event(res, 5, bad_streams[_i].stream, 1, bad_streams[_i].type, 1, PAID, T0);
    ck_assert_int_eq(batch_index(&b, res, &why), ERR_BAD_EVENT);
    ck_assert_str_eq(why.detail, bad_streams[_i].detail);
    PQclear(res);
}
END_TEST

/* A new order placed and paid in one batch: one INSERT row with its indexed columns and the
 * document of the folded state, the customer's and the day's deltas. */
START_TEST(test_fold_order_columns)
{
    PGresult *res = rows_new(8);
    rows_event(res, 3, "order-o-1", 1, "OrderPlaced", 2, PLACED, T0);
    rows_event(res, 4, "order-o-1", 2, "OrderPaid", 1, PAID, T0 + 1000);
    fold(res);
    struct batch_columns ins, upd;
    batch_rows(&b, true, &ins, &upd);
    ck_assert_int_eq(ins.n, 6);
    ck_assert_int_eq(upd.col[0].n, 0);
    ck_assert_str_eq(col(&ins, 0), "{\"o-1\"}");
    ck_assert_str_eq(col(&ins, 1), "{\"c-1\"}");
    ck_assert_str_eq(col(&ins, 2), "{\"paid\"}");
    ck_assert_str_eq(col(&ins, 3), "{2}");
    ck_assert_str_eq(col(&ins, 4), "{3}"); /* placed_position: the list's keyset */
    ck_assert_ptr_nonnull(strstr(col(&ins, 5), "\\\"status\\\":\\\"paid\\\""));
    batch_columns_free(&ins);
    batch_columns_free(&upd);
    struct batch_columns t;
    batch_deltas(&b, true, &t);
    ck_assert_str_eq(col(&t, 0), "{\"c-1\"}");
    ck_assert_str_eq(col(&t, 1), "{1}");    /* orders */
    ck_assert_str_eq(col(&t, 2), "{1}");    /* open: paid is still open */
    ck_assert_str_eq(col(&t, 3), "{2500}"); /* spend */
    char last[32];
    snprintf(last, sizeof last, "{%lld}", (long long)T0);
    ck_assert_str_eq(col(&t, 4), last);
    batch_columns_free(&t);
    batch_deltas(&b, false, &t);
    char day[32];
    snprintf(day, sizeof day, "{%lld}", (long long)(T0 / DAY_MS));
    ck_assert_str_eq(col(&t, 0), day);
    ck_assert_str_eq(col(&t, 1), "{\"EUR\"}");
    ck_assert_str_eq(col(&t, 2), "{1}");
    ck_assert_str_eq(col(&t, 3), "{2500}");
    ck_assert_str_eq(col(&t, 4), "{0}");
    batch_columns_free(&t);
    PQclear(res);
}
END_TEST

/* Paid then cancelled with a refund: the customer nets to nothing open and no spend; the
 * revenue row counts the payment and the refund. */
START_TEST(test_fold_refund_deltas)
{
    PGresult *res = rows_new(8);
    rows_event(res, 3, "order-o-1", 1, "OrderPlaced", 2, PLACED, T0);
    rows_event(res, 4, "order-o-1", 2, "OrderPaid", 1, PAID, T0);
    rows_event(res, 5, "order-o-1", 3, "OrderCancelled", 1, CANCELLED, T0);
    fold(res);
    struct batch_columns t;
    batch_deltas(&b, true, &t);
    ck_assert_str_eq(col(&t, 1), "{1}");
    ck_assert_str_eq(col(&t, 2), "{0}");
    ck_assert_str_eq(col(&t, 3), "{0}");
    batch_columns_free(&t);
    batch_deltas(&b, false, &t);
    ck_assert_str_eq(col(&t, 2), "{1}");
    ck_assert_str_eq(col(&t, 3), "{2500}");
    ck_assert_str_eq(col(&t, 4), "{2500}");
    batch_columns_free(&t);
    PQclear(res);
}
END_TEST

/* An account's row: the owner (plain text here, quoted and escaped as an array element), the
 * version and opened_position; no customer or revenue delta comes from accounts. */
START_TEST(test_fold_account_columns)
{
    PGresult *res = rows_new(8);
    rows_event(res, 7, "account-a-1", 1, "AccountOpened", 1, OPENED, T0);
    rows_event(res, 8, "account-a-1", 2, "FundsDeposited", 1, DEPOSITED, T0);
    fold(res);
    struct batch_columns ins, upd;
    batch_rows(&b, false, &ins, &upd);
    ck_assert_int_eq(ins.n, 5);
    ck_assert_str_eq(col(&ins, 0), "{\"a-1\"}");
    ck_assert_str_eq(col(&ins, 1), "{\"Alice \\\\ \\\"A\\\"\"}");
    ck_assert_str_eq(col(&ins, 2), "{2}");
    ck_assert_str_eq(col(&ins, 3), "{7}");
    ck_assert_ptr_nonnull(strstr(col(&ins, 4), "\\\"balance_cents\\\":700"));
    batch_columns_free(&ins);
    batch_columns_free(&upd);
    struct batch_columns t;
    batch_deltas(&b, true, &t);
    ck_assert_int_eq(t.col[0].n, 0);
    batch_columns_free(&t);
    PQclear(res);
}
END_TEST

/* A stored row (loaded before the fold) is updated from its state, never inserted again. */
START_TEST(test_stored_and_orphan_rows)
{
    PGresult *res = rows_new(8);
    rows_event(res, 9, "order-o-1", 2, "OrderPaid", 1, PAID, T0);
    ck_assert_int_eq(batch_index(&b, res, &why), ERR_OK);
    struct order_slot *o = &b.order[0]; /* what load_states fills from rm_orders */
    o->stored = true;
    o->placed_position = 3;
    o->s.status = ORDER_PLACED;
    o->s.version = 1;
    o->s.total_cents = 2500;
    snprintf(o->s.order_id, sizeof o->s.order_id, "o-1");
    snprintf(o->s.customer_id, sizeof o->s.customer_id, "c-1");
    snprintf(o->s.currency, sizeof o->s.currency, "EUR");
    ck_assert_msg(batch_fold(&b, res, &why) == ERR_OK, "%s", why.detail);
    struct batch_columns ins, upd;
    batch_rows(&b, true, &ins, &upd);
    ck_assert_int_eq(ins.col[0].n, 0);
    ck_assert_int_eq(upd.col[0].n, 1);
    ck_assert_str_eq(col(&upd, 0), "{\"o-1\"}");
    ck_assert_str_eq(col(&upd, 2), "{\"paid\"}");
    ck_assert_str_eq(col(&upd, 3), "{2}");
    ck_assert_str_eq(col(&upd, 4), "{3}");
    batch_columns_free(&ins);
    batch_columns_free(&upd);
    PQclear(res);
}
END_TEST

START_TEST(test_fold_refuses_bad_data)
{
    PGresult *res = rows_new(8);
    rows_event(res, 3, "order-o-1", 1, "OrderPlaced", 2, "{'order_id':'o-1'}", T0);
    ck_assert_int_eq(batch_index(&b, res, &why), ERR_OK);
    ck_assert_int_eq(batch_fold(&b, res, &why), ERR_BAD_EVENT);
    ck_assert_ptr_nonnull(strstr(why.detail, "customer_id"));
    PQclear(res);
}
END_TEST

/* Many new rows go as COPY text: tab-separated fields, one line per row, backslashes doubled in
 * the owner and in the document alike (events refuse control characters, so those are escaped
 * only in test_copy_text_fields); one row fewer stays arrays. */
START_TEST(test_many_new_rows_copy)
{
    for (int n = BATCH_COPY_MIN_ROWS - 1; n <= BATCH_COPY_MIN_ROWS; n++) {
        PGresult *res = rows_new(8);
        for (int i = 0; i < n; i++) {
            char stream[32], data[160];
            snprintf(stream, sizeof stream, "account-a-%d", i);
            snprintf(data, sizeof data,
                     "{'account_id':'a-%d','owner':'Al \\\\ \\'x\\'','currency':'EUR',"
                     "'overdraft_limit_cents':0}",
                     i);
            rows_event(res, 10 + i, stream, 1, "AccountOpened", 1, data, T0);
        }
        fold(res);
        struct batch_columns ins, upd;
        batch_rows(&b, false, &ins, &upd);
        ck_assert_int_eq(ins.copy_sql != NULL, n == BATCH_COPY_MIN_ROWS);
        if (ins.copy_sql) {
            ck_assert_int_eq(ins.copy.rows, n);
            const char *line = ins.copy.buf.text;
            const char *first = "a-0\tAl \\\\ \"x\"\t1\t10\t{";
            ck_assert_int_eq(strncmp(line, first, strlen(first)), 0);
            ck_assert_ptr_nonnull(strstr(line, "\"owner\":\"Al \\\\\\\\ \\\\\"x\\\\\"\""));
            ck_assert_ptr_eq(strchr(line, '\n'), strstr(line, "}\na-1\t") + 1);
        } else {
            ck_assert_int_eq(ins.col[0].n, n);
        }
        batch_columns_free(&ins);
        batch_columns_free(&upd);
        PQclear(res);
        teardown();
        setup(); /* the fixture's teardown frees the last one */
    }
}
END_TEST

START_TEST(test_copy_text_fields)
{
    struct copy_text t;
    copy_text_init(&t);
    copy_text_text(&t, "");
    copy_text_null(&t);
    copy_text_int(&t, -42);
    copy_text_end_row(&t);
    copy_text_text(&t, "\\N a\tb\nc\rd");
    copy_text_end_row(&t);
    ck_assert_str_eq(t.buf.text, "\t\\N\t-42\n\\\\N a\\tb\\nc\\rd\n");
    ck_assert_int_eq(t.rows, 2);
    copy_text_free(&t);
}
END_TEST

/* Two orders of one customer, paid on two days, the second cancelled with a refund. */
static const struct {
    int64_t position;
    const char *stream;
    int version;
    const char *type;
    int schema;
    const char *data;
    int64_t ms;
} paged[] = {
    {3, "order-o-1", 1, "OrderPlaced", 2, PLACED, T0 + DAY_MS},
    {4, "order-o-1", 2, "OrderPaid", 1, PAID, T0 + DAY_MS},
    {5, "order-o-2", 1, "OrderPlaced", 2, PLACED, T0},
    {6, "order-o-2", 2, "OrderPaid", 1, PAID, T0},
    {7, "order-o-2", 3, "OrderCancelled", 1, CANCELLED, T0 + DAY_MS},
};

static PGresult *paged_rows(int from, int to)
{
    PGresult *res = rows_new(8);
    for (int i = from; i < to; i++)
        rows_event(res, paged[i].position, paged[i].stream, paged[i].version, paged[i].type,
                   paged[i].schema, paged[i].data, paged[i].ms);
    return res;
}

/* The rebuild's fill sums the deltas of many pages (rebuild_fill.c): two pages summed give the
 * deltas of one batch holding both, the latest order time included. */
START_TEST(test_sums_add_pages)
{
    struct batch sums;
    batch_sums_init(&sums, NULL, 4);
    for (int k = 0; k < 2; k++) {
        struct batch page = {0};
        PGresult *res = paged_rows(k == 0 ? 0 : 2, k == 0 ? 2 : 5);
        ck_assert_int_eq(batch_index(&page, res, &why), ERR_OK);
        ck_assert_int_eq(batch_fold(&page, res, &why), ERR_OK);
        ck_assert(batch_sums_add(&sums, &page));
        batch_free(&page);
        PQclear(res);
    }
    PGresult *all = paged_rows(0, 5);
    fold(all);
    for (int kind = 0; kind < 2; kind++) {
        struct batch_columns got, want;
        batch_deltas(&sums, kind == 0, &got);
        batch_deltas(&b, kind == 0, &want);
        for (int i = 0; i < 5; i++)
            ck_assert_str_eq(col(&got, i), col(&want, i));
        batch_columns_free(&got);
        batch_columns_free(&want);
    }
    batch_free(&sums);
    PQclear(all);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("project_batch");
    TCase *t = tcase_create("pure");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_index_marks_fresh_streams);
    tcase_add_loop_test(t, test_index_refuses, 0,
                        (int)(sizeof bad_streams / sizeof bad_streams[0]));
    tcase_add_test(t, test_fold_order_columns);
    tcase_add_test(t, test_fold_refund_deltas);
    tcase_add_test(t, test_fold_account_columns);
    tcase_add_test(t, test_stored_and_orphan_rows);
    tcase_add_test(t, test_fold_refuses_bad_data);
    tcase_add_test(t, test_sums_add_pages);
    tcase_add_test(t, test_many_new_rows_copy);
    tcase_add_test(t, test_copy_text_fields);
    suite_add_tcase(s, t);
    return run_suite(s);
}
