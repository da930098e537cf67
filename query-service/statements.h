/* Every SQL statement of the query service, projector and reads alike, in one table that
 * store/db.c prepares lazily on each connection (query_db.c hands it over). Call sites use the
 * enum, never SQL text. */
#ifndef QUERY_STATEMENTS_H
#define QUERY_STATEMENTS_H

/* Relative, so bench/tools/print_sql.c builds with -I query-service alone. */
#include "../common/store/event_sql.h"
#include "read_model.h"

/* Only the projector takes it; the session holding it is the leader. */
#define SQL_LEADER_KEY "4242000001"

/* A batch's columns as the projector sends them: one array literal per column
 * (store/param_array.h), read back by unnest(). Orders and accounts the batch found stored are
 * updated, the others inserted, each by one statement; the indexed columns come from the same
 * state the document was rendered from. Rejected: one jsonb array of records with the document
 * inside, read with jsonb_to_recordset and doc::jsonb, and an upsert for every row (the batch
 * knows which rows exist): parsing each document twice and sorting its keys, issue 13 measured,
 * was half of PostgreSQL's CPU per event replayed (bench/rebuild_replay.py). */
#define SQL_ORDER_ROW   "order_id, customer_id, status, version, placed_position, doc"
#define SQL_ACCOUNT_ROW "account_id, owner, version, opened_position, doc"
#define SQL_ORDER_COLS_IN                                                                          \
    "unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[]) "          \
    "AS r(" SQL_ORDER_ROW ")"
#define SQL_ACCOUNT_COLS_IN                                                                        \
    "unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) "                      \
    "AS r(" SQL_ACCOUNT_ROW ")"
/* A batch with many new rows copies them in instead (store/copy_text.h): the server reads COPY's
 * text straight into the table, several rows per heap insert, where array_in and unnest were 27%
 * of a rebuild's writer backend (perf). Two round trips instead of one, so only for many rows. */
#define SQL_ORDERS_COPY   "COPY rm_orders (" SQL_ORDER_ROW ") FROM STDIN"
#define SQL_ACCOUNTS_COPY "COPY rm_accounts (" SQL_ACCOUNT_ROW ") FROM STDIN"

/* A row of /v1/projections as far as the read model and the SQL views share it (h: the head). */
#define SQL_PROJECTION_COLS                                                                        \
    "name, position, " SQL_MS("updated_at") ", status, coalesce(error, ''), h.head, "

