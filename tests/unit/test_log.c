/* Sampled access lines: which requests are sampled, which sequence numbers are written, and
 * that log_request writes 1 in N per route while errors and writes are all kept. */
#include "capture.h"
#include "log.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_sampleable)
{
    ck_assert(log_request_sampleable("GET", 200));
    ck_assert(log_request_sampleable("HEAD", 304));
    ck_assert(!log_request_sampleable("GET", 404));
    ck_assert(!log_request_sampleable("GET", 503));
    ck_assert(!log_request_sampleable("POST", 201));
    ck_assert(!log_request_sampleable("DELETE", 204));
}
END_TEST

START_TEST(test_keep)
{
    int kept = 0;
    for (unsigned long long seq = 7; seq < 7 + 50; seq++)
        kept += log_sample_keep(seq, 10);
    ck_assert_int_eq(kept, 5); /* any 50 consecutive numbers hold 5 multiples of 10 */
    ck_assert(log_sample_keep(0, 10));
    ck_assert(!log_sample_keep(1, 10));
    ck_assert(log_sample_keep(3, 1));
}
END_TEST

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void log_traffic(void)
{
    for (int i = 0; i < 25; i++)
        log_request("c", "GET", "/a", 200, 1.0);
    for (int i = 0; i < 3; i++)
        log_request("c", "GET", "/b", 200, 1.0);
    for (int i = 0; i < 4; i++)
        log_request("c", "GET", "/a", 404, 1.0);
    for (int i = 0; i < 2; i++)
        log_request("c", "POST", "/a", 201, 1.0);
}

START_TEST(test_log_request_samples_per_route)
{
    ck_assert(log_init("svc", "info", "json"));
    log_sample_gets(10);
    char *out = capture_stdout(log_traffic);
    log_sample_gets(1);
    /* /a: seq 0, 10, 20 of 25; /b: its own first; every 404 and POST. */
    ck_assert_int_eq(count(out, "\"route\":\"/a\",\"status\":200"), 3);
    ck_assert_int_eq(count(out, "\"route\":\"/b\",\"status\":200"), 1);
    ck_assert_int_eq(count(out, "\"status\":404"), 4);
    ck_assert_int_eq(count(out, "\"method\":\"POST\""), 2);
    ck_assert_int_eq(count(out, "\"sample_1_in\":10"), 4);
    free(out);
}
END_TEST

START_TEST(test_log_request_unsampled_by_default)
{
    ck_assert(log_init("svc", "info", "json"));
    char *out = capture_stdout(log_traffic);
    ck_assert_int_eq(count(out, "\"status\":200"), 28);
    ck_assert_int_eq(count(out, "sample_1_in"), 0);
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *t = tcase_create("sampling");
    tcase_add_test(t, test_sampleable);
    tcase_add_test(t, test_keep);
    tcase_add_test(t, test_log_request_unsampled_by_default);
    tcase_add_test(t, test_log_request_samples_per_route);
    suite_add_tcase(s, t);
    return run_suite(s);
}
