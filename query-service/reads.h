/* Read queries for the HTTP handlers over the query pool's connections (store/db.h); each
 * answer comes back as the contract's JSON, so handlers never see libpq. */
#ifndef QUERY_READS_H
#define QUERY_READS_H

#include "err.h"
#include "store/db.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates the pool every read borrows from; database_url must outlive reads_close_all. */
void reads_init(const char *database_url, const struct db_settings *s);
/* Closes the pool's connections; call after the server stopped. */
void reads_close_all(void);
/* The pool, for other readers of the service (verify). */
struct db_pool *reads_pool(void);
/* metrics_set_extra piece: the pool's orderly_db_pool_* series. */
void reads_metrics(void *buf);

/* Every function below returns ERR_OK and a new reference in *out, ERR_NOT_FOUND,
 * ERR_DB_DOWN when the database cannot be reached (or no pooled connection came free, or a
 * lock or deadlock outlasted the retry), ERR_BAD_PARAM for a value the database refuses, or
 * ERR_INTERNAL / ERR_BAD_EVENT. */
enum err reads_ping(void);

/* The current view of an order or account: its stored document (*doc, *len bytes, NUL-ended;
 * free() it) and version, from one indexed lookup, shared with the GETs queued beside it
 * (read_batch.c). ERR_NOT_FOUND when there is no row. */
enum err reads_document(bool order, const char *id, char **doc, size_t *len, int64_t *version);
/* The view rebuilt from the stream: events recorded at or before bound (epoch ms, when
 * by_version is false) or with stream_version <= bound. */
enum err reads_aggregate_at(bool order, const char *id, bool by_version, int64_t bound,
                            json_t **out);

/* The JSON array text of the documents newest first with keyset < before (*items, *len bytes;
 * free() it); *next is the position to continue below (0 on the last page). filter2 is the
 * order status (orders only); filters may be NULL. */
enum err reads_list(bool order, const char *filter1, const char *filter2, int64_t before, int limit,
                    char **items, size_t *len, int64_t *next);

/* A customer's summary: its stored document (*doc, *len bytes, NUL-ended; free() it), rendered
 * by the database from the row's sums (migrations/0014). ERR_NOT_FOUND without orders. */
enum err reads_customer(const char *id, char **doc, size_t *len);
/* {"days":[...]} of the days' stored documents (*body, *len bytes; free() it), migrations/0014;
 * from and to are validated YYYY-MM-DD dates. */
enum err reads_revenue(const char *from, const char *to, char **body, size_t *len);
enum err reads_stream(const char *stream_id, int64_t from_version, int limit, json_t **out);
/* {events:[...], next_after_position} for positions in (after, upto]. */
enum err reads_feed(int64_t after, int64_t upto, int limit, json_t **out);
enum err reads_projections(json_t **out);
/* The database reads are served from: {server, role: primary|standby, replay_lag_ms}. */
enum err reads_database(json_t **out) __attribute__((warn_unused_result));

#endif
