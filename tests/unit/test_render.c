/* Unit tests of codec/render.c: the documents rendered straight from the field tables are the
 * bytes jansson gives for the same table (validate_to_json + json_dumps JSON_COMPACT), on fixed
 * and on many random states: strings that need escapes, non-ASCII, invalid UTF-8, unterminated
 * buffers, empty optional fields, every integer edge, odd counts and statuses. */
#include "codec/codec.h"
#include "codec/render.h"
#include "codec/state_fields.h"
#include "codec/validate.h"

#include "run_suite.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 500

#define TEST_RNG_SEED 0x9E3779B97F4A7C15ull
#include "test_rng.h"

/* Pieces a string is made of: plain text, every escape jansson writes, UTF-8 of each length
 * (U+2028 included: jansson leaves it as is) and sequences jansson refuses as UTF-8. */
static const char *const pieces[] = {
    "a",
    "Zq-9_",
    "\"",
    "\\",
    "/",
    "\b",
    "\f",
    "\n",
    "\r",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    " ",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\xe2\x80\xa8",
    "\xc2\x80",
    "\xc0\x80",
    "\x80",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "\xe0\x80\x80",
    "\xe2\x82",
    "\xf5\x80\x80\x80",
    "\xc1\xbf",
    "\xf0\x80\x80\x80",
    "\xef\xbf\xbf",
    "\xf4\x8f\xbf\xbf",
    "\xff",
};

/* Mostly clean strings, so most documents are ordinary; sometimes empty, sometimes the whole
 * buffer with no NUL (strnlen stops at the size, as validate_to_json's does). */
static void fill_text(char *buf, size_t size)
{
    int shape = below(10);
    memset(buf, 0, size);
    if (shape == 0)
        return;
    if (shape == 1) {
        for (size_t i = 0; i < size; i++)
            buf[i] = (char)('a' + below(26));
        return;
    }
    size_t want = (size_t)below((int)size);
    size_t len = 0;
    bool dirty = shape >= 7;
    while (len < want) {
        const char *p = dirty ? pieces[below((int)(sizeof pieces / sizeof *pieces))] : "x";
        size_t n = strlen(p);
        if (len + n > size - 1)
            break;
        memcpy(buf + len, p, n);
        len += n;
    }
}

static int64_t any_int(void)
{
    static const int64_t edges[] = {0,
                                    1,
                                    -1,
                                    9,
                                    10,
                                    -10,
                                    INT64_MIN,
                                    INT64_MAX,
                                    MONEY_MAX,
                                    -MONEY_MAX,
                                    253402300799999LL,
                                    -62167219200001LL};
    if (below(3) == 0)
        return edges[below((int)(sizeof edges / sizeof *edges))];
    return (int64_t)next() >> below(63);
}

static void random_order(struct order_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = (enum order_status)(below(8) - 1);
    s->version = any_int();
    fill_text(s->order_id, sizeof s->order_id);
    fill_text(s->customer_id, sizeof s->customer_id);
    fill_text(s->currency, sizeof s->currency);
    s->item_count = below(5) == 0 ? below(3 * ITEMS_MAX) - ITEMS_MAX : below(4);
    for (int i = 0; i < ITEMS_MAX; i++) {
        fill_text(s->items[i].sku, sizeof s->items[i].sku);
        s->items[i].quantity = any_int();
        s->items[i].unit_price_cents = any_int();
    }
    s->total_cents = any_int();
    s->paid_cents = any_int();
    s->refunded_cents = any_int();
    fill_text(s->account_id, sizeof s->account_id);
    fill_text(s->carrier, sizeof s->carrier);
    fill_text(s->tracking_number, sizeof s->tracking_number);
    fill_text(s->cancel_reason, sizeof s->cancel_reason);
    s->placed_at_ms = any_int();
    s->updated_at_ms = any_int();
}

static void random_account(struct account_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = (enum account_status)(below(5) - 1);
    s->version = any_int();
    fill_text(s->account_id, sizeof s->account_id);
    fill_text(s->owner, sizeof s->owner);
    fill_text(s->currency, sizeof s->currency);
    s->balance_cents = any_int();
    s->overdraft_limit_cents = any_int();
    s->opened_at_ms = any_int();
    s->updated_at_ms = any_int();
}

