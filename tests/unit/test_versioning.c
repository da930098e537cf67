/* Unit tests of the event upcaster chain: the written version per type, OrderPlaced 1 -> 2
 * (currency defaults to USD), and versions no reader supports. */
#include "codec/codec.h"
#include "xalloc.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

static json_t *parse(const char *text)
{
    char *s = xstrdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    ck_assert_ptr_nonnull(j);
    return j;
}

#define PLACED_NO_CCY                                                                              \
    "{'order_id':'o-1','customer_id':'c-1','items':[{'sku':'A','quantity':2,"                      \
    "'unit_price_cents':150}],'total_cents':300}"
#define PLACED_EUR                                                                                 \
    "{'order_id':'o-1','customer_id':'c-1','currency':'EUR','items':[{'sku':'A','quantity':2,"     \
    "'unit_price_cents':150}],'total_cents':300}"

START_TEST(test_written_versions)
{
    for (int t = 0; t < EV__COUNT; t++)
        ck_assert_int_eq(event_schema_version((enum event_type)t), t == EV_ORDER_PLACED ? 2 : 1);
    ck_assert_int_le(event_schema_version(EV_ORDER_PLACED), EVENT_SCHEMA_MAX);
}
END_TEST

/* Version 1 had no currency: it reads as USD, and the stored object is left as it was. */
START_TEST(test_order_placed_v1_reads_usd)
{
    json_t *stored = parse(PLACED_NO_CCY);
    struct event e = {.type = EV_ORDER_PLACED};
    struct err_detail why = {0};
    ck_assert_int_eq(event_data_from_json(&e, 1, stored, &why), ERR_OK);
    ck_assert_str_eq(e.data.order_placed.currency, "USD");
    ck_assert_str_eq(e.data.order_placed.order_id, "o-1");
    ck_assert_int_eq(e.data.order_placed.item_count, 1);
    ck_assert_int_eq(e.data.order_placed.items[0].quantity, 2);
    ck_assert_int_eq(e.data.order_placed.total_cents, 300);
    ck_assert_ptr_null(json_object_get(stored, "currency"));
    json_t *up = event_data_upcast(EV_ORDER_PLACED, 1, stored, &why);
    ck_assert_str_eq(json_string_value(json_object_get(up, "currency")), "USD");
    ck_assert_int_eq(json_integer_value(json_object_get(up, "total_cents")), 300);
    ck_assert_ptr_null(json_object_get(stored, "currency"));
    json_decref(up);
    json_decref(stored);
}
END_TEST

/* Releases before the evolution wrote version 1 with a currency; it is kept. */
START_TEST(test_order_placed_v1_keeps_currency)
{
    json_t *stored = parse(PLACED_EUR);
    struct event e = {.type = EV_ORDER_PLACED};
    struct err_detail why = {0};
    ck_assert_int_eq(event_data_from_json(&e, 1, stored, &why), ERR_OK);
    ck_assert_str_eq(e.data.order_placed.currency, "EUR");
    json_decref(stored);
}
END_TEST

/* Version 2 is current: nothing is defaulted, so a missing currency is an error. */
START_TEST(test_order_placed_v2_requires_currency)
{
    json_t *stored = parse(PLACED_NO_CCY);
    struct event e = {.type = EV_ORDER_PLACED};
    struct err_detail why = {0};
    ck_assert_int_eq(event_data_from_json(&e, 2, stored, &why), ERR_BAD_EVENT);
    ck_assert_str_eq(why.detail, "OrderPlaced data field currency: is required");
    json_t *eur = parse(PLACED_EUR);
    json_t *same = event_data_upcast(EV_ORDER_PLACED, 2, eur, &why);
    ck_assert_ptr_eq(same, eur); /* the current version passes through untouched */
    json_decref(same);
    json_decref(eur);
    json_decref(stored);
}
END_TEST

static const struct unsupported_case {
    enum event_type type;
    int version;
    const char *detail;
} unsupported_cases[] = {
    {EV_ORDER_PLACED, 0, "unsupported schema_version 0 for OrderPlaced"},
    {EV_ORDER_PLACED, 3, "unsupported schema_version 3 for OrderPlaced"},
    {EV_ORDER_PLACED, 99, "unsupported schema_version 99 for OrderPlaced"},
    {EV_ACCOUNT_OPENED, 2, "unsupported schema_version 2 for AccountOpened"},
    {EV_FUNDS_DEPOSITED, -1, "unsupported schema_version -1 for FundsDeposited"},
    {EV__COUNT, 1, "unknown event type 11"},
};

START_TEST(test_unsupported_versions)
{
    const struct unsupported_case *k = &unsupported_cases[_i];
    json_t *data = parse(PLACED_EUR);
    struct err_detail why = {0};
    ck_assert_ptr_null(event_data_upcast(k->type, k->version, data, &why));
    ck_assert_str_eq(why.detail, k->detail);
    struct event e = {.type = k->type};
    memset(&why, 0, sizeof why);
    ck_assert_int_eq(event_data_from_json(&e, k->version, data, &why), ERR_BAD_EVENT);
    ck_assert_str_eq(why.detail, k->detail);
    json_decref(data);
}
END_TEST

/* Whatever the version, data that is not an object is refused by the decoder, not the chain. */
START_TEST(test_v1_non_object)
{
    json_t *arr = json_array();
    struct event e = {.type = EV_ORDER_PLACED};
    struct err_detail why = {0};
    ck_assert_int_eq(event_data_from_json(&e, 1, arr, &why), ERR_BAD_EVENT);
    ck_assert_str_eq(why.detail, "OrderPlaced data must be a JSON object");
    json_decref(arr);
}
END_TEST

static Suite *versioning_suite(void)
{
    Suite *s = suite_create("versioning");
    TCase *tc = tcase_create("upcast");
    tcase_add_test(tc, test_written_versions);
    tcase_add_test(tc, test_order_placed_v1_reads_usd);
    tcase_add_test(tc, test_order_placed_v1_keeps_currency);
    tcase_add_test(tc, test_order_placed_v2_requires_currency);
    tcase_add_loop_test(tc, test_unsupported_versions, 0, COUNT(unsupported_cases));
    tcase_add_test(tc, test_v1_non_object);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(versioning_suite());
}
