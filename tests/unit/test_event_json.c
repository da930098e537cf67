/* Unit tests of codec/event_json.h: the append statements' event texts rendered straight from
 * the structs are the bytes the jansson trees gave (json_pack per event, validate_to_json for
 * the data, json_dumps JSON_COMPACT), on every event type with random data: strings that need
 * escapes, non-ASCII, invalid UTF-8, unterminated buffers, garbage integers, counts and enums. */
#include "codec/codec.h"
#include "codec/event_json.h"
#include "store/store.h"

#include "run_suite.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 2000

#define TEST_RNG_SEED 0xD1B54A32D192ED03ull
#include "test_rng.h"

/* What store_events_json was before the renderer: the reference. */
static char *jansson_events(const struct decision *d)
{
    json_t *arr = json_array();
    for (int i = 0; i < d->count; i++) {
        const struct event *e = &d->events[i];
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:i, s:o}", "stream_id", e->stream_id,
                                             "stream_version", (json_int_t)e->stream_version,
                                             "type", event_type_name(e->type), "schema_version",
                                             event_schema_version(e->type), "data",
                                             event_data_to_json(e)));
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

static char *jansson_data(const struct event *e)
{
    json_t *data = event_data_to_json(e);
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    return text;
}

static const char *const pieces[] = {
    "a",
    "Zq-9_",
    "\"",
    "\\",
    "/",
    "\b",
    "\n",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    " ",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\xe2\x80\xa8",
    "\xc0\x80",
    "\x80",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "\xe2\x82",
    "\xff",
    "",
};

/* The data union byte by byte: runs of text pieces broken by NULs, so its strings are of
 * every shape and its integers, counts and enums are anything. Now and then all zero. */
static void random_data(struct event *e)
{
    unsigned char *p = (unsigned char *)&e->data;
    size_t size = sizeof e->data, at = 0;
    memset(p, 0, size);
    if (below(8) == 0)
        return;
    bool dirty = below(3) == 0;
    while (at < size) {
        const char *s = below(5) == 0 ? ""
                        : dirty       ? pieces[below((int)(sizeof pieces / sizeof *pieces))]
                                      : "x";
        size_t n = strlen(s);
        if (n == 0 || at + n > size) {
            p[at++] = below(2) ? 0 : (unsigned char)next();
            continue;
        }
        memcpy(p + at, s, n);
        at += n;
    }
}

static void random_event(struct event *e)
{
    static const char chars[] = "AZaz09_-q";
    memset(e, 0, sizeof *e);
    e->type = (enum event_type)below(EV__COUNT);
    int len = below(STREAM_ID_MAX + 1);
    for (int i = 0; i < len; i++)
        e->stream_id[i] = chars[below((int)sizeof chars - 1)];
    e->stream_version = below(4) == 0 ? (int64_t)next() : below(1000);
    random_data(e);
}

static void assert_same(const char *rendered, char *dumped, int round)
{
    ck_assert_ptr_nonnull(dumped);
    size_t at = 0;
    while (rendered[at] && rendered[at] == dumped[at])
        at++;
    size_t from = at > 40 ? at - 40 : 0;
    ck_assert_msg(rendered[at] == dumped[at],
                  "round %d, byte %zu:\n rendered %.120s\n jansson  %.120s", round, at,
                  rendered + from, dumped + from);
    free(dumped);
}

START_TEST(event_arrays_are_jansson_bytes)
{
    struct decision *d = malloc(sizeof *d);
    for (int r = 0; r < ROUNDS; r++) {
        d->count = below(EVENTS_MAX + 1);
        for (int i = 0; i < d->count; i++)
            random_event(&d->events[i]);
        char *text = store_events_json(d);
        assert_same(text, jansson_events(d), r);
        free(text);
    }
    free(d);
}
END_TEST

/* The batch statement's data column: one buffer reused, each document alone. */
START_TEST(event_data_is_jansson_bytes)
{
    struct event e;
    struct render_buf b = {0};
    for (int r = 0; r < ROUNDS; r++) {
        random_event(&e);
        render_reset(&b);
        event_data_render(&b, &e);
        ck_assert_uint_eq(b.len, strlen(b.text));
        assert_same(b.text, jansson_data(&e), r);
    }
    render_free(&b);
}
END_TEST

