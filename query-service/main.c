/* query-service: the read side's process: configuration, the projector thread, the HTTP
 * server over the read tables, and an orderly shutdown. */
#include "config.h"
#include "http/http.h"
#include "live.h"
#include "log.h"
#include "projector.h"
#include "read_batch.h"
#include "reads.h"
#include "rebuild.h"
#include "routes.h"
#include "verify.h"
#include "waits.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define QUERY_DEFAULT_PORT 8082

static void usage(FILE *out)
{
    fprintf(out,
            "usage: query-service [serve]\n"
            "       query-service verify    check every stream's hash chain (exit 1 on a break)\n"
            "       query-service rebuild [NAME]  rebuild a projection (default read_model) "
            "with no downtime\n"
            "       query-service --help | --version\n\n"
            "Tails the event log into read tables and serves them over HTTP.\n");
    config_help(out, CONFIG_QUERY);
}

static void query_metrics(void *buf)
{
    projector_metrics(buf);
    live_metrics(buf);
    reads_metrics(buf);
    read_batch_metrics(buf);
    waits_metrics(buf);
}

/* At SIGTERM: open streams end and parked reads answer, so neither holds up the drain. */
static void query_drain(void)
{
    waits_drain();
    live_drain();
}

/* Every live subscriber holds a socket: let the process open as many as it may accept. */
static void raise_open_files(int connection_limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)connection_limit + 256;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_msg(LOG_WARN, "cannot raise the open files limit to %lu", (unsigned long)want);
    }
}

/* The settings beyond config_load; false after printing the one bad one. */
struct query_settings {
    struct db_settings db;
    const char *read_url;   /* READ_DATABASE_URL: every GET is served there (a hot standby) */
    int heartbeat_ms, ring; /* LIVE_HEARTBEAT_MS and LIVE_RING_EVENTS: tests shorten both */
    int get_queries;        /* GET_QUERIES_IN_FLIGHT (read_batch.h) */
};

static bool settings_load(struct query_settings *q)
{
    char err[256];
    if (db_settings_load(&q->db, err, sizeof err) &&
        config_conninfo("READ_DATABASE_URL", false, &q->read_url, err, sizeof err) &&
        config_int("LIVE_HEARTBEAT_MS", &q->heartbeat_ms, err, sizeof err) &&
        config_int("LIVE_RING_EVENTS", &q->ring, err, sizeof err) &&
        config_int("GET_QUERIES_IN_FLIGHT", &q->get_queries, err, sizeof err))
        return true;
    fprintf(stderr, "query-service: %s\n", err);
    return false;
}

/* The pool, the projector, the waker and the live feed; false (logged) if a thread failed. */
static bool workers_start(const struct config *cfg, const struct query_settings *q)
{
    reads_init(q->read_url ? q->read_url : cfg->database_url, &q->db);
    read_batch_init(q->get_queries, q->db.pool_wait_ms);
    verify_init(reads_pool());
    metrics_set_extra(query_metrics);
    if (!projector_start(cfg->database_url) || !waits_start(q->read_url)) {
        log_msg(LOG_ERROR, "cannot start the projector or waker thread");
        projector_stop();
        return false;
    }
    if (!live_start(q->heartbeat_ms, q->ring)) {
        log_msg(LOG_ERROR, "cannot start the live feed thread");
        waits_stop();
        projector_stop();
        return false;
    }
    if (q->read_url)
        log_msg(LOG_INFO,
                "query-service: reads from READ_DATABASE_URL: %d connections there (%d pooled + "
                "the checkpoint poller), 1 on DATABASE_URL (the projector's)",
                q->db.pool_size + 1, q->db.pool_size);
    else
        log_msg(LOG_INFO,
                "query-service: %d database connections at most (%d pooled + the projector's)",
                q->db.pool_size + 1, q->db.pool_size);
    return true;
}

static enum err http_serve(const struct config *cfg)
{
    raise_open_files(cfg->connection_limit);
    size_t route_count;
    const struct route *routes = routes_table(&route_count);
    struct server_options o = {
        .service_name = "query-service",
        .bind_address = cfg->bind_address,
        .port = cfg->port,
        .threads = cfg->threads,
        .routes = routes,
        .route_count = route_count,
        .shutdown_timeout_ms = cfg->shutdown_timeout_ms,
        .connection_timeout_s = cfg->connection_timeout_s,
        .connection_limit = cfg->connection_limit,
        .api_tokens = cfg->api_tokens,
        .read_tokens = cfg->read_tokens,
        .on_drain = query_drain,
    };
    return server_run(&o);
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
    log_sample_gets(cfg.log_sample_gets);
    struct query_settings q;
    if (!settings_load(&q))
        return 2;
    if (!workers_start(&cfg, &q))
        return 1;
    enum err rc = http_serve(&cfg);
    waits_stop();
    live_stop();
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
    if (argc >= 2 && argc <= 3 && strcmp(argv[1], "rebuild") == 0)
        return rebuild_main(argc == 3 ? argv[2] : NULL);
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
    if (argc == 2 && strcmp(argv[1], "verify") == 0)
        return verify_main();
    if (argc == 2 && strcmp(argv[1], "serve") != 0) {
        usage(stderr);
        return 2;
    }
    return serve();
}
