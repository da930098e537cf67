/* GETs by id (reads_document) share queries (issue 13). While fewer such queries of its kind are
 * in flight than GET_QUERIES_IN_FLIGHT (default 1), a GET runs its own ST_ORDER_GET /
 * ST_ACCOUNT_GET; the GETs that arrive meanwhile queue, and the next GET to find a free slot looks
 * up the whole queue with one `= ANY` query. So a lone GET never waits for company, and under load
 * one round trip and one executor start serve many: group commit's idea, applied to reads. One
 * query in flight made the largest batches: at 16 connections PostgreSQL's CPU per 1 000 GETs fell
 * from 62 to 28 ms and the service answered 39% more (bench/ab_get_order.py, bench/README.md); 2 or
 * the pool's 8 kept the batches small and gained nothing. */
#ifndef QUERY_READ_BATCH_H
#define QUERY_READ_BATCH_H

/* Lookups of one kind taken by one query, at most. */
#define READ_BATCH_MAX 64

/* Before serving: at most slots such queries in flight per kind; a GET queued queue_wait_ms
 * (DB_POOL_WAIT_MS) without being taken answers 503, as one that found no pool connection. */
void read_batch_init(int slots, int queue_wait_ms);
/* The histogram orderly_read_batch_size and the gauge orderly_read_batch_queued (metrics.h's
 * callback). */
void read_batch_metrics(void *buf);

#endif
