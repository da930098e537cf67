/* Unit tests for command-service/notifier.c without a database server: a poke makes the
 * notifier try its NOTIFY, a stopped notifier touches nothing, and it can start again. Every
 * statement it tries fails at once against a socket that does not exist and counts one
 * orderly_db_errors_total, which is how these tests see what it did. */
#include "command_fixture.h"
#include "notifier.h"
#include "run_suite.h"

#include <time.h>

/* Polls the counter until it reaches at least want; the deadline only bounds a failure. */
static long wait_for_db_errors(long want)
{
    struct timespec tick = {0, 5 * 1000000L};
    time_t deadline = time(NULL) + 60;
    long n = fixture_db_errors();
    while (n < want && time(NULL) < deadline) {
        nanosleep(&tick, NULL);
        n = fixture_db_errors();
    }
    return n;
}

/* Stopping a notifier that never started returns (no thread to join). */
START_TEST(test_stop_without_start)
{
    long errors = fixture_db_errors();
    notifier_stop();
    notifier_stop();
    ck_assert_int_eq(fixture_db_errors(), errors);
}
END_TEST

/* Its first round after a poke sends the NOTIFY and expires old keys: two statements. Without
 * the poke's wake-up the round would be the one-second timer's, which expires keys only (and
 * not again for EXPIRE_EVERY_S), so the count would stop one short. */
START_TEST(test_poke_sends_notify)
{
    long before = fixture_db_errors();
    notifier_start(NOWHERE, NULL);
    notifier_poke();
    ck_assert_int_ge(wait_for_db_errors(before + 2), before + 2);
    notifier_stop();
    long stopped = fixture_db_errors();
    notifier_poke(); /* nobody is running to send it */
    notifier_stop();
    ck_assert_int_eq(fixture_db_errors(), stopped);
}
END_TEST

/* A stopped notifier starts again, and a poke that came while it was stopped is not lost. */
START_TEST(test_restart_keeps_pending_poke)
{
    notifier_poke();
    long before = fixture_db_errors();
    notifier_start(NOWHERE, "-c lock_timeout=1000ms");
    ck_assert_int_ge(wait_for_db_errors(before + 2), before + 2);
    notifier_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notifier");
    TCase *tc = tcase_create("notifier");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stop_without_start);
    tcase_add_test(tc, test_poke_sends_notify);
    tcase_add_test(tc, test_restart_keeps_pending_poke);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
