/* Unit tests of forgetting a person: the sealing helper (common/pii.c) and the domain, codec and
 * snapshot sides of ForgetPersonalData / PersonalDataForgotten. */
#include "codec/codec.h"
#include "codec/snapshot_codec.h"
#include "domain/domain.h"
#include "pii.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char key_a[PII_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const unsigned char key_b[PII_KEY_BYTES] = {9, 8, 7, 6, 5, 4, 3, 2, 1};

/* ---- sealing ---- */

static const char *const plain_cases[] = {"",  "Alice", "Zoë Ångström", "enc:v1:looks sealed",
                                          "x", NULL /* TEXT_MAX bytes, filled in */};

START_TEST(test_seal_open_round_trip)
{
    char plain[TEXT_MAX + 1], sealed[OWNER_STORED_MAX + 1], opened[OWNER_STORED_MAX + 1];
    if (plain_cases[_i])
        snprintf(plain, sizeof plain, "%s", plain_cases[_i]);
    else {
        memset(plain, 'q', TEXT_MAX);
        plain[TEXT_MAX] = '\0';
    }
    ck_assert(pii_seal(key_a, plain, sealed, sizeof sealed));
    ck_assert(pii_is_sealed(sealed));
    ck_assert(strlen(sealed) <= OWNER_STORED_MAX);
    ck_assert(strlen(plain) < 5 || _i == 3 || strstr(sealed, plain) == NULL);
    ck_assert(pii_open(key_a, sealed, opened, sizeof opened));
    ck_assert_str_eq(opened, plain);
    pii_reveal(sealed, key_a, opened, sizeof opened);
    ck_assert_str_eq(opened, plain);
    /* Without the key, or with another account's, nothing of it comes back. */
    ck_assert(!pii_open(key_b, sealed, opened, sizeof opened));
    ck_assert_str_eq(opened, "");
    pii_reveal(sealed, NULL, opened, sizeof opened);
    ck_assert_str_eq(opened, OWNER_FORGOTTEN);
    pii_reveal(sealed, key_b, opened, sizeof opened);
    ck_assert_str_eq(opened, OWNER_FORGOTTEN);
}
END_TEST

START_TEST(test_seal_uses_random_nonce)
{
    char s1[OWNER_STORED_MAX + 1], s2[OWNER_STORED_MAX + 1];
    ck_assert(pii_seal(key_a, "Alice", s1, sizeof s1));
    ck_assert(pii_seal(key_a, "Alice", s2, sizeof s2));
    ck_assert_str_ne(s1, s2);
    /* nonce 24 + MAC 16 + 5 bytes = 45 bytes: 60 base64 characters after the prefix */
    ck_assert_int_eq(strlen(s1), strlen(PII_PREFIX) + 60);
}
END_TEST

