/* The command pipeline: decode -> validate -> load -> decide -> append -> respond, with
 * Idempotency-Key, If-Match and bounded retries when a concurrent writer wins a version. */
#include "commands.h"
#include "codec/codec.h"
#include "commands_internal.h"
#include "domain/batch.h"
#include "group_append.h"
#include "hot_batch.h"
#include "log.h"
#include "notifier.h"
#include "numparse.h"
#include "pii.h"
#include "respond.h"
#include "store/store.h"
#include "stream_cache.h"
#include "stream_queue.h"
#include "uuid.h"
#include "world_store.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPEND_ATTEMPTS 16 /* reload-and-decide rounds before answering 409 */
#define BACKOFF_CAP_US  20000
#define TURN_LATE       "earlier commands on this stream did not finish within DB_POOL_WAIT_MS"

/* Every request's statements run on a connection borrowed from this pool (store/db.h). */
static struct db_config pool_config;
static struct db_pool *pool;
static int turn_wait_ms; /* DB_POOL_WAIT_MS bounds the wait for a stream's turn too */

/* Why a command was decided again: its stream existed after all (a creating command skips the
 * first load), or another writer (another replica: this one queues per stream) took the
 * version it meant to append. */
static atomic_ullong retries_stream_exists, retries_concurrent_writer;

void commands_init(const char *conninfo, const char *options, const struct db_settings *s)
{
    store_db_config(&pool_config, conninfo, "orderly-command", options);
    char err[128];
    int commit_timeout_ms;
    if (!db_commit_timeout_load(&commit_timeout_ms, err, sizeof err)) {
        fprintf(stderr, "command-service: %s\n", err);
        exit(2); /* a bad setting, as main's EXIT_CONFIG */
    }
    if (!group_append_init(err, sizeof err)) {
        fprintf(stderr, "command-service: %s\n", err);
        exit(2);
    }
    db_bound_writes(commit_timeout_ms);
    pool = db_pool_new(&pool_config, s->pool_size, s->pool_wait_ms);
    turn_wait_ms = s->pool_wait_ms;
}

void commands_shutdown(void)
{
    db_pool_free(pool);
    pool = NULL;
}

void commands_metrics(void *buf)
{
    db_pool_metrics(pool, buf);
    stream_queue_metrics(buf);
    hot_batch_metrics(buf);
    group_append_metrics(buf);
    metrics_printf(buf,
                   "# HELP orderly_command_retries_total commands decided again, by cause\n"
                   "# TYPE orderly_command_retries_total counter\n"
                   "orderly_command_retries_total{cause=\"stream_exists\"} %llu\n"
                   "orderly_command_retries_total{cause=\"concurrent_writer\"} %llu\n"
                   "orderly_command_retries_total{cause=\"stale_state\"} %lu\n",
                   atomic_load(&retries_stream_exists), atomic_load(&retries_concurrent_writer),
                   stream_cache_stale_total());
}