/* X(id, nparams, sql) */
#define STATEMENT_TABLE(X)                                                                         \
    X(ST_PING, 0, "SELECT 1")                                                                      \
    X(ST_SEQ_LAST, 0,                                                                              \
      "SELECT coalesce(pg_sequence_last_value('events_position_seq'::regclass), 0)")               \
    X(ST_SNAPSHOT, 0, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text")                      \
    X(ST_XID_SNAPSHOT, 0,                                                                          \
      "SELECT pg_current_xact_id()::text, pg_snapshot_xmin(pg_current_snapshot())::text")          \
    X(ST_TRY_LOCK, 0, "SELECT pg_try_advisory_lock(" SQL_LEADER_KEY ")")                           \
    X(ST_PROJ_LOAD, 0,                                                                             \
      "SELECT position, status, coalesce(error, '') FROM projections "                             \
      "WHERE name = '" READ_MODEL_NAME "'")                                                        \
    X(ST_PROJ_EVENTS, 3,                                                                           \
      "SELECT " SQL_EVENT_COLS " FROM events WHERE position > $1 AND position <= $2 "              \
      "ORDER BY position LIMIT $3")                                                                \
    /* The projector's batch: up to $3 events after the checkpoint $1 that are settled: at or      \
     * below the horizon $2, or above it up to $4 with every position from the horizon up to       \
     * theirs present (no gap a late commit could still fill; docs/projector.md). */               \
    X(ST_PROJ_EVENTS_SETTLED, 4,                                                                   \
      "SELECT " SQL_EVENT_COLS " FROM (SELECT *, row_number() OVER"                                \
      " (PARTITION BY position <= $2::bigint ORDER BY position) AS k FROM (SELECT * FROM events"   \
      " WHERE position > $1::bigint AND position <= $4::bigint ORDER BY position LIMIT $3) l)"     \
      " events WHERE position <= $2::bigint OR position - greatest($1::bigint, $2::bigint) = k"    \
      " ORDER BY position")                                                                        \
    X(ST_PROJ_ORDERS_LOAD, 1,                                                                      \
      "SELECT order_id, placed_position, doc FROM rm_orders "                                      \
      "WHERE order_id = ANY ($1::text[])")                                                         \
    X(ST_PROJ_ACCOUNTS_LOAD, 1,                                                                    \
      "SELECT account_id, opened_position, doc FROM rm_accounts "                                  \
      "WHERE account_id = ANY ($1::text[])")                                                       \
    /* Keys sealing the owners of a set of accounts (query-service/personal.h). */                 \
    X(ST_PII_KEYS, 1,                                                                              \
      "SELECT account_id, encode(key, 'hex') FROM account_keys "                                   \
      "WHERE account_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))")               \
    X(ST_PROJ_ORDERS_INSERT, 6,                                                                    \
      "INSERT INTO rm_orders (" SQL_ORDER_ROW ") SELECT * FROM " SQL_ORDER_COLS_IN)                \
    X(ST_PROJ_ORDERS_UPDATE, 6,                                                                    \
      "UPDATE rm_orders o SET customer_id = r.customer_id, status = r.status, "                    \
      "version = r.version, placed_position = r.placed_position, doc = r.doc "                     \
      "FROM " SQL_ORDER_COLS_IN " WHERE o.order_id = r.order_id")                                  \
    X(ST_PROJ_ACCOUNTS_INSERT, 5,                                                                  \
      "INSERT INTO rm_accounts (" SQL_ACCOUNT_ROW ") SELECT * FROM " SQL_ACCOUNT_COLS_IN)          \
    X(ST_PROJ_ACCOUNTS_UPDATE, 5,                                                                  \
      "UPDATE rm_accounts a SET owner = r.owner, version = r.version, "                            \
      "opened_position = r.opened_position, doc = r.doc "                                          \
      "FROM " SQL_ACCOUNT_COLS_IN " WHERE a.account_id = r.account_id")                            \
    X(ST_PROJ_CUSTOMERS_ADD, 5,                                                                    \
      "INSERT INTO rm_customers AS c (customer_id, order_count, open_order_count, "                \
      "lifetime_spend_cents, last_order_at) "                                                      \
      "SELECT r.customer_id, r.orders, r.open, r.spend, " SQL_TS(                                  \
          "r.last_ms") " FROM unnest("                                                             \
                       "$1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) "      \
                       "AS r(customer_id, orders, open, spend, last_ms) "                          \
                       "ON CONFLICT (customer_id) DO UPDATE SET "                                  \
                       "order_count = c.order_count + excluded.order_count, "                      \
                       "open_order_count = c.open_order_count + excluded.open_order_count, "       \
                       "lifetime_spend_cents = c.lifetime_spend_cents + "                          \
                       "excluded.lifetime_spend_cents, "                                           \
                       "last_order_at = greatest(c.last_order_at, excluded.last_order_at)")        \
    X(ST_PROJ_REVENUE_ADD, 5,                                                                      \
      "INSERT INTO rm_revenue_daily AS d (day, currency, orders_paid, revenue_cents, "             \
      "refunds_cents) "                                                                            \
      "SELECT date '1970-01-01' + r.day, r.currency, r.paid, r.revenue, r.refunds FROM unnest("    \
      "$1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) "                          \
      "AS r(day, currency, paid, revenue, refunds) "                                               \
      "ON CONFLICT (day, currency) DO UPDATE SET "                                                 \
      "orders_paid = d.orders_paid + excluded.orders_paid, "                                       \
      "revenue_cents = d.revenue_cents + excluded.revenue_cents, "                                 \
      "refunds_cents = d.refunds_cents + excluded.refunds_cents")                                  \
    X(ST_PROJ_CHECKPOINT, 2,                                                                       \
      "UPDATE projections SET position = $2, updated_at = now() "                                  \
      "WHERE name = '" READ_MODEL_NAME "' AND position = $1 AND status = 'running'")               \
    X(ST_PROJ_NOTIFY, 1, "SELECT pg_notify('orderly_projection', $1)")                             \
    X(ST_PROJ_FAIL, 1,                                                                             \
      "UPDATE projections SET status = 'failed', error = $1, updated_at = now() "                  \
      "WHERE name = '" READ_MODEL_NAME "'")                                                        \
    /* A new leader clears a failure; a missing row (a projection added by a later release, or     \
     * deleted by hand) is created at 0, so the projection builds itself from the start. */        \
    X(ST_PROJ_RUNNING, 0,                                                                          \
      "WITH created AS (INSERT INTO projections (name) VALUES ('" READ_MODEL_NAME "') "            \
      "ON CONFLICT (name) DO NOTHING) "                                                            \
      "UPDATE projections SET status = 'running', error = NULL, updated_at = now() "               \
      "WHERE name = '" READ_MODEL_NAME "' AND status <> 'running'")                                \
    X(ST_ORDER_GET, 1, "SELECT order_id, doc, version FROM rm_orders WHERE order_id = $1")         \
    X(ST_ORDERS_GET_MANY, 1,                                                                       \
      "SELECT order_id, doc, version FROM rm_orders WHERE order_id = ANY ($1::text[])")            \
    X(ST_ORDERS_ALL, 2,                                                                            \
      "SELECT doc, placed_position FROM rm_orders WHERE placed_position < $1 "                     \
      "ORDER BY placed_position DESC LIMIT $2")                                                    \
    X(ST_ORDERS_CUSTOMER, 3,                                                                       \
      "SELECT doc, placed_position FROM rm_orders WHERE placed_position < $1 "                     \
      "AND customer_id = $3 ORDER BY placed_position DESC LIMIT $2")                               \
    X(ST_ORDERS_STATUS, 3,                                                                         \
      "SELECT doc, placed_position FROM rm_orders WHERE placed_position < $1 "                     \
      "AND status = $3 ORDER BY placed_position DESC LIMIT $2")                                    \
    X(ST_ORDERS_CUSTOMER_STATUS, 4,                                                                \
      "SELECT doc, placed_position FROM rm_orders WHERE placed_position < $1 "                     \
      "AND customer_id = $3 AND status = $4 ORDER BY placed_position DESC LIMIT $2")               \
    X(ST_ACCOUNT_GET, 1, "SELECT account_id, doc, version FROM rm_accounts WHERE account_id = $1") \
    X(ST_ACCOUNTS_GET_MANY, 1,                                                                     \
      "SELECT account_id, doc, version FROM rm_accounts WHERE account_id = ANY ($1::text[])")      \
    X(ST_ACCOUNTS_ALL, 2,                                                                          \
      "SELECT doc, opened_position FROM rm_accounts WHERE opened_position < $1 "                   \
      "ORDER BY opened_position DESC LIMIT $2")                                                    \
    X(ST_ACCOUNTS_OWNER, 3,                                                                        \
      "SELECT doc, opened_position FROM rm_accounts WHERE opened_position < $1 "                   \
      "AND owner = $3 ORDER BY opened_position DESC LIMIT $2")                                     \
    X(ST_CUSTOMER_GET, 1,                                                                          \
      "SELECT doc FROM rm_customers WHERE customer_id = $1 AND order_count > 0")                   \
    X(ST_REVENUE, 2,                                                                               \
      "SELECT doc FROM rm_revenue_daily WHERE day BETWEEN $1::date AND $2::date "                  \
      "ORDER BY day, currency")                                                                    \
    X(ST_STREAM_EVENTS, 3,                                                                         \
      "SELECT " SQL_EVENT_COLS " FROM events WHERE stream_id = $1 AND stream_version >= $2 "       \
      "ORDER BY stream_version LIMIT $3")                                                          \
    X(ST_STREAM_EXISTS, 1, "SELECT 1 FROM events WHERE stream_id = $1 LIMIT 1")                    \
    /* A stream ($1) as of a bound ($2), from its newest snapshot of schema $3 (0: none) within    \
     * the bound, plus the bounded tail after it, not a full scan. */                              \
    X(ST_STREAM_AS_OF, 3,                                                                          \
      SQL_SNAPSHOT_TAIL("$1::text", "$3::int", "sn.last_recorded_at < " SQL_TS("$2::bigint + 1"),  \
                        "ev.recorded_at < " SQL_TS("$2::bigint + 1")))                             \
    X(ST_STREAM_TO_VERSION, 3,                                                                     \
      SQL_SNAPSHOT_TAIL("$1::text", "$3::int", "sn.version <= $2::bigint",                         \
                        "ev.stream_version <= $2::bigint"))                                        \
    X(ST_FEED, 3,                                                                                  \
      "SELECT " SQL_EVENT_COLS " FROM events WHERE position > $1 AND position <= $2 "              \
      "ORDER BY position LIMIT $3")                                                                \
    /* The built-in read model first, then every SQL view not retired (issue 17), one snapshot;    \
     * the views' version, generation and state are NULL for the read model. */                    \
    X(ST_PROJECTIONS, 0,                                                                           \
      "WITH h AS (SELECT coalesce(max(position), 0) AS head FROM events) "                         \
      "SELECT " SQL_PROJECTION_COLS "NULL, NULL::int, NULL, 0 FROM projections, h UNION ALL "      \
      "SELECT " SQL_PROJECTION_COLS "version, generation, state, 1 FROM orderly_views, h "         \
      "WHERE state <> 'retired' ORDER BY 10, 1, 8")                                                \
    /* SQL views (issue 17, views_runtime.c). Handlers run as orderly_query whatever role the      \
     * service connects as ($1: to the end of the transaction, else of the session); a role that   \
     * may not become it keeps its own. Then: inside the projector's batch transaction, before its \
     * checkpoint moves; the builder's catch-up steps; the catalog as metrics show it. */          \
    X(ST_VIEWS_QUERY_ROLE, 1,                                                                      \
      "SELECT set_config('role', 'orderly_query', $1::boolean) "                                   \
      "WHERE pg_has_role('orderly_query', 'MEMBER')")                                              \
    X(ST_VIEWS_APPLY_LIVE, 2, "SELECT orderly_views_apply_live($1::bigint, $2::bigint)")           \
    X(ST_VIEWS_BUILDING, 0,                                                                        \
      "SELECT schema_name, name FROM orderly_views WHERE state = 'building' "                      \
      "AND status = 'running' ORDER BY registered_at, schema_name")                                \
    X(ST_VIEW_BUILD_STEP, 2, "SELECT * FROM orderly_view_build_step($1::text, $2::int)")           \
    X(ST_VIEWS_STATE, 0,                                                                           \
      "SELECT name, generation, state, status, position FROM orderly_views "                       \
      "WHERE state <> 'retired' ORDER BY name, generation")                                        \
    X(ST_VERIFY_STREAM, 1, SQL_VERIFY_STREAM)                                                      \
    X(ST_VERIFY_ALL, 0, SQL_VERIFY_ALL)

