/* Unit tests of the codec's event side: event data round trips and rejections, the GET views'
 * field sets, canonical JSON, and the allocation helpers. */
#include "codec/codec.h"
#include "codec/validate.h"
#include "xalloc.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Event data is written with ' for " so the table stays readable; no case needs an apostrophe. */
static char *dq(const char *s)
{
    char *out = xstrdup(s);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

/* ---- events ---- */

static const char *const event_keys[EV__COUNT] = {
    [EV_ORDER_PLACED] = "order_id,customer_id,currency,items,total_cents",
    [EV_ORDER_PAID] = "order_id,account_id,amount_cents",
    [EV_ORDER_SHIPPED] = "order_id,carrier,tracking_number",
    [EV_ORDER_CANCELLED] = "order_id,reason,refunded_cents",
    [EV_ACCOUNT_OPENED] = "account_id,owner,currency,overdraft_limit_cents",
    [EV_FUNDS_DEPOSITED] = "account_id,amount_cents,reference",
    [EV_FUNDS_WITHDRAWN] = "account_id,amount_cents,reference",
    [EV_TRANSFER_SENT] = "transfer_id,from_account_id,to_account_id,amount_cents",
    [EV_TRANSFER_RECEIVED] = "transfer_id,from_account_id,to_account_id,amount_cents",
    [EV_ACCOUNT_CLOSED] = "account_id",
    [EV_PERSONAL_DATA_FORGOTTEN] = "account_id",
};

static void sample_order_event(struct event *e)
{
    struct ev_order_placed *p = &e->data.order_placed;
    switch (e->type) {
    case EV_ORDER_PLACED:
        snprintf(p->order_id, sizeof p->order_id, "%s", "o-1");
        snprintf(p->customer_id, sizeof p->customer_id, "%s", "c-1");
        snprintf(p->currency, sizeof p->currency, "%s", "EUR");
        p->item_count = 2;
        snprintf(p->items[0].sku, sizeof p->items[0].sku, "%s", "A");
        p->items[0].quantity = 3;
        p->items[0].unit_price_cents = 1000000000;
        snprintf(p->items[1].sku, sizeof p->items[1].sku, "%s", "Zoë");
        p->items[1].quantity = 10000;
        p->total_cents = 3000000000LL;
        break;
    case EV_ORDER_PAID:
        snprintf(e->data.order_paid.order_id, sizeof e->data.order_paid.order_id, "%s", "o-1");
        snprintf(e->data.order_paid.account_id, sizeof e->data.order_paid.account_id, "%s", "a-1");
        e->data.order_paid.amount_cents = MONEY_MAX;
        break;
    case EV_ORDER_SHIPPED:
        snprintf(e->data.order_shipped.order_id, sizeof e->data.order_shipped.order_id, "%s",
                 "o-1");
        snprintf(e->data.order_shipped.carrier, sizeof e->data.order_shipped.carrier, "%s", "UPS");
        snprintf(e->data.order_shipped.tracking_number,
                 sizeof e->data.order_shipped.tracking_number, "%s", "1Z 999");
        break;
    default:
        snprintf(e->data.order_cancelled.order_id, sizeof e->data.order_cancelled.order_id, "%s",
                 "o-1");
        snprintf(e->data.order_cancelled.reason, sizeof e->data.order_cancelled.reason, "%s",
                 "out of stock");
        e->data.order_cancelled.refunded_cents = 77;
        break;
    }
}

static void sample_account_event(struct event *e)
{
    switch (e->type) {
    case EV_ACCOUNT_OPENED:
        snprintf(e->data.account_opened.account_id, sizeof e->data.account_opened.account_id, "%s",
                 "a-1");
        snprintf(e->data.account_opened.owner, sizeof e->data.account_opened.owner, "%s", "Åsa");
        snprintf(e->data.account_opened.currency, sizeof e->data.account_opened.currency, "%s",
                 "SEK");
        e->data.account_opened.overdraft_limit_cents = 500;
        break;
    case EV_FUNDS_DEPOSITED:
    case EV_FUNDS_WITHDRAWN:
        snprintf(e->data.funds.account_id, sizeof e->data.funds.account_id, "%s", "a-1");
        e->data.funds.amount_cents = 123456789012LL;
        snprintf(e->data.funds.reference, sizeof e->data.funds.reference, "%s",
                 e->type == EV_FUNDS_DEPOSITED ? "refund:o-1" : "");
        break;
    case EV_TRANSFER_SENT:
    case EV_TRANSFER_RECEIVED:
        snprintf(e->data.transfer.transfer_id, sizeof e->data.transfer.transfer_id, "%s", "t-1");
        snprintf(e->data.transfer.from_account_id, sizeof e->data.transfer.from_account_id, "%s",
                 "a-1");
        snprintf(e->data.transfer.to_account_id, sizeof e->data.transfer.to_account_id, "%s",
                 "a-2");
        e->data.transfer.amount_cents = 1;
        break;
    default:
        snprintf(e->data.account_closed.account_id, sizeof e->data.account_closed.account_id, "%s",
                 "a-1");
        break;
    }
}

static void sample_event(enum event_type t, struct event *e)
{
    memset(e, 0, sizeof *e);
    e->type = t;
    if (event_type_is_order(t))
        sample_order_event(e);
    else
        sample_account_event(e);
}

static void key_list(json_t *obj, char *out, size_t cap)
{
    const char *key;
    json_t *v;
    out[0] = '\0';
    json_object_foreach(obj, key, v)
    {
        if (out[0])
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, key, cap - strlen(out) - 1);
    }
}

