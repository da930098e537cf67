/* Snapshot state codec: one field-spec table per aggregate drives both directions (as for
 * events), plus the status, which is a name, and the checks that tie a state to its stream. */
#include "codec/snapshot_codec.h"
#include "codec/validate.h"

#include <stdio.h>
#include <string.h>

#define TIME_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z in epoch ms */

static const struct field_spec order_state_fields[] = {
    {"version", F_INT, REQUIRED, FIELD_AT(struct order_state, version), .min = 1, .max = MONEY_MAX},
    {"order_id", F_ID, REQUIRED, FIELD_AT(struct order_state, order_id)},
    {"customer_id", F_ID, REQUIRED, FIELD_AT(struct order_state, customer_id)},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct order_state, currency)},
    {"items", F_ARRAY, REQUIRED, FIELD_ARRAY_AT(struct order_state, items, item_count), .min = 1,
     .max = ITEMS_MAX, .item = codec_order_item_fields},
    {"total_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_state, total_cents), .min = 0,
     .max = MONEY_MAX},
    {"paid_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_state, paid_cents), .min = 0,
     .max = MONEY_MAX},
    {"refunded_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_state, refunded_cents), .min = 0,
     .max = MONEY_MAX},
    {"account_id", F_TEXT, REQUIRED, FIELD_AT(struct order_state, account_id), .min = 0,
     .max = ID_MAX},
    {"carrier", F_TEXT, REQUIRED, FIELD_AT(struct order_state, carrier), .min = 0, .max = TEXT_MAX},
    {"tracking_number", F_TEXT, REQUIRED, FIELD_AT(struct order_state, tracking_number), .min = 0,
     .max = TEXT_MAX},
    {"cancel_reason", F_TEXT, REQUIRED, FIELD_AT(struct order_state, cancel_reason), .min = 0,
     .max = TEXT_MAX},
    {"placed_at_ms", F_INT, REQUIRED, FIELD_AT(struct order_state, placed_at_ms), .min = 0,
     .max = TIME_MAX},
    {"updated_at_ms", F_INT, REQUIRED, FIELD_AT(struct order_state, updated_at_ms), .min = 0,
     .max = TIME_MAX},
    {NULL},
};

/* A balance may be below zero down to the overdraft limit. */
static const struct field_spec account_state_fields[] = {
    {"version", F_INT, REQUIRED, FIELD_AT(struct account_state, version), .min = 1,
     .max = MONEY_MAX},
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct account_state, account_id)},
    /* Sealed or OWNER_FORGOTTEN, never the plain text (the command side never opens it). */
    {"owner", F_TEXT, REQUIRED, FIELD_AT(struct account_state, owner), .min = 0,
     .max = OWNER_STORED_MAX},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct account_state, currency)},
    {"balance_cents", F_INT, REQUIRED, FIELD_AT(struct account_state, balance_cents),
     .min = -MONEY_MAX, .max = MONEY_MAX},
    {"overdraft_limit_cents", F_MONEY, REQUIRED,
     FIELD_AT(struct account_state, overdraft_limit_cents), .min = 0, .max = MONEY_MAX},
    {"opened_at_ms", F_INT, REQUIRED, FIELD_AT(struct account_state, opened_at_ms), .min = 0,
     .max = TIME_MAX},
    {"updated_at_ms", F_INT, REQUIRED, FIELD_AT(struct account_state, updated_at_ms), .min = 0,
     .max = TIME_MAX},
    {NULL},
};

json_t *snapshot_order_to_json(const struct order_state *s)
{
    json_t *j = validate_to_json(order_state_fields, s);
    json_object_set_new(j, "status", json_string(order_status_name(s->status)));
    return j;
}

json_t *snapshot_account_to_json(const struct account_state *s)
{
    json_t *j = validate_to_json(account_state_fields, s);
    json_object_set_new(j, "status", json_string(account_status_name(s->status)));
    return j;
}

/* The status named in j among first..last, or -1. */
static int status_of(const json_t *j, int first, int last, const char *(*name)(int))
{
    const char *v = json_string_value(json_object_get(j, "status"));
    for (int st = first; v && st <= last; st++)
        if (strcmp(v, name(st)) == 0)
            return st;
    return -1;
}

static const char *order_status_by_int(int s)
{
    return order_status_name((enum order_status)s);
}

static const char *account_status_by_int(int s)
{
    return account_status_name((enum account_status)s);
}

/* Validates j against specs into out (status excluded) and names the first bad field. */
static enum err decode_fields(const json_t *j, const struct field_spec *specs, void *out,
                              const char *what, struct err_detail *why)
{
    struct err_detail fields = {0};
    if (!json_is_object(j))
        return err_set(why, ERR_BAD_EVENT, "%s snapshot must be a JSON object", what);
    if (validate_object_flags(j, specs, out, "", VALIDATE_ALLOW_UNKNOWN, &fields) != ERR_OK)
        return err_set(why, ERR_BAD_EVENT, "%s snapshot field %s: %s", what, fields.fields[0].field,
                       fields.fields[0].message);
    return ERR_OK;
}

enum err snapshot_order_from_json(const json_t *j, struct order_state *out, struct err_detail *why)
{
    memset(out, 0, sizeof *out);
    enum err rc = decode_fields(j, order_state_fields, out, "order", why);
    if (rc != ERR_OK)
        return rc;
    int st = status_of(j, ORDER_PLACED, ORDER_CANCELLED, order_status_by_int);
    if (st < 0)
        return err_set(why, ERR_BAD_EVENT, "order snapshot field status: unknown status");
    out->status = (enum order_status)st;
    return ERR_OK;
}

enum err snapshot_account_from_json(const json_t *j, struct account_state *out,
                                    struct err_detail *why)
{
    memset(out, 0, sizeof *out);
    enum err rc = decode_fields(j, account_state_fields, out, "account", why);
    if (rc != ERR_OK)
        return rc;
    int st = status_of(j, ACCOUNT_OPEN, ACCOUNT_CLOSED, account_status_by_int);
    if (st < 0)
        return err_set(why, ERR_BAD_EVENT, "account snapshot field status: unknown status");
    out->status = (enum account_status)st;
    return ERR_OK;
}

bool snapshot_decode(const char *stream_id, int64_t version, const char *state_text,
                     struct order_state *order, struct account_state *account,
                     struct err_detail *why)
{
    json_t *j = json_loads(state_text, 0, NULL);
    char expect[STREAM_ID_MAX + 1];
    enum err rc;
    int64_t got;
    bool is_order = strncmp(stream_id, "order-", 6) == 0;
    if (is_order ? order == NULL : account == NULL) {
        json_decref(j);
        err_set(why, ERR_BAD_EVENT, "no slot for the snapshot of %s", stream_id);
        return false;
    }
    if (is_order) {
        rc = snapshot_order_from_json(j, order, why);
        stream_id_order(expect, order->order_id);
        got = order->version;
    } else {
        rc = snapshot_account_from_json(j, account, why);
        stream_id_account(expect, account->account_id);
        got = account->version;
    }
    json_decref(j);
    if (rc != ERR_OK)
        return false;
    if (strcmp(expect, stream_id) != 0 || got != version) {
        err_set(why, ERR_BAD_EVENT, "snapshot of %s holds %s at version %lld, not %lld", stream_id,
                expect, (long long)got, (long long)version);
        return false;
    }
    return true;
}
