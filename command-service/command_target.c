/* What a command's answer is about and the metadata its events carry, for the lone path
 * (commands.c) and the batch path (hot_batch.c) alike. */
#include "command_target.h"
#include "codec/event_json.h"
#include "uuid.h"

#include <stdio.h>
#include <string.h>

void commands_target_of(const struct command *c, struct command_target *t)
{
    t->status = 200;
    t->location[0] = '\0';
    switch (c->type) {
    case CMD_PLACE_ORDER:
        t->status = 201;
        snprintf(t->location, sizeof t->location, "/v1/orders/%s", c->as.place_order.order_id);
        /* fall through */
    case CMD_PAY_ORDER:
    case CMD_SHIP_ORDER:
    case CMD_CANCEL_ORDER:
        t->id = c->as.place_order.order_id; /* order_id leads every order command */
        stream_id_order(t->stream_id, t->id);
        return;
    case CMD_TRANSFER_FUNDS:
        t->status = 201;
        t->id = c->as.transfer_funds.transfer_id;
        snprintf(t->location, sizeof t->location, "/v1/accounts/%s",
                 c->as.transfer_funds.from_account_id);
        stream_id_account(t->stream_id, c->as.transfer_funds.from_account_id);
        return;
    case CMD_OPEN_ACCOUNT:
        t->status = 201;
        snprintf(t->location, sizeof t->location, "/v1/accounts/%s", c->as.open_account.account_id);
        /* fall through */
    default:
        t->id = c->as.open_account.account_id; /* account_id leads every account command */
        stream_id_account(t->stream_id, t->id);
        return;
    }
}

/* A header worth recording in metadata: 1-128 printable ASCII characters. Anything else (for
 * instance bytes that are not UTF-8, which jansson refuses) falls back to the default rather
 * than failing a valid command. */
static const char *metadata_header(struct command_request *cr, const char *name,
                                   const char *fallback)
{
    const char *v = http_header(cr->http, name);
    size_t n = v ? strlen(v) : 0;
    if (n < 1 || n > 128)
        return fallback;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7e)
            return fallback;
    return v;
}

char *commands_metadata_json(struct command_request *cr)
{
    char command_id[UUID_STR_LEN];
    uuid_v4(command_id);
    return event_metadata_json(command_id, command_type_name(cr->type), cr->http->correlation_id,
                               metadata_header(cr, "X-Causation-ID", command_id),
                               metadata_header(cr, "X-Actor", "anonymous"));
}

void commands_etag(const struct decision *d, const char *stream_id, int64_t *version,
                   char etag[COMMANDS_ETAG_MAX])
{
    *version = 0;
    for (int i = 0; i < d->count; i++)
        if (strcmp(d->events[i].stream_id, stream_id) == 0)
            *version = d->events[i].stream_version;
    snprintf(etag, COMMANDS_ETAG_MAX, "\"%lld\"", (long long)*version);
}
