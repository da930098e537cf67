/* Unit tests of event_data_from_text: for every event type, version and text it gives what
 * json_loads + event_data_from_json give (the same data bytes, or the same error), whether the
 * scanner read the text or jansson did: the upcaster chain (OrderPlaced 1 with and without a
 * currency), unsupported versions, unknown keys, escapes, non-ASCII, texts that are not JSON. */
#include "codec/codec.h"

#include "run_suite.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text_case {
    enum event_type type;
    int version;
    const char *text;
};

#define FULL_ORDER                                                                                 \
    "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"currency\":\"EUR\",\"items\":[" ITEM "],"       \
    "\"total_cents\":2500}"
#define ITEM "{\"sku\":\"A-1\",\"quantity\":2,\"unit_price_cents\":1250}"

static const struct text_case cases[] = {
    {EV_ORDER_PLACED, 2,
     "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"currency\":\"EUR\",\"items\":[" ITEM "],"
     "\"total_cents\":2500}"},
    /* PostgreSQL's jsonb text: keys by length, a space after ':' and ',' */
    {EV_ORDER_PLACED, 1,
     "{\"items\": [{\"sku\": \"SKU-1\", \"quantity\": 2, \"unit_price_cents\": 1250}], "
     "\"currency\": \"EUR\", \"order_id\": \"o1\", \"customer_id\": \"cust-1\", "
     "\"total_cents\": 2500}"},
    /* version 1 without a currency: the upcaster adds USD */
    {EV_ORDER_PLACED, 1,
     "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"items\":[" ITEM "],\"total_cents\":2500}"},
    {EV_ORDER_PLACED, 2,
     "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"items\":[" ITEM "],\"total_cents\":2500}"},
    /* versions no reader knows, with data that would otherwise be read */
    {EV_ORDER_PLACED, 3, FULL_ORDER},
    {EV_ORDER_PLACED, 0, FULL_ORDER},
    {EV_ORDER_PLACED, -1, FULL_ORDER},
    {EV_ORDER_PAID, 2, "{\"order_id\":\"o1\",\"account_id\":\"a1\",\"amount_cents\":2500}"},
    {EV_ORDER_PLACED, 2,
     "{\"order_id\":\"o1\",\"customer_id\":\"c1\",\"currency\":\"EUR\",\"items\":[],"
     "\"total_cents\":0}"},
    {EV_ORDER_PAID, 1, "{\"order_id\":\"o1\",\"account_id\":\"a1\",\"amount_cents\":2500}"},
    {EV_ORDER_PAID, 1,
     "{\"order_id\":\"o1\",\"account_id\":\"a1\",\"amount_cents\":2500,\"note\":[1,{}]}"},
    {EV_ORDER_PAID, 1, "{\"order_id\":\"o1\",\"account_id\":\"a1\",\"amount_cents\":25.0}"},
    {EV_ORDER_SHIPPED, 1, "{\"order_id\":\"o1\",\"carrier\":\"DHL\",\"tracking_number\":\"\"}"},
    {EV_ORDER_SHIPPED, 1,
     "{\"order_id\":\"o1\",\"carrier\":\"La Poste \\u00e9\",\"tracking_number\":\"\\\"x\\\"\"}"},
    {EV_ORDER_CANCELLED, 1,
     "{\"order_id\":\"o1\",\"reason\":\"caf\xc3\xa9\",\"refunded_cents\":0}"},
    {EV_ACCOUNT_OPENED, 1,
     "{\"account_id\":\"a1\",\"owner\":\"enc:v1:AbC+/=\",\"currency\":\"EUR\","
     "\"overdraft_limit_cents\":0}"},
    {EV_FUNDS_DEPOSITED, 1, "{\"account_id\":\"a1\",\"amount_cents\":100,\"reference\":\"seed\"}"},
    {EV_FUNDS_WITHDRAWN, 1, "{\"account_id\":\"a1\",\"amount_cents\":-1,\"reference\":\"\"}"},
    {EV_TRANSFER_SENT, 1,
     "{\"transfer_id\":\"t1\",\"from_account_id\":\"a1\",\"to_account_id\":\"a2\","
     "\"amount_cents\":9007199254740991}"},
    {EV_TRANSFER_RECEIVED, 1,
     "{\"transfer_id\":\"t1\",\"from_account_id\":\"a1\",\"to_account_id\":\"a2\","
     "\"amount_cents\":9007199254740992}"},
    {EV_ACCOUNT_CLOSED, 1, "{\"account_id\":\"a1\"}"},
    {EV_ACCOUNT_CLOSED, 1, "{\"account_id\":\"a1\",\"account_id\":\"a2\"}"},
    {EV_PERSONAL_DATA_FORGOTTEN, 1, " {\"account_id\":\"a1\"}\n"},
    {EV_ACCOUNT_CLOSED, 1, "not json"},
    {EV_ACCOUNT_CLOSED, 1, "[]"},
    {EV_ACCOUNT_CLOSED, 1, "{\"account_id\":\"a1\"} x"},
    {EV_ACCOUNT_CLOSED, 1, ""},
};