/* A readable case: the bench's PlaceOrder event, byte for byte. */
START_TEST(order_placed_reads_as_before)
{
    struct decision d = {.count = 1};
    struct event *e = &d.events[0];
    e->type = EV_ORDER_PLACED;
    snprintf(e->stream_id, sizeof e->stream_id, "order-o1");
    e->stream_version = 1;
    struct ev_order_placed *o = &e->data.order_placed;
    snprintf(o->order_id, sizeof o->order_id, "o1");
    snprintf(o->customer_id, sizeof o->customer_id, "c1");
    snprintf(o->currency, sizeof o->currency, "EUR");
    o->item_count = 1;
    snprintf(o->items[0].sku, sizeof o->items[0].sku, "SKU-1");
    o->items[0].quantity = 2;
    o->items[0].unit_price_cents = 1250;
    o->total_cents = 2500;
    char *text = store_events_json(&d);
    ck_assert_str_eq(text,
                     "[{\"stream_id\":\"order-o1\",\"stream_version\":1,\"type\":\"OrderPlaced\","
                     "\"schema_version\":2,\"data\":{\"order_id\":\"o1\",\"customer_id\":\"c1\","
                     "\"currency\":\"EUR\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,"
                     "\"unit_price_cents\":1250}],\"total_cents\":2500}}]");
    assert_same(text, jansson_events(&d), 0);
    free(text);
    d.count = 0;
    text = store_events_json(&d);
    ck_assert_str_eq(text, "[]");
    free(text);
}
END_TEST

static char *jansson_metadata(const char *const v[5])
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "command_id", v[0], "command_type", v[1],
                          "correlation_id", v[2], "causation_id", v[3], "actor", v[4]);
    char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    return text;
}

/* Mostly printable ASCII with quotes and backslashes, sometimes any piece, empty or NULL. */
static const char *metadata_value(char *buf, size_t size)
{
    static const char *const plain[] = {"a", "Zq-9_", "\"", "\\", " ", "~", "/", "{"};
    int shape = below(12);
    if (shape == 0)
        return NULL;
    bool dirty = shape == 1;
    size_t len = 0, want = (size_t)below((int)size);
    buf[0] = '\0';
    while (len < want) {
        const char *p = dirty ? pieces[below((int)(sizeof pieces / sizeof *pieces))]
                              : plain[below((int)(sizeof plain / sizeof *plain))];
        size_t n = strlen(p);
        if (len + n >= size)
            break;
        memcpy(buf + len, p, n + 1);
        len += n;
    }
    return buf;
}

START_TEST(metadata_is_jansson_bytes)
{
    char bufs[5][140];
    int rendered = 0;
    for (int r = 0; r < ROUNDS; r++) {
        const char *v[5];
        for (int i = 0; i < 5; i++)
            v[i] = metadata_value(bufs[i], sizeof bufs[i]);
        char *text = event_metadata_json(v[0], v[1], v[2], v[3], v[4]);
        char *want = jansson_metadata(v);
        if (want == NULL) {
            ck_assert_ptr_null(text);
            continue;
        }
        ck_assert_ptr_nonnull(text);
        assert_same(text, want, r);
        free(text);
        rendered++;
    }
    ck_assert_int_gt(rendered, ROUNDS / 4);
    char *text = event_metadata_json("c-1", "PlaceOrder", "cid", "c-1", "anonymous");
    ck_assert_str_eq(text, "{\"command_id\":\"c-1\",\"command_type\":\"PlaceOrder\","
                           "\"correlation_id\":\"cid\",\"causation_id\":\"c-1\","
                           "\"actor\":\"anonymous\"}");
    free(text);
}
END_TEST

static Suite *event_json_suite(void)
{
    Suite *s = suite_create("event_json");
    TCase *tc = tcase_create("event_json");
    tcase_add_test(tc, event_arrays_are_jansson_bytes);
    tcase_add_test(tc, event_data_is_jansson_bytes);
    tcase_add_test(tc, order_placed_reads_as_before);
    tcase_add_test(tc, metadata_is_jansson_bytes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(event_json_suite());
}
