/* Unit tests of the codec's command side: request bodies -> commands with every field error
 * named, bodies that are not a JSON object, and the item, text and id limits. Event data, the
 * GET views and the allocation helpers are tested in test_events.c. */
#include "codec/codec.h"
#include "codec/validate.h"
#include "xalloc.h"

#include "run_suite.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bodies are written with ' for " so the tables stay readable; no case needs an apostrophe. */
static char *dq(const char *s)
{
    char *out = xstrdup(s);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

static enum err decode(enum command_type t, const char *path_id, const char *body,
                       struct command *c, struct err_detail *why)
{
    char *json = body ? dq(body) : NULL;
    memset(why, 0, sizeof *why);
    enum err e = command_decode(t, path_id, json, json ? strlen(json) : 0, c, why);
    free(json);
    return e;
}

/* "a,b,c": the fields of why in the order reported. */
static void field_list(const struct err_detail *why, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < why->field_count; i++) {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, why->fields[i].field, cap - strlen(out) - 1);
    }
}

#define ITEM  "{'sku':'SKU-1','quantity':2,'unit_price_cents':1250}"
#define ITEM2 "{'sku':'Zoë tee','quantity':1,'unit_price_cents':0}"

/* ---- commands that decode ---- */

static void check_place_full(const struct command *c)
{
    const struct place_order_cmd *p = &c->as.place_order;
    ck_assert_str_eq(p->order_id, "o-1");
    ck_assert_str_eq(p->customer_id, "cust_9");
    ck_assert_str_eq(p->currency, "EUR");
    ck_assert_int_eq(p->item_count, 2);
    ck_assert_str_eq(p->items[0].sku, "SKU-1");
    ck_assert_int_eq(p->items[0].quantity, 2);
    ck_assert_int_eq(p->items[0].unit_price_cents, 1250);
    ck_assert_str_eq(p->items[1].sku, "Zoë tee");
    ck_assert_int_eq(p->items[1].unit_price_cents, 0);
}

static void check_place_no_id(const struct command *c)
{
    ck_assert_str_eq(c->as.place_order.order_id, "");
    ck_assert_int_eq(c->as.place_order.item_count, 1);
}

static void check_pay(const struct command *c)
{
    ck_assert_str_eq(c->as.pay_order.order_id, "o-7");
    ck_assert_str_eq(c->as.pay_order.account_id, "acc1");
    ck_assert_int_eq(c->as.pay_order.amount_cents, 9007199254740991LL);
}

static void check_ship(const struct command *c)
{
    ck_assert_str_eq(c->as.ship_order.order_id, "o-7");
    ck_assert_str_eq(c->as.ship_order.carrier, "DHL");
    ck_assert_str_eq(c->as.ship_order.tracking_number, "JD0001");
}

static void check_cancel(const struct command *c)
{
    ck_assert_str_eq(c->as.cancel_order.order_id, "o-7");
    ck_assert_str_eq(c->as.cancel_order.reason, "changed my mind");
}

static void check_open_full(const struct command *c)
{
    ck_assert_str_eq(c->as.open_account.account_id, "acc1");
    ck_assert_str_eq(c->as.open_account.owner, "Zoë Ångström");
    ck_assert_str_eq(c->as.open_account.currency, "SEK");
    ck_assert_int_eq(c->as.open_account.overdraft_limit_cents, 5000);
}

static void check_open_default(const struct command *c)
{
    ck_assert_str_eq(c->as.open_account.account_id, "");
    ck_assert_int_eq(c->as.open_account.overdraft_limit_cents, 0);
}

static void check_deposit(const struct command *c)
{
    ck_assert_str_eq(c->as.funds.account_id, "acc1");
    ck_assert_int_eq(c->as.funds.amount_cents, 1);
    ck_assert_str_eq(c->as.funds.reference, "salary");
}

static void check_withdraw(const struct command *c)
{
    ck_assert_str_eq(c->as.funds.account_id, "acc1");
    ck_assert_int_eq(c->as.funds.amount_cents, 300);
    ck_assert_str_eq(c->as.funds.reference, "");
}

