/* The pure steps of the command pipeline (commands.c), declared for its unit suite: header
 * checks, the target a command answers about, and the text an Idempotency-Key is bound to. */
#ifndef ORDERLY_COMMANDS_INTERNAL_H
#define ORDERLY_COMMANDS_INTERNAL_H

#include "command_target.h" /* commands_target_of, which the suite checks */
#include "domain/domain.h"
#include "http/http.h"
#include "respond.h"

#include <stdbool.h>
#include <stdint.h>

#define COMMANDS_IDEM_KEY_MAX 255

/* If-Match: "N", W/"N" or a bare N, 0 <= N <= INT64_MAX. false for anything else. */
bool commands_parse_if_match(const char *v, int64_t *out);

/* Idempotency-Key: 1 to COMMANDS_IDEM_KEY_MAX visible ASCII characters. */
bool commands_idem_key_valid(const char *k);

/* "METHOD path\n" and the body's canonical JSON (keys sorted), "" for an empty or unparsable
 * body. The caller frees it. */
char *commands_request_text(const struct request *r);

/* Checks the Idempotency-Key and If-Match values (NULL when absent) into cr. false after
 * answering one 422 that lists every bad header. */
bool commands_read_headers(struct command_request *cr, const char *key, const char *if_match);

#endif
