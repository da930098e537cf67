/* project_batch.c's (and batch_sums.c's) pure steps, for its unit suite: a batch's index of
 * streams, the fold with the domain's evolve functions, and the column arrays its statements take.
 * The database steps (loading stored rows and keys, writing, the checkpoint) stay in
 * project_batch.c. */
#ifndef QUERY_PROJECT_BATCH_INTERNAL_H
#define QUERY_PROJECT_BATCH_INTERNAL_H

#include "domain/domain.h"
#include "err.h"
#include "pii.h"
#include "statements.h"
#include "store/copy_text.h"
#include "store/db.h"
#include "store/param_array.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define KEY_MAX 80

/* String key -> dense index (0..count-1), open addressing; sized once for the batch. */
struct keymap {
    size_t cap; /* power of two */
    int *slots; /* index + 1; 0 = empty */
    char (*keys)[KEY_MAX];
    int count;
};

/* Sized for max_keys keys; keymap_put returns a key's index, adding it when absent (callers
 * size the map for every key). */
void keymap_init(struct keymap *m, int max_keys);
void keymap_free(struct keymap *m);
int keymap_put(struct keymap *m, const char *key);

/* A customer delta's last_ms before any order time was seen. */
#define NO_TIME_MS INT64_MIN

/* stored: the row exists (loaded), so it is updated rather than inserted. fresh: the stream's
 * first event is in the batch, so it has no row yet (a row is made from that event, and every
 * event is applied once) and is not looked up. */
struct order_slot {
    struct order_state s;
    int64_t placed_position;
    bool touched, stored, fresh;
};
struct account_slot {
    struct account_state s;
    int64_t opened_position;
    bool touched, stored, fresh;
    bool has_key;
    unsigned char key[PII_KEY_BYTES]; /* opens the sealed owner of its AccountOpened */
};
struct customer_delta {
    int64_t orders, open, spend, last_ms;
};
struct revenue_delta {
    int64_t day;
    char currency[4];
    int64_t paid, revenue, refunds;
};

struct batch {
    struct db_conn *c;
    struct keymap orders, accounts, customers, revenue;
    struct order_slot *order;
    struct account_slot *account;
    struct customer_delta *customer;
    struct revenue_delta *rev;
    int events;
};

/* A statement's columns, one array literal each (store/param_array.h), or, for the new rows of
 * a batch with at least BATCH_COPY_MIN_ROWS of them, the rows as COPY text (copy_sql set, col
 * unused). Below that, COPY's second round trip costs more than array_in saves. */
#define BATCH_COLS_MAX      6
#define BATCH_COPY_MIN_ROWS 64
struct batch_columns {
    struct param_array col[BATCH_COLS_MAX];
    int n;
    struct copy_text copy;
    const char *copy_sql; /* the COPY statement that takes copy; NULL: the columns are used */
};

/* Indexes the batch's streams (events: rows of SQL_EVENT_COLS) and sizes every table for them;
 * a stream whose version 1 is in the batch is fresh (no row to load). ERR_BAD_EVENT names an
 * event whose type is unknown or does not match its stream's kind. batch_free afterwards, also
 * on error. b is zero-initialised but for c. */
enum err batch_index(struct batch *b, const PGresult *events, struct err_detail *why)
    __attribute__((warn_unused_result));
/* Folds every event into its slot (after the stored rows were loaded) and collects the
 * customer and revenue deltas; ERR_BAD_EVENT names the event that does not decode. */
enum err batch_fold(struct batch *b, const PGresult *events, struct err_detail *why)
    __attribute__((warn_unused_result));
/* The touched rows of one kind (orders or accounts) as the columns of the INSERT (new rows, or
 * their COPY text when there are many) and the UPDATE (stored rows) statements; the caller frees
 * both with batch_columns_free. */
void batch_rows(const struct batch *b, bool orders, struct batch_columns *ins,
                struct batch_columns *upd);
/* The customer (customers true) or revenue deltas as their statement's columns. */
void batch_deltas(const struct batch *b, bool customers, struct batch_columns *out);
void batch_columns_free(struct batch_columns *t);
void batch_free(struct batch *b);

/* batch_columns.c: the columns of one statement, or (copy_sql set) the rows as COPY text for
 * copy_sql. The fillers take the column's index, which COPY text ignores (its fields come in
 * order); batch_row_end ends a row. */
void batch_columns_init(struct batch_columns *t, int n, const char *copy_sql);
void batch_column_text(struct batch_columns *t, int i, const char *s);
void batch_column_int(struct batch_columns *t, int i, int64_t v);
void batch_row_end(struct batch_columns *t);
/* Runs t's rows unless t has none (copy_sql with its COPY text, else st with its columns as
 * the parameters) and frees t. */
bool batch_columns_run(struct db_conn *c, enum query_stmt st, struct batch_columns *t)
    __attribute__((warn_unused_result));

/* For the rebuild's bulk fill (rebuild_fill.c), which moves no checkpoint per batch and sums
 * the deltas over many: index, load the stored rows of the streams not created in the batch,
 * fold, and write the rows (b's deltas are left to the caller). b is zero-initialised but for
 * c; batch_free afterwards, also on error. */
enum err batch_apply_rows(struct batch *b, const PGresult *events, struct err_detail *why)
    __attribute__((warn_unused_result));
/* Adds b's customer and revenue deltas to the tables (b: a batch, or sums built like one). */
bool batch_save_deltas(const struct batch *b) __attribute__((warn_unused_result));

/* Sums: customer and revenue deltas of many batches in a struct batch of their own, up to cap
 * keys of each kind (memory stays bounded; a full one is flushed, as deltas add up). */
void batch_sums_init(struct batch *s, struct db_conn *c, int cap);
/* Adds b's deltas to s, flushing s first when they might not fit. False: a flush failed. */
bool batch_sums_add(struct batch *s, const struct batch *b) __attribute__((warn_unused_result));
/* Writes s's deltas (batch_save_deltas) and empties s. */
bool batch_sums_flush(struct batch *s) __attribute__((warn_unused_result));

#endif