void commands_handle_readyz(struct request *r)
{
    struct db_conn *c;
    struct err_detail why = {0};
    enum err e = db_pool_get(pool, &c, &why);
    if (e == ERR_OK) {
        e = store_ping(c);
        db_pool_put(pool, c);
    }
    if (e != ERR_OK) {
        http_add_header(r, "Retry-After", "1");
        problem_send(r, ERR_DB_DOWN, why.detail[0] ? &why : NULL);
        return;
    }
    http_respond_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

static void fill_generated_ids(struct command *c)
{
    char *id = NULL;
    if (c->type == CMD_PLACE_ORDER)
        id = c->as.place_order.order_id;
    else if (c->type == CMD_OPEN_ACCOUNT)
        id = c->as.open_account.account_id;
    else if (c->type == CMD_TRANSFER_FUNDS)
        id = c->as.transfer_funds.transfer_id;
    if (id && !id[0]) {
        char uuid[UUID_STR_LEN];
        uuid_v4(uuid);
        snprintf(id, ID_MAX + 1, "%s", uuid);
    }
}

/* ATTEMPT_RELOAD: decided over kept states that a real load must confirm, nothing answered. */
enum attempt { ATTEMPT_DONE, ATTEMPT_RETRY, ATTEMPT_RELOAD };

/* The account key rows an append carries (docs/forgetting.md). key_hex is wiped after use. */
struct key_rows {
    char key_hex[PII_KEY_HEX_LEN];
    const char *key_account_id;
    const char *forget_account_id;
};

/* Seals every AccountOpened owner in d with a fresh key, so the plain text never reaches the
 * database, and names the account whose key a PersonalDataForgotten deletes. false: sealing
 * failed (libsodium unusable); nothing may be appended. */
static bool seal_personal_data(struct decision *d, struct key_rows *k)
{
    memset(k, 0, sizeof *k);
    for (int i = 0; i < d->count; i++) {
        struct event *e = &d->events[i];
        if (e->type == EV_PERSONAL_DATA_FORGOTTEN)
            k->forget_account_id = e->data.personal_data_forgotten.account_id;
        if (e->type != EV_ACCOUNT_OPENED)
            continue;
        struct ev_account_opened *o = &e->data.account_opened;
        unsigned char key[PII_KEY_BYTES];
        char sealed[sizeof o->owner];
        pii_key_new(key);
        bool ok = pii_seal(key, o->owner, sealed, sizeof sealed);
        pii_key_to_hex(key, k->key_hex);
        pii_wipe(key, sizeof key);
        if (!ok)
            return false;
        memcpy(o->owner, sealed, sizeof o->owner);
        k->key_account_id = o->account_id;
    }
    return true;
}

static enum attempt append_decision(struct command_request *cr, const struct command *c,
                                    const struct decision *d, struct key_rows *keys, bool *appended)
{
    struct command_target t;
    commands_target_of(c, &t);
    int64_t version;
    char etag[COMMANDS_ETAG_MAX];
    commands_etag(d, t.stream_id, &version, etag);
    char *metadata = commands_metadata_json(cr);
    struct append_request a = {d,
                               metadata,
                               t.stream_id,
                               t.id,
                               version,
                               t.status,
                               t.location[0] ? t.location : NULL,
                               etag,
                               cr->idem_key,
                               cr->request_text,
                               keys->key_account_id,
                               keys->key_account_id ? keys->key_hex : NULL,
                               keys->forget_account_id};
    char *body = NULL;
    size_t len = 0;
    bool key_taken = false;
    enum err rc = group_append(cr->db, &a, &body, &len, &key_taken);
    pii_wipe(keys->key_hex, sizeof keys->key_hex);
    free(metadata);
    *appended = rc == ERR_OK;
    if (rc == ERR_OK) {
        metrics_add_events(d->count);
        notifier_poke();
        respond_success(cr, t.status, a.location, etag, body, len);
    } else if (key_taken) {
        respond_replay_key(cr);
    } else if (rc == ERR_CONFLICT && cr->idem_key && respond_replay_if_stored(cr)) {
        /* our key's first request won the race: its answer is replayed */
    } else if (rc == ERR_CONFLICT && cr->if_match < 0) {
        return ATTEMPT_RETRY;
    } else if (rc == ERR_CONFLICT) {
        struct err_detail why = {0};
        respond_refusal(
            cr, err_set(&why, ERR_PRECONDITION, "%s was changed concurrently", t.stream_id), &why);
    } else {
        respond_transient(cr, rc, NULL);
    }
    return ATTEMPT_DONE;
}

/* A command that creates its stream first decides over an empty world without loading it:
 * the stream almost never exists, and if it does the append's unique (stream_id,
 * stream_version) refuses version 1, and the retry loads and decides for real ("already
 * exists"). That saves PlaceOrder and OpenAccount a round trip. */
static bool skip_first_load(const struct command_request *cr, const struct command *c)
{
    return (c->type == CMD_PLACE_ORDER || c->type == CMD_OPEN_ACCOUNT) && cr->if_match <= 0;
}

/* Commands whose streams are known before any load may, like a hot stream's batch, start
 * from the states their streams' last commands here left, and keep the states they leave
 * (stream_cache.h); PlaceOrder only leaves one. CancelOrder learns its refund account from the
 * order; OpenAccount and forgetting write account keys. */
static bool may_keep(const struct command_request *cr, const struct command *c)
{
    return (c->type == CMD_TRANSFER_FUNDS || c->type == CMD_PAY_ORDER ||
            c->type == CMD_PLACE_ORDER) &&
           cr->if_match < 0;
}

/* c's streams' kept states into w and lw; false when any is not kept. */
static bool kept_world(const struct command *c, struct world *w, struct loaded_world *lw)
{
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    int n = command_streams(c, NULL, ids);
    return stream_cache_get((const char(*)[STREAM_ID_MAX + 1]) ids, n, w, lw);
}

/* After an append: a due snapshot (real loads only: a kept state does not know its events'
 * recorded_at), then the states after d kept for the next command, or, for a command that
 * keeps none, the states kept of the streams it wrote (a CancelOrder's refund account
 * included) dropped: a stale one would cost the next command an append that writes nothing. */
static void after_append(struct command_request *cr, const struct command *c, struct world *w,
                         const struct loaded_world *lw, const struct decision *d, bool kept)
{
    if (!kept)
        world_store_after_append(cr->db, w, lw);
    if (!may_keep(cr, c)) {
        for (int i = 0; i < lw->n; i++)
            stream_cache_forget(lw->ids[i]);
        return;
    }
    batch_fold(w, (const char(*)[STREAM_ID_MAX + 1]) lw->ids, lw->n, d);
    stream_cache_put(w, lw, !kept);
}

static enum attempt attempt_once(struct command_request *cr, const struct command *c, int attempt,
                                 bool use_kept)
{
    struct world *w = xcalloc(1, sizeof *w);
    struct decision *d = xcalloc(1, sizeof *d);
    struct loaded_world lw = {0};
    struct err_detail why = {0};
    enum attempt next = ATTEMPT_DONE;
    bool appended = false;
    bool from_nothing = attempt == 0 && skip_first_load(cr, c);
    bool kept = use_kept && !from_nothing && may_keep(cr, c) && kept_world(c, w, &lw);
    if (from_nothing) /* the streams an empty world holds, for after_append */
        lw.n = command_streams(c, NULL, lw.ids);
    enum err rc = kept || from_nothing ? ERR_OK : world_store_load(cr->db, c, w, &lw, &why);
    if (rc != ERR_OK) {
        respond_transient(cr, rc, rc == ERR_BAD_EVENT ? why.detail : NULL);
        goto out;
    }
    rc = batch_decide(c, cr->if_match, w, d, &why);
    struct key_rows keys;
    if (rc != ERR_OK && kept)
        next = ATTEMPT_RELOAD; /* a refusal is only ever decided over a real load */
    else if (rc != ERR_OK)
        respond_refusal(cr, rc, &why);
    else if (!seal_personal_data(d, &keys))
        respond_transient(cr, ERR_INTERNAL, "personal data could not be sealed");
    else
        next = append_decision(cr, c, d, &keys, &appended);
    if (kept && next == ATTEMPT_RETRY) { /* another writer moved a stream: nothing was written */
        stream_cache_stale((const char(*)[STREAM_ID_MAX + 1]) lw.ids, lw.n);
        next = ATTEMPT_RELOAD;
    }
    if (appended)
        after_append(cr, c, w, &lw, d, kept);
out:
    free(w);
    free(d);
    return next;
}

/* Jittered exponential backoff so writers on one hot stream stop colliding. */
static void back_off(int attempt)
{
    long cap_us = 100L << (attempt < 8 ? attempt : 8);
    cap_us = cap_us < BACKOFF_CAP_US ? cap_us : BACKOFF_CAP_US;
    struct timespec pause = {0, (random() % cap_us) * 1000L};
    nanosleep(&pause, NULL);
}

static void run_with_retries(struct command_request *cr, const struct command *c)
{
    for (int attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
        enum attempt o = attempt_once(cr, c, attempt, attempt == 0);
        if (o == ATTEMPT_RELOAD)
            o = attempt_once(cr, c, attempt, false);
        if (o == ATTEMPT_DONE)
            return;
        atomic_fetch_add(attempt == 0 && skip_first_load(cr, c) ? &retries_stream_exists
                                                                : &retries_concurrent_writer,
                         1);
        back_off(attempt);
    }
    respond_transient(cr, ERR_CONFLICT, "too many concurrent writers on this stream, retry");
}

/* A batch is decided again from a fresh load when another replica took a version, as a lone
 * command is; when a key turns out to be stored already, each runs alone, in order (nothing of
 * the batch was written). */
static void run_batch_with_retries(struct hot_batch *b)
{
    for (int attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
        enum hot_outcome o = hot_batch_attempt(b);
        if (o == HOT_DONE)
            return;
        if (o == HOT_ALONE) {
            for (int i = 0; i < b->n; i++)
                run_with_retries(b->m[i]->cr, b->m[i]->c);
            stream_cache_forget(b->m[0]->stream_id);
            return;
        }
        atomic_fetch_add(&retries_concurrent_writer, 1);
        back_off(attempt);
    }
    for (int i = 0; i < b->n; i++)
        respond_transient(b->m[i]->cr, ERR_CONFLICT,
                          "too many concurrent writers on this stream, retry");
}

/* The digits go through the one strict parser, so a version past int64 is refused instead of
 * being capped into a 412. */
bool commands_parse_if_match(const char *v, int64_t *out)
{
    if (strncmp(v, "W/", 2) == 0)
        v += 2;
    size_t n = strlen(v);
    bool quoted = n >= 2 && v[0] == '"' && v[n - 1] == '"';
    char digits[32];
    size_t len = n - 2 * quoted;
    if (len >= sizeof digits)
        return false;
    memcpy(digits, v + quoted, len);
    digits[len] = '\0';
    return numparse_int64(digits, 0, INT64_MAX, out);
}

bool commands_idem_key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > COMMANDS_IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    return true;
}