/* The audit trail's hash chain (verify.c), recomputed from this copy of the encoding rather
 * than by calling the database's events_chain_hash(): a superuser who replaces that function
 * cannot also change what is verified. Must match migrations/0005_hash_chain.sql. */
#define SQL_CHAIN_HASH                                                                             \
    "sha256(coalesce(lag(hash) OVER w, '\\x" SQL_ZERO_HASH "'::bytea) || "                         \
    "convert_to(concat('[', to_json(stream_id), ', ', stream_version, ', ', to_json(type), ', ', " \
    "schema_version, ', ', data, ', ', metadata, ', ', "                                           \
    "(extract(epoch FROM recorded_at) * 1000000)::bigint, ']'), 'UTF8'))"
#define SQL_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* A link is broken when its hash is not that of its content and the stored previous hash, or
 * when a version is missing (a deleted event). */
#define SQL_CHAIN_CHECKS                                                                           \
    "SELECT stream_id, position, stream_version, stream_version <> row_number() OVER w "           \
    "OR hash IS DISTINCT FROM " SQL_CHAIN_HASH " AS broken FROM events "
#define SQL_CHAIN_FIRST_BROKEN                                                                     \
    "(array_agg(position ORDER BY stream_version) FILTER (WHERE broken))[1]"
/* One row: events checked (0 for an unknown stream) and the first broken position or NULL. */
#define SQL_VERIFY_STREAM                                                                          \
    "SELECT count(*), " SQL_CHAIN_FIRST_BROKEN " FROM (" SQL_CHAIN_CHECKS "WHERE stream_id = $1 "  \
    "WINDOW w AS (ORDER BY stream_version)) c"
/* One row per broken stream (stream_id, checked, first broken position), then one row with a
 * NULL stream_id carrying the totals (events checked, streams checked). */
#define SQL_VERIFY_ALL                                                                             \
    "WITH s AS (SELECT stream_id, count(*) AS checked, " SQL_CHAIN_FIRST_BROKEN " AS broken_at "   \
    "FROM (" SQL_CHAIN_CHECKS "WINDOW w AS (PARTITION BY stream_id ORDER BY stream_version)) c "   \
    "GROUP BY stream_id) "                                                                         \
    "SELECT stream_id, checked, broken_at FROM s WHERE broken_at IS NOT NULL "                     \
    "UNION ALL SELECT NULL, coalesce(sum(checked), 0)::bigint, count(*) FROM s"

enum query_stmt {
#define ST_ENUM(id, n, sql) id,
    STATEMENT_TABLE(ST_ENUM)
#undef ST_ENUM
        ST__COUNT
};

#endif
