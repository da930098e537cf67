/* Unit tests of codec/scan.c: wherever the scanner answers SCAN_OK, json_loads +
 * validate_object_flags(VALIDATE_ALLOW_UNKNOWN) succeed on the same text and write the same
 * bytes; and the plain documents events are stored as (jansson's compact form, PostgreSQL's
 * jsonb form, any key order and spacing) are all answered by the scanner. Texts are random
 * documents of a table with every kind the scanner reads, mutated at random. */
#include "codec/scan.h"
#include "codec/validate.h"
#include "domain/domain.h"

#include "run_suite.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS   4000
#define TEXT_CAP 16384

struct doc {
    char id[ID_MAX + 1];
    char ccy[4];
    char note[TEXT_MAX + 1]; /* 0..TEXT_MAX characters */
    char name[8];            /* 1..7 characters */
    int item_count;
    struct order_item items[4];
    int64_t amount; /* money, 0..MONEY_MAX */
    int64_t delta;  /* -1000..1000 */
    int64_t at_ms;
    int state;   /* 1..3, named */
    char opt[8]; /* optional, null when empty */
};

static const char *state_name(int v)
{
    static const char *const names[] = {"", "open", "shut", "opened"};
    return v >= 0 && v <= 3 ? names[v] : "";
}

static const struct field_spec doc_fields[] = {
    {"id", F_ID, REQUIRED, FIELD_AT(struct doc, id)},
    {"ccy", F_CCY, REQUIRED, FIELD_AT(struct doc, ccy)},
    {"note", F_TEXT, REQUIRED, FIELD_AT(struct doc, note), .min = 0, .max = TEXT_MAX},
    {"name", F_TEXT, OPTIONAL, FIELD_AT(struct doc, name), .min = 1, .max = 7},
    {"items", F_ARRAY, REQUIRED, FIELD_ARRAY_AT(struct doc, items, item_count), .min = 1, .max = 4,
     .item = codec_order_item_fields},
    {"amount", F_MONEY, REQUIRED, FIELD_AT(struct doc, amount), .min = 0, .max = MONEY_MAX},
    {"delta", F_INT, REQUIRED, FIELD_AT(struct doc, delta), .min = -1000, .max = 1000},
    {"at", F_TIME, REQUIRED, FIELD_AT(struct doc, at_ms)},
    {"state", F_ENUM, REQUIRED, FIELD_AT(struct doc, state), .min = 1, .max = 3,
     .enum_name = state_name},
    {"opt", F_TEXT, OPTIONAL, FIELD_AT(struct doc, opt), .min = 0, .max = 7,
     .null_when_empty = true},
    {NULL},
};

#define TEST_RNG_SEED 0x2545F4914F6CDD1Dull
#include "test_rng.h"

/* A growing text with the spacing style of the document being written. */
struct out {
    char text[TEXT_CAP];
    size_t len;
    int style; /* 0 compact, 1 jsonb ("a": 1, "b": 2), 2 random whitespace */
};

static void emit(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len + n < TEXT_CAP) {
        memcpy(o->text + o->len, s, n + 1);
        o->len += n;
    }
}

static void space(struct out *o, bool after_separator)
{
    static const char *const ws[] = {" ", "\t", "\n", "\r", "  \n "};
    if (o->style == 1 && after_separator)
        emit(o, " ");
    else if (o->style == 2 && below(3) == 0)
        emit(o, ws[below(5)]);
}

/* Values a field may be given: mostly right for its kind, sometimes anything. */
static const char *const odd_values[] = {
    "null",
    "true",
    "1.0",
    "1e3",
    "-0",
    "01",
    "\"\"",
    "\"a\\\"b\"",
    "\"caf\xc3\xa9\"",
    "\"\\u0041\"",
    "\"tab\\t\"",
    "\"del\x7f\"",
    "\"ZZZZ\"",
    "\"EU\"",
    "[]",
    "{}",
    "99999999999999999999",
    "9007199254740992",
    "-1",
    "1001",
    "-1001",
    "\"x y\"",
    "[{}]",
    "\"12345678\"",
    "\"\\/\"",
    "\"a\\u0000b\"",
    "18446744073709551617", /* 2^64 + 1: wraps to 1 if digits were not counted */
    "-9223372036854775809",
};

static void random_id(char *buf, int len)
{
    static const char chars[] = "ABCxyz019_-";
    for (int i = 0; i < len; i++)
        buf[i] = chars[below((int)sizeof chars - 1)];
    buf[len] = '\0';
}

static void emit_string(struct out *o, int min, int max)
{
    char buf[ID_MAX + 8];
    random_id(buf, min + below(max - min + 1));
    emit(o, "\"");
    emit(o, buf);
    emit(o, "\"");
}

