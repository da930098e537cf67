/* fold: replays events (JSON lines on stdin) through the pure domain's evolve functions and
 * prints every order and account view and document, so tests can compare the read model with a full
 * replay. */
#include "codec/codec.h"
#include "domain/domain.h"
#include "pii.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An AccountOpened owner as the read side shows it: opened with the line's "owner_key" (hex, as
 * in account_keys; null or absent once forgotten), like the projector does. */
static void reveal_owner(const json_t *line, struct event *e)
{
    unsigned char key[PII_KEY_BYTES];
    const char *hex = json_string_value(json_object_get(line, "owner_key"));
    bool have = hex && pii_key_from_hex(hex, key);
    if (e->type == EV_ACCOUNT_OPENED)
        pii_reveal_in_place(e->data.account_opened.owner, sizeof e->data.account_opened.owner,
                            have ? key : NULL);
    pii_wipe(key, sizeof key);
}

/* Input line: {"stream_id","stream_version","position","type","schema_version","data",
 * "recorded_at_ms", "owner_key"?} in position order. */
static int decode_line(const char *line, struct event *e)
{
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    if (!j)
        return -1;
    memset(e, 0, sizeof *e);
    const char *stream_id = json_string_value(json_object_get(j, "stream_id"));
    const char *type = json_string_value(json_object_get(j, "type"));
    int rc = -1;
    if (stream_id && type && event_type_parse(type, &e->type)) {
        snprintf(e->stream_id, sizeof e->stream_id, "%s", stream_id);
        e->stream_version = json_integer_value(json_object_get(j, "stream_version"));
        e->position = json_integer_value(json_object_get(j, "position"));
        e->recorded_at_ms = json_integer_value(json_object_get(j, "recorded_at_ms"));
        int sv = (int)json_integer_value(json_object_get(j, "schema_version"));
        struct err_detail why = {0};
        rc = event_data_from_json(e, sv, json_object_get(j, "data"), &why) == ERR_OK ? 0 : -1;
        reveal_owner(j, e);
    }
    json_decref(j);
    return rc;
}

/* Every stream's state, found by stream id through a JSON object of id -> slot index. */
struct fold {
    json_t *index;
    struct slot {
        struct order_state order;
        struct account_state account;
    } * slots;
    size_t count;
    size_t cap;
};

static struct slot *fold_slot(struct fold *f, const char *stream_id)
{
    json_t *at = json_object_get(f->index, stream_id);
    if (at)
        return &f->slots[json_integer_value(at)];
    if (f->count == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->slots = xrealloc(f->slots, f->cap * sizeof *f->slots);
    }
    memset(&f->slots[f->count], 0, sizeof f->slots[0]);
    json_object_set_new(f->index, stream_id, json_integer((json_int_t)f->count));
    return &f->slots[f->count++];
}

/* Steals doc. */
static json_t *doc_json(char *doc)
{
    json_t *v = json_string(doc);
    free(doc);
    return v;
}

/* Folds e into its stream's state and refreshes that aggregate's view in orders/accounts and
 * its document (the exact bytes GET must serve) in docs. */
static void fold_event(struct fold *f, json_t *orders, json_t *accounts, json_t *docs,
                       const struct event *e)
{
    struct slot *slot = fold_slot(f, e->stream_id);
    const char *id = strchr(e->stream_id, '-') + 1;
    if (event_type_is_order(e->type)) {
        order_evolve(&slot->order, e);
        json_object_set_new(orders, id, order_view_json(&slot->order));
        json_object_set_new(docs, e->stream_id, doc_json(order_view_doc(&slot->order)));
    } else {
        account_evolve(&slot->account, e);
        json_object_set_new(accounts, id, account_view_json(&slot->account));
        json_object_set_new(docs, e->stream_id, doc_json(account_view_doc(&slot->account)));
    }
}

int main(void)
{
    json_t *orders = json_object(), *accounts = json_object(), *docs = json_object();
    char *line = NULL;
    size_t cap = 0;
    struct event *e = xmalloc(sizeof *e);
    long lineno = 0;
    struct fold f = {json_object(), NULL, 0, 0};
    while (getline(&line, &cap, stdin) > 0) {
        lineno++;
        if (line[0] == '\n')
            continue;
        if (decode_line(line, e) != 0) {
            fprintf(stderr, "fold: line %ld is not a decodable event\n", lineno);
            return 1;
        }
        fold_event(&f, orders, accounts, docs, e);
    }
    json_t *out =
        json_pack("{s:o, s:o, s:o}", "orders", orders, "accounts", accounts, "docs", docs);
    json_dumpf(out, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(out);
    json_decref(f.index);
    free(f.slots);
    free(e);
    free(line);
    return 0;
}
