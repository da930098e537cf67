/* Unit tests of query-service/personal.c: account keys from ST_PII_KEYS rows (built with libpq,
 * no server), which events carry a sealed owner, and owners opened with their key or shown as
 * forgotten once the key is gone. */
#include "personal.h"
#include "query_rows.h"

#include "run_suite.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static unsigned char key1[PII_KEY_BYTES], key2[PII_KEY_BYTES];
static char sealed1[OWNER_STORED_MAX + 1], sealed3[OWNER_STORED_MAX + 1];

static void setup(void)
{
    ck_assert(pii_init());
    pii_key_new(key1);
    pii_key_new(key2);
    ck_assert(pii_seal(key1, "Alice", sealed1, sizeof sealed1));
    ck_assert(pii_seal(key2, "Carol", sealed3, sizeof sealed3));
}

/* Keys of a-1 and a-3 (a-3's is a-3's own), a malformed key and an over-long id skipped. */
static void load(struct personal_keys *k, bool with_a3)
{
    char hex1[PII_KEY_HEX_LEN], hex2[PII_KEY_HEX_LEN], long_id[ID_MAX + 2];
    pii_key_to_hex(key1, hex1);
    pii_key_to_hex(key2, hex2);
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    PGresult *res = rows_new(2);
    rows_set(res, 0, 0, "a-1");
    rows_set(res, 0, 1, hex1);
    rows_set(res, 1, 0, "a-2");
    rows_set(res, 1, 1, "not-hex");
    rows_set(res, 2, 0, long_id);
    rows_set(res, 2, 1, hex2);
    if (with_a3) {
        rows_set(res, 3, 0, "a-3");
        rows_set(res, 3, 1, hex2);
    }
    personal_keys_load(k, res);
    PQclear(res);
}

START_TEST(test_keys_load_and_find)
{
    struct personal_keys k = {0};
    load(&k, true);
    ck_assert_int_eq(k.n, 2);
    ck_assert_mem_eq(personal_key_find(&k, "a-1"), key1, PII_KEY_BYTES);
    ck_assert_mem_eq(personal_key_find(&k, "a-3"), key2, PII_KEY_BYTES);
    ck_assert_ptr_null(personal_key_find(&k, "a-2"));
    ck_assert_ptr_null(personal_key_find(&k, "a-9"));
    personal_keys_free(&k);
    ck_assert_int_eq(k.n, 0);
    ck_assert_ptr_null(k.ids);
    personal_keys_free(&k); /* an empty set frees again */
}
END_TEST

/* The feed's events: two AccountOpened with sealed owners, one with a plain owner (written
 * before sealing), and an order event. */
static json_t *events(void)
{
    return json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}},"
                     " {s:s, s:{s:s, s:s}}]",
                     "type", "AccountOpened", "data", "account_id", "a-1", "owner", sealed1, "type",
                     "AccountOpened", "data", "account_id", "a-2", "owner", "Bob", "type",
                     "OrderPlaced", "data", "order_id", "o-1", "owner", sealed1, "type",
                     "AccountOpened", "data", "account_id", "a-3", "owner", sealed3);
}

static const char *owner_of(json_t *evs, size_t i)
{
    return json_string_value(
        json_object_get(json_object_get(json_array_get(evs, i), "data"), "owner"));
}

START_TEST(test_sealed_ids)
{
    json_t *evs = events();
    char *ids = personal_sealed_ids(evs);
    ck_assert_str_eq(ids, "[\"a-1\",\"a-3\"]");
    free(ids);
    json_array_remove(evs, 3);
    json_array_remove(evs, 0);
    ck_assert_ptr_null(personal_sealed_ids(evs)); /* nothing to look up: no query */
    json_decref(evs);
}
END_TEST

/* a-1 opens with its key; a-3's key is gone (forgotten): "[forgotten]"; plain owners and
 * other events' fields stay as they are. */
START_TEST(test_reveal_events)
{
    struct personal_keys k = {0};
    load(&k, false);
    json_t *evs = events();
    personal_reveal_events(evs, &k);
    ck_assert_str_eq(owner_of(evs, 0), "Alice");
    ck_assert_str_eq(owner_of(evs, 1), "Bob");
    ck_assert_str_eq(owner_of(evs, 2), sealed1);
    ck_assert_str_eq(owner_of(evs, 3), OWNER_FORGOTTEN);
    json_decref(evs);
    personal_keys_free(&k);
}
END_TEST

START_TEST(test_reveal_owner)
{
    struct personal_keys k = {0};
    load(&k, true);
    char owner[OWNER_STORED_MAX + 1];
    snprintf(owner, sizeof owner, "%s", sealed3);
    personal_reveal_owner(owner, &k, "a-3");
    ck_assert_str_eq(owner, "Carol");
    snprintf(owner, sizeof owner, "%s", sealed1);
    personal_reveal_owner(owner, &k, "a-3"); /* another account's key does not open it */
    ck_assert_str_eq(owner, OWNER_FORGOTTEN);
    personal_keys_free(&k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query_personal");
    TCase *t = tcase_create("personal");
    tcase_add_unchecked_fixture(t, setup, NULL);
    tcase_add_test(t, test_keys_load_and_find);
    tcase_add_test(t, test_sealed_ids);
    tcase_add_test(t, test_reveal_events);
    tcase_add_test(t, test_reveal_owner);
    suite_add_tcase(s, t);
    return run_suite(s);
}