/* The request a key is bound to: method, path and the body with keys sorted. */
char *commands_request_text(const struct request *r)
{
    json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    char *canonical = body ? codec_canonical(body) : xstrdup("");
    json_decref(body);
    size_t n = strlen(r->method) + strlen(r->path) + strlen(canonical) + 3;
    char *text = xmalloc(n);
    snprintf(text, n, "%s %s\n%s", r->method, r->path, canonical);
    free(canonical);
    return text;
}

bool commands_read_headers(struct command_request *cr, const char *key, const char *if_match)
{
    struct err_detail why = {0};
    if (key && !commands_idem_key_valid(key))
        err_field(&why, "Idempotency-Key", "must be 1 to 255 visible ASCII characters");
    if (if_match && !commands_parse_if_match(if_match, &cr->if_match))
        err_field(&why, "If-Match", "must be a stream version such as \"3\"");
    if (why.field_count) {
        err_set(&why, ERR_VALIDATION, "invalid request headers");
        metrics_count_command(command_type_name(cr->type), "invalid");
        problem_send(cr->http, ERR_VALIDATION, &why);
        return false;
    }
    cr->idem_key = key;
    return true;
}

/* No key lookup up front: a first request would pay a round trip for nothing. A repeat is
 * caught where its answer would be stored (the append's or the refusal's insert of the key
 * conflicts) and replays the stored answer from there. The request holds one pooled connection
 * for all its statements; none free within the pool's wait is a 503 with nothing written. */
