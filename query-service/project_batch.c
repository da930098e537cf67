/* One projector batch: load the states of the batch's streams once, fold every event with the
 * command side's own evolve functions, and write rows, deltas and checkpoint in one transaction. */
#include "project_batch.h"
#include "project_batch_internal.h"

#include "codec/codec.h"
#include "domain/domain.h"
#include "log.h"
#include "personal.h"
#include "query_db.h"
#include "store/param_array.h"
#include "thread_local.h"
#include "xalloc.h"
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000LL

/* Order slots are ~9 KiB (ITEMS_MAX items). Fresh memory for every batch cost a page fault per
 * page touched and an unmap at the end, ~15% of a replay's CPU (perf, issue 13), so a thread keeps
 * the slots of a large batch for its next one (catch-up and rebuild run batch after batch) and
 * releases them after a small one: a projector near the head holds none. */
#define SLOTS_KEEP_MIN 1000
struct slot_cache {
    struct order_slot *slots;
    size_t cap;
};
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void slot_cache_free(void *p)
{
    struct slot_cache *c = p;
    free(c->slots);
    free(c);
}

static void slot_key_init(void)
{
    if (pthread_key_create(&slot_key, slot_cache_free) != 0)
        abort();
}

/* A slot as a new one must be: zero but for the items past item_count, which nothing reads
 * (zeroing them would touch every page again). */
static void slot_clear(struct order_slot *o)
{
    memset(o, 0, offsetof(struct order_slot, s.items));
    size_t tail = offsetof(struct order_slot, s.total_cents);
    memset((char *)o + tail, 0, sizeof *o - tail);
}

/* n cleared slots, owned by this thread's cache (slots_release gives them back). */
static struct order_slot *slots_get(size_t n)
{
    pthread_once(&slot_once, slot_key_init);
    struct slot_cache *c = pthread_getspecific(slot_key);
    if (!c) {
        c = xcalloc(1, sizeof *c);
        if (pthread_setspecific(slot_key, c) != 0)
            abort();
    }
    if (c->cap < n) {
        free(c->slots);
        c->slots = xmalloc(n * sizeof *c->slots);
        c->cap = n;
    }
    for (size_t i = 0; i < n; i++)
        slot_clear(&c->slots[i]);
    return c->slots;
}

static void slots_release(int events)
{
    struct slot_cache *c = pthread_getspecific(slot_key);
    if (c && events < SLOTS_KEEP_MIN) {
        free(c->slots);
        c->slots = NULL;
        c->cap = 0;
    }
}

/* The aggregate id of an event's stream, after checking the stream kind matches the type. */
static enum err stream_key(const PGresult *res, int row, bool *is_order, const char **id,
                           struct err_detail *why)
{
    const char *type = PQgetvalue(res, row, EV_COL_TYPE);
    const char *stream = PQgetvalue(res, row, EV_COL_STREAM);
    enum event_type t;
    if (!event_type_parse(type, &t))
        return err_set(why, ERR_BAD_EVENT, "event %s: unknown type \"%.64s\"",
                       PQgetvalue(res, row, EV_COL_POSITION), type);
    *is_order = event_type_is_order(t);
    const char *prefix = *is_order ? "order-" : "account-";
    size_t plen = strlen(prefix);
    if (strncmp(stream, prefix, plen) != 0 || !id_is_valid(stream + plen))
        return err_set(why, ERR_BAD_EVENT, "event %s: %s in stream \"%.72s\"",
                       PQgetvalue(res, row, EV_COL_POSITION), type, stream);
    *id = stream + plen;
    return ERR_OK;
}

enum err batch_index(struct batch *b, const PGresult *res, struct err_detail *why)
{
    int n = PQntuples(res);
    b->events = n;
    keymap_init(&b->orders, n);
    keymap_init(&b->accounts, n);
    keymap_init(&b->customers, n);
    keymap_init(&b->revenue, n);
    for (int i = 0; i < n; i++) {
        bool is_order;
        const char *id;
        enum err e = stream_key(res, i, &is_order, &id, why);
        if (e != ERR_OK)
            return e;
        keymap_put(is_order ? &b->orders : &b->accounts, id);
    }
    b->order = slots_get((size_t)b->orders.count + 1);
    b->account = xcalloc((size_t)b->accounts.count + 1, sizeof *b->account);
    b->customer = xcalloc((size_t)n + 1, sizeof *b->customer);
    b->rev = xcalloc((size_t)n + 1, sizeof *b->rev);
    for (int i = 0; i < n; i++) {
        bool is_order;
        const char *id;
        if (query_db_int(res, i, EV_COL_VERSION) != 1 ||
            stream_key(res, i, &is_order, &id, why) != ERR_OK)
            continue;
        if (is_order)
            b->order[keymap_put(&b->orders, id)].fresh = true;
        else
            b->account[keymap_put(&b->accounts, id)].fresh = true;
    }
    return ERR_OK;
}

