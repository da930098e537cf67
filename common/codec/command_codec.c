/* Request bodies -> struct command: one field-spec table per command, straight from API.md.
 * Parsing rejects duplicate keys; every field problem is collected before answering 422. */
#include "codec/codec.h"
#include "codec/command_scan.h"
#include "codec/scan.h"
#include "codec/validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const struct field_spec codec_order_item_fields[] = {
    {"sku", F_TEXT, REQUIRED, FIELD_AT(struct order_item, sku), .min = 1, .max = SKU_MAX},
    {"quantity", F_INT, REQUIRED, FIELD_AT(struct order_item, quantity), .min = 1,
     .max = QUANTITY_MAX},
    {"unit_price_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_item, unit_price_cents), .min = 0,
     .max = UNIT_PRICE_MAX},
    {NULL},
};

static const struct field_spec place_order_fields[] = {
    {"order_id", F_ID, OPTIONAL, FIELD_AT(struct place_order_cmd, order_id)},
    {"customer_id", F_ID, REQUIRED, FIELD_AT(struct place_order_cmd, customer_id)},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct place_order_cmd, currency)},
    {"items", F_ARRAY, REQUIRED, FIELD_ARRAY_AT(struct place_order_cmd, items, item_count),
     .min = 1, .max = ITEMS_MAX, .item = codec_order_item_fields},
    {NULL},
};

static const struct field_spec pay_order_fields[] = {
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct pay_order_cmd, account_id)},
    {"amount_cents", F_MONEY, REQUIRED, FIELD_AT(struct pay_order_cmd, amount_cents), .min = 0,
     .max = MONEY_MAX},
    {NULL},
};

static const struct field_spec ship_order_fields[] = {
    {"carrier", F_TEXT, REQUIRED, FIELD_AT(struct ship_order_cmd, carrier), .min = 1,
     .max = TEXT_MAX},
    {"tracking_number", F_TEXT, REQUIRED, FIELD_AT(struct ship_order_cmd, tracking_number),
     .min = 1, .max = TEXT_MAX},
    {NULL},
};

static const struct field_spec cancel_order_fields[] = {
    {"reason", F_TEXT, REQUIRED, FIELD_AT(struct cancel_order_cmd, reason), .min = 1,
     .max = TEXT_MAX},
    {NULL},
};

static const struct field_spec open_account_fields[] = {
    {"account_id", F_ID, OPTIONAL, FIELD_AT(struct open_account_cmd, account_id)},
    {"owner", F_TEXT, REQUIRED, FIELD_AT(struct open_account_cmd, owner), .min = 1,
     .max = TEXT_MAX},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct open_account_cmd, currency)},
    {"overdraft_limit_cents", F_MONEY, OPTIONAL,
     FIELD_AT(struct open_account_cmd, overdraft_limit_cents), .min = 0, .max = MONEY_MAX},
    {NULL},
};

/* Deposit and Withdraw: a zero amount is refused here, not in decide(), as the contract says
 * "amount > 0" for both. */
static const struct field_spec funds_fields[] = {
    {"amount_cents", F_MONEY, REQUIRED, FIELD_AT(struct funds_cmd, amount_cents), .min = 1,
     .max = MONEY_MAX},
    {"reference", F_TEXT, OPTIONAL, FIELD_AT(struct funds_cmd, reference), .min = 0,
     .max = TEXT_MAX},
    {NULL},
};

static const struct field_spec transfer_funds_fields[] = {
    {"transfer_id", F_ID, OPTIONAL, FIELD_AT(struct transfer_funds_cmd, transfer_id)},
    {"from_account_id", F_ID, REQUIRED, FIELD_AT(struct transfer_funds_cmd, from_account_id)},
    {"to_account_id", F_ID, REQUIRED, FIELD_AT(struct transfer_funds_cmd, to_account_id)},
    {"amount_cents", F_MONEY, REQUIRED, FIELD_AT(struct transfer_funds_cmd, amount_cents), .min = 1,
     .max = MONEY_MAX},
    {NULL},
};

static const struct field_spec close_account_fields[] = {
    {NULL},
};

static const struct field_spec forget_fields[] = {
    {NULL},
};

/* Each command's table and where its {id} from the URL goes (-1: the URL has none). All union
 * members start at the same address, so offsets are relative to &command.as. */
struct command_codec {
    const struct field_spec *fields;
    long path_id_offset;
};

