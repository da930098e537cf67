/* Aggregate states -> the query service's GET views, and the canonical JSON text used to hash
 * requests. Field sets are the contract's (API.md, "Query service"). */
#include "codec/codec.h"
#include "codec/validate.h"
#include "timefmt.h"

#include <stdlib.h>

/* Optional texts (set by a later event) are null until then, so clients can test for absence
 * without comparing to "". Returns a new reference. */
static json_t *string_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

/* Returns a new reference. */
static json_t *timestamp_json(int64_t ms)
{
    char buf[TIMEFMT_LEN];
    timefmt_rfc3339(ms, buf);
    return json_string(buf);
}

static json_t *order_items_json(const struct order_state *s)
{
    json_t *items = json_array();
    int n = s->item_count < 0 ? 0 : s->item_count > ITEMS_MAX ? ITEMS_MAX : s->item_count;
    for (int i = 0; i < n; i++)
        json_array_append_new(items, validate_to_json(codec_order_item_fields, &s->items[i]));
    return items;
}

json_t *order_view_json(const struct order_state *s)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "order_id",
        s->order_id, "customer_id", s->customer_id, "status", order_status_name(s->status),
        "currency", s->currency, "items", order_items_json(s), "total_cents",
        (json_int_t)s->total_cents, "paid_cents", (json_int_t)s->paid_cents, "refunded_cents",
        (json_int_t)s->refunded_cents, "account_id", string_or_null(s->account_id), "carrier",
        string_or_null(s->carrier), "tracking_number", string_or_null(s->tracking_number),
        "cancel_reason", string_or_null(s->cancel_reason), "placed_at",
        timestamp_json(s->placed_at_ms), "updated_at", timestamp_json(s->updated_at_ms), "version",
        (json_int_t)s->version);
}

json_t *account_view_json(const struct account_state *s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:I}", "account_id", s->account_id,
                     "owner", s->owner, "currency", s->currency, "balance_cents",
                     (json_int_t)s->balance_cents, "overdraft_limit_cents",
                     (json_int_t)s->overdraft_limit_cents, "status", account_status_name(s->status),
                     "opened_at", timestamp_json(s->opened_at_ms), "updated_at",
                     timestamp_json(s->updated_at_ms), "version", (json_int_t)s->version);
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
