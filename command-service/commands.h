/* The command pipeline shared by every command route, the per-worker database connection and
 * the after-commit notifier that wakes the query side. */
#ifndef ORDERLY_COMMANDS_H
#define ORDERLY_COMMANDS_H

#include "domain/domain.h"
#include "http/http.h"
#include <stdbool.h>

/* Connection string for every worker's lazily opened connection; copied. */
void commands_init(const char *conninfo);
void commands_shutdown(void);

/* decode -> validate -> load -> decide -> append -> respond, with Idempotency-Key, If-Match
 * and bounded retries on a concurrent writer. */
void command_handle(struct request *r, enum command_type type);

/* 200 when this worker's database connection answers, else 503. */
void commands_handle_readyz(struct request *r);

/* After-commit NOTIFY, coalesced: at most one per NOTIFY_INTERVAL_MS on its own connection. */
void notifier_start(const char *conninfo);
void notifier_poke(void);
void notifier_stop(void);

#endif