/* The reference: the text parsed by jansson and read as before. */
static enum err through_jansson(struct event *e, int version, const char *text,
                                struct err_detail *why)
{
    json_t *data = json_loads(text, 0, NULL);
    enum err rc = event_data_from_json(e, version, data, why);
    json_decref(data);
    return rc;
}

static void assert_same(const struct text_case *c, int i)
{
    struct event *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    struct err_detail wa = {0}, wb = {0};
    a->type = b->type = c->type;
    enum err ra = event_data_from_text(a, c->version, c->text, &wa);
    enum err rb = through_jansson(b, c->version, c->text, &wb);
    ck_assert_msg(ra == rb, "case %d: %d vs %d (%s)", i, ra, rb, wb.detail);
    if (ra == ERR_OK)
        ck_assert_msg(memcmp(&a->data, &b->data, sizeof a->data) == 0, "case %d", i);
    else
        ck_assert_str_eq(wa.detail, wb.detail);
    free(a);
    free(b);
}

START_TEST(text_reads_as_jansson)
{
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++)
        assert_same(&cases[i], i);
}
END_TEST

/* Each case cut at every length and with each byte changed: the scanner's refusals and
 * answers still agree with jansson. */
START_TEST(damaged_texts_read_as_jansson)
{
    static const char bytes[] = "{}[],:\"\\ 0-.e\x80\x01n";
    char text[512];
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++) {
        size_t len = strlen(cases[i].text);
        for (size_t cut = 0; cut <= len && len < sizeof text; cut++) {
            struct text_case c = cases[i];
            memcpy(text, c.text, cut);
            text[cut] = '\0';
            c.text = text;
            assert_same(&c, i);
            if (cut == len)
                break;
            memcpy(text, cases[i].text, len + 1);
            text[cut] = bytes[cut % (sizeof bytes - 1)];
            assert_same(&c, i);
        }
    }
}
END_TEST

/* The upcaster's result through the scanner: version 1 keeps its own currency, or gets USD. */
START_TEST(order_placed_v1_currency)
{
    struct event *e = calloc(1, sizeof *e);
    struct err_detail why = {0};
    e->type = EV_ORDER_PLACED;
    ck_assert_int_eq(event_data_from_text(e, 1, cases[1].text, &why), ERR_OK);
    ck_assert_str_eq(e->data.order_placed.currency, "EUR");
    ck_assert_int_eq(e->data.order_placed.item_count, 1);
    ck_assert_int_eq(e->data.order_placed.items[0].unit_price_cents, 1250);
    ck_assert_int_eq(event_data_from_text(e, 1, cases[2].text, &why), ERR_OK);
    ck_assert_str_eq(e->data.order_placed.currency, "USD");
    ck_assert_int_eq(event_data_from_text(e, 2, cases[3].text, &why), ERR_BAD_EVENT);
    free(e);
}
END_TEST

static Suite *event_text_suite(void)
{
    Suite *s = suite_create("event_text");
    TCase *tc = tcase_create("event_text");
    tcase_add_test(tc, text_reads_as_jansson);
    tcase_add_test(tc, damaged_texts_read_as_jansson);
    tcase_add_test(tc, order_placed_v1_currency);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(event_text_suite());
}
