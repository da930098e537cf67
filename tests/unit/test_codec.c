/* Unit tests of the codec: request bodies -> commands with every field error named, event data
 * round trips and rejections, the GET views' field sets, and the allocation helpers. */
#include "codec/codec.h"
#include "codec/validate.h"
#include "xalloc.h"

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
    ck_assert_int_eq(event_data_from_json(&out, EVENT_SCHEMA_VERSION, parsed, &why), ERR_OK);
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
    {EV_ORDER_PLACED, 2, "{}", "unsupported schema_version 2 for OrderPlaced"},
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

START_TEST(test_order_view)
{
    struct order_state s = {0};
    char keys[512];
    s.status = ORDER_PLACED;
    s.version = 1;
    snprintf(s.order_id, sizeof s.order_id, "%s", "o-1");
    snprintf(s.customer_id, sizeof s.customer_id, "%s", "c-1");
    snprintf(s.currency, sizeof s.currency, "%s", "EUR");
    s.item_count = 1;
    snprintf(s.items[0].sku, sizeof s.items[0].sku, "%s", "A");
    s.items[0].quantity = 2;
    s.items[0].unit_price_cents = 150;
    s.total_cents = 300;
    s.placed_at_ms = 1764092168123LL;
    s.updated_at_ms = 1764092168123LL;
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
    TCase *ev = tcase_create("events");
    tcase_add_loop_test(ev, test_event_round_trip, 0, EV__COUNT);
    tcase_add_test(ev, test_event_money_is_integer);
    tcase_add_loop_test(ev, test_event_rejected, 0, COUNT(bad_event_cases));
    tcase_add_test(ev, test_event_tolerates_unknown_keys);
    suite_add_tcase(s, ev);
    TCase *view = tcase_create("views");
    tcase_add_test(view, test_order_view);
    tcase_add_test(view, test_account_view);
    tcase_add_test(view, test_canonical);
    tcase_add_test(view, test_xalloc);
    suite_add_tcase(s, view);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(codec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
