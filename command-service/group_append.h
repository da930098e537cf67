/* Group append (issue 15): commands on different streams that reach their append together
 * share one statement and one transaction, so one WAL flush and one round trip carry them all.
 * Opt-in (APPEND_GROUPS, default 0: PostgreSQL's own group commit measured faster on the bench
 * machine, bench/README.md). While fewer than APPEND_GROUPS appends are in flight a command
 * appends at once, alone; only a command that finds them all busy waits, and the next free one
 * takes every command waiting by then. At low load nobody waits for company. */
#ifndef ORDERLY_GROUP_APPEND_H
#define ORDERLY_GROUP_APPEND_H

#include "store/store.h"

/* Reads APPEND_GROUPS (0: every command appends alone, as store_append). false with err set
 * for a bad value. */
bool group_append_init(char *err, size_t err_len);

/* store_append for a request without account keys, with the same results for this request as
 * if it had run alone: its own body, *key_taken, ERR_CONFLICT. A group that the database
 * refuses as a whole (a unique violation: nothing was written) falls back to each member's own
 * store_append, so one member's conflict never fails its company. c is the caller's connection;
 * a group runs on the connection of whichever member leads it. */
enum err group_append(struct db_conn *c, const struct append_request *a, char **body_out,
                      size_t *len_out, bool *key_taken) __attribute__((warn_unused_result));

/* store_append_batch for a hot stream's batch (hot_batch.h): the batch joins a group whole,
 * and is refused, retried alone or answered as a whole, exactly as its own statement. */
enum err group_append_batch(struct db_conn *c, const struct append_request *a, int n, char **bodies,
                            size_t *lens, bool *key_taken) __attribute__((warn_unused_result));

/* orderly_command_append_group_size (a histogram: commands per append statement; empty with
 * APPEND_GROUPS=0) and
 * orderly_command_append_waiting (commands waiting for a group now), in Prometheus text
 * (metrics_fn's buffer). */
void group_append_metrics(void *buf);

#endif