static void check_transfer(const struct command *c)
{
    ck_assert_str_eq(c->as.transfer_funds.transfer_id, "");
    ck_assert_str_eq(c->as.transfer_funds.from_account_id, "a");
    ck_assert_str_eq(c->as.transfer_funds.to_account_id, "b");
    ck_assert_int_eq(c->as.transfer_funds.amount_cents, 42);
}

static void check_close(const struct command *c)
{
    ck_assert_str_eq(c->as.close_account.account_id, "acc1");
}

static const struct ok_case {
    enum command_type type;
    const char *path_id;
    const char *body;
    void (*check)(const struct command *c);
} ok_cases[] = {
    {CMD_PLACE_ORDER, NULL,
     "{'order_id':'o-1','customer_id':'cust_9','currency':'EUR','items':[" ITEM "," ITEM2 "]}",
     check_place_full},
    {CMD_PLACE_ORDER, NULL, "{'customer_id':'c','currency':'EUR','items':[" ITEM "]}",
     check_place_no_id},
    {CMD_PLACE_ORDER, NULL,
     "{'order_id':null,'customer_id':'c','currency':'EUR','items':[" ITEM "]}", check_place_no_id},
    {CMD_PAY_ORDER, "o-7", "{'account_id':'acc1','amount_cents':9007199254740991}", check_pay},
    {CMD_SHIP_ORDER, "o-7", "{'carrier':'DHL','tracking_number':'JD0001'}", check_ship},
    {CMD_CANCEL_ORDER, "o-7", "{'reason':'changed my mind'}", check_cancel},
    {CMD_OPEN_ACCOUNT, NULL,
     "{'account_id':'acc1','owner':'Zoë Ångström','currency':'SEK','overdraft_limit_cents':5000}",
     check_open_full},
    {CMD_OPEN_ACCOUNT, NULL, "{'owner':'Bo','currency':'USD'}", check_open_default},
    {CMD_DEPOSIT, "acc1", "{'amount_cents':1,'reference':'salary'}", check_deposit},
    {CMD_WITHDRAW, "acc1", "{'amount_cents':300}", check_withdraw},
    {CMD_WITHDRAW, "acc1", " { 'amount_cents' : 300 , 'reference' : '' } ", check_withdraw},
    {CMD_TRANSFER_FUNDS, NULL, "{'from_account_id':'a','to_account_id':'b','amount_cents':42}",
     check_transfer},
    {CMD_CLOSE_ACCOUNT, "acc1", "{}", check_close},
    {CMD_CLOSE_ACCOUNT, "acc1", "", check_close},
    {CMD_CLOSE_ACCOUNT, "acc1", " \r\n", check_close},
    {CMD_CLOSE_ACCOUNT, "acc1", NULL, check_close},
};

START_TEST(test_command_ok)
{
    const struct ok_case *k = &ok_cases[_i];
    struct command c;
    struct err_detail why;
    enum err e = decode(k->type, k->path_id, k->body, &c, &why);
    ck_assert_msg(e == ERR_OK, "case %d: %s (%s)", _i, err_name(e), why.detail);
    ck_assert_int_eq(why.field_count, 0);
    ck_assert_int_eq(c.type, k->type);
    k->check(&c);
}
END_TEST

/* ---- field errors: the exact fields, in order, and the message of the first ---- */

