/* Rows of SQL_EVENT_COLS to struct event: the one decoder, so the two services cannot read the
 * same row two ways. */
#include "store/event_row.h"

#include "codec/codec.h"
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t event_row_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

enum err event_row_decode(const PGresult *res, int row, struct event *e, struct err_detail *why)
{
    int64_t pos = event_row_int(res, row, EV_COL_POSITION);
    const char *type = PQgetvalue(res, row, EV_COL_TYPE);
    const char *stream = PQgetvalue(res, row, EV_COL_STREAM);
    /* The header only: the data decoders zero the (8 KB) data union themselves before they
     * fill it, and a second memset of it was a quarter of a replay's instructions. */
    memset(e, 0, offsetof(struct event, data));
    if (!event_type_parse(type, &e->type))
        return err_set(why, ERR_BAD_EVENT, "event %" PRId64 ": unknown type \"%.64s\"", pos, type);
    if (strlen(stream) > STREAM_ID_MAX)
        return err_set(why, ERR_BAD_EVENT, "event %" PRId64 ": stream id too long", pos);
    snprintf(e->stream_id, sizeof e->stream_id, "%s", stream);
    e->stream_version = event_row_int(res, row, EV_COL_VERSION);
    e->position = pos;
    e->recorded_at_ms = event_row_int(res, row, EV_COL_RECORDED_MS);
    struct err_detail inner = {0};
    enum err rc = event_data_from_text(e, (int)event_row_int(res, row, EV_COL_SCHEMA),
                                       PQgetvalue(res, row, EV_COL_DATA), &inner);
    if (rc != ERR_OK)
        return err_set(why, ERR_BAD_EVENT, "event %" PRId64 " (%s): %s", pos, type, inner.detail);
    return ERR_OK;
}
