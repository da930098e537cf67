/* Unit tests of the JSON access line (common/log_line.h): built straight into text it is the
 * bytes the jansson tree gives (JSON_COMPACT, JSON_REAL_PRECISION(6)) on many random lines:
 * texts with quotes, backslashes, control characters, non-ASCII and invalid UTF-8, statuses,
 * sample weights and durations of every magnitude, sign and rounding edge. */
#include "log_line.h"

#include "run_suite.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 20000

#define TEST_RNG_SEED 0x9FB21C651E98DF25ull
#include "test_rng.h"

static const char *const pieces[] = {
    "a",    "Zq-9_",           "\"", "\\", "/",    " ",    "~",        "{",
    "GET",  "/v1/orders/{id}", "\n", "\t", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
    "\xff", "\xed\xa0\x80",
};

/* Mostly printable ASCII (what the server passes), now and then anything. */
static const char *text(char *buf, size_t size)
{
    bool dirty = below(10) == 0;
    int plain = 10; /* the first pieces are printable ASCII */
    size_t len = 0, want = (size_t)below((int)size);
    buf[0] = '\0';
    while (len < want) {
        const char *p = pieces[below(dirty ? (int)(sizeof pieces / sizeof *pieces) : plain)];
        size_t n = strlen(p);
        if (len + n >= size)
            break;
        memcpy(buf + len, p, n + 1);
        len += n;
    }
    return buf;
}

static double duration(void)
{
    static const double edges[] = {0.0,       -0.0,     1.0,           0.5,  999999.5,
                                   9999995.0, 1e-7,     1.23456789,    1e21, 1e-300,
                                   123456.75, 100000.0, 1000000.0,     -2.5, 1e100,
                                   5e-324,    0.000123, 12345678901.0, 0.1,  INFINITY};
    if (below(4) == 0)
        return edges[below((int)(sizeof edges / sizeof *edges))];
    double mantissa = (double)(next() % 10000000) / 1000.0;
    return ldexp(mantissa, below(80) - 40) * (below(10) == 0 ? -1 : 1);
}

static void assert_same(char *fast, char *tree, int round)
{
    if (tree == NULL) {
        ck_assert_ptr_null(fast);
        return;
    }
    ck_assert_ptr_nonnull(fast);
    ck_assert_msg(strcmp(fast, tree) == 0, "round %d:\n fast %s\n tree %s", round, fast, tree);
    free(fast);
    free(tree);
}

START_TEST(random_lines_are_jansson_bytes)
{
    char b[5][80];
    for (int r = 0; r < ROUNDS; r++) {
        const char *ts = below(8) ? "2026-11-30T02:15:42.123Z" : text(b[0], sizeof b[0]);
        const char *svc = below(8) ? "command-service" : text(b[1], sizeof b[1]);
        const char *cid = text(b[2], sizeof b[2]), *method = text(b[3], sizeof b[3]);
        const char *route = text(b[4], sizeof b[4]);
        int status = below(4) ? 200 + below(400) : (int)next();
        double ms = duration();
        int weight = below(3) ? 1 : below(5) ? below(100) : (int)next();
        assert_same(log_request_json(ts, svc, cid, method, route, status, ms, weight),
                    log_request_json_tree(ts, svc, cid, method, route, status, ms, weight), r);
    }
}
END_TEST

/* A readable line: the exponent loses '+' and its leading zeros, integers read as reals. */
START_TEST(an_ordinary_line)
{
    char *line = log_request_json("2026-11-30T02:15:42.123Z", "command-service", "c\"1", "POST",
                                  "/v1/orders", 201, 1234567.0, 10);
    ck_assert_str_eq(line, "{\"ts\":\"2026-11-30T02:15:42.123Z\",\"level\":\"info\","
                           "\"msg\":\"request\",\"service\":\"command-service\","
                           "\"correlation_id\":\"c\\\"1\",\"method\":\"POST\","
                           "\"route\":\"/v1/orders\",\"status\":201,\"duration_ms\":1.23457e6,"
                           "\"sample_1_in\":10}");
    free(line);
    line = log_request_json("t", "s", "c", "GET", "/", 200, 3.0, 1);
    ck_assert_ptr_nonnull(strstr(line, "\"duration_ms\":3.0}"));
    free(line);
}
END_TEST

static Suite *log_line_suite(void)
{
    Suite *s = suite_create("log_line");
    TCase *tc = tcase_create("log_line");
    tcase_add_test(tc, random_lines_are_jansson_bytes);
    tcase_add_test(tc, an_ordinary_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(log_line_suite());
}