static const struct bad_case {
    enum command_type type;
    const char *body;
    const char *fields;
    const char *first_message;
} bad_cases[] = {
    {CMD_PLACE_ORDER, "{'customer_id':5,'currency':'EUR','items':[" ITEM "]}", "customer_id",
     "must be a string"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':1,'unit_price_cents':1.0}"
     "]}",
     "items[0].unit_price_cents", "must be an integer number of minor units"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':1,'unit_price_cents':'1'}"
     "]}",
     "items[0].unit_price_cents", "must be an integer number of minor units"},
    {CMD_PAY_ORDER, "{'account_id':'a','amount_cents':true}", "amount_cents",
     "must be an integer number of minor units"},
    {CMD_PAY_ORDER, "{'account_id':'a','amount_cents':10.5}", "amount_cents",
     "must be an integer number of minor units"},
    {CMD_PAY_ORDER, "{'account_id':'a','amount_cents':9007199254740992}", "amount_cents",
     "amount_cents must be between 0 and 9007199254740991"},
    {CMD_DEPOSIT, "{'amount_cents':-5}", "amount_cents",
     "amount_cents must be between 1 and 9007199254740991"},
    {CMD_DEPOSIT, "{'amount_cents':0}", "amount_cents",
     "amount_cents must be between 1 and 9007199254740991"},
    {CMD_WITHDRAW, "{'amount_cents':1e3}", "amount_cents",
     "must be an integer number of minor units"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':10001,"
     "'unit_price_cents':1}]}",
     "items[0].quantity", "quantity must be between 1 and 10000"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':0,'unit_price_cents':1}]}",
     "items[0].quantity", "quantity must be between 1 and 10000"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':2.0,"
     "'unit_price_cents':1}]}",
     "items[0].quantity", "must be an integer"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':1,"
     "'unit_price_cents':1000000001}]}",
     "items[0].unit_price_cents", "unit_price_cents must be between 0 and 1000000000"},
    {CMD_PLACE_ORDER, "{'customer_id':'a b','currency':'EUR','items':[" ITEM "]}", "customer_id",
     "must be 1 to 64 letters, digits, '_' or '-'"},
    {CMD_PLACE_ORDER, "{'customer_id':'','currency':'EUR','items':[" ITEM "]}", "customer_id",
     "must be 1 to 64 letters, digits, '_' or '-'"},
    {CMD_PLACE_ORDER, "{'order_id':'x/y','customer_id':'c','currency':'EUR','items':[" ITEM "]}",
     "order_id", "must be 1 to 64 letters, digits, '_' or '-'"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'eur','items':[" ITEM "]}", "currency",
     "must be three upper-case letters"},
    {CMD_OPEN_ACCOUNT, "{'owner':'o','currency':'EURO'}", "currency",
     "must be three upper-case letters"},
    {CMD_OPEN_ACCOUNT, "{'owner':'o','currency':'E1R'}", "currency",
     "must be three upper-case letters"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'EUR','items':[]}", "items",
     "items must have between 1 and 100 items"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'EUR','items':{}}", "items",
     "must be an array"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'EUR','items':[" ITEM ",7]}", "items[1]",
     "must be an object"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'EUR','items':[" ITEM "],'color':'red'}",
     "color", "unknown field"},
    {CMD_PLACE_ORDER,
     "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','quantity':1,'unit_price_cents':1,"
     "'color':'red'}]}",
     "items[0].color", "unknown field"},
    {CMD_PLACE_ORDER, "{'currency':'EUR','items':[" ITEM "]}", "customer_id", "is required"},
    {CMD_PLACE_ORDER, "{'customer_id':null,'currency':'EUR','items':[" ITEM "]}", "customer_id",
     "is required"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'EUR','items':[{'quantity':1}]}",
     "items[0].sku,items[0].unit_price_cents", "is required"},
    {CMD_PLACE_ORDER, "{}", "customer_id,currency,items", "is required"},
    /* several bad fields at once: all of them, table order then unknown keys */
    {CMD_PLACE_ORDER,
     "{'zzz':1,'customer_id':'bad id','currency':'usd','items':[" ITEM
     ",{'sku':'','quantity':-1,'unit_price_cents':'9'}]}",
     "customer_id,currency,items[1].sku,items[1].quantity,items[1].unit_price_cents,zzz",
     "must be 1 to 64 letters, digits, '_' or '-'"},
    {CMD_SHIP_ORDER, "{}", "carrier,tracking_number", "is required"},
    {CMD_SHIP_ORDER, "{'carrier':'','tracking_number':['x']}", "carrier,tracking_number",
     "carrier must be between 1 and 200 characters"},
    {CMD_CANCEL_ORDER, "{'reason':''}", "reason", "reason must be between 1 and 200 characters"},
    {CMD_CANCEL_ORDER, "{'reason':'tab\\there'}", "reason", "must not contain control characters"},
    {CMD_CANCEL_ORDER, "{'reason':'del\\u007f'}", "reason", "must not contain control characters"},
    {CMD_CANCEL_ORDER, "{'reason':'c1\\u0085'}", "reason", "must not contain control characters"},
    {CMD_OPEN_ACCOUNT, "{'owner':'o','currency':'EUR','overdraft_limit_cents':-1}",
     "overdraft_limit_cents", "overdraft_limit_cents must be between 0 and 9007199254740991"},
    {CMD_OPEN_ACCOUNT, "{'owner':'o','currency':'EUR','account_id':7}", "account_id",
     "must be a string"},
    {CMD_DEPOSIT, "{'amount_cents':1,'reference':5}", "reference", "must be a string"},
    {CMD_TRANSFER_FUNDS, "{'from_account_id':'a','amount_cents':0}", "to_account_id,amount_cents",
     "is required"},
    {CMD_TRANSFER_FUNDS,
     "{'transfer_id':'t t','from_account_id':'a','to_account_id':'b','amount_cents':1}",
     "transfer_id", "must be 1 to 64 letters, digits, '_' or '-'"},
    {CMD_CLOSE_ACCOUNT, "{'force':true}", "force", "unknown field"},
};

