/* Snapshot state codec: one field-spec table per aggregate drives both directions (as for
 * events), plus the status, which is a name, and the checks that tie a state to its stream. */
#include "codec/snapshot_codec.h"
#include "codec/state_fields.h"
#include "codec/validate.h"

#include <stdio.h>
#include <string.h>

/* The states' fields (codec/state_fields.h) under their snapshot names; the status is a name,
 * checked apart below. */
#define ORDER_SNAP(k, m, n, lo, hi) SNAP_##k(struct order_state, state_order_status, m, n, lo, hi)
#define ACCOUNT_SNAP(k, m, n, lo, hi)                                                              \
    SNAP_##k(struct account_state, state_account_status, m, n, lo, hi)
static const struct field_spec order_state_fields[] = {ORDER_FIELDS(ORDER_SNAP){NULL}};
static const struct field_spec account_state_fields[] = {ACCOUNT_FIELDS(ACCOUNT_SNAP){NULL}};

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
    int st = status_of(j, ORDER_PLACED, ORDER_CANCELLED, state_order_status);
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
    int st = status_of(j, ACCOUNT_OPEN, ACCOUNT_CLOSED, state_account_status);
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
