/* command-service: `command-service` serves the command API; `command-service migrate` applies
 * the schema. Configuration comes from the environment (see README and docs/api.md). */
#include "commands.h"
#include "config.h"
#include "log.h"
#include "notifier.h"
#include "routes.h"
#include "store/db.h"
#include "store/store.h"
#include "world_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_CONFIG 2

static void usage(FILE *out)
{
    fprintf(out, "usage: command-service [migrate] [--help] [--version]\n"
                 "  (no argument)  serve the command API on BIND_ADDRESS:PORT (default 8081)\n"
                 "  migrate        apply pending migrations from MIGRATIONS_DIR and exit\n");
    config_help(out, CONFIG_COMMAND);
}

static int run_migrate(const struct config *c)
{
    char err[1024];
    if (migrate_run(c->database_url, c->migrations_dir, err, sizeof err) != ERR_OK) {
        log_msg(LOG_ERROR, "migrate failed: %s", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static int run_server(const struct config *c, const struct db_settings *db)
{
    /* internal_writer: appends notify from the notifier's connection after commit, so the
     * plain-SQL trigger stays quiet; lock_timeout bounds waits on a key another request holds,
     * so a pooled connection is never held by a lock wait for long. */
    static char options[96];
    snprintf(options, sizeof options, "-c orderly.internal_writer=on -c lock_timeout=%dms",
             db->lock_timeout_ms);
    commands_init(c->database_url, options, db);
    world_store_init(c->snapshot_every);
    notifier_start(c->database_url, options);
    metrics_set_extra(commands_metrics);
    struct server_options o = {
        .service_name = "command-service",
        .bind_address = c->bind_address,
        .port = c->port,
        .threads = c->threads,
        .routes = command_routes,
        .route_count = command_route_count,
        .shutdown_timeout_ms = c->shutdown_timeout_ms,
        .connection_timeout_s = c->connection_timeout_s,
        .connection_limit = c->connection_limit,
        .api_tokens = c->api_tokens,
        .read_tokens = c->read_tokens,
    };
    log_msg(LOG_INFO,
            "command-service %s listening on %s:%d, %d database connections at most (%d pooled "
            "+ the notifier's)",
            ORDERLY_VERSION, c->bind_address, c->port, db->pool_size + 1, db->pool_size);
    enum err rc = server_run(&o);
    notifier_stop();
    commands_shutdown();
    log_msg(LOG_INFO, "command-service stopped");
    return rc == ERR_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "serve";
    if (strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (strcmp(mode, "--version") == 0) {
        printf("command-service %s\n", ORDERLY_VERSION);
        return EXIT_SUCCESS;
    }
    if (strcmp(mode, "serve") != 0 && strcmp(mode, "migrate") != 0) {
        usage(stderr);
        return EXIT_CONFIG;
    }
    struct config c;
    char err[256];
    if (!config_load(&c, 8081, ORDERLY_SOURCE_MIGRATIONS, err, sizeof err)) {
        fprintf(stderr, "command-service: %s\n", err);
        return EXIT_CONFIG;
    }
    if (!log_init("command-service", c.log_level, c.log_format)) {
        fprintf(stderr, "command-service: LOG_LEVEL or LOG_FORMAT: unknown value\n");
        return EXIT_CONFIG;
    }
    log_sample_gets(c.log_sample_gets);
    struct db_settings db;
    if (!db_settings_load(&db, err, sizeof err)) {
        fprintf(stderr, "command-service: %s\n", err);
        return EXIT_CONFIG;
    }
    return strcmp(mode, "migrate") == 0 ? run_migrate(&c) : run_server(&c, &db);
}