START_TEST(test_command_field_errors)
{
    const struct bad_case *k = &bad_cases[_i];
    struct command c;
    struct err_detail why;
    char got[1024];
    enum err e = decode(k->type, "p1", k->body, &c, &why);
    ck_assert_msg(e == ERR_VALIDATION, "case %d: got %s", _i, err_name(e));
    field_list(&why, got, sizeof got);
    ck_assert_str_eq(got, k->fields);
    ck_assert_str_eq(why.fields[0].message, k->first_message);
    ck_assert(why.detail[0] != '\0');
}
END_TEST

/* ---- bodies that are not a JSON object ---- */

static const struct bad_json_case {
    enum command_type type;
    const char *body;
} bad_json_cases[] = {
    {CMD_PLACE_ORDER, ""},
    {CMD_PLACE_ORDER, NULL},
    {CMD_DEPOSIT, "   "},
    {CMD_PLACE_ORDER, "{"},
    {CMD_PLACE_ORDER, "{'customer_id':'a',}"},
    {CMD_PAY_ORDER, "{'account_id':'a','account_id':'b','amount_cents':1}"},
    {CMD_PLACE_ORDER, "{'customer_id':'c','currency':'EUR','items':[{'sku':'a','sku':'b'}]}"},
    {CMD_PLACE_ORDER, "[" ITEM "]"},
    {CMD_CLOSE_ACCOUNT, "[]"},
    {CMD_CANCEL_ORDER, "'reason'"},
    {CMD_DEPOSIT, "5"},
    {CMD_DEPOSIT, "null"},
    {CMD_DEPOSIT, "{'amount_cents':1} {}"},
    {CMD_CANCEL_ORDER, "{'reason':'\xff'}"},
    {CMD_CANCEL_ORDER, "{'reason':'a\\u0000b'}"},
};

START_TEST(test_command_bad_json)
{
    const struct bad_json_case *k = &bad_json_cases[_i];
    struct command c;
    struct err_detail why;
    enum err e = decode(k->type, "p1", k->body, &c, &why);
    ck_assert_msg(e == ERR_BAD_JSON, "case %d: got %s", _i, err_name(e));
    ck_assert_int_eq(why.field_count, 0);
    ck_assert_msg(why.detail[0] != '\0', "case %d has no detail", _i);
}
END_TEST

START_TEST(test_command_bad_json_detail)
{
    struct command c;
    struct err_detail why;
    ck_assert_int_eq(decode(CMD_PAY_ORDER, "o", "{'a':1,'a':2}", &c, &why), ERR_BAD_JSON);
    ck_assert_ptr_nonnull(strstr(why.detail, "duplicate"));
    ck_assert_int_eq(decode(CMD_PAY_ORDER, "o", "[1]", &c, &why), ERR_BAD_JSON);
    ck_assert_str_eq(why.detail, "request body must be a JSON object");
}
END_TEST

/* Builds a PlaceOrder body with n items; caller frees. */
static char *place_order_with_items(int n)
{
    size_t cap = 64 + (size_t)n * sizeof ITEM;
    char *body = xmalloc(cap);
    snprintf(body, cap, "{'customer_id':'c','currency':'EUR','items':[");
    for (int i = 0; i < n; i++) {
        strcat(body, ITEM);
        if (i + 1 < n)
            strcat(body, ",");
    }
    strcat(body, "]}");
    return body;
}