START_TEST(test_event_round_trip)
{
    struct event in, out;
    struct err_detail why = {0};
    char keys[256];
    sample_event((enum event_type)_i, &in);
    json_t *data = event_data_to_json(&in);
    key_list(data, keys, sizeof keys);
    ck_assert_str_eq(keys, event_keys[_i]);
    /* through text, as the store does with jsonb */
    char *text = json_dumps(data, JSON_COMPACT);
    json_t *parsed = json_loads(text, 0, NULL);
    memset(&out, 0xAB, sizeof out);
    out.type = in.type;
    ck_assert_int_eq(event_data_from_json(&out, event_schema_version(in.type), parsed, &why),
                     ERR_OK);
    ck_assert_msg(memcmp(&in.data, &out.data, sizeof in.data) == 0, "%s differs after round trip",
                  event_type_name(in.type));
    free(text);
    json_decref(parsed);
    json_decref(data);
}
END_TEST

START_TEST(test_event_money_is_integer)
{
    struct event e;
    sample_event(EV_ORDER_PAID, &e);
    json_t *data = event_data_to_json(&e);
    ck_assert(json_is_integer(json_object_get(data, "amount_cents")));
    ck_assert_int_eq(json_integer_value(json_object_get(data, "amount_cents")), MONEY_MAX);
    json_decref(data);
}
END_TEST

static const struct bad_event_case {
    enum event_type type;
    int version;
    const char *data;
    const char *detail;
} bad_event_cases[] = {
    {EV_ORDER_PLACED, 3, "{}", "unsupported schema_version 3 for OrderPlaced"},
    {EV_ACCOUNT_CLOSED, 0, "{'account_id':'a'}", "unsupported schema_version 0 for AccountClosed"},
    {EV_ORDER_PLACED, 1, "{'order_id':'o','customer_id':'c','currency':'EUR','items':[]}",
     "OrderPlaced data field items: items must have between 1 and 100 items"},
    {EV_ORDER_PLACED, 1,
     "{'order_id':'o','customer_id':'c','currency':'EUR','items':[{'quantity':1,"
     "'unit_price_cents':1}],'total_cents':1}",
     "OrderPlaced data field items[0].sku: is required"},
    {EV_ORDER_PLACED, 1,
     "{'order_id':'o','customer_id':'c','currency':'EUR','items':[{'sku':'s','quantity':1,"
     "'unit_price_cents':1}]}",
     "OrderPlaced data field total_cents: is required"},
    {EV_ORDER_PAID, 1, "{'order_id':'o','account_id':'a','amount_cents':'5'}",
     "OrderPaid data field amount_cents: must be an integer number of minor units"},
    {EV_ORDER_PAID, 1, "{'order_id':'o','account_id':'a','amount_cents':5.0}",
     "OrderPaid data field amount_cents: must be an integer number of minor units"},
    {EV_FUNDS_DEPOSITED, 1, "{'account_id':'a','amount_cents':5}",
     "FundsDeposited data field reference: is required"},
    {EV_TRANSFER_SENT, 1,
     "{'transfer_id':'t','from_account_id':3,'to_account_id':'b','amount_cents':1}",
     "TransferSent data field from_account_id: must be a string"},
    {EV_ACCOUNT_OPENED, 1, "[]", "AccountOpened data must be a JSON object"},
};

