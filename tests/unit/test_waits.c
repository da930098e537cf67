/* Unit tests of query-service/waits.c without a server or a running waker: when a request may
 * park and when a parked one is due (on explicit times, so nothing here waits on a clock), and
 * what the public calls answer before the waker started. */
#include "clock.h"
#include "waits.h"
#include "waits_internal.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1000000

static const struct {
    bool started, draining;
    enum projector_status status;
    int64_t position, min, deadline;
    bool park;
} park_cases[] = {
    {true, false, PROJECTOR_LEADER, 5, 7, NOW + 1, true},
    {true, false, PROJECTOR_STANDBY, 5, 7, NOW + 1, true},
    {true, false, PROJECTOR_DISCONNECTED, 5, 7, NOW + 1, true}, /* it may come back in time */
    {false, false, PROJECTOR_LEADER, 5, 7, NOW + 1, false},     /* no waker to resume it */
    {true, true, PROJECTOR_LEADER, 5, 7, NOW + 1, false},       /* draining: answer now */
    {true, false, PROJECTOR_LEADER, 7, 7, NOW + 1, false},      /* already there */
    {true, false, PROJECTOR_LEADER, 8, 7, NOW + 1, false},
    {true, false, PROJECTOR_FAILED, 5, 7, NOW + 1, false}, /* it will not move */
    {true, false, PROJECTOR_LEADER, 5, 7, NOW, false},     /* deadline already here */
};

START_TEST(test_may_park)
{
    struct projector_progress p = {.position = park_cases[_i].position,
                                   .status = park_cases[_i].status};
    ck_assert_int_eq(waits_may_park(park_cases[_i].started, park_cases[_i].draining, &p,
                                    park_cases[_i].min, NOW, park_cases[_i].deadline),
                     park_cases[_i].park);
}
END_TEST

static const struct {
    int64_t min, deadline, position, now;
    bool failed, draining, due;
} due_cases[] = {
    {7, NOW + 10, 6, NOW, false, false, false}, /* still waiting */
    {7, NOW + 10, 7, NOW, false, false, true},  /* reached */
    {7, NOW + 10, 9, NOW, false, false, true},
    {7, NOW + 10, 6, NOW + 10, false, false, true}, /* deadline: answers 503 behind */
    {7, NOW + 10, 6, NOW + 9, false, false, false},
    {7, NOW + 10, 6, NOW, true, false, true}, /* failed */
    {7, NOW + 10, 6, NOW, false, true, true}, /* draining */
};

START_TEST(test_due)
{
    ck_assert_int_eq(waits_due(due_cases[_i].min, due_cases[_i].deadline, due_cases[_i].position,
                               due_cases[_i].now, due_cases[_i].failed, due_cases[_i].draining),
                     due_cases[_i].due);
}
END_TEST

/* Before waits_start (and without a projector): nothing parks, the progress is the projector's
 * (position 0, starting), and waits_wait answers at once with what it saw. */
START_TEST(test_not_started)
{
    struct request r = {0};
    ck_assert(!waits_park(&r, 5, clock_now_ms() + 60000));
    ck_assert(!r.parked);
    struct projector_progress p;
    waits_progress(&p);
    ck_assert_int_eq(p.position, 0);
    ck_assert_int_eq(p.status, PROJECTOR_STARTING);
    int64_t position = -1;
    ck_assert(waits_wait(0, 0, &position));
    ck_assert_int_eq(position, 0);
    ck_assert(!waits_wait(5, 0, &position));
    ck_assert_int_eq(position, 0);
    waits_demand(1); /* no read database: nothing to poll */
    waits_demand(-1);
    waits_drain();
    waits_stop();
}
END_TEST

START_TEST(test_clock_monotonic)
{
    int64_t a = clock_now_ms(), b = clock_now_ms();
    ck_assert_int_gt(a, 0);
    ck_assert_int_ge(b, a);
}
END_TEST

/* /metrics names both series with nothing parked. */
START_TEST(test_metrics)
{
    metrics_set_extra(waits_metrics);
    size_t len;
    char *text = metrics_render(&len);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE orderly_min_position_parked gauge\n"
                                       "orderly_min_position_parked 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE orderly_min_position_parked_total counter\n"
                                       "orderly_min_position_parked_total 0\n"));
    free(text);
    metrics_set_extra(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("waits");
    TCase *t = tcase_create("waits");
    tcase_add_loop_test(t, test_may_park, 0, (int)(sizeof park_cases / sizeof park_cases[0]));
    tcase_add_loop_test(t, test_due, 0, (int)(sizeof due_cases / sizeof due_cases[0]));
    tcase_add_test(t, test_not_started);
    tcase_add_test(t, test_clock_monotonic);
    tcase_add_test(t, test_metrics);
    suite_add_tcase(s, t);
    return run_suite(s);
}
