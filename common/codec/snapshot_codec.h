/* Aggregate state <-> JSON for snapshots: every field of order_state and account_state, under a
 * versioned snapshot schema. A snapshot is a cache, so decoding is strict and never trusted. */
#ifndef ORDERLY_SNAPSHOT_CODEC_H
#define ORDERLY_SNAPSHOT_CODEC_H

#include "domain/domain.h"
#include "err.h"
#include <jansson.h>
#include <stdbool.h>

/* Bump whenever order_state or account_state (or their meaning) changes: snapshots written
 * under another schema are ignored and the stream is replayed in full. */
/* 2: account owner holds the sealed text (issue 8, forgetting); schema 1 held it in plain. */
#define SNAPSHOT_SCHEMA 2

/* New references holding every field of the state. */
json_t *snapshot_order_to_json(const struct order_state *s);
json_t *snapshot_account_to_json(const struct account_state *s);

/* Fill *out from j. ERR_BAD_EVENT with a detail when a field is missing, ill-typed, out of range,
 * or the status is not one a stored aggregate can have; *out is then unspecified. */
enum err snapshot_order_from_json(const json_t *j, struct order_state *out, struct err_detail *why)
    __attribute__((warn_unused_result));
enum err snapshot_account_from_json(const json_t *j, struct account_state *out,
                                    struct err_detail *why) __attribute__((warn_unused_result));

/* Decodes the state text of the snapshot of stream_id at version into *order (order streams)
 * or *account (account streams) and checks it belongs to that stream and version. false, with
 * the reason in why, for anything that should be ignored (also when the pointer for the
 * stream's kind is NULL). */
bool snapshot_decode(const char *stream_id, int64_t version, const char *state_text,
                     struct order_state *order, struct account_state *account,
                     struct err_detail *why);

#endif
