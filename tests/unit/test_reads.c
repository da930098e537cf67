/* Unit tests of query-service/reads.c without a server: the list statement chosen per filter,
 * documents joined into a page, event rows as the feed's JSON, the temporal fold, and what every
 * read answers when its pool cannot reach a database. Rows are built with libpq, no server. */
#include "config.h"
#include "query_rows.h"
#include "reads.h"
#include "reads_internal.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define PLACED_V1                                                                                  \
    "{'order_id':'o-1','customer_id':'c-1','items':[{'sku':'B','quantity':2,"                      \
    "'unit_price_cents':1250}],'total_cents':2500}"
#define PAID "{'order_id':'o-1','account_id':'a-1','amount_cents':2500}"

static const struct {
    bool order;
    const char *f1, *f2;
    enum query_stmt want;
} list_cases[] = {
    {true, NULL, NULL, ST_ORDERS_ALL},      {true, "c-1", NULL, ST_ORDERS_CUSTOMER},
    {true, NULL, "paid", ST_ORDERS_STATUS}, {true, "c-1", "paid", ST_ORDERS_CUSTOMER_STATUS},
    {false, NULL, NULL, ST_ACCOUNTS_ALL},   {false, "Alice", NULL, ST_ACCOUNTS_OWNER},
};

START_TEST(test_list_statement)
{
    ck_assert_int_eq(reads_list_stmt(list_cases[_i].order, list_cases[_i].f1, list_cases[_i].f2),
                     list_cases[_i].want);
}
END_TEST

START_TEST(test_join_docs)
{
    PGresult *res = rows_new(2);
    size_t len;
    char *text = reads_join_docs(res, 0, &len);
    ck_assert_str_eq(text, "[]");
    ck_assert_uint_eq(len, 2);
    free(text);
    rows_set(res, 0, 0, "{\"a\":1}");
    rows_set(res, 1, 0, "{\"b\":\"x,y\"}");
    rows_set(res, 2, 0, "{\"c\":3}"); /* the row that tells a next page exists */
    text = reads_join_docs(res, 2, &len);
    ck_assert_str_eq(text, "[{\"a\":1},{\"b\":\"x,y\"}]");
    ck_assert_uint_eq(len, strlen(text));
    free(text);
    PQclear(res);
}
END_TEST

/* Stored v1 data reaches readers in the current shape; schema_version stays as stored. */
START_TEST(test_event_json_upcasts)
{
    PGresult *res = rows_new(8);
    rows_event(res, 7, "order-o-1", 1, "OrderPlaced", 1, PLACED_V1, 1764442800123);
    json_t *ev = reads_event_json(res, 0, true);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "position")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "stream_version")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "schema_version")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "type")), "OrderPlaced");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "stream_id")), "order-o-1");
    json_t *data = json_object_get(ev, "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "currency")), "USD");
    ck_assert_int_eq(json_integer_value(json_object_get(data, "total_cents")), 2500);
    ck_assert_str_eq(json_string_value(json_object_get(ev, "recorded_at")),
                     "2025-11-29T19:00:00.123Z");
    ck_assert(json_is_object(json_object_get(ev, "metadata")));
    json_decref(ev);
    ev = reads_event_json(res, 0, false); /* a stream's own trail does not repeat its id */
    ck_assert_ptr_null(json_object_get(ev, "stream_id"));
    json_decref(ev);
    PQclear(res);
}
END_TEST

/* What no upcaster knows is shown as stored; data that is not JSON is null, not an error. */
START_TEST(test_event_json_as_stored)
{
    PGresult *res = rows_new(8);
    rows_event(res, 1, "order-o-2", 1, "SomethingNew", 1, "{'x':1}", 0);
    rows_event(res, 2, "order-o-2", 2, "OrderPaid", 1, "not json", 0);
    rows_set(res, 1, EV_COL_RECORDED_MS, NULL);
    json_t *ev = reads_event_json(res, 0, false);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(ev, "data"), "x")), 1);
    json_decref(ev);
    ev = reads_event_json(res, 1, false);
    ck_assert(json_is_null(json_object_get(ev, "data")));
    ck_assert(json_is_null(json_object_get(ev, "recorded_at")));
    json_decref(ev);
    PQclear(res);
}
END_TEST

