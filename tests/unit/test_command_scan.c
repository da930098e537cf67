/* Unit tests of command_decode's scanner path (codec/command_scan.h): on many random request
 * bodies of every command type it gives what the jansson path alone gives: the same result, the
 * same struct bytes and, for a refusal, the same detail and field errors. The bodies mix valid
 * fields with escapes, non-ASCII, reals, exponents, nulls, booleans, unknown and repeated keys,
 * missing required ones, odd whitespace, trailing text and truncation. */
#include "codec/codec.h"
#include "codec/command_scan.h"

#include "run_suite.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 20000

#define TEST_RNG_SEED 0x2545F4914F6CDD1Dull
#include "test_rng.h"

/* Each type's keys (with a stranger), as the tables name them. */
static const char *const keys[CMD__COUNT][6] = {
    [CMD_PLACE_ORDER] = {"order_id", "customer_id", "currency", "items", "note"},
    [CMD_PAY_ORDER] = {"account_id", "amount_cents", "order_id"},
    [CMD_SHIP_ORDER] = {"carrier", "tracking_number", "x"},
    [CMD_CANCEL_ORDER] = {"reason", "order_id"},
    [CMD_OPEN_ACCOUNT] = {"account_id", "owner", "currency", "overdraft_limit_cents", "y"},
    [CMD_DEPOSIT] = {"amount_cents", "reference", "account_id"},
    [CMD_WITHDRAW] = {"amount_cents", "reference", "z"},
    [CMD_TRANSFER_FUNDS] = {"transfer_id", "from_account_id", "to_account_id", "amount_cents", "w"},
    [CMD_CLOSE_ACCOUNT] = {"account_id"},
    [CMD_FORGET_PERSONAL_DATA] = {"reason"},
};

static const char *const scalars[] = {
    "\"a1\"",
    "\"EUR\"",
    "\"USD\"",
    "\"eur\"",
    "\"SKU-1\"",
    "\"Zq-9_x\"",
    "\"\"",
    "\"a b\"",
    "\"caf\\u00e9\"",
    "\"caf\xc3\xa9\"",
    "\"q\\\"t\"",
    "\"t\\\\\"",
    "\"\\n\"",
    "\"\x7f\"",
    "\"\xff\"",
    "0",
    "1",
    "-1",
    "2",
    "1250",
    "100",
    "101",
    "-0",
    "01",
    "1.0",
    "1e3",
    "1E3",
    "999999999999999999",
    "1000000000000000000",
    "99999999999999999999",
    "9007199254740993",
    "null",
    "true",
    "false",
    "{}",
    "[]",
    "\""
    "0123456789012345678901234567890123456789012345678"
    "90123456789012345\"",
};

static char *put(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n);
    return o + n;
}

static char *ws(char *o)
{
    static const char *const spaces[] = {"", "", "", " ", "\n", "\t ", "\r\n"};
    return put(o, spaces[below((int)(sizeof spaces / sizeof *spaces))]);
}

static char *scalar(char *o)
{
    return put(o, scalars[below((int)(sizeof scalars / sizeof *scalars))]);
}

static char *item(char *o)
{
    static const char *const item_keys[] = {"sku", "quantity", "unit_price_cents", "sku", "v"};
    o = put(o, "{");
    int n = below(4) == 0 ? below(5) : 3;
    for (int i = 0; i < n; i++) {
        if (i)
            o = put(o, ",");
        o = ws(o);
        o = put(o, "\"");
        o = put(o, below(6) == 0 ? item_keys[below(5)] : item_keys[i % 3]);
        o = put(o, "\":");
        o = ws(o);
        if (below(3) == 0)
            o = scalar(o);
        else
            o = put(o, i % 3 == 0 ? "\"SKU-1\"" : i % 3 == 1 ? "2" : "1250");
    }
    return put(o, "}");
}

static char *items(char *o)
{
    int n = below(6) == 0 ? 0 : below(10) == 0 ? 99 + below(3) : 1 + below(3);
    o = put(o, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            o = put(o, ",");
        o = ws(o);
        o = item(o);
    }
    return put(o, "]");
}

/* Mostly a plausible value for the key, else any value. */
static char *value(char *o, const char *key)
{
    if (strcmp(key, "items") == 0 && below(5))
        return items(o);
    if (below(3) == 0)
        return scalar(o);
    if (strstr(key, "currency"))
        return put(o, "\"EUR\"");
    if (strstr(key, "cents"))
        return put(o, below(2) ? "1250" : "0");
    if (strstr(key, "_id"))
        return put(o, below(2) ? "\"a-1_B\"" : "\"c1\"");
    return put(o, "\"some text\"");
}

/* A body for t: its keys in a random order, now and then one repeated, dropped or foreign,
 * sometimes with text after it or cut short. */