static void emit_int(struct out *o, int64_t lo, int64_t hi)
{
    char buf[32];
    uint64_t span = (uint64_t)(hi - lo);
    int64_t v = below(4) == 0 ? (below(2) ? lo : hi) : lo + (int64_t)(next() % (span + 1));
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    emit(o, buf);
}

static void emit_item(struct out *o, bool mutate)
{
    static const char *const keys[] = {"sku", "quantity", "unit_price_cents"};
    int order[3] = {0, 1, 2};
    for (int i = 2; i > 0; i--) {
        int j = below(i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    emit(o, "{");
    for (int k = 0; k < 3; k++) {
        if (k > 0) {
            emit(o, ",");
            space(o, true);
        }
        emit(o, "\"");
        emit(o, keys[order[k]]);
        emit(o, "\":");
        space(o, true);
        if (mutate && below(12) == 0)
            emit(o, odd_values[below((int)(sizeof odd_values / sizeof *odd_values))]);
        else if (order[k] == 0)
            emit_string(o, 1, 12);
        else if (order[k] == 1)
            emit_int(o, 1, 10000);
        else
            emit_int(o, 0, 100000000);
    }
    emit(o, "}");
}

/* The items array: 1-4 items, or (mutated) an empty or an over-long one. */
static void emit_items(struct out *o, bool mutate)
{
    int n = 1 + below(4);
    if (mutate && below(8) == 0)
        n = below(2) ? 0 : 5;
    emit(o, "[");
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            emit(o, ",");
            space(o, true);
        }
        emit_item(o, mutate);
    }
    emit(o, "]");
}

static void emit_time(struct out *o, bool mutate)
{
    static const char *const times[] = {
        "\"2026-11-25T17:36:08.123Z\"",
        "\"1970-01-01T00:00:00Z\"",
        "\"2026-11-25T17:36:08+01:00\"",
        "\"9999-12-31T23:59:59.999Z\"",
        "\"2026-02-29T00:00:00Z\"",
        "\"2026-13-01T00:00:00Z\"",
        "\"2026-11-25\"",
    };
    emit(o, times[below(mutate ? 7 : 4)]); /* the last three are refused */
}

static void emit_value(struct out *o, int field, bool mutate)
{
    if (mutate && below(10) == 0) {
        emit(o, odd_values[below((int)(sizeof odd_values / sizeof *odd_values))]);
        return;
    }
    switch (field) {
    case 0:
        emit_string(o, 1, ID_MAX);
        break;
    case 1:
        emit(o, below(2) ? "\"EUR\"" : "\"USD\"");
        break;
    case 2:
        emit_string(o, 0, 60);
        break;
    case 3:
        emit_string(o, 1, 7);
        break;
    case 4:
        emit_items(o, mutate);
        break;
    case 5:
        emit_int(o, 0, MONEY_MAX);
        break;
    case 6:
        emit_int(o, -1000, 1000);
        break;
    case 7:
        emit_time(o, mutate);
        break;
    case 8: {
        static const char *const states[] = {"\"open\"", "\"shut\"", "\"opened\"",
                                             "\"\"",     "\"Open\"", "\"ope\""};
        emit(o, states[below(mutate ? 6 : 3)]); /* the last three are not names */
        break;
    }
    default:
        if (below(3) == 0)
            emit(o, "null");
        else
            emit_string(o, 0, 7);
    }
}

