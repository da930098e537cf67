/* Unit tests of store/db without a server: the SQLSTATE map, the pool's borrowing, queueing and
 * exhaustion (its connections open lazily, so none is opened here), the pool settings and
 * DB_COMMIT_TIMEOUT_MS from the environment, and connections that cannot reach a server. */
#include "store/db.h"

#include "run_suite.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *sqlstate;
    bool read;
    enum err err;
    bool lost, retry;
} classify_cases[] = {
    {NULL, false, ERR_DB_DOWN, true, true},     /* no answer: the connection is gone */
    {"", true, ERR_DB_DOWN, true, true},        /* likewise */
    {"08006", false, ERR_DB_DOWN, true, true},  /* connection failure */
    {"57P01", true, ERR_DB_DOWN, true, true},   /* admin shutdown */
    {"53300", false, ERR_DB_DOWN, true, false}, /* too many clients */
    {"53300", true, ERR_DB_DOWN, true, false},
    {"53200", true, ERR_DB_DOWN, false, false}, /* out of memory */
    {"57014", true, ERR_DB_DOWN, false, false}, /* statement timeout */
    {"40P01", false, ERR_CONFLICT, false, true},
    {"40P01", true, ERR_DB_DOWN, false, true}, /* a read has no conflict to report */
    {"40001", false, ERR_CONFLICT, false, true},
    {"40001", true, ERR_DB_DOWN, false, true},
    {"55P03", false, ERR_IDEM_BUSY, false, true},
    {"55P03", true, ERR_DB_DOWN, false, true}, /* lock_timeout on a read */
    {"23505", false, ERR_CONFLICT, false, false},
    {"22021", true, ERR_BAD_PARAM, false, false}, /* bytes that are not UTF-8 */
    {"22008", false, ERR_BAD_PARAM, false, false},
    {"42P01", true, ERR_INTERNAL, false, false}, /* undefined table: our bug, a 500 */
    {"XX000", false, ERR_INTERNAL, false, false},
};

START_TEST(test_classify)
{
    struct db_fault f = db_classify(classify_cases[_i].sqlstate, classify_cases[_i].read);
    ck_assert_msg(f.err == classify_cases[_i].err, "%s: %s", classify_cases[_i].sqlstate,
                  err_name(f.err));
    ck_assert_int_eq(f.lost, classify_cases[_i].lost);
    ck_assert_int_eq(f.retry, classify_cases[_i].retry);
}
END_TEST

/* Nothing listens on a socket in a directory that does not exist: connecting fails at once. */
static const struct db_config nowhere = {"host=/nonexistent-orderly-dir port=1 dbname=x",
                                         "orderly-test", NULL, NULL, 0};

START_TEST(test_pool_exhausted_without_wait)
{
    struct db_pool *p = db_pool_new(&nowhere, 2, 0);
    struct db_conn *a, *b, *c = NULL;
    struct err_detail why = {0};
    ck_assert_int_eq(db_pool_get(p, &a, NULL), ERR_OK);
    ck_assert_int_eq(db_pool_get(p, &b, NULL), ERR_OK);
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(db_pool_get(p, &c, &why), ERR_DB_DOWN);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(why.detail, "no database connection came free"));
    struct db_pool_stats s;
    db_pool_stats(p, &s);
    ck_assert_int_eq(s.size, 2);
    ck_assert_int_eq(s.in_use, 2);
    ck_assert_int_eq(s.timeouts, 1);
    ck_assert_int_eq(s.acquired, 2);
    db_pool_put(p, b);
    ck_assert_int_eq(db_pool_get(p, &c, NULL), ERR_OK);
    ck_assert_ptr_eq(c, b); /* the warmest idle connection is reused */
    db_pool_put(p, a);
    db_pool_put(p, c);
    db_pool_stats(p, &s);
    ck_assert_int_eq(s.in_use, 0);
    db_pool_free(p);
}
END_TEST

