/* How a command's outcome becomes an HTTP answer: successes, refusals and idempotent replays,
 * stored under the Idempotency-Key where the contract says so. */
#ifndef ORDERLY_RESPOND_H
#define ORDERLY_RESPOND_H

#include "domain/domain.h"
#include "http/http.h"
#include "store/store.h"

/* What one command request carries besides its command. */
struct command_request {
    struct request *http;
    struct db_conn *db; /* borrowed from the pool for the whole request */
    enum command_type type;
    const char *idem_key; /* NULL without Idempotency-Key */
    char *request_text;   /* method, path and canonical body: what a key is bound to */
    int64_t if_match;     /* -1 without If-Match */
};

/* Answers with a stored response, marked Idempotent-Replayed, or 422 when the key was used for
 * another request. Takes ownership of stored->body. */
void respond_replay(struct command_request *cr, struct stored_response *stored);

/* Looks the key up again after another request stored it first, and replays that answer. */
void respond_replay_key(struct command_request *cr);

/* After a lost race on a stream: if this key's first request already stored its answer,
 * replays it and returns true (one lookup); otherwise answers nothing and returns false. */
bool respond_replay_if_stored(struct command_request *cr);

/* A refusal decided from the streams' state (404, 409, 412): stored under the key, then sent.
 * If another request stored the key first, its answer is replayed instead. */
void respond_refusal(struct command_request *cr, enum err e, const struct err_detail *why);

/* A transient failure (503, busy key, retries exhausted): never stored; adds Retry-After. */
void respond_transient(struct command_request *cr, enum err e, const char *detail);

/* The success body rendered by the store, with ETag and Location. */
void respond_success(struct command_request *cr, int status, const char *location, const char *etag,
                     char *body, size_t len);

#endif