/* A document of doc_fields in random key order and spacing; mutate breaks it now and then. */
static void random_text(struct out *o, bool mutate)
{
    static const char *const names[] = {"id",     "ccy",   "note", "name",  "items",
                                        "amount", "delta", "at",   "state", "opt"};
    int order[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, n = 10;
    for (int i = n - 1; i > 0; i--) {
        int j = below(i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int opt = 3; opt <= 9; opt += 6) { /* the optional ones are often absent */
        if (below(3) != 0)
            continue;
        for (int i = 0; i < n; i++)
            if (order[i] == opt) {
                order[i] = order[--n];
                break;
            }
    }
    o->len = 0;
    o->text[0] = '\0';
    o->style = below(3);
    space(o, false);
    emit(o, "{");
    for (int k = 0; k < n; k++) {
        if (k > 0) {
            emit(o, ",");
            space(o, true);
        }
        space(o, false);
        int f = order[k];
        if (mutate && below(25) == 0)
            emit(o, below(2) ? "\"unknown\"" : "\"i\\u0064\"");
        else {
            emit(o, "\"");
            emit(o, names[mutate && below(30) == 0 ? below(10) : f]); /* repeats, misses */
            emit(o, "\"");
        }
        space(o, false);
        emit(o, ":");
        space(o, true);
        emit_value(o, f, mutate);
        space(o, false);
    }
    emit(o, "}");
    space(o, false);
    if (mutate && below(15) == 0) {
        static const char *const tails[] = {"x", "}", ",", " 1", "\x01"};
        emit(o, tails[below(5)]);
    }
    if (mutate && below(15) == 0 && o->len > 0) /* cut short */
        o->text[o->len = (size_t)below((int)o->len)] = '\0';
    if (mutate && below(15) == 0 && o->len > 0) { /* one byte changed */
        static const char bytes[] = "{}[],:\" \\0a-.e\x80\x01";
        o->text[below((int)o->len)] = bytes[below((int)sizeof bytes - 1)];
    }
}

/* The jansson path's answer for text: true and *out filled when it accepts it. */
static bool jansson_reads(const char *text, struct doc *out)
{
    struct err_detail why = {0};
    memset(out, 0, sizeof *out);
    json_t *j = json_loads(text, 0, NULL);
    bool ok =
        j && validate_object_flags(j, doc_fields, out, "", VALIDATE_ALLOW_UNKNOWN, &why) == ERR_OK;
    json_decref(j);
    return ok;
}

static bool scanner_reads(const char *text, struct doc *out)
{
    memset(out, 0, sizeof *out);
    return scan_object(text, doc_fields, out) == SCAN_OK;
}

START_TEST(scan_ok_means_jansson_writes_the_same)
{
    static struct out o;
    struct doc fast, slow;
    int ok = 0, unsure_valid = 0;
    for (int r = 0; r < ROUNDS; r++) {
        random_text(&o, below(2) == 0);
        bool f = scanner_reads(o.text, &fast);
        bool s = jansson_reads(o.text, &slow);
        if (f) {
            ck_assert_msg(s, "round %d: scanner accepts what jansson refuses: %.400s", r, o.text);
            ck_assert_msg(memcmp(&fast, &slow, sizeof fast) == 0, "round %d: %.400s", r, o.text);
            ok++;
        } else if (s) {
            unsure_valid++;
        }
    }
    /* Both outcomes happen, so the mutations reach the scanner's refusals and its answers. */
    ck_assert_int_gt(ok, ROUNDS / 10);
    ck_assert_int_gt(unsure_valid, 0);
}
END_TEST

START_TEST(plain_documents_are_all_scanned)
{
    static struct out o;
    struct doc fast, slow;
    for (int r = 0; r < ROUNDS; r++) {
        random_text(&o, false);
        ck_assert_msg(jansson_reads(o.text, &slow), "round %d: %.400s", r, o.text);
        ck_assert_msg(scanner_reads(o.text, &fast), "round %d: scanner unsure of %.400s", r,
                      o.text);
        ck_assert(memcmp(&fast, &slow, sizeof fast) == 0);
    }
}
END_TEST

/* The fields every case below shares. */
#define REST                                                                                       \
    "\"items\":[{\"sku\":\"s\",\"quantity\":1,\"unit_price_cents\":0}],\"amount\":0,"              \
    "\"at\":\"2026-11-25T17:36:08.123Z\",\"state\":\"open\""

/* Cases by name, each unsure for its own reason though jansson reads every one of them. */
START_TEST(unusual_texts_are_left_to_jansson)
{
    static const char *const texts[] = {
        "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"caf\xc3\xa9\",\"delta\":0," REST "}",
        "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"a\\\"b\",\"delta\":0," REST "}",
        "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"\",\"delta\":0,\"extra\":1," REST "}",
        "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"\",\"delta\":0,\"n\\u0061me\":\"x\"," REST "}",
        "{\"id\":\"a\",\"id\":\"b\",\"ccy\":\"EUR\",\"note\":\"\",\"delta\":0," REST "}",
        "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"\",\"delta\":-0," REST "}",
        "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"\",\"delta\":0,\"x\":{\"a\":[1,2.5]}," REST "}",
    };
    struct doc fast, slow;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        ck_assert_msg(!scanner_reads(texts[i], &fast), "case %zu", i);
        ck_assert_msg(jansson_reads(texts[i], &slow), "case %zu", i);
    }
}
END_TEST

/* An optional field's null is its absence, in both readers. */
START_TEST(null_optional_is_absent)
{
    const char *text = "{\"id\":\"a\",\"ccy\":\"EUR\",\"note\":\"\",\"delta\":0,\"opt\":null,"
                       "\"name\":null," REST "}";
    struct doc fast, slow;
    ck_assert(scanner_reads(text, &fast));
    ck_assert(jansson_reads(text, &slow));
    ck_assert(memcmp(&fast, &slow, sizeof fast) == 0);
    ck_assert_str_eq(fast.opt, "");
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("scan");
    tcase_add_test(tc, scan_ok_means_jansson_writes_the_same);
    tcase_add_test(tc, plain_documents_are_all_scanned);
    tcase_add_test(tc, unusual_texts_are_left_to_jansson);
    tcase_add_test(tc, null_optional_is_absent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(scan_suite());
}
