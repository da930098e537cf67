/* The aggregate a command answers about, its ETag and its events' metadata: the parts of an
 * answer the lone and the batch paths share. */
#ifndef ORDERLY_COMMAND_TARGET_H
#define ORDERLY_COMMAND_TARGET_H

#include "domain/domain.h"
#include "respond.h"

#include <stdint.h>

/* The aggregate a command answers about: its stream, id (borrowed from the command), status
 * on success and Location ("" when the answer has none). */
struct command_target {
    char stream_id[STREAM_ID_MAX + 1];
    const char *id;
    int status;
    char location[128];
};
void commands_target_of(const struct command *c, struct command_target *t);

/* The metadata object every event of cr's command carries, as JSON text (caller frees): a
 * fresh command_id, the correlation id, X-Causation-ID and X-Actor. */
char *commands_metadata_json(struct command_request *cr);

#define COMMANDS_ETAG_MAX 32
/* The version stream_id reaches with d's events (0 if none) and its ETag ("N"). */
void commands_etag(const struct decision *d, const char *stream_id, int64_t *version,
                   char etag[COMMANDS_ETAG_MAX]);

#endif
