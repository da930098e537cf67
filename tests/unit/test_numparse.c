/* Unit tests of numparse: the strict decimal parser every request integer goes through. Each
 * table row is one input, a range, and the value it must give (or its rejection). */
#include "numparse.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>

static const struct {
    const char *text;
    int64_t min, max;
    bool ok;
    int64_t value;
} cases[] = {
    {"0", 0, INT64_MAX, true, 0},
    {"7", 0, INT64_MAX, true, 7},
    {"007", 0, INT64_MAX, true, 7},
    {"9223372036854775807", 0, INT64_MAX, true, INT64_MAX},
    {"09223372036854775807", 0, INT64_MAX, true, INT64_MAX},
    {"9223372036854775808", 0, INT64_MAX, false, 0},
    {"9999999999999999999", 0, INT64_MAX, false, 0},
    {"18446744073709551616", 0, INT64_MAX, false, 0},
    {"99999999999999999999999999999999", 0, INT64_MAX, false, 0},
    {"30000", 0, 30000, true, 30000},
    {"30001", 0, 30000, false, 0},
    {"0", 1, 1000, false, 0},
    {"1", 1, 1000, true, 1},
    {"", 0, INT64_MAX, false, 0},
    {"-1", 0, INT64_MAX, false, 0},
    {"-0", 0, INT64_MAX, false, 0},
    {"+1", 0, INT64_MAX, false, 0},
    {" 1", 0, INT64_MAX, false, 0},
    {"1 ", 0, INT64_MAX, false, 0},
    {"1a", 0, INT64_MAX, false, 0},
    {"0x10", 0, INT64_MAX, false, 0},
    {"1e3", 0, INT64_MAX, false, 0},
    {"1.0", 0, INT64_MAX, false, 0},
    {"\xef\xbc\x91", 0, INT64_MAX, false, 0}, /* a fullwidth digit one */
};

START_TEST(test_parse)
{
    int64_t v = 42;
    bool ok = numparse_int64(cases[_i].text, cases[_i].min, cases[_i].max, &v);
    ck_assert_msg(ok == cases[_i].ok, "'%s' in [%lld, %lld]: ok=%d", cases[_i].text,
                  (long long)cases[_i].min, (long long)cases[_i].max, ok);
    ck_assert_int_eq(v, ok ? cases[_i].value : 42); /* untouched on failure */
}
END_TEST

START_TEST(test_null)
{
    int64_t v = 42;
    ck_assert(!numparse_int64(NULL, 0, INT64_MAX, &v));
    ck_assert_int_eq(v, 42);
}
END_TEST

static Suite *numparse_suite(void)
{
    Suite *s = suite_create("numparse");
    TCase *tc = tcase_create("numparse");
    tcase_add_loop_test(tc, test_parse, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(numparse_suite());
}
