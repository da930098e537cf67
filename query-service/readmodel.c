/* The query service's statement table (run through store/db.h) and its row decoders: rows of
 * the read tables into domain structs; event rows go through store/event_row.h. */
#include "readmodel.h"

#include "codec/codec.h"
#include "log.h"
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_statement statements[ST__COUNT] = {STATEMENT_TABLE(DB_STATEMENT_ROW)};

void readmodel_db_config(struct db_config *cfg, const char *database_url, const char *app_name,
                         const char *options)
{
    *cfg = (struct db_config){database_url, app_name, options, statements, ST__COUNT};
}

int64_t readmodel_int(const PGresult *res, int row, int col)
{
    return event_row_int(res, row, col);
}

static void copy_col(char *dst, size_t cap, const PGresult *res, int row, int col)
{
    snprintf(dst, cap, "%s", PQgetvalue(res, row, col));
}

/* Items are stored as the contract's [{sku, quantity, unit_price_cents}]. */
static void items_from_text(struct order_state *s, const char *text)
{
    json_t *arr = json_loads(text, 0, NULL);
    size_t i;
    json_t *it;
    s->item_count = 0;
    json_array_foreach(arr, i, it)
    {
        if (s->item_count == ITEMS_MAX)
            break;
        struct order_item *dst = &s->items[s->item_count++];
        const char *sku = json_string_value(json_object_get(it, "sku"));
        snprintf(dst->sku, sizeof dst->sku, "%s", sku ? sku : "");
        dst->quantity = json_integer_value(json_object_get(it, "quantity"));
        dst->unit_price_cents = json_integer_value(json_object_get(it, "unit_price_cents"));
    }
    json_decref(arr);
}

static enum order_status order_status_parse(const char *s)
{
    for (int st = ORDER_PLACED; st <= ORDER_CANCELLED; st++)
        if (strcmp(s, order_status_name((enum order_status)st)) == 0)
            return (enum order_status)st;
    return ORDER_NONE;
}

void readmodel_order_row(const PGresult *res, int row, struct order_state *s, int64_t *position)
{
    memset(s, 0, sizeof *s);
    copy_col(s->order_id, sizeof s->order_id, res, row, 0);
    copy_col(s->customer_id, sizeof s->customer_id, res, row, 1);
    s->status = order_status_parse(PQgetvalue(res, row, 2));
    copy_col(s->currency, sizeof s->currency, res, row, 3);
    items_from_text(s, PQgetvalue(res, row, 4));
    s->total_cents = readmodel_int(res, row, 5);
    s->paid_cents = readmodel_int(res, row, 6);
    s->refunded_cents = readmodel_int(res, row, 7);
    copy_col(s->account_id, sizeof s->account_id, res, row, 8);
    copy_col(s->carrier, sizeof s->carrier, res, row, 9);
    copy_col(s->tracking_number, sizeof s->tracking_number, res, row, 10);
    copy_col(s->cancel_reason, sizeof s->cancel_reason, res, row, 11);
    s->placed_at_ms = readmodel_int(res, row, 12);
    s->updated_at_ms = readmodel_int(res, row, 13);
    s->version = readmodel_int(res, row, 14);
    *position = readmodel_int(res, row, 15);
}

void readmodel_account_row(const PGresult *res, int row, struct account_state *s, int64_t *position)
{
    memset(s, 0, sizeof *s);
    copy_col(s->account_id, sizeof s->account_id, res, row, 0);
    copy_col(s->owner, sizeof s->owner, res, row, 1);
    copy_col(s->currency, sizeof s->currency, res, row, 2);
    s->balance_cents = readmodel_int(res, row, 3);
    s->overdraft_limit_cents = readmodel_int(res, row, 4);
    s->status = strcmp(PQgetvalue(res, row, 5), "closed") == 0 ? ACCOUNT_CLOSED : ACCOUNT_OPEN;
    s->opened_at_ms = readmodel_int(res, row, 6);
    s->updated_at_ms = readmodel_int(res, row, 7);
    s->version = readmodel_int(res, row, 8);
    *position = readmodel_int(res, row, 9);
}