/* Steals j. */
static char *jansson_text(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

/* Names the first byte that differs, with some context (whole documents are too long for
 * Check's messages). Frees both texts. */
static void assert_same(char *rendered, char *dumped, int round)
{
    ck_assert_ptr_nonnull(dumped);
    size_t at = 0;
    while (rendered[at] && rendered[at] == dumped[at])
        at++;
    size_t from = at > 40 ? at - 40 : 0;
    ck_assert_msg(rendered[at] == dumped[at],
                  "round %d, byte %zu:\n rendered %.100s\n jansson  %.100s", round, at,
                  rendered + from, dumped + from);
    free(rendered);
    free(dumped);
}

START_TEST(order_documents_are_jansson_bytes)
{
    struct order_state *s = malloc(sizeof *s);
    for (int r = 0; r < ROUNDS; r++) {
        random_order(s);
        assert_same(order_view_doc(s), jansson_text(order_view_json(s)), r);
    }
    free(s);
}
END_TEST

START_TEST(account_documents_are_jansson_bytes)
{
    struct account_state s;
    for (int r = 0; r < ROUNDS; r++) {
        random_account(&s);
        assert_same(account_view_doc(&s), jansson_text(account_view_json(&s)), r);
    }
}
END_TEST

/* A readable case of each rule, so a failure says which one broke. */
START_TEST(escapes_and_utf8_as_jansson)
{
    static const char *const texts[] = {
        "plain",
        "quote \" back \\ slash /",
        "nl\n tab\t cr\r bs\b ff\f",
        "\x01\x1f\x7f",
        "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8",
        "bad \xc3",
        "bad \xed\xa0\x80",
        "",
    };
    struct account_state s;
    memset(&s, 0, sizeof s);
    s.status = ACCOUNT_OPEN;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        snprintf(s.owner, sizeof s.owner, "%s", texts[i]);
        assert_same(account_view_doc(&s), jansson_text(account_view_json(&s)), (int)i);
    }
    char *doc = account_view_doc(&s);
    ck_assert_str_eq(strstr(doc, "\"owner\""),
                     "\"owner\":\"\",\"currency\":\"\",\"balance_cents\":0,"
                     "\"overdraft_limit_cents\":0,\"status\":\"open\","
                     "\"opened_at\":\"1970-01-01T00:00:00.000Z\","
                     "\"updated_at\":\"1970-01-01T00:00:00.000Z\",\"version\":0}");
    free(doc);
}
END_TEST

/* Rules the view tables do not reach today: a key that needs escaping, and an enum with no
 * name, whose key jansson leaves out. */
struct odd {
    char text[8];
    int kind;
};

static const char *odd_name(int v)
{
    return v == 1 ? "one" : NULL;
}

static const struct field_spec odd_fields[] = {
    {"k\"ey", F_TEXT, REQUIRED, FIELD_AT(struct odd, text), .min = 0, .max = 7},
    {"kind", F_ENUM, REQUIRED, FIELD_AT(struct odd, kind), .min = 1, .max = 1,
     .enum_name = odd_name},
    {NULL},
};

START_TEST(escaped_keys_and_nameless_enums)
{
    for (int kind = 0; kind < 3; kind++) {
        struct odd o = {.text = "t", .kind = kind};
        struct render_buf b = {0};
        render_object(&b, odd_fields, &o);
        assert_same(b.text, jansson_text(validate_to_json(odd_fields, &o)), kind);
    }
}
END_TEST

/* One buffer serves many documents: reset keeps the memory and starts the text again. */
START_TEST(reset_buffer_renders_each_document_alone)
{
    struct account_state s;
    struct render_buf b = {0};
    for (int r = 0; r < 50; r++) {
        random_account(&s);
        render_reset(&b);
        account_view_render(&b, &s);
        ck_assert_uint_eq(b.len, strlen(b.text));
        assert_same(strdup(b.text), jansson_text(account_view_json(&s)), r);
    }
    render_free(&b);
}
END_TEST

/* Times in runs across second, day and year boundaries, before 1970 and at both ends of what
 * RFC 3339 can print (the renderer keeps the last second's text). */
START_TEST(times_as_jansson)
{
    static const int64_t starts[] = {
        -2100, 0, 1764092167990LL, 946684799000LL, -62167219200003LL, 253402300799000LL};
    struct account_state s;
    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++)
        for (int64_t ms = starts[i]; ms < starts[i] + 2100; ms += 7) {
            s.opened_at_ms = ms;
            s.updated_at_ms = ms + 1;
            assert_same(account_view_doc(&s), jansson_text(account_view_json(&s)), (int)ms);
        }
}
END_TEST

/* ---- documents read back (view_codec.c: the scanner, or jansson for non-ASCII) ---- */

static void valid_id(char *buf, int len)
{
    static const char chars[] = "AZaz09_-q";
    for (int i = 0; i < len; i++)
        buf[i] = chars[below((int)sizeof chars - 1)];
    buf[len] = '\0';
}

