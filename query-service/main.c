/* query-service: the read side's process: configuration, the projector thread, the HTTP
 * server over the read tables, and an orderly shutdown. */
#include "config.h"
#include "http/http.h"
#include "log.h"
#include "projector.h"
#include "reads.h"
#include "routes.h"
#include <stdio.h>
#include <string.h>

#define QUERY_DEFAULT_PORT 8082

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: query-service [serve]\n"
        "       query-service --help | --version\n\n"
        "Tails the event log into read tables and serves them over HTTP.\n"
        "Environment: DATABASE_URL (required), PORT (default 8082), BIND_ADDRESS,\n"
        "WORKER_THREADS, LOG_LEVEL, LOG_FORMAT, SHUTDOWN_TIMEOUT_MS, API_TOKENS, READ_TOKENS.\n");
}

static int serve(void)
{
    struct config cfg;
    char err[256];
    if (!config_load(&cfg, QUERY_DEFAULT_PORT, ORDERLY_SOURCE_MIGRATIONS, err, sizeof err)) {
        fprintf(stderr, "query-service: %s\n", err);
        return 2;
    }
    if (!log_init("query-service", cfg.log_level, cfg.log_format)) {
        fprintf(stderr, "query-service: bad LOG_LEVEL or LOG_FORMAT\n");
        return 2;
    }
    reads_init(cfg.database_url);
    metrics_set_extra(projector_metrics);
    if (!projector_start(cfg.database_url)) {
        log_msg(LOG_ERROR, "cannot start the projector thread");
        return 1;
    }
    size_t route_count;
    const struct route *routes = routes_table(&route_count);
    struct server_options o = {
        .service_name = "query-service",
        .bind_address = cfg.bind_address,
        .port = cfg.port,
        .threads = cfg.threads,
        .routes = routes,
        .route_count = route_count,
        .shutdown_timeout_ms = cfg.shutdown_timeout_ms,
        .connection_timeout_s = 60,
        .connection_limit = 1024,
        .api_tokens = cfg.api_tokens,
        .read_tokens = cfg.read_tokens,
    };
    enum err rc = server_run(&o);
    projector_stop();
    reads_close_all();
    if (rc != ERR_OK) {
        log_msg(LOG_ERROR, "server failed: %s", err_title(rc));
        return 1;
    }
    log_msg(LOG_INFO, "query-service stopped");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        usage(stderr);
        return 2;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("query-service %s\n", ORDERLY_VERSION);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "serve") != 0) {
        usage(stderr);
        return 2;
    }
    return serve();
}
