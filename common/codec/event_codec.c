/* Event data <-> JSON for the contract events, one field-spec table per type driving both
 * directions. Every reader goes through the upcaster chain, which raises old schema_versions. */
#include "codec/codec.h"
#include "codec/event_json.h"
#include "codec/scan.h"
#include "codec/validate.h"

#include "xalloc.h"

#include <stdio.h>
#include <string.h>

static const struct field_spec order_placed_fields[] = {
    {"order_id", F_ID, REQUIRED, FIELD_AT(struct ev_order_placed, order_id)},
    {"customer_id", F_ID, REQUIRED, FIELD_AT(struct ev_order_placed, customer_id)},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct ev_order_placed, currency)},
    {"items", F_ARRAY, REQUIRED, FIELD_ARRAY_AT(struct ev_order_placed, items, item_count),
     .min = 1, .max = ITEMS_MAX, .item = codec_order_item_fields},
    {"total_cents", F_MONEY, REQUIRED, FIELD_AT(struct ev_order_placed, total_cents), .min = 0,
     .max = MONEY_MAX},
    {NULL},
};

static const struct field_spec order_paid_fields[] = {
    {"order_id", F_ID, REQUIRED, FIELD_AT(struct ev_order_paid, order_id)},
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct ev_order_paid, account_id)},
    {"amount_cents", F_MONEY, REQUIRED, FIELD_AT(struct ev_order_paid, amount_cents), .min = 0,
     .max = MONEY_MAX},
    {NULL},
};

/* Stored texts may be empty (rows inserted by plain SQL); only the commands demand 1 char. */
static const struct field_spec order_shipped_fields[] = {
    {"order_id", F_ID, REQUIRED, FIELD_AT(struct ev_order_shipped, order_id)},
    {"carrier", F_TEXT, REQUIRED, FIELD_AT(struct ev_order_shipped, carrier), .min = 0,
     .max = TEXT_MAX},
    {"tracking_number", F_TEXT, REQUIRED, FIELD_AT(struct ev_order_shipped, tracking_number),
     .min = 0, .max = TEXT_MAX},
    {NULL},
};

static const struct field_spec order_cancelled_fields[] = {
    {"order_id", F_ID, REQUIRED, FIELD_AT(struct ev_order_cancelled, order_id)},
    {"reason", F_TEXT, REQUIRED, FIELD_AT(struct ev_order_cancelled, reason), .min = 0,
     .max = TEXT_MAX},
    {"refunded_cents", F_MONEY, REQUIRED, FIELD_AT(struct ev_order_cancelled, refunded_cents),
     .min = 0, .max = MONEY_MAX},
    {NULL},
};

static const struct field_spec account_opened_fields[] = {
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct ev_account_opened, account_id)},
    /* Sealed ("enc:v1:..."), or plain text in rows written before sealing or by plain SQL. */
    {"owner", F_TEXT, REQUIRED, FIELD_AT(struct ev_account_opened, owner), .min = 0,
     .max = OWNER_STORED_MAX},
    {"currency", F_CCY, REQUIRED, FIELD_AT(struct ev_account_opened, currency)},
    {"overdraft_limit_cents", F_MONEY, REQUIRED,
     FIELD_AT(struct ev_account_opened, overdraft_limit_cents), .min = 0, .max = MONEY_MAX},
    {NULL},
};

/* FundsDeposited and FundsWithdrawn */
static const struct field_spec funds_fields[] = {
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct ev_funds, account_id)},
    {"amount_cents", F_MONEY, REQUIRED, FIELD_AT(struct ev_funds, amount_cents), .min = 0,
     .max = MONEY_MAX},
    {"reference", F_TEXT, REQUIRED, FIELD_AT(struct ev_funds, reference), .min = 0,
     .max = TEXT_MAX},
    {NULL},
};

/* TransferSent and TransferReceived */
static const struct field_spec transfer_fields[] = {
    {"transfer_id", F_ID, REQUIRED, FIELD_AT(struct ev_transfer, transfer_id)},
    {"from_account_id", F_ID, REQUIRED, FIELD_AT(struct ev_transfer, from_account_id)},
    {"to_account_id", F_ID, REQUIRED, FIELD_AT(struct ev_transfer, to_account_id)},
    {"amount_cents", F_MONEY, REQUIRED, FIELD_AT(struct ev_transfer, amount_cents), .min = 0,
     .max = MONEY_MAX},
    {NULL},
};