START_TEST(test_event_rejected)
{
    const struct bad_event_case *k = &bad_event_cases[_i];
    struct event e = {.type = k->type};
    struct err_detail why = {0};
    char *text = dq(k->data);
    json_t *data = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(event_data_from_json(&e, k->version, data, &why), ERR_BAD_EVENT);
    ck_assert_str_eq(why.detail, k->detail);
    json_decref(data);
    free(text);
}
END_TEST

START_TEST(test_event_tolerates_unknown_keys)
{
    struct event e = {.type = EV_ACCOUNT_CLOSED};
    struct err_detail why = {0};
    json_t *data = json_pack("{s:s, s:i}", "account_id", "a-9", "note", 1);
    ck_assert_int_eq(event_data_from_json(&e, 1, data, &why), ERR_OK);
    ck_assert_str_eq(e.data.account_closed.account_id, "a-9");
    ck_assert_int_eq(event_data_from_json(&e, 1, NULL, &why), ERR_BAD_EVENT);
    json_decref(data);
}
END_TEST

/* ---- views ---- */

/* A placed order o-1 of one item (2 x A at 150). */
static void sample_order(struct order_state *s)
{
    memset(s, 0, sizeof *s);
    s->status = ORDER_PLACED;
    s->version = 1;
    snprintf(s->order_id, sizeof s->order_id, "%s", "o-1");
    snprintf(s->customer_id, sizeof s->customer_id, "%s", "c-1");
    snprintf(s->currency, sizeof s->currency, "%s", "EUR");
    s->item_count = 1;
    snprintf(s->items[0].sku, sizeof s->items[0].sku, "%s", "A");
    s->items[0].quantity = 2;
    s->items[0].unit_price_cents = 150;
    s->total_cents = 300;
    s->placed_at_ms = 1764092168123LL;
    s->updated_at_ms = 1764092168123LL;
}

START_TEST(test_order_view)
{
    struct order_state s;
    char keys[512];
    sample_order(&s);
    json_t *v = order_view_json(&s);
    ck_assert_ptr_nonnull(v);
    key_list(v, keys, sizeof keys);
    ck_assert_str_eq(keys, "order_id,customer_id,status,currency,items,total_cents,paid_cents,"
                           "refunded_cents,account_id,carrier,tracking_number,cancel_reason,"
                           "placed_at,updated_at,version");
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "placed");
    ck_assert(json_is_null(json_object_get(v, "account_id")));
    ck_assert(json_is_null(json_object_get(v, "carrier")));
    ck_assert(json_is_null(json_object_get(v, "tracking_number")));
    ck_assert(json_is_null(json_object_get(v, "cancel_reason")));
    ck_assert_str_eq(json_string_value(json_object_get(v, "placed_at")),
                     "2025-11-25T17:36:08.123Z");
    ck_assert_int_eq(json_integer_value(json_object_get(v, "total_cents")), 300);
    char *items = json_dumps(json_object_get(v, "items"), JSON_COMPACT);
    ck_assert_str_eq(items, "[{\"sku\":\"A\",\"quantity\":2,\"unit_price_cents\":150}]");
    free(items);
    json_decref(v);

    s.status = ORDER_SHIPPED;
    snprintf(s.account_id, sizeof s.account_id, "%s", "a-1");
    snprintf(s.carrier, sizeof s.carrier, "%s", "DHL");
    v = order_view_json(&s);
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "shipped");
    ck_assert_str_eq(json_string_value(json_object_get(v, "account_id")), "a-1");
    ck_assert_str_eq(json_string_value(json_object_get(v, "carrier")), "DHL");
    json_decref(v);
}
END_TEST

