/* Unit tests of query-service/verify.c without a server: the CLI's report for the rows of
 * ST_VERIFY_ALL (built with libpq), its exit codes for bad configuration and an unreachable
 * database, and GET .../verify's answer when the pool cannot reach one. */
#include "capture.h"
#include "query_rows.h"
#include "reads.h"
#include "verify.h"
#include "verify_internal.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static PGresult *report_rows;
static int64_t report_broken;

static void run_report(void)
{
    report_broken = verify_report(report_rows);
}

/* One row per broken stream (stream_id, checked, first broken position), then the totals row
 * with a NULL stream_id (events, streams). */
START_TEST(test_report_broken)
{
    report_rows = rows_new(3);
    rows_set(report_rows, 0, 0, "order-o-1");
    rows_set_int(report_rows, 0, 1, 4);
    rows_set_int(report_rows, 0, 2, 17);
    rows_set(report_rows, 1, 0, "account-a-2");
    rows_set_int(report_rows, 1, 1, 2);
    rows_set_int(report_rows, 1, 2, 30);
    rows_set(report_rows, 2, 0, NULL);
    rows_set_int(report_rows, 2, 1, 120);
    rows_set_int(report_rows, 2, 2, 40);
    char *out = capture_stdout(run_report);
    ck_assert_int_eq(report_broken, 2);
    ck_assert_str_eq(out, "broken: stream order-o-1, first broken position 17 (4 events checked)\n"
                          "broken: stream account-a-2, first broken position 30 (2 events "
                          "checked)\n"
                          "verify: 40 streams, 120 events checked, 2 broken\n");
    free(out);
    PQclear(report_rows);
}
END_TEST

START_TEST(test_report_intact)
{
    report_rows = rows_new(3);
    rows_set(report_rows, 0, 0, NULL);
    rows_set_int(report_rows, 0, 1, 0);
    rows_set_int(report_rows, 0, 2, 0);
    char *out = capture_stdout(run_report);
    ck_assert_int_eq(report_broken, 0);
    ck_assert_str_eq(out, "verify: 0 streams, 0 events checked, every chain intact\n");
    free(out);
    PQclear(report_rows);
}
END_TEST

static int main_rc;

static void run_main(void)
{
    main_rc = verify_main();
}

/* 2: bad configuration (no DATABASE_URL); 3: the database cannot be reached. No report on
 * stdout either way (logs go there too: LOG_LEVEL=error keeps the warning out). */
START_TEST(test_main_exit_codes)
{
    setenv("LOG_LEVEL", "error", 1);
    unsetenv("DATABASE_URL");
    char *out = capture_stdout(run_main);
    ck_assert_int_eq(main_rc, 2);
    ck_assert_str_eq(out, "");
    free(out);
    setenv("DATABASE_URL", "postgresql:///x?host=/nonexistent-orderly-dir&port=1", 1);
    out = capture_stdout(run_main);
    ck_assert_int_eq(main_rc, 3);
    ck_assert_str_eq(out, "");
    free(out);
    unsetenv("DATABASE_URL");
    unsetenv("LOG_LEVEL");
}
END_TEST

START_TEST(test_stream_unreachable)
{
    rows_reads_nowhere();
    verify_init(reads_pool());
    json_t *out = NULL;
    ck_assert_int_eq(verify_stream("order-o-1", &out), ERR_DB_DOWN);
    ck_assert_ptr_null(out);
    reads_close_all();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verify");
    TCase *t = tcase_create("verify");
    tcase_add_test(t, test_report_broken);
    tcase_add_test(t, test_report_intact);
    tcase_add_test(t, test_main_exit_codes);
    tcase_add_test(t, test_stream_unreachable);
    suite_add_tcase(s, t);
    return run_suite(s);
}