static const struct field_spec account_closed_fields[] = {
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct ev_account_closed, account_id)},
    {NULL},
};

static const struct field_spec personal_data_forgotten_fields[] = {
    {"account_id", F_ID, REQUIRED, FIELD_AT(struct ev_personal_data_forgotten, account_id)},
    {NULL},
};

/* Turns data of schema_version v into v + 1; returns a new reference, or NULL if the data
 * cannot be upcast. */
typedef json_t *(*event_upcaster)(const json_t *data);

/* OrderPlaced 1 -> 2: version 1 had no currency; every order then was in US dollars. Rows
 * written as version 1 by releases that already sent a currency keep theirs, so both kinds of
 * version-1 row read correctly. Anything but an object passes through for the decoder to
 * reject with its usual message. */
static json_t *order_placed_v1_to_v2(const json_t *data)
{
    if (!json_is_object(data) || json_object_get(data, "currency"))
        return json_incref((json_t *)data);
    json_t *up = json_copy((json_t *)data);
    json_object_set_new(up, "currency", json_string("USD"));
    return up;
}

/* Per type: the current version's table, that version, and upcast[v] raising v to v + 1 for
 * every older v. Evolving a type means: bump its version, change its table, add upcast[old].
 * The written version is the current one (event_schema_version), so writers and readers
 * cannot disagree. */
struct event_codec {
    const struct field_spec *fields;
    int version;
    event_upcaster upcast[EVENT_SCHEMA_MAX];
};

static const struct event_codec event_codecs[EV__COUNT] = {
    [EV_ORDER_PLACED] = {order_placed_fields, 2, {[1] = order_placed_v1_to_v2}},
    [EV_ORDER_PAID] = {order_paid_fields, 1, {NULL}},
    [EV_ORDER_SHIPPED] = {order_shipped_fields, 1, {NULL}},
    [EV_ORDER_CANCELLED] = {order_cancelled_fields, 1, {NULL}},
    [EV_ACCOUNT_OPENED] = {account_opened_fields, 1, {NULL}},
    [EV_FUNDS_DEPOSITED] = {funds_fields, 1, {NULL}},
    [EV_FUNDS_WITHDRAWN] = {funds_fields, 1, {NULL}},
    [EV_TRANSFER_SENT] = {transfer_fields, 1, {NULL}},
    [EV_TRANSFER_RECEIVED] = {transfer_fields, 1, {NULL}},
    [EV_ACCOUNT_CLOSED] = {account_closed_fields, 1, {NULL}},
    [EV_PERSONAL_DATA_FORGOTTEN] = {personal_data_forgotten_fields, 1, {NULL}},
};

int event_schema_version(enum event_type t)
{
    return (unsigned)t < EV__COUNT ? event_codecs[t].version : 1;
}

json_t *event_data_to_json(const struct event *e)
{
    if ((unsigned)e->type >= EV__COUNT)
        return json_object();
    return validate_to_json(event_codecs[e->type].fields, &e->data);
}

void event_data_render(struct render_buf *b, const struct event *e)
{
    static const struct field_spec none[] = {{NULL}};
    render_object(b, (unsigned)e->type < EV__COUNT ? event_codecs[e->type].fields : none, &e->data);
}

static const char *type_name(int t)
{
    return event_type_name((enum event_type)t);
}

/* The envelope's leading members, in json_pack's order. */
static const struct field_spec envelope_fields[] = {
    {"stream_id", F_ID, REQUIRED, FIELD_AT(struct event, stream_id)},
    {"stream_version", F_INT, REQUIRED, FIELD_AT(struct event, stream_version)},
    {"type", F_ENUM, REQUIRED, FIELD_AT(struct event, type), .enum_name = type_name},
    {NULL},
};

void event_array_render(struct render_buf *b, const struct event *events, int n)
{
    render_put(b, "[", 1);
    for (int i = 0; i < n; i++) {
        const struct event *e = &events[i];
        if (i > 0)
            render_put(b, ",", 1);
        render_object(b, envelope_fields, e);
        b->len--; /* reopen the object for the two members the struct does not hold */
        char tail[48];
        int len = snprintf(tail, sizeof tail,
                           ",\"schema_version\":%d,\"data\":", event_schema_version(e->type));
        render_put(b, tail, (size_t)len);
        event_data_render(b, e);
        render_put(b, "}", 1);
    }
    render_put(b, "]", 1);
}

#define METADATA_KEYS 5