START_TEST(test_account_view)
{
    struct account_state s = {0};
    char keys[512];
    s.status = ACCOUNT_CLOSED;
    s.version = 4;
    snprintf(s.account_id, sizeof s.account_id, "%s", "a-1");
    snprintf(s.owner, sizeof s.owner, "%s", "Åsa");
    snprintf(s.currency, sizeof s.currency, "%s", "SEK");
    s.balance_cents = -250;
    s.overdraft_limit_cents = 500;
    s.opened_at_ms = 0;
    s.updated_at_ms = 1764092168123LL;
    json_t *v = account_view_json(&s);
    ck_assert_ptr_nonnull(v);
    key_list(v, keys, sizeof keys);
    ck_assert_str_eq(keys, "account_id,owner,currency,balance_cents,overdraft_limit_cents,status,"
                           "opened_at,updated_at,version");
    ck_assert_str_eq(json_string_value(json_object_get(v, "status")), "closed");
    ck_assert_int_eq(json_integer_value(json_object_get(v, "balance_cents")), -250);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "version")), 4);
    ck_assert_str_eq(json_string_value(json_object_get(v, "opened_at")),
                     "1970-01-01T00:00:00.000Z");
    json_decref(v);
}
END_TEST

/* The document is the bytes a GET serves; decoding it gives back the state it came from, so
 * the projector can fold onto a stored row. */
START_TEST(test_view_documents_round_trip)
{
    struct order_state o, o2;
    struct err_detail why = {0};
    sample_order(&o);
    o.status = ORDER_CANCELLED;
    o.version = 3;
    o.item_count = 2;
    snprintf(o.items[1].sku, sizeof o.items[1].sku, "%s", "B\"\\é");
    o.items[1].quantity = 1;
    o.paid_cents = 300;
    o.refunded_cents = 300;
    snprintf(o.account_id, sizeof o.account_id, "%s", "a-1");
    snprintf(o.cancel_reason, sizeof o.cancel_reason, "%s", "changed mind");
    o.updated_at_ms = 1764430000123LL;
    char *doc = order_view_doc(&o);
    ck_assert_str_eq(
        doc,
        "{\"order_id\":\"o-1\",\"customer_id\":\"c-1\",\"status\":\"cancelled\","
        "\"currency\":\"EUR\",\"items\":[{\"sku\":\"A\",\"quantity\":2,\"unit_price_cents\":"
        "150},{\"sku\":\"B\\\"\\\\é\",\"quantity\":1,\"unit_price_cents\":0}],"
        "\"total_cents\":300,\"paid_cents\":300,\"refunded_cents\":300,\"account_id\":\"a-1\","
        "\"carrier\":null,\"tracking_number\":null,\"cancel_reason\":\"changed mind\","
        "\"placed_at\":\"2025-11-25T17:36:08.123Z\",\"updated_at\":\"2025-11-29T15:26:40.123Z\","
        "\"version\":3}");
    ck_assert_int_eq(order_view_decode(doc, &o2, &why), ERR_OK);
    ck_assert_mem_eq(&o, &o2, sizeof o);
    free(doc);

    struct account_state a = {0}, a2;
    a.status = ACCOUNT_OPEN;
    a.version = 2;
    snprintf(a.account_id, sizeof a.account_id, "%s", "a-1");
    snprintf(a.owner, sizeof a.owner, "%s", OWNER_FORGOTTEN);
    snprintf(a.currency, sizeof a.currency, "%s", "SEK");
    a.balance_cents = -250;
    a.overdraft_limit_cents = 500;
    a.updated_at_ms = 1764092168123LL;
    doc = account_view_doc(&a);
    ck_assert_str_eq(doc,
                     "{\"account_id\":\"a-1\",\"owner\":\"[forgotten]\",\"currency\":\"SEK\","
                     "\"balance_cents\":-250,\"overdraft_limit_cents\":500,\"status\":\"open\","
                     "\"opened_at\":\"1970-01-01T00:00:00.000Z\","
                     "\"updated_at\":\"2025-11-25T17:36:08.123Z\",\"version\":2}");
    ck_assert_int_eq(account_view_decode(doc, &a2, &why), ERR_OK);
    ck_assert_mem_eq(&a, &a2, sizeof a);
    free(doc);
}
END_TEST