/* Queued and never served: the wait ends, the request is dequeued, nothing is borrowed. */
START_TEST(test_pool_wait_ends)
{
    struct db_pool *p = db_pool_new(&nowhere, 1, 1);
    struct db_conn *a, *b = NULL;
    ck_assert_int_eq(db_pool_get(p, &a, NULL), ERR_OK);
    ck_assert_int_eq(db_pool_get(p, &b, NULL), ERR_DB_DOWN);
    ck_assert_ptr_null(b);
    struct db_pool_stats s;
    db_pool_stats(p, &s);
    ck_assert_int_eq(s.waiting, 0);
    ck_assert_int_eq(s.timeouts, 1);
    db_pool_put(p, a); /* goes idle: no waiter is left queued */
    ck_assert_int_eq(db_pool_get(p, &b, NULL), ERR_OK);
    ck_assert_ptr_eq(a, b);
    db_pool_put(p, b);
    db_pool_free(p);
}
END_TEST

struct borrower {
    struct db_pool *p;
    struct db_conn *got;
    enum err e;
};

static void *borrow(void *arg)
{
    struct borrower *b = arg;
    b->e = db_pool_get(b->p, &b->got, NULL);
    return NULL;
}

static void wait_for_waiters(struct db_pool *p, int n)
{
    struct db_pool_stats s;
    for (db_pool_stats(p, &s); s.waiting != n; db_pool_stats(p, &s))
        sched_yield();
}

/* A returned connection goes to the request that queued first, not to a newcomer. */
START_TEST(test_pool_hands_over_in_order)
{
    struct db_pool *p = db_pool_new(&nowhere, 1, 600000);
    struct db_conn *held;
    ck_assert_int_eq(db_pool_get(p, &held, NULL), ERR_OK);
    struct borrower first = {p, NULL, ERR_INTERNAL}, second = {p, NULL, ERR_INTERNAL};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, borrow, &first);
    wait_for_waiters(p, 1);
    pthread_create(&t2, NULL, borrow, &second);
    wait_for_waiters(p, 2);
    db_pool_put(p, held);
    pthread_join(t1, NULL);
    ck_assert_int_eq(first.e, ERR_OK);
    ck_assert_ptr_eq(first.got, held);
    wait_for_waiters(p, 1);
    db_pool_put(p, first.got);
    pthread_join(t2, NULL);
    ck_assert_int_eq(second.e, ERR_OK);
    ck_assert_ptr_eq(second.got, held);
    db_pool_put(p, second.got);
    struct db_pool_stats s;
    db_pool_stats(p, &s);
    ck_assert_int_eq(s.acquired, 3);
    ck_assert_int_eq(s.timeouts, 0);
    db_pool_free(p);
}
END_TEST

START_TEST(test_unreachable_server)
{
    struct db_conn *lazy = db_conn_new(&nowhere, DB_LAZY);
    ck_assert_int_eq(db_read(lazy, 0, NULL, NULL), ERR_INTERNAL); /* no such statement */
    ck_assert_int_eq(db_sql(lazy, "SELECT 1", 0, NULL, NULL), ERR_DB_DOWN);
    ck_assert(!db_connected(lazy));
    db_conn_free(lazy);
    struct db_conn *session = db_conn_new(&nowhere, DB_SESSION);
    ck_assert_int_eq(db_connect(session), ERR_DB_DOWN);
    ck_assert_int_eq(db_sql(session, "SELECT 1", 0, NULL, NULL), ERR_DB_DOWN);
    bool notified = true;
    ck_assert_int_eq(db_wait(session, 0, &notified), ERR_DB_DOWN);
    ck_assert(!notified);
    db_conn_free(session);
}
END_TEST

static const struct {
    const char *name, *value;
    bool ok;
} settings_cases[] = {
    {"DB_POOL_SIZE", "4", true},         {"DB_POOL_SIZE", "", true},
    {"DB_POOL_SIZE", "0", false},        {"DB_POOL_SIZE", "-1", false},
    {"DB_POOL_SIZE", " 4", false},       {"DB_POOL_SIZE", "4x", false},
    {"DB_POOL_SIZE", "1001", false},     {"DB_POOL_WAIT_MS", "0", true},
    {"DB_POOL_WAIT_MS", "+5", false},    {"DB_POOL_WAIT_MS", "99999999999", false},
    {"DB_LOCK_TIMEOUT_MS", "250", true}, {"DB_LOCK_TIMEOUT_MS", "1e3", false},
};