static char *metadata_jansson(const char *const v[METADATA_KEYS])
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "command_id", v[0], "command_type", v[1],
                          "correlation_id", v[2], "causation_id", v[3], "actor", v[4]);
    char *text = json_dumps(m, JSON_COMPACT); /* NULL for NULL */
    json_decref(m);
    return text;
}

char *event_metadata_json(const char *command_id, const char *command_type,
                          const char *correlation_id, const char *causation_id, const char *actor)
{
    static const char *const keys[METADATA_KEYS] = {
        "{\"command_id\":", ",\"command_type\":", ",\"correlation_id\":", ",\"causation_id\":",
        ",\"actor\":"};
    const char *const v[METADATA_KEYS] = {command_id, command_type, correlation_id, causation_id,
                                          actor};
    for (int i = 0; i < METADATA_KEYS; i++)
        if (v[i] == NULL || !render_printable_ascii(v[i]))
            return metadata_jansson(v);
    struct render_buf b = {0};
    for (int i = 0; i < METADATA_KEYS; i++) {
        render_member(&b, keys[i], v[i]);
    }
    render_put(&b, "}", 1);
    return b.text;
}

json_t *event_data_upcast(enum event_type t, int version, const json_t *data,
                          struct err_detail *why)
{
    if ((unsigned)t >= EV__COUNT) {
        err_set(why, ERR_BAD_EVENT, "unknown event type %d", (int)t);
        return NULL;
    }
    const struct event_codec *ec = &event_codecs[t];
    if (version < 1 || version > ec->version) {
        err_set(why, ERR_BAD_EVENT, "unsupported schema_version %d for %s", version,
                event_type_name(t));
        return NULL;
    }
    if (data == NULL) {
        err_set(why, ERR_BAD_EVENT, "%s has no data", event_type_name(t));
        return NULL;
    }
    json_t *cur = json_incref((json_t *)data); /* incref only; data itself is never changed */
    for (int v = version; v < ec->version && cur; v++) {
        json_t *next = ec->upcast[v] ? ec->upcast[v](cur) : NULL;
        json_decref(cur);
        cur = next;
        if (cur == NULL)
            err_set(why, ERR_BAD_EVENT, "cannot upcast %s from schema_version %d",
                    event_type_name(t), v);
    }
    return cur;
}

/* Decodes data already at the current version. Unknown keys are ignored (a tolerant reader:
 * events are written once and read for ever); the first bad field is named in the detail. */
static enum err event_decode_current(struct event *e, const json_t *data, struct err_detail *why)
{
    struct err_detail fields;
    memset(&fields, 0, sizeof fields);
    const char *type = event_type_name(e->type);
    if (!json_is_object(data))
        return err_set(why, ERR_BAD_EVENT, "%s data must be a JSON object", type);
    memset(&e->data, 0, sizeof e->data);
    if (validate_object_flags(data, event_codecs[e->type].fields, &e->data, "",
                              VALIDATE_ALLOW_UNKNOWN, &fields) == ERR_OK)
        return ERR_OK;
    return err_set(why, ERR_BAD_EVENT, "%s data field %s: %s", type, fields.fields[0].field,
                   fields.fields[0].message);
}

enum err event_data_from_json(struct event *e, int schema_version, const json_t *data,
                              struct err_detail *why)
{
    json_t *current = event_data_upcast(e->type, schema_version, data, why);
    if (current == NULL)
        return ERR_BAD_EVENT;
    enum err rc = event_decode_current(e, current, why);
    json_decref(current);
    return rc;
}

/* The scanner reads version v with the current table where raising v is the identity on every
 * text it accepts: v is current, or OrderPlaced 1 with a currency (the table requires one, and
 * the upcaster passes such data through unchanged). */
static bool scan_reads(enum event_type t, int v)
{
    return v == event_codecs[t].version || (t == EV_ORDER_PLACED && v == 1);
}

enum err event_data_from_text(struct event *e, int schema_version, const char *text,
                              struct err_detail *why)
{
    if ((unsigned)e->type < EV__COUNT && scan_reads(e->type, schema_version)) {
        memset(&e->data, 0, sizeof e->data);
        if (scan_object(text, event_codecs[e->type].fields, &e->data) == SCAN_OK)
            return ERR_OK;
    }
    json_t *data = json_loads(text, 0, NULL);
    enum err rc = event_data_from_json(e, schema_version, data, why);
    json_decref(data);
    return rc;
}
