/* Unit tests of the /v1/views pieces that need no database: which names can name a view, which
 * query parameters a view's catalog entry accepts as filters, and the cursor a page hands back
 * (only the shape this service writes is accepted: one text value per sort column). */
#include "views_catalog.h"
#include "views_query.h"

#include "run_suite.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct name_case {
    const char *name;
    bool ok;
} name_cases[] = {
    {"awaiting_shipment", true},
    {"a", true},
    {"v2_daily", true},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true}, /* 40 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"", false},
    {"1abc", false},
    {"_abc", false},
    {"Upper", false},
    {"a-b", false},
    {"a.b", false},
    {"a b", false},
    {"a\"b", false},
    {"\xc3\xa9t\xc3\xa9", false},
};

START_TEST(test_name_valid)
{
    const struct name_case *c = &name_cases[_i];
    ck_assert_msg(views_catalog_name_valid(c->name) == c->ok, "%s", c->name);
}
END_TEST

/* daily_money_movement's shape: key (account_id, day), filter currency, order (account_id,
 * day): the sort list is the two columns once. */
static void daily(struct view_def *d, bool not_null)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "daily");
    d->key_count = 2;
    snprintf(d->key[0].name, sizeof d->key[0].name, "account_id");
    snprintf(d->key[1].name, sizeof d->key[1].name, "day");
    d->filter_count = 1;
    snprintf(d->filter[0].name, sizeof d->filter[0].name, "currency");
    d->order_count = 2;
    d->order[0] = d->key[0];
    d->order[1] = d->key[1];
    d->sort_not_null = not_null;
}

START_TEST(test_filters_are_key_and_filter_columns)
{
    struct view_def d;
    daily(&d, true);
    ck_assert_ptr_eq(views_catalog_filter(&d, "account_id"), &d.key[0]);
    ck_assert_ptr_eq(views_catalog_filter(&d, "day"), &d.key[1]);
    ck_assert_ptr_eq(views_catalog_filter(&d, "currency"), &d.filter[0]);
    ck_assert_ptr_null(views_catalog_filter(&d, "deposits_cents"));
    ck_assert_ptr_null(views_catalog_filter(&d, "limit"));
    ck_assert_ptr_null(views_catalog_filter(&d, ""));
}
END_TEST

static const struct cursor_case {
    const char *json; /* encoded as the service does; NULL: use raw as the cursor */
    const char *raw;
    bool not_null;
    bool ok;
    const char *first, *second; /* decoded values when ok (NULL: SQL NULL) */
} cursor_cases[] = {
    {"[\"acc-1\",\"2026-11-29\"]", NULL, true, true, "acc-1", "2026-11-29"},
    {"[\"acc-1\",null]", NULL, false, true, "acc-1", NULL},
    {"[\"acc-1\",null]", NULL, true, false, NULL, NULL}, /* NOT NULL columns: no NULL */
    {"[\"acc-1\"]", NULL, true, false, NULL, NULL},      /* one value per sort column */
    {"[\"a\",\"b\",\"c\"]", NULL, true, false, NULL, NULL},
    {"[\"a\",1]", NULL, true, false, NULL, NULL}, /* text values only */
    {"{\"a\":\"b\"}", NULL, true, false, NULL, NULL},
    {"[\"a\\u0000b\",\"c\"]", NULL, true, false, NULL, NULL},
    {"[\"a\",\"b\"", NULL, true, false, NULL, NULL},
    {NULL, "", true, false, NULL, NULL},
    {NULL, "not base64!", true, false, NULL, NULL},
    {NULL, "WyJhIiwiYiJd====", true, false, NULL, NULL}, /* padded: not what is written */
    {NULL, "c42", true, false, NULL, NULL},              /* a /v1/orders cursor */
};

START_TEST(test_cursor_decode)
{
    const struct cursor_case *c = &cursor_cases[_i];
    struct view_def d;
    daily(&d, c->not_null);
    struct view_page p = {.def = &d};
    char b64[512];
    const char *cursor = c->raw;
    if (c->json) {
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)c->json, strlen(c->json),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        cursor = b64;
    }
    ck_assert_msg(views_cursor_decode(cursor, &p) == c->ok, "%s", c->json ? c->json : c->raw);
    ck_assert(p.has_after == c->ok);
    if (c->ok) {
        ck_assert_str_eq(p.after[0], c->first);
        if (c->second)
            ck_assert_str_eq(p.after[1], c->second);
        else
            ck_assert_ptr_null(p.after[1]);
    } else {
        ck_assert_ptr_null(p.after[0]);
    }
    views_page_free(&p);
    ck_assert_ptr_null(p.after[0]);
}
END_TEST

START_TEST(test_cursor_over_its_cap)
{
    struct view_def d;
    daily(&d, true);
    struct view_page p = {.def = &d};
    static char big[VIEW_CURSOR_MAX + 2];
    memset(big, 'A', sizeof big - 1);
    ck_assert(!views_cursor_decode(big, &p));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("views_query");
    TCase *t = tcase_create("pure");
    tcase_add_loop_test(t, test_name_valid, 0, N(name_cases));
    tcase_add_test(t, test_filters_are_key_and_filter_columns);
    tcase_add_loop_test(t, test_cursor_decode, 0, N(cursor_cases));
    tcase_add_test(t, test_cursor_over_its_cap);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
