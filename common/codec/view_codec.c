/* Aggregate states -> the query service's GET views, and the canonical JSON text used to hash
 * requests. Field sets are the contract's (API.md, "Query service"). */
#include "codec/codec.h"
#include "codec/validate.h"
#include "timefmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(enum order_status) == sizeof(int), "F_ENUM stores an int");
_Static_assert(sizeof(enum account_status) == sizeof(int), "F_ENUM stores an int");

static const char *order_status_by_int(int s)
{
    return order_status_name((enum order_status)s);
}

static const char *account_status_by_int(int s)
{
    return account_status_name((enum account_status)s);
}

/* The one description of each GET view: its fields in the contract's order (API.md), how each
 * is written and read back. It drives the document a GET serves (and temporal reads render),
 * and the projector's reading of a stored document into the state it folds onto. Optional
 * texts (set by a later event) are null until then, so clients can test for absence without
 * comparing to "". The indexed columns beside the document are read from it in SQL
 * (ST_PROJ_*_SAVE), so a field that is not filtered on lives here only. */
static const struct field_spec order_view_fields[] = {
    {"order_id", F_ID, REQUIRED, FIELD_AT(struct order_state, order_id)},
    {"customer_id", F_ID, REQUIRED, FIELD_AT(struct order_state, customer_id)},
    {"status", F_ENUM, REQUIRED, FIELD_AT(struct order_state, status), .min = ORDER_PLACED,
     .max = ORDER_CANCELLED, .enum_name = order_status_by_int},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct order_state, currency)},
    {"items", F_ARRAY, REQUIRED, FIELD_ARRAY_AT(struct order_state, items, item_count), .min = 0,
     .max = ITEMS_MAX, .item = codec_order_item_fields},
    {"total_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_state, total_cents), .min = 0,
     .max = MONEY_MAX},
    {"paid_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_state, paid_cents), .min = 0,
     .max = MONEY_MAX},
    {"refunded_cents", F_MONEY, REQUIRED, FIELD_AT(struct order_state, refunded_cents), .min = 0,
     .max = MONEY_MAX},
    {"account_id", F_TEXT, OPTIONAL, FIELD_AT(struct order_state, account_id), .min = 0,
     .max = ID_MAX, .null_when_empty = true},
    {"carrier", F_TEXT, OPTIONAL, FIELD_AT(struct order_state, carrier), .min = 0, .max = TEXT_MAX,
     .null_when_empty = true},
    {"tracking_number", F_TEXT, OPTIONAL, FIELD_AT(struct order_state, tracking_number), .min = 0,
     .max = TEXT_MAX, .null_when_empty = true},
    {"cancel_reason", F_TEXT, OPTIONAL, FIELD_AT(struct order_state, cancel_reason), .min = 0,
     .max = TEXT_MAX, .null_when_empty = true},
    {"placed_at", F_TIME, REQUIRED, FIELD_AT(struct order_state, placed_at_ms)},
    {"updated_at", F_TIME, REQUIRED, FIELD_AT(struct order_state, updated_at_ms)},
    {"version", F_INT, REQUIRED, FIELD_AT(struct order_state, version), .min = 1, .max = INT64_MAX},
    {NULL},
};

/* The owner is shown opened, or "[forgotten]" (docs/forgetting.md). */
static const struct field_spec account_view_fields[] = {
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct account_state, account_id)},
    {"owner", F_TEXT, REQUIRED, FIELD_AT(struct account_state, owner), .min = 0,
     .max = OWNER_STORED_MAX},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct account_state, currency)},
    {"balance_cents", F_INT, REQUIRED, FIELD_AT(struct account_state, balance_cents),
     .min = -MONEY_MAX, .max = MONEY_MAX},
    {"overdraft_limit_cents", F_MONEY, REQUIRED,
     FIELD_AT(struct account_state, overdraft_limit_cents), .min = 0, .max = MONEY_MAX},
    {"status", F_ENUM, REQUIRED, FIELD_AT(struct account_state, status), .min = ACCOUNT_OPEN,
     .max = ACCOUNT_CLOSED, .enum_name = account_status_by_int},
    {"opened_at", F_TIME, REQUIRED, FIELD_AT(struct account_state, opened_at_ms)},
    {"updated_at", F_TIME, REQUIRED, FIELD_AT(struct account_state, updated_at_ms)},
    {"version", F_INT, REQUIRED, FIELD_AT(struct account_state, version), .min = 1,
     .max = INT64_MAX},
    {NULL},
};

json_t *order_view_json(const struct order_state *s)
{
    return validate_to_json(order_view_fields, s);
}

json_t *account_view_json(const struct account_state *s)
{
    return validate_to_json(account_view_fields, s);
}

/* Parses doc into out through specs; the first bad field names the failure. */
static enum err view_decode(const char *doc, const struct field_spec *specs, void *out,
                            const char *what, struct err_detail *why)
{
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    struct err_detail fields = {0};
    enum err rc = ERR_OK;
    if (!j)
        rc = err_set(why, ERR_BAD_EVENT, "%s document is not JSON: %s", what, jerr.text);
    else if (validate_object(j, specs, out, "", &fields) != ERR_OK)
        rc = err_set(why, ERR_BAD_EVENT, "%s document field %s: %s", what, fields.fields[0].field,
                     fields.fields[0].message);
    json_decref(j);
    return rc;
}

enum err order_view_decode(const char *doc, struct order_state *out, struct err_detail *why)
{
    memset(out, 0, sizeof *out);
    return view_decode(doc, order_view_fields, out, "order", why);
}

enum err account_view_decode(const char *doc, struct account_state *out, struct err_detail *why)
{
    memset(out, 0, sizeof *out);
    return view_decode(doc, account_view_fields, out, "account", why);
}

/* Steals v; the same flags as every JSON answer (http_respond_json). */
static char *doc_of(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return text;
}

char *order_view_doc(const struct order_state *s)
{
    return doc_of(order_view_json(s));
}

char *account_view_doc(const struct account_state *s)
{
    return doc_of(account_view_json(s));
}

/* JSON_ENCODE_ANY so a non-object (never sent today) still hashes instead of returning NULL.
 * The caller frees the text with free(). */
char *codec_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