/* Printable text, now and then with a quote, a backslash or UTF-8 (jansson reads those). */
static void valid_text(char *buf, int max_chars)
{
    int n = below(max_chars + 1), len = 0;
    for (int i = 0; i < n; i++) {
        int pick = below(40);
        const char *p = pick == 0 ? "\"" : pick == 1 ? "\\" : pick == 2 ? "\xc3\xa9" : "k";
        memcpy(buf + len, p, strlen(p));
        len += (int)strlen(p);
    }
    buf[len] = '\0';
}

static int64_t between(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

static void valid_order(struct order_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = (enum order_status)between(ORDER_PLACED, ORDER_CANCELLED);
    s->version = between(1, MONEY_MAX);
    valid_id(s->order_id, 1 + below(ID_MAX));
    valid_id(s->customer_id, 1 + below(ID_MAX));
    snprintf(s->currency, sizeof s->currency, "%s", below(2) ? "EUR" : "JPY");
    s->item_count = 1 + (below(4) == 0 ? below(ITEMS_MAX) : below(3));
    for (int i = 0; i < s->item_count; i++) {
        valid_text(s->items[i].sku, 10);
        if (s->items[i].sku[0] == '\0')
            snprintf(s->items[i].sku, sizeof s->items[i].sku, "s");
        s->items[i].quantity = between(1, QUANTITY_MAX);
        s->items[i].unit_price_cents = between(0, UNIT_PRICE_MAX);
    }
    s->total_cents = between(0, MONEY_MAX);
    s->paid_cents = between(0, MONEY_MAX);
    s->refunded_cents = between(0, MONEY_MAX);
    if (below(2))
        valid_id(s->account_id, 1 + below(ID_MAX));
    valid_text(s->carrier, below(2) ? 0 : 20);
    valid_text(s->tracking_number, below(2) ? 0 : 20);
    valid_text(s->cancel_reason, below(2) ? 0 : TEXT_MAX / 2);
    s->placed_at_ms = between(0, STATE_TIME_MAX);
    s->updated_at_ms = between(0, STATE_TIME_MAX);
}

static void valid_account(struct account_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = (enum account_status)between(ACCOUNT_OPEN, ACCOUNT_CLOSED);
    s->version = between(1, MONEY_MAX);
    valid_id(s->account_id, 1 + below(ID_MAX));
    valid_text(s->owner, 60);
    snprintf(s->currency, sizeof s->currency, "USD");
    s->balance_cents = between(-MONEY_MAX, MONEY_MAX);
    s->overdraft_limit_cents = between(0, MONEY_MAX);
    s->opened_at_ms = between(0, STATE_TIME_MAX);
    s->updated_at_ms = between(0, STATE_TIME_MAX);
}

/* The projector loads the states it folds onto from their documents: every byte comes back. */
START_TEST(documents_decode_to_the_state_they_render)
{
    struct order_state *o = malloc(sizeof *o), *back = malloc(sizeof *back);
    struct account_state a, a_back;
    struct err_detail why = {0};
    for (int r = 0; r < ROUNDS; r++) {
        valid_order(o);
        char *doc = order_view_doc(o);
        ck_assert_msg(order_view_decode(doc, back, &why) == ERR_OK, "%s: %.300s", why.detail, doc);
        ck_assert_msg(memcmp(o, back, sizeof *o) == 0, "round %d: %.300s", r, doc);
        free(doc);
        valid_account(&a);
        doc = account_view_doc(&a);
        ck_assert_msg(account_view_decode(doc, &a_back, &why) == ERR_OK, "%s", why.detail);
        ck_assert_msg(memcmp(&a, &a_back, sizeof a) == 0, "round %d: %.300s", r, doc);
        free(doc);
    }
    free(o);
    free(back);
}
END_TEST

/* A document that is not one is refused with the field named, by whichever reader. */
START_TEST(bad_documents_name_the_field)
{
    struct account_state a;
    struct err_detail why = {0};
    ck_assert_int_eq(account_view_decode("{\"account_id\":\"a\"}", &a, &why), ERR_BAD_EVENT);
    ck_assert_ptr_nonnull(strstr(why.detail, "account document field"));
    ck_assert_int_eq(account_view_decode("{", &a, &why), ERR_BAD_EVENT);
    ck_assert_ptr_nonnull(strstr(why.detail, "not JSON"));
}
END_TEST

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, order_documents_are_jansson_bytes);
    tcase_add_test(tc, account_documents_are_jansson_bytes);
    tcase_add_test(tc, escapes_and_utf8_as_jansson);
    tcase_add_test(tc, escaped_keys_and_nameless_enums);
    tcase_add_test(tc, reset_buffer_renders_each_document_alone);
    tcase_add_test(tc, times_as_jansson);
    tcase_add_test(tc, documents_decode_to_the_state_they_render);
    tcase_add_test(tc, bad_documents_name_the_field);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(render_suite());
}
