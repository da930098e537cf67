/* The command pipeline shared by every command route and the pool its requests borrow database
 * connections from. */
#ifndef ORDERLY_COMMANDS_H
#define ORDERLY_COMMANDS_H

#include "domain/domain.h"
#include "http/http.h"
#include "store/db.h"
#include <stdbool.h>

/* Creates the request pool (store/db.h); conninfo and options are borrowed until
 * commands_shutdown, which closes the pool after the server stopped. */
void commands_init(const char *conninfo, const char *options, const struct db_settings *s);
void commands_shutdown(void);
/* metrics_set_extra callback: the pool's orderly_db_pool_* series. */
void commands_metrics(void *buf);

/* decode -> validate -> load -> decide -> append -> respond, with Idempotency-Key, If-Match
 * and bounded retries on a concurrent writer. */
void command_handle(struct request *r, enum command_type type);

/* 200 when a pooled connection answers, else 503 with Retry-After. */
void commands_handle_readyz(struct request *r);

#endif
