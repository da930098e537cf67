/* The event store: stream loads, appends with optimistic concurrency and the idempotency table,
 * each on a connection of store/db.h the caller holds. Results never escape. */
#ifndef ORDERLY_STORE_H
#define ORDERLY_STORE_H

#include "domain/domain.h"
#include "err.h"
#include "store/db.h"
#include <stdbool.h>
#include <stddef.h>

/* The write side's connection settings and statements; conninfo, app_name and options are
 * borrowed (they must outlive every connection made from cfg). */
void store_db_config(struct db_config *cfg, const char *conninfo, const char *app_name,
                     const char *options);

typedef void (*store_event_fn)(void *ctx, const struct event *e);

/* A snapshot met while loading; state_text (the stored JSON) lives only during the call. */
struct store_snapshot {
    const char *stream_id;
    int64_t version;
    int64_t last_recorded_ms; /* the latest recorded_at among events 1..version */
    const char *state_text;
};
typedef void (*store_snapshot_fn)(void *ctx, const struct store_snapshot *snap);

/* Calls fn for every event of the n streams, each stream in version order, in one statement;
 * a stream with a snapshot of snapshot_schema (0: use none) starts with snap_fn for it and
 * continues with only the events after its version. ERR_BAD_EVENT when a stored event cannot be
 * decoded. */
enum err store_load_snapshots(struct db_conn *c, const char ids[][STREAM_ID_MAX + 1], int n,
                              int snapshot_schema, store_event_fn fn, store_snapshot_fn snap_fn,
                              void *ctx, struct err_detail *why)
    __attribute__((warn_unused_result));

/* Saves state_json as stream_id's snapshot at version unless a newer one of the same schema is
 * there. Snapshots are a cache: callers log a failure and go on. */
enum err store_snapshot_save(struct db_conn *c, const char *stream_id, int64_t version,
                             int snapshot_schema, const char *state_json, int64_t last_recorded_ms)
    __attribute__((warn_unused_result));

/* A stored first answer for an Idempotency-Key. body is owned by the caller (free()). */
struct stored_response {
    bool same_request; /* the request hashes equal */
    int status;
    char location[256];
    char etag[32];
    char content_type[64];
    char *body;
    size_t body_len;
};

/* found is false when the key is unused. */
enum err store_idem_lookup(struct db_conn *c, const char *key, const char *request_text,
                           struct stored_response *out, bool *found)
    __attribute__((warn_unused_result));

struct append_request {
    const struct decision *decision;
    const char *metadata_json; /* the same metadata object for every event */
    const char *stream_id;     /* the command's target stream, echoed in the body */
    const char *id;            /* the aggregate or transfer id, echoed in the body */
    int64_t version;           /* the target stream's version after the append */
    int status;                /* the HTTP status the body is stored with */
    const char *location;      /* may be NULL */
    const char *etag;
    const char *idem_key; /* NULL without Idempotency-Key */
    const char *request_text;
    /* Personal data (docs/forgetting.md): the key an AccountOpened owner was sealed with, as
     * 64 hex digits, inserted for key_account_id; and the account whose key a
     * PersonalDataForgotten deletes. NULL when the decision has no such event. */
    const char *key_account_id;
    const char *key_hex;
    const char *forget_account_id;
};

/* STMT_APPEND's first parameter: the decision's events as one JSON array text, each with its
 * stream, version, type, current schema_version and data. The caller frees it. */
char *store_events_json(const struct decision *d);

/* Appends the decision's events and, with a key, the idempotency row, and inserts or deletes the
 * account key named in a, in one statement and one transaction. On ERR_OK *body_out (caller frees)
 * is the success body, rendered once by the database so a replay is byte for byte the same.
 * ERR_CONFLICT: another writer took one of the stream versions. *key_taken: another request stored
 * this key first (nothing was written). */
enum err store_append(struct db_conn *c, const struct append_request *a, char **body_out,
                      size_t *len_out, bool *key_taken) __attribute__((warn_unused_result));

/* Appends the events and idempotency rows of n commands (a[i] as for store_append, without
 * account keys) in one statement and one transaction, in order. On ERR_OK bodies[i] (caller
 * frees each) is command i's success body, byte for byte what store_append would have rendered
 * for it alone (n == 1 is store_append itself). Errors and *key_taken as for store_append, for
 * the batch as a whole: nothing was written. */
enum err store_append_batch(struct db_conn *c, const struct append_request *a, int n, char **bodies,
                            size_t *lens, bool *key_taken) __attribute__((warn_unused_result));

/* Stores a refusal (4xx problem body) under the key; *key_taken as for store_append. */
enum err store_idem_save(struct db_conn *c, const char *key, const char *request_text, int status,
                         const char *content_type, const char *body, bool *key_taken)
    __attribute__((warn_unused_result));

/* One round trip proving the database answers (for /readyz). */
enum err store_ping(struct db_conn *c) __attribute__((warn_unused_result));

/* Sends NOTIFY on the append channel (outside any append transaction). */
enum err store_notify(struct db_conn *c) __attribute__((warn_unused_result));
/* Deletes idempotency keys older than max_age_s; returns how many in *deleted. */
enum err store_expire_keys(struct db_conn *c, int max_age_s, long *deleted)
    __attribute__((warn_unused_result));

/* Applies every pending migrations/NNNN_*.sql in order under an advisory lock, recording each
 * in schema_migrations. Writes a one-line reason into err on failure. */
enum err migrate_run(const char *conninfo, const char *dir, char *err, size_t err_len);

#endif