/* A stored document that is not one stops the projector with the field named, never a guess. */
START_TEST(test_view_documents_refused)
{
    struct order_state o;
    struct account_state a;
    struct err_detail why = {0};
    ck_assert_int_eq(order_view_decode("{", &o, &why), ERR_BAD_EVENT);
    memset(&why, 0, sizeof why);
    ck_assert_int_eq(account_view_decode("{\"account_id\":\"a\",\"owner\":\"x\",\"currency\":"
                                         "\"EUR\",\"balance_cents\":0,\"overdraft_limit_cents\":0,"
                                         "\"status\":\"frozen\",\"opened_at\":\"1970-01-01T00:00:"
                                         "00.000Z\",\"updated_at\":\"1970-01-01T00:00:00.000Z\","
                                         "\"version\":1}",
                                         &a, &why),
                     ERR_BAD_EVENT);
    ck_assert_ptr_nonnull(strstr(why.detail, "status"));
    memset(&why, 0, sizeof why);
    ck_assert_int_eq(account_view_decode("{\"account_id\":\"a\",\"owner\":\"x\",\"currency\":"
                                         "\"EUR\",\"balance_cents\":0,\"overdraft_limit_cents\":0,"
                                         "\"status\":\"open\",\"opened_at\":\"yesterday\","
                                         "\"updated_at\":\"1970-01-01T00:00:00.000Z\","
                                         "\"version\":1}",
                                         &a, &why),
                     ERR_BAD_EVENT);
    ck_assert_ptr_nonnull(strstr(why.detail, "opened_at"));
}
END_TEST

START_TEST(test_canonical)
{
    json_t *a = json_loads("{\"b\": 1, \"a\": {\"y\": [1, 2], \"x\": null}}", 0, NULL);
    json_t *b = json_loads("{\"a\":{\"x\":null,\"y\":[1,2]},\"b\":1}", 0, NULL);
    char *ca = codec_canonical(a);
    char *cb = codec_canonical(b);
    ck_assert_str_eq(ca, "{\"a\":{\"x\":null,\"y\":[1,2]},\"b\":1}");
    ck_assert_str_eq(ca, cb);
    free(ca);
    free(cb);
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(test_xalloc)
{
    char *s = xstrndup("abcdef", 3);
    ck_assert_str_eq(s, "abc");
    s = xrealloc(s, 64);
    ck_assert_str_eq(s, "abc");
    free(s);
    int *z = xcalloc(4, sizeof *z);
    ck_assert_int_eq(z[0] | z[1] | z[2] | z[3], 0);
    free(z);
    free(xmalloc(0)); /* never NULL, even for 0 bytes */
}
END_TEST

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *ev = tcase_create("events");
    tcase_add_loop_test(ev, test_event_round_trip, 0, EV__COUNT);
    tcase_add_test(ev, test_event_money_is_integer);
    tcase_add_loop_test(ev, test_event_rejected, 0, COUNT(bad_event_cases));
    tcase_add_test(ev, test_event_tolerates_unknown_keys);
    suite_add_tcase(s, ev);
    TCase *view = tcase_create("views");
    tcase_add_test(view, test_order_view);
    tcase_add_test(view, test_account_view);
    tcase_add_test(view, test_view_documents_round_trip);
    tcase_add_test(view, test_view_documents_refused);
    tcase_add_test(view, test_canonical);
    tcase_add_test(view, test_xalloc);
    suite_add_tcase(s, view);
    return s;
}

int main(void)
{
    return run_suite(events_suite());
}