START_TEST(test_command_item_limits)
{
    struct command c;
    struct err_detail why;
    char *ok = place_order_with_items(ITEMS_MAX);
    char *bad = place_order_with_items(ITEMS_MAX + 1);
    ck_assert_int_eq(decode(CMD_PLACE_ORDER, NULL, ok, &c, &why), ERR_OK);
    ck_assert_int_eq(c.as.place_order.item_count, ITEMS_MAX);
    ck_assert_str_eq(c.as.place_order.items[ITEMS_MAX - 1].sku, "SKU-1");
    ck_assert_int_eq(decode(CMD_PLACE_ORDER, NULL, bad, &c, &why), ERR_VALIDATION);
    ck_assert_int_eq(why.field_count, 1);
    ck_assert_str_eq(why.fields[0].field, "items");
    ck_assert_str_eq(why.fields[0].message, "items must have between 1 and 100 items");
    free(ok);
    free(bad);
}
END_TEST

/* A string of n copies of unit inside 'key', as a one-field body; caller frees. */
static char *repeat_body(const char *key, const char *unit, int n)
{
    size_t cap = strlen(key) + strlen(unit) * (size_t)n + 16;
    char *body = xmalloc(cap);
    snprintf(body, cap, "{'%s':'", key);
    for (int i = 0; i < n; i++)
        strcat(body, unit);
    strcat(body, "'}");
    return body;
}

START_TEST(test_command_text_limits)
{
    struct command c;
    struct err_detail why;
    char *b;
    b = repeat_body("reason", "x", TEXT_MAX); /* exactly at the limit */
    ck_assert_int_eq(decode(CMD_CANCEL_ORDER, "o", b, &c, &why), ERR_OK);
    ck_assert_uint_eq(strlen(c.as.cancel_order.reason), TEXT_MAX);
    free(b);
    b = repeat_body("reason", "x", TEXT_MAX + 1);
    ck_assert_int_eq(decode(CMD_CANCEL_ORDER, "o", b, &c, &why), ERR_VALIDATION);
    ck_assert_str_eq(why.fields[0].message, "reason must be between 1 and 200 characters");
    free(b);
    /* 100 two-byte characters are 100 characters and fit the buffer */
    b = repeat_body("reason", "é", TEXT_MAX / 2);
    ck_assert_int_eq(decode(CMD_CANCEL_ORDER, "o", b, &c, &why), ERR_OK);
    free(b);
    /* 200 characters but 400 bytes: within the character limit, over the buffer */
    b = repeat_body("reason", "é", TEXT_MAX);
    ck_assert_int_eq(decode(CMD_CANCEL_ORDER, "o", b, &c, &why), ERR_VALIDATION);
    ck_assert_str_eq(why.fields[0].field, "reason");
    ck_assert_str_eq(why.fields[0].message, "must be at most 200 bytes of UTF-8");
    free(b);
}
END_TEST

START_TEST(test_command_id_limits)
{
    struct command c;
    struct err_detail why;
    char body[256];
    char id[ID_MAX + 2];
    memset(id, 'a', ID_MAX);
    id[ID_MAX] = '\0';
    snprintf(body, sizeof body, "{'account_id':'%s','amount_cents':5}", id);
    ck_assert_int_eq(decode(CMD_PAY_ORDER, "o", body, &c, &why), ERR_OK);
    ck_assert_str_eq(c.as.pay_order.account_id, id);
    strcat(id, "a");
    snprintf(body, sizeof body, "{'account_id':'%s','amount_cents':5}", id);
    ck_assert_int_eq(decode(CMD_PAY_ORDER, "o", body, &c, &why), ERR_VALIDATION);
    ck_assert_str_eq(why.fields[0].field, "account_id");
}
END_TEST

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *cmd = tcase_create("commands");
    tcase_add_loop_test(cmd, test_command_ok, 0, COUNT(ok_cases));
    tcase_add_loop_test(cmd, test_command_field_errors, 0, COUNT(bad_cases));
    tcase_add_loop_test(cmd, test_command_bad_json, 0, COUNT(bad_json_cases));
    tcase_add_test(cmd, test_command_bad_json_detail);
    tcase_add_test(cmd, test_command_item_limits);
    tcase_add_test(cmd, test_command_text_limits);
    tcase_add_test(cmd, test_command_id_limits);
    suite_add_tcase(s, cmd);
    return s;
}

int main(void)
{
    return run_suite(codec_suite());
}