/* Edited, truncated or foreign texts never open: authentication, not just decoding. */
START_TEST(test_open_refuses_tampering)
{
    char sealed[OWNER_STORED_MAX + 1], bad[OWNER_STORED_MAX + 1], out[64];
    ck_assert(pii_seal(key_a, "Alice Example", sealed, sizeof sealed));
    size_t n = strlen(sealed);
    for (size_t i = strlen(PII_PREFIX); i < n; i += 7) {
        memcpy(bad, sealed, n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        ck_assert_msg(!pii_open(key_a, bad, out, sizeof out), "edit at %zu opened", i);
    }
    memcpy(bad, sealed, n + 1);
    bad[n - 8] = '\0';
    ck_assert(!pii_open(key_a, bad, out, sizeof out));
    ck_assert(!pii_open(key_a, "enc:v1:", out, sizeof out));
    ck_assert(!pii_open(key_a, "enc:v1:!!!!", out, sizeof out));
    ck_assert(!pii_open(key_a, "Alice", out, sizeof out));
    /* too small an output buffer is a refusal, not a truncation */
    ck_assert(!pii_open(key_a, sealed, out, 5));
    ck_assert(!pii_seal(key_a, "Alice", out, 20));
    ck_assert_str_eq(out, "");
}
END_TEST

/* Rows from before sealing (and plain-SQL inserts) show as stored. */
START_TEST(test_reveal_plain_passes_through)
{
    char out[OWNER_STORED_MAX + 1];
    pii_reveal("Bob", NULL, out, sizeof out);
    ck_assert_str_eq(out, "Bob");
    pii_reveal(OWNER_FORGOTTEN, key_a, out, sizeof out);
    ck_assert_str_eq(out, OWNER_FORGOTTEN);
    char text[OWNER_STORED_MAX + 1];
    ck_assert(pii_seal(key_b, "Carol", text, sizeof text));
    pii_reveal_in_place(text, sizeof text, key_b);
    ck_assert_str_eq(text, "Carol");
    pii_reveal_in_place(text, sizeof text, NULL); /* plain now: unchanged */
    ck_assert_str_eq(text, "Carol");
}
END_TEST

START_TEST(test_key_hex)
{
    unsigned char k1[PII_KEY_BYTES], k2[PII_KEY_BYTES];
    char hex[PII_KEY_HEX_LEN];
    pii_key_new(k1);
    pii_key_new(k2);
    ck_assert(memcmp(k1, k2, PII_KEY_BYTES) != 0);
    pii_key_to_hex(k1, hex);
    ck_assert_int_eq(strlen(hex), 64);
    memset(k2, 0, sizeof k2);
    ck_assert(pii_key_from_hex(hex, k2));
    ck_assert(memcmp(k1, k2, PII_KEY_BYTES) == 0);
    hex[10] = 'z';
    ck_assert(!pii_key_from_hex(hex, k2));
    ck_assert(!pii_key_from_hex("abcd", k2));
    ck_assert(!pii_key_from_hex("", k2));
    pii_wipe(k1, sizeof k1);
    for (int i = 0; i < PII_KEY_BYTES; i++)
        ck_assert_int_eq(k1[i], 0);
}
END_TEST

/* ---- domain, codec, snapshots ---- */

static void opened(struct account_state *a, const char *owner, enum account_status status)
{
    memset(a, 0, sizeof *a);
    a->status = status;
    a->version = 4;
    a->balance_cents = 250;
    snprintf(a->account_id, sizeof a->account_id, "a-1");
    snprintf(a->owner, sizeof a->owner, "%s", owner);
    snprintf(a->currency, sizeof a->currency, "EUR");
}

static struct command forget_cmd(void)
{
    struct command c;
    struct err_detail why = {0};
    ck_assert_int_eq(command_decode(CMD_FORGET_PERSONAL_DATA, "a-1", NULL, 0, &c, &why), ERR_OK);
    ck_assert_str_eq(c.as.forget.account_id, "a-1");
    return c;
}

START_TEST(test_decide_forget)
{
    struct world w = {0};
    struct decision out;
    struct err_detail why = {0};
    struct command c = forget_cmd();
    ck_assert_int_eq(decide(&c, &w, &out, &why), ERR_NOT_FOUND);
    char sealed[OWNER_STORED_MAX + 1];
    ck_assert(pii_seal(key_a, "Alice", sealed, sizeof sealed));
    /* closed accounts too: that is when forgetting is usually asked for */
    for (int closed = 0; closed < 2; closed++) {
        opened(&w.account[0], sealed, closed ? ACCOUNT_CLOSED : ACCOUNT_OPEN);
        ck_assert_int_eq(decide(&c, &w, &out, &why), ERR_OK);
        ck_assert_int_eq(out.count, 1);
        const struct event *e = &out.events[0];
        ck_assert_int_eq(e->type, EV_PERSONAL_DATA_FORGOTTEN);
        ck_assert_str_eq(e->stream_id, "account-a-1");
        ck_assert_int_eq(e->stream_version, 5);
        ck_assert_str_eq(e->data.personal_data_forgotten.account_id, "a-1");
        account_evolve(&w.account[0], e);
        ck_assert_str_eq(w.account[0].owner, OWNER_FORGOTTEN);
        ck_assert_int_eq(w.account[0].balance_cents, 250);
        ck_assert_int_eq(w.account[0].version, 5);
        ck_assert_int_eq(w.account[0].status, closed ? ACCOUNT_CLOSED : ACCOUNT_OPEN);
        ck_assert_int_eq(decide(&c, &w, &out, &why), ERR_FORGOTTEN);
        ck_assert_int_eq(err_status(ERR_FORGOTTEN), 409);
    }
}
END_TEST

START_TEST(test_forget_codecs)
{
    struct err_detail why = {0};
    struct command c;
    ck_assert_int_eq(command_decode(CMD_FORGET_PERSONAL_DATA, "a-1", "{}", 2, &c, &why), ERR_OK);
    ck_assert_int_eq(
        command_decode(CMD_FORGET_PERSONAL_DATA, "a-1", "{\"owner\":\"x\"}", 13, &c, &why),
        ERR_VALIDATION);
    struct event e = {.type = EV_PERSONAL_DATA_FORGOTTEN};
    snprintf(e.data.personal_data_forgotten.account_id, ID_MAX + 1, "a-9");
    json_t *j = event_data_to_json(&e);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, "{\"account_id\":\"a-9\"}");
    struct event back = {.type = EV_PERSONAL_DATA_FORGOTTEN};
    ck_assert_int_eq(event_data_from_json(&back, 1, j, &why), ERR_OK);
    ck_assert_str_eq(back.data.personal_data_forgotten.account_id, "a-9");
    free(text);
    json_decref(j);
}
END_TEST