START_TEST(test_settings)
{
    setenv(settings_cases[_i].name, settings_cases[_i].value, 1);
    struct db_settings s;
    char err[128] = "";
    bool ok = db_settings_load(&s, err, sizeof err);
    unsetenv(settings_cases[_i].name);
    ck_assert_msg(ok == settings_cases[_i].ok, "%s=%s", settings_cases[_i].name,
                  settings_cases[_i].value);
    if (!ok)
        ck_assert_ptr_nonnull(strstr(err, settings_cases[_i].name));
}
END_TEST

START_TEST(test_settings_defaults)
{
    struct db_settings s;
    char err[128];
    ck_assert(db_settings_load(&s, err, sizeof err));
    ck_assert_int_eq(s.pool_size, DB_POOL_SIZE_DEFAULT);
    ck_assert_int_eq(s.pool_wait_ms, DB_POOL_WAIT_MS_DEFAULT);
    ck_assert_int_eq(s.lock_timeout_ms, DB_LOCK_TIMEOUT_DEFAULT);
}
END_TEST

/* DB_COMMIT_TIMEOUT_MS: digits only, 1..3600000; unset or empty is the default. */
static const struct {
    const char *value; /* NULL: unset */
    bool ok;
    int ms;
} commit_timeout_cases[] = {
    {NULL, true, DB_COMMIT_TIMEOUT_DEFAULT},
    {"", true, DB_COMMIT_TIMEOUT_DEFAULT},
    {"1", true, 1},
    {"250", true, 250},
    {"3600000", true, 3600000},
    {"0", false, 0},
    {"3600001", false, 0},
    {"99999999999", false, 0}, /* would overflow an int */
    {"-5", false, 0},
    {"+5", false, 0},
    {" 5", false, 0},
    {"5 ", false, 0},
    {"5ms", false, 0},
    {"1e3", false, 0},
    {"0x10", false, 0},
};

START_TEST(test_commit_timeout)
{
    const char *value = commit_timeout_cases[_i].value;
    if (value)
        setenv("DB_COMMIT_TIMEOUT_MS", value, 1);
    else
        unsetenv("DB_COMMIT_TIMEOUT_MS");
    int ms = -1;
    char err[128] = "";
    bool ok = db_commit_timeout_load(&ms, err, sizeof err);
    unsetenv("DB_COMMIT_TIMEOUT_MS");
    ck_assert_msg(ok == commit_timeout_cases[_i].ok, "DB_COMMIT_TIMEOUT_MS=%s",
                  value ? value : "(unset)");
    if (ok) {
        ck_assert_int_eq(ms, commit_timeout_cases[_i].ms);
        ck_assert_str_eq(err, "");
    } else {
        /* One line naming the variable and the range, never the bad value itself. */
        ck_assert_str_eq(err, "DB_COMMIT_TIMEOUT_MS: must be an integer between 1 and 3600000");
    }
}
END_TEST

static Suite *db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("db");
    tcase_add_loop_test(tc, test_classify, 0,
                        (int)(sizeof classify_cases / sizeof classify_cases[0]));
    tcase_add_test(tc, test_pool_exhausted_without_wait);
    tcase_add_test(tc, test_pool_wait_ends);
    tcase_add_test(tc, test_pool_hands_over_in_order);
    tcase_add_test(tc, test_unreachable_server);
    tcase_add_loop_test(tc, test_settings, 0,
                        (int)(sizeof settings_cases / sizeof settings_cases[0]));
    tcase_add_test(tc, test_settings_defaults);
    tcase_add_loop_test(tc, test_commit_timeout, 0,
                        (int)(sizeof commit_timeout_cases / sizeof commit_timeout_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(db_suite());
}