/* ST_PII_KEYS's parameter (a JSON array, as reads.c sends it). */
static char *keys_json(const struct keymap *m)
{
    json_t *arr = json_array();
    for (int i = 0; i < m->count; i++)
        json_array_append_new(arr, json_string(m->keys[i]));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* The keys of the batch's accounts, in one statement: rm_accounts stores owners opened, so the
 * plain text is there while the key lives and replaced by "[forgotten]" when it goes. */
static enum err load_keys(struct batch *b)
{
    if (b->accounts.count == 0)
        return ERR_OK;
    char *ids = keys_json(&b->accounts);
    const char *params[] = {ids};
    PGresult *res;
    bool ok = db_write(b->c, ST_PII_KEYS, params, &res, NULL) == ERR_OK;
    free(ids);
    struct personal_keys keys = {0};
    if (ok)
        personal_keys_load(&keys, res);
    PQclear(res);
    for (int i = 0; i < keys.n; i++) {
        struct account_slot *slot = &b->account[keymap_put(&b->accounts, keys.ids[i])];
        memcpy(slot->key, keys.keys[i], PII_KEY_BYTES);
        slot->has_key = true;
    }
    personal_keys_free(&keys);
    return ok ? ERR_OK : ERR_DB_DOWN;
}

/* One stored row (id, keyset position, document) into its slot: the state the document was
 * rendered from. */
static enum err load_row(struct batch *b, bool order, const PGresult *res, int i,
                         struct err_detail *why)
{
    struct keymap *m = order ? &b->orders : &b->accounts;
    int k = keymap_put(m, PQgetvalue(res, i, 0));
    const char *doc = PQgetvalue(res, i, 2);
    if (order) {
        b->order[k].placed_position = query_db_int(res, i, 1);
        b->order[k].stored = true;
        return order_view_decode(doc, &b->order[k].s, why);
    }
    b->account[k].opened_position = query_db_int(res, i, 1);
    b->account[k].stored = true;
    return account_view_decode(doc, &b->account[k].s, why);
}

/* Loads the stored rows of the batch's orders and accounts: one statement per table. */
static enum err load_states(struct batch *b, struct err_detail *why)
{
    for (int kind = 0; kind < 2; kind++) {
        struct keymap *m = kind == 0 ? &b->orders : &b->accounts;
        if (m->count == 0)
            continue;
        enum query_stmt st = kind == 0 ? ST_PROJ_ORDERS_LOAD : ST_PROJ_ACCOUNTS_LOAD;
        struct param_array ids;
        param_array_init(&ids);
        for (int i = 0; i < m->count; i++)
            if (!(kind == 0 ? b->order[i].fresh : b->account[i].fresh))
                param_array_text(&ids, m->keys[i]);
        const char *params[] = {param_array_done(&ids)};
        PGresult *res = NULL;
        enum err rc =
            ids.n == 0 || db_write(b->c, st, params, &res, NULL) == ERR_OK ? ERR_OK : ERR_DB_DOWN;
        param_array_free(&ids);
        for (int i = 0; rc == ERR_OK && res && i < PQntuples(res); i++)
            rc = load_row(b, kind == 0, res, i, why);
        PQclear(res);
        if (rc != ERR_OK)
            return rc;
    }
    return load_keys(b);
}

static bool order_is_open(enum order_status s)
{
    return s == ORDER_PLACED || s == ORDER_PAID;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static struct revenue_delta *revenue_at(struct batch *b, int64_t ms, const char *currency)
{
    char key[KEY_MAX];
    int64_t day = floor_div(ms, DAY_MS);
    snprintf(key, sizeof key, "%" PRId64 "|%s", day, currency);
    int k = keymap_put(&b->revenue, key);
    b->rev[k].day = day;
    snprintf(b->rev[k].currency, sizeof b->rev[k].currency, "%s", currency);
    return &b->rev[k];
}

/* Customer and revenue deltas follow from the state change, so they agree with evolve. */
static void order_deltas(struct batch *b, const struct order_state *before,
                         const struct order_state *after, const struct event *e)
{
    if (after->customer_id[0] != '\0') {
        int known = b->customers.count;
        struct customer_delta *d = &b->customer[keymap_put(&b->customers, after->customer_id)];
        if (b->customers.count > known)
            d->last_ms = NO_TIME_MS;
        if (before->status == ORDER_NONE && after->status != ORDER_NONE) {
            d->orders++;
            if (after->placed_at_ms > d->last_ms)
                d->last_ms = after->placed_at_ms;
        }
        d->open += (int64_t)order_is_open(after->status) - (int64_t)order_is_open(before->status);
        d->spend += (after->paid_cents - after->refunded_cents) -
                    (before->paid_cents - before->refunded_cents);
    }
    if (after->paid_cents > before->paid_cents) {
        struct revenue_delta *r = revenue_at(b, e->recorded_at_ms, after->currency);
        r->paid++;
        r->revenue += after->paid_cents - before->paid_cents;
    }
    if (after->refunded_cents > before->refunded_cents)
        revenue_at(b, e->recorded_at_ms, after->currency)->refunds +=
            after->refunded_cents - before->refunded_cents;
}

static void fold_order(struct batch *b, const char *id, const struct event *e)
{
    struct order_slot *slot = &b->order[keymap_put(&b->orders, id)];
    struct order_state before;
    before.status = slot->s.status;
    before.paid_cents = slot->s.paid_cents;
    before.refunded_cents = slot->s.refunded_cents;
    order_evolve(&slot->s, e);
    if (slot->placed_position == 0 && slot->s.status != ORDER_NONE)
        slot->placed_position = e->position;
    slot->touched = true;
    order_deltas(b, &before, &slot->s, e);
}

static void fold_account(struct batch *b, const char *id, const struct event *e)
{
    struct account_slot *slot = &b->account[keymap_put(&b->accounts, id)];
    account_evolve(&slot->s, e);
    if (e->type == EV_ACCOUNT_OPENED)
        pii_reveal_in_place(slot->s.owner, sizeof slot->s.owner, slot->has_key ? slot->key : NULL);
    if (slot->opened_position == 0 && slot->s.status != ACCOUNT_NONE)
        slot->opened_position = e->position;
    slot->touched = true;
}

enum err batch_fold(struct batch *b, const PGresult *res, struct err_detail *why)
{
    struct event *e = xmalloc(sizeof *e);
    enum err rc = ERR_OK;
    for (int i = 0; i < PQntuples(res) && rc == ERR_OK; i++) {
        bool is_order;
        const char *id;
        rc = stream_key(res, i, &is_order, &id, why);
        if (rc == ERR_OK)
            rc = event_row_decode(res, i, e, why);
        if (rc != ERR_OK)
            break;
        if (is_order)
            fold_order(b, id, e);
        else
            fold_account(b, id, e);
    }
    free(e);
    return rc;
}

/* One row of ST_PROJ_ORDERS_* or ST_PROJ_ACCOUNTS_*: the document and the indexed columns,
 * all from the state it renders; the row id is the stream's. doc is the batch's one buffer. */
static void order_row(struct batch_columns *t, const char *id, const struct order_slot *o,
                      struct render_buf *doc)
{
    render_reset(doc);
    order_view_render(doc, &o->s);
    batch_column_text(t, 0, id);
    batch_column_text(t, 1, o->s.customer_id);
    batch_column_text(t, 2, order_status_name(o->s.status));
    batch_column_int(t, 3, o->s.version);
    batch_column_int(t, 4, o->placed_position);
    batch_column_text(t, 5, doc->text);
    batch_row_end(t);
}

static void account_row(struct batch_columns *t, const char *id, const struct account_slot *a,
                        struct render_buf *doc)
{
    render_reset(doc);
    account_view_render(doc, &a->s);
    batch_column_text(t, 0, id);
    batch_column_text(t, 1, a->s.owner);
    batch_column_int(t, 2, a->s.version);
    batch_column_int(t, 3, a->opened_position);
    batch_column_text(t, 4, doc->text);
    batch_row_end(t);
}

static bool slot_touched(const struct batch *b, bool orders, int i)
{
    return orders ? b->order[i].touched : b->account[i].touched;
}

static bool slot_stored(const struct batch *b, bool orders, int i)
{
    return orders ? b->order[i].stored : b->account[i].stored;
}

/* Events of a stream whose creating event never came cannot make a row. */
static bool slot_created(const struct batch *b, bool orders, int i)
{
    return (orders ? b->order[i].placed_position : b->account[i].opened_position) != 0;
}

/* The rows batch_rows inserts. */
static int new_rows(const struct batch *b, bool orders)
{
    int n = 0;
    for (int i = 0; i < (orders ? b->orders.count : b->accounts.count); i++)
        n += slot_touched(b, orders, i) && slot_created(b, orders, i) && !slot_stored(b, orders, i);
    return n;
}

void batch_rows(const struct batch *b, bool orders, struct batch_columns *ins,
                struct batch_columns *upd)
{
    const struct keymap *m = orders ? &b->orders : &b->accounts;
    struct render_buf doc = {0};
    const char *copy_sql = orders ? SQL_ORDERS_COPY : SQL_ACCOUNTS_COPY;
    batch_columns_init(ins, orders ? 6 : 5,
                       new_rows(b, orders) >= BATCH_COPY_MIN_ROWS ? copy_sql : NULL);
    batch_columns_init(upd, orders ? 6 : 5, NULL);
    for (int i = 0; i < m->count; i++) {
        if (!slot_touched(b, orders, i))
            continue;
        if (!slot_created(b, orders, i)) {
            log_msg(LOG_WARN, "projector: events for %s %s, which was never created",
                    orders ? "order" : "account", m->keys[i]);
            continue;
        }
        struct batch_columns *t = slot_stored(b, orders, i) ? upd : ins;
        if (orders)
            order_row(t, m->keys[i], &b->order[i], &doc);
        else
            account_row(t, m->keys[i], &b->account[i], &doc);
    }
    render_free(&doc);
}

/* Writes the touched rows of one kind: one INSERT (or COPY) for the new, one UPDATE for the
 * stored. */
static bool save_rows(const struct batch *b, bool orders)
{
    struct batch_columns ins, upd;
    batch_rows(b, orders, &ins, &upd);
    if (!batch_columns_run(b->c, orders ? ST_PROJ_ORDERS_INSERT : ST_PROJ_ACCOUNTS_INSERT, &ins)) {
        batch_columns_free(&upd);
        return false;
    }
    return batch_columns_run(b->c, orders ? ST_PROJ_ORDERS_UPDATE : ST_PROJ_ACCOUNTS_UPDATE, &upd);
}

void batch_deltas(const struct batch *b, bool customers, struct batch_columns *out)
{
    const struct keymap *m = customers ? &b->customers : &b->revenue;
    struct batch_columns t;
    batch_columns_init(&t, 5, NULL);
    for (int i = 0; i < m->count; i++) {
        if (customers) {
            const struct customer_delta *d = &b->customer[i];
            param_array_text(&t.col[0], m->keys[i]);
            param_array_int(&t.col[1], d->orders);
            param_array_int(&t.col[2], d->open);
            param_array_int(&t.col[3], d->spend);
            if (d->last_ms == NO_TIME_MS)
                param_array_null(&t.col[4]);
            else
                param_array_int(&t.col[4], d->last_ms);
        } else {
            const struct revenue_delta *r = &b->rev[i];
            param_array_int(&t.col[0], r->day);
            param_array_text(&t.col[1], r->currency);
            param_array_int(&t.col[2], r->paid);
            param_array_int(&t.col[3], r->revenue);
            param_array_int(&t.col[4], r->refunds);
        }
    }
    *out = t;
}

static bool save_deltas(const struct batch *b, bool customers)
{
    struct batch_columns t;
    batch_deltas(b, customers, &t);
    return batch_columns_run(b->c, customers ? ST_PROJ_CUSTOMERS_ADD : ST_PROJ_REVENUE_ADD, &t);
}

static enum err move_checkpoint(struct db_conn *c, int64_t from, int64_t to)
{
    char f[24], t[24];
    snprintf(f, sizeof f, "%" PRId64, from);
    snprintf(t, sizeof t, "%" PRId64, to);
    const char *params[] = {f, t};
    PGresult *res;
    if (db_write(c, ST_PROJ_CHECKPOINT, params, &res, NULL) != ERR_OK)
        return ERR_DB_DOWN;
    enum err rc = strcmp(PQcmdTuples(res), "1") == 0 ? ERR_OK : ERR_CONFLICT;
    PQclear(res);
    if (rc != ERR_OK)
        return rc;
    const char *note[] = {t};
    return db_write(c, ST_PROJ_NOTIFY, note, NULL, NULL) == ERR_OK ? ERR_OK : ERR_DB_DOWN;
}

static THREAD_LOCAL batch_hook before_checkpoint;

void batch_before_checkpoint(batch_hook hook)
{
    before_checkpoint = hook;
}

static enum err write_all(struct batch *b, int64_t from, int64_t to)
{
    /* rm_orders, rm_accounts, then the deltas: the order rebuild's swap locks them in. */
    if (!save_rows(b, true) || !save_rows(b, false) || !save_deltas(b, true) ||
        !save_deltas(b, false))
        return ERR_DB_DOWN;
    enum err rc = before_checkpoint ? before_checkpoint(b->c, from, to) : ERR_OK;
    return rc == ERR_OK ? move_checkpoint(b->c, from, to) : rc;
}

void batch_free(struct batch *b)
{
    keymap_free(&b->orders);
    keymap_free(&b->accounts);
    keymap_free(&b->customers);
    keymap_free(&b->revenue);
    if (b->order)
        slots_release(b->events);
    if (b->account)
        pii_wipe(b->account, ((size_t)b->accounts.count + 1) * sizeof *b->account);
    free(b->account);
    free(b->customer);
    free(b->rev);
}

enum err batch_apply_rows(struct batch *b, const PGresult *events, struct err_detail *why)
{
    enum err rc = batch_index(b, events, why);
    if (rc == ERR_OK)
        rc = load_states(b, why);
    if (rc == ERR_OK)
        rc = batch_fold(b, events, why);
    if (rc == ERR_OK && (!save_rows(b, true) || !save_rows(b, false)))
        rc = ERR_DB_DOWN;
    return rc;
}

bool batch_save_deltas(const struct batch *b)
{
    return save_deltas(b, true) && save_deltas(b, false);
}

/* The batch's work without BEGIN/COMMIT: the caller owns the transaction. */
static enum err apply_in(struct batch *b, const PGresult *events, int64_t from, int64_t to,
                         struct err_detail *why)
{
    enum err rc = load_states(b, why);
    if (rc == ERR_OK)
        rc = batch_fold(b, events, why);
    if (rc == ERR_OK)
        rc = write_all(b, from, to);
    return rc;
}

enum err batch_apply_txn(struct db_conn *c, const PGresult *events, int64_t from, int64_t to,
                         enum batch_txn txn, struct err_detail *why)
{
    struct batch b = {.c = c};
    enum err rc = batch_index(&b, events, why);
    if (rc != ERR_OK)
        goto out;
    if (txn == BATCH_IN_CALLER_TXN) {
        rc = apply_in(&b, events, from, to, why);
        goto out;
    }
    if (db_sql(c, "BEGIN", 0, NULL, NULL) != ERR_OK) {
        rc = ERR_DB_DOWN;
        goto out;
    }
    rc = apply_in(&b, events, from, to, why);
    if (rc == ERR_OK && db_sql(c, "COMMIT", 0, NULL, NULL) != ERR_OK)
        rc = ERR_DB_DOWN;
    if (rc != ERR_OK && db_connected(c) && db_sql(c, "ROLLBACK", 0, NULL, NULL) != ERR_OK)
        log_msg(LOG_WARN, "projector: ROLLBACK failed");
out:
    batch_free(&b);
    return rc;
}

enum err batch_apply(struct db_conn *c, const PGresult *events, int64_t from, int64_t to,
                     struct err_detail *why)
{
    return batch_apply_txn(c, events, from, to, BATCH_OWN_TXN, why);
}