static const struct command_codec command_codecs[CMD__COUNT] = {
    [CMD_PLACE_ORDER] = {place_order_fields, -1},
    [CMD_PAY_ORDER] = {pay_order_fields, offsetof(struct pay_order_cmd, order_id)},
    [CMD_SHIP_ORDER] = {ship_order_fields, offsetof(struct ship_order_cmd, order_id)},
    [CMD_CANCEL_ORDER] = {cancel_order_fields, offsetof(struct cancel_order_cmd, order_id)},
    [CMD_OPEN_ACCOUNT] = {open_account_fields, -1},
    [CMD_DEPOSIT] = {funds_fields, offsetof(struct funds_cmd, account_id)},
    [CMD_WITHDRAW] = {funds_fields, offsetof(struct funds_cmd, account_id)},
    [CMD_TRANSFER_FUNDS] = {transfer_funds_fields, -1},
    [CMD_CLOSE_ACCOUNT] = {close_account_fields, offsetof(struct close_account_cmd, account_id)},
    [CMD_FORGET_PERSONAL_DATA] = {forget_fields,
                                  offsetof(struct forget_personal_data_cmd, account_id)},
};

static bool body_is_blank(const char *body, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)body[i]))
            return false;
    return true;
}

/* Returns a new reference to the parsed object, or NULL with ERR_BAD_JSON set in why. Only
 * CloseAccount and ForgetPersonalData take a blank body, as {}: clients often POST those with no
 * body at all. */
static json_t *command_parse(enum command_type t, const char *body, size_t len,
                             struct err_detail *why)
{
    json_error_t jerr;
    if (body == NULL || body_is_blank(body, len)) {
        if (t == CMD_CLOSE_ACCOUNT || t == CMD_FORGET_PERSONAL_DATA)
            return json_object();
        err_set(why, ERR_BAD_JSON, "request body is empty");
        return NULL;
    }
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        err_set(why, ERR_BAD_JSON, "%s at line %d, column %d", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        err_set(why, ERR_BAD_JSON, "request body must be a JSON object");
        return NULL;
    }
    return root;
}

/* Bodies up to this size are copied to a NUL-terminated text for the scanner (a PlaceOrder of
 * ITEMS_MAX items is ~6 KB); longer ones go to jansson. */
#define SCAN_BODY_MAX 8192

bool command_scan_body(enum command_type t, const char *body, size_t len, struct command *out)
{
    char text[SCAN_BODY_MAX];
    if ((unsigned)t >= CMD__COUNT || body == NULL || len >= sizeof text ||
        memchr(body, '\0', len) != NULL) /* jansson refuses a NUL inside */
        return false;
    memcpy(text, body, len);
    text[len] = '\0';
    if (scan_object(text, command_codecs[t].fields, &out->as) == SCAN_OK)
        return true;
    memset(&out->as, 0, sizeof out->as); /* partly written: the tree path starts from zero */
    return false;
}

static void put_path_id(const struct command_codec *cc, const char *path_id, struct command *out)
{
    if (cc->path_id_offset >= 0 && path_id != NULL)
        snprintf((char *)&out->as + cc->path_id_offset, ID_MAX + 1, "%s", path_id);
}

enum err command_decode_tree(enum command_type t, const char *path_id, const char *body, size_t len,
                             struct command *out, struct err_detail *why)
{
    if ((unsigned)t >= CMD__COUNT)
        return err_set(why, ERR_INTERNAL, "unknown command type %d", (int)t);
    memset(out, 0, sizeof *out);
    out->type = t;
    json_t *root = command_parse(t, body, len, why);
    if (root == NULL)
        return ERR_BAD_JSON;
    const struct command_codec *cc = &command_codecs[t];
    enum err e = validate_object(root, cc->fields, &out->as, "", why);
    json_decref(root);
    if (e != ERR_OK)
        return err_set(why, e, "%s has invalid fields", command_type_name(t));
    put_path_id(cc, path_id, out);
    return ERR_OK;
}

/* The scanner reads the ordinary bodies (json_loadb and the tree walk were ~15% of
 * command-service's instructions per PlaceOrder, issue 15); anything it is unsure of, every
 * refusal included, is the tree path's, so every answer stays the same. */
enum err command_decode(enum command_type t, const char *path_id, const char *body, size_t len,
                        struct command *out, struct err_detail *why)
{
    if ((unsigned)t >= CMD__COUNT || body == NULL || body_is_blank(body, len))
        return command_decode_tree(t, path_id, body, len, out, why);
    memset(out, 0, sizeof *out);
    out->type = t;
    if (!command_scan_body(t, body, len, out))
        return command_decode_tree(t, path_id, body, len, out, why);
    put_path_id(&command_codecs[t], path_id, out);
    return ERR_OK;
}
