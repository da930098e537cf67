/* Unit tests of query-service/projector.c without a server and without its thread: the progress
 * and answers before it ever ran (what readiness, min_position and /metrics see then), the
 * status names the API shows. Leadership and batches run against PostgreSQL in the integration
 * tests. */
#include "http/http.h"
#include "projector.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_status_names)
{
    const char *want[] = {"starting", "leader", "standby", "failed", "disconnected"};
    for (int s = PROJECTOR_STARTING; s <= PROJECTOR_DISCONNECTED; s++)
        ck_assert_str_eq(projector_status_name((enum projector_status)s), want[s]);
}
END_TEST

/* Not started: position 0, starting, not ready; a wait for 0 is met, any later one is not
 * (with no timeout it answers at once). */
START_TEST(test_before_start)
{
    struct projector_progress p;
    projector_progress(&p);
    ck_assert_int_eq(p.position, 0);
    ck_assert_int_eq(p.head, 0);
    ck_assert_int_eq(p.status, PROJECTOR_STARTING);
    ck_assert_str_eq(p.error, "");
    ck_assert(!projector_running());
    int64_t position = -1;
    ck_assert(projector_wait(0, 0, &position));
    ck_assert_int_eq(position, 0);
    ck_assert(!projector_wait(1, 0, &position));
    projector_parked(1);
    projector_parked(-1);
    projector_stop(); /* a no-op without a thread */
    projector_progress(&p);
    ck_assert_int_eq(p.status, PROJECTOR_STARTING);
}
END_TEST

START_TEST(test_metrics)
{
    metrics_set_extra(projector_metrics);
    size_t len;
    char *text = metrics_render(&len);
    const char *want[] = {
        "orderly_projection_position 0\n",
        "orderly_projection_head 0\n",
        "orderly_projection_lag_events 0\n",
        "orderly_projection_failed 0\n",
        "orderly_projector_leader 0\n",
        "# TYPE orderly_projector_moves_total counter\n",
        "orderly_projector_moves_total{woken_by=\"notification\"} 0\n",
        "orderly_projector_moves_total{woken_by=\"poll\"} 0\n",
        "orderly_projector_moves_total{woken_by=\"timer\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]) != NULL, "missing %s", want[i]);
    free(text);
    metrics_set_extra(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_projector");
    TCase *t = tcase_create("projector");
    tcase_add_test(t, test_status_names);
    tcase_add_test(t, test_before_start);
    tcase_add_test(t, test_metrics);
    suite_add_tcase(s, t);
    return run_suite(s);
}