static size_t random_body(enum command_type t, char *buf)
{
    const char *const *k = keys[t];
    int nk = 0;
    while (nk < 6 && k[nk])
        nk++;
    char *o = ws(buf);
    o = put(o, "{");
    int fields = below(4) == 0 ? below(nk + 2) : nk - 1 + below(2);
    int first = below(nk);
    for (int i = 0; i < fields; i++) {
        const char *key = k[below(5) == 0 ? below(nk) : (first + i) % nk];
        if (i)
            o = put(o, ",");
        o = ws(o);
        o = put(o, "\"");
        o = put(o, key);
        o = put(o, "\"");
        o = ws(o);
        o = put(o, ":");
        o = ws(o);
        o = value(o, key);
        o = ws(o);
    }
    o = put(o, "}");
    o = ws(o);
    if (below(20) == 0)
        o = put(o, below(2) ? "x" : "{}");
    size_t len = (size_t)(o - buf);
    if (below(20) == 0)
        len = (size_t)below((int)len + 1);
    buf[len] = '\0';
    return len;
}

static void assert_same(enum command_type t, const char *body, size_t len, int *scanned)
{
    static struct command fast, tree;
    struct err_detail why_fast, why_tree;
    memset(&why_fast, 0, sizeof why_fast);
    memset(&why_tree, 0, sizeof why_tree);
    enum err a = command_decode(t, "p-1", body, len, &fast, &why_fast);
    enum err b = command_decode_tree(t, "p-1", body, len, &tree, &why_tree);
    ck_assert_msg(a == b, "%d vs %d for %.*s", a, b, (int)len, body);
    ck_assert_msg(memcmp(&fast, &tree, sizeof fast) == 0, "struct differs for %.*s", (int)len,
                  body);
    ck_assert_msg(memcmp(&why_fast, &why_tree, sizeof why_fast) == 0, "why differs for %.*s",
                  (int)len, body);
    memset(&fast, 0, sizeof fast);
    static const struct command zero;
    if (command_scan_body(t, body, len, &fast)) {
        ck_assert_int_eq(b, ERR_OK);
        (*scanned)++;
    } else {
        ck_assert_msg(memcmp(&fast, &zero, sizeof fast) == 0, "not zero again: %.*s", (int)len,
                      body);
    }
}

START_TEST(random_bodies_decode_as_jansson)
{
    static char body[64 * 1024];
    int scanned = 0;
    for (int r = 0; r < ROUNDS; r++) {
        enum command_type t = (enum command_type)below(CMD__COUNT);
        size_t len = random_body(t, body);
        assert_same(t, body, len, &scanned);
    }
    ck_assert_msg(scanned > ROUNDS / 20, "the scanner read only %d bodies", scanned);
}
END_TEST

/* The bodies clients send take the scanner; a NUL inside, a body that does not end where len
 * says, or a blank one take jansson, with the same answer. */
START_TEST(ordinary_bodies_are_scanned)
{
    static const struct {
        enum command_type t;
        const char *body;
    } cases[] = {
        {CMD_PLACE_ORDER,
         "{\"customer_id\":\"bench-customer\",\"currency\":\"EUR\","
         "\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price_cents\":1250}]}"},
        {CMD_DEPOSIT, "{\"amount_cents\":500,\"reference\":\"r\"}"},
        {CMD_TRANSFER_FUNDS,
         "{\"from_account_id\":\"a\",\"to_account_id\":\"b\",\"amount_cents\":1}"},
        {CMD_CLOSE_ACCOUNT, "{}"},
    };
    int scanned = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct command c;
        memset(&c, 0, sizeof c);
        ck_assert(command_scan_body(cases[i].t, cases[i].body, strlen(cases[i].body), &c));
        assert_same(cases[i].t, cases[i].body, strlen(cases[i].body), &scanned);
    }
    ck_assert_int_eq(scanned, 4);
    static const char nul[] = "{\"amount_cents\":5}\0{";
    assert_same(CMD_DEPOSIT, nul, sizeof nul - 1, &scanned);
    assert_same(CMD_DEPOSIT, "{\"amount_cents\":5}x", 18, &scanned);
    assert_same(CMD_CLOSE_ACCOUNT, " \n", 2, &scanned);
    assert_same(CMD_CLOSE_ACCOUNT, NULL, 0, &scanned);
    ck_assert_int_eq(scanned, 5); /* only the cut-short {"amount_cents":5} of the four */
}
END_TEST

static Suite *command_scan_suite(void)
{
    Suite *s = suite_create("command_scan");
    TCase *tc = tcase_create("command_scan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_bodies_decode_as_jansson);
    tcase_add_test(tc, ordinary_bodies_are_scanned);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(command_scan_suite());
}
