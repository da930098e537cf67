/* Unit tests of timefmt: RFC 3339 printing, parsing with offsets and fractions, strict dates.
 * Each table row is one input and its expected epoch milliseconds (or rejection). */
#include "timefmt.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>

static const struct {
    int64_t ms;
    const char *text;
} format_cases[] = {
    {0, "1970-01-01T00:00:00.000Z"},
    {1795628168123LL, "2026-11-25T17:36:08.123Z"},
    {1709164800000LL, "2024-02-29T00:00:00.000Z"},
    {-1, "1969-12-31T23:59:59.999Z"},
    {-2208988800000LL, "1900-01-01T00:00:00.000Z"},
    {253402300799999LL, "9999-12-31T23:59:59.999Z"},
    {INT64_MAX, "9999-12-31T23:59:59.999Z"}, /* clamped: RFC 3339 has four-digit years */
};

START_TEST(test_format)
{
    char out[TIMEFMT_LEN];
    timefmt_rfc3339(format_cases[_i].ms, out);
    ck_assert_str_eq(out, format_cases[_i].text);
}
END_TEST

static const struct {
    const char *text;
    bool ok;
    int64_t ms;
} parse_cases[] = {
    {"1970-01-01T00:00:00Z", true, 0},
    {"1970-01-01T00:00:00.5Z", true, 500},
    {"1970-01-01t00:00:00.123456789z", true, 123},
    {"1970-01-01 00:00:01.999999Z", true, 1999},
    {"1970-01-01T01:00:00+01:00", true, 0},
    {"1969-12-31T19:00:00-05:00", true, 0},
    {"2024-02-29T12:34:56.789+05:30", true, 1709190296789LL},
    {"2026-11-25T17:36:08.123Z", true, 1795628168123LL},
    {"2016-12-31T23:59:60Z", true, 1483228800000LL},
    {"1969-12-31T23:59:59.999Z", true, -1},
    {"", false, 0},
    {"2024-02-30T00:00:00Z", false, 0},
    {"2023-02-29T00:00:00Z", false, 0},
    {"2024-13-01T00:00:00Z", false, 0},
    {"2024-00-10T00:00:00Z", false, 0},
    {"2024-01-00T00:00:00Z", false, 0},
    {"2024-01-01T24:00:00Z", false, 0},
    {"2024-01-01T00:60:00Z", false, 0},
    {"2024-01-01T00:00:61Z", false, 0},
    {"2024-01-01T00:00:00", false, 0},
    {"2024-01-01T00:00:00.Z", false, 0},
    {"2024-01-01T00:00:00+0100", false, 0},
    {"2024-01-01T00:00:00+24:00", false, 0},
    {"2024-01-01T00:00:00+01:60", false, 0},
    {"2024-01-01X00:00:00Z", false, 0},
    {"2024-1-01T00:00:00Z", false, 0},
    {"2024-01-01T00:00:00Zjunk", false, 0},
    {"2024-01-01T0:00:00Z", false, 0},
    {"2024-01-01", false, 0},
    {" 2024-01-01T00:00:00Z", false, 0},
    {"2024-01-01T00:00", false, 0},
};

START_TEST(test_parse)
{
    int64_t ms = 42;
    bool ok = timefmt_parse(parse_cases[_i].text, &ms);
    ck_assert_msg(ok == parse_cases[_i].ok, "'%s' ok=%d", parse_cases[_i].text, ok);
    if (ok)
        ck_assert_int_eq(ms, parse_cases[_i].ms);
    else
        ck_assert_int_eq(ms, 42); /* untouched on failure */
}
END_TEST

/* What timefmt_rfc3339 prints, timefmt_parse reads back exactly. */
START_TEST(test_round_trip)
{
    const int64_t samples[] = {0, 1, 999, 1000, 1795628168123LL, -86400001LL, 951782400000LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char out[TIMEFMT_LEN];
        int64_t back = 0;
        timefmt_rfc3339(samples[i], out);
        ck_assert_msg(timefmt_parse(out, &back), "cannot parse '%s'", out);
        ck_assert_int_eq(back, samples[i]);
    }
    ck_assert(!timefmt_parse(NULL, &(int64_t){0}));
}
END_TEST

static const struct {
    const char *text;
    bool ok;
    int64_t ms;
} date_cases[] = {
    {"1970-01-01", true, 0},
    {"2024-02-29", true, 1709164800000LL},
    {"1900-01-01", true, -2208988800000LL},
    {"2023-02-29", false, 0},
    {"2024-2-29", false, 0},
    {"2024-02-29T00:00:00Z", false, 0},
    {"2024-02-29 ", false, 0},
    {"20240229", false, 0},
    {"", false, 0},
    {"2024-04-31", false, 0},
};

START_TEST(test_parse_date)
{
    int64_t ms = 42;
    bool ok = timefmt_parse_date(date_cases[_i].text, &ms);
    ck_assert_msg(ok == date_cases[_i].ok, "'%s' ok=%d", date_cases[_i].text, ok);
    ck_assert_int_eq(ms, ok ? date_cases[_i].ms : 42);
}
END_TEST

static Suite *timefmt_suite(void)
{
    Suite *s = suite_create("timefmt");
    TCase *tc = tcase_create("timefmt");
    tcase_add_loop_test(tc, test_format, 0, (int)(sizeof format_cases / sizeof format_cases[0]));
    tcase_add_loop_test(tc, test_parse, 0, (int)(sizeof parse_cases / sizeof parse_cases[0]));
    tcase_add_test(tc, test_round_trip);
    tcase_add_loop_test(tc, test_parse_date, 0, (int)(sizeof date_cases / sizeof date_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(timefmt_suite());
}
