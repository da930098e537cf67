/* Unit tests for command-service/world_store.c without a database server: which streams a load
 * lists and what it answers when the server cannot be reached, and when an append is followed
 * by storing a snapshot (SNAPSHOT_EVERY events past the last one; never at 0). world_load's
 * loop itself is tested in test_snapshots.c and test_domain.c. */
#include "codec/codec.h"
#include "command_fixture.h"
#include "run_suite.h"
#include "world_store.h"

static struct db_config nowhere_config;

static void decode(enum command_type type, const char *path_id, const char *body, struct command *c)
{
    struct err_detail why = {0};
    ck_assert_int_eq(command_decode(type, path_id, body, strlen(body), c, &why), ERR_OK);
}

START_TEST(test_load_lists_streams_then_fails)
{
    struct db_conn *db = db_conn_new(&nowhere_config, DB_LAZY);
    struct command c;
    struct world w;
    struct loaded_world lw;
    struct err_detail why = {0};
    decode(CMD_TRANSFER_FUNDS, NULL,
           "{\"from_account_id\":\"a-1\",\"to_account_id\":\"b-2\",\"amount_cents\":5}", &c);
    world_store_init(100);
    ck_assert_int_eq(world_store_load(db, &c, &w, &lw, &why), ERR_DB_DOWN);
    ck_assert_int_eq(lw.n, 2);
    ck_assert_str_eq(lw.ids[0], "account-a-1");
    ck_assert_str_eq(lw.ids[1], "account-b-2");
    world_store_init(0); /* snapshots off: the plain load fails the same way */
    ck_assert_int_eq(world_store_load(db, &c, &w, &lw, &why), ERR_DB_DOWN);
    db_conn_free(db);
}
END_TEST

/* every, the stream's version after the load, the snapshot it started from, whether a
 * snapshot is written (seen as the failed attempt to store it). */
static const struct {
    int every;
    int64_t version, snap_version;
    bool stored;
} after_cases[] = {
    {3, 2, 0, false}, {3, 3, 0, true},    {3, 4, 1, true}, {3, 3, 1, false},
    {3, 0, 0, false}, {0, 100, 0, false}, {1, 1, 0, true}, {100, 99, 0, false},
};

START_TEST(test_after_append_threshold)
{
    struct db_conn *db = db_conn_new(&nowhere_config, DB_LAZY);
    struct world w = {0};
    struct loaded_world lw = {.n = 1};
    snprintf(lw.ids[0], sizeof lw.ids[0], "account-a-1");
    snprintf(w.account[0].account_id, sizeof w.account[0].account_id, "a-1");
    w.account[0].version = after_cases[_i].version;
    lw.snap_version[0] = after_cases[_i].snap_version;
    world_store_init(after_cases[_i].every);
    long before = fixture_db_errors();
    world_store_after_append(db, &w, &lw);
    ck_assert_int_eq(fixture_db_errors() - before, after_cases[_i].stored ? 1 : 0);
    db_conn_free(db);
}
END_TEST

/* An order command's world: the order stream has its own slot, found by name. */
START_TEST(test_after_append_order_and_account)
{
    struct db_conn *db = db_conn_new(&nowhere_config, DB_LAZY);
    struct world w = {0};
    struct loaded_world lw = {.n = 2};
    snprintf(lw.ids[0], sizeof lw.ids[0], "order-42");
    snprintf(lw.ids[1], sizeof lw.ids[1], "account-a-1");
    w.order.version = 5;
    w.account[0].version = 1;
    world_store_init(5);
    long before = fixture_db_errors();
    world_store_after_append(db, &w, &lw);
    ck_assert_int_eq(fixture_db_errors() - before, 1); /* the order only */
    w.account[0].version = 5;
    before = fixture_db_errors();
    world_store_after_append(db, &w, &lw);
    ck_assert_int_eq(fixture_db_errors() - before, 2);
    db_conn_free(db);
}
END_TEST

int main(void)
{
    store_db_config(&nowhere_config, NOWHERE, "orderly-test", NULL);
    Suite *s = suite_create("world_store");
    TCase *tc = tcase_create("snapshots");
    tcase_add_test(tc, test_load_lists_streams_then_fails);
    tcase_add_loop_test(tc, test_after_append_threshold, 0,
                        (int)(sizeof after_cases / sizeof after_cases[0]));
    tcase_add_test(tc, test_after_append_order_and_account);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
