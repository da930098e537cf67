/* Opening sealed owners on the read side: account keys fetched in one query per batch or page
 * (ST_PII_KEYS), and the event JSON and states whose owner they reveal (docs/forgetting.md). */
#ifndef QUERY_PERSONAL_H
#define QUERY_PERSONAL_H

#include "domain/domain.h"
#include "pii.h"
#include <jansson.h>
#include <libpq-fe.h>

/* The keys of a set of accounts. Zero-initialised is an empty set. */
struct personal_keys {
    int n;
    char (*ids)[ID_MAX + 1];
    unsigned char (*keys)[PII_KEY_BYTES];
};

/* Fills k from rows (account_id, key as hex) of ST_PII_KEYS; malformed rows are skipped. */
void personal_keys_load(struct personal_keys *k, const PGresult *res);
/* The key of account_id, or NULL (deleted: forgotten, or never had one). Borrowed from k. */
const unsigned char *personal_key_find(const struct personal_keys *k, const char *account_id);
/* Wipes and frees the keys; k is empty afterwards. */
void personal_keys_free(struct personal_keys *k);

/* ST_PII_KEYS's parameter: a JSON array text of the account ids whose AccountOpened data in
 * events (an array of the feed's event objects) holds a sealed owner, or NULL when none does.
 * The caller frees it. */
char *personal_sealed_ids(const json_t *events);
/* Replaces each sealed owner in events with what pii_reveal shows for it under k. */
void personal_reveal_events(json_t *events, const struct personal_keys *k);
/* Replaces a state's sealed owner (OWNER_STORED_MAX + 1 bytes) in place likewise. */
void personal_reveal_owner(char *owner, const struct personal_keys *k, const char *account_id);

#endif