static void run_on_connection(struct command_request *cr, const struct command *c)
{
    struct err_detail why = {0};
    if (db_pool_get(pool, &cr->db, &why) != ERR_OK) {
        respond_transient(cr, ERR_DB_DOWN, why.detail);
        return;
    }
    run_with_retries(cr, c);
    db_pool_put(pool, cr->db);
}

/* Commands on one stream take turns in order of arrival, so within a process they never
 * collide; the turn is taken before a connection, which a queued command would only idle. A
 * CancelOrder's refund account is known only once its order is loaded: that stream still
 * meets concurrent writers with a retry. */
static void run_command(struct command_request *cr, struct command *c)
{
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    struct stream_turns turns;
    int n = command_streams(c, NULL, ids);
    if (!stream_queue_enter(&turns, (const char(*)[STREAM_ID_MAX + 1]) ids, n, turn_wait_ms)) {
        respond_transient(cr, ERR_DB_DOWN, TURN_LATE);
        return;
    }
    run_on_connection(cr, c);
    stream_queue_leave(&turns);
}

/* What the holder may add to its batch: the same stream, and no Idempotency-Key twice (the
 * second must replay the first's answer, which only exists once the first committed). */
static bool fits_batch(void *cls, void *joinable)
{
    struct hot_batch *b = cls;
    struct hot_member *m = joinable;
    if (b->n >= BATCH_MAX || strcmp(m->stream_id, b->m[0]->stream_id) != 0)
        return false;
    for (int i = 0; m->cr->idem_key && i < b->n; i++)
        if (b->m[i]->cr->idem_key && strcmp(b->m[i]->cr->idem_key, m->cr->idem_key) == 0)
            return false;
    b->m[b->n++] = m;
    return true;
}