START_TEST(test_fold_rows)
{
    PGresult *res = rows_new(8);
    json_t *view = NULL;
    ck_assert_int_eq(reads_fold_rows(true, res, &view), ERR_NOT_FOUND);
    rows_event(res, 3, "order-o-1", 1, "OrderPlaced", 1, PLACED_V1, 1000);
    rows_event(res, 9, "order-o-1", 2, "OrderPaid", 1, PAID, 2000);
    ck_assert_int_eq(reads_fold_rows(true, res, &view), ERR_OK);
    char *text = json_dumps(view, JSON_COMPACT);
    ck_assert_msg(strcmp(json_string_value(json_object_get(view, "status")), "paid") == 0, "%s",
                  text);
    ck_assert_int_eq(json_integer_value(json_object_get(view, "version")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(view, "paid_cents")), 2500);
    ck_assert_str_eq(json_string_value(json_object_get(view, "currency")), "USD");
    free(text);
    json_decref(view);
    PQclear(res);
}
END_TEST

/* A snapshot row (NULL type) that does not decode asks the caller to read without snapshots;
 * an event that does not decode is an error, never a half-folded view. */
START_TEST(test_fold_rows_refuses)
{
    PGresult *res = rows_new(8);
    rows_event(res, 0, "order-o-1", 1, "x", 0, "{'garbage':true}", 1000);
    rows_set(res, 0, EV_COL_TYPE, NULL);
    json_t *view = NULL;
    ck_assert_int_eq(reads_fold_rows(true, res, &view), ERR_CONFLICT);
    ck_assert_ptr_null(view);
    PQclear(res);
    res = rows_new(8);
    rows_event(res, 3, "order-o-1", 1, "OrderPlaced", 1, "{'order_id':'o-1'}", 1000);
    ck_assert_int_eq(reads_fold_rows(true, res, &view), ERR_BAD_EVENT);
    ck_assert_ptr_null(view);
    PQclear(res);
}
END_TEST

START_TEST(test_url_load)
{
    const char *url = "x";
    char err[128] = "";
    unsetenv("READ_DATABASE_URL");
    ck_assert(config_conninfo("READ_DATABASE_URL", false, &url, err, sizeof err));
    ck_assert_ptr_null(url);
    setenv("READ_DATABASE_URL", "postgresql://standby:5432/orderly", 1);
    ck_assert(config_conninfo("READ_DATABASE_URL", false, &url, err, sizeof err));
    ck_assert_str_eq(url, "postgresql://standby:5432/orderly");
    setenv("READ_DATABASE_URL", "postgresql://u:secret@h/db?nonsense=1", 1);
    ck_assert(!config_conninfo("READ_DATABASE_URL", false, &url, err, sizeof err));
    ck_assert_str_eq(err, "READ_DATABASE_URL: is not a valid libpq connection string");
    unsetenv("READ_DATABASE_URL");
}
END_TEST

/* The pool connects lazily to a socket that does not exist: every read is ERR_DB_DOWN. */
START_TEST(test_unreachable)
{
    char *doc = NULL, *items = NULL;
    size_t len;
    int64_t version, next;
    json_t *out = NULL;
    ck_assert_int_eq(reads_ping(), ERR_DB_DOWN);
    ck_assert_int_eq(reads_document(true, "o-1", &doc, &len, &version), ERR_DB_DOWN);
    ck_assert_int_eq(reads_aggregate_at(false, "a-1", true, 3, &out), ERR_DB_DOWN);
    ck_assert_int_eq(reads_list(true, "c", NULL, INT64_MAX, 10, &items, &len, &next), ERR_DB_DOWN);
    ck_assert_int_eq(reads_customer("c", &doc, &len), ERR_DB_DOWN);
    ck_assert_int_eq(reads_revenue("2026-01-01", "2026-01-02", &items, &len), ERR_DB_DOWN);
    ck_assert_int_eq(reads_stream("order-o-1", 1, 10, &out), ERR_DB_DOWN);
    ck_assert_int_eq(reads_feed(0, 10, 10, &out), ERR_DB_DOWN);
    ck_assert_int_eq(reads_projections(&out), ERR_DB_DOWN);
    ck_assert_int_eq(reads_database(&out), ERR_DB_DOWN);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_null(items);
    ck_assert_ptr_null(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reads");
    TCase *t = tcase_create("rows");
    tcase_add_loop_test(t, test_list_statement, 0, N(list_cases));
    tcase_add_test(t, test_join_docs);
    tcase_add_test(t, test_event_json_upcasts);
    tcase_add_test(t, test_event_json_as_stored);
    tcase_add_test(t, test_fold_rows);
    tcase_add_test(t, test_fold_rows_refuses);
    tcase_add_test(t, test_url_load);
    suite_add_tcase(s, t);
    TCase *db = tcase_create("unreachable");
    tcase_add_unchecked_fixture(db, rows_reads_nowhere, reads_close_all);
    tcase_add_test(db, test_unreachable);
    suite_add_tcase(s, db);
    return run_suite(s);
}