/* The longest owner, sealed, is a valid stored AccountOpened and a valid snapshot. */
START_TEST(test_sealed_owner_is_stored_and_snapshotted)
{
    char plain[TEXT_MAX + 1];
    memset(plain, 'w', TEXT_MAX);
    plain[TEXT_MAX] = '\0';
    struct event e = {.type = EV_ACCOUNT_OPENED};
    struct ev_account_opened *o = &e.data.account_opened;
    snprintf(o->account_id, sizeof o->account_id, "a-1");
    snprintf(o->currency, sizeof o->currency, "EUR");
    ck_assert(pii_seal(key_a, plain, o->owner, sizeof o->owner));
    json_t *j = event_data_to_json(&e);
    struct event back = {.type = EV_ACCOUNT_OPENED};
    struct err_detail why = {0};
    ck_assert_msg(event_data_from_json(&back, 1, j, &why) == ERR_OK, "%s", why.detail);
    ck_assert_str_eq(back.data.account_opened.owner, o->owner);
    json_decref(j);

    struct account_state a, restored;
    opened(&a, o->owner, ACCOUNT_OPEN);
    j = snapshot_account_to_json(&a);
    ck_assert_int_eq(snapshot_account_from_json(j, &restored, &why), ERR_OK);
    ck_assert_str_eq(restored.owner, o->owner);
    ck_assert(strstr(json_string_value(json_object_get(j, "owner")), "www") == NULL);
    json_decref(j);
    ck_assert_int_ge(SNAPSHOT_SCHEMA, 2); /* schema 1 snapshots held owners in plain text */
}
END_TEST

static Suite *forget_suite(void)
{
    Suite *s = suite_create("forget");
    TCase *pii = tcase_create("pii");
    tcase_add_loop_test(pii, test_seal_open_round_trip, 0,
                        (int)(sizeof plain_cases / sizeof plain_cases[0]));
    tcase_add_test(pii, test_seal_uses_random_nonce);
    tcase_add_test(pii, test_open_refuses_tampering);
    tcase_add_test(pii, test_reveal_plain_passes_through);
    tcase_add_test(pii, test_key_hex);
    suite_add_tcase(s, pii);
    TCase *dom = tcase_create("domain");
    tcase_add_test(dom, test_decide_forget);
    tcase_add_test(dom, test_forget_codecs);
    tcase_add_test(dom, test_sealed_owner_is_stored_and_snapshotted);
    suite_add_tcase(s, dom);
    return s;
}

int main(void)
{
    return run_suite(forget_suite());
}