/* The turn's holder and the commands it took from the stream's queue. */
struct holder {
    struct hot_batch batch;
    const struct stream_turns *turns;
    struct stream_taken taken;
};

/* hot_batch's take: whatever queued behind the holder by now joins, on its connection. */
static void take_waiting(struct hot_batch *b, void *cls)
{
    struct holder *h = cls;
    int from = b->n;
    stream_queue_take(h->turns, fits_batch, b, &h->taken, BATCH_MAX - 1);
    for (int i = from; i < b->n; i++)
        b->m[i]->cr->db = b->m[0]->cr->db;
}

/* The turn's holder decides the commands queued behind it with its own: those there when it
 * got its connection and those that queued during its load. It never waits for company. */
static void run_as_holder(struct hot_member *me, const struct stream_turns *turns)
{
    struct command_request *cr = me->cr;
    struct err_detail why = {0};
    if (db_pool_get(pool, &cr->db, &why) != ERR_OK) {
        respond_transient(cr, ERR_DB_DOWN, why.detail);
        return;
    }
    struct holder h = {.batch = {{me}, 1, take_waiting, &h}, .turns = turns};
    take_waiting(&h.batch, &h);
    run_batch_with_retries(&h.batch);
    hot_batch_observe(h.batch.n);
    for (int i = 1; i < h.batch.n; i++)
        h.batch.m[i]->cr->db = NULL;
    stream_queue_answered(turns, &h.taken);
    db_pool_put(pool, cr->db);
}

/* A command on one stream that a batch can carry waits for its turn offering itself to the
 * holder; it returns either answered by the holder or holding the turn itself. */
static void run_joinable(struct command_request *cr, struct command *c)
{
    struct hot_member *me = xmalloc(sizeof *me);
    me->cr = cr;
    me->c = c;
    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1];
    command_streams(c, NULL, ids);
    memcpy(me->stream_id, ids[0], sizeof me->stream_id);
    struct stream_turns turns;
    switch (stream_queue_enter_joinable(&turns, me->stream_id, turn_wait_ms, me)) {
    case STREAM_TURN_HELD:
        run_as_holder(me, &turns);
        stream_queue_leave(&turns);
        break;
    case STREAM_TURN_TIMEOUT:
        respond_transient(cr, ERR_DB_DOWN, TURN_LATE);
        break;
    case STREAM_TURN_ANSWERED:
        break;
    }
    free(me);
}

void command_handle(struct request *r, enum command_type type)
{
    struct command_request cr = {r, NULL, type, NULL, NULL, -1};
    struct err_detail why = {0};
    struct command *c = xcalloc(1, sizeof *c);
    const char *path_id = r->route && strstr(r->route->pattern, "{id}") ? http_param(r, 0) : NULL;
    if (path_id && !id_is_valid(path_id)) {
        err_set(&why, ERR_NOT_FOUND, "no aggregate has the id in this path");
        problem_send(r, ERR_NOT_FOUND, &why);
        goto out;
    }
    enum err rc = command_decode(type, path_id, r->body, r->body_len, c, &why);
    if (rc != ERR_OK) {
        metrics_count_command(command_type_name(type), "invalid");
        problem_send(r, rc, &why);
        goto out;
    }
    if (!commands_read_headers(&cr, http_header(r, "Idempotency-Key"), http_header(r, "If-Match")))
        goto out;
    fill_generated_ids(c);
    if (cr.idem_key)
        cr.request_text = commands_request_text(r);
    if (batch_joinable(c))
        run_joinable(&cr, c);
    else
        run_command(&cr, c);
out:
    free(cr.request_text);
    free(c);
}
